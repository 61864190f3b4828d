"""Session data as JSON, with a fast path: a session that holds only plain
JSON values (the usual case) is written with one :func:`json.dumps` call.
Values JSON can't carry (tuple, bytes, datetime, UUID, Markup) are tagged in
the style of Flask's tagged JSON.

Values of other types are stored as Flask's session stores them: a subclass
of a built-in type as that type (a ``dict`` subclass as a ``dict``, a named
tuple as a ``tuple``, an ``int`` or ``str`` enum member as its value), a
``date`` as an HTTP date, a ``Decimal`` as a string, a dataclass as a
``dict``, or with a tag registered on the session's serializer
(:class:`~flask_scopes.codecs.tags.SessionSerializer`). Anything else is
refused with an error that names its key. The exact built-in types are
always tested first, so registered tags cost nothing to the usual session.
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
from .json_rules import json_key
from .json_rules import json_value


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
#: Returned by a :data:`Step` that does not apply to a value.
NOT_MINE: t.Any = object()
#: One step of the tagging of a value whose type is not exactly a built-in
#: one: given the value, its path and the tags in use, its JSON-ready form,
#: or :data:`NOT_MINE`.
Step = t.Callable[[t.Any, str, "Tags"], t.Any]
#: A scanner: given JSON text and a position, the value there and where it
#: ends.
Scan = t.Callable[[str, int], tuple[t.Any, int]]


class Tags(t.Protocol):
    """What the tagged format asks of the tags in use: the registry of an
    app (:class:`~flask_scopes.codecs.tags.SessionSerializer`), or
    :data:`BUILTIN` when nothing was registered."""

    #: The keys of the registered tags: a one-key dict with such a key is
    #: escaped, so that it is not read as a tag.
    custom_keys: frozenset[str]
    #: The steps tried, in order, for a value whose type is not exactly a
    #: built-in one.
    steps: tuple[Step, ...]
    #: Reads tagged JSON, registered tags included.
    scan: Scan


def is_immutable(value: t.Any) -> bool:
    kind = type(value)
    if kind in _IMMUTABLE:
        return True
    if kind is tuple:
        return all(map(is_immutable, value))
    return False


def tag(value: t.Any, path: str, tags: Tags) -> t.Any:
    """Make ``value`` JSON-ready, tagging what JSON can't carry.

    :param path: Where the value sits, for error messages.
    :param tags: The tags in use.
    :raises SessionValueError: A value that can't be stored.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return _tag_dict(value, path, tags)
    if kind is list:
        return [tag(item, f"{path}[{i}]", tags) for i, item in enumerate(value)]
    if kind is tuple:
        return {" t": [tag(item, f"{path}[{i}]", tags) for i, item in enumerate(value)]}
    if kind is bytes:
        return {" b": base64.b64encode(value).decode("ascii")}
    if kind is Markup:
        return {" m": str(value)}
    if kind is UUID:
        return {" u": value.hex}
    if kind is datetime:
        return {" dt": value.isoformat()}
    # Not exactly a built-in type: subclasses, registered tags, and Flask's
    # JSON rules, in the order Flask's session applies them.
    for step in tags.steps:
        out = step(value, path, tags)
        if out is not NOT_MINE:
            return out
    return json_value(value, path)


def _tag_dict(value: t.Mapping[t.Any, t.Any], path: str, tags: Tags) -> t.Any:
    out = {}
    for key, item in value.items():
        if type(key) is not str:
            key = json_key(key, path)
        out[key] = tag(item, f"{path}[{key!r}]", tags)
    if len(out) == 1:
        ((key, item),) = out.items()
        if key.startswith(" ") or key in tags.custom_keys:
            # It could read as a tag: escape the key so that it doesn't.
            # The decoder works inside out, so the inner dict must not
            # look like a tag either.
            return {" di": {f"{key}__": item}}
    return out


# The steps of Flask's own tags, in their order, for values whose type is a
# subclass of a built-in one.


def dict_step(value: t.Any, path: str, tags: Tags) -> t.Any:
    """A ``dict`` subclass, stored as a ``dict``."""
    return _tag_dict(value, path, tags) if isinstance(value, dict) else NOT_MINE


def tuple_step(value: t.Any, path: str, tags: Tags) -> t.Any:
    """A ``tuple`` subclass (a named tuple), stored as a ``tuple``."""
    if not isinstance(value, tuple):
        return NOT_MINE
    return {" t": [tag(item, f"{path}[{i}]", tags) for i, item in enumerate(value)]}


def list_step(value: t.Any, path: str, tags: Tags) -> t.Any:
    """A ``list`` subclass, stored as a ``list``."""
    if not isinstance(value, list):
        return NOT_MINE
    return [tag(item, f"{path}[{i}]", tags) for i, item in enumerate(value)]


def bytes_step(value: t.Any, path: str, tags: Tags) -> t.Any:
    """A ``bytes`` subclass, stored as ``bytes``."""
    if not isinstance(value, bytes):
        return NOT_MINE
    return {" b": base64.b64encode(value).decode("ascii")}


