"""Every configuration key flask-scopes reads, its default and its
validation. The only module that reads ``app.config``: the keys are resolved
into a :class:`Settings` once, and again whenever one of them changes.
"""

from __future__ import annotations

import operator
import re
import typing as t
from dataclasses import dataclass
from datetime import timedelta

from cachelib import BaseCache

from .codecs.crypto import require_cryptography
from .config_values import count as _count
from .config_values import optional_seconds as _optional_seconds
from .config_values import positive_int as _positive_int
from .config_values import seconds as _seconds
from .errors import ConfigurationError
from .stores import check_url
from .stores import is_redis_client
from .stores import SessionStore

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Config
    from flask import Flask

_FROM_CONFIG: t.Any = object()


class _Lifetime:
    """The type of :data:`SAME_AS_LIFETIME`."""

    _instance: _Lifetime | None = None

    def __new__(cls) -> _Lifetime:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SAME_AS_LIFETIME"

    def __reduce__(self) -> str:
        return "SAME_AS_LIFETIME"


#: The default of ``SCOPES_SESSION_IDLE_TIMEOUT``: an idle limit equal to
#: ``PERMANENT_SESSION_LIFETIME``, for every session, permanent or not. It
#: tells "not set" apart from an explicit ``None``, which means no limit.
#:
#: .. versionadded:: 0.2
SAME_AS_LIFETIME: t.Any = _Lifetime()

#: The ``SCOPES_*`` keys and their defaults. :meth:`Scopes.init_app` sets
#: each one with ``app.config.setdefault``.
DEFAULTS: dict[str, t.Any] = {
    "SCOPES_MAX_COOKIE_SIZE": 4093,
    "SCOPES_SESSION_IDLE_TIMEOUT": SAME_AS_LIFETIME,
    "SCOPES_SESSION_ABSOLUTE_TIMEOUT": None,
    "SCOPES_SESSION_ACCEPT_FLASK_COOKIES": True,
    "SCOPES_FLASH_COOKIE_NAME": "flash",
    "SCOPES_FLASH_SIGNED": False,
    "SCOPES_FLASH_MAX_AGE": 300,
    "SCOPES_FLASH_STRICT": False,
    "SCOPES_SESSION_STORE": None,
    "SCOPES_SESSION_STORE_TTL": None,
    "SCOPES_SESSION_MIGRATE_COOKIES": True,
    "SCOPES_SESSION_STORE_MAX_SIZE": 1024 * 1024,
    "SCOPES_SESSION_STORE_CACHE": 0,
    "SCOPES_REVOCATION_STORE": None,
    "SCOPES_SESSION_ENCRYPT": False,
    "SCOPES_SESSION_ENCRYPT_ACCEPT_SIGNED": True,
    "SCOPES_DEVICES": False,
    "SCOPES_DEVICES_USER_AGENT": False,
    "SCOPES_DEVICES_IP": False,
    "SCOPES_FLASK_LOGIN": True,
}

#: Flask's own keys that flask-scopes honours.
FLASK_KEYS = (
    "SECRET_KEY",
    "SECRET_KEY_FALLBACKS",
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_DOMAIN",
    "SESSION_COOKIE_PATH",
    "APPLICATION_ROOT",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_PARTITIONED",
    "SESSION_REFRESH_EACH_REQUEST",
    "PERMANENT_SESSION_LIFETIME",
)

#: Every key whose change makes the settings be resolved again.
WATCHED_KEYS = FLASK_KEYS + tuple(DEFAULTS)

_SAMESITE = {"strict": "Strict", "lax": "Lax", "none": "None"}


_watched = operator.itemgetter(*WATCHED_KEYS)


def snapshot(app: Flask) -> tuple[t.Any, ...]:
    """The app's secret key and the values of every watched key, cheap to
    compare on each request.

    Values are taken by value: a list or dict (``SECRET_KEY_FALLBACKS``
    changed with ``.remove()``) becomes a tuple of its items, so that a
    change in place is a changed configuration.

    .. versionchanged:: 0.2
        Lists, sets and dicts are copied, not referenced.
    """
    config = app.config
    try:
        values = _watched(config)
    except KeyError:
        values = tuple(map(config.get, WATCHED_KEYS))
    return (app.secret_key, *map(frozen, values))


