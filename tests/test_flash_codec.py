"""The flash cookie is attacker-controlled: strict decoding within bounds,
and never a cookie over the size limit."""

from __future__ import annotations

import base64
import json
import logging
import random
import typing as t

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from flask_scopes import flash
from flask_scopes import FlashTooLarge
from flask_scopes import ScopesError
from flask_scopes.codecs.encoding import BadCookie
from flask_scopes.codecs.signing import KeyRing
from flask_scopes.flash.codec import Batch
from flask_scopes.flash.codec import FlashCodec

from .flash_support import add_views
from .flash_support import deletes
from .flash_support import forge
from .flash_support import messages
from .flash_support import set_cookie_headers

AppFactory = t.Callable[..., Flask]
NOW = 1_800_000_000  # the clock fixture's time


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return add_views(make_app())


def show(app: Flask, cookie: str) -> t.Any:
    """Request the page that reads the flash with a raw Cookie header."""
    client = app.test_client(use_cookies=False)
    return client.get("/", headers={"Cookie": cookie})


def batch(*entries: t.Any, created: int = NOW) -> list[t.Any]:
    return [created, list(entries)]


HOSTILE: dict[str, str] = {
    "empty": "",
    "whitespace": "%20%20",
    "no dot": "abc",
    "unknown version": "2." + forge([batch(["info", "x"])])[2:],
    "signature on an unsigned flash": forge([batch(["info", "x"])]) + ".c2ln",
    "bad base64 characters": "1.!!!!",
    "padding": forge([batch(["info", "x"])]) + "==",
    "standard alphabet": "1.W1s+/w",
    "base64 of one char too many": "1.A",
    "not UTF-8": forge(None, raw=b"\xff\xfe[]"),
    "not JSON": forge(None, raw=b"{"),
    "truncated JSON": forge(None, raw=b'[[1800000000,[["info","x"'),
    "data after the JSON": forge(None, raw=b"[] []"),
    "NaN": forge(None, raw=b"NaN"),
    "deep nesting": forge(None, raw=b"[" * 2500),
    "an object": forge({}),
    "no batches": forge([]),
    "batch not a list": forge(["x"]),
    "short batch": forge([[NOW]]),
    "long batch": forge([[NOW, [["info", "x"]], {}, {}, {}]]),
    "float timestamp": forge([[1.8e9, [["info", "x"]]]]),
    "bool timestamp": forge([[True, [["info", "x"]]]]),
    "negative timestamp": forge([[-1, [["info", "x"]]]]),
    "huge timestamp": forge([[10**300, [["info", "x"]]]]),
    "string timestamp": forge([["1800000000", [["info", "x"]]]]),
    "messages not a list": forge([[NOW, "x"]]),
    "empty batch": forge([[NOW, []]]),
    "message not a pair": forge([batch(["info"])]),
    "message of three": forge([batch(["info", "x", "y"])]),
    "number as category": forge([batch([3, "x"])]),
    "script as category": forge([batch(['"><script>alert(1)</script>', "x"])]),
    "long category": forge([batch(["c" * 41, "x"])]),
    "empty category": forge([batch(["", "x"])]),
    "lone surrogate": forge([batch(["info", "\ud800"])]),
    "Markup flag unsigned": forge([batch(["info", "<script>x</script>", 1])]),
    "typed flag unsigned": forge([batch(["info", {" m": "<script>x</script>"}, 2])]),
    "value nested too deep": forge([batch(["info", [[[[[[[[[1]]]]]]]]]])]),
    "value of too many items": forge([batch(["info", list(range(300))])]),
    "value holding a surrogate": forge([batch(["info", {"k": "\ud800"}])]),
    "value holding NaN": forge(None, raw=b'[[1800000000,[["info",[NaN]]]]]'),
    "value holding Infinity": forge(None, raw=b'[[1800000000,[["info",-Infinity]]]]'),
    "form not an object": forge([[NOW, [], ["email"]]]),
    "form value not a list": forge([[NOW, [], {"email": "x"}]]),
    "form value empty list": forge([[NOW, [], {"email": []}]]),
    "form value a number": forge([[NOW, [], {"email": [3]}]]),
    "form value too long": forge([[NOW, [], {"email": ["x" * 1001]}]]),
    "form field name empty": forge([[NOW, [], {"": ["x"]}]]),
    "form field name too long": forge([[NOW, [], {"f" * 101: ["x"]}]]),
    "too many form values": forge([[NOW, [], {"f": ["x"] * 17}]]),
    "too many form fields": forge([[NOW, [], {f"f{i}": ["x"] for i in range(33)}]]),
    "errors not an object": forge([[NOW, [], {}, ["e"]]]),
    "65 messages": forge([batch(*[["i", "m"]] * 65)]),
    "9 batches": forge([batch(["info", "x"])] * 9),
    "future": forge([batch(["info", "x"], created=NOW + 61)]),
    "100 KB value": "1." + "A" * 100_000,
    "100 KB message": forge([batch(["info", "x" * 100_000])]),
    "10,000 categories": forge([batch(*[[f"c{i}", "m"] for i in range(10_000)])]),
}


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_cookies_are_ignored_and_cleared(
    app: Flask, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="flask_scopes"):
        page = show(app, f"flash={value}")
    assert page.status_code == 200
    assert messages(page) == []
    assert "<script>" not in page.text
    assert deletes(page)
    assert [r for r in caplog.records if "Ignored the flash cookie" in r.message]


