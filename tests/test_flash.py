from __future__ import annotations

import json
import typing as t

import pytest
from flask import Flask
from flask import message_flashed
from flask import render_template_string
from flask import request
from markupsafe import Markup

from flask_scopes import ConfigurationError
from flask_scopes import flash
from flask_scopes import FlashValueError
from flask_scopes import Scopes
from flask_scopes import ScopesError
from flask_scopes.flash import Category
from flask_scopes.flash import flash_context
from flask_scopes.flash.context import ENVIRON_KEY

from .flash_support import add_views
from .flash_support import attributes
from .flash_support import decode
from .flash_support import deletes
from .flash_support import forge
from .flash_support import messages
from .flash_support import pairs
from .flash_support import set_cookie_headers
from .flash_support import set_value

AppFactory = t.Callable[..., Flask]


@pytest.fixture
def flash_app(make_app: AppFactory) -> Flask:
    return add_views(make_app())


@pytest.fixture
def client(flash_app: Flask) -> t.Any:
    return flash_app.test_client()


def render(app: Flask, source: str, **context: t.Any) -> str:
    return render_template_string(source, **context)


# -- Post/Redirect/Get -------------------------------------------------------


def test_prg_shows_the_message_once(client: t.Any) -> None:
    posted = client.post("/save", data={"setting": "on"})
    assert posted.status_code == 302
    assert set_value(posted) is not None
    assert client.get_cookie("session") is None  # the flash is its own cookie

    shown = client.get("/")
    assert '<p class="success">Settings saved!</p>' in shown.text
    assert messages(shown) == [("success", "Settings saved!")]
    assert 'class="error"' not in shown.text
    assert deletes(shown)
    assert client.get_cookie("flash") is None

    reloaded = client.get("/")
    assert messages(reloaded) == []
    assert "Settings saved!" not in reloaded.text
    assert set_cookie_headers(reloaded) == []


def test_prg_error_path(client: t.Any) -> None:
    client.post("/save", data={})
    shown = client.get("/")
    assert '<p class="error">Settings invalid!</p>' in shown.text
    assert 'class="success"' not in shown.text
    assert messages(client.get("/")) == []


def test_several_messages_keep_their_order(client: t.Any) -> None:
    client.post(
        "/flash",
        data=pairs(("error", "First"), ("info", "Note"), ("error", "Second")),
    )
    shown = client.get("/")
    assert messages(shown) == [
        ("error", "First"),
        ("info", "Note"),
        ("error", "Second"),
    ]
    # Several messages of one category render joined by a space.
    assert '<p class="error">First Second</p>' in shown.text


def test_works_without_secret_key(make_app: AppFactory) -> None:
    app = add_views(make_app(SECRET_KEY=None))
    client = app.test_client()
    client.post("/save", data={"setting": "on"})
    assert messages(client.get("/")) == [("success", "Settings saved!")]
    assert messages(client.get("/")) == []


# -- writing and reading -----------------------------------------------------


def test_every_way_of_writing(flash_app: Flask) -> None:
    with flash_app.test_request_context():
        flash.success("s")
        flash.error("e")
        flash.warning("w")
        flash.info("i")
        flash["notice"] = "n"
        flash.add("a", "notice")
        flash.add("m")
        flash.custom_category("c")
        flash["with.dots-and_under"]("d")
        scope = flash.scope
        assert scope.outgoing.messages == [
            ("success", "s"),
            ("error", "e"),
            ("warning", "w"),
            ("info", "i"),
            ("notice", "n"),
            ("notice", "a"),
            ("message", "m"),
            ("custom_category", "c"),
            ("with.dots-and_under", "d"),
        ]
        # Writing is not reading: what came in is left alone.
        assert not scope.read


def test_every_way_of_reading(flash_app: Flask) -> None:
    seen: dict[str, t.Any] = {}

    @flash_app.get("/read")
    def read() -> str:
        seen["error"] = list(flash.error)
        seen["item"] = list(flash["notice"])
        seen["get"] = flash.get("notice")
        seen["missing"] = flash.get("warning")
        seen["default"] = flash.get("warning", "none")
        seen["attr"] = str(flash.notice)
        seen["in"] = ("error" in flash, "warning" in flash)
        seen["len"] = len(flash)
        seen["bool"] = bool(flash)
        seen["pairs"] = list(flash)
        return "ok"

    client = flash_app.test_client()
    client.post(
        "/flash",
        data=pairs(("error", "Bad"), ("notice", "Hi"), ("error", "Worse")),
    )
    client.get("/read")
    assert seen["error"] == ["Bad", "Worse"]
    assert seen["item"] == ["Hi"]
    assert seen["get"] == "Hi"
    assert isinstance(seen["get"], Category)
    assert seen["missing"] is None
    assert seen["default"] == "none"
    assert seen["attr"] == "Hi"
    assert seen["in"] == (True, False)
    assert seen["len"] == 3
    assert seen["bool"] is True
    assert seen["pairs"] == [("error", "Bad"), ("notice", "Hi"), ("error", "Worse")]


