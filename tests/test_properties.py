"""Properties that must hold for every input, checked with hypothesis
through real apps and the test client, and on the codec directly.

- Any value Flask's session accepts comes back with its type.
- Any bytes sent as the session or flash cookie give an empty session (or
  the untouched original) and never an error.
- No ``Set-Cookie`` header is ever over ``SCOPES_MAX_COOKIE_SIZE``: the
  cookie fits, or :exc:`SessionTooLarge` is raised and no cookie is set.
"""

from __future__ import annotations

import random
import re
import typing as t
import zlib
from datetime import datetime

import pytest
from cachelib import SimpleCache
from flask import Flask
from flask import get_flashed_messages
from flask import session
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from hypothesis import assume
from hypothesis import event
from hypothesis import example
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from markupsafe import Markup
from werkzeug.exceptions import InternalServerError

from flask_scopes import Scopes
from flask_scopes import SessionTooLarge
from flask_scopes.codecs.encoding import b64decode
from flask_scopes.codecs.encoding import b64encode
from flask_scopes.codecs.encoding import BadCookie
from flask_scopes.codecs.encoding import decompress
from flask_scopes.codecs.flask_format import FlaskCookieReader
from flask_scopes.codecs.signed import SessionCodec
from flask_scopes.codecs.signing import FLASH_SALT
from flask_scopes.codecs.signing import KeyRing
from flask_scopes.codecs.signing import SESSION_SALT
from flask_scopes.codecs.tagged import dumps
from flask_scopes.codecs.tagged import loads
from flask_scopes.flash.codec import FlashCodec

from .cookie_cases import allowed_sessions
from .cookie_cases import check_flash
from .cookie_cases import flash_codecs
from .cookie_cases import flash_samples
from .cookie_cases import flash_seeds
from .cookie_cases import LIMIT
from .cookie_cases import make_seeds
from .cookie_cases import OLD_FLASH_RING
from .cookie_cases import OLD_SECRET
from .cookie_cases import SECRET
from .cookie_cases import Seed
from .cookie_cases import typed_flash_samples
from .cookie_cases import zip_bomb
from .strategies import assert_same
from .strategies import flash_batches
from .strategies import flash_bodies
from .strategies import mutations
from .strategies import random_values
from .strategies import sessions
from .strategies import values

MAX_INFLATED = 64 * 1024

fast = settings(max_examples=200, deadline=None)
#: Our cookie values use only these characters: no quoting, no escaping.
COOKIE_VALUE = re.compile(r"^[0-9a-z]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$")


class Box:
    """Carries values between a test and its app's views."""

    incoming: dict[str, t.Any]
    outgoing: dict[str, t.Any]
    error: SessionTooLarge | None = None


def build_app(box: Box, **config: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, TESTING=True)
    app.config.update(config)
    Scopes(app)

    @app.post("/write")
    def write() -> str:
        session.update(box.incoming)
        return "written"

    @app.get("/read")
    def read() -> dict[str, int]:
        box.outgoing = dict(session)
        return {"keys": len(box.outgoing)}

    @app.get("/flash")
    def read_flash() -> dict[str, t.Any]:
        messages = get_flashed_messages(with_categories=True)
        for category, message in messages:
            assert type(category) is str, repr(category)
            assert type(message) is str, repr(message)
            assert not isinstance(message, Markup)
        return {"count": len(messages)}

    # SessionTooLarge is raised while the response is saved, where Flask
    # answers any error with a 500: its handler sees the original error.
    @app.errorhandler(InternalServerError)
    def too_large(e: InternalServerError) -> tuple[str, int]:
        if isinstance(e.original_exception, SessionTooLarge):
            box.error = e.original_exception
            return "too large", 413
        return "error", 500

    return app


def set_cookies(response: t.Any, name: str) -> list[str]:
    return [
        h for h in response.headers.getlist("Set-Cookie") if h.partition("=")[0] == name
    ]


# -- values round-trip ------------------------------------------------------------

