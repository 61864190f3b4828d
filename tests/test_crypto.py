from __future__ import annotations

import json
import logging
import sys
import typing as t
import uuid
import zlib
from datetime import datetime
from datetime import timezone

import pytest
from flask import Flask
from flask import request
from flask import session
from markupsafe import Markup

from flask_scopes import ConfigurationError
from flask_scopes import Scopes
from flask_scopes import ScopesSessionInterface
from flask_scopes import SessionTooLarge
from flask_scopes.codecs.crypto import CipherRing
from flask_scopes.codecs.crypto import derive_key
from flask_scopes.codecs.crypto import EncryptedSessionCodec
from flask_scopes.codecs.crypto import NONCE_SIZE
from flask_scopes.codecs.crypto import TAG_SIZE
from flask_scopes.codecs.encoding import b64decode
from flask_scopes.codecs.encoding import b64encode
from flask_scopes.codecs.encoding import BadCookie
from flask_scopes.codecs.encoding import PayloadTooLarge
from flask_scopes.codecs.tagged import dumps
from flask_scopes.settings import Settings

if t.TYPE_CHECKING:
    from .conftest import FakeClock

#: The SECRET_KEY of the apps the make_app fixture builds.
SECRET = "test-secret-key"
NOW = 1_800_000_000
DATA = {"user": "alice"}
#: The plaintext of a sealed DATA: the flags byte and the JSON.
PLAIN_SIZE = 1 + len(dumps(NOW, NOW, DATA)[0])
SEALED_SIZE = NONCE_SIZE + PLAIN_SIZE + TAG_SIZE
MAX_INFLATED = ScopesSessionInterface.max_inflated_size

MakeApp = t.Callable[..., Flask]


def make_codec(secret: str = SECRET, *fallbacks: str) -> EncryptedSessionCodec:
    ring = CipherRing(secret.encode(), [key.encode() for key in fallbacks])
    return EncryptedSessionCodec(ring, 4093, MAX_INFLATED)


def build(make_app: MakeApp, **config: t.Any) -> Flask:
    """An app with encryption on unless told otherwise, and views that use
    the session."""
    config.setdefault("SCOPES_SESSION_ENCRYPT", True)
    app = make_app(**config)
    add_views(app)
    return app


def add_views(app: Flask) -> None:
    @app.get("/set")
    def set_values() -> str:
        session.update(request.args.to_dict())
        return "set"

    @app.get("/typed")
    def typed() -> str:
        session["pair"] = (1, "two")
        session["raw"] = b"\x00\xff"
        session["when"] = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        session["id"] = uuid.UUID(int=7)
        session["html"] = Markup("<b>hi</b>")
        return "typed"

    @app.get("/permanent")
    def permanent() -> str:
        session.permanent = True
        session["user"] = "alice"
        return "permanent"

    @app.get("/get")
    def get_values() -> str:
        return repr(sorted(session.items()))


def set_cookie_headers(response: t.Any) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith("s")]


def cookie(client: t.Any, name: str = "session") -> str:
    found = client.get_cookie(name)
    assert found is not None
    return found.value  # type: ignore[no-any-return]


def sealed_cookie(app: Flask, **values: str) -> str:
    client = app.test_client()
    client.get("/set", query_string=values)
    return cookie(client)


def flask_cookie(**values: str) -> str:
    """A cookie written by Flask's own session interface."""
    app = Flask(__name__)
    app.secret_key = SECRET

    @app.get("/")
    def index() -> str:
        session.update(values)
        return ""

    client = app.test_client()
    client.get("/")
    return cookie(client)


def assert_empty(app: Flask, value: str, ended: bool = False) -> None:
    """The cookie gives an empty session, never a 500. A cookie whose
    session has ended is deleted; one that fails to verify is left alone,
    since it may be valid under keys another server already has."""
    client = app.test_client()
    client.set_cookie("session", value, max_size=0)  # no oversize warning
    response = client.get("/get")
    assert response.status_code == 200
    assert response.text == "[]"
    headers = set_cookie_headers(response)
    if ended:
        (header,) = headers
        assert header.startswith("session=; Expires=Thu, 01 Jan 1970")
    else:
        assert headers == []