def test_empty_flash_reads_as_empty(flash_app: Flask) -> None:
    with flash_app.test_request_context():
        assert not flash
        assert len(flash) == 0
        assert list(flash) == []
        assert not flash.error
        assert len(flash.error) == 0
        assert str(flash.error) == ""
        assert flash.error == ""
        assert flash.error == []
        assert flash.get("error") is None
        assert "error" not in flash


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{% if flash.error %}yes{% else %}no{% endif %}", "yes"),
        ("{% if flash.info %}yes{% else %}no{% endif %}", "no"),
        ("{{ flash.error }}", "One &lt;b&gt; Two"),
        ('{{ flash["error"] }}', "One &lt;b&gt; Two"),
        ('{{ flash.get("error") }}', "One &lt;b&gt; Two"),
        ('{{ flash.get("info") }}', "None"),
        ("{{ flash|length }}", "3"),
        ("{{ flash.error|length }}", "2"),
        ("{{ flash.error|join(' / ') }}", "One &lt;b&gt; / Two"),
        ("{% for m in flash.error %}[{{ m }}]{% endfor %}", "[One &lt;b&gt;][Two]"),
        ("{{ flash.error[1] }}", "Two"),
        ("{{ flash.error|first }}", "One &lt;b&gt;"),
        ('{{ flash.error == "One <b> Two" }}', "True"),
        ('{{ "Two" in flash.error }}', "True"),
        ('{{ "Three" in flash.error }}', "False"),
        ('{{ "notice" in flash }}', "True"),
        (
            "{% for c, m in flash %}{{ c }}={{ m }};{% endfor %}",
            "error=One &lt;b&gt;;notice=Hi;error=Two;",
        ),
        ("{{ flash.notice }}", "Hi"),
        ("{{ flash.error|upper }}", "ONE &lt;B&gt; TWO"),
    ],
)
def test_templates_read_the_flash(flash_app: Flask, source: str, expected: str) -> None:
    @flash_app.get("/t")
    def view() -> str:
        return render_template_string(source)

    client = flash_app.test_client()
    client.post(
        "/flash",
        data=pairs(("error", "One <b>"), ("notice", "Hi"), ("error", "Two")),
    )
    assert client.get("/t").text == expected


def test_text_templates_render_plain_text(flash_app: Flask) -> None:
    with flash_app.test_request_context():
        flash.now.error("a < b")
        env = flash_app.jinja_env.overlay(autoescape=False)
        assert env.from_string("{{ flash.error }}").render(flash=flash) == "a < b"


def test_category_object_behaves_like_its_messages(flash_app: Flask) -> None:
    with flash_app.test_request_context():
        flash.now.error("x <i>")
        flash.now.error("y")
        error = flash.error
        assert str(error) == "x <i> y"
        assert error.__html__() == "x &lt;i&gt; y"
        assert error == "x <i> y"
        assert error == ["x <i>", "y"]
        assert error == ("x <i>", "y")
        assert error == flash["error"]
        assert error != "x"
        assert error != 3
        assert "<i>" in error
        assert 3 not in error
        assert error[0] == "x <i>"
        assert list(error) == ["x <i>", "y"]
        assert repr(error) == "<Category 'error' ['x <i>', 'y']>"
        with pytest.raises(TypeError):
            hash(error)


def test_app_markup_renders_as_html_in_the_same_request(flash_app: Flask) -> None:
    with flash_app.test_request_context():
        flash.now.info(Markup("<b>bold</b>"))
        flash.now.info("<b>plain</b>")
        assert render(flash_app, "{{ flash.info }}") == (
            "<b>bold</b> &lt;b&gt;plain&lt;/b&gt;"
        )


def test_unsigned_markup_travels_as_text(client: t.Any, flash_app: Flask) -> None:
    @flash_app.post("/markup")
    def markup() -> str:
        flash.info(Markup("<b>bold</b>"))
        return "ok"

    sent = client.post("/markup")
    assert decode(set_value(sent) or "")[0][1] == [["info", "<b>bold</b>"]]
    assert messages(client.get("/")) == [("info", "&lt;b&gt;bold&lt;/b&gt;")]


