"""Session data as JSON, with a fast path: a session that holds only plain
JSON values (the usual case) is written with one :func:`json.dumps` call.
Values JSON can't carry (tuple, bytes, datetime, UUID, Markup) are tagged in
the style of Flask's tagged JSON, and anything else is refused with an error
that names its key.
"""

from __future__ import annotations

import base64
import json
import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from uuid import UUID

from markupsafe import Markup

from ..errors import SessionValueError
from .encoding import BadCookie


def _make_json_dumps() -> t.Callable[[t.Any], str]:
    def fallback(value: t.Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    # The C encoder used directly skips json.dumps' per-call set-up, which
    # costs more than encoding a small session. Checked against json.dumps.
    make = getattr(json.encoder, "c_make_encoder", None)
    quote = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or quote is None:  # pragma: no cover
        return fallback
    try:
        encoder = make(None, None, quote, None, ":", ",", False, False, True)

        def fast(value: t.Any) -> str:
            return "".join(encoder(value, 0))

        sample = [1, 2.5, {"a": '\u00e9"<', "b": [None, True, False]}]
        if fast(sample) == fallback(sample):
            return fast
    except Exception:  # pragma: no cover
        pass
    return fallback  # pragma: no cover


json_dumps = _make_json_dumps()
_scan_plain = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_scan_tagged: t.Callable[[str, int], tuple[t.Any, int]]
_ZERO = timedelta(0)
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _is_plain(value: t.Any) -> bool:
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _is_plain(item):
                return False
        return True
    if kind is list:
        for item in value:
            if not _is_plain(item):
                return False
        return True
    return False


_IMMUTABLE = _SCALARS | {bytes, datetime, UUID, Markup}


def is_immutable(value: t.Any) -> bool:
    kind = type(value)
    if kind in _IMMUTABLE:
        return True
    if kind is tuple:
        return all(map(is_immutable, value))
    return False


def _tag(value: t.Any, path: str) -> t.Any:
    """Make ``value`` JSON-ready, tagging what JSON can't carry."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise SessionValueError(f"{path} key {key!r}", key)
            out[key] = _tag(item, f"{path}[{key!r}]")
        if len(out) == 1:
            ((key, item),) = out.items()
            if key.startswith(" "):
                # It could read as a tag: escape the key so that it doesn't.
                # The decoder works inside out, so the inner dict must not
                # look like a tag either.
                return {" di": {f"{key}__": item}}
        return out
    if kind is list:
        return [_tag(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if kind is tuple:
        return {" t": [_tag(item, f"{path}[{i}]") for i, item in enumerate(value)]}
    if kind is bytes:
        return {" b": base64.b64encode(value).decode("ascii")}
    if kind is Markup:
        return {" m": str(value)}
    if kind is UUID:
        return {" u": value.hex}
    if kind is datetime:
        return {" dt": value.isoformat()}
    raise SessionValueError(path, value)


def _datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    # Some Pythons read an offset under one second, "+00:00:00.000001", as
    # UTC; read it by hand so that the offset comes back as it was written.
    if value.utcoffset() == _ZERO and text[-16:-15] in ("+", "-"):
        micro = int(text[-6:]) if text[-7:-6] == "." else 0
        if micro and text[-15:-7] == "00:00:00":
            sign = -1 if text[-16] == "-" else 1
            value = value.replace(tzinfo=timezone(timedelta(microseconds=sign * micro)))
    return value


_STRING_TAGS = frozenset({" b", " m", " u", " dt"})


def _untag(value: dict[str, t.Any]) -> t.Any:
    if len(value) != 1:
        return value
    key, item = next(iter(value.items()))
    # The encoder escapes every one-key dict whose key could be a tag, so a
    # tag over the wrong type is a malformed value, not a dict.
    if key in _STRING_TAGS:
        if type(item) is not str:
            raise ValueError(f"tag {key!r} over {type(item).__name__}")
        if key == " b":
            return base64.b64decode(item, validate=True)
        if key == " m":
            return Markup(item)
        if key == " u":
            return UUID(hex=item)
        return _datetime(item)
    if key == " t":
        if type(item) is not list:
            raise ValueError(f"tag ' t' over {type(item).__name__}")
        return tuple(item)
    if key == " di":
        if type(item) is dict and len(item) == 1:
            ((inner, kept),) = item.items()
            if inner.endswith("__"):
                return {inner[:-2]: kept}
        raise ValueError("malformed tag ' di'")
    return value


_scan_tagged = json.JSONDecoder(object_hook=_untag).scan_once  # type: ignore[attr-defined]


def dumps(created: int, touched: int, data: dict[str, t.Any]) -> tuple[bytes, bool]:
    """Serialise a session's timestamps and data.

    :returns: The JSON bytes, and whether tags were needed.
    :raises SessionValueError: A value that can't be stored unchanged.
    """
    data = dict(data.items())
    try:
        if _is_plain(data):
            body = [created, touched, data]
            tagged = False
        else:
            body = [created, touched, _tag(data, "session")]
            tagged = True
    except RecursionError:
        raise SessionValueError(
            "session (nested too deeply, or a value that contains itself)", data
        ) from None
    text = json_dumps(body)
    try:
        return text.encode("utf-8"), tagged
    except UnicodeEncodeError:
        # Lone surrogates, which Flask's session stores: UTF-8 can't carry
        # them, so escape them (and all non-ASCII) as JSON allows.
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=True)
        return text.encode("ascii"), tagged


def largest_keys(data: t.Mapping[str, t.Any], count: int = 3) -> list[tuple[str, int]]:
    """The ``count`` largest keys of ``data`` with their serialised sizes,
    for error messages."""
    sizes = []
    for key, value in data.items():
        try:
            text = json.dumps(_tag(value, key), separators=(",", ":"))
        except SessionValueError:
            continue
        sizes.append((key, len(text.encode("utf-8")) + len(key) + 4))
    sizes.sort(key=lambda item: item[1], reverse=True)
    return sizes[:count]


def loads(raw: bytes, tagged: bool) -> tuple[int, int, dict[str, t.Any]]:
    """The inverse of :func:`dumps`, strict about the shape it accepts."""
    try:
        text = raw.decode("utf-8")
        body, end = (_scan_tagged if tagged else _scan_plain)(text, 0)
    except StopIteration:
        raise BadCookie("bad JSON") from None
    except (ValueError, TypeError, RecursionError) as e:
        raise BadCookie(f"bad JSON: {e}") from None
    if end != len(text):
        raise BadCookie("bad JSON: data after the value")
    if type(body) is not list or len(body) != 3:
        raise BadCookie("the payload is not [created, touched, data]")
    created, touched, data = body
    if type(created) is not int or type(touched) is not int or type(data) is not dict:
        raise BadCookie("the payload has fields of the wrong types")
    return created, touched, data


def tag(value: t.Any, path: str = "value") -> t.Any:
    """``value`` made JSON-ready, with the tags :func:`dumps` writes for the
    types JSON can't carry.

    .. versionadded:: 0.2

    :param value: What to tag.
    :param path: Names the value in the error.
    :raises SessionValueError: A value of a type no tag carries.
    """
    return _tag(value, path)


def untag(value: t.Any) -> t.Any:
    """The inverse of :func:`tag`, over a value already decoded from JSON.

    .. versionadded:: 0.2

    :raises ValueError: A malformed tag.
    """
    kind = type(value)
    if kind is list:
        return [untag(item) for item in value]
    if kind is dict:
        return _untag({key: untag(item) for key, item in value.items()})
    return value
