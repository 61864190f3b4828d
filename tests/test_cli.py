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
from cachelib import FileSystemCache
from cachelib import RedisCache
from cachelib import SimpleCache
from click.testing import Result
from flask import Flask
from flask import session
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup

from flask_scopes import Scopes

from .store_modes import add_routes
from .store_modes import store_app as store_app
from .store_modes import store_mode as store_mode

if t.TYPE_CHECKING:
    from .conftest import FakeClock
    from .redis_server import RedisServer

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
    assert "(SCOPES_SESSION_IDLE_TIMEOUT)" in out
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
    # The default idle limit: the permanent lifetime, 31 days.
    later = datetime.fromtimestamp(int(clock.now) + 31 * 86400, utc).isoformat()
    assert data["expires"] == later
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


@pytest.mark.usefixtures("real_clock")
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


# -- inspect: encrypted cookies ---------------------------------------------------


def test_inspect_encrypted_cookie(make_app: MakeApp) -> None:
    app = make_app(SCOPES_SESSION_ENCRYPT=True)
    value = cookie_value(app)
    assert value.startswith("e1.")
    result = invoke(app, "inspect", value)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Valid session cookie.")
    assert "Encrypted:    AES-256-GCM, with the current key (SECRET_KEY)\n" in (
        result.stdout
    )
    assert '"user": "ann"' in result.stdout
    data = report(invoke(app, "inspect", "--json", value))
    assert data["valid"] is True
    assert data["format"] == "encrypted"
    assert data["key"] == "current"
    assert data["reissue"] is False
    assert data["data"]["note"] == {"$markup": "<b>hi</b>"}
    assert data["size"] == len(value)


def test_inspect_encrypted_cookie_under_a_fallback_key(make_app: MakeApp) -> None:
    app = make_app(SCOPES_SESSION_ENCRYPT=True, SECRET_KEY="old")
    value = cookie_value(app)
    app.config.update(SECRET_KEY="new", SECRET_KEY_FALLBACKS=["old"])
    result = invoke(app, "inspect", value)
    assert result.exit_code == 0, result.output
    assert (
        "with the fallback key (SECRET_KEY_FALLBACKS[0]); re-issued under the"
        " current key on its next use"
    ) in result.stdout
    data = report(invoke(app, "inspect", "--json", value))
    assert (data["format"], data["key"], data["reissue"]) == (
        "encrypted",
        "fallback",
        True,
    )
    app.config.update(SECRET_KEY_FALLBACKS=[])
    result = invoke(app, "inspect", value)
    assert result.exit_code == 1
    assert "no key opens it" in result.stderr


@pytest.mark.parametrize("case", ["body", "header", "truncated"])
def test_inspect_tampered_encrypted_cookie(make_app: MakeApp, case: str) -> None:
    app = make_app(SCOPES_SESSION_ENCRYPT=True)
    value = cookie_value(app)
    flipped = "A" if value[20] != "A" else "B"
    changed = {
        "body": f"{value[:20]}{flipped}{value[21:]}",
        "header": "e2." + value[3:],
        "truncated": value[:-4],
    }[case]
    result = invoke(app, "inspect", changed)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Invalid session cookie: ")
    data = report(invoke(app, "inspect", "--json", changed))
    assert data == {"valid": False, "reason": data["reason"]}


def test_inspect_signed_cookie_with_encryption_on(make_app: MakeApp) -> None:
    app = make_app()
    value = cookie_value(app)
    assert value.startswith("1")
    app.config["SCOPES_SESSION_ENCRYPT"] = True
    result = invoke(app, "inspect", value)
    assert result.exit_code == 0, result.output
    assert (
        "Signed with:  current key (SECRET_KEY); re-issued encrypted on its next use"
    ) in result.stdout
    data = report(invoke(app, "inspect", "--json", value))
    assert (data["format"], data["reissue"]) == ("flask-scopes", True)

    app.config["SCOPES_SESSION_ENCRYPT_ACCEPT_SIGNED"] = False
    result = invoke(app, "inspect", value)
    assert result.exit_code == 1
    assert "SCOPES_SESSION_ENCRYPT_ACCEPT_SIGNED is off" in result.stderr


