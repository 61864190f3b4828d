"""The checks a configuration value passes before it becomes a setting:
each takes the value and the key to name in its error, and returns the
resolved value or raises :exc:`~flask_scopes.ConfigurationError`.
"""

from __future__ import annotations

import re
import typing as t
from datetime import timedelta

from .errors import ConfigurationError
from .stores import check_store_value

_SAMESITE = {"strict": "Strict", "lax": "Lax", "none": "None"}


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


def as_bool(value: t.Any, key: str) -> bool:
    """Any value, as its truth."""
    return bool(value)


def as_domain(value: t.Any, key: str) -> str | None:
    """A cookie ``Domain``: a ``str``, or ``None`` (also for ``False`` and ``""``)."""
    if value is None or value is False or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigurationError(key, f"must be a str or None, not {value!r}.")
    return value


def as_path(value: t.Any, key: str) -> str:
    """A cookie ``Path``: a ``str`` that starts with ``/``."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise ConfigurationError(
            key, f"must be a str starting with '/', not {value!r}."
        )
    return value


def as_secret(value: t.Any, key: str) -> bytes | None:
    """A secret key as ``bytes``, or ``None`` for none."""
    if value is None or value == "" or value == b"":
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise ConfigurationError(
        key, f"a secret key must be str or bytes, not {type(value).__name__}."
    )


def as_fallbacks(value: t.Any) -> tuple[bytes, ...]:
    """``SECRET_KEY_FALLBACKS``: a list of keys, never a single key."""
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
        key = as_secret(item, "SECRET_KEY_FALLBACKS")
        if key is None:
            raise ConfigurationError("SECRET_KEY_FALLBACKS", "holds an empty key.")
        keys.append(key)
    return tuple(keys)


def as_cookie_name(value: t.Any, key: str) -> str:
    """A valid cookie name."""
    if not isinstance(value, str) or not value:
        raise ConfigurationError(key, f"must be a non-empty str, not {value!r}.")
    bad = set(value) & set(' \t\r\n;,="\\()<>@:/[]?{}')
    if bad or not value.isascii() or not value.isprintable():
        raise ConfigurationError(
            key, f"{value!r} is not a valid cookie name (characters {sorted(bad)})."
        )
    return value


def as_samesite(value: t.Any, key: str = "SESSION_COOKIE_SAMESITE") -> str | None:
    """``SameSite``: ``"Strict"``, ``"Lax"`` (also for ``None``), ``"None"``,
    or ``None`` for ``False``."""
    # Flask's default, None, means Lax here: cookies are SameSite=Lax out of
    # the box. False sends no SameSite attribute at all.
    if value is None:
        return "Lax"
    if value is False:
        return None
    if isinstance(value, str) and value.lower() in _SAMESITE:
        return _SAMESITE[value.lower()]
    raise ConfigurationError(
        key, f"must be 'Strict', 'Lax', 'None' or False, not {value!r}."
    )


def as_seconds(value: t.Any, key: str) -> int:
    """A positive, finite duration, in whole seconds (at least 1)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ConfigurationError(
            key, f"must be a number of seconds or a timedelta, not {value!r}."
        )
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise ConfigurationError(key, f"must be positive and finite, not {value!r}.")
    return max(1, int(seconds))


def as_optional_seconds(value: t.Any, key: str) -> int | None:
    """A duration as :func:`as_seconds` does, or ``None``."""
    if value is None or value is False:
        return None
    return as_seconds(value, key)


def as_idle_timeout(value: t.Any, key: str) -> t.Any:
    """An idle limit: :data:`SAME_AS_LIFETIME` as it is (resolved later
    against the scope's lifetime), else as :func:`as_optional_seconds` does.

    .. versionadded:: 0.2
    """
    if value is SAME_AS_LIFETIME:
        return value
    return as_optional_seconds(value, key)


def as_optional_ttl(value: t.Any, key: str) -> int | None:
    """A store entry's time to live: ``None`` (as long as the scope's idle
    limit or lifetime allows), else as :func:`as_seconds` does.

    .. versionadded:: 0.2
    """
    if value is None:
        return None
    return as_seconds(value, key)


def as_count(value: t.Any, key: str) -> int:
    """A number of items, ``0`` for none (or ``None`` or ``False``)."""
    if value is None or value is False:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(
            key, f"must be a number of entries (0 for none), not {value!r}."
        )
    return value


def as_store(value: t.Any, key: str) -> t.Any:
    """A store: ``None``, a cachelib cache, a Redis client, a SQLAlchemy
    engine, a store URL or a :class:`~flask_scopes.stores.BaseSessionStore`."""
    try:
        check_store_value(value)
    except ValueError as e:
        raise ConfigurationError(key, str(e)) from None
    return value


def as_positive_int(value: t.Any, key: str) -> int:
    """A positive ``int``."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigurationError(key, f"must be a positive int, not {value!r}.")
    return value


#: The options of a named session scope (:data:`SCOPES_SESSIONS`,
#: :meth:`Scopes.add_session <flask_scopes.Scopes.add_session>`): each
#: option's :class:`Settings` field and its check.
SCOPE_OPTIONS: dict[str, tuple[str, t.Callable[[t.Any, str], t.Any]]] = {
    "cookie_name": ("cookie_name", as_cookie_name),
    "cookie_domain": ("cookie_domain", as_domain),
    "cookie_path": ("cookie_path", as_path),
    "cookie_httponly": ("cookie_httponly", as_bool),
    "cookie_secure": ("cookie_secure", as_bool),
    "cookie_samesite": ("cookie_samesite", as_samesite),
    "cookie_partitioned": ("cookie_partitioned", as_bool),
    "refresh_each_request": ("refresh_each_request", as_bool),
    "permanent": ("permanent", as_bool),
    "lifetime": ("permanent_lifetime", as_seconds),
    "idle_timeout": ("idle_setting", as_idle_timeout),
    "absolute_timeout": ("absolute_timeout", as_optional_seconds),
    "max_cookie_size": ("max_cookie_size", as_positive_int),
    "store": ("store", as_store),
    "store_ttl": ("store_ttl_setting", as_optional_ttl),
    "store_max_size": ("store_max_size", as_positive_int),
    "revocation_store": ("revocation_store", as_store),
    "encrypt": ("encrypt", as_bool),
    "encrypt_accept_signed": ("encrypt_accept_signed", as_bool),
}


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
