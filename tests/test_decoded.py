"""Stored entries remembered by their bytes (flask_scopes/session/decoded.py)
and the users' refs remembered by UserRefs."""

from __future__ import annotations

import typing as t
from datetime import datetime
from uuid import UUID

import pytest

from flask_scopes.codecs.encoding import BadCookie
from flask_scopes.session.decoded import DecodedEntries
from flask_scopes.session.entries import decode_entry
from flask_scopes.session.entries import encode_entry
from flask_scopes.session.entries import UserRefs


def mutate(value: t.Any) -> None:
    """Change a decoded value in place, wherever it can be changed."""
    if isinstance(value, list):
        if value and isinstance(value[0], (list, dict)):
            mutate(value[0])
        else:
            value.append("changed")
    elif isinstance(value, dict):
        value["changed"] = True
    elif isinstance(value, tuple):
        mutate(value[1])


CASES = {
    "scalars": {"user": "alice", "n": 1, "f": 1.5, "ok": True, "none": None},
    "bound": {"_user": ["42", None], "csrf": "x" * 40},
    "list of lists": {"v": [[1, 2], [3]]},
    "dict": {"v": {"a": [1]}},
    "tagged immutables": {"when": datetime(2026, 1, 1), "id": UUID(int=1), "b": b"x"},
    "tagged nested": {"pair": (1, [1]), "when": datetime(2026, 1, 1)},
}


@pytest.mark.parametrize("data", CASES.values(), ids=CASES.keys())
def test_reads_hand_out_copies(data: dict[str, t.Any]) -> None:
    decoded = DecodedEntries()
    raw = encode_entry(1, 2, data)
    for _ in range(3):
        created, touched, got = decoded.decode(raw)
        assert (created, touched, got) == (1, 2, data) == decode_entry(raw)
        for value in got.values():
            mutate(value)
        got["added"] = 1


@pytest.mark.parametrize("data", CASES.values(), ids=CASES.keys())
def test_untagged_and_immutable_entries_are_remembered(data: dict[str, t.Any]) -> None:
    decoded = DecodedEntries()
    raw = encode_entry(1, 2, data)
    decoded.decode(raw)
    remembered = raw in decoded.seen
    assert remembered is (raw[:3] == b"[1," or "pair" not in data)


def test_changed_bytes_are_decoded_afresh() -> None:
    decoded = DecodedEntries()
    first = encode_entry(1, 2, {"n": 1})
    second = encode_entry(1, 3, {"n": 2})
    assert decoded.decode(first) == (1, 2, {"n": 1})
    assert decoded.decode(second) == (1, 3, {"n": 2})
    assert decoded.decode(first) == (1, 2, {"n": 1})


def test_refused_entries_are_refused_each_time() -> None:
    decoded = DecodedEntries()
    for _ in range(2):
        with pytest.raises(BadCookie):
            decoded.decode(b'{"not": "an entry"}')
    assert decoded.seen == {}


@pytest.mark.parametrize("remembered", [0, 1, 3])
def test_remembering_is_bounded(remembered: int) -> None:
    decoded = DecodedEntries()
    decoded.remembered = remembered
    for n in range(10):
        assert decoded.decode(encode_entry(1, 2, {"n": n}))[2] == {"n": n}
        assert len(decoded.seen) <= remembered


def test_long_entries_are_not_remembered() -> None:
    decoded = DecodedEntries()
    raw = encode_entry(1, 2, {"v": "x" * 100})
    decoded.max_length = len(raw) - 1
    assert decoded.decode(raw)[2] == {"v": "x" * 100}
    assert decoded.seen == {}


@pytest.mark.parametrize("remembered", [0, 1, 4096])
def test_user_refs_match_whether_remembered_or_not(remembered: int) -> None:
    refs = UserRefs([b"new-key", b"old-key"])
    refs.remembered = remembered
    old = UserRefs([b"old-key"]).ref("alice")
    for _ in range(2):
        for user in ("alice", "bob"):
            assert refs.matches(user, refs.ref(user))
        assert refs.matches("alice", old)
        assert not refs.matches("bob", old)
        assert refs.all("alice") == [refs.ref("alice"), old]
        assert len(refs._seen) <= remembered