def test_inspect_encrypted_cookie_with_encryption_off(make_app: MakeApp) -> None:
    app = make_app(SCOPES_SESSION_ENCRYPT=True)
    value = cookie_value(app)
    app.config["SCOPES_SESSION_ENCRYPT"] = False
    result = invoke(app, "inspect", value)
    assert result.exit_code == 1
    assert "an encrypted cookie, but SCOPES_SESSION_ENCRYPT is off" in result.stderr


def test_inspect_revoked_cookie_session(make_app: MakeApp) -> None:
    scopes = Scopes()
    app = make_app(scopes, SCOPES_REVOCATION_STORE=SimpleCache(threshold=1_000_000))
    add_routes(app, scopes)
    client = app.test_client()
    client.get("/login/42")
    value = session_cookie(client)
    assert report(invoke(app, "inspect", "--json", value))["valid"]
    scopes.revoke_user("42", app)
    result = invoke(app, "inspect", value)
    assert result.exit_code == 1
    assert "Invalid session cookie: the session's user was revoked" in result.stderr
    assert '"user": "42"' in result.stdout


# -- inspect: server-side sessions -----------------------------------------------


def session_cookie(client: t.Any) -> str:
    """The client's session cookie."""
    found = client.get_cookie("session")
    assert found is not None
    return t.cast(str, found.value)


def logged_in(app: Flask, path: str = "/login/42") -> tuple[t.Any, str]:
    client = app.test_client()
    assert client.get(path).status_code == 200
    return client, session_cookie(client)


@pytest.mark.parametrize("args", [["-abc.def"], ["--", "-abc.def"], ["--json", "-x"]])
def test_inspect_takes_values_that_begin_with_a_dash(
    app: Flask, args: list[str]
) -> None:
    # Session ids are URL-safe base64, so one in 64 begins with "-".
    result = invoke(app, "inspect", *args)
    assert result.exit_code == 1
    assert "No such option" not in result.output
    assert "invalid" in result.output.lower() or '"valid": false' in result.output


def test_inspect_stored_session(store_app: MakeApp, clock: FakeClock) -> None:
    app = store_app(SCOPES_SESSION_STORE_TTL=3600)
    client, value = logged_in(app)
    written = int(clock.now)
    clock.advance(10)
    result = invoke(app, "inspect", value)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Valid session cookie: a session id, for a session kept")
    assert "Signed with:  current key (SECRET_KEY)\n" in out
    store = app.extensions["scopes"].interface(app).runtime(app).store
    assert f"Store:        {store.describe()}\n" in out
    assert f"Last written: {datetime.fromtimestamp(written, utc).isoformat()}" in out
    assert "(SCOPES_SESSION_STORE_TTL)" in out
    data = report(invoke(app, "inspect", "--json", "--", value))
    assert data["valid"] is True
    assert data["reason"] is None
    assert data["format"] == "store"
    assert (data["key"], data["key_name"], data["reissue"]) == (
        "current",
        "SECRET_KEY",
        False,
    )
    assert data["store"] == store.describe()
    assert data["entry"].startswith("scopes:s:")
    assert data["data"] == {"_scopes_user": ["42", None], "user": "42"}
    assert data["permanent"] is False
    assert data["expires"] == datetime.fromtimestamp(written + 3600, utc).isoformat()
    assert data["expires_by"] == "SCOPES_SESSION_STORE_TTL"
    assert data["size"] == len(value)
    assert 0 < data["stored_size"] < data["stored_max_size"] == 1024 * 1024
    assert report(invoke(app, "inspect", "--json", f"session={value}")) == data
    # Looking changes nothing: the session reads the same afterwards.
    assert client.get("/get/user").text == "'42'"


def test_inspect_stored_permanent_session(store_app: MakeApp, clock: FakeClock) -> None:
    app = store_app(PERMANENT_SESSION_LIFETIME=timedelta(days=2))
    _, value = logged_in(app, "/permanent")
    data = report(invoke(app, "inspect", "--json", "--", value))
    assert data["valid"] and data["permanent"]
    expires = datetime.fromtimestamp(int(clock.now) + 2 * 86400, utc)
    assert data["expires"] == expires.isoformat()
    assert data["expires_by"] == "PERMANENT_SESSION_LIFETIME"
    assert data["size"] < data["header_size"] < data["max_size"]


