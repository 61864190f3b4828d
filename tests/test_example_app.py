"""The example app through the test client, in cookie and store modes."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from flask import Flask

from example_app import create_app


@pytest.fixture(params=["cookie", "file"])
def app(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: t.Any) -> Flask:
    if request.param == "file":
        monkeypatch.setenv("SCOPES_SESSION_STORE", f"file://{tmp_path}")
    else:
        monkeypatch.delenv("SCOPES_SESSION_STORE", raising=False)
    monkeypatch.setenv("SECRET_KEY", "example-test-key")
    return create_app({"TESTING": True})


def test_store_mode_comes_from_the_environment(app: Flask, tmp_path: Path) -> None:
    client = app.test_client()
    client.post("/login", data={"username": "dora", "password": "pw"})
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
    page = client.post(
        "/login", data={"username": "dora", "password": "pw"}, follow_redirects=True
    )
    assert "Signed in as dora." in page.text
    page = client.post(
        "/settings",
        data={"display_name": "", "email": "dora@example.test", "theme": "dark"},
        follow_redirects=True,
    )
    assert page.text.count("Settings invalid!") == 1
    assert 'value="dora@example.test"' in page.text
    assert "Settings invalid!" not in client.get("/settings").text
    page = client.post(
        "/settings",
        data={"display_name": "Dora", "email": "dora@example.test", "theme": "dark"},
        follow_redirects=True,
    )
    assert "Settings saved!" in page.text
    assert 'value="Dora"' in page.text
    page = client.post("/logout", follow_redirects=True)
    assert "Signed out." in page.text
    assert "dora" not in client.get("/inspect").text


def test_failed_sign_in_refills_the_name_but_never_the_password(app: Flask) -> None:
    import base64

    client = app.test_client()
    response = client.post("/login", data={"username": "", "password": "hunter2"})
    flash_cookie = client.get_cookie("flash")
    assert flash_cookie is not None
    body = flash_cookie.value.split(".")[1]
    assert b"hunter2" not in base64.urlsafe_b64decode(body + "==")
    assert response.status_code == 302
    page = client.post(
        "/login", data={"username": "dora", "password": ""}, follow_redirects=True
    )
    assert "Enter a user name and a password." in page.text
    assert 'value="dora"' in page.text


def test_visit_counter(app: Flask) -> None:
    client = app.test_client()
    for expected in range(1, 4):
        assert f'id="visits">{expected}<' in client.get("/").text


def test_preferences_stay_in_a_cookie_through_sign_out(app: Flask) -> None:
    client = app.test_client()
    client.post("/login", data={"username": "dora", "password": "pw"})
    response = client.post("/preferences", data={"theme": "dark"})
    assert response.status_code == 302
    prefs = client.get_cookie("prefs")
    assert prefs is not None
    # In store mode too, the preferences are a cookie of their own.
    assert prefs.expires is not None
    client.post("/logout")
    page = client.get("/preferences")
    assert '<strong id="current-theme">dark</strong>' in page.text
    refused = client.post("/preferences", data={"theme": "plaid"})
    assert "Choose a theme." in client.get(refused.location).text
