"""Flask's JSON rules for a session value that no tag takes: what
``json.dumps`` with the default of Flask's JSON provider writes. A subclass
of a JSON type is written as that type, a ``date`` as an HTTP date, a
``Decimal`` as a string, a dataclass as a ``dict``, anything with
``__html__`` as its HTML; anything else can't be stored.

.. versionadded:: 0.2
"""

from __future__ import annotations

import dataclasses
import json
import typing as t
from datetime import date
from decimal import Decimal
from uuid import UUID

from werkzeug.http import http_date

from ..errors import SessionValueError


def json_key(key: t.Any, path: str) -> str:
    """A dict key as JSON writes it, as Flask's session does: ``1`` becomes
    ``"1"``, ``True`` becomes ``"true"``."""
    if isinstance(key, str):
        return str.__str__(key)
    if key is True or key is False or key is None:
        return json.dumps(key)
    if isinstance(key, float):
        return json.dumps(float.__float__(key))
    if isinstance(key, int):
        return int.__repr__(key)
    raise SessionValueError(f"{path} key {key!r}", key)


def json_value(value: t.Any, path: str) -> t.Any:
    """``value`` as Flask's JSON provider writes a value that no tag took:
    subclasses of the JSON types as those types, a ``date`` as an HTTP date,
    a ``Decimal`` as a string, a dataclass as a ``dict``, anything with
    ``__html__`` as its HTML. No tag is added at any depth.

    :raises SessionValueError: A value Flask can't store either.
    """
    if isinstance(value, str):
        return str.__str__(value)
    if value is None or value is True or value is False:
        return value
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, (list, tuple)):
        return [json_value(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            key = json_key(key, path)
            out[key] = json_value(item, f"{path}[{key!r}]")
        return out
    if isinstance(value, date):
        return http_date(value)
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_value(dataclasses.asdict(value), path)
    html = getattr(value, "__html__", None)
    if callable(html):
        return str(html())
    raise SessionValueError(path, value)