def test_inspect_unknown_session_id(store_app: MakeApp) -> None:
    app = store_app()
    client, value = logged_in(app)
    client.get("/clear")
    result = invoke(app, "inspect", "--", value)
    assert result.exit_code == 1
    assert result.stderr == (
        "Invalid session cookie: unknown or expired session id. Its signature"
        " is valid:\n"
    )
    assert "Signed with:  current key (SECRET_KEY)" in result.stdout
    assert "Entry:        scopes:s:" in result.stdout
    assert "Data:" not in result.stdout
    data = report(invoke(app, "inspect", "--json", "--", value))
    assert data["valid"] is False
    assert data["reason"] == "unknown or expired session id"
    assert data["format"] == "store"
    assert "data" not in data


def test_inspect_expired_stored_session(store_app: MakeApp, clock: FakeClock) -> None:
    app = store_app(SCOPES_SESSION_IDLE_TIMEOUT=600)
    _, value = logged_in(app)
    clock.advance(600)
    assert invoke(app, "inspect", "--", value).exit_code == 0
    clock.advance(1)
    result = invoke(app, "inspect", "--", value)
    assert result.exit_code == 1
    # Redis expires the entry by its own clock; the others by the app's.
    assert "Invalid session cookie: " in result.stderr


def test_inspect_revoked_stored_session(store_app: MakeApp) -> None:
    app = store_app()
    _, value = logged_in(app)
    app.extensions["scopes"].revoke_user("42", app)
    result = invoke(app, "inspect", "--", value)
    assert result.exit_code == 1
    assert "the session's user was revoked" in result.stderr


def test_inspect_forged_session_id(store_app: MakeApp) -> None:
    app = store_app()
    _, value = logged_in(app)
    sid, signature = value[:43], value[-43:]
    other = "A" * 43 if sid != "A" * 43 else "B" * 43
    for forged in (f"{other}.{signature}", value[:-1] + "x", f"{sid}.{'A' * 43}"):
        result = invoke(app, "inspect", "--", forged)
        assert result.exit_code == 1
        assert "bad signature" in result.stderr
        data = report(invoke(app, "inspect", "--json", "--", forged))
        assert data == {"valid": False, "reason": "bad signature"}


def test_inspect_stored_session_under_a_fallback_key(store_app: MakeApp) -> None:
    app = store_app(SECRET_KEY="old")
    _, value = logged_in(app)
    app.config.update(SECRET_KEY="new", SECRET_KEY_FALLBACKS=["old"])
    result = invoke(app, "inspect", "--", value)
    assert result.exit_code == 0, result.output
    assert (
        "fallback key (SECRET_KEY_FALLBACKS[0]); re-issued under the current key"
    ) in result.stdout
    data = report(invoke(app, "inspect", "--json", "--", value))
    assert (data["key"], data["reissue"]) == ("fallback", True)
    assert data["data"]["user"] == "42"


def test_inspect_cookie_session_in_store_mode(
    store_app: MakeApp, make_app: MakeApp
) -> None:
    value = cookie_value(make_app())
    app = store_app()
    result = invoke(app, "inspect", "--", value)
    assert result.exit_code == 0, result.output
    assert "moved into the store (SCOPES_SESSION_STORE) on its next use" in (
        result.stdout
    )
    data = report(invoke(app, "inspect", "--json", "--", value))
    assert (data["format"], data["reissue"]) == ("flask-scopes", True)
    assert data["data"]["user"] == "ann"


def test_inspect_store_outage(tmp_path: t.Any, make_app: MakeApp) -> None:
    path = tmp_path / "sessions"
    app = make_app(SCOPES_SESSION_STORE=FileSystemCache(str(path)))
    add_routes(app, app.extensions["scopes"])
    _, value = logged_in(app, "/set/a/1")
    path.rename(tmp_path / "away")
    path.write_text("not a directory")
    for args in (["inspect", "--", value], ["inspect", "--json", "--", value]):
        result = invoke(app, *args)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert "could not be reached to load the session" in result.stderr
        assert "FileSystemCache" in result.stderr
        assert "Traceback" not in result.output