def frozen(value: t.Any) -> t.Any:
    """``value`` as an immutable copy that compares by value: lists and
    tuples become tuples, sets frozensets, dicts tuples of items, all the
    way down. Other values are returned as they are.

    .. versionadded:: 0.2
    """
    kind = type(value)
    if kind is list or kind is tuple:
        return tuple(map(frozen, value))
    if kind is dict:
        return ("{}", tuple((k, frozen(v)) for k, v in value.items()))
    if kind is set or kind is frozenset:
        return frozenset(map(frozen, value))
    return value


@dataclass(frozen=True)
class Settings:
    """The resolved, validated configuration of one app."""

    secret_key: bytes | None
    fallback_keys: tuple[bytes, ...]
    cookie_name: str
    cookie_domain: str | None
    cookie_path: str
    cookie_httponly: bool
    cookie_secure: bool
    cookie_samesite: str | None
    cookie_partitioned: bool
    refresh_each_request: bool
    permanent_lifetime: int
    max_cookie_size: int
    idle_timeout: int | None
    absolute_timeout: int | None
    accept_flask_cookies: bool
    flash_cookie_name: str
    flash_signed: bool
    flash_max_age: int
    flash_strict: bool
    store: t.Any
    store_ttl: int
    migrate_cookies: bool
    store_max_size: int
    revocation_store: t.Any
    store_cache: int
    encrypt: bool
    encrypt_accept_signed: bool
    devices: bool = False
    devices_user_agent: bool = False
    devices_ip: bool = False
    flask_login: bool = True

    @classmethod
    def from_app(cls, app: Flask) -> Settings:
        """Validate an app's configuration and resolve it. The secret key is
        read as Flask's own session reads it, from ``app.secret_key``, which
        an app class may set as a class attribute.

        :param app: The app.
        :raises ConfigurationError: A value that can't work.
        """
        return cls.from_config(app.config, app.secret_key)

    @classmethod
    def from_config(cls, config: Config, secret_key: t.Any = _FROM_CONFIG) -> Settings:
        """Validate the configuration and resolve it.

        :param config: The app's configuration.
        :param secret_key: The secret key, if not ``config["SECRET_KEY"]``.
        :raises ConfigurationError: A value that can't work.
        """
        get = config.get
        if secret_key is _FROM_CONFIG:
            secret_key = get("SECRET_KEY")

        def key(name: str) -> t.Any:
            return get(name, DEFAULTS.get(name))

        path = get("SESSION_COOKIE_PATH") or get("APPLICATION_ROOT") or "/"
        lifetime = _seconds(
            get("PERMANENT_SESSION_LIFETIME", timedelta(days=31)),
            "PERMANENT_SESSION_LIFETIME",
        )
        idle = key("SCOPES_SESSION_IDLE_TIMEOUT")
        idle_timeout = (
            lifetime
            if idle is SAME_AS_LIFETIME
            else _optional_seconds(idle, "SCOPES_SESSION_IDLE_TIMEOUT")
        )
        store_ttl = key("SCOPES_SESSION_STORE_TTL")
        settings = cls(
            secret_key=_secret(secret_key, "SECRET_KEY"),
            fallback_keys=_fallbacks(get("SECRET_KEY_FALLBACKS")),
            cookie_name=_cookie_name(get("SESSION_COOKIE_NAME"), "SESSION_COOKIE_NAME"),
            cookie_domain=get("SESSION_COOKIE_DOMAIN") or None,
            cookie_path=str(path),
            cookie_httponly=bool(get("SESSION_COOKIE_HTTPONLY", True)),
            cookie_secure=bool(get("SESSION_COOKIE_SECURE", False)),
            cookie_samesite=_samesite(get("SESSION_COOKIE_SAMESITE")),
            cookie_partitioned=bool(get("SESSION_COOKIE_PARTITIONED", False)),
            refresh_each_request=bool(get("SESSION_REFRESH_EACH_REQUEST", True)),
            permanent_lifetime=lifetime,
            max_cookie_size=_positive_int(
                key("SCOPES_MAX_COOKIE_SIZE"), "SCOPES_MAX_COOKIE_SIZE"
            ),
            idle_timeout=idle_timeout,
            absolute_timeout=_optional_seconds(
                key("SCOPES_SESSION_ABSOLUTE_TIMEOUT"),
                "SCOPES_SESSION_ABSOLUTE_TIMEOUT",
            ),
            accept_flask_cookies=bool(key("SCOPES_SESSION_ACCEPT_FLASK_COOKIES")),
            flash_cookie_name=_cookie_name(
                key("SCOPES_FLASH_COOKIE_NAME"), "SCOPES_FLASH_COOKIE_NAME"
            ),
            flash_signed=bool(key("SCOPES_FLASH_SIGNED")),
            flash_max_age=_seconds(key("SCOPES_FLASH_MAX_AGE"), "SCOPES_FLASH_MAX_AGE"),
            flash_strict=bool(key("SCOPES_FLASH_STRICT")),
            store=_store(key("SCOPES_SESSION_STORE"), "SCOPES_SESSION_STORE"),
            # Unset, a browser-session entry lives as long as the session's
            # idle limit allows: the entry and the session end together.
            store_ttl=(
                (idle_timeout or lifetime)
                if store_ttl is None
                else _seconds(store_ttl, "SCOPES_SESSION_STORE_TTL")
            ),
            migrate_cookies=bool(key("SCOPES_SESSION_MIGRATE_COOKIES")),
            store_max_size=_positive_int(
                key("SCOPES_SESSION_STORE_MAX_SIZE"), "SCOPES_SESSION_STORE_MAX_SIZE"
            ),
            revocation_store=_store(
                key("SCOPES_REVOCATION_STORE"), "SCOPES_REVOCATION_STORE"
            ),
            store_cache=_count(
                key("SCOPES_SESSION_STORE_CACHE"), "SCOPES_SESSION_STORE_CACHE"
            ),
            encrypt=bool(key("SCOPES_SESSION_ENCRYPT")),
            encrypt_accept_signed=bool(key("SCOPES_SESSION_ENCRYPT_ACCEPT_SIGNED")),
            devices=bool(key("SCOPES_DEVICES")),
            devices_user_agent=bool(key("SCOPES_DEVICES_USER_AGENT")),
            devices_ip=bool(key("SCOPES_DEVICES_IP")),
            flask_login=bool(key("SCOPES_FLASK_LOGIN")),
        )
        settings._check_prefixes()
        if settings.store_cache and settings.store is None:
            raise ConfigurationError(
                "SCOPES_SESSION_STORE_CACHE",
                "caches reads of SCOPES_SESSION_STORE, which is not set.",
            )
        if settings.encrypt:
            require_cryptography()
        if settings.flash_cookie_name == settings.cookie_name:
            raise ConfigurationError(
                "SCOPES_FLASH_COOKIE_NAME",
                f"{settings.cookie_name!r} is also the session cookie's name;"
                " the two scopes need cookies of their own.",
            )
        return settings

    def _check_prefixes(self) -> None:
        for key, name in (
            ("SESSION_COOKIE_NAME", self.cookie_name),
            ("SCOPES_FLASH_COOKIE_NAME", self.flash_cookie_name),
        ):
            # Browsers match the prefixes without regard to case.
            folded = name.lower()
            if folded.startswith("__host-"):
                if self.cookie_domain:
                    raise ConfigurationError(
                        key,
                        f"a cookie named {name!r} must not have a Domain, but"
                        f" SESSION_COOKIE_DOMAIN is {self.cookie_domain!r}.",
                    )
                if self.cookie_path != "/":
                    raise ConfigurationError(
                        key,
                        f"a cookie named {name!r} must have Path=/, but the"
                        f" path is {self.cookie_path!r} (SESSION_COOKIE_PATH"
                        " or APPLICATION_ROOT).",
                    )
            if folded.startswith(("__host-", "__secure-")) and not self.cookie_secure:
                raise ConfigurationError(
                    key,
                    f"a cookie named {name!r} must be Secure: set"
                    " SESSION_COOKIE_SECURE = True.",
                )
        if self.cookie_samesite == "None" and not self.cookie_secure:
            raise ConfigurationError(
                "SESSION_COOKIE_SAMESITE",
                "SameSite=None needs Secure: browsers drop such a cookie"
                " without it. Set SESSION_COOKIE_SECURE = True, or use 'Lax'.",
            )


