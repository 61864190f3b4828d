from __future__ import annotations

import functools
import hashlib
import hmac
import typing as t
import zlib
from collections import OrderedDict
from datetime import datetime
from enum import Enum
from uuid import UUID

import pytest

from flask_scopes import SessionValueError
from flask_scopes.codecs.encoding import b64decode
from flask_scopes.codecs.encoding import b64encode
from flask_scopes.codecs.encoding import BadCookie
from flask_scopes.codecs.encoding import decompress
from flask_scopes.codecs.encoding import PayloadTooLarge
from flask_scopes.codecs.signed import SessionCodec
from flask_scopes.codecs.signing import FLASH_SALT
from flask_scopes.codecs.signing import KeyRing
from flask_scopes.codecs.signing import SESSION_ID_SALT
from flask_scopes.codecs.signing import SESSION_SALT
from flask_scopes.codecs.tagged import dumps
from flask_scopes.codecs.tagged import largest_keys
from flask_scopes.codecs.tagged import loads


@pytest.fixture
def codec() -> SessionCodec:
    return SessionCodec(KeyRing(b"key", (), SESSION_SALT), 4093, 64 * 1024)


def test_plain_data_uses_the_fast_path() -> None:
    raw, tagged = dumps(1, 2, {"a": [1, "b", None, True, 1.5, {"c": "d"}]})
    assert not tagged
    assert raw == b'[1,2,{"a":[1,"b",null,true,1.5,{"c":"d"}]}]'
    assert loads(raw, tagged) == (1, 2, {"a": [1, "b", None, True, 1.5, {"c": "d"}]})


def test_non_ascii_is_kept_as_utf8() -> None:
    raw, _ = dumps(0, 0, {"s": "\u00e9\u2603"})
    assert "\u00e9\u2603".encode() in raw


def test_tagged_data_round_trips() -> None:
    data = {"t": (1, (2, 3)), "b": b"\x00", "k": {" t": 1}, "l": [(1,)]}
    raw, tagged = dumps(0, 0, data)
    assert tagged
    assert loads(raw, tagged)[2] == data


class Text(str):
    pass


class Number(int):
    pass


class Level(int, Enum):
    HIGH = 1


@pytest.mark.parametrize(
    ("value", "expected"), [(Text("a"), "a"), (Number(1), 1), (Level.HIGH, 1)]
)
def test_subclasses_of_plain_types_come_back_as_the_plain_type(
    value: t.Any, expected: t.Any
) -> None:
    # As Flask's session gives them back.
    raw, tagged = dumps(0, 0, {"x": value})
    found = loads(raw, tagged)[2]["x"]
    assert type(found) is type(expected)
    assert found == expected


class Opaque:
    pass


@pytest.mark.parametrize("value", [Opaque(), {1, 2}, Level, frozenset()])
def test_values_flask_cant_store_are_refused(value: t.Any) -> None:
    with pytest.raises(SessionValueError, match=r"session\['x'\]\['y'\]"):
        dumps(0, 0, {"x": {"y": value}})


def test_signing_uses_a_key_derived_per_salt() -> None:
    message = "1.abc"
    signed = KeyRing(b"key", (), SESSION_SALT).sign(message)
    derived = hmac.new(b"key", SESSION_SALT, hashlib.sha256).digest()
    expected = b64encode(hmac.digest(derived, message.encode(), "sha256"))
    assert signed == f"{message}.{expected}"
    for salt in (FLASH_SALT, SESSION_ID_SALT):
        with pytest.raises(BadCookie):
            KeyRing(b"key", (), salt).unsign(signed)


def test_fallbacks_verify_and_report_their_index() -> None:
    old = KeyRing(b"older", (), SESSION_SALT).sign("m")
    ring = KeyRing(b"current", (b"old", b"older"), SESSION_SALT)
    assert ring.unsign(old) == (b"m", 2)
    assert ring.unsign(ring.sign("m")) == (b"m", 0)


def test_encode_decode(codec: SessionCodec) -> None:
    value = codec.encode(10, 20, {"x": (1,)})
    assert value.startswith("1t.")
    assert codec.decode(value) == (10, 20, {"x": (1,)}, 0)


def test_encode_compresses_large_bodies(codec: SessionCodec) -> None:
    value = codec.encode(0, 0, {"x": "ab" * 1000})
    assert value.startswith("1z.")
    assert codec.decode(value)[2] == {"x": "ab" * 1000}


def test_encode_refuses_what_it_could_not_decode(codec: SessionCodec) -> None:
    with pytest.raises(PayloadTooLarge) as info:
        codec.encode(0, 0, {"x": "a" * 70_000})
    assert info.value.size > 64 * 1024


def test_decode_refuses_long_values_before_verifying(codec: SessionCodec) -> None:
    with pytest.raises(BadCookie, match="over 4093"):
        codec.decode("1." + "a" * 5000)


@pytest.mark.parametrize("value", ["1.x", "x", "", "1.\u00e9.x"])
def test_decode_refuses_junk(codec: SessionCodec, value: str) -> None:
    with pytest.raises(BadCookie):
        codec.decode(value)


def test_decompress_is_bounded() -> None:
    bomb = zlib.compress(b"a" * 1_000_000)
    with pytest.raises(BadCookie, match="inflates past"):
        decompress(bomb, 1000)
    assert decompress(zlib.compress(b"a" * 1000), 1000) == b"a" * 1000
    with pytest.raises(BadCookie):
        decompress(zlib.compress(b"abc")[:-3], 1000)


