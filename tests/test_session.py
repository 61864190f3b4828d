"""The cookie session as an app meets it: through ``flask.session`` and the
test client."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import typing as t
import zlib
from datetime import timedelta
from datetime import timezone

import pytest
from flask import Flask
from flask import session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import TimestampSigner
from itsdangerous import URLSafeTimedSerializer

from flask_scopes import Scopes
from flask_scopes import SessionTooLarge
from flask_scopes import SessionValueError
from flask_scopes.codecs.encoding import b64encode
from flask_scopes.codecs.signing import KeyRing
from flask_scopes.codecs.signing import SESSION_SALT

from .conftest import FakeClock
from .conftest import SECRET
from .helpers import attributes
from .helpers import cookie_value
from .helpers import set_cookies
from .helpers import vary


def add_routes(app: Flask) -> Flask:
    @app.get("/nothing")
    def nothing() -> str:
        return "ok"

    @app.get("/get/<key>")
    def get(key: str) -> str:
        return repr(session.get(key))

    @app.get("/set/<key>/<value>")
    def set_(key: str, value: str) -> str:
        session[key] = value
        return "ok"

    @app.get("/incr")
    def incr() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    @app.get("/len")
    def length() -> str:
        return str(len(session))

    @app.get("/contains")
    def contains() -> str:
        return str("x" in session)

    @app.get("/clear")
    def clear() -> str:
        session.clear()
        return "ok"

    @app.get("/permanent")
    def permanent() -> str:
        session.permanent = True
        session["p"] = 1
        return "ok"

    return app


@pytest.fixture
def make_client(make_app: t.Callable[..., Flask]) -> t.Callable[..., t.Any]:
    def factory(**config: t.Any) -> t.Any:
        return add_routes(make_app(**config)).test_client()

    return factory


@pytest.fixture
def client(make_client: t.Callable[..., t.Any]) -> t.Any:
    return make_client()


@pytest.fixture
def raw_client(client: t.Any) -> t.Any:
    """A client of the same app that sends only the headers it is given."""
    return client.application.test_client(use_cookies=False)


def signed(body: t.Any, header: str = "1", key: str = SECRET) -> str:
    """A cookie value in the session format, signed with ``key``."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    return KeyRing(key.encode(), (), SESSION_SALT).sign(f"{header}.{b64encode(raw)}")


NOW = int(FakeClock().now)

# -- round trips ---------------------------------------------------------------


def test_values_persist_across_requests(client: t.Any) -> None:
    client.get("/set/name/alice")
    assert client.get("/get/name").text == "'alice'"
    assert client.get("/incr").text == "1"
    assert client.get("/incr").text == "2"
    assert client.get("/get/name").text == "'alice'"


def test_cookie_is_readable_but_signed(client: t.Any) -> None:
    response = client.get("/set/name/alice")
    value = cookie_value(response)
    header, body, _ = value.split(".")
    assert header == "1"
    decoded = json.loads(base64.urlsafe_b64decode(body + "=="))
    assert decoded == [NOW, NOW, {"name": "alice"}]


@pytest.mark.parametrize(
    "value",
    [
        "text",
        "",
        "snow \u2603 and \U0001f600",
        0,
        -(2**70),
        1.5,
        float("inf"),
        True,
        False,
        None,
        [1, "a", [None]],
        {"nested": {"deep": [1, {"x": (1, 2)}]}},
        (1, "a", (2,)),
        b"\x00\xffbytes",
        {" t": "looks like a tag"},
    ],
    ids=repr,
)
def test_value_types_round_trip(app: Flask, value: t.Any) -> None:
    @app.get("/store")
    def store() -> str:
        session["v"] = value
        return "ok"

    @app.get("/load")
    def load() -> str:
        loaded = session["v"]
        assert type(loaded) is type(value)
        assert loaded == value
        return "ok"

    client = app.test_client()
    client.get("/store")
    assert client.get("/load").status_code == 200