@pytest.mark.redis
def test_inspect_on_redis(redis_server: RedisServer, make_app: MakeApp) -> None:
    scopes = Scopes()
    client_ = redis_server.client(retry=False)
    app = make_app(
        scopes, SCOPES_SESSION_STORE=RedisCache(client_, key_prefix="myapp:")
    )
    add_routes(app, scopes)
    _, value = logged_in(app)
    data = report(invoke(app, "inspect", "--json", "--", value))
    assert data["valid"] is True
    assert data["data"]["user"] == "42"
    # The entry named is the key Redis holds.
    assert client_.keys("*") == [data["entry"].encode()]
    assert data["entry"].startswith("myapp:scopes:s:")
    assert f"127.0.0.1:{redis_server.port}" in data["store"]
    redis_server.stop()
    result = invoke(app, "inspect", "--", value)
    assert result.exit_code == 1
    assert "could not be reached to load the session" in result.stderr
    assert "Traceback" not in result.output


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


def test_inspect_escapes_control_characters(app: Flask) -> None:
    @app.post("/hostile")
    def hostile() -> str:
        session["note"] = "\x1b[2J\x1b]0;owned\x07\r\u202egnp.exe\u2028\x85"
        session["\x1b[31mkey"] = 1
        return "ok"

    value = cookie_value(app, "/hostile")
    for args in (("inspect", value), ("inspect", "--json", value)):
        out = invoke(app, *args).stdout
        for char in ("\x1b", "\x07", "\r", "\u202e", "\u2028", "\x85"):
            assert char not in out
        assert "\\u001b[2J" in out
        assert "\\u202e" in out
    data = report(invoke(app, "inspect", "--json", value))
    assert data["data"]["note"].startswith("\x1b[2J")


def test_inspect_tells_a_cookie_the_store_would_not_take_over(
    store_app: t.Callable[..., Flask], make_app: MakeApp
) -> None:
    cookie_app = make_app()
    value = cookie_value(cookie_app)
    app = store_app()
    before = report(invoke(app, "inspect", "--json", value))
    assert before["valid"] is True
    client = app.test_client()
    client.set_cookie("session", value)
    client.get("/get/user")  # migrated now
    after = report(invoke(app, "inspect", "--json", value))
    assert after["valid"] is False
    assert after["reason"] == "this cookie was already migrated to the store"
    off = store_app(SCOPES_SESSION_MIGRATE_COOKIES=False)
    refused = report(invoke(off, "inspect", "--json", value))
    assert refused["reason"] == "SCOPES_SESSION_MIGRATE_COOKIES is off"


# -- inspect: flash cookies and what was pasted -------------------------------


def flash_value(app: Flask) -> str:
    from flask_scopes import flash

    @app.post("/flash")
    def flash_view() -> str:
        flash.error("Wrong password.")
        flash.keep_form({"username": "ann"}, only=["username"])
        flash.field_error("password", "Required.")
        return "ok"

    response = app.test_client().post("/flash")
    header = next(
        value
        for value in response.headers.getlist("Set-Cookie")
        if value.startswith("flash=")
    )
    return header.split(";", 1)[0].split("=", 1)[1]


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize(
    "template", ["{value}", "flash={value}", "Cookie: a=b; flash={value}"]
)
def test_inspect_shows_a_flash_cookie(
    make_app: MakeApp, signed: bool, template: str
) -> None:
    app = make_app(SCOPES_FLASH_SIGNED=signed)
    value = flash_value(app)
    result = invoke(app, "inspect", template.format(value=value))
    assert result.exit_code == 0, result.output
    assert "A flash cookie (flash)" in result.stdout
    assert "error: Wrong password." in result.stdout
    assert 'form username: ["ann"]' in result.stdout
    assert 'errors password: ["Required."]' in result.stdout
    assert "signature" not in result.output
    data = report(invoke(app, "inspect", "--json", value))
    assert data["format"] == "flash"
    assert data["signed"] is signed
    assert data["batches"][0]["messages"] == [["error", "Wrong password."]]
    assert data["batches"][0]["stale"] is False


