"""The example app in a real browser: headless Chromium driven by
Playwright against a real WSGI server on a loopback port.

These tests skip only when no Chromium is installed and ``CI`` is unset.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import typing as t

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI"):
        pytest.fail("CI needs Chromium for the browser tests", pytrace=False)
    pytest.skip("no Chromium installed", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def server() -> t.Iterator[str]:
    from werkzeug.serving import make_server

    from example_app import create_app

    app = create_app({"SECRET_KEY": "browser-test-secret"})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> t.Iterator[t.Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: t.Any, server: str) -> t.Iterator[t.Any]:
    context = browser.new_context(base_url=server)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def session_cookie(page: t.Any) -> dict[str, t.Any] | None:
    for cookie in page.context.cookies():
        if cookie["name"] == "session":
            return t.cast(dict[str, t.Any], cookie)
    return None


def sign_in(page: t.Any, name: str = "alice") -> None:
    page.goto("/login")
    page.fill("#username", name)
    page.fill("#password", "secret")
    page.click("#submit")
    page.wait_for_url("**/")


def test_sign_in_sets_an_httponly_lax_cookie(page: t.Any) -> None:
    sign_in(page)
    assert page.inner_text("#user") == "alice"
    assert page.inner_text(".flash.success") == "Signed in as alice."
    cookie = session_cookie(page)
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("session=") == -1
    page.reload()
    assert page.locator(".flash").count() == 0


def test_settings_form_with_post_redirect_get(page: t.Any) -> None:
    sign_in(page)
    page.goto("/settings")
    page.fill("#display_name", "")
    page.fill("#email", "alice@example.test")
    page.select_option("#theme", "dark")
    page.click("#save")
    page.wait_for_url("**/settings")
    assert page.locator(".flash.error").count() == 1
    assert page.inner_text(".flash.error") == "Settings invalid!"
    assert page.inner_text("#display_name-error") == "Required."
    assert page.input_value("#email") == "alice@example.test"
    assert page.input_value("#theme") == "dark"
    page.reload()
    assert page.locator(".flash").count() == 0
    assert page.locator(".field-error").count() == 0

    page.fill("#display_name", "Alice")
    page.fill("#email", "alice@example.test")
    page.select_option("#theme", "light")
    page.click("#save")
    page.wait_for_url("**/settings")
    assert page.inner_text(".flash.success") == "Settings saved!"
    assert page.input_value("#display_name") == "Alice"
    page.reload()
    assert page.locator(".flash").count() == 0
    assert page.input_value("#display_name") == "Alice"


def test_sign_out_deletes_the_cookie(page: t.Any) -> None:
    sign_in(page)
    signed_in = session_cookie(page)
    assert signed_in is not None
    with page.expect_response("**/logout") as info:
        page.click("#logout")
    deletions = [
        value
        for value in info.value.header_values("set-cookie")
        if value.startswith("session=")
    ]
    assert len(deletions) == 1
    deletion = deletions[0]
    assert deletion.startswith("session=;")
    assert "Max-Age=0" in deletion
    page.wait_for_url("**/")
    assert page.inner_text(".flash.info") == "Signed out."
    assert page.locator("#login-link").count() == 1
    # The home page's visit counter began a new session: not the old one.
    cookie = session_cookie(page)
    assert cookie is None or cookie["value"] != signed_in["value"]
    page.goto("/inspect")
    assert "alice" not in page.inner_text("#session-data")


def test_tampered_cookie_signs_out_without_an_error_page(page: t.Any) -> None:
    sign_in(page)
    cookie = session_cookie(page)
    assert cookie is not None
    value = cookie["value"]
    flipped = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    page.context.add_cookies([{**cookie, "value": flipped}])
    response = page.goto("/")
    assert response is not None and response.status == 200
    assert page.locator("#user").count() == 0
    assert page.locator("#login-link").count() == 1


def test_inspect_shows_what_the_cookie_reveals(page: t.Any) -> None:
    sign_in(page, "carol")
    page.goto("/inspect")
    assert '"user": "carol"' in page.inner_text("#session-data")
    assert '"user":"carol"' in page.inner_text("#session-readable")


def test_visit_counter_counts(page: t.Any) -> None:
    page.goto("/")
    first = int(page.inner_text("#visits"))
    page.reload()
    assert int(page.inner_text("#visits")) == first + 1


def test_preferences_live_in_their_own_scope(page: t.Any) -> None:
    sign_in(page)
    page.click("#preferences-link")
    page.wait_for_url("**/preferences")
    assert page.inner_text("#current-theme") == "not chosen"
    page.select_option("#prefs-theme", "dark")
    with page.expect_response("**/preferences") as info:
        page.click("#save-prefs")
    # The post sets the prefs cookie alone: the sign-in session is untouched.
    names = [value.split("=", 1)[0] for value in info.value.header_values("set-cookie")]
    assert "prefs" in names
    assert "session" not in names
    page.wait_for_url("**/preferences")
    assert page.inner_text(".flash.success") == "Preferences saved for a year."
    assert page.inner_text("#current-theme") == "dark"
    prefs = [c for c in page.context.cookies() if c["name"] == "prefs"]
    assert len(prefs) == 1
    assert prefs[0]["httpOnly"] is True
    # Permanent for a year, unlike the browser-session sign-in cookie.
    assert prefs[0]["expires"] - time.time() > 364 * 86400
    session = session_cookie(page)
    assert session is not None and session["expires"] == -1
    # Signing out ends the session scope, not the preferences.
    page.click("#logout")
    page.wait_for_url("**/")
    page.goto("/preferences")
    assert page.inner_text("#current-theme") == "dark"
    assert page.input_value("#prefs-theme") == "dark"
