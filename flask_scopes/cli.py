"""The ``flask scopes`` command group: make a secret key, look inside a
session cookie with the app's keys, and purge expired server-side sessions.

:meth:`Scopes.init_app <flask_scopes.Scopes.init_app>` adds the group to
``app.cli``. The commands find the app through the app context, so the one
group serves every app it is added to.
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
import typing as t
from datetime import datetime
from datetime import timezone
from uuid import UUID

import click
from flask import current_app
from flask.cli import AppGroup
from markupsafe import Markup

from .codec import BadCookie
from .codec import FlaskCookieReader
from .crypto import is_encrypted
from .errors import ScopesError
from .errors import SessionStoreUnavailable
from .interface import ScopesSessionInterface
from .serverside import encode_entry
from .serverside import entry_name
from .serverside import entry_ttl
from .serverside import NotAnIdCookie
from .session import ScopesSession
from .stores import purge_expired

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from .interface import Runtime

#: The ``flask scopes`` command group.
scopes_cli = AppGroup("scopes", help="Work with the session and flash scopes.")

#: How many random bytes ``flask scopes secret`` draws by default.
SECRET_BYTES = 48

#: The most characters ``inspect`` reads from its argument or standard input.
MAX_INPUT = 64 * 1024


@scopes_cli.command("secret", with_appcontext=False)
@click.option(
    "--bytes",
    "nbytes",
    type=click.IntRange(32, 1024),
    default=SECRET_BYTES,
    show_default=True,
    help="How many random bytes the key holds.",
)
def secret_command(nbytes: int) -> None:
    """Print a new random secret key.

    The key goes to standard output alone, so that it can be piped or
    redirected; a hint on how to use it goes to standard error.
    """
    click.echo(secrets.token_urlsafe(nbytes))
    click.echo(
        "Set it as SECRET_KEY, for example FLASK_SECRET_KEY=<key> in the"
        " environment with app.config.from_prefixed_env(). When replacing a"
        " key, move the old one to SECRET_KEY_FALLBACKS so nobody is signed out.",
        err=True,
    )


@scopes_cli.command(
    "inspect", short_help="Verify a session cookie and show what it holds."
)
@click.argument("cookie")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def inspect_command(cookie: str, as_json: bool) -> None:
    """Verify a session cookie with the app's keys and show what it holds.

    COOKIE is the cookie's value, "name=value", a copy of a "Cookie:" or
    "Set-Cookie:" header, or "-" to read it from standard input. Prints the
    data, the key that signed (or encrypted) it, its times, its expiry and
    its size. With SCOPES_SESSION_STORE, the cookie carries a session id:
    the session is loaded from the store. Exits with status 1 when the
    cookie is not valid, saying why, or when the store can't be reached.
    """
    app = current_app
    interface = app.session_interface
    if not isinstance(interface, ScopesSessionInterface):
        raise click.ClickException(
            f"The app {app.name!r} does not use flask-scopes' session interface."
        )
    try:
        runtime = interface.runtime(app)
    except ScopesError as e:
        raise click.ClickException(str(e)) from None
    if runtime.codec is None:
        raise click.ClickException(
            "SECRET_KEY is not set, so no session cookie can be verified."
        )
    if cookie == "-":
        cookie = sys.stdin.read(MAX_INPUT + 1)
    try:
        report = inspect_cookie(app, interface, runtime, cookie)
    except SessionStoreUnavailable as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print_report(report, runtime)
    if not report["valid"]:
        click.get_current_context().exit(1)


@scopes_cli.command("purge")
def purge_command() -> None:
    """Remove expired sessions and revocation markers from stores that keep
    them (FileSystemCache). Stores that expire entries by themselves, such
    as Redis, need nothing."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    scopes = app.extensions.get("scopes")
    if scopes is None:
        raise click.ClickException("flask-scopes is not set up on this app.")
    runtime = scopes.interface(app).runtime(app)
    stores = []
    for store in (runtime.store, runtime.revocations and runtime.revocations.store):
        if store is not None and store not in stores:
            stores.append(store)
    if not stores:
        raise click.ClickException(
            "No store is configured: set SCOPES_SESSION_STORE or"
            " SCOPES_REVOCATION_STORE."
        )
    for store in stores:
        if store.expires_by_itself:
            click.echo(f"{store.describe()}: expires entries by itself.")
            continue
        try:
            removed = purge_expired(store)
        except ScopesError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"{store.describe()}: removed {removed} expired entries.")


