from __future__ import annotations

import base64
import json
import math
import typing as t
import uuid
from collections import Counter
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from click.testing import Result
from flask import Flask
from flask import session
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup

from flask_scopes import Scopes

if t.TYPE_CHECKING:
    from .conftest import FakeClock

MakeApp = t.Callable[..., Flask]
utc = timezone.utc


def invoke(app: Flask, *args: str, input: str | None = None) -> Result:
    return app.test_cli_runner().invoke(args=["scopes", *args], input=input)


def add_writer(app: Flask) -> None:
    @app.post("/write")
    def write() -> str:
        session["user"] = "ann"
        session["when"] = datetime(2026, 1, 2, 3, 4, 5, tzinfo=utc)
        session["pair"] = (1, b"\x00x", uuid.UUID(int=7))
        session["note"] = Markup("<b>hi</b>")
        return "ok"

    @app.post("/permanent")
    def permanent() -> str:
        session.permanent = True
        session["user"] = "ann"
        return "ok"


def cookie_value(app: Flask, path: str = "/write") -> str:
    if "write" not in app.view_functions:
        add_writer(app)
    response = app.test_client().post(path)
    header = response.headers["Set-Cookie"]
    return header.split(";", 1)[0].split("=", 1)[1]


def report(result: Result) -> dict[str, t.Any]:
    return json.loads(result.stdout)  # type: ignore[no-any-return]


# -- secret ------------------------------------------------------------------


def entropy_bits_per_char(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def test_secret_prints_a_strong_key(app: Flask) -> None:
    result = invoke(app, "secret")
    assert result.exit_code == 0
    key = result.stdout.strip()
    # Only the key on stdout, so it can be redirected; the hint on stderr.
    assert result.stdout == key + "\n"
    assert "SECRET_KEY" in result.stderr
    assert len(key) == 64
    assert len(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))) == 48
    # 64 characters from a 64-letter alphabet: a random one has close to
    # 6 bits per character at most, far above a word or a repeated pattern.
    assert entropy_bits_per_char(key) > 4.3


def test_secret_keys_are_distinct(app: Flask) -> None:
    keys = {invoke(app, "secret").stdout.strip() for _ in range(20)}
    assert len(keys) == 20


def test_secret_bytes_option(app: Flask) -> None:
    result = invoke(app, "secret", "--bytes", "64")
    assert result.exit_code == 0
    assert len(result.stdout.strip()) == math.ceil(64 * 4 / 3)
    assert invoke(app, "secret", "--bytes", "8").exit_code == 2


def test_secret_key_works_as_secret_key(make_app: MakeApp) -> None:
    key = invoke(make_app(), "secret").stdout.strip()
    app = make_app(SECRET_KEY=key)
    value = cookie_value(app)
    assert report(invoke(app, "inspect", "--json", value))["valid"]


# -- inspect: valid cookies ----------------------------------------------------


def test_inspect_valid_cookie(app: Flask, clock: FakeClock) -> None:
    value = cookie_value(app)
    result = invoke(app, "inspect", value)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Valid session cookie.")
    assert "current key (SECRET_KEY)" in out
    created = datetime.fromtimestamp(int(clock.now), utc).isoformat()
    assert f"Created:      {created}" in out
    assert "when the browser closes" in out
    assert f"Size:         {len(value)} bytes" in out
    data = json.loads(out[out.index("Data:\n") + 6 :])
    assert data == {
        "user": "ann",
        "when": {"$datetime": "2026-01-02T03:04:05+00:00"},
        "pair": {
            "$tuple": [
                1,
                {"$bytes": base64.b64encode(b"\x00x").decode()},
                {"$uuid": str(uuid.UUID(int=7))},
            ]
        },
        "note": {"$markup": "<b>hi</b>"},
    }


def test_inspect_json(app: Flask, clock: FakeClock) -> None:
    value = cookie_value(app)
    result = invoke(app, "inspect", "--json", value)
    assert result.exit_code == 0
    data = report(result)
    now = datetime.fromtimestamp(int(clock.now), utc).isoformat()
    assert data["valid"] is True
    assert data["reason"] is None
    assert data["format"] == "flask-scopes"
    assert data["key"] == "current"
    assert data["key_name"] == "SECRET_KEY"
    assert data["created"] == data["touched"] == now
    assert data["permanent"] is False
    assert data["reissue"] is False
    assert data["expires"] is None
    assert data["size"] == len(value)
    assert data["max_size"] == 4093
    assert data["size"] < data["header_size"] < data["max_size"]
    assert data["data"]["user"] == "ann"


