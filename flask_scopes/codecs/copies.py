"""Copies of decoded session data, for the sessions a process remembers: what
can't change is shared, and every list and dict is new, so that no request
can change what another one reads.

A plan is worked out once, when the data is remembered, from the shape of
each value: a list or dict of plain values is copied by ``list.copy`` or
``dict.copy``, a list of those by a ``map`` of them, anything deeper by a
walk of the tree. Handing out a copy then follows the plan, which is
faster than parsing the session again or reading back a serialized copy.

.. versionadded:: 0.2
"""

from __future__ import annotations

import typing as t
from functools import partial

from .tagged import is_immutable

#: How deep a remembered value may nest lists and dicts.
MAX_DEPTH = 32

Copier = t.Callable[[t.Any], t.Any]
#: What :func:`hand_out` copies: each key whose value is a list or dict,
#: with how to copy it.
Plan = tuple[tuple[str, Copier], ...]


def plan(data: dict[str, t.Any]) -> Plan | None:
    """How to hand out copies of ``data``, or ``None`` when it holds
    something that only a new parse copies: a key that is not a ``str``, a
    subclass, a mutable value in a tuple, nesting deeper than
    :data:`MAX_DEPTH`.

    :param data: Decoded session data, of exact types.
    """
    steps: list[tuple[str, Copier]] = []
    for key, value in dict.items(data):
        if type(key) is not str:
            return None
        if is_immutable(value):
            continue
        copier = _copier(value)
        if copier is None:
            return None
        steps.append((key, copier))
    return tuple(steps)


def hand_out(kept: dict[str, t.Any], steps: Plan) -> dict[str, t.Any]:
    """A copy of ``kept`` that shares nothing a request could change.

    :param steps: The plan :func:`plan` made for ``kept``.
    """
    data = kept.copy()
    for key, copier in steps:
        data[key] = copier(data[key])
    return data


def _copier(value: t.Any) -> Copier | None:
    kind = type(value)
    if kind is list:
        if all(map(is_immutable, value)):
            return list.copy
        inner = {_flat(item) for item in value}
        if len(inner) == 1:
            copier = inner.pop()
            if copier is not None:
                return partial(_map_list, copier)
    elif kind is dict:
        if _flat(value) is dict.copy:
            return dict.copy
    else:
        return None
    return copy_tree if _tree_depth(value, MAX_DEPTH) else None


def _flat(value: t.Any) -> Copier | None:
    """``list.copy`` or ``dict.copy`` for a list or dict of plain values."""
    kind = type(value)
    if kind is list and all(map(is_immutable, value)):
        return list.copy
    if (
        kind is dict
        and all(type(key) is str for key in value)
        and all(map(is_immutable, value.values()))
    ):
        return dict.copy
    return None


def _map_list(copier: Copier, value: list[t.Any]) -> list[t.Any]:
    return list(map(copier, value))


def _tree_depth(value: t.Any, depth: int) -> bool:
    """Whether ``value`` is lists and dicts with ``str`` keys over plain
    values, no deeper than ``depth``."""
    kind = type(value)
    if kind is list:
        items: t.Iterable[t.Any] = value
    elif kind is dict:
        if not all(type(key) is str for key in value):
            return False
        items = value.values()
    else:
        return is_immutable(value)
    if depth == 0:
        return False
    return all(_tree_depth(item, depth - 1) for item in items)


def copy_tree(value: t.Any) -> t.Any:
    """A copy of a tree of lists and dicts, sharing its plain values."""
    if type(value) is list:
        out = value[:]
        for i, item in enumerate(out):
            if type(item) is list or type(item) is dict:
                out[i] = copy_tree(item)
        return out
    out_dict = value.copy()
    for key, item in out_dict.items():
        if type(item) is list or type(item) is dict:
            out_dict[key] = copy_tree(item)
    return out_dict
