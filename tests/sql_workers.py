"""Processes that race each other on one SQL database, for the concurrency
tests: module-level functions, so that ``spawn`` can start them."""

from __future__ import annotations

import time
import typing as t

from flask import Flask
from flask import request
from flask import session

from flask_scopes import Scopes
from flask_scopes.stores import open_store
from flask_scopes.stores import SQLOptions

from .helpers import add_sign_in_views

SECRET = "sql-race-secret"


def make_app(url: str) -> Flask:
    """An app whose sessions live in the database at ``url``."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET,
        SCOPES_SESSION_STORE=url,
        SCOPES_SESSION_SQL_CREATE_TABLE=True,
    )
    Scopes().init_app(app)

    add_sign_in_views(app)

    @app.get("/touch/<int:n>")
    def touch(n: int) -> str:
        """Save a change if the session is signed in; say whether it was."""
        if "user" not in session:
            return "signed out"
        session["n"] = n
        return "signed in"

    return app


def save_late(
    url: str, cookie: str, loaded: t.Any, signed_out: t.Any, out: t.Any
) -> None:
    """Load the session, wait for the other process to sign out, then save
    a change; report the Set-Cookie headers."""
    app = make_app(url)
    iface = app.session_interface
    with app.test_request_context(headers={"Cookie": f"session={cookie}"}):
        current = iface.open_session(app, request)
        assert current is not None and current["user"] == "ada"
        loaded.set()
        assert signed_out.wait(60)
        current["cart"] = [1, 2, 3]
        response = app.response_class()
        iface.save_session(app, current, response)
    out.put(response.headers.getlist("Set-Cookie"))


def sign_out(url: str, cookie: str, loaded: t.Any, signed_out: t.Any) -> None:
    """Sign the session out once the other process has loaded it."""
    client = make_app(url).test_client()
    client.set_cookie("session", cookie)
    assert loaded.wait(60)
    assert client.get("/logout").status_code == 200
    signed_out.set()


def save_often(url: str, cookie: str, rounds: int, started: t.Any, out: t.Any) -> None:
    """Save a change to the session again and again, setting ``started``
    once a request found it signed in, until ``rounds`` requests in a row
    found it signed out (or a minute passed); report each request's status
    and whether it found the session signed in."""
    client = make_app(url).test_client()
    client.set_cookie("session", cookie)
    seen: list[tuple[int, bool]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        len(seen) < rounds or any(found for _, found in seen[-rounds:])
    ):
        response = client.get(f"/touch/{len(seen)}")
        found = response.text == "signed in"
        if found:
            started.set()
        seen.append((response.status_code, found))
    out.put(seen)


def add_race(url: str, rounds: int, barrier: t.Any, out: t.Any) -> None:
    """Create the same entries as the other process, at the same moments;
    report which creations succeeded."""
    store = open_store(url, sql=SQLOptions(create_table=True))
    won = []
    for i in range(rounds):
        barrier.wait(60)
        won.append(store.add(f"s:race-{i}", b"[1,1,1,{}]", 60))
    out.put(won)