def test_objects_with_html_are_accepted(flash_app: Flask) -> None:
    class Lazy:
        def __html__(self) -> str:
            return "<em>lazy</em>"

    with flash_app.test_request_context():
        flash.now.info(Lazy())
        assert render(flash_app, "{{ flash.info }}") == "<em>lazy</em>"


@pytest.mark.parametrize(
    "category", ["", "a b", "<script>", "x" * 41, "caf\u00e9", 3, None, "a;b"]
)
def test_bad_categories_are_refused_where_flashed(
    flash_app: Flask, category: t.Any
) -> None:
    with flash_app.test_request_context():
        with pytest.raises(FlashValueError):
            flash.add("message", category)
        with pytest.raises(FlashValueError):
            flash.now.add("message", category)


@pytest.mark.parametrize(
    "message",
    [
        b"bytes",
        (1, 2),
        object(),
        float("nan"),
        {"k": "lone \ud800"},
        {1: "int key"},
        [[[[[[[[["deep"]]]]]]]]],
        list(range(300)),
        "lone \ud800",
    ],
)
def test_bad_messages_are_refused_where_flashed(
    flash_app: Flask, message: t.Any
) -> None:
    with flash_app.test_request_context():
        with pytest.raises(FlashValueError):
            flash.error(message)


def test_too_many_messages_are_refused_where_flashed(flash_app: Flask) -> None:
    with flash_app.test_request_context():
        for i in range(64):
            flash.info(str(i))
        with pytest.raises(FlashValueError, match="64"):
            flash.info("one more")


def test_attribute_names_that_are_not_categories(flash_app: Flask) -> None:
    with flash_app.test_request_context():
        with pytest.raises(AttributeError):
            flash._private  # noqa: B018
        with pytest.raises(AttributeError):
            flash.__html__  # noqa: B018
        assert repr(flash) == "<flash>"
        assert repr(flash.now) == "<flash (now)>"


def test_message_flashed_signal(flash_app: Flask) -> None:
    sent: list[tuple[str, str]] = []

    def record(app: Flask, message: str, category: str) -> None:
        sent.append((category, message))

    with message_flashed.connected_to(record, flash_app):
        with flash_app.test_request_context():
            flash.error("e")
            flash.now.info("i")
            flash["notice"] = "n"
            with pytest.raises(FlashValueError):
                flash.add("bad", "bad category")
    assert sent == [("error", "e"), ("info", "i"), ("notice", "n")]


def test_outside_a_request() -> None:
    with pytest.raises(RuntimeError, match="request context"):
        flash.error("nowhere")
    with pytest.raises(RuntimeError, match="request context"):
        bool(flash)


def test_app_without_the_extension() -> None:
    app = Flask(__name__)
    with app.test_request_context():
        with pytest.raises(ScopesError, match="init_app"):
            flash.error("x")


def test_every_template_gets_flash(make_app: AppFactory) -> None:
    scopes = Scopes()
    app = make_app(scopes)
    scopes.init_app(app)  # twice: one context processor, not two
    assert app.template_context_processors[None].count(flash_context) == 1
    with app.test_request_context():
        flash.now.info("hello")
        assert render(app, "{{ flash.info }}") == "hello"


# -- now, keep, discard ----------------------------------------------------


def test_now_is_shown_in_this_request_only(client: t.Any, flash_app: Flask) -> None:
    @flash_app.post("/now")
    def now() -> str:
        flash.now.error("Fix the form")
        flash.now["notice"] = "Also this"
        flash.now.add("And this", "notice")
        return render_template_string(
            "{{ flash.error }}|{{ flash.notice }}|{{ flash|length }}"
        )

    shown = client.post("/now")
    assert shown.text == "Fix the form|Also this And this|3"
    assert set_cookie_headers(shown) == []
    assert messages(client.get("/")) == []


def test_now_follows_incoming(client: t.Any, flash_app: Flask) -> None:
    @flash_app.get("/both")
    def both() -> str:
        flash.now.info("now")
        return render_template_string("{% for c, m in flash %}{{ m }},{% endfor %}")

    client.post("/flash", data={"info": "incoming"})
    assert client.get("/both").text == "incoming,now,"


def test_keep_carries_everything_one_more_request(
    client: t.Any, flash_app: Flask
) -> None:
    @flash_app.get("/keep")
    def keep() -> str:
        listed = list(flash)
        flash.keep()
        return repr(listed)

    client.post("/flash", data=pairs(("error", "E"), ("info", "I")))
    kept = client.get("/keep")
    assert kept.text == "[('error', 'E'), ('info', 'I')]"
    assert set_value(kept) is not None
    assert messages(client.get("/")) == [("error", "E"), ("info", "I")]
    assert messages(client.get("/")) == []