def html_step(value: t.Any, path: str, tags: Tags) -> t.Any:
    """Anything with ``__html__``, stored as :class:`~markupsafe.Markup`."""
    html = getattr(value, "__html__", None)
    return {" m": str(html())} if callable(html) else NOT_MINE


def uuid_step(value: t.Any, path: str, tags: Tags) -> t.Any:
    """A :class:`~uuid.UUID` subclass, stored as a ``UUID``."""
    return {" u": value.hex} if isinstance(value, UUID) else NOT_MINE


def datetime_step(value: t.Any, path: str, tags: Tags) -> t.Any:
    """A ``datetime`` subclass, stored as a ``datetime``."""
    if not isinstance(value, datetime):
        return NOT_MINE
    return {" dt": datetime.isoformat(value)}


#: The steps of the built-in tags, in the order of Flask's.
BUILTIN_STEPS: tuple[Step, ...] = (
    dict_step,
    tuple_step,
    list_step,
    bytes_step,
    html_step,
    uuid_step,
    datetime_step,
)


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


#: The keys of the built-in tags, which no registered tag may take.
BUILTIN_KEYS = frozenset({" b", " m", " u", " dt", " t", " di"})


def untag_builtin(value: dict[str, t.Any]) -> t.Any:
    """The value a decoded JSON object stands for under the built-in tags:
    itself, unless it is one of their tags."""
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


_scan_tagged = json.JSONDecoder(object_hook=untag_builtin).scan_once  # type: ignore[attr-defined]


def make_scan(custom: t.Mapping[str, t.Callable[[t.Any], t.Any]]) -> Scan:
    """A scanner that reads the built-in tags and the ``custom`` ones, given
    by key with the function that turns the tagged JSON back into a value.
    A custom function that fails makes the whole value malformed."""

    def untag(value: dict[str, t.Any]) -> t.Any:
        out = untag_builtin(value)
        if out is value and len(value) == 1:
            key, item = next(iter(value.items()))
            to_python = custom.get(key)
            if to_python is not None:
                try:
                    return to_python(item)
                except Exception as e:
                    raise ValueError(f"tag {key!r}: {e!r}") from None
        return out

    scan: Scan = json.JSONDecoder(object_hook=untag).scan_once  # type: ignore[attr-defined]
    return scan


class _BuiltinTags:
    custom_keys: frozenset[str] = frozenset()
    steps = BUILTIN_STEPS
    scan = staticmethod(_scan_tagged)


#: The tags in use when none are registered.
BUILTIN: Tags = _BuiltinTags()


def dumps(
    created: int, touched: int, data: dict[str, t.Any], tags: Tags = BUILTIN
) -> tuple[bytes, bool]:
    """Serialise a session's timestamps and data.

    :param tags: The tags in use.
    :returns: The JSON bytes, and whether tags were needed.
    :raises SessionValueError: A value that can't be stored.

    .. versionchanged:: 0.2
        The ``tags`` parameter.
    """
    data = dict(data.items())
    try:
        if _is_plain(data):
            body = [created, touched, data]
            tagged = False
        else:
            body = [created, touched, tag(data, "session", tags)]
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


def largest_keys(
    data: t.Mapping[str, t.Any], count: int = 3, tags: Tags = BUILTIN
) -> list[tuple[str, int]]:
    """The ``count`` largest keys of ``data`` with their serialised sizes,
    for error messages."""
    sizes = []
    for key, value in data.items():
        try:
            text = json.dumps(tag(value, key, tags), separators=(",", ":"))
        except (SessionValueError, TypeError, ValueError, RecursionError):
            continue
        sizes.append((key, len(text.encode("utf-8")) + len(key) + 4))
    sizes.sort(key=lambda item: item[1], reverse=True)
    return sizes[:count]


def loads(
    raw: bytes, tagged: bool, tags: Tags = BUILTIN
) -> tuple[int, int, dict[str, t.Any]]:
    """The inverse of :func:`dumps`, strict about the shape it accepts.

    :param tags: The tags in use.

    .. versionchanged:: 0.2
        The ``tags`` parameter.
    """
    try:
        text = raw.decode("utf-8")
        body, end = (tags.scan if tagged else _scan_plain)(text, 0)
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


def tag_value(value: t.Any, path: str = "value") -> t.Any:
    """``value`` made JSON-ready with the built-in tags :func:`dumps` writes
    for the types JSON can't carry; never a registered tag.

    .. versionadded:: 0.2

    :param value: What to tag.
    :param path: Names the value in the error.
    :raises SessionValueError: A value of a type no tag carries.
    """
    return tag(value, path, BUILTIN)


def untag_value(value: t.Any) -> t.Any:
    """The inverse of :func:`tag_value`, over a value already decoded from
    JSON.

    .. versionadded:: 0.2

    :raises ValueError: A malformed tag.
    """
    kind = type(value)
    if kind is list:
        return [untag_value(item) for item in value]
    if kind is dict:
        return untag_builtin({key: untag_value(item) for key, item in value.items()})
    return value
