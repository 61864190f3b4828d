"""Fixtures that run a test against every session mode: the signed cookie
and each kind of server-side store, on real backends: one Redis server, a
three-node Redis Cluster and a primary behind Sentinel among them."""

from __future__ import annotations

import typing as t

import pytest
from cachelib import FileSystemCache
from cachelib import RedisCache
from cachelib import SimpleCache
from flask import Flask
from flask import session

from flask_scopes import Scopes

MODES = [
    "cookie",
    "simple",
    "filesystem",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("redis-cluster", marks=pytest.mark.redis),
    pytest.param("redis-sentinel", marks=pytest.mark.redis),
]
STORE_MODES = MODES[1:]


def store_config(mode: str, request: pytest.FixtureRequest) -> dict[str, t.Any]:
    """The configuration of a mode. Cookie mode keeps revocations in a
    SimpleCache, so that every mode can revoke users."""
    if mode == "cookie":
        return {"SCOPES_REVOCATION_STORE": SimpleCache(threshold=1_000_000)}
    if mode == "simple":
        return {"SCOPES_SESSION_STORE": SimpleCache(threshold=1_000_000)}
    if mode == "filesystem":
        path = request.getfixturevalue("tmp_path") / "sessions"
        return {"SCOPES_SESSION_STORE": FileSystemCache(str(path))}
    if mode == "redis":
        server = request.getfixturevalue("redis_server")
        return {"SCOPES_SESSION_STORE": RedisCache(server.client())}
    if mode == "redis-cluster":
        cluster = request.getfixturevalue("redis_cluster")
        return {"SCOPES_SESSION_STORE": RedisCache(cluster.client())}
    if mode == "redis-sentinel":
        sentinel = request.getfixturevalue("redis_sentinel")
        return {"SCOPES_SESSION_STORE": RedisCache(sentinel.client())}
    raise AssertionError(mode)


def add_routes(app: Flask, scopes: Scopes) -> None:
    """Views that use the session the ways the tests need."""

    @app.get("/untouched")
    def untouched() -> str:
        return "ok"

    @app.get("/get/<key>")
    def get(key: str) -> str:
        return repr(session.get(key))

    @app.get("/has/<key>")
    def has(key: str) -> str:
        return repr(key in session)

    @app.get("/set/<key>/<value>")
    def set_(key: str, value: str) -> str:
        session[key] = value
        return "ok"

    @app.get("/clear")
    def clear() -> str:
        session.clear()
        return "ok"

    @app.get("/regenerate")
    def regenerate() -> str:
        session.regenerate()
        return "ok"

    @app.get("/login/<uid>")
    def login(uid: str) -> str:
        session.bind_user(uid)
        session["user"] = uid
        return "ok"

    @app.get("/revoke/<uid>")
    def revoke(uid: str) -> str:
        scopes.revoke_user(uid)
        return "ok"

    @app.get("/permanent")
    def permanent() -> str:
        session.permanent = True
        session["p"] = 1
        return "ok"


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return t.cast(str, request.param)


@pytest.fixture(params=STORE_MODES)
def store_mode(request: pytest.FixtureRequest) -> str:
    return t.cast(str, request.param)


def _factory(
    mode: str, request: pytest.FixtureRequest, make_app: t.Callable[..., Flask]
) -> t.Callable[..., Flask]:
    base = store_config(mode, request)
    clock = request.getfixturevalue("clock")

    def factory(**config: t.Any) -> Flask:
        scopes = Scopes(clock=clock)
        app = make_app(scopes, **{**base, **config})
        add_routes(app, scopes)
        return app

    return factory


@pytest.fixture
def mode_app(
    mode: str, request: pytest.FixtureRequest, make_app: t.Callable[..., Flask]
) -> t.Callable[..., Flask]:
    """Build an app in the current mode, with :func:`add_routes`."""
    return _factory(mode, request, make_app)


@pytest.fixture
def store_app(
    store_mode: str, request: pytest.FixtureRequest, make_app: t.Callable[..., Flask]
) -> t.Callable[..., Flask]:
    """Build an app with a server-side store, with :func:`add_routes`."""
    return _factory(store_mode, request, make_app)
