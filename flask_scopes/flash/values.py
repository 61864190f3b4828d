"""Flash values other than text: what one may be, and the bounds a value
read from a cookie (or from the store a flash overflowed to) is held to.

A flashed value travels as JSON. In an unsigned flash cookie it must be
plain JSON (``dict`` with str keys, ``list``, ``str``, ``int``, finite
``float``, ``bool``, ``None``) and is read back as such, never through a
tag: nothing read from an unsigned cookie becomes
:class:`~markupsafe.Markup` or any other object. A signed flash carries the
session's tagged types as well (``tuple``, ``bytes``, ``datetime``,
``UUID``, ``Markup``), with the tags of :mod:`flask_scopes.codecs.tagged`.

.. versionadded:: 0.2
"""

from __future__ import annotations

import math
import re
import typing as t

from ..codecs.copies import copy_tree
from ..codecs.tagged import tag_value
from ..codecs.tagged import untag_value
from ..errors import FlashValueError
from ..errors import SessionValueError

#: How deeply containers may nest in one value (tags count as a level).
MAX_DEPTH = 8
#: The most containers, items and keys one value may hold.
MAX_ITEMS = 256
#: The longest str inside a value, key or item, in characters.
MAX_TEXT = 4096

# Lone surrogates can't be encoded as UTF-8: text holding one would fail
# when the page is written.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SCALARS = (bool, int, type(None))


class ValueRefused(ValueError):
    """Internal: a value is outside the bounds, or of a type JSON lacks.

    :param message: Why it is refused.
    :param json_lacks: It holds something plain JSON can't carry, which the
        session's tags (a signed flash) may.
    """

    def __init__(self, message: str, json_lacks: bool = False) -> None:
        super().__init__(message)
        self.json_lacks = json_lacks


def check_tree(tree: t.Any) -> None:
    """Check a value in its JSON form against the bounds.

    :raises ValueRefused: Why it is refused.
    """
    budget = [MAX_ITEMS]

    def walk(node: t.Any, depth: int) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise ValueRefused(f"more than {MAX_ITEMS} items")
        kind = type(node)
        if kind is str:
            if len(node) > MAX_TEXT or _SURROGATE.search(node):
                raise ValueRefused("a str too long, or with a lone surrogate")
        elif kind in _SCALARS:
            return
        elif kind is float:
            if not math.isfinite(node):
                raise ValueRefused("a float that is not finite")
        elif kind is list or kind is dict:
            if depth >= MAX_DEPTH:
                raise ValueRefused(f"nested more than {MAX_DEPTH} deep")
            if kind is dict:
                for key in node:
                    if type(key) is not str:
                        raise ValueRefused("a dict key that is not a str", True)
                    walk(key, depth + 1)
                items = node.values()
            else:
                items = node
            for item in items:
                walk(item, depth + 1)
        else:
            raise ValueRefused(f"a {kind.__name__}, which JSON can't carry", True)

    walk(tree, 0)


def to_tree(value: t.Any, tagged: bool) -> t.Any:
    """The JSON form of a flashed value, checked against the bounds.

    :param tagged: Whether the session's tags may carry types JSON lacks
        (a signed flash).
    :raises FlashValueError: The value can't be carried.
    """
    try:
        tree = tag_value(value) if tagged else value
        check_tree(tree)
    except SessionValueError as e:
        raise FlashValueError(
            f"A flashed value of type {type(e.value).__name__} can't be carried.",
            value,
        ) from None
    except RecursionError:
        raise FlashValueError("A flashed value contains itself.", value) from None
    except ValueRefused as e:
        hint = ""
        if not tagged and e.json_lacks:
            hint = " (set SCOPES_FLASH_SIGNED to flash the session's tagged types)"
        raise FlashValueError(
            f"A flashed value can't be carried: {e}{hint}.", value
        ) from None
    return tree


def from_tree(tree: t.Any, tagged: bool) -> t.Any:
    """A flashed value from its JSON form, read back within the bounds.

    :param tagged: Whether to read the session's tags (a signed flash only).
    :raises ValueRefused: Why the value is refused.
    """
    check_tree(tree)
    if not tagged:
        return tree
    try:
        return untag_value(tree)
    except (ValueError, TypeError) as e:
        raise ValueRefused(f"a bad tag: {e}") from None


def copy_value(value: t.Any, tagged: bool) -> t.Any:
    """A copy of a flashed value as it will be read back, so that changing
    the original after flashing changes nothing.

    :raises FlashValueError: The value can't be carried.
    """
    tree = to_tree(value, tagged)
    if tagged:
        # Untagging builds new containers, so the copy shares none.
        try:
            return untag_value(tree)
        except (ValueError, TypeError) as e:
            raise ValueRefused(f"a bad tag: {e}") from None
    if type(tree) is list or type(tree) is dict:
        return copy_tree(tree)
    return tree