MODES = ["cookie", "simple", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(scope="module", params=MODES)
def mode(request: pytest.FixtureRequest) -> tuple[str, dict[str, t.Any]]:
    name = request.param
    config: dict[str, t.Any] = {}
    if name == "simple":
        config["SCOPES_SESSION_STORE"] = SimpleCache(threshold=100_000)
    elif name == "redis":
        server = request.getfixturevalue("redis_process")
        server.start()
        config["SCOPES_SESSION_STORE"] = server.url
    return name, config


@fast
@given(data=sessions)
@example(data={"a": b"x", "b": {" t": [1]}})
@example(data={"a": b"x", "b": {" di": 5}, "c": {" dt": "2020-01-01"}})
@example(data={"s": "\ud800", "k\udfff": ["\udc00"]})
@example(data={"f": [float("nan"), float("inf"), -float("inf"), -0.0, 5e-324]})
@example(data={"big": 10**200, "neg": -(2**70)})
@example(data={"d": datetime(2024, 2, 29, 23, 59, 59, 999999)})
@example(data={" t": [b"x"]})
def test_values_round_trip(mode: tuple[str, dict[str, t.Any]], data: dict) -> None:
    """Request 1 stores the values, request 2 reads them back: same values,
    same types, and every cookie within the limit."""
    box = Box()
    app = build_app(box, **mode[1])
    client = app.test_client()
    box.incoming = data
    try:
        response = client.post("/write")
    except SessionTooLarge:
        assert mode[0] == "cookie"
        assume(False)
    assert response.status_code == 200
    for header in response.headers.getlist("Set-Cookie"):
        assert len(header.encode()) <= LIMIT
    assert client.get("/read").status_code == 200
    assert_same(data, box.outgoing)


def test_zone_becomes_fixed_offset() -> None:
    """A datetime in a named zone keeps its instant, its wall time and its
    offset; the zone itself comes back as a fixed offset."""
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        zone = zoneinfo.ZoneInfo("Europe/Paris")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone data")
    box = Box()
    app = build_app(box)
    client = app.test_client()
    when = datetime(2024, 7, 1, 12, 30, 15, 123456, tzinfo=zone)
    box.incoming = {"when": when}
    client.post("/write")
    client.get("/read")
    back = box.outgoing["when"]
    assert back == when
    assert back.isoformat() == when.isoformat()
    assert back.utcoffset() == when.utcoffset()


# -- hostile cookies --------------------------------------------------------------


SEEDS = make_seeds()
HOSTILE_BOX = Box()
HOSTILE_APP = build_app(HOSTILE_BOX, TESTING=False, SECRET_KEY_FALLBACKS=[OLD_SECRET])


def check_hostile(header: str) -> None:
    client = HOSTILE_APP.test_client(use_cookies=False)
    HOSTILE_BOX.outgoing = {"unset": True}
    response = client.get("/read", environ_overrides={"HTTP_COOKIE": header})
    assert response.status_code == 200, response.get_data(as_text=True)
    got = HOSTILE_BOX.outgoing
    if currently_in_test_context():
        event("session kept" if got else "session refused")
    assert got in allowed_sessions(header, SEEDS)
    for h in response.headers.getlist("Set-Cookie"):
        assert len(h.encode()) <= LIMIT


@fast
@given(value=random_values)
def test_random_session_cookie_is_empty(value: str) -> None:
    check_hostile(f"session={value}")


@pytest.fixture(scope="module")
def mode_app(mode: tuple[str, dict[str, t.Any]]) -> tuple[Box, Flask]:
    box = Box()
    return box, build_app(box, TESTING=False, SECRET_KEY="mode-secret", **mode[1])


@fast
@given(value=st.one_of(random_values, mutations(SEEDS).map(lambda m: m[0])))
def test_any_session_cookie_in_every_mode(
    mode_app: tuple[Box, Flask], value: str
) -> None:
    """In every mode, junk or a cookie from another secret gives an empty
    session, and every cookie sent back fits the limit."""
    box, app = mode_app
    box.outgoing = {"unset": True}
    client = app.test_client(use_cookies=False)
    response = client.get(
        "/read", environ_overrides={"HTTP_COOKIE": f"session={value}"}
    )
    assert response.status_code == 200
    assert box.outgoing == {}
    for h in response.headers.getlist("Set-Cookie"):
        assert len(h.encode()) <= LIMIT


@fast
@given(header=random_values)
def test_random_cookie_header(header: str) -> None:
    """A whole ``Cookie`` header of junk, session cookies or not."""
    check_hostile(header)


@fast
@given(mutated=mutations(SEEDS), prefix=st.sampled_from(["", "a=b; ", "session=x; "]))
def test_mutated_session_cookie(mutated: tuple[str, Seed], prefix: str) -> None:
    """A valid cookie with a few mutations is refused, unless the mutations
    left it a valid seed; a cookie in our format can't be changed in any
    way and still verify."""
    check_hostile(f"{prefix}session={mutated[0]}")


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.value[:12])
def test_seeds_decode_untouched(seed: Seed) -> None:
    """The unmutated seeds give their data (or nothing, for the foreign
    ones), so the mutation tests start from cookies that work."""
    check_hostile(f"session={seed.value}")
    assert HOSTILE_BOX.outgoing == (seed.data or {})


