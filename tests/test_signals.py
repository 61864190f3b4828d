"""Signals: each fires once, with the app as sender and its documented
arguments, in cookie mode and with each store."""

from __future__ import annotations

import hashlib
import secrets
import time
import typing as t
from contextlib import contextmanager

import pytest
from blinker import NamedSignal
from cachelib import RedisCache
from flask import Flask
from flask import session
from flask.json.tag import TaggedJSONSerializer
from itsdangerous import TimestampSigner
from itsdangerous import URLSafeTimedSerializer

from flask_scopes import flash
from flask_scopes import FlashTooLarge
from flask_scopes import sessions
from flask_scopes import SessionTooLarge
from flask_scopes import signals

from .conftest import FakeClock
from .conftest import SECRET
from .helpers import cookie_value
from .redis_server import RedisServer
from .store_modes import add_routes
from .store_modes import mode as mode
from .store_modes import mode_app as mode_app

AppFactory = t.Callable[..., Flask]
Sent = list[tuple[t.Any, dict[str, t.Any]]]


@contextmanager
def recording(signal: NamedSignal) -> t.Iterator[Sent]:
    """Every sending of ``signal`` while the block runs."""
    sent: Sent = []

    def receiver(sender: t.Any, **kwargs: t.Any) -> None:
        sent.append((sender, kwargs))

    with signal.connected_to(receiver):
        yield sent


def only(sent: Sent, app: Flask) -> dict[str, t.Any]:
    """The arguments of the one sending, checking that the app sent it."""
    assert len(sent) == 1, sent
    sender, kwargs = sent[0]
    assert sender is app
    return kwargs


def test_every_signal_is_in_the_namespace() -> None:
    assert {signal.name for signal in signals.ALL} == set(signals.scopes_signals)
    assert len(signals.ALL) == 9


# -- session lifecycle -----------------------------------------------------------


def test_started_once(mode_app: AppFactory) -> None:
    app = mode_app()
    client = app.test_client()
    with recording(signals.session_started) as sent:
        client.get("/set/a/1")
        client.get("/set/b/2")
    assert only(sent, app) == {"scope": "session"}


def test_regenerated(mode_app: AppFactory) -> None:
    app = mode_app()
    client = app.test_client()
    client.get("/set/a/1")
    with recording(signals.session_regenerated) as sent:
        client.get("/regenerate")
    assert only(sent, app) == {"scope": "session"}


def test_bound(mode_app: AppFactory) -> None:
    app = mode_app()
    with recording(signals.session_bound) as sent:
        app.test_client().get("/login/7")
    assert only(sent, app) == {"scope": "session", "user_id": "7"}


@pytest.mark.parametrize("reason", ["timeout", "expired", "revoked", "cleared"])
def test_ended(mode_app: AppFactory, clock: FakeClock, reason: str, mode: str) -> None:
    app = mode_app(SCOPES_SESSION_IDLE_TIMEOUT=60, PERMANENT_SESSION_LIFETIME=30)
    client = app.test_client()
    if reason == "expired":
        client.get("/permanent")
        clock.advance(31)
    else:
        client.get("/login/7")
    if reason == "timeout":
        clock.advance(61)
    if reason == "revoked":
        app.test_client().get("/revoke/7")
    with recording(signals.session_ended) as sent:
        client.get("/clear" if reason == "cleared" else "/get/user")
    if reason == "timeout" and mode == "filesystem":
        # This store runs on the app's clock and has already dropped the
        # entry at the end of its time to live: a session whose entry is
        # gone reports "expired", the store no longer knowing why.
        reason = "expired"
    assert only(sent, app) == {"scope": "session", "reason": reason}


def test_a_new_session_cleared_did_not_end(mode_app: AppFactory) -> None:
    app = mode_app()
    with recording(signals.session_ended) as sent:
        app.test_client().get("/clear")
    assert sent == []


# -- refused cookies ---------------------------------------------------------------


