"""The example app in a real browser: headless Chromium driven by
Playwright against a real WSGI server on a loopback port.

These tests skip only when no Chromium is installed and ``CI`` is unset.
Every page is checked for console errors. The screenshots the docs show
are taken here; ``UPDATE_SCREENSHOTS=1 pytest tests/test_browser.py``
writes them to ``docs/_static/screenshots/``.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import threading
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


SCREENSHOTS = pathlib.Path(__file__).parent.parent / "docs" / "_static" / "screenshots"


def open_page(browser: t.Any, server: str, **options: t.Any) -> tuple[t.Any, list[str]]:
    """A page in a new context, and the list its console errors go to."""
    context = browser.new_context(base_url=server, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda response: (
            errors.append(f"{response.status} {response.url}")
            if response.status >= 400
            else None
        ),
    )
    return page, errors


@pytest.fixture
def page(browser: t.Any, server: str) -> t.Iterator[t.Any]:
    page, errors = open_page(browser, server)
    try:
        yield page
    finally:
        page.context.close()
    assert errors == []


@pytest.fixture
def screenshot(tmp_path: pathlib.Path) -> t.Callable[[t.Any, str], None]:
    """Save a screenshot of a page: to ``tmp_path``, or with
    ``UPDATE_SCREENSHOTS`` set, to the docs."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path

    def take(page: t.Any, name: str) -> None:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=False, animations="disabled")
        assert path.stat().st_size > 2000

    return take


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


def background(page: t.Any) -> str:
    return t.cast(str, page.evaluate("getComputedStyle(document.body).backgroundColor"))


def test_every_page_renders_without_console_errors(
    page: t.Any, screenshot: t.Callable[[t.Any, str], None]
) -> None:
    page.set_viewport_size({"width": 960, "height": 640})
    page.goto("/")
    assert page.title() == "Home · flask-scopes example"
    screenshot(page, "home")
    page.goto("/settings")
    page.wait_for_url("**/login")
    assert page.inner_text(".flash.warning") == "Sign in to change your settings."
    page.click("#submit")
    page.wait_for_url("**/login")
    assert page.inner_text(".flash.error") == "Enter a user name and a password."
    screenshot(page, "login")
    page.fill("#username", "alice")
    page.fill("#password", "secret")
    page.click("#submit")
    page.wait_for_url("**/")
    page.goto("/settings")
    page.fill("#display_name", "")
    page.fill("#email", "not an address")
    page.click("#save")
    page.wait_for_url("**/settings")
    assert page.locator(".field-error").count() == 3
    screenshot(page, "settings-errors")
    page.goto("/inspect")
    assert page.inner_text("#flash-incoming") == "No flash came with this request."
    page.click("#flash-me")
    page.wait_for_url("**/inspect")
    assert "A message for the next request" in page.inner_text("#flash-incoming")
    assert "info: A message for the next request" in page.inner_text("#flash-messages")
    screenshot(page, "inspect")
    page.reload()
    assert page.inner_text("#flash-incoming") == "No flash came with this request."


def test_dark_theme_is_saved_in_the_session_and_changes_the_page(
    page: t.Any, screenshot: t.Callable[[t.Any, str], None]
) -> None:
    page.set_viewport_size({"width": 960, "height": 640})
    sign_in(page)
    light = background(page)
    page.goto("/settings")
    page.fill("#display_name", "Alice")
    page.fill("#email", "alice@example.test")
    page.select_option("#theme", "dark")
    page.click("#save")
    page.wait_for_url("**/settings")
    assert page.get_attribute("html", "data-theme") == "dark"
    dark = background(page)
    assert dark != light
    screenshot(page, "settings-dark")
    page.goto("/")
    assert background(page) == dark


def test_focus_is_visible(page: t.Any) -> None:
    page.goto("/login")
    page.focus("#username")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


def test_works_on_a_phone(
    browser: t.Any, server: str, screenshot: t.Callable[[t.Any, str], None]
) -> None:
    page, errors = open_page(
        browser,
        server,
        viewport={"width": 390, "height": 760},
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
    )
    try:
        sign_in(page)
        for path in ("/", "/settings", "/inspect", "/login"):
            page.goto(path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, path
            if path == "/inspect":
                screenshot(page, "phone-inspect")
    finally:
        page.context.close()
    assert errors == []


def test_your_devices_ends_one_browser_alone(browser: t.Any, server: str) -> None:
    contexts = [browser.new_context(base_url=server) for _ in range(3)]
    try:
        pages = []
        for context in contexts:
            context.set_default_timeout(15_000)
            page = context.new_page()
            sign_in(page, "dana")
            pages.append(page)
        first, second, third = pages
        first.click("#devices-link")
        first.wait_for_url("**/devices")
        rows = first.locator("#devices tr.device")
        assert rows.count() == 3
        assert first.locator("#devices tr.current").count() == 1
        # End the most recently seen other session: the third browser's.
        first.locator("#devices tr.device:not(.current) button.end").first.click()
        first.wait_for_url("**/devices")
        assert "That device is signed out." in first.inner_text("main")
        assert first.locator("#devices tr.device").count() == 2
        third.reload()
        assert third.locator("#login-link").is_visible()
        second.reload()
        assert second.inner_text("#user") == "dana"
        first.reload()
        assert first.inner_text("#user") == "dana"
    finally:
        for context in contexts:
            context.close()