def test_keep_one_category(client: t.Any, flash_app: Flask) -> None:
    @flash_app.get("/keep-error")
    def keep_error() -> str:
        flash.keep("error")
        return str(len(flash))

    client.post("/flash", data=pairs(("error", "E"), ("info", "I"), ("error", "F")))
    assert client.get("/keep-error").text == "3"
    assert messages(client.get("/")) == [("error", "E"), ("error", "F")]
    assert messages(client.get("/")) == []


def test_kept_messages_get_a_new_lifetime(
    client: t.Any, flash_app: Flask, clock: t.Any
) -> None:
    @flash_app.get("/keep")
    def keep() -> str:
        flash.keep()
        return str(len(flash))

    client.post("/flash", data={"info": "I"})
    clock.advance(250)
    assert client.get("/keep").text == "1"
    clock.advance(250)
    assert messages(client.get("/")) == [("info", "I")]


def test_keep_with_new_messages(client: t.Any, flash_app: Flask) -> None:
    @flash_app.get("/keep-and-add")
    def keep_and_add() -> str:
        flash.keep()
        flash.success("new")
        return str(len(flash))

    client.post("/flash", data={"info": "old"})
    assert client.get("/keep-and-add").text == "1"
    assert messages(client.get("/")) == [("info", "old"), ("success", "new")]


def test_discard_drops_unread_messages(client: t.Any, flash_app: Flask) -> None:
    @flash_app.get("/discard")
    def discard() -> str:
        flash.discard()
        return "discarded"

    client.post("/flash", data={"info": "I"})
    assert deletes(client.get("/discard"))
    assert messages(client.get("/")) == []


def test_discard_still_shows_in_this_request(client: t.Any, flash_app: Flask) -> None:
    @flash_app.get("/discard-shown")
    def discard_shown() -> str:
        flash.discard()
        return str(flash.info)

    client.post("/flash", data={"info": "I"})
    assert client.get("/discard-shown").text == "I"
    assert messages(client.get("/")) == []


def test_discard_one_category_keeps_the_rest_unread(
    client: t.Any, flash_app: Flask
) -> None:
    @flash_app.get("/discard-error")
    def discard_error() -> str:
        flash.discard("error")
        return "ok"

    client.post("/flash", data=pairs(("error", "E"), ("info", "I")))
    client.get("/discard-error")
    assert messages(client.get("/")) == [("info", "I")]


def test_keep_all_then_discard_one(client: t.Any, flash_app: Flask) -> None:
    @flash_app.get("/mixed")
    def mixed() -> str:
        flash.keep()
        flash.discard("error")
        return str(len(flash))

    client.post("/flash", data=pairs(("error", "E"), ("info", "I")))
    assert client.get("/mixed").text == "2"
    assert messages(client.get("/")) == [("info", "I")]


def test_discard_all_then_keep_one(client: t.Any, flash_app: Flask) -> None:
    @flash_app.get("/mixed")
    def mixed() -> str:
        flash.discard()
        flash.keep("info")
        return str(len(flash))

    client.post("/flash", data=pairs(("error", "E"), ("info", "I")))
    assert client.get("/mixed").text == "2"
    assert messages(client.get("/")) == [("info", "I")]


# -- lifetime ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/plain", {}),
        ("/static/flash-test.css", {}),
        ("/api", {"X-Requested-With": "XMLHttpRequest"}),
        ("/api", {"Accept": "application/json"}),
        ("/missing", {}),
    ],
)
def test_requests_that_never_read_do_not_consume(
    client: t.Any, path: str, headers: dict[str, str]
) -> None:
    client.post("/save", data={"setting": "on"})
    other = client.get(path, headers=headers)
    other.close()
    assert set_cookie_headers(other) == []
    assert "Cookie" not in other.headers.get("Vary", "")
    assert messages(client.get("/")) == [("success", "Settings saved!")]


def test_head_does_not_consume(client: t.Any) -> None:
    client.post("/save", data={"setting": "on"})
    head = client.head("/")
    assert head.status_code == 200
    assert set_cookie_headers(head) == []
    assert messages(client.get("/")) == [("success", "Settings saved!")]


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Purpose": "prefetch"},
        {"Sec-Purpose": "prefetch;prerender"},
        {"Purpose": "prefetch"},
        {"X-Purpose": "preview"},
        {"X-Moz": "prefetch"},
    ],
)
def test_prefetch_does_not_consume(client: t.Any, headers: dict[str, str]) -> None:
    client.post("/save", data={"setting": "on"})
    prefetched = client.get("/", headers=headers)
    assert messages(prefetched) == [("success", "Settings saved!")]
    assert set_cookie_headers(prefetched) == []
    assert messages(client.get("/")) == [("success", "Settings saved!")]


