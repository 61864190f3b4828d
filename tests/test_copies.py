"""Copies of remembered session data (``codecs/copies.py``): which shapes get
a plan, and that what is handed out shares nothing a request could change."""

from __future__ import annotations

import copy
import typing as t
from collections import OrderedDict
from datetime import datetime

import pytest

from flask_scopes.codecs.copies import hand_out
from flask_scopes.codecs.copies import MAX_DEPTH
from flask_scopes.codecs.copies import plan


def nested(depth: int) -> t.Any:
    value: t.Any = 1
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def change_everything(value: t.Any) -> None:
    """Change every list and dict inside ``value`` in place."""
    if type(value) is list:
        for item in value:
            change_everything(item)
        value.append("changed")
    elif type(value) is dict:
        for item in value.values():
            change_everything(item)
        value["changed"] = True


PLANNED = {
    "immutables": {"s": "x", "n": 1, "f": 1.5, "b": True, "none": None},
    "tagged immutables": {"when": datetime(2026, 1, 1), "pair": (1, "a"), "raw": b"x"},
    "flat list": {"v": [1, "a", None]},
    "flat dict": {"v": {"a": 1}},
    "list of dicts": {"cart": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]},
    "list of lists": {"v": [[1], [2, 3]]},
    "mixed list": {"v": [1, [2], {"a": [3]}]},
    "dict of lists": {"v": {"a": [1], "b": {"c": [2]}}},
    "empty": {"l": [], "d": {}},
    "as deep as allowed": {"v": nested(MAX_DEPTH)},
}


@pytest.mark.parametrize("data", PLANNED.values(), ids=PLANNED.keys())
def test_copies_share_nothing_mutable(data: dict[str, t.Any]) -> None:
    steps = plan(data)
    assert steps is not None
    kept = hand_out(data, steps)
    before = copy.deepcopy(kept)
    for _ in range(2):
        given = hand_out(kept, steps)
        assert given == before
        for value in given.values():
            change_everything(value)
        given["added"] = 1
        assert kept == before


NOT_PLANNED = {
    "too deep": {"v": nested(MAX_DEPTH + 2)},
    "non-str key": {"v": {1: "a"}},
    "non-str top key": {1: "a"},
    "dict subclass": {"v": OrderedDict(a=1)},
    "list in a tuple": {"v": (1, [2])},
    "object": {"v": object()},
}


@pytest.mark.parametrize("data", NOT_PLANNED.values(), ids=NOT_PLANNED.keys())
def test_shapes_only_a_new_parse_copies_get_no_plan(data: dict[t.Any, t.Any]) -> None:
    assert plan(data) is None
