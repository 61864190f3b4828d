from __future__ import annotations

import typing as t
from datetime import timedelta

import pytest
from flask import Flask

from flask_scopes import ConfigurationError
from flask_scopes import Scopes
from flask_scopes.settings import DEFAULTS
from flask_scopes.settings import Settings


def resolve(**config: t.Any) -> Settings:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": "k", **config})
    return Settings.from_config(app.config)


def test_defaults() -> None:
    settings = resolve()
    assert settings.cookie_name == "session"
    assert settings.cookie_samesite == "Lax"
    assert settings.cookie_httponly is True
    assert settings.cookie_path == "/"
    assert settings.max_cookie_size == 4093
    # Every session has a server-side idle limit: the permanent lifetime.
    assert settings.idle_timeout == 31 * 86400
    assert settings.absolute_timeout is None
    assert settings.store_ttl == 31 * 86400
    assert settings.migrate_cookies is True
    assert settings.flash_cookie_name == "flash"
    assert settings.permanent_lifetime == 31 * 86400


def test_init_app_sets_every_default() -> None:
    app = Flask(__name__)
    Scopes(app)
    for key, value in DEFAULTS.items():
        assert app.config[key] == value


def test_init_app_keeps_values_already_set() -> None:
    app = Flask(__name__)
    app.config["SCOPES_MAX_COOKIE_SIZE"] = 2000
    Scopes(app)
    assert app.config["SCOPES_MAX_COOKIE_SIZE"] == 2000


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(600, 600), (90.5, 90), (timedelta(minutes=2), 120), (None, None), (False, None)],
)
def test_timeouts_take_seconds_or_timedeltas(value: t.Any, seconds: int | None) -> None:
    settings = resolve(
        SCOPES_SESSION_IDLE_TIMEOUT=value, SCOPES_SESSION_ABSOLUTE_TIMEOUT=value
    )
    assert settings.idle_timeout == seconds
    assert settings.absolute_timeout == seconds


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SCOPES_SESSION_IDLE_TIMEOUT", "600"),
        ("SCOPES_SESSION_IDLE_TIMEOUT", 0),
        ("SCOPES_SESSION_IDLE_TIMEOUT", -5),
        ("SCOPES_SESSION_IDLE_TIMEOUT", True),
        ("SCOPES_SESSION_ABSOLUTE_TIMEOUT", float("nan")),
        ("SCOPES_SESSION_ABSOLUTE_TIMEOUT", float("inf")),
        ("PERMANENT_SESSION_LIFETIME", timedelta(0)),
        ("SCOPES_MAX_COOKIE_SIZE", 0),
        ("SCOPES_MAX_COOKIE_SIZE", "4093"),
        ("SESSION_COOKIE_SAMESITE", "sometimes"),
        ("SESSION_COOKIE_NAME", ""),
        ("SESSION_COOKIE_NAME", "bad name"),
        ("SESSION_COOKIE_NAME", "semi;colon"),
        ("SCOPES_FLASH_COOKIE_NAME", "session"),
        ("SECRET_KEY", 12345),
        ("SECRET_KEY_FALLBACKS", "old-key"),
        ("SECRET_KEY_FALLBACKS", b"old-key"),
        ("SECRET_KEY_FALLBACKS", ["ok", ""]),
    ],
)
def test_bad_values_are_refused_with_their_key(key: str, value: t.Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve(**{key: value})
    assert info.value.key == key
    assert key in str(info.value)


def test_fallback_string_error_explains() -> None:
    with pytest.raises(ConfigurationError, match=r"SECRET_KEY_FALLBACKS = \[old_key\]"):
        resolve(SECRET_KEY_FALLBACKS="old-key")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("lax", "Lax"), ("STRICT", "Strict"), ("None", "None"), (False, None)],
)
def test_samesite_values(value: t.Any, expected: str | None) -> None:
    settings = resolve(SESSION_COOKIE_SAMESITE=value, SESSION_COOKIE_SECURE=True)
    assert settings.cookie_samesite == expected


def test_secret_keys_are_bytes() -> None:
    settings = resolve(SECRET_KEY="current", SECRET_KEY_FALLBACKS=["a", b"b"])
    assert settings.secret_key == b"current"
    assert settings.fallback_keys == (b"a", b"b")
    assert resolve(SECRET_KEY=None).secret_key is None


