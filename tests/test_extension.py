from __future__ import annotations

import secrets
import typing as t
import warnings

import pytest
from flask import Flask
from flask import session

from flask_scopes import ConfigurationError
from flask_scopes import Scopes
from flask_scopes import ScopesError
from flask_scopes import ScopesSessionInterface
from flask_scopes import WeakSecretKeyWarning


def test_init_app_installs_and_registers(app: Flask) -> None:
    assert isinstance(app.session_interface, ScopesSessionInterface)
    scopes = app.extensions["scopes"]
    assert isinstance(scopes, Scopes)
    assert scopes.interface(app) is app.session_interface
    assert app.config["SCOPES_MAX_COOKIE_SIZE"] == 4093


def test_extension_keeps_no_app() -> None:
    scopes = Scopes()
    app = Flask(__name__)
    scopes.init_app(app)
    assert app not in vars(scopes).values()


def test_one_extension_many_apps() -> None:
    scopes = Scopes()

    def create_app(key: str) -> Flask:
        app = Flask(__name__)
        app.secret_key = key

        @app.get("/set")
        def set_() -> str:
            session["app"] = key
            return "ok"

        @app.get("/get")
        def get() -> str:
            return str(session.get("app"))

        scopes.init_app(app)
        return app

    one, two = create_app("one"), create_app("two")
    assert one.session_interface is not two.session_interface
    c1, c2 = one.test_client(), two.test_client()
    c1.get("/set")
    c2.get("/set")
    assert c1.get("/get").text == "one"
    assert c2.get("/get").text == "two"
    cookie = c1.get_cookie("session")
    assert cookie is not None
    c2.set_cookie("session", cookie.value)
    assert c2.get("/get").text == "None"


def test_interface_of_an_app_not_set_up() -> None:
    with pytest.raises(ScopesError, match="init_app"):
        Scopes().interface(Flask(__name__))


def test_config_checked_at_init_app() -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY_FALLBACKS"] = "oops"
    with pytest.raises(ConfigurationError) as info:
        Scopes(app)
    assert info.value.key == "SECRET_KEY_FALLBACKS"


def test_config_changed_later_is_checked_on_request(app: Flask) -> None:
    @app.get("/")
    def index() -> str:
        return str(session.get("x"))

    app.config["SCOPES_SESSION_IDLE_TIMEOUT"] = "ten minutes"
    with pytest.raises(ConfigurationError, match="SCOPES_SESSION_IDLE_TIMEOUT"):
        app.test_client().get("/")


def test_custom_interface_class(clock: t.Any) -> None:
    class Custom(ScopesSessionInterface):
        max_clock_skew = 0

    class CustomScopes(Scopes):
        session_interface_class = Custom

    app = Flask(__name__)
    app.secret_key = "k"
    CustomScopes(app, clock=clock)
    assert type(app.session_interface) is Custom
    assert app.session_interface.clock is clock


STRONG_KEY = "Zm9yIHRlc3RzIG9ubHk6IGEgbG9uZyBlbm91Z2gga2V5IHdpdGggbWFueSBjaGFycw"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("...", "placeholder"),
        ("dev", "placeholder"),
        ("secret", "placeholder"),
        ("changeme", "placeholder"),
        ("CHANGE-ME", "placeholder"),
        ("test-secret-key", "15 bytes long"),
        ("x" * 40, "only 1 different"),
        (b"\x00" * 31, "31 bytes long"),
    ],
)
def test_weak_secret_key_warns_at_start_up(key: str | bytes, reason: str) -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = key
    with pytest.warns(WeakSecretKeyWarning, match=reason) as caught:
        Scopes(app)
    assert len(caught) == 1
    assert "python -m flask_scopes secret" in str(caught[0].message)
    # Only at start-up: requests don't warn again.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        app.test_client().get("/")


@pytest.mark.parametrize("key", [STRONG_KEY, None, secrets.token_bytes(32)])
def test_strong_or_absent_secret_key_does_not_warn(key: str | bytes | None) -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = key
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Scopes(app)
