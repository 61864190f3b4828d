"""Finding the cookies in what a user pasted into ``flask scopes inspect``:
a bare value, ``name=value``, or a ``Cookie:`` or ``Set-Cookie:`` header.
"""

from __future__ import annotations

import typing as t

from .codecs.encoding import BadCookie

#: The most characters ``inspect`` reads from its argument or standard input.
MAX_INPUT = 64 * 1024

#: The one reason given for a value in none of the formats the app reads.
NOT_A_COOKIE = "not a cookie that flask-scopes or Flask's session wrote"


class Pasted(t.NamedTuple):
    """What the user pasted, taken apart by :func:`paste_parts`."""

    #: The value under the session cookie's name, or a bare value.
    value: str | None
    #: The value under the flash cookie's name.
    flash: str | None
    #: ``(name, value)`` of the other cookies in the input.
    others: list[tuple[str, str]]


def paste_parts(text: str, name: str, flash_name: str) -> Pasted:
    """Find the session and flash cookies' values in what the user pasted.

    .. versionadded:: 0.2

    :param text: A bare value, ``name=value``, or a ``Cookie:`` or
        ``Set-Cookie:`` header, with or without the header's name.
    :param name: The session cookie's name.
    :param flash_name: The flash cookie's name.
    :raises BadCookie: Nothing that could be a value, or several different
        values under one of the names.
    """
    if len(text) > MAX_INPUT:
        raise BadCookie(f"the input is longer than {MAX_INPUT} characters")
    text = text.strip()
    head, colon, rest = text.partition(":")
    if colon and head.strip().lower() in {"cookie", "set-cookie"}:
        text = rest.strip()
    if not text:
        raise BadCookie("the input is empty")
    if "=" not in text:
        return Pasted(_unquote(text), None, [])
    parts = [part.strip() for part in text.split(";")]
    pairs = []
    for part in parts:
        key, sep, value = part.partition("=")
        if sep:
            pairs.append((key.strip(), _unquote(value.strip())))
    if parts[0] and "=" not in parts[0]:
        # A bare value followed by attributes copied along with it.
        return Pasted(_unquote(parts[0]), None, [])
    return Pasted(
        _one(pairs, name),
        _one(pairs, flash_name),
        [(key, value) for key, value in pairs if key not in (name, flash_name)],
    )


def _one(pairs: list[tuple[str, str]], name: str) -> str | None:
    found = {value for key, value in pairs if key == name}
    if len(found) > 1:
        raise BadCookie(
            f"{len(found)} different cookies named {name!r}; the app trusts neither"
        )
    return found.pop() if found else None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value