def test_special_types_round_trip_exactly(app: Flask) -> None:
    import uuid
    from datetime import datetime

    from markupsafe import Markup

    values = {
        "aware": datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc),
        "naive": datetime(2026, 5, 6, 7, 8, 9, 654321),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "markup": Markup("<b>bold</b>"),
    }

    @app.get("/store")
    def store() -> str:
        session.update(values)
        return "ok"

    @app.get("/load")
    def load() -> str:
        for key, value in values.items():
            assert type(session[key]) is type(value), key
            assert session[key] == value, key
        assert session["aware"].tzinfo is not None
        assert session["naive"].tzinfo is None
        return "ok"

    client = app.test_client()
    client.get("/store")
    assert client.get("/load").status_code == 200


class Unstorable:
    pass


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (Unstorable(), "session['bad']"),
        ({"inner": [1, Unstorable()]}, "session['bad']['inner'][1]"),
        ({(1, 2): "tuple key"}, "session['bad'] key (1, 2)"),
        ({1, 2}, "session['bad']"),
    ],
)
def test_unstorable_value_names_its_key(app: Flask, value: t.Any, path: str) -> None:
    @app.get("/store")
    def store() -> str:
        session["good"] = 1
        session["bad"] = value
        return "ok"

    client = app.test_client()
    with pytest.raises(SessionValueError) as info:
        client.get("/store")
    assert info.value.path == path
    assert path in str(info.value)
    assert not client.get_cookie("session")


def test_self_referencing_value_is_refused(app: Flask) -> None:
    loop: list[t.Any] = []
    loop.append(loop)

    @app.get("/store")
    def store() -> str:
        session["loop"] = loop
        return "ok"

    with pytest.raises(SessionValueError):
        app.test_client().get("/store")


# -- laziness, access and Vary ---------------------------------------------------


def test_untouched_session_is_never_decoded(
    client: t.Any, caplog: pytest.LogCaptureFixture
) -> None:
    client.set_cookie("session", "garbage")
    with caplog.at_level(logging.DEBUG, logger="flask_scopes"):
        response = client.get("/nothing")
    assert not caplog.records
    assert "Cookie" not in vary(response)
    assert not set_cookies(response, "session")


@pytest.mark.parametrize("path", ["/get/x", "/len", "/contains", "/set/a/b"])
def test_vary_cookie_exactly_once_when_accessed(client: t.Any, path: str) -> None:
    client.get("/set/x/1")
    response = client.get(path)
    assert vary(response).count("Cookie") == 1


def test_vary_kept_with_other_values(app: Flask) -> None:
    @app.get("/")
    def index() -> t.Any:
        session.get("x")
        return "ok", 200, {"Vary": "Accept-Encoding"}

    response = app.test_client().get("/")
    assert vary(response) == ["Accept-Encoding", "Cookie"]


def test_read_only_request_sets_no_cookie(client: t.Any) -> None:
    client.get("/set/x/1")
    response = client.get("/get/x")
    assert not set_cookies(response, "session")


def test_empty_session_sets_no_cookie(client: t.Any) -> None:
    response = client.get("/get/x")
    assert not set_cookies(response, "session")
    assert client.get_cookie("session") is None


def test_pop_missing_key_is_not_a_write(app: Flask) -> None:
    @app.get("/pop")
    def pop() -> str:
        return repr(session.pop("missing", None))

    client = add_routes(app).test_client()
    client.get("/set/x/1")
    assert not set_cookies(client.get("/pop"), "session")


def test_setting_permanent_to_the_same_value_is_not_a_write(app: Flask) -> None:
    @app.get("/same")
    def same() -> str:
        session.permanent = False
        return "ok"

    client = add_routes(app).test_client()
    client.get("/set/x/1")
    assert not set_cookies(client.get("/same"), "session")