def flip(value: str, offset: int, mask: int) -> str:
    header, _, body = value.partition(".")
    sealed = bytearray(b64decode(body))
    sealed[offset] ^= mask
    return f"{header}.{b64encode(bytes(sealed))}"


# -- the format --------------------------------------------------------------


def test_round_trip(make_app: MakeApp) -> None:
    app = build(make_app)
    client = app.test_client()
    response = client.get("/set?user=alice&role=admin")
    (header,) = set_cookie_headers(response)
    assert header.startswith("session=e1.")
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert client.get("/get").text == "[('role', 'admin'), ('user', 'alice')]"


def test_typed_values_round_trip(make_app: MakeApp) -> None:
    app = build(make_app)
    client = app.test_client()
    client.get("/typed")
    assert cookie(client).startswith("e1.")
    with client.session_transaction() as sess:
        assert sess["pair"] == (1, "two")
        assert sess["raw"] == b"\x00\xff"
        assert sess["when"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        assert sess["id"] == uuid.UUID(int=7)
        assert type(sess["html"]) is Markup and sess["html"] == "<b>hi</b>"


def test_session_transaction(make_app: MakeApp) -> None:
    app = build(make_app)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["user"] = "bob"
    assert cookie(client).startswith("e1.")
    assert client.get("/get").text == "[('user', 'bob')]"


def test_cookie_hides_the_plaintext(make_app: MakeApp) -> None:
    values = {"user": "alice@example.com", "role": "administrator"}
    signed = sealed_cookie(build(make_app, SCOPES_SESSION_ENCRYPT=False), **values)
    encrypted = sealed_cookie(build(make_app), **values)
    raw = json.dumps(values, separators=(",", ":")).encode()

    def readable(value: str) -> bool:
        decoded = b"".join(
            b64decode(part) for part in value.split(".") if len(part) > 4
        )
        shifted = [b64encode(raw[i:]) for i in range(3)]
        return any(word in decoded for word in (b"alice", b"administrator")) or any(
            text[2:-2] in value for text in shifted
        )

    # The check finds the data in a signed cookie, so it can fail.
    assert readable(signed)
    assert not readable(encrypted)
    for word in ("alice", "admin", "user", "role"):
        assert word not in encrypted


def test_no_compression_by_default() -> None:
    # Compressed length would tell how much of the session repeats itself.
    codec = make_codec()
    data = {"text": "a" * 2000}
    value = codec.encode(NOW, NOW, data)
    sealed = b64decode(value[3:])
    assert len(sealed) == NONCE_SIZE + 1 + len(dumps(NOW, NOW, data)[0]) + TAG_SIZE


def test_nonces_are_unique() -> None:
    codec = make_codec()
    count = 10_000
    values = [codec.encode(NOW, NOW, DATA) for _ in range(count)]
    sealed = [b64decode(value[3:]) for value in values]
    nonces = {item[:NONCE_SIZE] for item in sealed}
    assert len(nonces) == count
    assert len({item[NONCE_SIZE:] for item in sealed}) == count
    assert all(len(item) == SEALED_SIZE for item in sealed)
    assert all(codec.decode(value)[2] == DATA for value in values[:100])


def test_each_response_has_a_fresh_nonce(make_app: MakeApp) -> None:
    app = build(make_app)
    first = sealed_cookie(app, user="alice")
    second = sealed_cookie(app, user="alice")
    assert first != second
    assert b64decode(first[3:])[:NONCE_SIZE] != b64decode(second[3:])[:NONCE_SIZE]


@pytest.mark.parametrize(
    ("value", "own"),
    [
        ("e1.AAAA", True),
        ("e2.AAAA", True),
        ("e10.AAAA", True),
        ("1.e30.sig", False),
        ("1tz.e30.sig", False),
        ("eyJ1c2VyIjoiYWxpY2UifQ.ZmFr.c2ln", False),  # Flask's format
        (".eJyrVg.ZmFr.c2ln", False),  # Flask's compressed format
        ("e.AAAA", False),
        ("", False),
    ],
)
def test_is_own(value: str, own: bool) -> None:
    assert make_codec().is_own(value) is own


# -- tampering ---------------------------------------------------------------

PARTS = {
    "nonce": range(NONCE_SIZE),
    "ciphertext": range(NONCE_SIZE, NONCE_SIZE + PLAIN_SIZE),
    "tag": range(NONCE_SIZE + PLAIN_SIZE, SEALED_SIZE),
}


@pytest.mark.parametrize("mask", [0x01, 0x80])
@pytest.mark.parametrize(
    "offset",
    [
        pytest.param(offset, id=f"{part}-{offset}")
        for part, offsets in PARTS.items()
        for offset in offsets
    ],
)
def test_every_byte_flip_is_refused(
    make_app: MakeApp, clock: FakeClock, offset: int, mask: int
) -> None:
    codec = make_codec()
    value = codec.encode(int(clock()), int(clock()), DATA)
    assert len(b64decode(value[3:])) == SEALED_SIZE
    tampered = flip(value, offset, mask)
    with pytest.raises(BadCookie, match="no key opens it"):
        codec.decode(tampered)
    assert_empty(build(make_app), tampered)


@pytest.mark.parametrize("header", ["e2", "e0", "e01", "E1", "e", "1", "1t", ""])
def test_changed_header_is_refused(make_app: MakeApp, header: str) -> None:
    value = make_codec().encode(NOW, NOW, DATA)
    tampered = header + value[2:]
    with pytest.raises(BadCookie):
        make_codec().decode(tampered)
    assert_empty(build(make_app), tampered)


def test_header_is_bound_as_associated_data() -> None:
    ring = CipherRing(SECRET.encode())
    plain = b"\x00" + dumps(NOW, NOW, DATA)[0]
    codec = EncryptedSessionCodec(ring, 4093, MAX_INFLATED)
    assert codec.decode("e1." + b64encode(ring.seal(plain, b"e1")))[2] == DATA
    # Sealed for another version, presented as e1: the tag fails.
    with pytest.raises(BadCookie, match="no key opens it"):
        codec.decode("e1." + b64encode(ring.seal(plain, b"e2")))
    # Presented as its own version: unknown, refused before opening.
    with pytest.raises(BadCookie, match="unknown encrypted format"):
        codec.decode("e2." + b64encode(ring.seal(plain, b"e2")))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda v: v[:-1], id="last-char-removed"),
        pytest.param(lambda v: v[:-4], id="truncated"),
        pytest.param(lambda v: v + "A", id="char-appended"),
        pytest.param(lambda v: v + "==", id="padding-appended"),
        pytest.param(lambda v: v[:20] + "!" + v[20:], id="stray-char"),
        pytest.param(lambda v: v[:20] + "." + v[20:], id="stray-separator"),
        pytest.param(lambda v: v[:20] + " " + v[20:], id="stray-space"),
        pytest.param(lambda v: v + ".sig", id="extra-part"),
        pytest.param(lambda v: v.replace(".", "", 1), id="no-separator"),
        pytest.param(lambda v: v[:3] + v[4:], id="first-char-removed"),
        pytest.param(lambda v: v.upper(), id="upper"),
        pytest.param(lambda v: v.replace("-", "+").replace("_", "/"), id="std-b64"),
    ],
)
def test_changed_text_is_refused(
    make_app: MakeApp, change: t.Callable[[str], str]
) -> None:
    codec = make_codec()
    for _ in range(20):  # until the change alters the value
        value = codec.encode(NOW, NOW, DATA)
        if change(value) != value:
            break
    tampered = change(value)
    assert tampered != value
    with pytest.raises(BadCookie):
        codec.decode(tampered)
    assert_empty(build(make_app), tampered)


