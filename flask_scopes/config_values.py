"""The checks of numeric configuration values, for :mod:`flask_scopes.settings`:
each returns the value resolved, or raises
:exc:`~flask_scopes.ConfigurationError` naming the key.
"""

from __future__ import annotations

import typing as t
from datetime import timedelta

from .errors import ConfigurationError


def seconds(value: t.Any, key: str) -> int:
    """A positive number of seconds, or a timedelta, as whole seconds."""
    if isinstance(value, timedelta):
        number = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise ConfigurationError(
            key, f"must be a number of seconds or a timedelta, not {value!r}."
        )
    if not number > 0 or number != number or number == float("inf"):
        raise ConfigurationError(key, f"must be positive and finite, not {value!r}.")
    return max(1, int(number))


def optional_seconds(value: t.Any, key: str) -> int | None:
    """:func:`seconds`, or ``None`` for ``None`` and ``False``."""
    if value is None or value is False:
        return None
    return seconds(value, key)


def count(value: t.Any, key: str) -> int:
    """A number of items, ``0`` for none (or ``None`` or ``False``)."""
    if value is None or value is False:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(
            key, f"must be a number of entries (0 for none), not {value!r}."
        )
    return value


def positive_int(value: t.Any, key: str) -> int:
    """An ``int`` above zero."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigurationError(key, f"must be a positive int, not {value!r}.")
    return value