def test_nested_change_needs_modified(app: Flask) -> None:
    @app.get("/append/<flag>")
    def append(flag: str) -> str:
        session.setdefault("items", [])
        session["items"].append(1)
        if flag == "yes":
            session.modified = True
        return "ok"

    client = app.test_client()
    client.get("/append/yes")
    client.get("/append/yes")
    client.get("/append/no")
    with client.session_transaction() as sess:
        assert sess["items"] == [1, 1]


# -- clearing ------------------------------------------------------------------


def test_clear_deletes_cookie_with_the_same_attributes(make_client: t.Any) -> None:
    client = make_client(
        SESSION_COOKIE_DOMAIN="example.test",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PARTITIONED=True,
    )
    set_header = set_cookies(
        client.get("/set/x/1", base_url="https://example.test"), "session"
    )[0]
    response = client.get("/clear", base_url="https://example.test")
    deleted = set_cookies(response, "session")[0]
    set_attrs, del_attrs = attributes(set_header), attributes(deleted)
    assert del_attrs.pop("max-age") == "0"
    assert "1970" in del_attrs.pop("expires")
    assert del_attrs == set_attrs
    assert set_attrs == {
        "domain": "example.test",
        "secure": "",
        "httponly": "",
        "path": "/",
        "samesite": "Strict",
        "partitioned": "",
    }
    assert client.get("/get/x", base_url="https://example.test").text == "None"


def test_clear_then_write_starts_a_new_session(app: Flask, clock: FakeClock) -> None:
    @app.get("/relogin")
    def relogin() -> str:
        session.clear()
        session["user"] = "bob"
        return "ok"

    client = add_routes(app).test_client()
    client.get("/set/user/alice")
    clock.advance(100)
    value = cookie_value(client.get("/relogin"))
    body = json.loads(base64.urlsafe_b64decode(value.split(".")[1] + "=="))
    assert body == [NOW + 100, NOW + 100, {"user": "bob"}]


# -- cookie attributes and lifetime ----------------------------------------------


def test_default_attributes(client: t.Any) -> None:
    header = set_cookies(client.get("/set/x/1"), "session")[0]
    assert attributes(header) == {"httponly": "", "path": "/", "samesite": "Lax"}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"SESSION_COOKIE_SAMESITE": "Strict"}, {"samesite": "Strict"}),
        ({"SESSION_COOKIE_SAMESITE": False}, {}),
        ({"SESSION_COOKIE_HTTPONLY": False}, {"httponly": None}),
        ({"APPLICATION_ROOT": "/root"}, {"path": "/root"}),
        ({"SESSION_COOKIE_PATH": "/p", "APPLICATION_ROOT": "/r"}, {"path": "/p"}),
        ({"SESSION_COOKIE_SECURE": True}, {"secure": ""}),
        ({"SESSION_COOKIE_DOMAIN": "example.test"}, {"domain": "example.test"}),
    ],
)
def test_flask_cookie_keys_are_honoured(
    make_client: t.Any, config: dict[str, t.Any], expected: dict[str, t.Any]
) -> None:
    client = make_client(**config)
    header = set_cookies(client.get("/set/x/1"), "session")[0]
    attrs = attributes(header)
    for key, value in expected.items():
        assert attrs.get(key) == value
    if config.get("SESSION_COOKIE_SAMESITE") is False:
        assert "samesite" not in attrs


def test_cookie_name_is_honoured(make_client: t.Any) -> None:
    client = make_client(SESSION_COOKIE_NAME="sid")
    response = client.get("/set/x/1")
    assert set_cookies(response, "sid") and not set_cookies(response, "session")
    assert client.get("/get/x").text == "'1'"


def test_browser_lifetime_cookie_by_default(client: t.Any) -> None:
    attrs = attributes(set_cookies(client.get("/set/x/1"), "session")[0])
    assert "expires" not in attrs and "max-age" not in attrs