def test_only_the_canonical_base64_is_read() -> None:
    codec = make_codec()
    value = codec.encode(NOW, NOW, {"user": "alice!"})
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # A length not divisible by 3 leaves unused bits in the last character.
    assert len(b64decode(value[3:])) % 3 != 0
    other = value[:-1] + alphabet[alphabet.index(value[-1]) ^ 1]
    assert b64decode(other[3:]) == b64decode(value[3:])
    with pytest.raises(BadCookie, match="canonical"):
        codec.decode(other)


def test_wrong_key_is_refused(make_app: MakeApp) -> None:
    other = sealed_cookie(build(make_app, SECRET_KEY="another-key"), user="eve")
    with pytest.raises(BadCookie, match="no key opens it"):
        make_codec().decode(other)
    assert_empty(build(make_app), other)


def test_keys_are_derived_per_purpose() -> None:
    secret = SECRET.encode()
    assert len(derive_key(secret)) == 32
    assert derive_key(secret) != derive_key(secret, b"another purpose")
    assert derive_key(secret) != derive_key(b"another secret")
    assert secret not in derive_key(secret)
    ring = CipherRing(secret, info=b"another purpose")
    value = EncryptedSessionCodec(ring, 4093, MAX_INFLATED).encode(NOW, NOW, DATA)
    with pytest.raises(BadCookie, match="no key opens it"):
        make_codec().decode(value)


