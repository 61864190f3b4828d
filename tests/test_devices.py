""" "Your devices": the sessions bound to a user are listed with one store
read, and ended one by one, on real stores."""

from __future__ import annotations

import re
import typing as t

import pytest
from cachelib import RedisCache
from cachelib import SimpleCache
from flask import Flask
from flask import jsonify
from flask import session

from flask_scopes import Device
from flask_scopes import Scopes
from flask_scopes import ScopesError

from .conftest import FakeClock
from .conftest import SECRET
from .redis_server import RedisServer

STORES = ["simple", pytest.param("redis", marks=pytest.mark.redis)]
MODES = ["cookie", *STORES, pytest.param("cookie-redis", marks=pytest.mark.redis)]


def store(kind: str, request: pytest.FixtureRequest) -> t.Any:
    if kind in ("simple", "cookie"):
        return SimpleCache(threshold=1_000_000)
    server: RedisServer = request.getfixturevalue("redis_server")
    return RedisCache(server.client())


def mode_config(kind: str, request: pytest.FixtureRequest) -> dict[str, t.Any]:
    """Store mode, or cookie mode with a revocation store."""
    key = "SCOPES_REVOCATION_STORE" if "cookie" in kind else "SCOPES_SESSION_STORE"
    return {key: store(kind, request)}


def devices_app(clock: FakeClock, **config: t.Any) -> tuple[Flask, Scopes]:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, TESTING=True, SCOPES_DEVICES=True)
    app.config.update(config)
    scopes = Scopes(app, clock=clock)

    @app.get("/login/<uid>")
    def login(uid: str) -> str:
        session.bind_user(uid)
        return "ok"

    @app.get("/whoami")
    def whoami() -> str:
        return session.bound_user or "anonymous"

    @app.get("/touch")
    def touch() -> str:
        session["n"] = session.get("n", 0) + 1
        return "ok"

    @app.get("/regenerate")
    def regenerate() -> str:
        session.regenerate()
        return "ok"

    @app.get("/keys")
    def keys() -> str:
        return " ".join(sorted(session.keys()))

    @app.get("/logout")
    def logout() -> str:
        session.clear()
        return "ok"

    @app.get("/devices")
    def devices() -> t.Any:
        user = session.bound_user
        assert user is not None
        return jsonify(
            [[d.ref, d.current, d.user_agent, d.ip] for d in scopes.user_sessions(user)]
        )

    @app.post("/end/<ref>")
    def end(ref: str) -> str:
        user = session.bound_user
        assert user is not None
        return repr(scopes.end_session(user, ref))

    @app.get("/revoke/<uid>")
    def revoke(uid: str) -> str:
        scopes.revoke_user(uid)
        return "ok"

    return app, scopes


def listed(app: Flask, scopes: Scopes, user: str) -> list[Device]:
    with app.app_context():
        return scopes.user_sessions(user)


@pytest.mark.parametrize("kind", MODES)
def test_three_logins_list_three_sessions_and_one_ends_alone(
    clock: FakeClock, request: pytest.FixtureRequest, kind: str
) -> None:
    app, scopes = devices_app(clock, **mode_config(kind, request))
    clients = [app.test_client() for _ in range(3)]
    for i, client in enumerate(clients):
        clock.advance(10)
        client.get("/login/ann", headers={"User-Agent": f"browser {i}"})
    app.test_client().get("/login/bob")
    assert "_scopes_device" in clients[0].get("/keys").text.split()
    devices = listed(app, scopes, "ann")
    assert len(devices) == 3
    assert len({d.ref for d in devices}) == 3
    # Most recently seen first; began in login order.
    assert [d.began for d in devices] == sorted(
        (d.began for d in devices), reverse=True
    )
    # A reference never reveals a session id.
    for client in clients:
        cookie = client.get_cookie("session")
        assert cookie is not None
        assert all(d.ref not in cookie.value for d in devices)
        if "cookie" not in kind:
            sid = cookie.value.split(".")[0]
            assert all(sid not in d.ref and d.ref not in sid for d in devices)
    # Each client sees itself marked as the current one.
    mine = clients[0].get("/devices").get_json()
    assert sum(1 for _, current, _, _ in mine if current) == 1
    # The first client ends the second's session.
    second = next(
        ref for ref, current, _, _ in clients[1].get("/devices").get_json() if current
    )
    assert clients[0].post(f"/end/{second}").text == "True"
    assert clients[1].get("/whoami").text == "anonymous"
    assert clients[0].get("/whoami").text == "ann"
    assert clients[2].get("/whoami").text == "ann"
    assert {d.ref for d in listed(app, scopes, "ann")} == {d.ref for d in devices} - {
        second
    }
    assert len(listed(app, scopes, "bob")) == 1
    # Ending it again, or a reference that never was, finds nothing.
    assert clients[0].post(f"/end/{second}").text == "False"
    assert clients[0].post("/end/not-a-reference").text == "False"
    assert clients[0].post(f"/end/{'A' * 22}").text == "False"