@pytest.mark.parametrize(
    "template",
    [
        "{value}",
        "  {value}\n",
        '"{value}"',
        "session={value}",
        "Cookie: theme=dark; session={value}; lang=en",
        "cookie:session={value}",
        "Set-Cookie: session={value}; HttpOnly; Path=/; SameSite=Lax",
        "{value}; HttpOnly; Path=/",
        "other={value}",
        "session={value}; session={value}",
    ],
)
def test_inspect_accepts_pasted_forms(app: Flask, template: str) -> None:
    value = cookie_value(app)
    result = invoke(app, "inspect", "--json", template.format(value=value))
    assert result.exit_code == 0, result.output
    assert report(result)["data"]["user"] == "ann"


def test_inspect_reads_stdin(app: Flask) -> None:
    value = cookie_value(app)
    result = invoke(app, "inspect", "--json", "-", input=f"session={value}\n")
    assert result.exit_code == 0
    assert report(result)["valid"]


def test_inspect_fallback_key(make_app: MakeApp) -> None:
    app = make_app(SECRET_KEY="old")
    value = cookie_value(app)
    app.config.update(SECRET_KEY="new", SECRET_KEY_FALLBACKS=["older", "old"])
    result = invoke(app, "inspect", value)
    assert result.exit_code == 0
    assert "fallback key (SECRET_KEY_FALLBACKS[1])" in result.stdout
    assert "re-issued under the current key" in result.stdout
    data = report(invoke(app, "inspect", "--json", value))
    assert data["key"] == "fallback"
    assert data["reissue"] is True


def test_inspect_flask_cookie(make_app: MakeApp) -> None:
    app = make_app(SECRET_KEY="old")
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    value = serializer.dumps({"user": "ann", "pair": (1, 2)})
    data = report(invoke(app, "inspect", "--json", value))
    assert data["valid"]
    assert data["format"] == "flask"
    assert data["key"] == "current"
    assert data["reissue"] is True
    assert data["data"] == {"user": "ann", "pair": {"$tuple": [1, 2]}}

    app.config.update(SECRET_KEY="new", SECRET_KEY_FALLBACKS=["old"])
    result = invoke(app, "inspect", value)
    assert result.exit_code == 0
    assert "fallback key (SECRET_KEY_FALLBACKS[0])" in result.stdout
    assert "Flask's built-in session" in result.stdout


def test_inspect_flask_cookie_refused_when_off(make_app: MakeApp) -> None:
    app = make_app(SCOPES_SESSION_ACCEPT_FLASK_COOKIES=False)
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    result = invoke(app, "inspect", serializer.dumps({"user": "ann"}))
    assert result.exit_code == 1
    assert "SCOPES_SESSION_ACCEPT_FLASK_COOKIES" in result.stderr


def test_inspect_permanent_expiry(make_app: MakeApp, clock: FakeClock) -> None:
    app = make_app(PERMANENT_SESSION_LIFETIME=timedelta(days=2))
    value = cookie_value(app, "/permanent")
    data = report(invoke(app, "inspect", "--json", value))
    expires = datetime.fromtimestamp(int(clock.now) + 2 * 86400, utc)
    assert data["permanent"] is True
    assert data["expires"] == expires.isoformat()
    assert data["expires_by"] == "PERMANENT_SESSION_LIFETIME"


def test_inspect_earliest_timeout_wins(make_app: MakeApp, clock: FakeClock) -> None:
    app = make_app(
        SCOPES_SESSION_IDLE_TIMEOUT=600, SCOPES_SESSION_ABSOLUTE_TIMEOUT=3600
    )
    start = int(clock.now)
    value = cookie_value(app)
    data = report(invoke(app, "inspect", "--json", value))
    assert data["expires_by"] == "SCOPES_SESSION_IDLE_TIMEOUT"
    expires = datetime.fromtimestamp(start + 600, utc)
    assert data["expires"] == expires.isoformat()

    # Kept alive, it outlives the idle window: the absolute timeout comes first.
    client = app.test_client()
    client.set_cookie("session", value)
    for _ in range(7):
        clock.advance(500)
        assert client.post("/write").status_code == 200
    cookie = client.get_cookie("session")
    assert cookie is not None
    data = report(invoke(app, "inspect", "--json", cookie.value))
    assert data["valid"]
    assert data["expires_by"] == "SCOPES_SESSION_ABSOLUTE_TIMEOUT"
    expires = datetime.fromtimestamp(start + 3600, utc)
    assert data["expires"] == expires.isoformat()
    # The first cookie, idle since, has expired by now.
    assert invoke(app, "inspect", value).exit_code == 1


