"""Reading a session cookie as the app would, for ``flask scopes inspect``:
a signed or encrypted cookie, one written by Flask's own session, or a
session id whose entry is loaded from the store. Nothing is changed.
"""

from __future__ import annotations

import base64
import re
import typing as t
from datetime import datetime
from datetime import timezone
from uuid import UUID

from markupsafe import Markup

from .codecs.crypto import is_encrypted
from .codecs.encoding import BadCookie
from .codecs.flask_format import FlaskCookieReader
from .codecs.signed import HEADERS
from .session.entries import encode_entry
from .session.entries import entry_name
from .session.entries import NotAnIdCookie
from .session.mapping import ScopesSession
from .session.timing import entry_ttl

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from .interface import ScopesSessionInterface
    from .runtime import Runtime

#: The most characters ``inspect`` reads from its argument or standard input.
MAX_INPUT = 64 * 1024

#: The one reason given for a value in none of the formats the app reads.
NOT_A_COOKIE = "not a cookie that flask-scopes or Flask's session wrote"

# Flask's session cookie: [.]payload.timestamp.signature (HMAC-SHA1).
_FLASK_SHAPE = re.compile(
    r"\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{4,12}\.[A-Za-z0-9_-]{27}\Z"
)


class Pasted(t.NamedTuple):
    """What the user pasted, taken apart by :func:`paste_parts`."""

    #: The value under the session cookie's name, or a bare value.
    value: str | None
    #: The value under the flash cookie's name.
    flash: str | None
    #: ``(name, value)`` of the other cookies in the input.
    others: list[tuple[str, str]]


def paste_parts(text: str, name: str, flash_name: str) -> Pasted:
    """Find the session and flash cookies' values in what the user pasted.

    .. versionadded:: 0.2

    :param text: A bare value, ``name=value``, or a ``Cookie:`` or
        ``Set-Cookie:`` header, with or without the header's name.
    :param name: The session cookie's name.
    :param flash_name: The flash cookie's name.
    :raises BadCookie: Nothing that could be a value, or several different
        values under one of the names.
    """
    if len(text) > MAX_INPUT:
        raise BadCookie(f"the input is longer than {MAX_INPUT} characters")
    text = text.strip()
    head, colon, rest = text.partition(":")
    if colon and head.strip().lower() in {"cookie", "set-cookie"}:
        text = rest.strip()
    if not text:
        raise BadCookie("the input is empty")
    if "=" not in text:
        return Pasted(_unquote(text), None, [])
    parts = [part.strip() for part in text.split(";")]
    pairs = []
    for part in parts:
        key, sep, value = part.partition("=")
        if sep:
            pairs.append((key.strip(), _unquote(value.strip())))
    if parts[0] and "=" not in parts[0]:
        # A bare value followed by attributes copied along with it.
        return Pasted(_unquote(parts[0]), None, [])
    return Pasted(
        _one(pairs, name),
        _one(pairs, flash_name),
        [(key, value) for key, value in pairs if key not in (name, flash_name)],
    )


def _one(pairs: list[tuple[str, str]], name: str) -> str | None:
    found = {value for key, value in pairs if key == name}
    if len(found) > 1:
        raise BadCookie(
            f"{len(found)} different cookies named {name!r}; the app trusts neither"
        )
    return found.pop() if found else None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def inspect_cookie(
    app: Flask, interface: ScopesSessionInterface, runtime: Runtime, text: str
) -> dict[str, t.Any]:
    """Verify and describe a session cookie as the app would read it now:
    a signed or an encrypted cookie, one written by Flask's own session, or,
    with ``SCOPES_SESSION_STORE``, a signed session id whose entry is then
    loaded from the store. A flash cookie is recognised and decoded too.

    .. versionchanged:: 0.2
        Decodes a flash cookie (``format`` ``"flash"``); cookies under other
        names are tried in turn, whether one or several were pasted.

    :returns: A JSON-ready report. ``valid`` says whether the app would
        accept the cookie; ``reason`` says why not. A cookie whose signature
        verified but that has expired still reports its contents.
    :raises SessionStoreUnavailable: The store could not be reached.
    """
    settings = runtime.settings
    try:
        pasted = paste_parts(text, settings.cookie_name, settings.flash_cookie_name)
    except BadCookie as e:
        return {"valid": False, "reason": str(e)}
    if pasted.value is not None:
        return _inspect_value(interface, runtime, pasted.value)
    if pasted.flash is not None:
        flash = inspect_flash(runtime, pasted.flash, int(interface.clock()))
        if flash is not None:
            return flash
        return {"valid": False, "reason": "a flash cookie that the app would ignore"}
    for _, value in pasted.others:
        report = _inspect_value(interface, runtime, value)
        if "key" in report or report.get("format") == "flash":
            return report
    names = ", ".join(repr(key) for key, _ in pasted.others)
    return {
        "valid": False,
        "reason": f"no cookie named {settings.cookie_name!r} or"
        f" {settings.flash_cookie_name!r} in the input (found {names})",
    }