@pytest.mark.redis
def test_in_cookie_mode_ending_one_needs_one_read_per_request(
    clock: FakeClock, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    app, scopes = devices_app(clock, SCOPES_REVOCATION_STORE=RedisCache(client))
    one, two = app.test_client(), app.test_client()
    one.get("/login/ann")
    two.get("/login/ann")
    [ref] = [r for r, current, _, _ in two.get("/devices").get_json() if current]

    def calls() -> dict[str, int]:
        stats = client.info("commandstats")
        return {k: v["calls"] for k, v in stats.items() if k != "cmdstat_info"}

    before = calls()
    assert one.get("/whoami").text == "ann"
    # The revocation marker and the session's own marker: one MGET.
    after = calls()
    grew = {k: after[k] - before.get(k, 0) for k in after}
    assert {k: n for k, n in grew.items() if n} == {"cmdstat_mget": 1}
    with app.app_context():
        assert scopes.end_session("ann", ref)
    assert two.get("/whoami").text == "anonymous"
    assert one.get("/whoami").text == "ann"


@pytest.mark.parametrize("kind", MODES)
def test_a_regenerated_session_keeps_its_reference(
    clock: FakeClock, request: pytest.FixtureRequest, kind: str
) -> None:
    app, scopes = devices_app(clock, **mode_config(kind, request))
    one, two = app.test_client(), app.test_client()
    one.get("/login/ann")
    two.get("/login/ann")
    [ref] = [r for r, current, _, _ in one.get("/devices").get_json() if current]
    one.get("/regenerate")
    # Same reference, and ending it ends the session under its new id.
    assert [r for r, current, _, _ in one.get("/devices").get_json() if current] == [
        ref
    ]
    assert two.post(f"/end/{ref}").text == "True"
    assert one.get("/whoami").text == "anonymous"
    assert two.get("/whoami").text == "ann"


def test_logout_and_revocation_clean_the_index(clock: FakeClock) -> None:
    app, scopes = devices_app(clock, SCOPES_SESSION_STORE=SimpleCache(threshold=10**6))
    one, two = app.test_client(), app.test_client()
    one.get("/login/ann")
    two.get("/login/ann")
    one.get("/logout")
    assert len(listed(app, scopes, "ann")) == 1
    two.get("/revoke/ann")
    assert listed(app, scopes, "ann") == []


def test_expired_sessions_are_not_listed(clock: FakeClock) -> None:
    app, scopes = devices_app(
        clock,
        SCOPES_SESSION_STORE=SimpleCache(threshold=10**6),
        SCOPES_SESSION_STORE_TTL=1000,
    )
    app.test_client().get("/login/ann")
    clock.advance(500)
    app.test_client().get("/login/ann")
    # The first ended at 1000 s unused; the index drops it by 1100 s.
    clock.advance(700)
    assert len(listed(app, scopes, "ann")) == 1


def test_last_seen_moves_at_the_refresh_resolution(clock: FakeClock) -> None:
    app, scopes = devices_app(
        clock,
        SCOPES_SESSION_STORE=SimpleCache(threshold=10**6),
        SCOPES_SESSION_STORE_TTL=1000,
    )
    client = app.test_client()
    client.get("/login/ann")
    [device] = listed(app, scopes, "ann")
    # Writes within a tenth of the window leave the index alone...
    for _ in range(5):
        clock.advance(10)
        client.get("/touch")
    [again] = listed(app, scopes, "ann")
    assert again.last_seen == device.last_seen
    # ...and the first one past it updates it.
    clock.advance(60)
    client.get("/touch")
    [later] = listed(app, scopes, "ann")
    assert (later.last_seen - device.last_seen).total_seconds() == 110
    assert later.began == device.began and later.ref == device.ref


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, [None, None]),
        ({"SCOPES_DEVICES_USER_AGENT": True}, ["agent/1", None]),
        ({"SCOPES_DEVICES_IP": True}, [None, "10.0.0.7"]),
    ],
)
def test_user_agent_and_ip_are_opt_in(
    clock: FakeClock, config: dict[str, t.Any], expected: list[t.Any]
) -> None:
    app, scopes = devices_app(
        clock, SCOPES_SESSION_STORE=SimpleCache(threshold=10**6), **config
    )
    client = app.test_client()
    client.get(
        "/login/ann",
        headers={"User-Agent": "agent/1"},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )
    [device] = listed(app, scopes, "ann")
    assert [device.user_agent, device.ip] == expected


def test_the_index_is_bounded_per_user(clock: FakeClock) -> None:
    app, scopes = devices_app(clock, SCOPES_SESSION_STORE=SimpleCache(threshold=10**6))
    for _ in range(55):
        clock.advance(1)
        app.test_client().get("/login/ann")
    assert len(listed(app, scopes, "ann")) == 50


@pytest.mark.redis
def test_listing_is_one_round_trip_within_one_hash_slot(
    clock: FakeClock, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    app, scopes = devices_app(clock, SCOPES_SESSION_STORE=RedisCache(client))
    for _ in range(3):
        app.test_client().get("/login/ann")

    def calls() -> int:
        stats = client.info("commandstats")
        return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")

    before = calls()
    assert len(listed(app, scopes, "ann")) == 3
    assert calls() - before == 1
    # The user's entries, index and marker share one hash tag.
    scopes.revoke_user("ann", app)
    app.test_client().get("/login/ann")
    tags = {
        re.search(rb"\{(.+?)\}", key).group(1)  # type: ignore[union-attr]
        for key in client.keys(b"scopes:*")
    }
    assert len(tags) == 1


def test_cookie_mode_without_a_store_refuses(clock: FakeClock) -> None:
    app, scopes = devices_app(clock)
    with app.app_context(), pytest.raises(ScopesError, match="SCOPES_DEVICES"):
        scopes.user_sessions("ann")


def test_devices_can_be_turned_off(clock: FakeClock) -> None:
    app, scopes = devices_app(
        clock, SCOPES_SESSION_STORE=SimpleCache(threshold=10**6), SCOPES_DEVICES=False
    )
    client = app.test_client()
    client.get("/login/ann")
    keys = client.get("/keys").text.split()
    assert "_scopes_user" in keys and "_scopes_device" not in keys
    with app.app_context(), pytest.raises(ScopesError):
        scopes.user_sessions("ann")
