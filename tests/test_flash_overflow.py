"""A flash too large for its cookie goes to the session store, read once and
deleted; forged references are harmless, and an outage reads as an empty
flash."""

from __future__ import annotations

import logging
import typing as t

import pytest
from cachelib import RedisCache
from flask import Flask
from flask import render_template_string

from flask_scopes import flash
from flask_scopes import FlashTooLarge
from flask_scopes.flash.overflow import FlashOverflow

from .conftest import FakeClock
from .flash_support import set_value
from .redis_server import RedisServer

AppFactory = t.Callable[..., Flask]
BIG = "x" * 6000
SIGNING = {"unsigned": {}, "signed": {"SCOPES_FLASH_SIGNED": True}}


def store_config(kind: str, request: pytest.FixtureRequest) -> dict[str, t.Any]:
    if kind == "simple":
        return {"SCOPES_SESSION_STORE": "simple://"}
    server: RedisServer = request.getfixturevalue("redis_server")
    return {"SCOPES_SESSION_STORE": RedisCache(server.client(retry=False))}


STORES = ["simple", pytest.param("redis", marks=pytest.mark.redis)]


def overflow_app(make_app: AppFactory, **config: t.Any) -> tuple[Flask, list[t.Any]]:
    app = make_app(**config)
    seen: list[t.Any] = []

    @app.post("/big")
    def big() -> str:
        flash.info("first")
        flash.error(BIG)
        flash.info({"items": list(range(50))})
        return "ok"

    @app.post("/small")
    def small() -> str:
        flash.info("small")
        return "ok"

    @app.get("/read")
    def read() -> str:
        seen.append(list(flash))
        return render_template_string("{{ flash.info }}")

    @app.get("/plain")
    def plain() -> str:
        return "plain"

    return app, seen


@pytest.mark.parametrize("signing", SIGNING)
@pytest.mark.parametrize("kind", STORES)
def test_a_large_flash_goes_to_the_store_and_is_read_once(
    make_app: AppFactory, request: pytest.FixtureRequest, kind: str, signing: str
) -> None:
    app, seen = overflow_app(
        make_app, **store_config(kind, request), **SIGNING[signing]
    )
    client = app.test_client()
    response = client.post("/big")
    value = set_value(response)
    assert value is not None and value.startswith("2.")
    assert len(value) < 150
    store = app.session_interface.runtime(app).store  # type: ignore[attr-defined]
    name = "f:" + value.split(".")[1]
    assert store.get(name) is not None
    client.get("/read")
    assert seen == [
        [("info", "first"), ("error", BIG), ("info", {"items": list(range(50))})]
    ]
    # Read once: the entry is gone, and the cookie too.
    assert store.get(name) is None
    assert client.get_cookie("flash") is None
    client.get("/read")
    assert seen[-1] == []


@pytest.mark.parametrize("kind", STORES)
def test_a_small_flash_stays_in_the_cookie(
    make_app: AppFactory, request: pytest.FixtureRequest, kind: str
) -> None:
    app, seen = overflow_app(make_app, **store_config(kind, request))
    value = set_value(app.test_client().post("/small"))
    assert value is not None and value.startswith("1.")


def test_a_request_that_does_not_show_it_puts_it_back(make_app: AppFactory) -> None:
    app, seen = overflow_app(make_app, SCOPES_SESSION_STORE="simple://")
    client = app.test_client()
    first = set_value(client.post("/big"))
    # A HEAD request reads the flash without using it up: it goes out again
    # under a new reference, since the old entry was read once.
    again = set_value(client.head("/read"))
    assert again is not None and again.startswith("2.") and again != first
    client.get("/read")
    assert seen[-1][1] == ("error", BIG)


def test_it_expires_with_the_flash_max_age(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app, seen = overflow_app(
        make_app, SCOPES_SESSION_STORE="simple://", SCOPES_FLASH_MAX_AGE=60
    )
    client = app.test_client()
    client.post("/big")
    clock.advance(61)
    client.get("/read")
    assert seen == [[]]


def test_without_a_store_it_is_still_too_large(make_app: AppFactory) -> None:
    app, _ = overflow_app(make_app)
    with pytest.raises(FlashTooLarge):
        app.test_client().post("/big")


def test_over_the_store_limit_it_is_too_large(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FlashOverflow, "max_size", 5000)
    app, _ = overflow_app(make_app, SCOPES_SESSION_STORE="simple://")
    with pytest.raises(FlashTooLarge):
        app.test_client().post("/big")


FORGED = {
    "random reference": "2." + "A" * 43,
    "short reference": "2." + "A" * 42,
    "long reference": "2." + "A" * 44,
    "bad characters": "2." + "A" * 42 + "!",
    "path in it": "2.../../../../etc/passwd" + "A" * 20,
    "signature on an unsigned one": "2." + "A" * 43 + ".c2ln",
}


class CountingGets:
    """Counts reads of a real store."""

    def __init__(self, store: t.Any) -> None:
        self.count = 0
        original = store.get

        def get(name: str) -> bytes | None:
            self.count += 1
            return t.cast("bytes | None", original(name))

        store.get = get


@pytest.mark.parametrize("signing", SIGNING)
@pytest.mark.parametrize("value", FORGED.values(), ids=FORGED.keys())
def test_forged_references_are_harmless(
    make_app: AppFactory, value: str, signing: str
) -> None:
    app, seen = overflow_app(
        make_app, SCOPES_SESSION_STORE="simple://", **SIGNING[signing]
    )
    store = app.session_interface.runtime(app).store  # type: ignore[attr-defined]
    counter = CountingGets(store)
    client = app.test_client(use_cookies=False)
    response = client.get("/read", headers={"Cookie": f"flash={value}"})
    assert response.status_code == 200
    assert seen == [[]]
    # Only a well-formed (and, when signed, verified) reference reaches
    # the store, once.
    reaches = signing == "unsigned" and value == FORGED["random reference"]
    assert counter.count == (1 if reaches else 0)


def test_a_signed_reference_from_another_key_is_refused(make_app: AppFactory) -> None:
    app, seen = overflow_app(
        make_app, SCOPES_SESSION_STORE="simple://", SCOPES_FLASH_SIGNED=True
    )
    other, _ = overflow_app(
        make_app,
        SCOPES_SESSION_STORE="simple://",
        SCOPES_FLASH_SIGNED=True,
        SECRET_KEY="another",
    )
    value = set_value(other.test_client().post("/big"))
    response = app.test_client(use_cookies=False).get(
        "/read", headers={"Cookie": f"flash={value}"}
    )
    assert response.status_code == 200
    assert seen == [[]]


@pytest.mark.redis
def test_an_outage_reads_as_an_empty_flash(
    make_app: AppFactory,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, seen = overflow_app(
        make_app, SCOPES_SESSION_STORE=RedisCache(redis_server.client(retry=False))
    )
    client = app.test_client()
    client.post("/big")
    redis_server.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="flask_scopes"):
            response = client.get("/read")
        assert response.status_code == 200
        assert seen == [[]]
        assert any("could not be read" in r.message for r in caplog.records)
    finally:
        redis_server.start()


@pytest.mark.redis
def test_an_outage_when_spilling_is_a_503(
    make_app: AppFactory, redis_server: RedisServer
) -> None:
    app, _ = overflow_app(
        make_app, SCOPES_SESSION_STORE=RedisCache(redis_server.client(retry=False))
    )
    client = app.test_client()
    redis_server.stop()
    try:
        response = client.post("/big")
        assert response.status_code == 503
        assert client.get_cookie("flash") is None
    finally:
        redis_server.start()
