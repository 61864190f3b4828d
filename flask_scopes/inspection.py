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
from .codecs.signed import is_signed
from .paste import MAX_INPUT as MAX_INPUT
from .paste import NOT_A_COOKIE
from .paste import paste_parts
from .session.entries import encode_entry
from .session.entries import entry_name
from .session.entries import migration_name
from .session.entries import NotAnIdCookie
from .session.mapping import ScopesSession
from .session.server_mode import migration_left
from .session.timing import entry_ttl

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from .interface import ScopesSessionInterface
    from .runtime import Runtime

# Flask's session cookie: [.]payload.timestamp.signature (HMAC-SHA1).
_FLASK_SHAPE = re.compile(
    r"\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{4,12}\.[A-Za-z0-9_-]{27}\Z"
)


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
    permanent = settings.permanent or bool(data.get("_permanent"))
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
        if runtime.server is not None:
            _check_migration(runtime, value, created, touched, now, permanent)
    except BadCookie as e:
        report["reason"] = str(e)
        return report
    report["valid"] = True
    return report


def _check_migration(
    runtime: Runtime, value: str, created: int, touched: int, now: int, permanent: bool
) -> None:
    """Refuse, as the app would, a cookie session that a store would not
    take over: migration off, past a stored session's limit, or already
    migrated once. Reads the store; never records anything.

    :raises BadCookie: Why the app would not migrate it.
    """
    settings = runtime.settings
    if not settings.migrate_cookies:
        raise BadCookie("SCOPES_SESSION_MIGRATE_COOKIES is off")
    migration_left(settings, created, touched, now, permanent)
    assert runtime.store is not None
    if runtime.store.get(migration_name(value)) is not None:
        raise BadCookie("this cookie was already migrated to the store")


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
    if not is_signed(value) and not _FLASK_SHAPE.match(value):
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
        server.load([value], session, strict=True)
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
    report["stored_size"] = len(
        encode_entry(created, touched, data, interface.serializer)
    )
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
            [key],
            settings.max_cookie_size,
            interface.max_inflated_size,
            interface.serializer.flask_loads,
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
    ``{"$bytes": <base64>}``, ``{"$tuple": [...]}``, ``{"$markup": ...}``;
    a value of a registered tag shows its ``repr``: ``{"$Money": ...}``.
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
    if value is None or isinstance(value, (str, int, float)):
        return value
    return {f"${type(value).__name__}": repr(value)}
