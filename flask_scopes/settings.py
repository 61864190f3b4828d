"""Every configuration key flask-scopes reads, its default and its
validation. The only module that reads ``app.config``: the keys are resolved
into a :class:`Settings` once, and again whenever one of them changes.
"""

from __future__ import annotations

import dataclasses
import operator
import re
import typing as t
from dataclasses import dataclass
from datetime import timedelta

from .checks import as_cookie_name
from .checks import as_count
from .checks import as_fallbacks
from .checks import as_idle_timeout
from .checks import as_optional_seconds
from .checks import as_optional_ttl
from .checks import as_positive_int
from .checks import as_samesite
from .checks import as_seconds
from .checks import as_secret
from .checks import as_store
from .checks import SAME_AS_LIFETIME
from .checks import SCOPE_OPTIONS
from .codecs.crypto import require_cryptography
from .errors import ConfigurationError
from .stores import SQLOptions

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Config
    from flask import Flask

_FROM_CONFIG: t.Any = object()

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
    **SQLOptions.DEFAULTS,
    "SCOPES_SESSION_ENCRYPT": False,
    "SCOPES_SESSION_ENCRYPT_ACCEPT_SIGNED": True,
    "SCOPES_SESSIONS": {},
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


#: The name of the default session scope, ``flask.session``.
DEFAULT_SCOPE = "session"
_SCOPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


_watched = operator.itemgetter(*WATCHED_KEYS)
_FALLBACKS = WATCHED_KEYS.index("SECRET_KEY_FALLBACKS")


def snapshot(app: Flask) -> tuple[t.Any, ...]:
    """The app's secret key and the values of every watched key, cheap to
    compare on each request.

    ``SECRET_KEY_FALLBACKS`` is also taken as a copy, so that a list
    changed in place (``.remove()`` of a compromised key) is a changed
    configuration.

    .. versionchanged:: 0.2
        ``SECRET_KEY_FALLBACKS`` is copied, not referenced.
    """
    config = app.config
    try:
        values = _watched(config)
    except KeyError:
        values = tuple(map(config.get, WATCHED_KEYS))
    fallbacks = values[_FALLBACKS]
    if type(fallbacks) is list:
        fallbacks = tuple(fallbacks)
    return (app.secret_key, values, fallbacks)