def extract_value(text: str, name: str) -> str:
    """Find the session cookie's value in what the user pasted.

    :param text: A bare value, ``name=value``, or a ``Cookie:`` or
        ``Set-Cookie:`` header, with or without the header's name.
    :param name: The session cookie's name.
    :raises BadCookie: Nothing that could be the value, or several
        different values under the name.
    """
    if len(text) > MAX_INPUT:
        raise BadCookie(f"the input is longer than {MAX_INPUT} characters")
    text = text.strip()
    head, colon, rest = text.partition(":")
    if colon and head.strip().lower() in {"cookie", "set-cookie"}:
        text = rest.strip()
    if "=" not in text:
        if not text:
            raise BadCookie("the input is empty")
        return _unquote(text)
    parts = [part.strip() for part in text.split(";")]
    pairs = []
    for part in parts:
        key, sep, value = part.partition("=")
        if sep:
            pairs.append((key.strip(), _unquote(value.strip())))
    found = {value for key, value in pairs if key == name}
    if len(found) > 1:
        raise BadCookie(
            f"{len(found)} different cookies named {name!r}; the app trusts neither"
        )
    if found:
        return found.pop()
    if parts[0] and "=" not in parts[0]:
        # A bare value followed by attributes copied along with it.
        return _unquote(parts[0])
    if len(pairs) == 1:
        return pairs[0][1]
    names = ", ".join(repr(key) for key, _ in pairs)
    raise BadCookie(f"no cookie named {name!r} in the input (found {names})")


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
    loaded from the store.

    :returns: A JSON-ready report. ``valid`` says whether the app would
        accept the cookie; ``reason`` says why not. A cookie whose signature
        verified but that has expired still reports its contents.
    :raises SessionStoreUnavailable: The store could not be reached.
    """
    settings = runtime.settings
    report: dict[str, t.Any] = {"valid": False, "reason": None}
    try:
        value = extract_value(text, settings.cookie_name)
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


def _next_use(report: dict[str, t.Any], runtime: Runtime) -> str:
    """What the app does with a cookie it re-issues, for the report."""
    if runtime.server is not None and report["format"] != "store":
        return "moved into the store (SCOPES_SESSION_STORE) on its next use"
    if runtime.settings.encrypt and report["format"] != "encrypted":
        return "re-issued encrypted on its next use"
    if report["format"] == "flask":
        return "re-issued in flask-scopes' format on its next use"
    return "re-issued under the current key on its next use"


def _print_report(report: dict[str, t.Any], runtime: Runtime) -> None:
    if "key" not in report:
        click.echo(f"Invalid session cookie: {report['reason']}.", err=True)
        return
    stored = report["format"] == "store"
    if report["valid"]:
        click.echo(
            "Valid session cookie: a session id, for a session kept in the store."
            if stored
            else "Valid session cookie."
        )
    elif "data" in report:
        click.echo(
            f"Invalid session cookie: {report['reason']}. Its signature is"
            " valid; this is what it held:",
            err=True,
        )
    else:
        click.echo(
            f"Invalid session cookie: {report['reason']}. Its signature is valid:",
            err=True,
        )
    key = f"{report['key']} key ({report['key_name']})"
    if report["format"] == "flask":
        key += "; written by Flask's built-in session"
    if report.get("reissue"):
        key += f"; {_next_use(report, runtime)}"
    lines = []
    if report["format"] == "encrypted":
        lines.append(("Encrypted", f"AES-256-GCM, with the {key}"))
    else:
        lines.append(("Signed with", key))
    if stored:
        lines += [("Store", report["store"]), ("Entry", report["entry"])]
    if "data" in report:
        if report["expires"] is None:
            expires = "when the browser closes (no server-side limit)"
        else:
            expires = f"{report['expires']} ({report['expires_by']})"
        lines += [
            ("Created", report["created"]),
            ("Last written", report["touched"]),
            ("Permanent", "yes" if report["permanent"] else "no"),
            ("Expires", expires),
        ]
    size = (
        f"{report['size']} bytes; Set-Cookie header {report['header_size']}"
        f" of {report['max_size']} bytes"
    )
    if "stored_size" in report:
        size += (
            f"; stored entry {report['stored_size']} of"
            f" {report['stored_max_size']} bytes"
        )
    lines.append(("Size", size))
    for label, text in lines:
        click.echo(f"{label + ':':14}{text}")
    if "data" in report:
        click.echo("Data:")
        click.echo(json.dumps(report["data"], indent=2, ensure_ascii=False))
