"""The session's behaviour, the same in every mode: the signed cookie, and a
server-side store on SimpleCache, FileSystemCache and a real Redis."""

from __future__ import annotations

import logging
import secrets
import typing as t
from datetime import datetime
from datetime import UTC
from uuid import UUID

import pytest
from flask import Flask
from flask import session
from markupsafe import Markup

from flask_scopes import SessionTooLarge
from flask_scopes import SessionValueError

from .store_modes import mode as mode
from .store_modes import mode_app as mode_app

if t.TYPE_CHECKING:
    from .conftest import FakeClock

AppFactory = t.Callable[..., Flask]


def set_cookies(response: t.Any) -> list[str]:
    return t.cast(list[str], response.headers.getlist("Set-Cookie"))


def test_untouched_request_sets_nothing(mode_app: AppFactory) -> None:
    client = mode_app().test_client()
    client.get("/set/a/1")
    response = client.get("/untouched")
    assert set_cookies(response) == []
    assert "Vary" not in response.headers


def test_round_trip_and_read_only(mode_app: AppFactory) -> None:
    client = mode_app().test_client()
    first = client.get("/set/name/ada")
    assert len(set_cookies(first)) == 1
    assert "Cookie" in first.headers["Vary"]
    response = client.get("/get/name")
    assert response.text == "'ada'"
    assert set_cookies(response) == []
    assert response.headers.getlist("Vary") == ["Cookie"]


def test_typed_values_round_trip(mode_app: AppFactory) -> None:
    app = mode_app()
    values = {
        "tuple": (1, "a"),
        "bytes": b"\x00\xff",
        "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "uuid": UUID(int=5),
        "markup": Markup("<b>hi</b>"),
        "nested": {"a": [1, 2.5, None, True]},
    }

    @app.get("/typed")
    def typed() -> str:
        if "tuple" not in session:
            session.update(values)
            return "set"
        assert dict(session) == values
        assert type(session["markup"]) is Markup
        return "same"

    client = app.test_client()
    assert client.get("/typed").text == "set"
    assert client.get("/typed").text == "same"


def test_unstorable_value_names_its_key(mode_app: AppFactory) -> None:
    app = mode_app()

    @app.get("/bad")
    def bad() -> str:
        session["thing"] = object()
        return "ok"

    with pytest.raises(SessionValueError, match="thing"):
        app.test_client().get("/bad")


def test_clear_deletes_the_cookie(mode_app: AppFactory) -> None:
    client = mode_app().test_client()
    client.get("/set/a/1")
    response = client.get("/clear")
    (header,) = set_cookies(response)
    assert header.startswith("session=;") and "Max-Age=0" in header
    assert client.get("/get/a").text == "None"


def test_regenerate_keeps_the_data(mode_app: AppFactory, clock: FakeClock) -> None:
    client = mode_app().test_client()
    client.get("/set/a/1")
    before = client.get_cookie("session")
    assert before is not None
    # In cookie mode the identity is the session's start time.
    clock.advance(10)
    client.get("/regenerate")
    after = client.get_cookie("session")
    assert after is not None and after.value != before.value
    assert client.get("/get/a").text == "'1'"


def test_permanent_session_expires(mode_app: AppFactory, clock: FakeClock) -> None:
    client = mode_app(PERMANENT_SESSION_LIFETIME=3600).test_client()
    response = client.get("/permanent")
    (header,) = set_cookies(response)
    assert "Max-Age=3600" in header
    clock.advance(3600)
    assert client.get("/get/p").text == "1"
    clock.advance(3601)
    assert client.get("/get/p").text == "None"


def test_idle_timeout(mode_app: AppFactory, clock: FakeClock) -> None:
    client = mode_app(SCOPES_SESSION_IDLE_TIMEOUT=600).test_client()
    client.get("/set/a/1")
    for _ in range(5):
        # Used every 5 minutes, it outlives the 10-minute idle timeout.
        clock.advance(300)
        assert client.get("/get/a").text == "'1'"
    clock.advance(601)
    assert client.get("/get/a").text == "None"


def test_absolute_timeout(mode_app: AppFactory, clock: FakeClock) -> None:
    client = mode_app(SCOPES_SESSION_ABSOLUTE_TIMEOUT=1000).test_client()
    client.get("/set/a/1")
    for _ in range(10):
        clock.advance(100)
        client.get("/set/b/2")
    assert client.get("/get/a").text == "'1'"
    clock.advance(1)
    assert client.get("/get/a").text == "None"


def test_session_transaction(mode_app: AppFactory) -> None:
    client = mode_app().test_client()
    with client.session_transaction() as sess:
        sess["a"] = "from test"
    assert client.get("/get/a").text == "'from test'"
    with client.session_transaction() as sess:
        assert sess["a"] == "from test"