@fast
@given(value=st.one_of(random_values, mutations(SEEDS).map(lambda m: m[0])))
def test_any_flash_cookie_is_harmless(value: str) -> None:
    """Any bytes as the flash cookie: no error, and only plain text comes
    out (never Markup)."""
    client = HOSTILE_APP.test_client(use_cookies=False)
    response = client.get("/flash", environ_overrides={"HTTP_COOKIE": f"flash={value}"})
    assert response.status_code == 200
    for h in response.headers.getlist("Set-Cookie"):
        assert len(h.encode()) <= LIMIT


# -- the size limit --------------------------------------------------------------

ALPHABETS = (
    "abcdefghijklmnopqrstuvwxyz",
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "aé€😀\ud800",
    "a",
)


@st.composite
def cookie_configs(draw: st.DrawFn) -> dict[str, t.Any]:
    config: dict[str, t.Any] = {
        "SCOPES_MAX_COOKIE_SIZE": draw(
            st.one_of(st.integers(100, 5000), st.sampled_from([4093, 4096]))
        ),
        "SESSION_COOKIE_NAME": draw(
            st.sampled_from(["session", "s", "a_long_session_cookie_name_" * 3])
        ),
        "SESSION_COOKIE_SECURE": draw(st.booleans()),
        "SESSION_COOKIE_SAMESITE": draw(st.sampled_from([None, False, "Strict"])),
        "SESSION_COOKIE_PARTITIONED": draw(st.booleans()),
    }
    if draw(st.booleans()):
        config["SESSION_COOKIE_DOMAIN"] = draw(
            st.sampled_from(["example.org", "a.very.long.subdomain." * 8 + "org"])
        )
    if draw(st.booleans()):
        config["SESSION_COOKIE_PATH"] = draw(st.sampled_from(["/app", "/x" * 100]))
    return config


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, t.Any]:
    """Sessions from empty to about 80 KB, random enough that compression
    doesn't always rescue them, with multi-byte characters."""
    rnd = random.Random(draw(st.integers(0, 2**32)))
    alphabet = draw(st.sampled_from(ALPHABETS))
    data: dict[str, t.Any] = {}
    for i in range(draw(st.integers(0, 4))):
        size = draw(st.one_of(st.integers(0, 5000), st.integers(3000, 80_000)))
        text = "".join(rnd.choice(alphabet) for _ in range(size))
        data[f"k{i}"] = text if i % 2 == 0 else text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data["_permanent"] = True
    return data


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(config=cookie_configs(), data=payloads())
@example(config={"SCOPES_MAX_COOKIE_SIZE": 4093}, data={"k": "x" * 5000})
def test_no_cookie_over_the_limit(config: dict[str, t.Any], data: dict) -> None:
    """Every ``Set-Cookie`` header fits the limit. Over it, the request
    fails with :exc:`SessionTooLarge`, no cookie is set, and the client's
    previous session is still there."""
    box = Box()
    app = build_app(box, TESTING=False, **config)
    limit = config["SCOPES_MAX_COOKIE_SIZE"]
    name = app.config["SESSION_COOKIE_NAME"]

    def send(method: str, path: str, cookie: str | None) -> t.Any:
        # By hand: the cookie's Path may not match the views' paths.
        environ = {"HTTP_COOKIE": cookie} if cookie else {}
        client = app.test_client(use_cookies=False)
        response = client.open(path, method=method, environ_overrides=environ)
        for header in response.headers.getlist("Set-Cookie"):
            assert len(header.encode("utf-8")) <= limit, header[:80]
        if response.status_code == 413:
            assert box.error is not None
            assert box.error.size > box.error.limit
            assert box.error.limit in (limit, MAX_INFLATED)
            assert str(box.error.size) in str(box.error)
            assert not set_cookies(response, name)
        else:
            assert response.status_code == 200
        return response

    box.incoming = {"before": 1}
    first = send("POST", "/write", None)
    sent = set_cookies(first, name)
    cookie = sent[0].split(";")[0] if sent else None
    before = {"before": 1} if sent else {}

    box.incoming = data
    box.error = None
    second = send("POST", "/write", cookie)
    if second.status_code == 413:
        expected = before
    else:
        expected = {**before, **data}
        sent = set_cookies(second, name)
        if sent:
            cookie = sent[0].split(";")[0]
        else:
            # Nothing to write: no data, and nothing to refresh.
            assert not data or expected == before
    send("GET", "/read", cookie)
    assert box.outgoing == expected