def test_inspect_a_flash_cookie_the_app_would_ignore(app: Flask) -> None:
    result = invoke(app, "inspect", "flash=1.bm90IGpzb24")
    assert result.exit_code == 1
    assert "a flash cookie that the app would ignore" in result.stderr


@pytest.mark.parametrize(
    ("pasted", "found"),
    [
        ("Cookie: foo=bar", "'foo'"),
        ("Cookie: foo=bar; x=y", "'foo', 'x'"),
        ("foo=bar", "'foo'"),
    ],
)
def test_inspect_other_cookies_one_or_several_alike(
    app: Flask, pasted: str, found: str
) -> None:
    result = invoke(app, "inspect", pasted)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Invalid session cookie: no cookie named 'session' or 'flash' in the"
        f" input (found {found})."
    )


def test_inspect_picks_the_session_among_other_cookies(app: Flask) -> None:
    value = cookie_value(app)
    result = invoke(app, "inspect", "--json", f"Cookie: a=b; other={value}; c=d")
    assert report(result)["data"]["user"] == "ann"


@pytest.mark.parametrize("garbage", ["garbage", "a.b", "x" * 100, "é", "a.b.c.d"])
def test_inspect_gives_one_plain_reason_for_garbage(app: Flask, garbage: str) -> None:
    result = invoke(app, "inspect", garbage)
    assert result.exit_code == 1
    assert result.stderr == (
        "Invalid session cookie: not a cookie that flask-scopes or Flask's"
        " session wrote.\n"
    )


def test_inspect_says_why_another_key_fails(make_app: MakeApp) -> None:
    value = cookie_value(make_app(SECRET_KEY="a key of another process"))
    result = invoke(make_app(), "inspect", value)
    assert "bad signature" in result.stderr
    assert "no cookie from another process can verify" in result.stderr


def test_inspect_without_a_key_names_other_processes(make_app: MakeApp) -> None:
    result = invoke(make_app(SECRET_KEY=None), "inspect", "anything")
    assert "no cookie from another process can verify" in result.stderr
    assert "FLASK_SECRET_KEY" in result.stderr


# -- secret without an app -----------------------------------------------------


def run_python(
    *args: str, cwd: t.Any = None, env: dict[str, str] | None = None
) -> t.Any:
    import os
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def test_python_m_flask_scopes_secret_needs_no_app() -> None:
    result = run_python("-m", "flask_scopes", "secret", "--bytes", "32")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 43
    assert "FLASK_SECRET_KEY" in result.stderr
    assert "from_prefixed_env()" in result.stderr


def test_flask_scopes_secret_with_an_app_that_cannot_load(tmp_path: t.Any) -> None:
    (tmp_path / "needs_key.py").write_text(
        "import os\nfrom flask import Flask\n"
        "app = Flask(__name__)\napp.secret_key = os.environ['NO_SUCH_KEY']\n"
    )
    result = run_python(
        "-m", "flask", "--app", "needs_key", "scopes", "secret", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 64


@pytest.mark.parametrize("store", [False, True])
def test_inspect_shows_values_of_registered_tags(
    make_app: MakeApp, store: bool
) -> None:
    from .test_tags import Money
    from .test_tags import TagMoney

    config = {"SCOPES_SESSION_STORE": SimpleCache(threshold=1_000_000)} if store else {}
    app = make_app(**config)
    app.session_interface.serializer.register(TagMoney)  # type: ignore[attr-defined]

    @app.post("/money")
    def money() -> str:
        session["price"] = Money(5, "EUR")
        return "ok"

    value = cookie_value(app, "/money")
    result = invoke(app, "inspect", "--json", value)
    assert result.exit_code == 0, result.output
    data = report(result)
    assert data["valid"] is True
    assert list(data["data"]["price"]) == ["$Money"]