def test_no_secret_key(mode_app: AppFactory) -> None:
    app = mode_app(SECRET_KEY=None)
    client = app.test_client()
    assert client.get("/get/a").text == "None"
    with pytest.raises(RuntimeError, match="no secret key was set"):
        client.get("/set/a/1")


def test_bad_cookies_give_an_empty_session(
    mode_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = mode_app().test_client()
    caplog.set_level(logging.DEBUG, "flask_scopes")
    for value in ("", "x", "||", "a.b.c", "A" * 43 + "." + "B" * 43, "\u00e9" * 10):
        client.set_cookie("session", value)
        response = client.get("/get/a")
        assert response.status_code == 200
        assert response.text == "None"
    assert "Ignored the session" in caplog.text


def test_another_secret_key_is_refused(mode_app: AppFactory) -> None:
    client = mode_app().test_client()
    client.get("/set/a/1")
    cookie = client.get_cookie("session")
    assert cookie is not None
    other = mode_app(SECRET_KEY="another key").test_client()
    other.set_cookie("session", cookie.value)
    assert other.get("/get/a").text == "None"


def test_fallback_key_is_reissued(mode_app: AppFactory) -> None:
    old = mode_app(SECRET_KEY="old key")
    client = old.test_client()
    client.get("/set/a/1")
    cookie = client.get_cookie("session")
    assert cookie is not None
    app = mode_app(SECRET_KEY="new key", SECRET_KEY_FALLBACKS=["old key"])
    app.config["SCOPES_SESSION_STORE"] = old.config["SCOPES_SESSION_STORE"]
    app.config["SCOPES_REVOCATION_STORE"] = old.config["SCOPES_REVOCATION_STORE"]
    client = app.test_client()
    client.set_cookie("session", cookie.value)
    response = client.get("/get/a")
    assert response.text == "'1'"
    (header,) = set_cookies(response)
    new_value = header.split(";")[0].split("=", 1)[1]
    fresh = mode_app(SECRET_KEY="new key")
    fresh.config["SCOPES_SESSION_STORE"] = old.config["SCOPES_SESSION_STORE"]
    fresh.config["SCOPES_REVOCATION_STORE"] = old.config["SCOPES_REVOCATION_STORE"]
    client = fresh.test_client()
    client.set_cookie("session", new_value)
    assert client.get("/get/a").text == "'1'"


def test_too_large(mode_app: AppFactory, mode: str) -> None:
    app = mode_app(SCOPES_SESSION_STORE_MAX_SIZE=2000)

    @app.get("/big")
    def big() -> str:
        session["big"] = secrets.token_urlsafe(4000)
        return "ok"

    client = app.test_client()
    client.get("/set/a/1")
    with pytest.raises(SessionTooLarge, match="big"):
        client.get("/big")
    assert client.get("/get/a").text == "'1'"
    assert client.get("/get/big").text == "None"


def test_revoke_user_ends_every_session(mode_app: AppFactory) -> None:
    app = mode_app()
    laptop, phone, other = app.test_client(), app.test_client(), app.test_client()
    laptop.get("/login/42")
    phone.get("/login/42")
    other.get("/login/7")
    assert phone.get("/get/user").text == "'42'"
    laptop.get("/revoke/42")
    assert laptop.get("/get/user").text == "None"
    assert phone.get("/get/user").text == "None"
    assert other.get("/get/user").text == "'7'"
    # Signing in again after the revocation works.
    phone.get("/login/42")
    assert phone.get("/get/user").text == "'42'"


def test_revoke_then_bind_keeps_the_current_session(mode_app: AppFactory) -> None:
    app = mode_app()
    scopes = app.extensions["scopes"]

    @app.get("/password-changed")
    def password_changed() -> str:
        scopes.revoke_user("42")
        session.bind_user("42")
        return "ok"

    current, stolen = app.test_client(), app.test_client()
    current.get("/login/42")
    stolen.get("/login/42")
    current.get("/password-changed")
    assert current.get("/get/user").text == "'42'"
    assert stolen.get("/get/user").text == "None"


def test_bind_user_changes_the_identity(mode_app: AppFactory, clock: FakeClock) -> None:
    client = mode_app().test_client()
    client.get("/set/a/1")
    clock.advance(10)
    before = client.get_cookie("session")
    client.get("/login/42")
    after = client.get_cookie("session")
    assert before is not None and after is not None
    assert before.value != after.value
    assert client.get("/get/a").text == "'1'"
    assert client.get("/get/_scopes_user").text == "['42', None]"


def test_flask_flash_works(mode_app: AppFactory) -> None:
    from flask import flash
    from flask import get_flashed_messages

    app = mode_app()

    @app.get("/flash")
    def do_flash() -> str:
        flash("saved")
        return "ok"

    @app.get("/show")
    def show() -> str:
        return ",".join(get_flashed_messages())

    client = app.test_client()
    client.get("/flash")
    assert client.get("/show").text == "saved"
    assert client.get("/show").text == ""