def flask_cookie(age: int) -> str:
    """A Flask session cookie signed ``age`` seconds ago. Flask's signer
    reads the system clock, not the app's."""

    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    serializer = URLSafeTimedSerializer(
        SECRET,
        salt="cookie-session",
        serializer=TaggedJSONSerializer(),
        signer=Signer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )
    return serializer.dumps({"a": "1"})


@pytest.mark.parametrize(
    "reason", ["bad_signature", "malformed", "oversized", "expired"]
)
def test_cookie_refused(
    mode_app: AppFactory, clock: FakeClock, reason: str, mode: str
) -> None:
    app = mode_app()
    client = app.test_client()
    value = cookie_value(client.get("/set/a/1"))
    client.delete_cookie("session")
    if reason == "bad_signature":
        client.set_cookie(
            "session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB")
        )
    elif reason == "malformed":
        # Two different cookies of one name: neither is trusted.
        client.set_cookie("session", value)
        client.set_cookie("session", value + "x", path="/get")
    elif reason == "expired":
        client.set_cookie("session", flask_cookie(32 * 86400))
    # Sent as a header: the test client warns about a cookie this large.
    headers = {"Cookie": f"session={value + 'A' * 5000}"}
    with recording(signals.cookie_refused) as sent:
        if reason == "oversized":
            # A client without a jar sends the header as given.
            bare = app.test_client(use_cookies=False)
            response = bare.get("/get/a", headers=headers)
        else:
            response = client.get("/get/a")
        assert response.text == "None"
    assert only(sent, app) == {"scope": "session", "reason": reason}


def test_a_valid_flask_cookie_is_not_refused(
    mode_app: AppFactory, clock: FakeClock
) -> None:
    # Flask's signer reads the system clock: so does the app, here, or the
    # cookie would be past the default idle limit.
    clock.now = time.time()
    app = mode_app()
    client = app.test_client()
    client.set_cookie("session", flask_cookie(10))
    with recording(signals.cookie_refused) as sent:
        assert client.get("/get/a").text == "'1'"
    assert sent == []


def test_the_value_is_never_passed(mode_app: AppFactory) -> None:
    app = mode_app()
    client = app.test_client()
    client.set_cookie("session", "secret-looking-value")
    with recording(signals.cookie_refused) as sent:
        client.get("/get/a")
    assert "secret-looking-value" not in repr(sent)


# -- failures ---------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.parametrize("when", ["load", "save"])
def test_store_unavailable(
    make_app: AppFactory, redis_server: RedisServer, when: str
) -> None:
    app = make_app(SCOPES_SESSION_STORE=RedisCache(redis_server.client()))
    add_routes(app, app.extensions["scopes"])
    client = app.test_client()
    if when == "load":
        client.get("/set/a/1")
    redis_server.stop()
    try:
        with recording(signals.store_unavailable) as sent:
            assert client.get("/set/a/2").status_code == 503
    finally:
        redis_server.start()
    kwargs = only(sent, app)
    assert kwargs["scope"] == "session"
    assert kwargs["error"].operation == when


def test_session_too_large(mode_app: AppFactory, mode: str) -> None:
    app = mode_app(SCOPES_SESSION_STORE_MAX_SIZE=2000)

    @app.get("/big")
    def big() -> str:
        session["big"] = secrets.token_hex(5000)
        return "ok"

    with recording(signals.session_too_large) as sent:
        with pytest.raises(SessionTooLarge):
            app.test_client().get("/big")
    kwargs = only(sent, app)
    assert kwargs["scope"] == "session"
    assert kwargs["raised"] is True
    assert isinstance(kwargs["error"], SessionTooLarge)


def test_flash_too_large(mode_app: AppFactory, mode: str) -> None:
    app = mode_app()
    message = secrets.token_hex(5000)

    @app.get("/big")
    def big() -> str:
        flash.info(message)
        return "ok"

    @app.get("/read")
    def read() -> str:
        return "|".join(m for _, m in flash)

    client = app.test_client()
    with recording(signals.flash_too_large) as sent:
        if mode == "cookie":
            with pytest.raises(FlashTooLarge):
                client.get("/big")
        else:
            # With a store, the flash overflows into it: nothing is too large.
            assert client.get("/big").text == "ok"
    if mode == "cookie":
        assert isinstance(only(sent, app)["error"], FlashTooLarge)
    else:
        assert sent == []
        assert client.get("/read").text == message