# -- the codec directly ----------------------------------------------------------

RING = KeyRing(SECRET.encode(), [OLD_SECRET.encode()], SESSION_SALT)
CODEC = SessionCodec(RING, LIMIT, MAX_INFLATED)
BIG_CODEC = SessionCodec(RING, 10**6, MAX_INFLATED)
times = st.integers(0, 2**40)


@fast
@given(created=times, touched=times, data=sessions)
def test_dumps_loads_round_trip(created: int, touched: int, data: dict) -> None:
    raw, tagged = dumps(created, touched, data)
    assert loads(raw, tagged)[:2] == (created, touched)
    assert_same(data, loads(raw, tagged)[2])
    raw.decode("utf-8")


@fast
@given(created=times, touched=times, data=sessions)
def test_codec_round_trip(created: int, touched: int, data: dict) -> None:
    value = BIG_CODEC.encode(created, touched, data)
    assert COOKIE_VALUE.match(value), value
    assert BIG_CODEC.is_own(value)
    c, tt, back, index = BIG_CODEC.decode(value)
    assert (c, tt, index) == (created, touched, 0)
    assert_same(data, back)


@fast
@given(data=sessions)
def test_fallback_key_verifies(data: dict) -> None:
    old = SessionCodec(KeyRing(OLD_SECRET.encode(), [], SESSION_SALT), 10**6, 65536)
    *_, back, index = BIG_CODEC.decode(old.encode(1, 2, data))
    assert index == 1
    assert_same(data, back)