class CountingRing(CipherRing):
    opened = 0

    def open(self, sealed: bytes, associated: bytes) -> tuple[bytes, int]:
        self.opened += 1
        return super().open(sealed, associated)


@pytest.mark.parametrize("length", [4094, 5000, 100_000])
def test_over_long_value_is_refused_before_decrypting(
    make_app: MakeApp, length: int
) -> None:
    ring = CountingRing(SECRET.encode())
    codec = EncryptedSessionCodec(ring, 4093, MAX_INFLATED)
    value = "e1." + "A" * (length - 3)
    with pytest.raises(BadCookie, match=f"{length} characters, over 4093"):
        codec.decode(value)
    assert ring.opened == 0
    assert_empty(build(make_app), value)


def test_value_at_the_length_limit_is_opened() -> None:
    ring = CountingRing(SECRET.encode())
    codec = EncryptedSessionCodec(ring, 4093, MAX_INFLATED)
    value = codec.encode(NOW, NOW, {"text": "x" * 2900})
    codec.max_length = len(value)
    assert codec.decode(value)[2] == {"text": "x" * 2900}
    assert ring.opened == 1


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "||",
        "e1",
        "e1.",
        "e1.A",
        "e1.AAAA",
        "e1." + "A" * 38,  # 28 zero bytes: a nonce and a tag, nothing sealed
        "e1." + "A" * 200,
        "e1.!!!!",
        "e1.\u00e9\u00e9\u00e9\u00e9",
        "e2." + "A" * 100,
        "e9999999999." + "A" * 100,
        "e1.e1.e1.",
        "1.e30.c2ln",
        "eyJ1c2VyIjoiZXZlIn0.ZmFr.c2ln",
        "bm90IGEgY29va2ll",
        "bm90IGEgY29va2ll" * 300,
    ],
)
def test_hostile_values_give_an_empty_session(make_app: MakeApp, value: str) -> None:
    assert_empty(build(make_app), value)