def test_server_error_does_not_consume(make_app: AppFactory) -> None:
    app = add_views(make_app(TESTING=False))
    client = app.test_client()
    client.post("/save", data={"setting": "on"})
    failed = client.get("/crash")
    assert failed.status_code == 500
    assert not deletes(failed)
    assert messages(client.get("/")) == [("success", "Settings saved!")]


def test_unread_flash_expires(client: t.Any, clock: t.Any) -> None:
    posted = client.post("/save", data={"setting": "on"})
    assert "Max-Age=300" in set_cookie_headers(posted)[0]
    clock.advance(301)
    # The client still sends the cookie: the server's timestamp decides.
    assert client.get_cookie("flash") is not None
    late = client.get("/")
    assert messages(late) == []
    assert deletes(late)


def test_age_at_the_limit_passes(client: t.Any, clock: t.Any) -> None:
    client.post("/save", data={"setting": "on"})
    clock.advance(300)
    assert messages(client.get("/")) == [("success", "Settings saved!")]


def test_max_age_setting(make_app: AppFactory, clock: t.Any) -> None:
    client = add_views(make_app(SCOPES_FLASH_MAX_AGE=10)).test_client()
    posted = client.post("/save", data={"setting": "on"})
    assert "Max-Age=10" in set_cookie_headers(posted)[0]
    clock.advance(11)
    assert messages(client.get("/")) == []


def test_unread_messages_are_carried_with_new_ones(client: t.Any, clock: t.Any) -> None:
    client.post("/flash", data={"info": "first"})
    clock.advance(200)
    client.post("/flash", data={"info": "second"})
    assert messages(client.get("/")) == [("info", "first"), ("info", "second")]


def test_carried_messages_keep_their_own_age(client: t.Any, clock: t.Any) -> None:
    client.post("/flash", data={"info": "first"})
    clock.advance(200)
    client.post("/flash", data={"info": "second"})
    clock.advance(101)
    # "first" is 301 s old, "second" 101 s.
    assert messages(client.get("/")) == [("info", "second")]


@pytest.mark.parametrize("size", [200, 1000])
def test_unread_flashes_do_not_pile_up(client: t.Any, size: int) -> None:
    for i in range(40):
        sent = client.post("/flash", data={"info": f"{i:02d} " + "x" * size})
        assert sent.status_code == 302
        assert len(set_cookie_headers(sent)[0]) <= 4093
    shown = [m for _, m in messages(client.get("/"))]
    assert 0 < len(shown) < 40
    # The newest are kept; the oldest gave way.
    assert shown[-1].startswith("39 ")
    assert [int(m[:2]) for m in shown] == list(range(40 - len(shown), 40))


def test_read_and_flash_in_one_request(client: t.Any, flash_app: Flask) -> None:
    @flash_app.post("/read-then-flash")
    def read_then_flash() -> str:
        shown = [m for _, m in flash]
        flash.info("flashed after reading")
        return repr(shown)

    client.post("/flash", data={"info": "old"})
    assert client.post("/read-then-flash").text == "['old']"
    assert messages(client.get("/")) == [("info", "flashed after reading")]
    assert messages(client.get("/")) == []


def test_unused_flash_costs_nothing(client: t.Any, flash_app: Flask) -> None:
    created: list[bool] = []

    @flash_app.after_request
    def record(response: t.Any) -> t.Any:
        created.append(ENVIRON_KEY in request.environ)
        return response

    client.post("/save", data={"setting": "on"})
    client.get("/plain")
    client.get("/")
    assert created == [True, False, True]


def test_keep_with_nothing_came_in(client: t.Any, flash_app: Flask) -> None:
    @flash_app.get("/keep")
    def keep() -> str:
        flash.keep()
        flash.discard("error")
        return "ok"

    assert set_cookie_headers(client.get("/keep")) == []


def test_strict_consumes_on_the_next_request(make_app: AppFactory) -> None:
    client = add_views(make_app(SCOPES_FLASH_STRICT=True)).test_client()
    client.post("/save", data={"setting": "on"})
    static = client.get("/static/flash-test.css")
    static.close()
    assert deletes(static)
    assert messages(client.get("/")) == []