def check_decode(value: str | bytes) -> None:
    """``decode`` refuses with :exc:`BadCookie` and nothing else, and what
    it accepts has the right shape."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    try:
        created, touched, data, index = CODEC.decode(text)
    except BadCookie:
        return
    assert type(created) is int and type(touched) is int
    assert type(data) is dict and index in (0, 1)


@fast
@given(value=st.one_of(random_values, mutations(SEEDS).map(lambda m: m[0])))
def test_decode_refuses_cleanly(value: str) -> None:
    check_decode(value)


@st.composite
def signed_junk(draw: st.DrawFn) -> str:
    """Values with a valid signature over any header and any body: what
    only the key's owner could make, to reach the parser's deep paths."""
    header = draw(st.sampled_from(["1", "1t", "1z", "1tz", "2", "1x"]))
    body = draw(
        st.one_of(
            st.binary(max_size=200),
            st.builds(lambda v: dumps(0, 0, {"v": v})[0], values),
            st.text(max_size=100).map(lambda s: s.encode("utf-8", "surrogatepass")),
            st.sampled_from(
                [
                    b'[0,0,{" u":5}]',
                    b'[0,0,{"a":{" u":"zz"}}]',
                    b'[0,0,{"a":{" b":"%%"}}]',
                    b'[0,0,{"a":{" b":5}}]',
                    b'[0,0,{"a":{" dt":"tomorrow"}}]',
                    b'[0,0,{"a":{" dt":7}}]',
                    b'[0,0,{"a":{" t":5}}]',
                    b'[0,0,{"a":{" di":5}}]',
                    b'[0,0,{"a":{" di":{"x":1,"y":2}}}]',
                    b'[0,0,{"a":{" m":null}}]',
                    b"[0,0," + b"[" * 100_000 + b"]" * 100_000 + b"]",
                    b"[1e999,0,{}]",
                    b"[NaN,0,{}]",
                    b"[-1,0,{}]",
                    b"[0,0,{}] ",
                    b"[0,0,{}]\x00",
                    b"\xef\xbb\xbf[0,0,{}]",
                    b"[0,0,{},1]",
                    b'{"a":1}',
                ]
            ),
        )
    )
    if "z" in header and draw(st.booleans()):
        body = zlib.compress(body)
    elif "z" in header and draw(st.booleans()):
        body = zip_bomb()
    return RING.sign(f"{header}.{b64encode(body)}")


@fast
@given(value=signed_junk())
def test_decode_signed_junk(value: str) -> None:
    check_decode(value)


@fast
@given(raw=st.binary(max_size=300), tagged=st.booleans())
def test_loads_refuses_cleanly(raw: bytes, tagged: bool) -> None:
    try:
        created, touched, data = loads(raw, tagged)
    except BadCookie:
        return
    assert type(created) is int and type(touched) is int and type(data) is dict


@fast
@given(
    raw=st.one_of(st.binary(max_size=300), st.binary(max_size=3000).map(zlib.compress)),
    limit=st.integers(0, 4000),
)
def test_decompress_is_bounded(raw: bytes, limit: int) -> None:
    try:
        out = decompress(raw, limit)
    except BadCookie:
        return
    assert len(out) <= limit


def test_zip_bomb_is_refused() -> None:
    with pytest.raises(BadCookie):
        decompress(zip_bomb(), MAX_INFLATED)


@fast
@given(raw=st.binary(max_size=300))
def test_b64_round_trip(raw: bytes) -> None:
    text = b64encode(raw)
    assert re.fullmatch(r"[A-Za-z0-9_-]*", text)
    assert b64decode(text) == raw


READER = FlaskCookieReader([SECRET.encode(), OLD_SECRET.encode()], LIMIT, MAX_INFLATED)
_flask_app = Flask(__name__)
_flask_app.secret_key = SECRET
FLASK_SIGNER = SecureCookieSessionInterface().get_signing_serializer(_flask_app)


@fast
@given(value=st.one_of(random_values, mutations(SEEDS).map(lambda m: m[0])))
def test_flask_reader_refuses_cleanly(value: str) -> None:
    try:
        signed, data = READER.decode(value, 31 * 86400)
    except BadCookie:
        return
    assert type(signed) is int and type(data) is dict


@fast
@given(data=sessions)
def test_flask_reader_reads_flask_cookies(data: dict) -> None:
    """Whatever Flask's own session wrote, the reader gives back as Flask
    itself would read it."""
    assert FLASK_SIGNER is not None
    try:
        value = FLASK_SIGNER.dumps(data)
    except (ValueError, TypeError, UnicodeError):
        assume(False)
    assume(len(value) <= LIMIT)
    _, back = READER.decode(value, 31 * 86400)
    serializer = TaggedJSONSerializer()
    assert repr(back) == repr(serializer.loads(serializer.dumps(data)))


@fast
@given(
    payload=st.one_of(
        st.binary(max_size=200),
        st.sampled_from(
            [
                b'{" u":5}',
                b'{" b":"%%"}',
                b'{" d":"x"}',
                b'{" t":5}',
                b'{" di":5}',
                b'{" m":5}',
                b"[" * 50_000,
                b"[1,2]",
                b'"text"',
            ]
        ),
    ),
    compress=st.booleans(),
)
def test_flask_reader_signed_junk(payload: bytes, compress: bool) -> None:
    """Flask-format values with a valid signature over any payload."""
    assert FLASK_SIGNER is not None
    body = b64encode(zlib.compress(payload) if compress else payload).encode()
    value = FLASK_SIGNER.make_signer().sign((b"." if compress else b"") + body)
    try:
        READER.decode(value.decode(), 31 * 86400)
    except BadCookie:
        pass


# -- the flash codec directly ----------------------------------------------------

FLASH_CODECS = flash_codecs()
UNSIGNED_FLASH = FLASH_CODECS["unsigned"]
SIGNED_FLASH = FLASH_CODECS["signed"]
FLASH_SEEDS = flash_seeds()
SIGNED_FLASH_VALUES = frozenset(
    seed.value for seed in FLASH_SEEDS if check_flash(SIGNED_FLASH, seed.value)
)
FLASH_SIGNERS = [SIGNED_FLASH.keys, OLD_FLASH_RING]


def test_flash_seeds_decode() -> None:
    """The flash seeds are valid: each is read back by the codec that wrote
    it, so the mutation tests start from cookies that work."""
    unsigned = [s.value for s in FLASH_SEEDS if check_flash(UNSIGNED_FLASH, s.value)]
    assert len(unsigned) == len(flash_samples())
    # Written by the signed codec, and signed with the fallback key.
    # ...and the typed samples, which only a signed codec writes.
    assert len(SIGNED_FLASH_VALUES) == 2 * len(flash_samples()) + len(
        typed_flash_samples()
    )
    assert any(
        type(message) is Markup
        for value in SIGNED_FLASH_VALUES
        for batch in SIGNED_FLASH.decode(value)
        for _, message in batch.messages
    )


@fast
@given(
    value=st.one_of(
        random_values,
        st.text(max_size=300),
        mutations(FLASH_SEEDS).map(lambda m: m[0]),
    )
)
@example(value="1.")
@example(value="1.W10")  # []
@example(value="1.W1swLFtdXV0")  # [[0,[]]]
def test_flash_decode_any_value(value: str) -> None:
    """Any text as the flash cookie's value: both codecs give batches within
    their limits, or refuse it with ``BadCookie``, and never anything else.
    The unsigned codec never gives Markup; the signed one reads nothing
    but values signed with its keys, unchanged."""
    check_flash(UNSIGNED_FLASH, value)
    if check_flash(SIGNED_FLASH, value) is not None:
        assert value in SIGNED_FLASH_VALUES


@fast
@given(body=flash_bodies(), signer=st.sampled_from(FLASH_SIGNERS))
@example(body=b'[[0,[["info","<b>x</b>",1]]]]', signer=FLASH_SIGNERS[0])
@example(body=b'[[0,[["info","<b>x</b>",true]]]]', signer=FLASH_SIGNERS[1])
@example(body=b'[[0,[["info","x"]],{"f":["\\ud800"]}]]', signer=FLASH_SIGNERS[0])
@example(body=b"[" * 100_000 + b"]" * 100_000, signer=FLASH_SIGNERS[0])
def test_flash_decode_any_body(body: bytes, signer: KeyRing) -> None:
    """Any body in the flash cookie's format, unsigned and with a valid
    signature (what only the key's owner could make): both codecs give
    clean batches or refuse. What the unsigned codec reads, the signed one
    reads the same once signed; what it refuses can't carry Markup."""
    value = f"1.{b64encode(body)}"
    signed = signer.sign(value)
    plain = check_flash(UNSIGNED_FLASH, value)
    if plain is not None:
        event("unsigned body read")
    from_signed = check_flash(SIGNED_FLASH, signed)
    # A signed value is not in the unsigned format.
    assert check_flash(UNSIGNED_FLASH, signed) is None
    if plain is not None and len(signed) <= SIGNED_FLASH.max_length:
        assert from_signed == plain


@fast
@given(batches=flash_batches)
def test_flash_round_trip(batches: list) -> None:
    """What a request flashed is read back the same: Markup stays Markup
    in the signed cookie, and comes back as plain text from the unsigned
    one."""
    codecs = [
        FlashCodec(SIGNED_FLASH.keys, True, 10**6),
        FlashCodec(None, False, 10**6),
    ]
    for codec in codecs:
        back = check_flash(codec, codec.encode(batches))
        assert back == batches
    signed_back = codecs[0].decode(codecs[0].encode(batches))
    plain_back = codecs[1].decode(codecs[1].encode(batches))
    for original, signed, plain in zip(batches, signed_back, plain_back, strict=True):
        for (_, a), (_, b), (_, c) in zip(
            original.messages, signed.messages, plain.messages, strict=True
        ):
            assert type(b) is type(a)
            assert type(c) is str


def test_markup_only_from_a_signed_flash() -> None:
    """A message flagged as Markup is read as Markup only under a valid
    signature; unsigned, the whole cookie is refused."""
    body = b'[[0,[["info","<b>x</b>",1]]]]'
    value = f"1.{b64encode(body)}"
    assert check_flash(UNSIGNED_FLASH, value) is None
    for signer in FLASH_SIGNERS:
        [batch] = check_flash(SIGNED_FLASH, signer.sign(value)) or []
        assert batch.messages == [("info", "<b>x</b>")]
        assert type(batch.messages[0][1]) is Markup
    other = KeyRing(b"another-key", [], FLASH_SALT)
    assert check_flash(SIGNED_FLASH, other.sign(value)) is None
