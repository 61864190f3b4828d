"""The example app through the test client, in cookie and store modes."""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from example_app import create_app


@pytest.fixture(params=["cookie", "file"])
def app(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: t.Any) -> Flask:
    if request.param == "file":
        monkeypatch.setenv("FLASK_SCOPES_SESSION_STORE", f"file://{tmp_path}")
    else:
        monkeypatch.delenv("FLASK_SCOPES_SESSION_STORE", raising=False)
    monkeypatch.setenv("FLASK_SECRET_KEY", "example-test-key")
    return create_app({"TESTING": True})


def post(
    client: FlaskClient, path: str, data: dict[str, str] | None = None, **kw: t.Any
) -> TestResponse:
    """Post a form as a browser does: with the CSRF token of the page that
    shows it."""
    page = client.get("/login" if path == "/login" else "/settings")
    if page.status_code == 302:
        page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None, page.text
    return client.post(path, data={**(data or {}), "csrf_token": match[1]}, **kw)


def test_store_mode_comes_from_the_environment(app: Flask, tmp_path: Path) -> None:
    client = app.test_client()
    post(client, "/login", data={"username": "dora", "password": "pw"})
    cookie = client.get_cookie("session")
    assert cookie is not None
    stored = app.config["SCOPES_SESSION_STORE"]
    if stored:
        assert "dora" not in cookie.value
        assert any(tmp_path.iterdir())
    assert "dora" in client.get("/").text