def test_permanent_cookie_has_the_lifetime(
    make_client: t.Any, clock: FakeClock
) -> None:
    client = make_client(PERMANENT_SESSION_LIFETIME=timedelta(hours=2))
    attrs = attributes(set_cookies(client.get("/permanent"), "session")[0])
    assert attrs["max-age"] == "7200"
    assert attrs["expires"].endswith("GMT")


def test_permanent_session_refreshes_each_request(make_client: t.Any) -> None:
    client = make_client()
    client.get("/permanent")
    assert set_cookies(client.get("/get/p"), "session")
    client = make_client(SESSION_REFRESH_EACH_REQUEST=False)
    client.get("/permanent")
    assert not set_cookies(client.get("/get/p"), "session")


def test_read_only_session_lives_while_used(client: t.Any, clock: FakeClock) -> None:
    client.get("/set/x/1")
    for _ in range(40):
        clock.advance(timedelta(days=10).total_seconds())
        assert client.get("/get/x").text == "'1'"


def test_unused_session_dies_after_the_lifetime_by_default(
    make_client: t.Any, clock: FakeClock
) -> None:
    client = make_client()
    client.get("/set/x/1")
    clock.advance(31 * 86400)
    assert client.get("/get/x").text == "'1'"  # exactly at the limit
    clock.advance(31 * 86400 + 1)
    ended = client.get("/get/x")
    assert ended.text == "None"
    assert ended.headers["Set-Cookie"].startswith("session=;")


def test_idle_limit_set_to_none_is_no_server_limit(
    make_client: t.Any, clock: FakeClock
) -> None:
    client = make_client(SCOPES_SESSION_IDLE_TIMEOUT=None)
    client.get("/set/x/1")
    clock.advance(timedelta(days=400).total_seconds())
    assert client.get("/get/x").text == "'1'"


def test_permanent_cookie_replayed_after_expiry_is_refused(
    make_client: t.Any, clock: FakeClock
) -> None:
    client = make_client(PERMANENT_SESSION_LIFETIME=3600)
    client.get("/permanent")
    clock.advance(3600)
    assert client.get("/get/p").text == "1"
    # The refresh above re-issued it; a copy kept from before is replayed.
    stale = cookie_value(client.get("/permanent"))
    clock.advance(3601)
    client.set_cookie("session", stale)
    assert client.get("/get/p").text == "None"


# -- timeouts ----------------------------------------------------------------------


def test_idle_timeout(make_client: t.Any, clock: FakeClock) -> None:
    client = make_client(SCOPES_SESSION_IDLE_TIMEOUT=600)
    client.get("/set/x/1")
    clock.advance(600)
    assert client.get("/get/x").text == "'1'"  # exactly at the limit
    clock.advance(601)
    response = client.get("/get/x")
    assert response.text == "None"
    assert "1970" in attributes(set_cookies(response, "session")[0])["expires"]


def test_idle_timeout_refreshed_by_activity_in_slices(
    make_client: t.Any, clock: FakeClock
) -> None:
    client = make_client(SCOPES_SESSION_IDLE_TIMEOUT=timedelta(minutes=10))
    client.get("/set/x/1")
    clock.advance(30)  # under a tenth of the window: no re-issue
    assert not set_cookies(client.get("/get/x"), "session")
    clock.advance(30)  # a tenth has passed: re-issued once
    assert set_cookies(client.get("/get/x"), "session")
    assert not set_cookies(client.get("/get/x"), "session")
    for _ in range(20):  # active for 20 minutes, reading every minute
        clock.advance(60)
        assert client.get("/get/x").text == "'1'"


def test_absolute_timeout_ends_an_active_session(
    make_client: t.Any, clock: FakeClock
) -> None:
    client = make_client(SCOPES_SESSION_ABSOLUTE_TIMEOUT=3600)
    client.get("/set/x/1")
    for _ in range(60):
        clock.advance(60)
        assert client.get("/incr").status_code == 200
    assert client.get("/get/x").text == "'1'"  # exactly an hour old
    clock.advance(1)
    assert client.get("/get/x").text == "None"