def test_strict_head_consumes(make_app: AppFactory) -> None:
    client = add_views(make_app(SCOPES_FLASH_STRICT=True)).test_client()
    client.post("/save", data={"setting": "on"})
    assert messages(client.head("/")) == []
    assert client.get_cookie("flash") is None


def test_strict_keep(make_app: AppFactory) -> None:
    app = add_views(make_app(SCOPES_FLASH_STRICT=True))

    @app.get("/keep")
    def keep() -> str:
        flash.keep()
        return "kept"

    client = app.test_client()
    client.post("/save", data={"setting": "on"})
    client.get("/keep")
    assert messages(client.get("/")) == [("success", "Settings saved!")]


def test_strict_with_nothing_to_consume(make_app: AppFactory) -> None:
    client = add_views(make_app(SCOPES_FLASH_STRICT=True)).test_client()
    assert set_cookie_headers(client.get("/plain")) == []


# -- cookie attributes and caches -----------------------------------------


def test_vary_when_read(client: t.Any) -> None:
    assert client.get("/").headers.get("Vary") == "Cookie"
    client.post("/save", data={"setting": "on"})
    assert client.get("/").headers.get("Vary") == "Cookie"
    assert "Vary" not in client.get("/plain").headers


@pytest.mark.parametrize(
    "config",
    [
        {},
        {
            "SESSION_COOKIE_DOMAIN": "example.test",
            "SESSION_COOKIE_PATH": "/app",
            "SESSION_COOKIE_SECURE": True,
            "SESSION_COOKIE_SAMESITE": "Strict",
            "SESSION_COOKIE_PARTITIONED": True,
        },
        {"SESSION_COOKIE_SAMESITE": False, "SESSION_COOKIE_HTTPONLY": False},
        {
            "SCOPES_FLASH_COOKIE_NAME": "__Host-flash",
            "SESSION_COOKIE_SECURE": True,
        },
    ],
)
def test_set_and_delete_repeat_the_attributes(
    make_app: AppFactory, config: dict[str, t.Any]
) -> None:
    app = add_views(make_app(**config))
    name = config.get("SCOPES_FLASH_COOKIE_NAME", "flash")
    base = {"base_url": "https://example.test/app"}
    client = app.test_client()
    sent = client.post("/save", data={"setting": "on"}, **base)
    [set_header] = set_cookie_headers(sent, name)
    shown = client.get("/", **base)
    assert messages(shown) == [("success", "Settings saved!")]
    [delete_header] = set_cookie_headers(shown, name)
    assert deletes(shown, name)
    assert attributes(set_header) == attributes(delete_header)
    assert "HttpOnly" in attributes(set_header)
    for key in ("Domain", "Path", "SameSite"):
        assert [a for a in attributes(set_header) if a.startswith(key)] == [
            a for a in attributes(delete_header) if a.startswith(key)
        ]


def test_own_cookie_name(make_app: AppFactory) -> None:
    client = add_views(make_app(SCOPES_FLASH_COOKIE_NAME="notices")).test_client()
    sent = client.post("/save", data={"setting": "on"})
    assert set_value(sent, "notices") is not None
    assert set_cookie_headers(sent, "flash") == []
    assert messages(client.get("/")) == [("success", "Settings saved!")]


def test_flash_does_not_touch_the_session(client: t.Any) -> None:
    sent = client.post("/save", data={"setting": "on"})
    shown = client.get("/")
    for response in (sent, shown):
        assert set_cookie_headers(response, "session") == []


# -- signing -----------------------------------------------------------------


@pytest.fixture
def signed_app(make_app: AppFactory) -> Flask:
    app = add_views(make_app(SCOPES_FLASH_SIGNED=True))

    @app.post("/markup")
    def markup() -> str:
        flash.info(Markup("<b>bold</b>"))
        return "ok"

    return app


def test_signed_flash_round_trip(signed_app: Flask) -> None:
    client = signed_app.test_client()
    value = set_value(client.post("/save", data={"setting": "on"}))
    assert value is not None and value.count(".") == 2
    assert messages(client.get("/")) == [("success", "Settings saved!")]


def test_signed_flash_keeps_markup(signed_app: Flask) -> None:
    client = signed_app.test_client()
    client.post("/markup")
    assert messages(client.get("/")) == [("info", "<b>bold</b>")]


def test_signed_flash_refuses_tampering(signed_app: Flask) -> None:
    client = signed_app.test_client(use_cookies=False)
    value = set_value(client.post("/markup")) or ""
    header, body, signature = value.split(".")
    forged_body = forge([[1_800_000_000, [["info", "<script>x</script>", 1]]]])
    for forged in (
        f"{header}.{body}.{signature[:-1]}",
        f"{header}.{body}",
        f"{forged_body}.{signature}",
        forged_body,
    ):
        shown = client.get("/", headers={"Cookie": f"flash={forged}"})
        assert messages(shown) == []
        assert deletes(shown)


