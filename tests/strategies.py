"""Hypothesis strategies for the property tests: the values Flask's session
accepts, a deep comparison that checks types, and cookie values from random
bytes to valid cookies with a few mutations.
"""

from __future__ import annotations

import json
import math
import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from datetime import UTC

from hypothesis import strategies as st
from markupsafe import Markup

from flask_scopes.flash.codec import Batch
from flask_scopes.session import FLASHES_KEY
from flask_scopes.session import USER_KEY

from .cookie_cases import mutate
from .cookie_cases import Seed
from .cookie_cases import wsgi_text

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

#: The keys with a meaning of their own, left out of :data:`sessions`:
#: ``_permanent`` changes the cookie's lifetime, ``_flashes`` is a view of
#: the flash scope, and :meth:`~flask_scopes.ScopesSession.bind_user` owns
#: ``_scopes_user`` (a store refuses any other value there).
RESERVED_KEYS = frozenset({"_permanent", FLASHES_KEY, USER_KEY})

#: Whole sessions.
sessions = st.dictionaries(
    keys.filter(lambda k: k not in RESERVED_KEYS), values, max_size=6
)


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


# -- the flash cookie --------------------------------------------------------------

_flash_junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


def _mostly(valid: st.SearchStrategy[t.Any]) -> st.SearchStrategy[t.Any]:
    """``valid``, or now and then anything at all in its place."""
    return st.one_of(valid, valid, valid, _flash_junk)


_flash_categories = _mostly(
    st.one_of(
        st.from_regex(r"[A-Za-z0-9_.-]{1,40}", fullmatch=True),
        st.sampled_from(["info", "", "a" * 41, "a b", "<x>", "\ud800", "é"]),
    )
)
_flash_texts = _mostly(st.text(max_size=20))
_flash_entries = _mostly(
    st.one_of(
        st.tuples(_flash_categories, _flash_texts).map(list),
        st.tuples(
            _flash_categories,
            _flash_texts,
            st.sampled_from([1, True, 1.0, 0, 2, "1", None]),
        ).map(list),
    )
)
_flash_fields = _mostly(
    st.dictionaries(
        st.one_of(st.text(max_size=8), st.just("f" * 101)),
        _mostly(st.lists(_mostly(st.text(max_size=8)), max_size=17)),
        max_size=4,
    )
)
_flash_created = _mostly(st.integers(0, 2**40)) | st.sampled_from([-1, 1.5, True])
_flash_batch = _mostly(
    st.one_of(
        st.tuples(_flash_created, st.lists(_flash_entries, max_size=4)),
        st.tuples(_flash_created, st.lists(_flash_entries, max_size=4), _flash_fields),
        st.tuples(
            _flash_created,
            st.lists(_flash_entries, max_size=4),
            _flash_fields,
            _flash_fields,
        ),
    ).map(list)
)


@st.composite
def flash_bodies(draw: st.DrawFn) -> bytes:
    """The body of a flash cookie (before base64): JSON close to the
    format, with a wrong part here and there (a message flagged as Markup,
    a bad category, a lone surrogate, a limit just over), or any bytes."""
    if draw(st.integers(0, 5)) == 0:
        return draw(st.binary(max_size=300))
    data = draw(_mostly(st.lists(_flash_batch, max_size=9)))
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


_flash_messages = st.tuples(
    st.from_regex(r"[A-Za-z0-9_.-]{1,40}", fullmatch=True),
    st.one_of(
        st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
        st.text(st.characters(exclude_categories=("Cs",)), max_size=20).map(Markup),
    ),
)
_flash_form = st.dictionaries(
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=10),
    st.lists(
        st.text(st.characters(exclude_categories=("Cs",)), max_size=10),
        min_size=1,
        max_size=3,
    ),
    max_size=3,
)

#: What a request may flash: batches of messages (``Markup`` among them),
#: form values and field errors.
flash_batches = st.lists(
    st.builds(
        Batch,
        st.integers(0, 2**40),
        st.lists(_flash_messages, max_size=5),
        _flash_form,
        _flash_form,
    ).filter(bool),
    min_size=1,
    max_size=8,
)
