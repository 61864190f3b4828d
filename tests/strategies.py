"""Hypothesis strategies for the property tests: the values Flask's session
accepts, a deep comparison that checks types, and cookie values from random
bytes to valid cookies with a few mutations.
"""

from __future__ import annotations

import math
import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from datetime import UTC

from cookie_cases import mutate
from cookie_cases import Seed
from cookie_cases import wsgi_text
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
#: Keys with a meaning of their own: ``_permanent`` is a bool, ``_flashes``
#: stands for the flash scope and ``_scopes_user`` is set by bind_user.
RESERVED = frozenset({"_permanent", "_flashes", "_scopes_user"})
sessions = st.dictionaries(keys.filter(lambda k: k not in RESERVED), values, max_size=6)


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


def mutations(seeds: t.Sequence[Seed]) -> st.SearchStrategy[tuple[str, Seed]]:
    """A seed cookie with up to four mutations (see
    :func:`cookie_cases.mutate`)."""

    def build(seed: Seed, ops: bytes) -> tuple[str, Seed]:
        return mutate(seed.value, ops, seeds), seed

    return st.builds(build, st.sampled_from(seeds), st.binary(max_size=16))


#: Cookie values with no structure at all.
random_values = st.one_of(
    st.binary(max_size=300).map(wsgi_text),
    st.text(max_size=300).map(lambda s: wsgi_text(s.encode("utf-8", "surrogatepass"))),
    st.text(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.=",
        max_size=300,
    ),
)