def test_two_different_cookies_of_that_name(app: Flask) -> None:
    one = forge([batch(["info", "one"])])
    two = forge([batch(["info", "two"])])
    page = show(app, f"flash={one}; flash={two}")
    assert messages(page) == [] and deletes(page)
    page = show(app, f"flash={one}; flash={one}")
    assert messages(page) == [("info", "one")]


def test_non_ascii_cookie_header(app: Flask) -> None:
    environ = {"HTTP_COOKIE": "flash=1.\u00e9\u00e9".encode().decode("latin-1")}
    page = app.test_client(use_cookies=False).get("/", environ_overrides=environ)
    assert page.status_code == 200 and messages(page) == [] and deletes(page)


def test_limits_hold_when_the_cookie_may_be_longer(make_app: AppFactory) -> None:
    app = add_views(make_app(SCOPES_MAX_COOKIE_SIZE=1_000_000))
    value = HOSTILE["10,000 categories"]
    assert len(value) < 1_000_000
    page = show(app, f"flash={value}")
    assert messages(page) == [] and deletes(page)


def test_random_values_never_fail(app: Flask) -> None:
    rng = random.Random(1234)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*"
    for _ in range(200):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 300)))
        for value in (forge(None, raw=raw), text, "1." + text):
            page = show(app, f"flash={value}")
            assert page.status_code == 200
            assert messages(page) == []


def test_script_tags_render_escaped(app: Flask) -> None:
    script = "<script>alert(document.cookie)</script>"
    page = show(app, f"flash={forge([batch(['error', script])])}")
    assert "<script>alert" not in page.text
    assert (
        '<p class="error">&lt;script&gt;alert(document.cookie)&lt;/script&gt;</p>'
        in (page.text)
    )
    assert messages(page) == [
        ("error", "&lt;script&gt;alert(document.cookie)&lt;/script&gt;")
    ]


def test_forged_markup_tag_renders_as_text(app: Flask) -> None:
    tag = json.dumps({" m": "<b>x</b>"})
    page = show(app, f"flash={forge([batch(['info', tag])])}")
    assert messages(page) == [("info", str(Markup.escape(tag)))]
    assert "<b>x</b>" not in page.text


def test_timestamp_at_the_skew_limit_passes(app: Flask) -> None:
    page = show(app, f"flash={forge([batch(['info', 'x'], created=NOW + 60)])}")
    assert messages(page) == [("info", "x")]


def test_expired_batches_are_dropped_alone(app: Flask) -> None:
    value = forge([batch(["info", "old"], created=NOW - 301), batch(["info", "new"])])
    assert messages(show(app, f"flash={value}")) == [("info", "new")]


# -- FlashTooLarge -----------------------------------------------------------


@pytest.fixture
def big_app(make_app: AppFactory) -> t.Callable[..., Flask]:
    def factory(**config: t.Any) -> Flask:
        app = add_views(make_app(**config))

        @app.post("/big")
        def big() -> str:
            flash.info("small")
            flash.error("x" * int(t.cast(str, app.config["BIG"])))
            return "ok"

        return app

    return factory


def test_flash_too_large(big_app: t.Callable[..., Flask]) -> None:
    app = big_app(BIG=100_000)
    with pytest.raises(FlashTooLarge) as info:
        app.test_client().post("/big")
    error = info.value
    assert isinstance(error, ScopesError)
    assert error.limit == 4093
    assert error.size > 100_000
    assert error.largest[0][0] == "error"
    assert "4093" in str(error) and "error" in str(error)