# -- inspect: invalid cookies --------------------------------------------------


def test_inspect_expired(make_app: MakeApp, clock: FakeClock) -> None:
    app = make_app(SCOPES_SESSION_IDLE_TIMEOUT=600)
    value = cookie_value(app)
    clock.advance(600)
    assert invoke(app, "inspect", value).exit_code == 0
    clock.advance(1)
    result = invoke(app, "inspect", value)
    assert result.exit_code == 1
    assert "Invalid session cookie: idle for longer than" in result.stderr
    assert "SCOPES_SESSION_IDLE_TIMEOUT" in result.stderr
    # The signature was good, so it still shows what the cookie held.
    assert '"user": "ann"' in result.stdout
    data = report(invoke(app, "inspect", "--json", value))
    assert data["valid"] is False
    assert "idle" in data["reason"]
    assert data["data"]["user"] == "ann"


def tampered(value: str) -> list[str]:
    header, body, signature = value.split(".")
    flipped = "A" if body[5] != "A" else "B"
    return [
        f"{header}.{body[:5]}{flipped}{body[6:]}.{signature}",
        f"{header}.{body}.{signature[:-1]}",
        f"{header}.{body}x.{signature}",
        f"{header}.{body}",
        f"1z.{body}.{signature}",
    ]


@pytest.mark.parametrize("case", range(5))
def test_inspect_tampered(app: Flask, case: int) -> None:
    value = tampered(cookie_value(app))[case]
    result = invoke(app, "inspect", value)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "signature" in result.stderr
    data = report(invoke(app, "inspect", "--json", value))
    assert data == {"valid": False, "reason": data["reason"]}
    assert "signature" in data["reason"]


def test_inspect_unknown_key(make_app: MakeApp) -> None:
    value = cookie_value(make_app(SECRET_KEY="someone else's"))
    result = invoke(make_app(), "inspect", value)
    assert result.exit_code == 1
    assert "bad signature" in result.stderr


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   ",
        "||",
        "garbage",
        "1.2.3",
        "\u00e9t\u00e9.x.y",
        "a" * 5000,
        "x" * 70_000,
        "Cookie: theme=dark; lang=en",
        "session=a; session=b",
        "eyJ1c2VyIjoiYW5uIn0.ZzZzZw.c2lnbmF0dXJl",
    ],
)
def test_inspect_garbage(app: Flask, garbage: str) -> None:
    result = invoke(app, "inspect", garbage)
    assert result.exit_code == 1
    assert result.stderr.startswith("Invalid session cookie: ")
    assert "Traceback" not in result.output
    data = report(invoke(app, "inspect", "--json", garbage))
    assert data["valid"] is False
    assert data["reason"]


def test_inspect_names_the_cookie_it_looked_for(app: Flask) -> None:
    result = invoke(app, "inspect", "Cookie: theme=dark; lang=en")
    assert "no cookie named 'session'" in result.stderr
    assert "'theme', 'lang'" in result.stderr


def test_inspect_without_secret_key(make_app: MakeApp) -> None:
    app = make_app(SECRET_KEY=None)
    result = invoke(app, "inspect", "anything")
    assert result.exit_code == 1
    assert "SECRET_KEY is not set" in result.stderr


def test_inspect_with_broken_config(app: Flask) -> None:
    app.config["SECRET_KEY_FALLBACKS"] = "old"
    result = invoke(app, "inspect", "anything")
    assert result.exit_code == 1
    assert "SECRET_KEY_FALLBACKS: must be a list" in result.stderr


def test_inspect_with_another_interface(app: Flask) -> None:
    app.session_interface = SecureCookieSessionInterface()
    result = invoke(app, "inspect", "anything")
    assert result.exit_code == 1
    assert "does not use flask-scopes" in result.stderr


# -- registration ----------------------------------------------------------------


def test_one_extension_many_apps(clock: FakeClock) -> None:
    scopes = Scopes(clock=clock)
    apps = []
    for key in ("first", "second"):
        app = Flask(key)
        app.secret_key = key
        scopes.init_app(app)
        apps.append(app)
    first, second = apps
    value = cookie_value(first)
    # Each app's commands verify with that app's own keys.
    assert invoke(first, "inspect", value).exit_code == 0
    result = invoke(second, "inspect", value)
    assert result.exit_code == 1
    assert "bad signature" in result.stderr
    assert first.cli.commands["scopes"] is second.cli.commands["scopes"]