def test_permanent_cookie_expires_with_the_absolute_timeout(
    make_client: t.Any,
) -> None:
    client = make_client(
        SCOPES_SESSION_ABSOLUTE_TIMEOUT=600, PERMANENT_SESSION_LIFETIME=3600
    )
    attrs = attributes(set_cookies(client.get("/permanent"), "session")[0])
    assert attrs["max-age"] == "600"


@pytest.mark.parametrize(
    ("created", "touched", "ok"),
    [
        (NOW, NOW + 60, True),  # within the allowed clock skew
        (NOW, NOW + 61, False),  # further in the future
        (NOW + 10, NOW, False),  # created after last write
        (-1, NOW, False),
        (NOW, 10**30, False),
        (0, 0, False),  # older than the default idle limit
        (NOW - 31 * 86400, NOW - 31 * 86400, True),  # exactly at it
        (NOW - 31 * 86400 - 1, NOW - 31 * 86400 - 1, False),
    ],
)
def test_timestamps_are_checked(
    client: t.Any, created: int, touched: int, ok: bool
) -> None:
    client.set_cookie("session", signed([created, touched, {"x": "1"}]))
    assert client.get("/get/x").text == ("'1'" if ok else "None")


def test_regenerate_restarts_the_absolute_timeout(
    make_app: t.Callable[..., Flask], clock: FakeClock
) -> None:
    app = make_app(SCOPES_SESSION_ABSOLUTE_TIMEOUT=100)

    @app.get("/login")
    def login() -> str:
        session.regenerate()
        session["user"] = "alice"
        return "ok"

    client = add_routes(app).test_client()
    client.get("/set/x/1")
    clock.advance(90)
    client.get("/login")
    clock.advance(90)
    assert client.get("/get/user").text == "'alice'"


# -- keys --------------------------------------------------------------------------