#: The fewest bytes a ``SECRET_KEY`` should hold; ``flask scopes secret``
#: makes keys of 48 random bytes.
MIN_SECRET_BYTES = 32

#: Keys that are placeholders, however long, compared in lower case and
#: without spaces, dashes, underscores and dots.
PLACEHOLDER_KEYS = frozenset(
    {
        "",
        "dev",
        "development",
        "secret",
        "secretkey",
        "changeme",
        "changethis",
        "replaceme",
        "yoursecretkey",
        "mysecretkey",
        "test",
        "testing",
        "password",
        "default",
        "key",
        "outputofflaskscopessecret",
    }
)


def weak_key_reason(key: bytes | None) -> str | None:
    """Why ``key`` is obviously weak as a ``SECRET_KEY``, or ``None`` when it
    is long enough and not a known placeholder. Only the obvious is caught:
    a long key can still be weak if it is not random.

    .. versionadded:: 0.2

    :param key: The resolved key, as :attr:`Settings.secret_key` holds it.
    """
    if key is None:
        return None
    folded = re.sub(rb"[\s._-]+", b"", key.lower())
    if folded.decode("utf-8", "replace") in PLACEHOLDER_KEYS:
        return "is a placeholder"
    if len(key) < MIN_SECRET_BYTES:
        return f"is {len(key)} bytes long, shorter than {MIN_SECRET_BYTES}"
    if len(set(key)) < 8:
        return f"holds only {len(set(key))} different characters"
    return None