def _times(lifetime: int, idle: t.Any, store_ttl: int | None) -> tuple[int | None, int]:
    """A scope's idle limit and its store entries' time to live, from its
    lifetime and the two as configured. An idle limit left to follow the
    lifetime (:data:`SAME_AS_LIFETIME`) is the lifetime. An unset time to
    live is the idle limit, or the lifetime without one: a browser-session
    entry lives as long as the session's idle limit allows, so the entry
    and the session end together."""
    idle_timeout = lifetime if idle is SAME_AS_LIFETIME else idle
    if store_ttl is None:
        store_ttl = idle_timeout or lifetime
    return idle_timeout, store_ttl


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
    sql: SQLOptions
    store_cache: int
    encrypt: bool
    encrypt_accept_signed: bool
    #: The scope's name: ``"session"`` for ``flask.session``, else the name
    #: a named scope was declared with.
    scope: str = DEFAULT_SCOPE
    #: Whether every session of the scope is permanent, without setting
    #: ``session.permanent`` (named scopes' ``permanent`` option).
    permanent: bool = False
    #: The settings of each named session scope (:data:`SCOPES_SESSIONS`).
    sessions: tuple[Settings, ...] = ()
    devices: bool = False
    devices_user_agent: bool = False
    devices_ip: bool = False
    #: The idle limit as configured (:data:`SAME_AS_LIFETIME`, ``None`` or
    #: seconds), which a named scope inherits and resolves against its own
    #: lifetime (:attr:`idle_timeout` is the resolved one).
    idle_setting: t.Any = SAME_AS_LIFETIME
    #: The store entries' time to live as configured, ``None`` to follow
    #: the scope's idle limit (:attr:`store_ttl` is the resolved one).
    store_ttl_setting: int | None = None
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
        lifetime = as_seconds(
            get("PERMANENT_SESSION_LIFETIME", timedelta(days=31)),
            "PERMANENT_SESSION_LIFETIME",
        )
        idle = as_idle_timeout(
            key("SCOPES_SESSION_IDLE_TIMEOUT"), "SCOPES_SESSION_IDLE_TIMEOUT"
        )
        ttl = as_optional_ttl(
            key("SCOPES_SESSION_STORE_TTL"), "SCOPES_SESSION_STORE_TTL"
        )
        idle_timeout, store_ttl = _times(lifetime, idle, ttl)
        settings = cls(
            secret_key=as_secret(secret_key, "SECRET_KEY"),
            fallback_keys=as_fallbacks(get("SECRET_KEY_FALLBACKS")),
            cookie_name=as_cookie_name(
                get("SESSION_COOKIE_NAME"), "SESSION_COOKIE_NAME"
            ),
            cookie_domain=get("SESSION_COOKIE_DOMAIN") or None,
            cookie_path=str(path),
            cookie_httponly=bool(get("SESSION_COOKIE_HTTPONLY", True)),
            cookie_secure=bool(get("SESSION_COOKIE_SECURE", False)),
            cookie_samesite=as_samesite(get("SESSION_COOKIE_SAMESITE")),
            cookie_partitioned=bool(get("SESSION_COOKIE_PARTITIONED", False)),
            refresh_each_request=bool(get("SESSION_REFRESH_EACH_REQUEST", True)),
            permanent_lifetime=lifetime,
            max_cookie_size=as_positive_int(
                key("SCOPES_MAX_COOKIE_SIZE"), "SCOPES_MAX_COOKIE_SIZE"
            ),
            idle_timeout=idle_timeout,
            absolute_timeout=as_optional_seconds(
                key("SCOPES_SESSION_ABSOLUTE_TIMEOUT"),
                "SCOPES_SESSION_ABSOLUTE_TIMEOUT",
            ),
            accept_flask_cookies=bool(key("SCOPES_SESSION_ACCEPT_FLASK_COOKIES")),
            flash_cookie_name=as_cookie_name(
                key("SCOPES_FLASH_COOKIE_NAME"), "SCOPES_FLASH_COOKIE_NAME"
            ),
            flash_signed=bool(key("SCOPES_FLASH_SIGNED")),
            flash_max_age=as_seconds(
                key("SCOPES_FLASH_MAX_AGE"), "SCOPES_FLASH_MAX_AGE"
            ),
            flash_strict=bool(key("SCOPES_FLASH_STRICT")),
            store=as_store(key("SCOPES_SESSION_STORE"), "SCOPES_SESSION_STORE"),
            store_ttl=store_ttl,
            migrate_cookies=bool(key("SCOPES_SESSION_MIGRATE_COOKIES")),
            store_max_size=as_positive_int(
                key("SCOPES_SESSION_STORE_MAX_SIZE"), "SCOPES_SESSION_STORE_MAX_SIZE"
            ),
            revocation_store=as_store(
                key("SCOPES_REVOCATION_STORE"), "SCOPES_REVOCATION_STORE"
            ),
            sql=SQLOptions.from_config(key),
            store_cache=as_count(
                key("SCOPES_SESSION_STORE_CACHE"), "SCOPES_SESSION_STORE_CACHE"
            ),
            encrypt=bool(key("SCOPES_SESSION_ENCRYPT")),
            encrypt_accept_signed=bool(key("SCOPES_SESSION_ENCRYPT_ACCEPT_SIGNED")),
            devices=bool(key("SCOPES_DEVICES")),
            devices_user_agent=bool(key("SCOPES_DEVICES_USER_AGENT")),
            devices_ip=bool(key("SCOPES_DEVICES_IP")),
            idle_setting=idle,
            store_ttl_setting=ttl,
            flask_login=bool(key("SCOPES_FLASK_LOGIN")),
        )
        for config_key, name in (
            ("SESSION_COOKIE_NAME", settings.cookie_name),
            ("SCOPES_FLASH_COOKIE_NAME", settings.flash_cookie_name),
        ):
            settings._check_prefix(config_key, name)
        settings._check_samesite()
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
        named = key("SCOPES_SESSIONS") or {}
        if not isinstance(named, t.Mapping):
            raise ConfigurationError(
                "SCOPES_SESSIONS",
                f"must be a mapping of scope names to options, not {named!r}.",
            )
        if named:
            scopes: dict[str, Settings] = {}
            for name, options in named.items():
                scope = settings.named(name, options)
                if scope.cookie_name in scopes:
                    raise ConfigurationError(
                        f"SCOPES_SESSIONS[{name!r}]['cookie_name']",
                        f"{scope.cookie_name!r} is also the cookie of the"
                        f" {scopes[scope.cookie_name].scope!r} scope; each"
                        " scope needs a cookie of its own.",
                    )
                scopes[scope.cookie_name] = scope
            settings = dataclasses.replace(settings, sessions=tuple(scopes.values()))
        return settings

    def key(self, option: str, config_key: str) -> str:
        """The name of a setting in error messages: the configuration key
        for ``flask.session``, the option for a named scope.

        :param option: The named scopes' option.
        :param config_key: The default scope's configuration key.
        """
        if self.scope == DEFAULT_SCOPE:
            return config_key
        return f"SCOPES_SESSIONS[{self.scope!r}][{option!r}]"

    def _check_prefix(self, key: str, name: str) -> None:
        # Browsers match the prefixes without regard to case.
        folded = name.lower()
        if folded.startswith("__host-"):
            if self.cookie_domain:
                raise ConfigurationError(
                    key,
                    f"a cookie named {name!r} must not have a Domain, but"
                    f" {self.key('cookie_domain', 'SESSION_COOKIE_DOMAIN')} is"
                    f" {self.cookie_domain!r}.",
                )
            if self.cookie_path != "/":
                raise ConfigurationError(
                    key,
                    f"a cookie named {name!r} must have Path=/, but the"
                    f" path is {self.cookie_path!r} ("
                    f"{self.key('cookie_path', 'SESSION_COOKIE_PATH')}"
                    " or APPLICATION_ROOT).",
                )
        if folded.startswith(("__host-", "__secure-")) and not self.cookie_secure:
            raise ConfigurationError(
                key,
                f"a cookie named {name!r} must be Secure: set"
                f" {self.key('cookie_secure', 'SESSION_COOKIE_SECURE')} = True.",
            )

    def _check_samesite(self) -> None:
        if self.cookie_samesite == "None" and not self.cookie_secure:
            raise ConfigurationError(
                self.key("cookie_samesite", "SESSION_COOKIE_SAMESITE"),
                "SameSite=None needs Secure: browsers drop such a cookie"
                f" without it. Set {self.key('cookie_secure', 'SESSION_COOKIE_SECURE')}"
                " = True, or use 'Lax'.",
            )

    def named(self, name: t.Any, options: t.Any) -> Settings:
        """The settings of a named session scope: these settings, with the
        scope's options over them, validated by the same rules.

        A named scope starts from the default scope's settings (cookie
        attributes, lifetime, timeouts, size limits, store, encryption),
        except that its cookie is named after the scope and Flask's own
        cookies are never read into it.

        :param name: The scope's name: a letter, then letters, digits and
            ``_``, at most 64 characters; not ``"session"``.
        :param options: The scope's options, each named in
            :data:`SCOPE_OPTIONS`.
        :raises ConfigurationError: An unknown option, or a value that
            can't work.

        .. versionadded:: 0.2
        """
        where = f"SCOPES_SESSIONS[{name!r}]"
        if (
            not isinstance(name, str)
            or not _SCOPE_NAME.fullmatch(name)
            or name == DEFAULT_SCOPE
        ):
            raise ConfigurationError(
                where,
                "a scope's name is a letter, then letters, digits and '_', at"
                f" most 64 characters, and not {DEFAULT_SCOPE!r}.",
            )
        if not isinstance(options, t.Mapping):
            raise ConfigurationError(where, f"must be a mapping, not {options!r}.")
        changes: dict[str, t.Any] = {
            "scope": name,
            "cookie_name": name,
            "accept_flask_cookies": False,
            "sessions": (),
            # "Your devices" lists the default scope's sessions only.
            "devices": False,
            # Flask-Login signs users in and out of flask.session.
            "flask_login": False,
            # The near cache serves flask.session's store only.
            "store_cache": 0,
        }
        for option, value in options.items():
            found = SCOPE_OPTIONS.get(option)
            if found is None:
                raise ConfigurationError(
                    where,
                    f"unknown option {option!r}; the options are"
                    f" {', '.join(sorted(SCOPE_OPTIONS))}.",
                )
            field, check = found
            changes[field] = check(value, f"{where}[{option!r}]")
        # The idle limit and the entries' time to live, as configured for
        # this scope or inherited, resolved against its own lifetime.
        changes["idle_timeout"], changes["store_ttl"] = _times(
            changes.get("permanent_lifetime", self.permanent_lifetime),
            changes.get("idle_setting", self.idle_setting),
            changes.get("store_ttl_setting", self.store_ttl_setting),
        )
        settings = dataclasses.replace(self, **changes)
        key = f"{where}['cookie_name']"
        settings._check_prefix(key, settings.cookie_name)
        settings._check_samesite()
        taken = {self.cookie_name, self.flash_cookie_name}
        if settings.cookie_name in taken:
            raise ConfigurationError(
                key,
                f"{settings.cookie_name!r} is already another scope's cookie"
                " name; each scope needs a cookie of its own.",
            )
        if settings.encrypt:
            require_cryptography()
        return settings