def test_refusal_is_logged_at_debug(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    value = flip(make_codec().encode(NOW, NOW, DATA), NONCE_SIZE + 3, 1)
    with caplog.at_level(logging.DEBUG, logger="flask_scopes"):
        assert_empty(build(make_app), value)
    (record,) = [r for r in caplog.records if r.name == "flask_scopes"]
    assert record.levelno == logging.DEBUG
    assert "no key opens it" in record.getMessage()


def test_two_different_cookies_give_an_empty_session(make_app: MakeApp) -> None:
    app = build(make_app)
    client = app.test_client()
    client.set_cookie("session", sealed_cookie(app, user="alice"))
    client.set_cookie("session", sealed_cookie(app, user="eve"), path="/get")
    assert client.get("/get").text == "[]"


def seal_plain(plain: bytes) -> str:
    return "e1." + b64encode(CipherRing(SECRET.encode()).seal(plain, b"e1"))


@pytest.mark.parametrize(
    ("plain", "reason"),
    [
        (b"", "unknown flags"),
        (b"\x04" + dumps(NOW, NOW, DATA)[0], "unknown flags"),
        (b"\xff" + dumps(NOW, NOW, DATA)[0], "unknown flags"),
        (b"\x00not json", "bad JSON"),
        (b'\x00[1,2,{"a":1}] x', "data after the value"),
        (b'\x00{"a":1}', "not \\[created, touched, data\\]"),
        (b'\x00[1,"2",{}]', "wrong types"),
        (b"\x00" + "[1,2,{}]".encode("utf-16"), "bad JSON"),
        (b'\x01[1,2,{"a":{" b":"!!"}}]', "bad JSON"),
        (b"\x02not zlib", "bad compressed data"),
        (b"\x02" + zlib.compress(b"0" * 1_000_000), "inflates past"),
    ],
)
def test_sealed_garbage_is_refused(
    make_app: MakeApp, plain: bytes, reason: str
) -> None:
    # Authentic but malformed: what a bug, or a leaked key, could produce.
    value = seal_plain(plain)
    with pytest.raises(BadCookie, match=reason):
        make_codec().decode(value)
    assert_empty(build(make_app), value)


class CompressingCodec(EncryptedSessionCodec):
    compress_threshold = 100


class CompressingInterface(ScopesSessionInterface):
    def encrypted_codec(
        self, settings: Settings, keys: t.Sequence[bytes]
    ) -> EncryptedSessionCodec:
        return CompressingCodec(
            CipherRing(keys[0], keys[1:]), settings.max_cookie_size, 8192
        )


class CompressingScopes(Scopes):
    session_interface_class = CompressingInterface


def test_compression_is_opt_in(make_app: MakeApp, clock: FakeClock) -> None:
    app = build(make_app, scopes=CompressingScopes(clock=clock))
    client = app.test_client()
    client.get("/set", query_string={"text": "ab" * 3000})
    value = cookie(client)
    assert len(value) < 1000
    assert client.get("/get").text == repr([("text", "ab" * 3000)])
    # Without the opt-in, the same session is too large for a cookie.
    with pytest.raises(SessionTooLarge):
        build(make_app).test_client().get("/set", query_string={"text": "ab" * 3000})


def test_compressed_values_have_a_cap() -> None:
    # Up to the codec's inflate limit, and not a byte more.
    codec = CompressingCodec(CipherRing(SECRET.encode()), 4093, 8192)
    fits = {"t": "a" * (8192 - len(dumps(NOW, NOW, {"t": ""})[0]))}
    assert codec.decode(codec.encode(NOW, NOW, fits))[2] == fits
    with pytest.raises(PayloadTooLarge):
        codec.encode(NOW, NOW, {"t": fits["t"] + "a"})
    plain = b"\x02" + zlib.compress(dumps(NOW, NOW, {"t": fits["t"] + "a"})[0])
    with pytest.raises(BadCookie, match="inflates past 8192"):
        codec.decode(seal_plain(plain))


# -- keys --------------------------------------------------------------------


def test_fallback_key_opens_and_is_reissued(make_app: MakeApp) -> None:
    old = sealed_cookie(build(make_app, SECRET_KEY="old-key"), user="alice")
    app = build(make_app, SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"])
    client = app.test_client()
    client.set_cookie("session", old)
    response = client.get("/get")
    assert response.text == "[('user', 'alice')]"
    (header,) = set_cookie_headers(response)
    new = cookie(client)
    assert header.startswith(f"session={new};")
    assert new.startswith("e1.") and new != old
    assert make_codec("new-key").decode(new)[2:] == ({"user": "alice"}, 0)
    with pytest.raises(BadCookie):
        make_codec("old-key").decode(new)
    # Re-issued once: the next request writes nothing.
    response = client.get("/get")
    assert response.text == "[('user', 'alice')]"
    assert set_cookie_headers(response) == []


def test_fallback_index_is_reported() -> None:
    old = make_codec("k1").encode(NOW, NOW, DATA)
    codec = make_codec("k3", "k2", "k1")
    assert codec.decode(old)[3] == 2
    assert codec.decode(codec.encode(NOW, NOW, DATA))[3] == 0


def test_removed_key_gives_an_empty_session(make_app: MakeApp) -> None:
    old = sealed_cookie(build(make_app, SECRET_KEY="old-key"), user="alice")
    assert_empty(build(make_app, SECRET_KEY="new-key"), old)


def test_secret_key_changed_at_runtime(make_app: MakeApp) -> None:
    app = build(make_app)
    client = app.test_client()
    client.get("/set?user=alice")
    app.config["SECRET_KEY_FALLBACKS"] = [SECRET]
    app.config["SECRET_KEY"] = "rotated"
    assert client.get("/get").text == "[('user', 'alice')]"
    assert make_codec("rotated").decode(cookie(client))[3] == 0


# -- migration ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/set?user=alice", "/typed", "/set?text=" + "compressible " * 150],
    ids=["plain", "tagged", "compressed"],
)
def test_signed_cookie_is_reissued_encrypted(make_app: MakeApp, path: str) -> None:
    signed_app = build(make_app, SCOPES_SESSION_ENCRYPT=False)
    client = signed_app.test_client()
    client.get(path)
    signed = cookie(client)
    assert signed.split(".")[0] in {"1", "1t", "1z", "1tz"}
    expected = client.get("/get").text

    client = build(make_app).test_client()
    client.set_cookie("session", signed)
    response = client.get("/get")
    assert response.text == expected
    assert len(set_cookie_headers(response)) == 1
    assert cookie(client).startswith("e1.")
    response = client.get("/get")
    assert response.text == expected
    assert set_cookie_headers(response) == []


def test_signed_cookie_under_a_fallback_key_is_migrated(make_app: MakeApp) -> None:
    signed = sealed_cookie(
        build(make_app, SCOPES_SESSION_ENCRYPT=False, SECRET_KEY="old"), user="a"
    )
    app = build(make_app, SECRET_KEY="new", SECRET_KEY_FALLBACKS=["old"])
    client = app.test_client()
    client.set_cookie("session", signed)
    assert client.get("/get").text == "[('user', 'a')]"
    assert make_codec("new").decode(cookie(client))[3] == 0


def test_turning_encryption_on_logs_nobody_out(make_app: MakeApp) -> None:
    app = build(make_app, SCOPES_SESSION_ENCRYPT=False)
    client = app.test_client()
    client.get("/set?user=alice")
    assert cookie(client).startswith("1.")
    app.config["SCOPES_SESSION_ENCRYPT"] = True
    assert client.get("/get").text == "[('user', 'alice')]"
    assert cookie(client).startswith("e1.")


def test_migration_keeps_the_session_start(make_app: MakeApp, clock: FakeClock) -> None:
    config = {"SCOPES_SESSION_ABSOLUTE_TIMEOUT": 3600}
    signed_app = build(make_app, SCOPES_SESSION_ENCRYPT=False, **config)
    signed = sealed_cookie(signed_app, user="alice")
    clock.advance(1800)
    client = build(make_app, **config).test_client()
    client.set_cookie("session", signed)
    assert client.get("/get").text == "[('user', 'alice')]"
    created, touched, _, _ = make_codec().decode(cookie(client))
    assert (created, touched) == (NOW, NOW + 1800)
    clock.advance(1800)
    assert client.get("/get").text == "[('user', 'alice')]"
    clock.advance(1)
    assert client.get("/get").text == "[]"


def test_expired_signed_cookie_is_not_migrated(
    make_app: MakeApp, clock: FakeClock
) -> None:
    config = {"SCOPES_SESSION_IDLE_TIMEOUT": 600}
    signed = sealed_cookie(
        build(make_app, SCOPES_SESSION_ENCRYPT=False, **config), user="alice"
    )
    clock.advance(601)
    assert_empty(build(make_app, **config), signed, ended=True)


def test_signed_session_too_large_to_reissue_is_kept(
    make_app: MakeApp, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    # Fits signed only because it is compressed; encrypted cookies are not.
    text = "compressible " * 400
    signed_client = build(make_app, SCOPES_SESSION_ENCRYPT=False).test_client()
    signed_client.get("/set", query_string={"text": text})
    signed = cookie(signed_client)
    assert signed.startswith("1z.")

    client = build(make_app).test_client()
    client.set_cookie("session", signed)
    with caplog.at_level(logging.WARNING, logger="flask_scopes"):
        response = client.get("/get")
    # Read-only: the request succeeds and the client keeps its cookie.
    assert response.status_code == 200
    assert response.text == repr([("text", text)])
    assert set_cookie_headers(response) == []
    assert cookie(client) == signed
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "not written again" in record.getMessage()
    assert "4093" in record.getMessage()
    # A change can't be saved, and says so.
    with pytest.raises(SessionTooLarge):
        client.get("/set?user=alice")
    assert cookie(client) == signed
    # With compression allowed, the same cookie is re-issued encrypted.
    scopes = CompressingScopes(clock=clock)
    client = build(make_app, scopes=scopes).test_client()
    client.set_cookie("session", signed)
    assert client.get("/get").text == repr([("text", text)])
    assert cookie(client).startswith("e1.")


@pytest.mark.usefixtures("real_clock")
def test_flask_cookie_is_reissued_encrypted(make_app: MakeApp) -> None:
    client = build(make_app).test_client()
    client.set_cookie("session", flask_cookie(user="alice"))
    assert client.get("/get").text == "[('user', 'alice')]"
    assert cookie(client).startswith("e1.")
    response = client.get("/get")
    assert response.text == "[('user', 'alice')]"
    assert set_cookie_headers(response) == []


def test_flask_cookie_refused_when_not_accepted(make_app: MakeApp) -> None:
    app = build(make_app, SCOPES_SESSION_ACCEPT_FLASK_COOKIES=False)
    assert_empty(app, flask_cookie(user="alice"))


@pytest.mark.parametrize("kind", ["signed", "flask"])
def test_hard_switch_refuses_unencrypted_cookies(make_app: MakeApp, kind: str) -> None:
    if kind == "signed":
        value = sealed_cookie(build(make_app, SCOPES_SESSION_ENCRYPT=False), u="a")
    else:
        value = flask_cookie(u="a")
    app = build(make_app, SCOPES_SESSION_ENCRYPT_ACCEPT_SIGNED=False)
    assert_empty(app, value)
    # Encrypted cookies still work.
    client = app.test_client()
    client.get("/set?user=alice")
    assert client.get("/get").text == "[('user', 'alice')]"


def test_encrypted_cookie_is_not_read_without_encryption(make_app: MakeApp) -> None:
    value = sealed_cookie(build(make_app), user="alice")
    assert_empty(build(make_app, SCOPES_SESSION_ENCRYPT=False), value)


# -- size --------------------------------------------------------------------


def test_whole_header_is_measured(make_app: MakeApp) -> None:
    measure = build(make_app, SCOPES_MAX_COOKIE_SIZE=100_000).test_client()
    (header,) = set_cookie_headers(measure.get("/permanent"))
    size = len(header)
    assert "Expires=" in header

    fits = build(make_app, SCOPES_MAX_COOKIE_SIZE=size).test_client()
    assert len(set_cookie_headers(fits.get("/permanent"))[0]) == size

    over = build(make_app, SCOPES_MAX_COOKIE_SIZE=size - 1).test_client()
    with pytest.raises(SessionTooLarge) as info:
        over.get("/permanent")
    assert (info.value.size, info.value.limit) == (size, size - 1)
    assert over.get_cookie("session") is None


def test_too_large_keeps_the_previous_cookie(make_app: MakeApp) -> None:
    app = build(make_app)
    client = app.test_client()
    client.get("/set?user=alice")
    before = cookie(client)
    with pytest.raises(SessionTooLarge) as info:
        client.get("/set", query_string={"blob": "x" * 5000})
    assert info.value.largest[0][0] == "blob"
    assert "4093" in str(info.value)
    assert cookie(client) == before
    assert client.get("/get").text == "[('user', 'alice')]"


def test_too_large_is_a_500_without_a_cookie(make_app: MakeApp) -> None:
    app = build(make_app)
    app.testing = False
    response = app.test_client().get("/set", query_string={"blob": "x" * 5000})
    assert response.status_code == 500
    assert set_cookie_headers(response) == []


def test_over_the_inflate_limit_is_too_large(make_app: MakeApp) -> None:
    app = build(make_app, SCOPES_MAX_COOKIE_SIZE=1_000_000)
    with pytest.raises(SessionTooLarge) as info:
        app.test_client().get("/set", query_string={"blob": "x" * MAX_INFLATED})
    assert info.value.limit == MAX_INFLATED


# -- time --------------------------------------------------------------------


def test_idle_timeout(make_app: MakeApp, clock: FakeClock) -> None:
    app = build(make_app, SCOPES_SESSION_IDLE_TIMEOUT=600)
    client = app.test_client()
    client.get("/set?user=alice")
    value = cookie(client)
    clock.advance(600)
    assert client.get("/get").text == "[('user', 'alice')]"
    client.set_cookie("session", value)
    clock.advance(1)
    assert client.get("/get").text == "[]"


def test_idle_timer_refreshed_by_reading(make_app: MakeApp, clock: FakeClock) -> None:
    app = build(make_app, SCOPES_SESSION_IDLE_TIMEOUT=600)
    client = app.test_client()
    client.get("/set?user=alice")
    first = cookie(client)
    clock.advance(59)
    assert set_cookie_headers(client.get("/get")) == []
    clock.advance(1)
    assert len(set_cookie_headers(client.get("/get"))) == 1
    assert cookie(client) != first
    assert make_codec().decode(cookie(client))[:2] == (NOW, NOW + 60)


def test_absolute_timeout(make_app: MakeApp, clock: FakeClock) -> None:
    app = build(
        make_app, SCOPES_SESSION_IDLE_TIMEOUT=600, SCOPES_SESSION_ABSOLUTE_TIMEOUT=3600
    )
    client = app.test_client()
    client.get("/set?user=alice")
    for _ in range(12):
        clock.advance(300)
        assert client.get("/get").text == "[('user', 'alice')]"
    clock.advance(1)
    assert client.get("/get").text == "[]"


def test_permanent_lifetime_enforced_inside(
    make_app: MakeApp, clock: FakeClock
) -> None:
    app = build(make_app, PERMANENT_SESSION_LIFETIME=3600)
    client = app.test_client()
    client.get("/permanent")
    value = cookie(client)
    clock.advance(3600)
    client.set_cookie("session", value)
    assert "alice" in client.get("/get").text
    clock.advance(1)
    client.set_cookie("session", value)  # kept past its expiry and replayed
    assert client.get("/get").text == "[]"


@pytest.mark.parametrize(
    ("created", "touched", "valid"),
    [
        (NOW, NOW + 60, True),
        (NOW, NOW + 61, False),
        (NOW + 10, NOW, False),
        (-1, NOW, False),
    ],
)
def test_timestamps_are_checked(
    make_app: MakeApp, created: int, touched: int, valid: bool
) -> None:
    value = make_codec().encode(created, touched, DATA)
    client = build(make_app).test_client()
    client.set_cookie("session", value)
    assert client.get("/get").text == ("[('user', 'alice')]" if valid else "[]")


# -- configuration -----------------------------------------------------------


def test_settings(make_app: MakeApp) -> None:
    app = make_app()
    assert app.config["SCOPES_SESSION_ENCRYPT"] is False
    assert app.config["SCOPES_SESSION_ENCRYPT_ACCEPT_SIGNED"] is True
    settings = Settings.from_config(app.config)
    assert not settings.encrypt and settings.encrypt_accept_signed
    app.config.update(
        SCOPES_SESSION_ENCRYPT=True, SCOPES_SESSION_ENCRYPT_ACCEPT_SIGNED=False
    )
    settings = Settings.from_config(app.config)
    assert settings.encrypt and not settings.encrypt_accept_signed


@pytest.fixture
def no_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import cryptography`` fail, as when it is not installed."""
    for name in list(sys.modules):
        if name == "cryptography" or name.startswith("cryptography."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "cryptography", None)


@pytest.mark.usefixtures("no_cryptography")
def test_missing_cryptography_fails_at_init(make_app: MakeApp) -> None:
    with pytest.raises(ConfigurationError) as info:
        make_app(SCOPES_SESSION_ENCRYPT=True)
    assert info.value.key == "SCOPES_SESSION_ENCRYPT"
    assert "pip install 'flask-scopes[crypto]'" in str(info.value)


@pytest.mark.usefixtures("no_cryptography")
def test_missing_cryptography_fails_when_turned_on(make_app: MakeApp) -> None:
    app = build(make_app, SCOPES_SESSION_ENCRYPT=False)
    client = app.test_client()
    client.get("/set?user=alice")
    assert client.get("/get").text == "[('user', 'alice')]"
    app.config["SCOPES_SESSION_ENCRYPT"] = True
    with pytest.raises(ConfigurationError, match=r"flask-scopes\[crypto\]"):
        client.get("/get")


def test_no_secret_key(make_app: MakeApp) -> None:
    app = build(make_app, SECRET_KEY=None)
    client = app.test_client()
    assert client.get("/get").text == "[]"
    with pytest.raises(RuntimeError, match="no secret key"):
        client.get("/set?user=alice")