def test_fallback_key_is_accepted_and_reissued(
    make_app: t.Callable[..., Flask],
) -> None:
    old = add_routes(make_app(SECRET_KEY="old-key"))
    value = cookie_value(old.test_client().get("/set/x/1"))
    new = add_routes(make_app(SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"]))
    client = new.test_client()
    client.set_cookie("session", value)
    response = client.get("/get/x")
    assert response.text == "'1'"
    reissued = cookie_value(response)
    assert reissued != value
    only_new = add_routes(make_app(SECRET_KEY="new-key")).test_client()
    only_new.set_cookie("session", reissued)
    assert only_new.get("/get/x").text == "'1'"
    only_new.set_cookie("session", value)
    assert only_new.get("/get/x").text == "None"


def test_current_key_signs_whatever_the_fallbacks(
    make_app: t.Callable[..., Flask],
) -> None:
    app = add_routes(make_app(SECRET_KEY="current", SECRET_KEY_FALLBACKS=["a", "b"]))
    value = cookie_value(app.test_client().get("/set/x/1"))
    check = add_routes(make_app(SECRET_KEY="current")).test_client()
    check.set_cookie("session", value)
    assert check.get("/get/x").text == "'1'"


def test_secret_key_set_after_init_app(clock: FakeClock) -> None:
    app = add_routes(Flask(__name__))
    Scopes(app, clock=clock)
    app.secret_key = "late"
    client = app.test_client()
    client.get("/set/x/1")
    assert client.get("/get/x").text == "'1'"
    app.secret_key = "changed"
    assert client.get("/get/x").text == "None"


def test_no_secret_key_reads_empty_and_refuses_writes(clock: FakeClock) -> None:
    app = add_routes(Flask(__name__))
    app.testing = True
    Scopes(app, clock=clock)
    client = app.test_client()
    assert client.get("/get/x").text == "None"
    assert client.get("/len").text == "0"
    with pytest.raises(RuntimeError, match="no secret key was set"):
        client.get("/set/x/1")


# -- migration from Flask's own session ------------------------------------------------


@pytest.mark.usefixtures("real_clock")
def test_flask_cookie_is_accepted_and_reissued(
    make_app: t.Callable[..., Flask],
) -> None:
    import uuid

    flask_app = Flask(__name__)
    flask_app.secret_key = SECRET
    payload = {"user": "alice", "pair": (1, 2), "id": uuid.UUID(int=5)}

    @flask_app.get("/login")
    def login() -> str:
        session.update(payload)
        session["big"] = "x" * 2000  # Flask compresses this one
        return "ok"

    flask_value = cookie_value(flask_app.test_client().get("/login"))
    assert flask_value.startswith(".")  # the compressed form

    @(app := add_routes(make_app())).get("/all")
    def everything() -> str:
        assert {k: session[k] for k in payload} == payload
        return "ok"

    client = app.test_client()
    client.set_cookie("session", flask_value)
    response = client.get("/all")
    assert response.status_code == 200
    new_value = cookie_value(response)
    assert new_value.split(".")[0] in {"1t", "1tz"}
    assert client.get("/get/user").text == "'alice'"


@pytest.mark.usefixtures("real_clock")
def test_flask_cookie_signed_with_a_fallback_is_accepted(
    make_app: t.Callable[..., Flask],
) -> None:
    serializer = SecureCookieSessionInterface().get_signing_serializer(
        _flask_app("old")
    )
    assert serializer is not None
    value = serializer.dumps({"x": "1"})
    client = add_routes(
        make_app(SECRET_KEY="new", SECRET_KEY_FALLBACKS=["old"])
    ).test_client()
    client.set_cookie("session", value)
    assert client.get("/get/x").text == "'1'"


def test_flask_cookies_can_be_refused(make_app: t.Callable[..., Flask]) -> None:
    serializer = SecureCookieSessionInterface().get_signing_serializer(
        _flask_app(SECRET)
    )
    assert serializer is not None
    client = add_routes(
        make_app(SCOPES_SESSION_ACCEPT_FLASK_COOKIES=False)
    ).test_client()
    client.set_cookie("session", serializer.dumps({"x": "1"}))
    assert client.get("/get/x").text == "None"


def _flask_app(key: str) -> Flask:
    app = Flask(__name__)
    app.secret_key = key
    return app


# -- hostile and broken cookies -----------------------------------------------------


def _valid() -> str:
    return signed([NOW, NOW, {"x": "1"}])


def _flip(value: str, index: int) -> str:
    char = value[index]
    return value[:index] + ("A" if char != "A" else "B") + value[index + 1 :]


def _zlib_bomb() -> str:
    raw = zlib.compress(b'[0,0,{"x":"' + b"a" * 10_000_000 + b'"}]', 9)
    return KeyRing(SECRET.encode(), (), SESSION_SALT).sign(f"1z.{b64encode(raw)}")


def _other_salt() -> str:
    raw = json.dumps([NOW, NOW, {"x": "1"}]).encode()
    ring = KeyRing(SECRET.encode(), (), b"flask-scopes.flash")
    return ring.sign(f"1.{b64encode(raw)}")


def _raw_signed(header: str, raw: bytes) -> str:
    return KeyRing(SECRET.encode(), (), SESSION_SALT).sign(f"{header}.{b64encode(raw)}")


def _flask_serializer(salt: str = "cookie-session") -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        SECRET,
        salt=salt,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )


HOSTILE = {
    "empty": "",
    "whitespace": "   ",
    "bars": "||",
    "dots": "..",
    "no separator": _valid().replace(".", ""),
    "flipped header": _flip(_valid(), 0),
    "flipped body": _flip(_valid(), 5),
    "flipped signature": _flip(_valid(), -3),
    "truncated signature": _valid()[:-5],
    "signature removed": _valid().rpartition(".")[0],
    "character added": _valid() + "A",
    "character removed": _valid()[1:],
    "random base64": base64.urlsafe_b64encode(bytes(range(48))).decode(),
    "random std base64": base64.b64encode(bytes(range(200, 248))).decode(),
    "bad base64": "1.!!!***.abc",
    "non ascii": "1.\u00e9\u00e9.\u00e9",
    "signed bad json": _raw_signed("1", b"{not json"),
    "signed wrong shape": _raw_signed("1", b'{"x": 1}'),
    "signed wrong types": _raw_signed("1", b'["a", "b", {}]'),
    "signed list data": _raw_signed("1", b"[0, 0, [1]]"),
    "signed bad zlib": _raw_signed("1z", b"not zlib at all"),
    "signed bad tag": _raw_signed("1t", b'[0, 0, {"u": {" u": "zz"}}]'),
    "signed bad utf8": _raw_signed("1", b'[0, 0, {"x": "\xff"}]'),
    "signed huge int": _raw_signed("1", b"[" + b"9" * 5000 + b", 0, {}]"),
    "signed deep nesting": _raw_signed("1", b'[0, 0, {"x": ' + b"[" * 2500 + b"]"),
    "zlib bomb": _zlib_bomb(),
    "other purpose": _other_salt(),
    "unknown version": KeyRing(SECRET.encode(), (), SESSION_SALT).sign("9.e30"),
    "oversized": "1." + "A" * 100_000 + ".sig",
    "flask wrong salt": _flask_serializer("other-salt").dumps({"x": "1"}),
    "flask bad payload": TimestampSigner(
        SECRET, salt="cookie-session", key_derivation="hmac", digest_method=hashlib.sha1
    )
    .sign(b"!!notbase64")
    .decode(),
}


@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_cookie_gives_an_empty_session(
    client: t.Any, raw_client: t.Any, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="flask_scopes"):
        response = raw_client.get("/get/x", headers={"Cookie": f"session={value}"})
    assert response.status_code == 200
    assert response.text == "None"
    if value:
        assert any(r.levelno <= logging.INFO for r in caplog.records)
    # The session works again afterwards.
    client.get("/set/x/2")
    assert client.get("/get/x").text == "'2'"


def test_unverifiable_cookie_is_left_alone_until_a_write(client: t.Any) -> None:
    # It may be valid under keys another server of a rolling deploy has.
    client.set_cookie("session", HOSTILE["flipped signature"])
    assert not set_cookies(client.get("/get/x"), "session")
    assert client.get_cookie("session").value == HOSTILE["flipped signature"]
    client.get("/set/x/1")
    assert client.get("/get/x").text == "'1'"
    # An explicit clear deletes whatever cookie came in.
    client.set_cookie("session", HOSTILE["flipped signature"])
    deleted = set_cookies(client.get("/clear"), "session")[0]
    assert "Max-Age=0" in deleted


def test_cookie_of_a_removed_key_comes_back_with_the_key(
    make_client: t.Any,
) -> None:
    # A deploy with a wrong key must not log everybody out for good.
    client = make_client(SECRET_KEY="right")
    client.get("/set/x/1")
    client.application.config["SECRET_KEY"] = "wrong"
    assert client.get("/get/x").text == "None"
    client.application.config["SECRET_KEY"] = "right"
    assert client.get("/get/x").text == "'1'"


@pytest.mark.usefixtures("real_clock")
def test_expired_flask_cookie_is_refused(make_client: t.Any, clock: FakeClock) -> None:
    client = make_client(PERMANENT_SESSION_LIFETIME=60)
    client.set_cookie("session", _flask_serializer().dumps({"x": "1"}))
    # itsdangerous reads the real clock for Flask's format: this cookie was
    # just signed, so it passes; a max_age of 60 rejects older ones.
    assert client.get("/get/x").text == "'1'"


def test_valid_cookie_is_read(client: t.Any) -> None:
    client.set_cookie("session", _valid())
    assert client.get("/get/x").text == "'1'"


def test_several_different_cookies_of_the_name_give_an_empty_session(
    raw_client: t.Any,
) -> None:
    other = signed([NOW, NOW, {"x": "attacker"}])
    response = raw_client.get(
        "/get/x", headers={"Cookie": f"session={_valid()}; session={other}"}
    )
    assert response.text == "None"
    same = raw_client.get(
        "/get/x", headers={"Cookie": f"session={_valid()}; session={_valid()}"}
    )
    assert same.text == "'1'"


# -- size ----------------------------------------------------------------------------


def test_session_too_large_sets_no_cookie_and_keeps_the_old_one(
    make_app: t.Callable[..., Flask],
) -> None:
    app = add_routes(make_app())

    @app.get("/big")
    def big() -> str:
        session["blob"] = secrets.token_urlsafe(4000)
        session["small"] = "y"
        return "ok"

    client = app.test_client()
    client.get("/set/x/1")
    before = client.get_cookie("session")
    assert before is not None
    with pytest.raises(SessionTooLarge) as info:
        client.get("/big")
    error = info.value
    assert error.size > error.limit == 4093
    assert error.largest[0][0] == "blob"
    assert "4093" in str(error) and "'blob'" in str(error)
    after = client.get_cookie("session")
    assert after is not None and after.value == before.value
    assert client.get("/get/x").text == "'1'"


def test_oversized_session_outside_testing_is_a_500_without_cookie(
    make_app: t.Callable[..., Flask],
) -> None:
    app = add_routes(make_app(TESTING=False))

    @app.get("/big")
    def big() -> str:
        session["blob"] = secrets.token_urlsafe(4000)
        return "ok"

    response = app.test_client().get("/big")
    assert response.status_code == 500
    assert not set_cookies(response, "session")


def test_size_limit_counts_the_attributes(make_app: t.Callable[..., Flask]) -> None:
    app = add_routes(make_app())
    value = "x" * 2000

    @app.get("/fill")
    def fill() -> str:
        session["v"] = value
        return "ok"

    header = set_cookies(app.test_client().get("/fill"), "session")[0]
    long_domain = add_routes(
        make_app(
            SCOPES_MAX_COOKIE_SIZE=len(header) + 10,
            SESSION_COOKIE_DOMAIN="a-rather-long-domain-name.example.test",
        )
    )
    long_domain.add_url_rule("/fill", view_func=fill)
    with pytest.raises(SessionTooLarge):
        long_domain.test_client().get("/fill")


def test_compression_fits_more(app: Flask) -> None:
    @app.get("/fill")
    def fill() -> str:
        session["v"] = "abc" * 2000
        return "ok"

    client = add_routes(app).test_client()
    value = cookie_value(client.get("/fill"))
    assert value.startswith("1z.")
    assert len(value) < 1000
    assert client.get("/get/v").text == repr("abc" * 2000)


def test_inflated_size_is_capped_when_saving(app: Flask) -> None:
    @app.get("/fill")
    def fill() -> str:
        session["v"] = "a" * 100_000  # compresses well under 4 KB
        return "ok"

    with pytest.raises(SessionTooLarge):
        app.test_client().get("/fill")


def test_secret_key_from_an_app_class_attribute(clock: FakeClock) -> None:
    # Flask reads app.secret_key, which a subclass may set on the class,
    # leaving config["SECRET_KEY"] empty; the session must work all the same.
    class KeyedFlask(Flask):
        secret_key = "class-level-key"

    app = add_routes(KeyedFlask(__name__))
    Scopes(app, clock=clock)
    assert app.config["SECRET_KEY"] is None
    client = app.test_client()
    client.get("/set/x/1")
    assert client.get("/get/x").text == "'1'"