def inspect_flash(runtime: Runtime, value: str, now: int) -> dict[str, t.Any] | None:
    """Describe a flash cookie's value, or ``None`` when the flash codec
    refuses it (it is then no flash cookie, or one the app ignores).

    .. versionadded:: 0.2
    """
    codec = runtime.flash_codec
    try:
        batches = codec.decode(value)
    except BadCookie:
        return None
    max_age = runtime.settings.flash_max_age
    return {
        "valid": True,
        "reason": None,
        "format": "flash",
        "signed": codec.signed,
        "size": len(value.encode("utf-8")),
        "batches": [
            {
                "created": _iso(batch.created),
                "stale": now - batch.created > max_age,
                "messages": [list(pair) for pair in batch.messages],
                "form": batch.form,
                "errors": batch.errors,
            }
            for batch in batches
        ],
    }


def _inspect_value(
    interface: ScopesSessionInterface, runtime: Runtime, value: str
) -> dict[str, t.Any]:
    """Report on one cookie value: a flash cookie, or a session cookie."""
    flash = inspect_flash(runtime, value, int(interface.clock()))
    if flash is not None:
        return flash
    settings = runtime.settings
    report: dict[str, t.Any] = {"valid": False, "reason": None}
    try:
        if runtime.server is not None and _inspect_stored(
            interface, runtime, value, report
        ):
            return report
        fmt, created, touched, data, index = _decode_cookie(interface, runtime, value)
    except BadCookie as e:
        report["reason"] = str(e)
        return report

    now = int(interface.clock())
    permanent = bool(data.get("_permanent"))
    written = "encrypted" if settings.encrypt else "flask-scopes"
    report.update(
        format=fmt,
        **_key(index),
        created=_iso(created),
        touched=_iso(touched),
        permanent=permanent,
        # Re-issued in the format the app writes now, or moved to the store.
        reissue=index > 0 or fmt != written or runtime.server is not None,
    )
    expires, rule = _expiry(runtime, created, touched, permanent)
    report["expires"] = None if expires is None else _iso(expires)
    report["expires_by"] = rule
    cookie_expires = None
    if permanent:
        cookie_expires = touched + settings.permanent_lifetime
        if settings.absolute_timeout is not None:
            cookie_expires = min(cookie_expires, created + settings.absolute_timeout)
    _sizes(runtime, value, cookie_expires, now, report)
    report["data"] = readable(data)
    try:
        interface.check_times(settings, created, touched, now, permanent)
        if runtime.revocations is not None:
            fraction = interface.idle_refresh_fraction
            runtime.revocations.check_cookie(data, touched, now, fraction)
    except BadCookie as e:
        report["reason"] = str(e)
        return report
    report["valid"] = True
    return report


def _decode_cookie(
    interface: ScopesSessionInterface, runtime: Runtime, value: str
) -> tuple[str, int, int, dict[str, t.Any], int]:
    """Decode a session cookie with the codec that reads its format, as the
    interface does.

    :returns: The format, created, touched, the data, and the index of the
        key that verified or opened it.
    :raises BadCookie: Why the cookie is refused.
    """
    settings = runtime.settings
    codec = runtime.codec
    assert codec is not None
    if codec.is_own(value):
        created, touched, data, index = codec.decode(value)
        fmt = "encrypted" if settings.encrypt else "flask-scopes"
        return fmt, created, touched, data, index
    if runtime.signed_codec is not None and runtime.signed_codec.is_own(value):
        created, touched, data, index = runtime.signed_codec.decode(value)
        return "flask-scopes", created, touched, data, index
    if is_encrypted(value):
        raise BadCookie("an encrypted cookie, but SCOPES_SESSION_ENCRYPT is off")
    if value.partition(".")[0] not in HEADERS and not _FLASK_SHAPE.match(value):
        raise BadCookie(NOT_A_COOKIE)
    if runtime.flask_reader is not None:
        touched, data, index = _decode_flask(interface, runtime, value)
        return "flask", touched, touched, data, index
    if settings.encrypt:
        raise BadCookie(
            "not an encrypted cookie, and SCOPES_SESSION_ENCRYPT_ACCEPT_SIGNED is off"
        )
    raise BadCookie(
        "not in flask-scopes' format, and SCOPES_SESSION_ACCEPT_FLASK_COOKIES is off"
    )