@pytest.mark.parametrize("data", [b"", b"\x00", b"\xff" * 7, bytes(range(256))])
def test_b64_round_trip(data: bytes) -> None:
    text = b64encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64decode(text) == data


def test_largest_keys() -> None:
    data: dict[str, t.Any] = {"small": 1, "big": "x" * 100, "mid": "y" * 10}
    assert [key for key, _ in largest_keys(data)] == ["big", "mid", "small"]
    assert largest_keys(data, 1)[0][1] > 100


def test_remembered_values_hand_out_copies(codec: SessionCodec) -> None:
    value = codec.encode(1, 2, {"user": "alice", "n": 1})
    first = codec.decode(value)[2]
    first["user"] = "mallory"
    assert codec.decode(value) == (1, 2, {"user": "alice", "n": 1}, 0)


@pytest.mark.parametrize(
    "mutable", [[1], {"a": [1]}, (1, [1])], ids=["list", "dict", "tuple of list"]
)
def test_mutable_values_are_parsed_afresh(codec: SessionCodec, mutable: t.Any) -> None:
    value = codec.encode(1, 2, {"v": mutable})
    inner = codec.decode(value)[2]["v"]
    (inner[1] if isinstance(inner, tuple) else inner).clear()
    assert codec.decode(value)[2] == {"v": mutable}


def test_immutable_typed_values_are_remembered(codec: SessionCodec) -> None:
    data = {"when": datetime(2026, 1, 1), "id": UUID(int=1), "pair": (1, b"x")}
    value = codec.encode(1, 2, data)
    assert codec.decode(value)[2] == data
    assert codec.decode(value)[2] is not codec.decode(value)[2]


@pytest.mark.parametrize("remembered", [0, 1, 3])
def test_remembering_is_bounded(remembered: int) -> None:
    class Small(SessionCodec):
        pass

    Small.remembered = remembered
    codec = Small(KeyRing(b"key", (), SESSION_SALT), 4093, 64 * 1024)
    values = [codec.encode(0, 0, {"n": n}) for n in range(10)]
    for n, value in enumerate(values * 2):
        assert codec.decode(value)[2] == {"n": n % 10}
    forged = values[0][:-2] + ("AA" if values[0][-2:] != "AA" else "BB")
    with pytest.raises(BadCookie):
        codec.decode(forged)


def test_remembered_value_of_a_fallback_key_keeps_its_index() -> None:
    old = SessionCodec(KeyRing(b"old", (), SESSION_SALT), 4093, 1024)
    value = old.encode(0, 0, {"x": 1})
    new = SessionCodec(KeyRing(b"new", (b"old",), SESSION_SALT), 4093, 1024)
    assert new.decode(value)[3] == 1
    assert new.decode(value)[3] == 1


class CountingRing(KeyRing):
    """Counts the values it verifies."""

    verified = 0

    def unsign(self, value: str | bytes) -> tuple[bytes, int]:
        self.verified += 1
        return super().unsign(value)


@pytest.mark.parametrize(
    "data",
    [{"cart": [{"sku": "a", "qty": 1}]}, {"v": {"a": [1, (2, [3])]}}],
    ids=["plain", "tagged"],
)
def test_mutable_sessions_are_verified_once(data: dict[str, t.Any]) -> None:
    ring = CountingRing(b"key", (), SESSION_SALT)
    writer = SessionCodec(ring, 4093, 64 * 1024)
    reader = SessionCodec(ring, 4093, 64 * 1024)
    value = writer.encode(1, 2, data)
    original = repr(data)
    # What was written is remembered as it was then, whatever the app does
    # with its objects afterwards.
    data.clear()
    assert repr(writer.decode(value)[2]) == original
    assert ring.verified == 0
    first = reader.decode(value)[2]
    second = reader.decode(value)[2]
    assert ring.verified == 1
    assert repr(first) == repr(second) == original
    next(iter(first.values())).clear()
    assert repr(reader.decode(value)[2]) == original


def test_long_mutable_sessions_are_not_remembered() -> None:
    ring = CountingRing(b"key", (), SESSION_SALT)
    codec = SessionCodec(ring, 4093, 64 * 1024)
    value = codec.encode(1, 2, {"big": ["x" * 100 for _ in range(60)]})
    assert len(value) < 4093
    codec.decode(value)
    codec.decode(value)
    assert ring.verified == 2


@pytest.mark.parametrize(
    "data",
    [
        {"v": OrderedDict(a=[1])},
        {"v": OrderedDict(a=[1]), "pair": (1, 2)},
        {"v": [[[[[1]]]]], "deep": functools.reduce(lambda a, _: [a], range(40), 1)},
    ],
    ids=["subclass", "subclass, tagged", "too deep"],
)
def test_what_was_written_is_planned_once_decoded(data: dict[str, t.Any]) -> None:
    codec = SessionCodec(KeyRing(b"key", (), SESSION_SALT), 4093, 64 * 1024)
    value = codec.encode(1, 2, data)
    # An OrderedDict is kept as JSON when written; decoded, it is a dict.
    assert value in codec._seen_bytes
    first = codec.decode(value)[2]
    planned = "deep" not in data
    assert (value in codec._seen) is planned
    assert (value in codec._seen_bytes) is not planned
    assert codec.decode(value)[2] == first == loads(*dumps(1, 2, data))[2]
