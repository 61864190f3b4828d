"""Hypothesis strategies shared by the property tests and the fuzz target:
the values Flask's session accepts, a deep comparison that checks types,
and cookie values from random bytes to valid cookies with a few mutations.
"""

from __future__ import annotations

import math
import typing as t
import zlib
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from datetime import UTC

from hypothesis import strategies as st
from markupsafe import Markup

# -- session values ------------------------------------------------------------

#: Keys that look like the codec's tags, to make sure a dict that happens to
#: use one comes back as a dict.
TAG_LIKE_KEYS = (" t", " b", " m", " u", " dt", " di", " di__", " t__", " x", " ", "")

#: Text with every code point, lone surrogates included: Flask's JSON escapes
#: them, so its session stores them.
any_text = st.text(st.characters(exclude_categories=()), max_size=24)
keys = st.one_of(any_text, st.sampled_from(TAG_LIKE_KEYS))

offsets = st.one_of(
    st.just(UTC),
    st.timedeltas(
        min_value=-timedelta(hours=23, minutes=59, seconds=59),
        max_value=timedelta(hours=23, minutes=59, seconds=59),
    ).map(timezone),
)
naive_datetimes = st.datetimes()
aware_datetimes = st.datetimes(timezones=offsets)

scalars = st.one_of(
    any_text,
    st.integers(),
    st.integers(min_value=-(10**200), max_value=10**200),
    st.floats(),
    st.booleans(),
    st.none(),
    st.binary(max_size=24),
    naive_datetimes,
    aware_datetimes,
    st.uuids(),
    any_text.map(Markup),
)


def _containers(children: st.SearchStrategy[t.Any]) -> st.SearchStrategy[t.Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(keys, children, max_size=4),
    )


#: Any value Flask's session accepts, nested.
values = st.recursive(scalars, _containers, max_leaves=12)

#: Whole sessions. ``_permanent`` is left out: it changes the cookie's
#: lifetime, not how values are kept.
sessions = st.dictionaries(keys.filter(lambda k: k != "_permanent"), values, max_size=6)


def assert_same(expected: t.Any, actual: t.Any, path: str = "session") -> None:
    """Assert that ``actual`` is ``expected`` rebuilt: same types all the
    way down, same key order, floats to the bit (NaN is NaN, -0.0 is
    -0.0), datetimes to the microsecond with the same UTC offset."""
    assert type(actual) is type(expected), (
        f"{path}: {type(expected).__name__} came back as {type(actual).__name__}:"
        f" {actual!r}"
    )
    if isinstance(expected, float):
        if math.isnan(expected):
            assert math.isnan(actual), path
        else:
            assert actual == expected, path
            assert math.copysign(1, actual) == math.copysign(1, expected), path
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), f"{path}: keys differ"
        for key, item in expected.items():
            assert_same(item, actual[key], f"{path}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{path}: lengths differ"
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(expected, datetime):
        # fold only matters inside a zone's transitions, which a naive or
        # fixed-offset datetime doesn't have.
        assert actual.replace(fold=0) == expected.replace(fold=0), path
        assert actual.isoformat() == expected.isoformat(), path
        assert (actual.tzinfo is None) == (expected.tzinfo is None), path
        assert actual.utcoffset() == expected.utcoffset(), path
    else:
        assert actual == expected, path


# -- cookie values ---------------------------------------------------------------


class Seed(t.NamedTuple):
    """A cookie value to mutate, and the session it must give untouched."""

    value: str
    #: The session it decodes to, or ``None`` for one that must be refused.
    data: dict[str, t.Any] | None
    #: Whether any change to the value must make it invalid. Flask's own
    #: format isn't strict: itsdangerous skips stray characters in the
    #: signature, so a mutated copy may still give the same session.
    strict: bool


_NASTY = (
    ".",
    "=",
    '"',
    "\\",
    ";",
    ",",
    " ",
    "\t",
    "\x00",
    "\xff",
    "\x7f",
    "-",
    "_",
    "+",
    "/",
    "A",
    "z",
    "0",
    "%",
    "é",
)
_HEADERS = ("1", "1t", "1z", "1tz", "2", "", "1zt", "1zz", "t", "z", "01", "1 ")


@st.composite
def mutations(draw: st.DrawFn, seeds: t.Sequence[Seed]) -> tuple[str, Seed]:
    """A seed cookie with zero to three mutations: changed, added or removed
    characters, truncation, segments dropped, repeated, swapped or taken
    from another seed, another format header, quoting."""
    seed = draw(st.sampled_from(seeds))
    value = seed.value
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.integers(0, 10))
        pos = draw(st.integers(0, len(value)))
        char = draw(
            st.one_of(st.sampled_from(_NASTY), st.characters(max_codepoint=255))
        )
        parts = value.split(".")
        if op == 0 and pos < len(value):
            value = value[:pos] + char + value[pos + 1 :]
        elif op == 1:
            value = value[:pos] + char + value[pos:]
        elif op == 2 and pos < len(value):
            value = value[:pos] + value[pos + 1 :]
        elif op == 3:
            value = value[:pos]
        elif op == 4 and len(parts) > 1:
            i = draw(st.integers(0, len(parts) - 1))
            value = ".".join(parts[:i] + parts[i + 1 :])
        elif op == 5:
            i = draw(st.integers(0, len(parts) - 1))
            value = ".".join(parts[: i + 1] + parts[i:])
        elif op == 6 and len(parts) > 1:
            i, j = draw(st.permutations(range(len(parts))))[:2]
            parts[i], parts[j] = parts[j], parts[i]
            value = ".".join(parts)
        elif op == 7:
            parts[0] = draw(st.sampled_from(_HEADERS))
            value = ".".join(parts)
        elif op == 8:
            other = draw(st.sampled_from(seeds)).value.split(".")
            i = draw(st.integers(0, min(len(parts), len(other)) - 1))
            parts[i] = other[i]
            value = ".".join(parts)
        elif op == 9:
            value = f'"{value}"'
        elif op == 10 and pos < len(value):
            c = value[pos]
            value = value[:pos] + c.swapcase() + value[pos + 1 :]
    return value, seed


def wsgi_text(raw: bytes) -> str:
    """Bytes as a WSGI server puts them in the environ (latin-1)."""
    return raw.decode("latin-1")


#: Cookie values with no structure at all.
random_values = st.one_of(
    st.binary(max_size=300).map(wsgi_text),
    st.text(max_size=300).map(lambda s: wsgi_text(s.encode("utf-8", "surrogatepass"))),
    st.text(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.=",
        max_size=300,
    ),
)


def zip_bomb(size: int = 10 * 1024 * 1024) -> bytes:
    """A few kilobytes that inflate to ``size`` bytes."""
    return zlib.compress(b"[0,0,{" + b" " * size + b"}]", 9)