def _inspect_stored(
    interface: ScopesSessionInterface,
    runtime: Runtime,
    value: str,
    report: dict[str, t.Any],
) -> bool:
    """Fill ``report`` for a session id cookie: verify the id, then load its
    entry as the app would.

    :returns: ``False`` when the value is not an id cookie (it may be a
        cookie session from before the store, which the app moves into it).
    :raises BadCookie: The id cookie's signature is not valid.
    :raises SessionStoreUnavailable: The store could not be reached.
    """
    server = runtime.server
    assert server is not None
    try:
        sid, uref, index = server.ids.load(value)
    except NotAnIdCookie:
        return False
    settings = runtime.settings
    report.update(
        format="store",
        **_key(index),
        store=server.store.describe(),
        entry=server.store.key(entry_name(sid, uref)),
    )
    session = ScopesSession()
    try:
        server._load([value], session)
    except BadCookie as e:
        report["reason"] = str(e)
        _sizes(runtime, value, None, int(interface.clock()), report)
        return True
    assert session.created is not None and session.touched is not None
    created, touched = session.created, session.touched
    permanent = session.permanent
    data = dict(session.items())
    report.update(
        created=_iso(created),
        touched=_iso(touched),
        permanent=permanent,
        reissue=index > 0,
    )
    expires, rule = _expiry(runtime, created, touched, permanent, stored=True)
    report["expires"] = None if expires is None else _iso(expires)
    report["expires_by"] = rule
    cookie_expires = None
    if permanent:
        cookie_expires = touched + entry_ttl(settings, created, touched, permanent)
    _sizes(runtime, value, cookie_expires, int(interface.clock()), report)
    report["stored_size"] = len(encode_entry(created, touched, data))
    report["stored_max_size"] = settings.store_max_size
    report["data"] = readable(data)
    report["valid"] = True
    return True


def _key(index: int) -> dict[str, str]:
    """The report's description of the key at ``index`` of the key ring."""
    if index == 0:
        return {"key": "current", "key_name": "SECRET_KEY"}
    return {"key": "fallback", "key_name": f"SECRET_KEY_FALLBACKS[{index - 1}]"}


def _sizes(
    runtime: Runtime,
    value: str,
    expires: int | None,
    now: int,
    report: dict[str, t.Any],
) -> None:
    """Add the cookie's size, and its whole header's against the limit."""
    policy = runtime.session_cookie
    report["size"] = len(value.encode("utf-8"))
    report["header_size"] = policy.size(policy.header(value, expires, now))
    report["max_size"] = policy.max_size


def _decode_flask(
    interface: ScopesSessionInterface, runtime: Runtime, value: str
) -> tuple[int, dict[str, t.Any], int]:
    """Read a cookie in Flask's own format, finding which key signed it."""
    settings = runtime.settings
    assert settings.secret_key is not None
    keys = (settings.secret_key, *settings.fallback_keys)
    error = BadCookie("not a valid cookie in either format")
    for index, key in enumerate(keys):
        reader = FlaskCookieReader(
            [key], settings.max_cookie_size, interface.max_inflated_size
        )
        try:
            touched, data = reader.decode(value, settings.permanent_lifetime)
        except BadCookie as e:
            error = e
            continue
        return touched, data, index
    raise error


def _expiry(
    runtime: Runtime,
    created: int,
    touched: int,
    permanent: bool,
    stored: bool = False,
) -> tuple[int | None, str | None]:
    """The last second the app accepts the session, and the rule that sets it.
    ``(None, None)`` when only closing the browser ends it.

    :param stored: The session is kept in the store, where a browser-lifetime
        session lives for ``SCOPES_SESSION_STORE_TTL``.
    """
    settings = runtime.settings
    limits = []
    if permanent:
        limits.append(
            (touched + settings.permanent_lifetime, "PERMANENT_SESSION_LIFETIME")
        )
    elif stored:
        limits.append((touched + settings.store_ttl, "SCOPES_SESSION_STORE_TTL"))
    if settings.idle_timeout is not None:
        limits.append((touched + settings.idle_timeout, "SCOPES_SESSION_IDLE_TIMEOUT"))
    if settings.absolute_timeout is not None:
        limits.append(
            (created + settings.absolute_timeout, "SCOPES_SESSION_ABSOLUTE_TIMEOUT")
        )
    if not limits:
        return None, None
    return min(limits)


def _iso(timestamp: int) -> str:
    try:
        when = datetime.fromtimestamp(timestamp, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return f"{timestamp} (Unix time, out of range)"
    return when.isoformat()


def readable(value: t.Any) -> t.Any:
    """``value`` as plain JSON, for showing. A value JSON can't carry becomes
    an object with one ``$``-prefixed key naming its type:
    ``{"$datetime": "2026-01-02T03:04:05+00:00"}``, ``{"$uuid": ...}``,
    ``{"$bytes": <base64>}``, ``{"$tuple": [...]}``, ``{"$markup": ...}``.
    """
    if isinstance(value, dict):
        return {str(k): readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [readable(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [readable(v) for v in value]}
    if isinstance(value, Markup):
        return {"$markup": str(value)}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, UUID):
        return {"$uuid": str(value)}
    return value