def _secret(value: t.Any, key: str) -> bytes | None:
    if value is None or value == "" or value == b"":
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise ConfigurationError(
        key, f"a secret key must be str or bytes, not {type(value).__name__}."
    )


def _fallbacks(value: t.Any) -> tuple[bytes, ...]:
    if not value:
        return ()
    if isinstance(value, (str, bytes)):
        raise ConfigurationError(
            "SECRET_KEY_FALLBACKS",
            "must be a list of keys, not a single key: write"
            " SECRET_KEY_FALLBACKS = [old_key], or every character would"
            " count as a key.",
        )
    keys = []
    for item in value:
        key = _secret(item, "SECRET_KEY_FALLBACKS")
        if key is None:
            raise ConfigurationError("SECRET_KEY_FALLBACKS", "holds an empty key.")
        keys.append(key)
    return tuple(keys)


def _cookie_name(value: t.Any, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(key, f"must be a non-empty str, not {value!r}.")
    bad = set(value) & set(' \t\r\n;,="\\()<>@:/[]?{}')
    if bad or not value.isascii() or not value.isprintable():
        raise ConfigurationError(
            key, f"{value!r} is not a valid cookie name (characters {sorted(bad)})."
        )
    return value


def _samesite(value: t.Any) -> str | None:
    # Flask's default, None, means Lax here: cookies are SameSite=Lax out of
    # the box. False sends no SameSite attribute at all.
    if value is None:
        return "Lax"
    if value is False:
        return None
    if isinstance(value, str) and value.lower() in _SAMESITE:
        return _SAMESITE[value.lower()]
    raise ConfigurationError(
        "SESSION_COOKIE_SAMESITE",
        f"must be 'Strict', 'Lax', 'None' or False, not {value!r}.",
    )


def _store(value: t.Any, key: str) -> t.Any:
    store_types = (BaseCache, SessionStore)
    if value is None or isinstance(value, store_types) or is_redis_client(value):
        return value
    if isinstance(value, str):
        try:
            check_url(value)
        except ValueError as e:
            raise ConfigurationError(key, str(e)) from None
        return value
    message = "must be None, a cachelib cache, a Redis client, a SessionStore"
    raise ConfigurationError(key, f"{message} or a URL, not {value!r}.")