def test_signed_flash_needs_a_secret_key(make_app: AppFactory) -> None:
    app = add_views(make_app(SCOPES_FLASH_SIGNED=True, SECRET_KEY=None))
    with app.test_request_context():
        with pytest.raises(ConfigurationError, match="SCOPES_FLASH_SIGNED"):
            flash.error("x")
        flash.now.error("shown now, never stored")
        assert str(flash.error) == "shown now, never stored"
    client = app.test_client(use_cookies=False)
    # A cookie that claims to be signed can't be verified: ignored, cleared.
    shown = client.get("/", headers={"Cookie": "flash=1.e30.abc"})
    assert messages(shown) == [] and deletes(shown)


def test_signature_salts_keep_the_scopes_apart(
    make_app: AppFactory, signed_app: Flask
) -> None:
    client = signed_app.test_client(use_cookies=False)
    flash_value = set_value(client.post("/save", data={"setting": "on"}))
    app = make_app()

    @app.get("/session")
    def session_view() -> str:
        from flask import session

        return repr(dict(session))

    @app.post("/login")
    def login() -> str:
        from flask import session

        session["user"] = "alice"
        return "ok"

    other = app.test_client(use_cookies=False)
    shown = other.get("/session", headers={"Cookie": f"session={flash_value}"})
    assert shown.text == "{}"
    session_value = set_value(other.post("/login"), "session")
    forged = client.get("/", headers={"Cookie": f"flash={session_value}"})
    assert messages(forged) == [] and deletes(forged)


def test_changing_the_configuration_applies(flash_app: Flask) -> None:
    client = flash_app.test_client()
    client.post("/save", data={"setting": "on"})
    flash_app.config["SCOPES_FLASH_COOKIE_NAME"] = "renamed"
    sent = client.post("/save", data={"setting": "on"})
    assert set_value(sent, "renamed") is not None


def test_the_scope_makes_no_reference_cycle(client: t.Any, flash_app: Flask) -> None:
    import gc
    import weakref

    refs: list[weakref.ref[t.Any]] = []

    @flash_app.get("/ref")
    def ref() -> str:
        refs.append(weakref.ref(request._get_current_object()))  # type: ignore[attr-defined]
        refs.append(weakref.ref(flash.scope))
        return str(len(flash))

    client.post("/save", data={"setting": "on"})
    gc.disable()
    try:
        assert client.get("/ref").text == "1"
        assert [r() for r in refs] == [None, None]
    finally:
        gc.enable()


def test_flashing_in_after_request_is_saved(client: t.Any, flash_app: Flask) -> None:
    @flash_app.after_request
    def late(response: t.Any) -> t.Any:
        if request.path == "/plain":
            flash.info("from after_request")
        return response

    client.get("/plain")
    assert messages(client.get("/")) == [("info", "from after_request")]


def test_flashing_after_the_response_was_saved_raises(
    client: t.Any, flash_app: Flask
) -> None:
    errors: list[BaseException] = []

    @flash_app.teardown_request
    def too_late(exc: BaseException | None) -> None:
        if request.path != "/plain":
            return
        for write in (
            lambda: flash.error("lost"),
            lambda: flash.keep(),
            lambda: flash.field_error("email", "lost"),
            lambda: flash.keep_form({"email": "x"}, only=["email"]),
        ):
            try:
                write()
            except RuntimeError as e:
                errors.append(e)
        flash.now.info("this request only: harmless")

    client.get("/plain")
    assert len(errors) == 4
    assert "would be lost" in str(errors[0])
    assert messages(client.get("/")) == []


# -- hostile flash cookies never cause a 5xx ------------------------------------------


def _hostile_app(make_app: AppFactory) -> Flask:
    app = add_views(make_app(PROPAGATE_EXCEPTIONS=False))

    @app.get("/keep")
    def keep() -> str:
        flash.keep()
        return str(len(flash))

    @app.get("/keep-and-add")
    def keep_and_add() -> str:
        flash.keep()
        flash.success("new")
        return "ok"

    @app.post("/json-form")
    def json_form() -> str:
        carried = flash.keep_form(request.get_json(), only=["name", "city"])
        return ",".join(carried)

    return app


def _big_batch(now: int, count: int, size: int) -> list[t.Any]:
    return [now, [["info", "x" * size] for _ in range(count)], {}, {}]