HOST = {"SESSION_COOKIE_NAME": "__Host-session", "SESSION_COOKIE_SECURE": True}


def test_host_prefix_accepted_when_its_rules_hold() -> None:
    assert resolve(**HOST).cookie_name == "__Host-session"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"SESSION_COOKIE_SECURE": False}, "Secure"),
        ({"SESSION_COOKIE_DOMAIN": "example.test"}, "Domain"),
        ({"SESSION_COOKIE_PATH": "/app"}, "Path=/"),
        ({"APPLICATION_ROOT": "/app"}, "Path=/"),
    ],
)
def test_host_prefix_rules_refused_at_start_up(
    extra: dict[str, t.Any], message: str
) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", **{**HOST, **extra})
    with pytest.raises(ConfigurationError, match=message):
        Scopes(app)


def test_host_prefix_rules_apply_to_the_flash_cookie() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve(SCOPES_FLASH_COOKIE_NAME="__Host-flash")
    assert info.value.key == "SCOPES_FLASH_COOKIE_NAME"


def test_secure_prefix_needs_secure() -> None:
    with pytest.raises(ConfigurationError, match="Secure"):
        resolve(SESSION_COOKIE_NAME="__Secure-s")


# -- hardening -----------------------------------------------------------------------


def test_idle_limit_defaults_to_the_lifetime() -> None:
    assert resolve(PERMANENT_SESSION_LIFETIME=600).idle_timeout == 600
    assert resolve(PERMANENT_SESSION_LIFETIME=600).store_ttl == 600
    explicit = resolve(PERMANENT_SESSION_LIFETIME=600, SCOPES_SESSION_IDLE_TIMEOUT=60)
    assert explicit.idle_timeout == 60
    assert explicit.store_ttl == 60
    none = resolve(SCOPES_SESSION_IDLE_TIMEOUT=None)
    assert none.idle_timeout is None
    assert none.store_ttl == 31 * 86400
    assert resolve(SCOPES_SESSION_STORE_TTL=120).store_ttl == 120


def test_fallbacks_changed_in_place_are_noticed() -> None:
    from flask import session

    def make(**config: t.Any) -> Flask:
        app = _app(**config)
        Scopes(app)

        @app.get("/set")
        def set_() -> str:
            session["user"] = "ann"
            return "ok"

        @app.get("/get")
        def get() -> str:
            return repr(session.get("user"))

        return app

    old = make(SECRET_KEY="compromised").test_client()
    old.get("/set")
    found = old.get_cookie("session")
    assert found is not None
    app = make(SECRET_KEY="new", SECRET_KEY_FALLBACKS=["compromised"])
    headers = {"Cookie": f"session={found.value}"}
    client = app.test_client(use_cookies=False)
    assert client.get("/get", headers=headers).text == "'ann'"
    # The compromised key is removed from the very list in the config.
    app.config["SECRET_KEY_FALLBACKS"].remove("compromised")
    assert client.get("/get", headers=headers).text == "None"


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("__HOST-session", {"SESSION_COOKIE_DOMAIN": "example.test"}),
        ("__host-session", {"SESSION_COOKIE_PATH": "/app"}),
        ("__host-session", {}),
        ("__SECURE-session", {}),
        ("__secure-session", {}),
    ],
)
def test_cookie_prefixes_are_checked_without_regard_to_case(
    name: str, config: dict[str, t.Any]
) -> None:
    secure = "SESSION_COOKIE_DOMAIN" in config or "SESSION_COOKIE_PATH" in config
    with pytest.raises(ConfigurationError, match="SESSION_COOKIE_NAME"):
        resolve(SESSION_COOKIE_NAME=name, SESSION_COOKIE_SECURE=secure, **config)


def test_samesite_none_needs_secure() -> None:
    with pytest.raises(ConfigurationError, match="SameSite=None needs Secure"):
        Scopes(_app(SESSION_COOKIE_SAMESITE="None"))
    settings = resolve(SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_SECURE=True)
    assert settings.cookie_samesite == "None"


def _app(**config: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": "k", **config})
    return app