def test_sign_in_settings_and_sign_out(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/settings", follow_redirects=True)
    assert "Sign in to change your settings." in page.text
    page = post(
        client,
        "/login",
        data={"username": "dora", "password": "pw"},
        follow_redirects=True,
    )
    assert "Signed in as dora." in page.text
    page = post(
        client,
        "/settings",
        data={"display_name": "", "email": "dora@example.test", "theme": "dark"},
        follow_redirects=True,
    )
    assert page.text.count("Settings invalid!") == 1
    assert 'value="dora@example.test"' in page.text
    assert "Settings invalid!" not in client.get("/settings").text
    page = post(
        client,
        "/settings",
        data={"display_name": "Dora", "email": "dora@example.test", "theme": "dark"},
        follow_redirects=True,
    )
    assert "Settings saved!" in page.text
    assert 'value="Dora"' in page.text
    page = post(client, "/logout", follow_redirects=True)
    assert "Signed out." in page.text
    assert "dora" not in client.get("/inspect").text


def test_failed_sign_in_refills_the_name_but_never_the_password(app: Flask) -> None:
    import base64

    client = app.test_client()
    response = post(client, "/login", data={"username": "", "password": "hunter2"})
    flash_cookie = client.get_cookie("flash")
    assert flash_cookie is not None
    body = flash_cookie.value.split(".")[1]
    assert b"hunter2" not in base64.urlsafe_b64decode(body + "==")
    assert response.status_code == 302
    page = post(
        client,
        "/login",
        data={"username": "dora", "password": ""},
        follow_redirects=True,
    )
    assert "Enter a user name and a password." in page.text
    assert 'value="dora"' in page.text


def test_visit_counter(app: Flask) -> None:
    client = app.test_client()
    for expected in range(1, 4):
        assert f'id="visits">{expected}<' in client.get("/").text


def test_preferences_stay_in_a_cookie_through_sign_out(app: Flask) -> None:
    client = sign_in(app)
    response = post(client, "/preferences", {"theme": "dark"})
    assert response.status_code == 302
    prefs = client.get_cookie("prefs")
    assert prefs is not None
    # In store mode too, the preferences are a cookie of their own.
    assert prefs.expires is not None
    post(client, "/logout")
    page = client.get("/preferences")
    assert '<strong id="current-theme">dark</strong>' in page.text
    # The navigation lists the page, marked as the current one.
    assert 'id="preferences-link" aria-current="page"' in page.text
    refused = post(client, "/preferences", {"theme": "plaid"})
    assert "Choose a theme." in client.get(refused.location).text


def test_forms_need_the_csrf_token(app: Flask) -> None:
    client = app.test_client()
    refused = client.post("/login", data={"username": "eve", "password": "pw"})
    assert refused.status_code == 400
    # The refused request wrote no session at all: no one is signed in.
    assert client.get_cookie("session") is None
    forged = client.post(
        "/login", data={"username": "eve", "password": "pw", "csrf_token": "x" * 43}
    )
    assert forged.status_code == 400
    signed_in = post(client, "/login", {"username": "ann", "password": "pw"})
    assert signed_in.status_code == 302
    assert client.post("/logout").status_code == 400
    assert "ann" in client.get("/").text


@pytest.mark.parametrize("user", ["default", ""])
def test_inspect_page_shows_no_store_password(
    user: str, redis_process: t.Any, monkeypatch: t.Any
) -> None:
    # The server's default user has no password, so it takes any: the URL
    # carries one all the same, as a production URL would.
    url = f"redis://{user}:s3cret-pw@127.0.0.1:{redis_process.port}/0"
    monkeypatch.setenv("FLASK_SECRET_KEY", "example-test-key")
    monkeypatch.setenv("FLASK_SCOPES_SESSION_STORE", url)
    if not user:
        # The one-argument AUTH needs a password on the server.
        redis_process.client().config_set("requirepass", "s3cret-pw")
    try:
        page = create_app({"TESTING": True}).test_client().get("/inspect")
    finally:
        if not user:
            redis_process.client(password="s3cret-pw").config_set("requirepass", "")
    assert page.status_code == 200
    assert f"RedisCache at 127.0.0.1:{redis_process.port}" in page.text
    assert "s3cret-pw" not in page.text


def sign_in(app: Flask) -> t.Any:
    client = app.test_client()
    post(client, "/login", {"username": "dora", "password": "pw"})
    return client


def test_reads_what_flask_scopes_secret_says(app: Flask) -> None:
    # "flask scopes secret" tells to set FLASK_SECRET_KEY for an app that
    # calls from_prefixed_env(), as this one does.
    assert app.config["SECRET_KEY"] == "example-test-key"


def test_without_a_key_it_makes_a_strong_one(monkeypatch: t.Any) -> None:
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    keys = {create_app().config["SECRET_KEY"] for _ in range(2)}
    assert len(keys) == 2
    assert all(len(key) >= 64 for key in keys)


def test_dark_theme_changes_the_page(app: Flask) -> None:
    client = sign_in(app)
    assert 'data-theme="light"' in client.get("/").text
    post(
        client,
        "/settings",
        {"display_name": "Dora", "email": "dora@example.test", "theme": "dark"},
    )
    for path in ("/", "/settings", "/inspect"):
        assert '<html lang="en" data-theme="dark">' in client.get(path).text


def test_inspect_shows_the_incoming_flash_before_it_is_used_up(app: Flask) -> None:
    client = sign_in(app)
    client.get("/")
    assert client.get_cookie("flash") is None
    post(client, "/inspect/flash")
    page = client.get("/inspect").text
    incoming = page[
        page.index('id="flash-incoming"') : page.index("Messages this page")
    ]
    assert "A message for the next request" in incoming
    shown = page[page.index('id="flash-messages"') :]
    assert "info: A message for the next request" in shown
    again = client.get("/inspect").text
    assert "No flash came with this request." in again


def test_inspect_shows_the_session_cookie_and_the_store(app: Flask) -> None:
    client = sign_in(app)
    page = client.get("/inspect").text
    assert "valid" in page
    assert "current key (SECRET_KEY)" in page
    if app.config["SCOPES_SESSION_STORE"]:
        store = page[page.index('id="store-data"') :]
        assert "&#34;user&#34;: &#34;dora&#34;" in store.split("</pre>")[0]
        assert "What the store holds for this session" in page
    else:
        assert 'id="store-data"' not in page
        assert 'id="session-readable"' in page


def test_every_page_links_its_favicon_and_stylesheet(app: Flask) -> None:
    client = sign_in(app)
    for path in ("/", "/login", "/settings", "/preferences", "/inspect"):
        page = client.get(path).text
        assert 'rel="icon"' in page
        assert 'name="viewport"' in page
    for path in ("/static/favicon.svg", "/static/style.css"):
        response = client.get(path)
        assert response.status_code == 200
        response.close()