def test_flash_too_large_sets_no_cookie(big_app: t.Callable[..., Flask]) -> None:
    app = big_app(BIG=100_000, TESTING=False)
    client = app.test_client()
    client.post("/save", data={"setting": "on"})
    before = client.get_cookie("flash").value
    failed = client.post("/big")
    assert failed.status_code == 500
    assert set_cookie_headers(failed) == []
    assert client.get_cookie("flash").value == before
    assert messages(client.get("/")) == [("success", "Settings saved!")]


def test_the_whole_header_is_measured(big_app: t.Callable[..., Flask]) -> None:
    # Find the largest message that fits with the default attributes...
    app = big_app(BIG=0)
    low, high = 0, 4093
    while low < high:
        middle = (low + high + 1) // 2
        app.config["BIG"] = middle
        try:
            sent = app.test_client().post("/big")
        except FlashTooLarge:
            high = middle - 1
        else:
            assert len(set_cookie_headers(sent)[0]) <= 4093
            low = middle
    app.config["BIG"] = low
    header = set_cookie_headers(app.test_client().post("/big"))[0]
    assert len(header) > 4093 - 4  # base64 grows in steps of 4
    # ...then a Domain attribute makes the same message too large.
    domain_app = big_app(BIG=low, SESSION_COOKIE_DOMAIN="example.test")
    with pytest.raises(FlashTooLarge):
        domain_app.test_client().post("/big", base_url="http://example.test")


# -- the codec on its own --------------------------------------------------

_categories = st.from_regex(r"[A-Za-z0-9_.-]{1,40}", fullmatch=True)
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_fields = st.dictionaries(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10),
    st.lists(_text, min_size=1, max_size=3),
    max_size=3,
)
_batches = st.lists(
    st.builds(
        Batch,
        st.integers(0, 2**40),
        st.lists(st.tuples(_categories, _text), max_size=5),
        _fields,
        _fields,
    ).filter(bool),
    min_size=1,
    max_size=8,
)


@given(_batches)
def test_what_is_written_is_read_back(batches: list[Batch]) -> None:
    codec = FlashCodec(None, False, 100_000)
    assert codec.decode(codec.encode(batches)) == batches


@given(st.text(max_size=500))
def test_any_text_is_refused_cleanly(value: str) -> None:
    codec = FlashCodec(None, False, 4093)
    try:
        batches = codec.decode(value)
    except BadCookie:
        return
    for b in batches:
        for _, message in b.messages:
            assert_plain(message)


def assert_plain(value: t.Any) -> None:
    """Assert that ``value`` is plain JSON: no Markup, no tagged type."""
    kind = type(value)
    assert kind in (str, int, float, bool, type(None), list, dict), kind
    if kind is list:
        for item in value:
            assert_plain(item)
    elif kind is dict:
        for key, item in value.items():
            assert type(key) is str
            assert_plain(item)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | _text,
        lambda c: st.lists(c, max_size=4) | st.dictionaries(_text, c, max_size=4),
    )
)
def test_any_json_is_refused_cleanly_or_plain_values(data: t.Any) -> None:
    codec = FlashCodec(None, False, 100_000)
    try:
        batches = codec.decode(forge(data))
    except BadCookie:
        return
    for b in batches:
        for category, message in b.messages:
            assert type(category) is str
            assert_plain(message)


def test_signed_codec_keeps_markup_and_checks_signatures() -> None:
    keys = KeyRing(b"key", [], b"flask-scopes.flash")
    codec = FlashCodec(keys, True, 4093)
    value = codec.encode([Batch(NOW, [("info", Markup("<b>x</b>")), ("info", "<i>")])])
    [decoded] = codec.decode(value)
    assert decoded.messages == [("info", "<b>x</b>"), ("info", "<i>")]
    assert type(decoded.messages[0][1]) is Markup
    assert type(decoded.messages[1][1]) is str
    other = FlashCodec(KeyRing(b"other", [], b"flask-scopes.flash"), True, 4093)
    with pytest.raises(BadCookie):
        other.decode(value)
    rotated = FlashCodec(KeyRing(b"new", [b"key"], b"flask-scopes.flash"), True, 4093)
    assert rotated.decode(value) == [decoded]
    unsigned = FlashCodec(None, False, 4093)
    assert json.loads(
        base64.urlsafe_b64decode(unsigned.encode([decoded])[2:] + "==")
    ) == [[NOW, [["info", "<b>x</b>"], ["info", "<i>"]]]]


def test_oversized_values_are_refused_before_decoding() -> None:
    codec = FlashCodec(None, False, 100)
    good = codec.encode([Batch(NOW, [("info", "x")])])
    assert codec.decode(good)
    with pytest.raises(BadCookie, match="over 100"):
        codec.decode(good + "A" * 100)
