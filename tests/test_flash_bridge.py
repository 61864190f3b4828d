"""Flask's own ``flash()`` and ``get_flashed_messages()`` on the flash
cookie."""

from __future__ import annotations

import typing as t

import flask
import pytest
from flask import Flask
from flask import get_flashed_messages
from flask import message_flashed
from flask import render_template
from flask import render_template_string
from flask import session
from markupsafe import Markup

from flask_scopes import flash
from flask_scopes import FlashValueError

from .conftest import SECRET
from .flash_support import add_views
from .flash_support import messages
from .flash_support import set_cookie_headers
from .flash_support import set_value

AppFactory = t.Callable[..., Flask]


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    app = add_views(make_app())

    @app.post("/flask-flash")
    def flask_flash() -> t.Any:
        flask.flash("Legacy error", "error")
        flask.flash("Plain message")
        return flask.redirect("/")

    @app.get("/filtered")
    def filtered() -> t.Any:
        errors = get_flashed_messages(category_filter=["error"])
        everything = get_flashed_messages(with_categories=True)
        return flask.jsonify(errors=errors, everything=everything)

    return app


def test_flask_flash_goes_to_the_flash_cookie(app: Flask) -> None:
    client = app.test_client()
    sent = client.post("/flask-flash")
    assert set_value(sent) is not None
    assert set_cookie_headers(sent, "session") == []
    shown = client.get("/legacy")
    assert messages(shown) == [("error", "Legacy error"), ("message", "Plain message")]
    assert messages(client.get("/legacy")) == []


def test_flask_flash_is_read_by_flash(app: Flask) -> None:
    client = app.test_client()
    client.post("/flask-flash")
    shown = client.get("/")
    assert '<p class="error">Legacy error</p>' in shown.text
    assert messages(shown) == [("error", "Legacy error"), ("message", "Plain message")]
    assert messages(client.get("/")) == []


def test_flash_is_read_by_get_flashed_messages(app: Flask) -> None:
    client = app.test_client()
    client.post("/save", data={})
    assert messages(client.get("/legacy")) == [("error", "Settings invalid!")]
    assert messages(client.get("/")) == []


def test_category_filter_and_with_categories(app: Flask) -> None:
    client = app.test_client()
    client.post("/flask-flash")
    client.post("/save", data={"setting": "on"})
    assert client.get("/filtered").json == {
        "errors": ["Legacy error"],
        "everything": [
            ["error", "Legacy error"],
            ["message", "Plain message"],
            ["success", "Settings saved!"],
        ],
    }
    # Like Flask, a filtered read uses up every category.
    assert messages(client.get("/")) == []


def test_flashed_and_read_in_the_same_request(app: Flask) -> None:
    @app.get("/render-now")
    def render_now() -> str:
        flask.flash("Shown at once", "info")
        return render_template("flash/legacy.html")

    client = app.test_client()
    shown = client.get("/render-now")
    assert messages(shown) == [("info", "Shown at once")]
    assert set_cookie_headers(shown) == []
    assert messages(client.get("/legacy")) == []


def test_flashed_after_reading_is_not_lost(app: Flask) -> None:
    @app.get("/read-then-flash")
    def read_then_flash() -> str:
        first = get_flashed_messages()
        flask.flash("After reading", "info")
        flash.warning("Native after reading")
        # Flask caches the first read for the rest of the request.
        return repr((first, get_flashed_messages()))

    client = app.test_client()
    client.post("/save", data={"setting": "on"})
    shown = client.get("/read-then-flash")
    assert shown.text == repr((["Settings saved!"], ["Settings saved!"]))
    assert messages(client.get("/")) == [
        ("info", "After reading"),
        ("warning", "Native after reading"),
    ]
    assert messages(client.get("/")) == []


def test_flask_flash_and_native_flash_in_one_request(app: Flask) -> None:
    @app.post("/both")
    def both() -> t.Any:
        flash.error("native")
        flask.flash("flask", "error")
        flash.error("native again")
        return flask.redirect("/")

    client = app.test_client()
    client.post("/both")
    assert messages(client.get("/legacy")) == [
        ("error", "native"),
        ("error", "flask"),
        ("error", "native again"),
    ]


