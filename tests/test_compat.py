"""Flask's own session API and the extensions built on it run unchanged."""

from __future__ import annotations

import re
import typing as t

import pytest
from flask import Flask
from flask import render_template_string
from flask import request
from flask import session

from .helpers import set_cookies


def test_session_transaction_reads_and_writes(app: Flask) -> None:
    @app.get("/")
    def index() -> str:
        return repr(session.get("user"))

    client = app.test_client()
    with client.session_transaction() as sess:
        assert sess.get("user") is None
        sess["user"] = "alice"
    assert client.get("/").text == "'alice'"
    with client.session_transaction() as sess:
        assert sess["user"] == "alice"
        sess.clear()
    assert client.get("/").text == "None"


def test_session_transaction_without_secret_key(clock: t.Any) -> None:
    from flask_scopes import Scopes

    # As with Flask's own session: there is no session to open.
    app = Flask(__name__)
    Scopes(app, clock=clock)
    with pytest.raises(RuntimeError, match="did not open a session"):
        with app.test_client().session_transaction():
            pass


def test_session_in_templates(app: Flask) -> None:
    @app.get("/")
    def index() -> str:
        session["name"] = "<alice>"
        return render_template_string("{{ session.name }} {{ session|length }}")

    assert app.test_client().get("/").text == "&lt;alice&gt; 1"


def test_flask_login(app: Flask) -> None:
    flask_login = pytest.importorskip("flask_login")

    class User(flask_login.UserMixin):  # type: ignore[misc]
        def __init__(self, user_id: str) -> None:
            self.id = user_id

    manager = flask_login.LoginManager(app)

    @manager.user_loader  # type: ignore[misc]
    def load(user_id: str) -> User:
        return User(user_id)

    @app.post("/login")
    def login() -> str:
        flask_login.login_user(User(request.form["id"]), remember=False)
        return "ok"

    @app.get("/me")
    @flask_login.login_required  # type: ignore[misc]
    def me() -> str:
        return str(flask_login.current_user.id)

    @app.post("/logout")
    def logout() -> str:
        flask_login.logout_user()
        return "ok"

    client = app.test_client()
    assert client.get("/me").status_code == 401
    client.post("/login", data={"id": "42"})
    assert client.get("/me").text == "42"
    with client.session_transaction() as sess:
        assert sess["_user_id"] == "42"
        assert sess["_fresh"] is True
    client.post("/logout")
    assert client.get("/me").status_code == 401


def test_flask_wtf_csrf(make_app: t.Callable[..., Flask]) -> None:
    flask_wtf = pytest.importorskip("flask_wtf")
    app = make_app(TESTING=False)
    flask_wtf.CSRFProtect(app)

    @app.route("/form", methods=["GET", "POST"])
    def form() -> str:
        if request.method == "POST":
            return "accepted"
        return render_template_string("{{ csrf_token() }}")

    client = app.test_client()
    response = client.get("/form")
    token = response.text
    assert re.fullmatch(r"[\w.-]+", token)
    assert set_cookies(response, "session")
    assert client.post("/form", data={"csrf_token": token}).text == "accepted"
    assert client.post("/form", data={"csrf_token": "forged"}).status_code == 400
    other = app.test_client()
    assert other.post("/form", data={"csrf_token": token}).status_code == 400