def test_flash_dropped(mode_app: AppFactory, clock: FakeClock) -> None:
    app = mode_app(SCOPES_FLASH_MAX_AGE=10)

    @app.get("/flash")
    def flash_view() -> str:
        flash.info("hello")
        return "ok"

    @app.get("/read")
    def read() -> str:
        return repr(list(flash))

    client = app.test_client()
    client.get("/flash")
    clock.advance(11)
    with recording(signals.flash_dropped) as sent:
        client.get("/read")
    assert only(sent, app) == {"reason": "expired"}


# -- named scopes -------------------------------------------------------------------


def test_named_scopes_send_their_name(
    mode_app: AppFactory, clock: FakeClock, mode: str
) -> None:
    app = mode_app(SCOPES_SESSIONS={"prefs": {"idle_timeout": 60}})

    @app.get("/prefs")
    def prefs() -> str:
        sessions.prefs["theme"] = "dark"
        return "ok"

    @app.get("/read-prefs")
    def read_prefs() -> str:
        return repr(sessions.prefs.get("theme"))

    client = app.test_client()
    with recording(signals.session_started) as sent:
        client.get("/prefs")
    assert only(sent, app) == {"scope": "prefs"}
    clock.advance(61)
    with recording(signals.session_ended) as sent:
        client.get("/read-prefs")
    reason = "expired" if mode == "filesystem" else "timeout"
    assert only(sent, app) == {"scope": "prefs", "reason": reason}


def test_flash_dropped_to_make_room(mode_app: AppFactory, mode: str) -> None:
    app = mode_app()

    @app.get("/flash")
    def flash_view() -> str:
        flash.info(secrets.token_hex(800))
        return "ok"

    client = app.test_client()
    client.get("/flash")
    # The second flash does not fit beside the unread first one.
    with recording(signals.flash_dropped) as sent:
        client.get("/flash")
    if mode == "cookie":
        assert only(sent, app) == {"reason": "room"}
    else:
        # With a store, both flashes overflow into it: none is dropped.
        assert sent == []


def test_a_refused_flash_cookie(mode_app: AppFactory) -> None:
    app = mode_app()

    @app.get("/read")
    def read() -> str:
        return repr(list(flash))

    client = app.test_client()
    client.set_cookie("flash", "not-a-flash-cookie")
    with recording(signals.cookie_refused) as sent:
        assert client.get("/read").text == "[]"
    kwargs = only(sent, app)
    assert kwargs["scope"] == "flash"
    assert kwargs["reason"] == "malformed"


def test_an_oversized_flash_cookie_is_refused_as_oversized(
    make_app: AppFactory,
) -> None:
    app = make_app()

    @app.get("/read")
    def read() -> str:
        return repr(list(flash))

    # A client without a jar sends the header as given.
    client = app.test_client(use_cookies=False)
    headers = {"Cookie": "flash=1." + "A" * 5000}
    with recording(signals.cookie_refused) as sent:
        assert client.get("/read", headers=headers).text == "[]"
    assert only(sent, app) == {"scope": "flash", "reason": "oversized"}


def test_an_oversized_stored_flash_is_refused_as_oversized(
    make_app: AppFactory,
) -> None:
    app = make_app(SCOPES_SESSION_STORE="simple://")

    @app.get("/read")
    def read() -> str:
        return repr(list(flash))

    overflow = app.session_interface.runtime(app).flash_overflow  # type: ignore[attr-defined]
    reference = "A" * 43
    overflow.store.set(overflow.prefix + reference, b"x" * (overflow.max_size + 1), 60)
    client = app.test_client(use_cookies=False)
    with recording(signals.cookie_refused) as sent:
        response = client.get("/read", headers={"Cookie": f"flash=2.{reference}"})
        assert response.text == "[]"
    assert only(sent, app) == {"scope": "flash", "reason": "oversized"}
