"""The ``flask scopes`` command group: make a secret key, look inside a
session cookie with the app's keys, and purge expired server-side sessions.

:meth:`Scopes.init_app <flask_scopes.Scopes.init_app>` adds the group to
``app.cli``. The commands find the app through the app context, so the one
group serves every app it is added to.
"""

from __future__ import annotations

import json
import secrets
import sys
import typing as t
import unicodedata

import click
from flask import current_app
from flask.cli import AppGroup

from .errors import ScopesError
from .errors import SessionStoreUnavailable
from .inspection import inspect_cookie
from .inspection import MAX_INPUT
from .interface import ScopesSessionInterface
from .stores import BaseSessionStore
from .stores import purge_expired

if t.TYPE_CHECKING:  # pragma: no cover
    from .runtime import Runtime

#: The ``flask scopes`` command group.
scopes_cli = AppGroup("scopes", help="Work with the session and flash scopes.")

#: Unicode categories printed as escapes: control, format (bidi overrides
#: among them), and line and paragraph separators.
_UNSAFE = frozenset({"Cc", "Cf", "Zl", "Zp"})


def escape_controls(text: str) -> str:
    r"""``text`` with every control, format and separator character but
    ``"\n"`` written as a JSON escape (``\u001b``), so that what a cookie
    holds can't move the cursor, recolour or rewrite the terminal it is
    printed to. The escapes are valid inside JSON strings.

    .. versionadded:: 0.2
    """
    out = []
    for char in text:
        if char != "\n" and unicodedata.category(char) in _UNSAFE:
            code = ord(char)
            if code > 0xFFFF:
                code -= 0x10000
                out.append(
                    f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
                )
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _echo(text: str, err: bool = False) -> None:
    click.echo(escape_controls(text), err=err)


#: How many random bytes ``flask scopes secret`` draws by default.
SECRET_BYTES = 48


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
    redirected; a hint on how to use it goes to standard error. It needs no
    app: ``python -m flask_scopes secret`` runs it too.
    """
    click.echo(secrets.token_urlsafe(nbytes))
    click.echo(SECRET_HINT, err=True)


#: What ``secret`` says on standard error about using the key.
SECRET_HINT = (
    "Set it as the app's SECRET_KEY: an app that calls"
    " app.config.from_prefixed_env() reads FLASK_SECRET_KEY=<key> from the"
    " environment. When replacing a key, move the old one to"
    " SECRET_KEY_FALLBACKS so nobody is signed out."
)


@scopes_cli.command(
    "inspect",
    short_help="Verify a session cookie and show what it holds.",
    # A session id may begin with "-": take it as the cookie, not an option.
    context_settings={"ignore_unknown_options": True},
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
            "SECRET_KEY is not set, so no session cookie can be verified. An"
            " app without a configured key has none, or makes a random one in"
            " each process: no cookie from another process can verify. Set"
            " SECRET_KEY as the running app does (for example"
            " FLASK_SECRET_KEY=<key> with app.config.from_prefixed_env())."
        )
    if cookie == "-":
        cookie = sys.stdin.read(MAX_INPUT + 1)
    try:
        report = inspect_cookie(app, interface, runtime, cookie)
    except SessionStoreUnavailable as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        _echo(json.dumps(report, indent=2, ensure_ascii=False))
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
    # Every store of every scope, once each (a near cache is its store).
    stores: dict[int, BaseSessionStore] = {}
    for scope in runtime.scopes():
        revocations = scope.revocations
        for found in (scope.store, revocations and revocations.store):
            if found is not None:
                stores.setdefault(id(found.backing), found.backing)
    if not stores:
        raise click.ClickException(
            "No store is configured: set SCOPES_SESSION_STORE or"
            " SCOPES_REVOCATION_STORE."
        )
    for store in stores.values():
        if store.expires_by_itself:
            _echo(f"{store.describe()}: expires entries by itself.")
            continue
        try:
            removed = purge_expired(store)
        except ScopesError as e:
            raise click.ClickException(str(e)) from None
        _echo(f"{store.describe()}: removed {removed} expired entries.")


def _next_use(report: dict[str, t.Any], runtime: Runtime) -> str:
    """What the app does with a cookie it re-issues, for the report."""
    if runtime.server is not None and report["format"] != "store":
        return "moved into the store (SCOPES_SESSION_STORE) on its next use"
    if runtime.settings.encrypt and report["format"] != "encrypted":
        return "re-issued encrypted on its next use"
    if report["format"] == "flask":
        return "re-issued in flask-scopes' format on its next use"
    return "re-issued under the current key on its next use"


#: Printed under a cookie that no key verifies.
OTHER_KEY_HINT = (
    "No key of this app (SECRET_KEY, SECRET_KEY_FALLBACKS) signed it. If the"
    " app makes a random SECRET_KEY when none is configured, each process has"
    " its own, and no cookie from another process can verify."
)


def _print_report(report: dict[str, t.Any], runtime: Runtime) -> None:
    if report.get("format") == "flash":
        _print_flash(report, runtime)
        return
    if "key" not in report:
        _echo(f"Invalid session cookie: {report['reason']}.", err=True)
        if "bad signature" in report["reason"]:
            _echo(OTHER_KEY_HINT, err=True)
        return
    stored = report["format"] == "store"
    if report["valid"]:
        _echo(
            "Valid session cookie: a session id, for a session kept in the store."
            if stored
            else "Valid session cookie."
        )
    elif "data" in report:
        _echo(
            f"Invalid session cookie: {report['reason']}. Its signature is"
            " valid; this is what it held:",
            err=True,
        )
    else:
        _echo(
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
        _echo(f"{label + ':':14}{text}")
    if "data" in report:
        _echo("Data:")
        _echo(json.dumps(report["data"], indent=2, ensure_ascii=False))


def _print_flash(report: dict[str, t.Any], runtime: Runtime) -> None:
    name = runtime.settings.flash_cookie_name
    how = (
        "signed (SCOPES_FLASH_SIGNED)"
        if report["signed"]
        else "unsigned: anyone can read or write it"
    )
    _echo(f"A flash cookie ({name}), {how}. It carries:")
    for batch in report["batches"]:
        stale = " (older than SCOPES_FLASH_MAX_AGE: ignored)" if batch["stale"] else ""
        _echo(f"Flashed at {batch['created']}{stale}:")
        for category, message in batch["messages"]:
            _echo(f"  {category}: {message}")
        for label, fields in (("form", batch["form"]), ("errors", batch["errors"])):
            for field, values in fields.items():
                _echo(f"  {label} {field}: {json.dumps(values, ensure_ascii=False)}")
    _echo(f"{'Size:':14}{report['size']} bytes")