def test_now_messages_show_in_get_flashed_messages(app: Flask) -> None:
    @app.get("/now")
    def now() -> str:
        flash.now.info("now")
        return render_template("flash/legacy.html")

    assert messages(app.test_client().get("/now")) == [("info", "now")]


def test_message_flashed_is_sent_once(app: Flask) -> None:
    sent: list[tuple[str, str]] = []

    def record(sender: Flask, message: str, category: str) -> None:
        sent.append((category, message))

    with message_flashed.connected_to(record, app):
        app.test_client().post("/flask-flash")
    assert sent == [("error", "Legacy error"), ("message", "Plain message")]


def test_flashes_never_reach_the_session_cookie(app: Flask) -> None:
    @app.post("/login-and-flash")
    def login_and_flash() -> t.Any:
        session["user"] = "alice"
        flask.flash("Welcome", "success")
        assert "_flashes" not in dict(session.items())
        return flask.redirect("/")

    client = app.test_client()
    sent = client.post("/login-and-flash")
    value = set_value(sent, "session")
    assert value is not None
    runtime = app.session_interface.runtime(app)  # type: ignore[attr-defined]
    assert runtime.codec.decode(value)[2] == {"user": "alice"}
    assert messages(client.get("/")) == [("success", "Welcome")]


def test_session_transaction_can_flash(app: Flask) -> None:
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_flashes"] = [("error", "From the test")]
    assert client.get_cookie("session") is None
    assert messages(client.get("/")) == [("error", "From the test")]


def test_without_secret_key(make_app: AppFactory) -> None:
    app = add_views(make_app(SECRET_KEY=None))

    @app.post("/flask-flash")
    def flask_flash() -> t.Any:
        flask.flash("No key needed", "info")
        with pytest.raises(RuntimeError, match="no secret key"):
            session["user"] = "x"
        return flask.redirect("/")

    client = app.test_client()
    assert set_value(client.post("/flask-flash")) is not None
    assert messages(client.get("/legacy")) == [("info", "No key needed")]


def test_session_mapping_view_of_flashes(app: Flask) -> None:
    client = app.test_client()
    client.post("/save", data={"setting": "on"})
    with app.test_request_context(headers={"Cookie": _cookie(client)}):
        assert session.get("_flashes", "none") == "none"
        with pytest.raises(KeyError):
            session["_flashes"]  # noqa: B018
        session["_flashes"] = [("info", "a")]
        assert session["_flashes"] == [("info", "a")]
        assert session.setdefault("_flashes", []) == [("info", "a")]
        session.update({"_flashes": [("info", "b")]})
        assert session.get("_flashes") == [("info", "b")]
        assert "_flashes" in session
        assert session.pop("_flashes") == [
            ("success", "Settings saved!"),
            ("info", "b"),
        ]
        assert "_flashes" not in session
        assert session.pop("_flashes", "gone") == "gone"
        assert session.setdefault("_flashes", [("info", "c")]) == [("info", "c")]
        del session["_flashes"]
        assert session.get("_flashes") is None
        assert not session.modified
        assert dict(session.items()) == {}


@pytest.mark.parametrize(
    "value",
    ["text", [("a b", "bad category")], [("info",)], [("info", b"x")], [1], None],
)
def test_bad_flashes_are_refused(app: Flask, value: t.Any) -> None:
    with app.test_request_context():
        with pytest.raises(FlashValueError):
            session["_flashes"] = value


def test_flask_flash_with_markup(app: Flask) -> None:
    @app.post("/markup")
    def markup() -> t.Any:
        flask.flash(Markup("<b>now</b>"), "info")
        return render_template_string(
            "{% for m in get_flashed_messages() %}{{ m }}{% endfor %}"
        )

    @app.post("/markup-later")
    def markup_later() -> t.Any:
        flask.flash(Markup("<b>later</b>"), "info")
        return flask.redirect("/")

    client = app.test_client()
    assert client.post("/markup").text == "<b>now</b>"
    client.post("/markup-later")
    # Unsigned, it travels as text and renders escaped.
    assert messages(client.get("/legacy")) == [("info", "&lt;b&gt;later&lt;/b&gt;")]


