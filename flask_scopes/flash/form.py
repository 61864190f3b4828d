"""Choosing the form fields a flash carries for a refill after a redirect:
never the sensitive ones, never files, and never more than the cookie can
hold.
"""

from __future__ import annotations

import logging
import re
import typing as t

from ..errors import FlashValueError

if t.TYPE_CHECKING:  # pragma: no cover
    from .codec import FlashCodec

logger = logging.getLogger("flask_scopes")


def pick_fields(
    form: t.Any,
    only: t.Iterable[str],
    target: dict[str, list[str]],
    codec: FlashCodec,
    sensitive: re.Pattern[str],
    budget: int,
) -> list[str]:
    """Copy the fields of ``form`` named in ``only`` into ``target``.

    Left out, each with a debug log line: fields whose names match
    ``sensitive``, values that are not text (uploaded files), fields with a
    value that is not valid text (a lone surrogate, from a JSON body),
    values longer than the codec's ``max_value_length``, and fields past
    ``budget`` characters in all. Client input never raises.

    .. versionchanged:: 0.2
        A value with a lone surrogate leaves its field out instead of
        raising :exc:`~flask_scopes.FlashValueError`.

    :param form: A ``MultiDict`` such as ``request.form``, or a mapping.
    :param only: The names of the fields to carry.
    :param target: Where the carried values go, by field name.
    :param codec: The flash codec, which checks names and values.
    :param sensitive: Field names it matches are never carried.
    :param budget: The most characters of values carried, all fields
        together.
    :returns: The names of the fields carried.
    """
    carried = []
    for name in only:
        name = codec.check_field(name)
        if sensitive.search(name):
            logger.debug("Not carrying the sensitive form field %r", name)
            continue
        getlist = getattr(form, "getlist", None)
        if getlist is not None:
            values = list(getlist(name))
        elif name in form:
            value = form[name]
            values = list(value) if isinstance(value, (list, tuple)) else [value]
        else:
            values = []
        try:
            values = [
                codec.check_text(v, "form value") for v in values if isinstance(v, str)
            ]
        except FlashValueError:
            # A lone surrogate (from a JSON body) can't be encoded: the
            # field is left out, not an error.
            logger.debug("Not carrying the form field %r: not valid text", name)
            continue
        if not values:
            continue
        size = sum(len(v) for v in values)
        if (
            len(values) > codec.max_values
            or max(len(v) for v in values) > codec.max_value_length
            or size > budget
        ):
            logger.debug("Not carrying the form field %r: too long", name)
            continue
        if name not in target and len(target) >= codec.max_fields:
            logger.debug("Not carrying the form field %r: too many", name)
            continue
        budget -= size
        target[name] = values
        carried.append(name)
    return carried
