"""The last load of each id cookie (``session/recent.py``): a stored session
read again unchanged is recalled, and still ends, refreshes, changes and
hands out copies exactly as a session loaded afresh does, in every store
mode."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask import session

from flask_scopes import Scopes
from flask_scopes import ScopesSessionInterface
from flask_scopes.settings import Settings

from .store_modes import add_routes
from .store_modes import store_app as store_app
from .store_modes import store_mode as store_mode

if t.TYPE_CHECKING:
    from .conftest import FakeClock

AppFactory = t.Callable[..., Flask]

SKEW = ScopesSessionInterface.max_clock_skew


def recalled(app: Flask) -> dict[str, t.Any]:
    """The id cookies whose last load the app remembers."""
    interface = t.cast(ScopesSessionInterface, app.session_interface)
    server = interface.runtime(app).session.server
    assert server is not None
    return server._recent.loads


def add_cart(app: Flask) -> None:
    @app.get("/cart/fill")
    def fill() -> str:
        session["cart"] = [{"sku": "a", "qty": 1}]
        session["tags"] = {"x": [1, 2]}
        return "ok"

    @app.get("/cart/meddle")
    def meddle() -> str:
        # Changed in place and not marked modified: nothing is saved, and
        # nothing another request reads may change.
        session["cart"][0]["qty"] = 99
        session["cart"].append({"sku": "b"})
        session["tags"]["x"].append(3)
        return repr((session["cart"], session["tags"]))

    @app.get("/cart")
    def cart() -> str:
        return repr((session["cart"], session["tags"]))

    @app.get("/touched")
    def touched() -> str:
        return repr(session.touched)


def test_a_session_read_again_is_recalled_and_copied(store_app: AppFactory) -> None:
    app = store_app()
    add_cart(app)
    client = app.test_client()
    client.get("/cart/fill")
    original = "([{'sku': 'a', 'qty': 1}], {'x': [1, 2]})"
    assert client.get("/cart").text == original
    assert len(recalled(app)) == 1
    for _ in range(3):
        meddled = client.get("/cart/meddle").text
        assert meddled == "([{'sku': 'a', 'qty': 99}, {'sku': 'b'}], {'x': [1, 2, 3]})"
        assert client.get("/cart").text == original


@pytest.mark.parametrize(
    ("config", "limit"),
    [
        ({"SCOPES_SESSION_IDLE_TIMEOUT": 300}, 300),
        ({"SCOPES_SESSION_ABSOLUTE_TIMEOUT": 300}, 300),
        ({"SCOPES_SESSION_STORE_TTL": 300}, 300),
    ],
    ids=["idle", "absolute", "store ttl"],
)
@pytest.mark.parametrize("late", [0, 1], ids=["at the limit", "past it"])
def test_a_recalled_session_still_ends(
    store_app: AppFactory,
    clock: FakeClock,
    config: dict[str, t.Any],
    limit: int,
    late: int,
) -> None:
    app = store_app(**config)
    client = app.test_client()
    client.get("/set/a/1")
    assert client.get("/get/a").text == "'1'"
    assert recalled(app)
    clock.advance(limit + late)
    assert client.get("/get/a").text == ("None" if late else "'1'")


def test_a_recalled_permanent_session_ends_with_its_lifetime(
    store_app: AppFactory, clock: FakeClock
) -> None:
    app = store_app(PERMANENT_SESSION_LIFETIME=300, SCOPES_SESSION_IDLE_TIMEOUT=None)
    client = app.test_client()
    client.get("/permanent")
    assert client.get("/get/p").text == "1"
    assert recalled(app)
    clock.advance(300)
    assert client.get("/get/p").text == "1"
    # The read at the limit wrote the entry again; it lives 300 s from then.
    clock.advance(301)
    assert client.get("/get/p").text == "None"


def test_a_clock_set_back_past_the_skew_refuses_it(
    store_app: AppFactory, clock: FakeClock
) -> None:
    app = store_app()
    client = app.test_client()
    client.get("/set/a/1")
    assert client.get("/get/a").text == "'1'"
    clock.advance(-SKEW)
    assert client.get("/get/a").text == "'1'"
    clock.advance(-1)
    assert client.get("/get/a").text == "None"


def test_a_recalled_session_is_refreshed_on_time(
    store_app: AppFactory, clock: FakeClock
) -> None:
    app = store_app(SCOPES_SESSION_IDLE_TIMEOUT=1000)
    add_cart(app)
    client = app.test_client()
    client.get("/set/a/1")
    start = int(clock())
    assert client.get("/touched").text == repr(start)
    refresh = int(1000 * ScopesSessionInterface.idle_refresh_fraction)
    clock.advance(refresh - 1)
    assert client.get("/touched").text == repr(start)
    assert client.get("/touched").text == repr(start)
    clock.advance(1)
    client.get("/get/a")
    assert client.get("/touched").text == repr(start + refresh)


def test_a_changed_entry_is_loaded_afresh(store_app: AppFactory) -> None:
    app = store_app()
    reader, writer = app.test_client(), app.test_client()
    reader.get("/set/a/1")
    cookie = reader.get_cookie("session")
    assert cookie is not None
    writer.set_cookie("session", cookie.value)
    assert reader.get("/get/a").text == "'1'"
    writer.get("/set/a/2")
    assert reader.get("/get/a").text == "'2'"
    writer.get("/clear")
    assert reader.get("/get/a").text == "None"


def test_a_revoked_user_is_not_recalled(store_app: AppFactory) -> None:
    app = store_app()
    phone, laptop = app.test_client(), app.test_client()
    phone.get("/login/42")
    assert phone.get("/get/user").text == "'42'"
    assert phone.get("/get/user").text == "'42'"
    laptop.get("/revoke/42")
    assert phone.get("/get/user").text == "None"


def test_time_rules_of_ones_own_are_never_bypassed(
    make_app: t.Callable[..., Flask], clock: FakeClock
) -> None:
    from cachelib import SimpleCache

    refused = []

    class Interface(ScopesSessionInterface):
        def check_times(
            self,
            settings: Settings,
            created: int,
            touched: int,
            now: int,
            permanent: bool,
        ) -> None:
            refused.append(now)
            super().check_times(settings, created, touched, now, permanent)

    class MyScopes(Scopes):
        session_interface_class = Interface

    scopes = MyScopes(clock=clock)
    app = make_app(scopes, SCOPES_SESSION_STORE=SimpleCache(threshold=1_000_000))
    add_routes(app, scopes)
    client = app.test_client()
    client.get("/set/a/1")
    for _ in range(3):
        assert client.get("/get/a").text == "'1'"
    assert len(refused) == 3
    assert recalled(app) == {}