def test_kept_flash_near_the_limit_is_dropped_not_an_error(
    make_app: AppFactory, clock: t.Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = _hostile_app(make_app)
    client = app.test_client()
    now = int(clock.now)
    client.set_cookie("flash", forge([_big_batch(now, 1, 2990)]))
    with caplog.at_level("INFO", logger="flask_scopes"):
        response = client.get("/keep")
    assert response.status_code == 200
    assert response.text == "1"
    assert deletes(response)
    assert any("Dropped a kept flash" in r.getMessage() for r in caplog.records)


def test_kept_flash_full_of_messages_gives_way_to_a_new_one(
    make_app: AppFactory, clock: t.Any
) -> None:
    app = _hostile_app(make_app)
    client = app.test_client()
    client.set_cookie("flash", forge([_big_batch(int(clock.now), 64, 1)]))
    response = client.get("/keep-and-add")
    assert response.status_code == 200
    assert response.text == "ok"
    assert messages(client.get("/")) == [("success", "new")]


def test_keep_form_leaves_out_lone_surrogates(make_app: AppFactory) -> None:
    app = _hostile_app(make_app)
    client = app.test_client()
    body = '{"name": "\\ud800", "city": "Lyon"}'
    response = client.post("/json-form", data=body, content_type="application/json")
    assert response.status_code == 200
    assert response.text == "city"


def test_any_flash_cookie_and_any_use_never_fails(
    make_app: AppFactory, clock: t.Any
) -> None:
    from hypothesis import example
    from hypothesis import given
    from hypothesis import HealthCheck
    from hypothesis import settings
    from hypothesis import strategies as st

    from .strategies import flash_bodies

    app = _hostile_app(make_app)

    @app.post("/use")
    def use() -> str:
        for op in request.json["ops"]:  # type: ignore[index]
            kind, value = op
            if kind == "keep":
                flash.keep(value or None)
            elif kind == "now":
                flash.now.add(value, "info")
            elif kind == "new":
                flash.add(value, "info")
            elif kind == "form":
                flash.keep_form({"f": value}, only=["f"])
        return str(len(flash))

    texts = st.one_of(st.just(""), st.just("info"), st.text(max_size=300))
    ops = st.lists(
        st.tuples(st.sampled_from(["keep", "now", "new", "form"]), texts), max_size=6
    )
    cookies = st.one_of(
        flash_bodies().map(lambda raw: forge(None, raw)),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=4100),
        # Near the size and count limits, where keeping it can't fit.
        st.builds(
            lambda n, total: forge([_big_batch(int(clock.now), n, total // n)]),
            st.integers(1, 64),
            st.integers(2000, 3000),
        ),
    )

    now = int(clock.now)

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(cookie=cookies, ops=ops)
    # The findings of the review: a kept cookie near the size limit, and a
    # kept cookie full of messages plus a new one.
    @example(cookie=forge([_big_batch(now, 1, 2995)]), ops=[("keep", "")])
    @example(cookie=forge([_big_batch(now, 64, 1)]), ops=[("keep", ""), ("new", "n")])
    @example(cookie=forge([_big_batch(now, 64, 1)]), ops=[("keep", "info")])
    def check(cookie: str, ops: list[tuple[str, str]]) -> None:
        client = app.test_client(use_cookies=False)
        headers = {"Cookie": f"flash={cookie}"}
        body = json.dumps({"ops": ops}).encode("utf-8", "surrogatepass")
        response = client.post(
            "/use", data=body, headers=headers, content_type="application/json"
        )
        # Only new messages that don't fit alone (the app's own doing) may
        # be an error; nothing the client sent may be.
        new = [v for k, v in ops if k == "new"]
        if response.status_code >= 500:
            assert len(json.dumps(new)) > 2000, response.text

    check()


def test_any_form_body_never_fails(make_app: AppFactory) -> None:
    from hypothesis import given
    from hypothesis import HealthCheck
    from hypothesis import settings
    from hypothesis import strategies as st

    app = _hostile_app(make_app)
    values = st.one_of(
        st.text(max_size=50),
        st.text(max_size=50).map(lambda s: s + "\ud800"),
        st.integers(),
        st.none(),
        st.lists(st.text(max_size=5), max_size=3),
    )

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(form=st.dictionaries(st.sampled_from(["name", "city", "x"]), values))
    def check(form: dict[str, t.Any]) -> None:
        body = json.dumps(form).encode("utf-8", "surrogatepass")
        response = app.test_client().post(
            "/json-form", data=body, content_type="application/json"
        )
        assert response.status_code < 500, response.text

    check()