@pytest.mark.usefixtures("real_clock")
def test_flashes_in_a_flask_session_cookie_move_to_the_flash(
    make_app: AppFactory,
) -> None:
    plain = Flask(__name__)
    plain.secret_key = SECRET

    @plain.post("/")
    def flask_view() -> str:
        session["user"] = "alice"
        flask.flash("Pending from before", "info")
        return "ok"

    flask_cookie = set_value(plain.test_client().post("/"), "session")
    app = add_views(make_app())
    client = app.test_client(use_cookies=False)
    cookie = {"Cookie": f"session={flask_cookie}"}

    @app.get("/user")
    def user() -> str:
        return str(session.get("user"))

    # A request that reads the session but not the flash moves them over.
    moved = client.get("/user", headers=cookie)
    assert moved.text == "alice"
    new_session = set_value(moved, "session")
    runtime = app.session_interface.runtime(app)  # type: ignore[attr-defined]
    assert runtime.codec.decode(new_session)[2] == {"user": "alice"}
    flash_value = set_value(moved)
    assert flash_value is not None
    shown = client.get(
        "/", headers={"Cookie": f"session={new_session}; flash={flash_value}"}
    )
    assert messages(shown) == [("info", "Pending from before")]


def _cookie(client: t.Any) -> str:
    value = client.get_cookie("flash").value
    return f"flash={value}"


@pytest.mark.parametrize("mode", ["cookie", "simple"])
@pytest.mark.usefixtures("real_clock")
def test_flask_cookie_holding_only_flashes_shows_them_once(
    make_app: AppFactory, mode: str
) -> None:
    from cachelib import SimpleCache

    flask_app = Flask(__name__)
    flask_app.secret_key = SECRET

    @flask_app.post("/flash")
    def flask_flash() -> str:
        flask.flash("Saved before the switch", "info")
        return "ok"

    flask_client = flask_app.test_client()
    flask_client.post("/flash")
    legacy = flask_client.get_cookie("session")
    assert legacy is not None

    config = {}
    if mode == "simple":
        config["SCOPES_SESSION_STORE"] = SimpleCache(threshold=1_000_000)
    app = add_views(make_app(**config))
    client = app.test_client()
    client.set_cookie("session", legacy.value)
    first = client.get("/legacy")
    assert messages(first) == [("info", "Saved before the switch")]
    # The migrated cookie is deleted in the same response...
    (header,) = set_cookie_headers(first, "session")
    assert header.startswith("session=;") and "Max-Age=0" in header
    assert client.get_cookie("session") is None
    # ...so the messages never come back.
    assert messages(client.get("/legacy")) == []
    assert messages(client.get("/legacy")) == []


@pytest.mark.usefixtures("real_clock")
def test_flask_cookie_with_flashes_and_data_keeps_the_data(
    make_app: AppFactory,
) -> None:
    flask_app = Flask(__name__)
    flask_app.secret_key = SECRET

    @flask_app.post("/flash")
    def flask_flash() -> str:
        session["user"] = "alice"
        flask.flash("Welcome back")
        return "ok"

    flask_client = flask_app.test_client()
    flask_client.post("/flash")
    legacy = flask_client.get_cookie("session")
    assert legacy is not None

    app = add_views(make_app())

    @app.get("/user")
    def user() -> str:
        return repr(session.get("user"))

    client = app.test_client()
    client.set_cookie("session", legacy.value)
    assert messages(client.get("/legacy")) == [("message", "Welcome back")]
    assert client.get_cookie("session").value != legacy.value  # type: ignore[union-attr]
    assert messages(client.get("/legacy")) == []
    assert client.get("/user").text == "'alice'"


def test_a_view_that_only_flashes_sets_only_the_flash_cookie(
    make_app: AppFactory,
) -> None:
    # The example of the migrating page.
    app = make_app()

    @app.post("/save")
    def save() -> t.Any:
        session["saved"] = True
        return flask.redirect("/done")

    @app.get("/done")
    def done() -> t.Any:
        flask.flash("Saved")
        return flask.redirect("/")

    @app.get("/")
    def index() -> str:
        return "home"

    client = app.test_client()
    response = client.post("/save", follow_redirects=True)
    to_save, to_done = response.history
    assert to_save.headers["Set-Cookie"].startswith("session=")
    assert to_done.headers["Set-Cookie"].startswith("flash=")
    assert set_cookie_headers(to_done, "session") == []
    with client.session_transaction() as sess:
        assert sess["saved"]
