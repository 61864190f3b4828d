"""Server-side sessions: ids, the stored format, revocation, outages and
the cost in store round trips, on SimpleCache, FileSystemCache and a real
Redis server."""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import textwrap
import typing as t

import pytest
from cachelib import FileSystemCache
from cachelib import RedisCache
from cachelib import SimpleCache
from flask import Flask
from flask import request
from flask import session

from flask_scopes import ConfigurationError
from flask_scopes import FileSystemSessionStore
from flask_scopes import RedisSessionStore
from flask_scopes import Scopes
from flask_scopes import ScopesError
from flask_scopes import sessions
from flask_scopes import SessionStore
from flask_scopes import SessionStoreUnavailable
from flask_scopes import SessionValueError
from flask_scopes import StoreEvictionWarning
from flask_scopes.session.entries import decode_entry
from flask_scopes.session.entries import encode_entry
from flask_scopes.session.entries import entry_name
from flask_scopes.session.entries import ID_BYTES
from flask_scopes.session.entries import is_valid_id
from flask_scopes.session.entries import new_id
from flask_scopes.session.entries import UserRefs
from flask_scopes.stores import purge_expired

from .store_modes import add_routes
from .store_modes import mode as mode
from .store_modes import mode_app as mode_app
from .store_modes import store_app as store_app
from .store_modes import store_mode as store_mode

if t.TYPE_CHECKING:
    from .conftest import FakeClock
    from .redis_server import RedisServer

AppFactory = t.Callable[..., Flask]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# -- helpers ---------------------------------------------------------------------


def runtime(app: Flask) -> t.Any:
    return app.extensions["scopes"].interface(app).runtime(app)


def store_of(app: Flask) -> SessionStore:
    store = runtime(app).store
    assert store is not None
    return t.cast(SessionStore, store)


def sign(app: Flask, message: str) -> str:
    """Sign ``message`` with the app's real id key, as if the attacker had it."""
    return t.cast(str, runtime(app).server.ids.keys.sign(message))


def cookie(client: t.Any) -> str:
    found = client.get_cookie("session")
    assert found is not None
    return t.cast(str, found.value)


def cookie_mode_cookie(make_app: AppFactory) -> str:
    """The cookie of a session holding ``a = 1`` in cookie mode, as a
    browser keeps it from before the app moved its sessions to a store."""
    cookie_app = make_app()
    add_routes(cookie_app, cookie_app.extensions["scopes"])
    old = cookie_app.test_client()
    old.get("/set/a/1")
    return cookie(old)


def entry_names(app: Flask) -> list[str]:
    """The names of the session entries in the app's store, read from the
    backend itself."""
    store = store_of(app)
    prefix = store.key("s:")
    if isinstance(store, RedisSessionStore):
        keys = redis_keys(store, prefix + "*")
        return sorted(k.decode()[len(store.key("")) :] for k in keys)
    if isinstance(store, FileSystemSessionStore):
        return sorted(raw_files(store))
    cache = t.cast(SimpleCache, store.cache)
    return sorted(k[len(store.key("")) :] for k in cache._cache if k.startswith(prefix))


def redis_keys(store: RedisSessionStore, pattern: str) -> list[bytes]:
    """The keys matching ``pattern``, from every primary of a Cluster."""
    if store.cluster:
        return list(store.client.keys(pattern, target_nodes=store.client.PRIMARIES))
    return list(store.client.keys(pattern))


def raw_files(store: FileSystemSessionStore) -> dict[str, bytes]:
    out = {}
    for name in os.listdir(store.path):
        if name == store._count_file or name.endswith(".__wz_cache"):
            continue
        with open(os.path.join(store.path, name), "rb") as f:
            out[name] = f.read()
    return out


def raw_entries(app: Flask) -> list[bytes]:
    """The stored bytes of every session entry, read from the backend."""
    store = store_of(app)
    if isinstance(store, RedisSessionStore):
        return [store.client.get(store.key(name)) for name in entry_names(app)]
    if isinstance(store, FileSystemSessionStore):
        return [raw[4:] for raw in raw_files(store).values()]
    cache = t.cast(SimpleCache, store.cache)
    return [v for k, (_, v) in cache._cache.items() if k.startswith(store.key("s:"))]


def plant(app: Flask, name: str, value: bytes) -> None:
    """Write bytes at an entry behind the app's back."""
    store = store_of(app)
    if isinstance(store, RedisSessionStore):
        store.client.set(store.key(name), value)
    elif isinstance(store, FileSystemSessionStore):
        with open(store._filename(store.key(name)), "wb") as f:
            f.write(b"\0\0\0\0" + value)
    else:
        t.cast(SimpleCache, store.cache)._cache[store.key(name)] = (0, value)


class Recording:
    """Records the store operations of a real store: instrumentation."""

    calls: list[str]

    def _record(self, name: str) -> None:
        self.calls.append(name)

    def get(self, name: str) -> t.Any:
        self._record("get")
        return super().get(name)  # type: ignore[misc]

    def get_many(self, *names: str) -> t.Any:
        self._record("get_many")
        return super().get_many(*names)  # type: ignore[misc]

    def set(self, name: str, value: bytes, ttl: int) -> t.Any:
        self._record("set")
        return super().set(name, value, ttl)  # type: ignore[misc]

    def add(self, name: str, value: bytes, ttl: int) -> t.Any:
        self._record("add")
        return super().add(name, value, ttl)  # type: ignore[misc]

    def replace(self, name: str, value: bytes, ttl: int) -> t.Any:
        self._record("replace")
        return super().replace(name, value, ttl)  # type: ignore[misc]

    def delete(self, name: str) -> t.Any:
        self._record("delete")
        return super().delete(name)  # type: ignore[misc]


class RecordingStore(Recording, SessionStore):
    pass


class RecordingFileStore(Recording, FileSystemSessionStore):
    pass


class RecordingRedisStore(Recording, RedisSessionStore):
    pass


REDIS_FIXTURES = {
    "redis": "redis_server",
    "redis-cluster": "redis_cluster",
    "redis-sentinel": "redis_sentinel",
}


@pytest.fixture
def recording_app(
    store_mode: str,
    request: pytest.FixtureRequest,
    make_app: t.Callable[..., Flask],
    clock: FakeClock,
) -> t.Callable[..., tuple[Flask, Recording]]:
    """An app whose store records every operation."""

    def factory(**config: t.Any) -> tuple[Flask, Recording]:
        store: Recording
        if store_mode == "simple":
            store = RecordingStore(SimpleCache(threshold=1_000_000), clock=clock)
        elif store_mode == "filesystem":
            path = str(request.getfixturevalue("tmp_path") / "sessions")
            store = RecordingFileStore(FileSystemCache(path), clock=clock)
        else:
            server = request.getfixturevalue(REDIS_FIXTURES[store_mode])
            store = RecordingRedisStore(RedisCache(server.client()), clock=clock)
        store.calls = []
        scopes = Scopes(clock=clock)
        app = make_app(scopes, SCOPES_SESSION_STORE=store, **config)
        add_routes(app, scopes)
        return app, store

    return factory


# -- ids -------------------------------------------------------------------------


def test_ids_are_unique_and_well_formed() -> None:
    assert ID_BYTES * 8 >= 128
    ids = [new_id() for _ in range(10_000)]
    assert len(set(ids)) == 10_000
    assert all(is_valid_id(i) and len(i) == 43 for i in ids)


@pytest.mark.parametrize(
    "value", ["", "../x", "a" * 42, "a" * 44, "a" * 42 + "/", "a" * 42 + ".", None, 43]
)
def test_is_valid_id_refuses(value: t.Any) -> None:
    assert not is_valid_id(value)


MALFORMED = [
    "../x",
    "../" + "a" * 40,
    "a" * 42,
    "a" * 44,
    "a" * 42 + "!",
    "a" * 43 + "." + "b" * 21,
    "a" * 43 + "/../x",
    "a" * 43 + ".." + "b" * 22,
]


@pytest.mark.parametrize("message", MALFORMED)
def test_malformed_ids_never_reach_the_store(
    recording_app: t.Callable[..., tuple[Flask, Recording]], message: str
) -> None:
    app, store = recording_app()
    client = app.test_client()
    client.set_cookie("session", sign(app, message))
    assert client.get("/get/a").text == "None"
    assert store.calls == []
    client.get("/set/a/1")
    assert message not in cookie(client)
    assert store.calls == ["add"]


def test_forged_signature_never_reaches_the_store(
    recording_app: t.Callable[..., tuple[Flask, Recording]],
) -> None:
    app, store = recording_app()
    client = app.test_client()
    client.get("/set/a/1")
    sid = cookie(client).split(".")[0]
    store.calls.clear()
    client.set_cookie("session", f"{sid}.{'A' * 43}")
    assert client.get("/get/a").text == "None"
    assert store.calls == []


def test_unknown_id_is_never_adopted(
    recording_app: t.Callable[..., tuple[Flask, Recording]],
) -> None:
    app, store = recording_app()
    planted = new_id()
    client = app.test_client()
    client.set_cookie("session", sign(app, planted))
    assert client.get("/get/a").text == "None"
    assert store.calls == ["get"]
    client.get("/set/a/1")
    assert not cookie(client).startswith(planted)
    assert all(planted not in name for name in entry_names(app))


# -- the attacks of the security cases --------------------------------------------


def test_session_fixation(store_app: AppFactory) -> None:
    app = store_app()
    attacker, victim = app.test_client(), app.test_client()
    attacker.get("/set/planted/yes")
    victim.set_cookie("session", cookie(attacker))
    victim.get("/login/42")
    assert cookie(victim).split(".")[0] != cookie(attacker).split(".")[0]
    assert victim.get("/get/user").text == "'42'"
    assert victim.get("/get/planted").text == "'yes'"
    # The planted id now resolves to nothing.
    assert attacker.get("/get/user").text == "None"
    assert attacker.get("/get/planted").text == "None"
    assert len(entry_names(app)) == 1


def test_logout_replay(store_app: AppFactory) -> None:
    app = store_app()
    client = app.test_client()
    client.get("/login/42")
    copied = cookie(client)
    client.get("/clear")
    assert entry_names(app) == []
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/get/user").text == "None"


@pytest.mark.parametrize("then", ["modify", "regenerate", "refresh"])
def test_concurrent_logout_stands(
    store_app: AppFactory, clock: FakeClock, then: str
) -> None:
    app = store_app(SCOPES_SESSION_IDLE_TIMEOUT=1000)
    client = app.test_client()
    client.get("/login/42")
    value = cookie(client)
    iface = app.session_interface
    with app.test_request_context(headers={"Cookie": f"session={value}"}):
        slow = iface.open_session(app, request)
        assert slow is not None
        assert slow["user"] == "42"
        # Another request signs out while this one runs.
        client.get("/clear")
        if then == "modify":
            slow["cart"] = [1, 2]
        elif then == "regenerate":
            slow.regenerate()
        else:
            slow.reissue = True
        response = app.response_class()
        iface.save_session(app, slow, response)
    assert entry_names(app) == []
    # The browser's cookie is left alone: it may already be a newer one.
    assert response.headers.getlist("Set-Cookie") == []
    replay = app.test_client()
    replay.set_cookie("session", value)
    assert replay.get("/get/user").text == "None"


# -- what is stored ---------------------------------------------------------------


def test_entries_are_json(store_app: AppFactory, clock: FakeClock) -> None:
    app = store_app()

    @app.get("/typed")
    def typed() -> str:
        session["pair"] = (1, 2)
        return "ok"

    client = app.test_client()
    client.get("/set/name/ada")
    (raw,) = raw_entries(app)
    now = int(clock())
    assert json.loads(raw) == [1, now, now, {"name": "ada"}]
    client.get("/typed")
    (raw,) = raw_entries(app)
    assert json.loads(raw) == [2, now, now, {"name": "ada", "pair": {" t": [1, 2]}}]
    assert decode_entry(raw)[2]["pair"] == (1, 2)


class Exploit:
    """Unpickling this creates a directory: proof that code ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[t.Any, ...]:
        return (os.mkdir, (self.path,))


def test_planted_pickle_is_not_executed(store_app: AppFactory, tmp_path: t.Any) -> None:
    app = store_app()
    client = app.test_client()
    client.get("/set/a/1")
    name = entry_name(cookie(client).split(".")[0], None)
    proof = str(tmp_path / "pwned")
    payload = pickle.dumps(Exploit(proof))
    store = store_of(app)
    for planted in (payload, b"!" + payload, b"[1," + payload):
        plant(app, name, planted)
        response = client.get("/get/a")
        assert response.status_code == 200
        assert response.text == "None"
        assert not os.path.exists(proof)
    # Planted the way cachelib itself writes, pickling the object.
    store.cache.set(store.key(name), Exploit(proof), timeout=0)
    assert client.get("/get/a").text == "None"
    assert not os.path.exists(proof)


def test_anonymous_read_only_requests_create_no_entries(
    recording_app: t.Callable[..., tuple[Flask, Recording]],
) -> None:
    app, store = recording_app()
    client = app.test_client()
    for path in ("/untouched", "/get/a", "/has/a", "/get/_permanent"):
        response = client.get(path)
        assert response.headers.getlist("Set-Cookie") == []
    assert store.calls == []
    assert entry_names(app) == []


def test_read_only_requests_do_not_write(
    recording_app: t.Callable[..., tuple[Flask, Recording]],
) -> None:
    app, store = recording_app()
    client = app.test_client()
    client.get("/set/a/1")
    store.calls.clear()
    for _ in range(3):
        assert client.get("/get/a").text == "'1'"
    assert store.calls == ["get"] * 3


def test_emptied_session_deletes_entry_and_cookie(store_app: AppFactory) -> None:
    app = store_app()
    client = app.test_client()
    client.get("/set/a/1")
    assert len(entry_names(app)) == 1
    response = client.get("/clear")
    assert response.headers["Set-Cookie"].startswith("session=;")
    assert entry_names(app) == []


def test_store_max_size_message(store_app: AppFactory) -> None:
    from flask_scopes import StoredSessionTooLarge

    app = store_app(SCOPES_SESSION_STORE_MAX_SIZE=100)

    @app.get("/big")
    def big() -> str:
        session["big"] = "x" * 200
        return "ok"

    with pytest.raises(StoredSessionTooLarge) as info:
        app.test_client().get("/big")
    assert "SCOPES_SESSION_STORE_MAX_SIZE" in str(info.value)
    assert "'big'" in str(info.value)
    assert entry_names(app) == []


def test_large_sessions_are_free_of_the_cookie_limit(store_app: AppFactory) -> None:
    app = store_app()

    @app.get("/big")
    def big() -> str:
        session["big"] = os.urandom(20_000)
        return "ok"

    client = app.test_client()
    client.get("/big")
    assert len(cookie(client)) < 200
    assert client.get("/has/big").text == "True"


def test_migrates_cookie_sessions(store_app: AppFactory, make_app: AppFactory) -> None:
    copied = cookie_mode_cookie(make_app)
    app = store_app()
    client = app.test_client()
    client.set_cookie("session", copied)
    response = client.get("/get/a")
    assert response.text == "'1'"
    assert len(cookie(client)) < 120
    # Files are named by a hash: the session's and the record that the
    # cookie was migrated are both listed.
    files = isinstance(store_of(app), FileSystemSessionStore)
    assert len(entry_names(app)) == (2 if files else 1)
    assert client.get("/get/a").text == "'1'"


# -- time --------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_ttl_is_the_session_life(
    redis_server: RedisServer, make_app: AppFactory, clock: FakeClock
) -> None:
    client_ = redis_server.client()
    scopes = Scopes(clock=clock)
    app = make_app(
        scopes,
        SCOPES_SESSION_STORE=RedisCache(client_),
        SCOPES_SESSION_STORE_TTL=5000,
        PERMANENT_SESSION_LIFETIME=7000,
    )
    add_routes(app, scopes)
    browser, permanent = app.test_client(), app.test_client()
    browser.get("/set/a/1")
    permanent.get("/permanent")
    ttls = sorted(client_.ttl(k) for k in client_.keys("scopes:s:*"))
    assert ttls == [5000, 7000]
    client_.flushall()
    app.config.update(
        SCOPES_SESSION_IDLE_TIMEOUT=3000, SCOPES_SESSION_ABSOLUTE_TIMEOUT=4000
    )
    browser.get("/set/a/1")
    (key,) = client_.keys("scopes:s:*")
    assert client_.ttl(key) == 3000
    clock.advance(2000)
    browser.get("/set/a/2")
    assert client_.ttl(key) == 2000


def test_filesystem_expiry_is_the_session_life(
    tmp_path: t.Any, make_app: AppFactory, clock: FakeClock
) -> None:
    scopes = Scopes(clock=clock)
    path = str(tmp_path / "s")
    app = make_app(scopes, SCOPES_SESSION_STORE=f"file://{path}")
    add_routes(app, scopes)
    app.test_client().get("/set/a/1")
    store = t.cast(FileSystemSessionStore, store_of(app))
    (raw,) = raw_files(store).values()
    # The entry lives as long as the session's idle limit: the lifetime.
    assert int.from_bytes(raw[:4], sys.byteorder) == int(clock()) + 31 * 86400


def test_idle_refresh_writes_once_per_slice(
    recording_app: t.Callable[..., tuple[Flask, Recording]], clock: FakeClock
) -> None:
    app, store = recording_app(SCOPES_SESSION_IDLE_TIMEOUT=1000)
    client = app.test_client()
    client.get("/set/a/1")
    store.calls.clear()
    clock.advance(99)
    client.get("/get/a")
    assert store.calls == ["get"]
    clock.advance(1)
    client.get("/get/a")
    client.get("/get/a")
    assert store.calls == ["get", "get", "replace", "get"]


def test_purge(tmp_path: t.Any, make_app: AppFactory, clock: FakeClock) -> None:
    scopes = Scopes(clock=clock)
    app = make_app(
        scopes,
        SCOPES_SESSION_STORE=FileSystemCache(str(tmp_path / "s")),
        SCOPES_SESSION_STORE_TTL=100,
    )
    add_routes(app, scopes)
    for _ in range(3):
        app.test_client().get("/set/a/1")
    clock.advance(101)
    survivor = app.test_client()
    survivor.get("/set/a/2")
    store = store_of(app)
    assert len(entry_names(app)) == 4
    assert purge_expired(store) == 3
    assert purge_expired(store) == 0
    assert survivor.get("/get/a").text == "'2'"
    for _ in range(2):
        app.test_client().get("/set/a/1")
    clock.advance(101)

    result = app.test_cli_runner().invoke(args=["scopes", "purge"])
    assert result.exit_code == 0, result.output
    assert "removed 3 expired entries" in result.output
    assert entry_names(app) == []


def test_purge_reaches_the_stores_of_named_scopes(
    tmp_path: t.Any, make_app: AppFactory, clock: FakeClock
) -> None:
    store = FileSystemCache(str(tmp_path / "admin"))
    app = make_app(
        Scopes(clock=clock),
        SCOPES_SESSIONS={"admin": {"store": store, "idle_timeout": 60}},
    )

    @app.get("/admin")
    def admin() -> str:
        sessions.admin["area"] = "x"
        return "ok"

    before = len(os.listdir(tmp_path / "admin"))
    for _ in range(2):
        app.test_client().get("/admin")
    assert len(os.listdir(tmp_path / "admin")) == before + 2
    clock.advance(61)
    result = app.test_cli_runner().invoke(args=["scopes", "purge"])
    assert result.exit_code == 0, result.output
    assert "removed 2 expired entries" in result.output
    assert len(os.listdir(tmp_path / "admin")) == before


def test_purge_command_needs_a_store(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["scopes", "purge"])
    assert result.exit_code != 0
    assert "SCOPES_SESSION_STORE" in result.output


@pytest.mark.redis
def test_purge_command_on_redis(
    redis_server: RedisServer, make_app: AppFactory
) -> None:
    app = make_app(SCOPES_SESSION_STORE=redis_server.url)
    result = app.test_cli_runner().invoke(args=["scopes", "purge"])
    assert result.exit_code == 0
    assert "expires entries by itself" in result.output


# -- eviction ----------------------------------------------------------------------


def test_simplecache_default_threshold_warns(make_app: AppFactory) -> None:
    with pytest.warns(StoreEvictionWarning, match=r"threshold=500\).*signing users"):
        make_app(SCOPES_SESSION_STORE=SimpleCache())


def test_filesystem_default_threshold_keeps_501_sessions(
    tmp_path: t.Any, make_app: AppFactory, clock: FakeClock
) -> None:
    scopes = Scopes(clock=clock)
    app = make_app(scopes, SCOPES_SESSION_STORE=FileSystemCache(str(tmp_path / "s")))
    add_routes(app, scopes)
    clients = [app.test_client() for _ in range(501)]
    for i, client in enumerate(clients):
        client.get(f"/set/n/{i}")
    assert len(entry_names(app)) == 501
    assert all(c.get("/get/n").text == f"'{i}'" for i, c in enumerate(clients))


# -- outages -----------------------------------------------------------------------


@pytest.mark.redis
def test_redis_outage(redis_server: RedisServer, make_app: AppFactory) -> None:
    scopes = Scopes()
    client_ = redis_server.client(retry=False)
    app = make_app(scopes, SCOPES_SESSION_STORE=RedisCache(client_))
    add_routes(app, scopes)
    client = app.test_client()
    client.get("/login/42")
    client.get("/set/cart/3")
    before = cookie(client)
    redis_server.stop(hard=True)
    for path in ("/get/cart", "/set/cart/4"):
        response = client.get(path)
        assert response.status_code == 503
        assert b"could not be reached to load the session" in response.data
        assert response.headers.getlist("Set-Cookie") == []
    assert cookie(client) == before
    redis_server.start()
    assert client.get("/get/cart").text == "'3'"
    assert client.get("/get/user").text == "'42'"


@pytest.mark.redis
def test_redis_outage_on_write(redis_server: RedisServer, make_app: AppFactory) -> None:
    scopes = Scopes()
    client_ = redis_server.client(retry=False)
    app = make_app(scopes, SCOPES_SESSION_STORE=RedisCache(client_))
    add_routes(app, scopes)

    @app.get("/crash-then-save")
    def crash_then_save() -> t.Any:
        session["cart"] = session["cart"] + "+1"
        redis_server.stop(hard=True)
        return app.redirect("/done")

    client = app.test_client()
    client.get("/set/cart/3")
    response = client.get("/crash-then-save")
    assert response.status_code == 503
    assert b"could not be reached to save the session" in response.data
    assert "Location" not in response.headers
    assert response.headers.getlist("Set-Cookie") == []
    redis_server.start()
    assert client.get("/get/cart").text == "'3'"


@pytest.mark.redis
def test_revoke_user_outage(redis_server: RedisServer, make_app: AppFactory) -> None:
    scopes = Scopes()
    client_ = redis_server.client(retry=False)
    app = make_app(scopes, SCOPES_SESSION_STORE=RedisCache(client_))
    redis_server.stop(hard=True)
    with pytest.raises(SessionStoreUnavailable, match="could not be reached"):
        scopes.revoke_user("42", app)


@pytest.mark.parametrize(
    "key", ["SCOPES_SESSION_STORE", "SCOPES_REVOCATION_STORE"], ids=["store", "cookie"]
)
def test_filesystem_outage(
    tmp_path: t.Any,
    make_app: AppFactory,
    caplog: pytest.LogCaptureFixture,
    key: str,
) -> None:
    # In cookie mode the store is only read to check a bound user's
    # revocation; an outage there is a 503 and an error log all the same.
    scopes = Scopes()
    path = tmp_path / "s"
    app = make_app(scopes, **{key: FileSystemCache(str(path))})
    add_routes(app, scopes)
    client = app.test_client()
    client.get("/login/alice")
    path.rename(tmp_path / "away")
    path.write_text("not a directory")
    for url in ("/get/user", "/set/a/2"):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="flask_scopes"):
            response = client.get(url)
        assert response.status_code == 503
        assert b"could not be reached to load" in response.data
        # The page names neither the store nor its error; the log does.
        assert b"FileSystemCache" not in response.data
        assert str(tmp_path).encode() not in response.data
        assert any("FileSystemCache" in r.getMessage() for r in caplog.records)
    path.unlink()
    (tmp_path / "away").rename(path)
    assert client.get("/get/user").text == "'alice'"


def test_filesystem_two_processes(tmp_path: t.Any) -> None:
    """Two processes share one directory: each sees the other's writes and
    sign-outs."""
    script = textwrap.dedent(
        """
        import sys
        from cachelib import FileSystemCache
        from flask import Flask, session
        from flask_scopes import Scopes

        app = Flask(__name__)
        app.config.update(
            SECRET_KEY="shared", SCOPES_SESSION_STORE=FileSystemCache(sys.argv[1])
        )
        Scopes(app)

        @app.get("/get")
        def get():
            return repr(session.get("n"))

        @app.get("/add")
        def add():
            session["n"] = session.get("n", 0) + 1
            return "ok"

        @app.get("/clear")
        def clear():
            session.clear()
            return "ok"

        client = app.test_client()
        for line in sys.stdin:
            command, value = line.split()
            if value != "-":
                client.set_cookie("session", value)
            client.get("/" + command) if command != "get" else None
            print(client.get("/get").text, client.get_cookie("session").value
                  if client.get_cookie("session") else "-", flush=True)
        """
    )
    directory = str(tmp_path / "shared")
    env = {**os.environ, "PYTHONPATH": ROOT}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, directory],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]

    def ask(proc: subprocess.Popen[str], command: str, value: str = "-") -> list[str]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"{command} {value}\n")
        proc.stdin.flush()
        return proc.stdout.readline().split()

    try:
        a, b = procs
        shown, value = ask(a, "add")
        assert shown == "1"
        assert ask(b, "get", value) == ["1", value]
        assert ask(b, "add")[0] == "2"
        assert ask(a, "get")[0] == "2"
        assert ask(a, "clear")[0] == "None"
        assert ask(b, "get", value)[0] == "None"
    finally:
        for proc in procs:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.close()
            proc.wait(timeout=30)
            proc.stdout.close()
    assert all(proc.returncode == 0 for proc in procs)


# -- round trips -------------------------------------------------------------------


class CountingClient:
    """Counts the commands sent through a real redis client."""

    def __init__(self, client: t.Any) -> None:
        self.client = client
        self.commands: list[str] = []

    def __getattr__(self, name: str) -> t.Any:
        attr = getattr(self.client, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def call(*args: t.Any, **kwargs: t.Any) -> t.Any:
            self.commands.append(name)
            return attr(*args, **kwargs)

        return call


@pytest.mark.redis
def test_redis_round_trips(
    redis_server: RedisServer, make_app: AppFactory, clock: FakeClock
) -> None:
    counting = CountingClient(redis_server.client())
    scopes = Scopes(clock=clock)
    app = make_app(scopes, SCOPES_SESSION_STORE=RedisCache(counting))
    add_routes(app, scopes)
    client = app.test_client()

    def trips(path: str) -> list[str]:
        counting.commands.clear()
        client.get(path)
        return list(counting.commands)

    assert trips("/get/a") == []  # anonymous, read-only
    assert trips("/set/a/1") == ["set"]  # a new session: SET NX
    assert trips("/untouched") == []  # a cookie, never touched
    assert trips("/get/a") == ["get"]
    assert trips("/set/a/2") == ["get", "set"]  # SET XX
    # SET NX for the new entry, then the old one is deleted.
    assert trips("/login/42") == ["get", "get", "set", "delete"]
    assert trips("/untouched") == []
    assert trips("/get/user") == ["mget"]  # the entry and the user's marker
    assert trips("/set/a/3") == ["mget", "set"]
    assert trips("/clear") == ["mget", "delete"]
    assert trips("/get/a") == []  # the cookie was deleted


@pytest.mark.redis
def test_redis_keys(redis_server: RedisServer, make_app: AppFactory) -> None:
    client_ = redis_server.client()
    scopes = Scopes()
    app = make_app(
        scopes, SCOPES_SESSION_STORE=RedisCache(client_, key_prefix="myapp:")
    )
    add_routes(app, scopes)
    client = app.test_client()
    client.get("/set/a/1")
    (key,) = client_.keys("*")
    assert key.decode().startswith("myapp:scopes:s:")
    client.get("/login/42")
    scopes.revoke_user("7", app)
    refs = UserRefs([app.secret_key.encode()])
    keys = sorted(k.decode() for k in client_.keys("*"))
    assert keys[0].startswith(f"myapp:scopes:s:{{{refs.ref('42')}}}")
    assert keys[1] == f"myapp:scopes:u:{{{refs.ref('7')}}}"


# -- configuration -----------------------------------------------------------------


@pytest.mark.redis
def test_redis_url(redis_server: RedisServer, make_app: AppFactory) -> None:
    scopes = Scopes()
    url = f"{redis_server.url}?key_prefix=env:&health_check_interval=30"
    app = make_app(scopes, SCOPES_SESSION_STORE=url)
    add_routes(app, scopes)
    store = store_of(app)
    assert isinstance(store, RedisSessionStore)
    assert str(redis_server.port) in store.describe()
    client = app.test_client()
    client.get("/set/a/1")
    assert client.get("/get/a").text == "'1'"
    assert redis_server.client().keys("env:scopes:s:*")
    # Made once per URL, however often the configuration is resolved again.
    app.config["SECRET_KEY"] = "changed"
    assert store_of(app) is store


def test_file_and_simple_urls(tmp_path: t.Any, make_app: AppFactory) -> None:
    app = make_app(SCOPES_SESSION_STORE=f"file://{tmp_path}/sessions")
    store = store_of(app)
    assert isinstance(store, FileSystemSessionStore)
    assert store.path == f"{tmp_path}/sessions"
    assert not store.expires_by_itself
    app = make_app(SCOPES_SESSION_STORE="simple://")
    assert isinstance(store_of(app).cache, SimpleCache)


@pytest.mark.parametrize("slashes", ["//", ""], ids=["unix:///path", "unix:/path"])
def test_unix_socket_urls(tmp_path: t.Any, make_app: AppFactory, slashes: str) -> None:
    # No server: a socket that can't be reached is only checked on first use.
    socket = f"{tmp_path}/redis.sock"
    app = make_app(SCOPES_SESSION_STORE=f"unix:{slashes}{socket}?key_prefix=env:")
    store = store_of(app)
    assert isinstance(store, RedisSessionStore)
    assert store.client.connection_pool.connection_kwargs["path"] == socket
    assert store.describe() == f"RedisCache at {socket}"
    assert store.key("s:x") == "env:scopes:s:x"


def test_file_url_without_slashes(tmp_path: t.Any, make_app: AppFactory) -> None:
    app = make_app(SCOPES_SESSION_STORE=f"file:{tmp_path}/sessions")
    store = store_of(app)
    assert isinstance(store, FileSystemSessionStore)
    assert store.path == f"{tmp_path}/sessions"


@pytest.mark.parametrize(
    "value",
    [
        "ftp://example/x",
        "sessions",
        "file://relative/path",
        "file:relative",
        42,
        {"url": "redis://"},
    ],
)
@pytest.mark.parametrize("key", ["SCOPES_SESSION_STORE", "SCOPES_REVOCATION_STORE"])
def test_bad_store_settings(make_app: AppFactory, key: str, value: t.Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        make_app(**{key: value})
    assert info.value.key == key


def test_revoke_user_needs_a_store(app: Flask) -> None:
    with pytest.raises(ScopesError, match="SCOPES_REVOCATION_STORE"):
        app.extensions["scopes"].revoke_user("42", app)


@pytest.mark.parametrize("user_id", [None, True, 1.5, "", "x" * 257])
def test_bind_user_refuses_bad_ids(app: Flask, user_id: t.Any) -> None:
    with app.test_request_context():
        with pytest.raises((TypeError, ValueError)):
            session.bind_user(user_id)


# -- revocation in cookie mode --------------------------------------------------------


def test_cookie_mode_revocation_window(make_app: AppFactory, clock: FakeClock) -> None:
    scopes = Scopes(clock=clock)
    markers = SimpleCache(threshold=1_000_000)
    app = make_app(
        scopes,
        SCOPES_REVOCATION_STORE=markers,
        PERMANENT_SESSION_LIFETIME=1000,
        SCOPES_SESSION_STORE_TTL=500,
    )
    add_routes(app, scopes)
    client = app.test_client()
    client.get("/login/42")
    # Used within the window, a bound cookie session is re-issued in time.
    for _ in range(5):
        clock.advance(400)
        assert client.get("/get/user").text == "'42'"
    # Unused for longer than the window, a revocation marker may have
    # expired: the bound session is refused.
    clock.advance(1001)
    assert client.get("/get/user").text == "None"
    scopes.revoke_user("42", app)
    (key,) = [k for k in markers._cache if k.startswith("scopes:u:")]
    expires = markers._cache[key][0]
    import time

    assert 1000 + 3600 - 2 <= expires - time.time() <= 1000 + 3600


# -- every store offers the whole interface ---------------------------------------


@pytest.fixture(
    params=[
        "simple",
        "filesystem",
        *(pytest.param(mode, marks=pytest.mark.redis) for mode in REDIS_FIXTURES),
    ]
)
def bare_store(
    request: pytest.FixtureRequest, tmp_path: t.Any, clock: FakeClock
) -> SessionStore:
    if request.param == "simple":
        return SessionStore(SimpleCache(threshold=1_000_000), clock=clock)
    if request.param == "filesystem":
        return FileSystemSessionStore(FileSystemCache(str(tmp_path)), clock=clock)
    server = request.getfixturevalue(REDIS_FIXTURES[request.param])
    return RedisSessionStore(RedisCache(server.client()), clock=clock)


def test_store_operations(bare_store: SessionStore) -> None:
    store = bare_store
    assert store.get("a") is None
    assert not store.replace("a", b"1", 60)
    assert store.get("a") is None
    assert store.add("a", b"1", 60)
    assert not store.add("a", b"2", 60)
    assert store.get("a") == b"1"
    assert store.replace("a", b"3", 60)
    store.set("b", b"4", 60)
    assert store.get_many("a", "b", "c") == [b"3", b"4", None]
    assert store.delete("a")
    assert not store.delete("a")
    assert store.get("a") is None
    assert purge_expired(store) == 0


def test_entry_format_round_trip() -> None:
    raw = encode_entry(1, 2, {"a": [1, {"b": None}]})
    assert raw == b'[1,1,2,{"a":[1,{"b":null}]}]'
    assert decode_entry(raw) == (1, 2, {"a": [1, {"b": None}]})


def test_only_a_new_id_or_expiry_sends_the_cookie(store_app: AppFactory) -> None:
    client = store_app().test_client()
    assert len(client.get("/set/a/1").headers.getlist("Set-Cookie")) == 1
    # The id did not change: the browser-lifetime cookie is already right.
    assert client.get("/set/a/2").headers.getlist("Set-Cookie") == []
    assert client.get("/get/a").text == "'2'"
    # A permanent session's cookie carries each new expiry.
    assert len(client.get("/permanent").headers.getlist("Set-Cookie")) == 1
    assert len(client.get("/set/a/3").headers.getlist("Set-Cookie")) == 1


@pytest.mark.redis
def test_cookie_mode_revocation_outage(
    redis_server: RedisServer, make_app: AppFactory
) -> None:
    scopes = Scopes()
    client_ = redis_server.client(retry=False)
    app = make_app(scopes, SCOPES_REVOCATION_STORE=RedisCache(client_))
    add_routes(app, scopes)
    client = app.test_client()
    client.get("/login/42")
    before = cookie(client)
    redis_server.stop(hard=True)
    response = client.get("/get/user")
    assert response.status_code == 503
    assert cookie(client) == before
    # An anonymous cookie session never needs the store.
    assert app.test_client().get("/set/a/1").status_code == 200
    redis_server.start()
    assert client.get("/get/user").text == "'42'"


def test_writing_the_reserved_user_key_is_refused(
    store_app: t.Callable[..., Flask],
) -> None:
    app = store_app()

    @app.get("/forge")
    def forge() -> str:
        session["_scopes_user"] = "alice"  # not what bind_user records
        session["x"] = 1
        return "ok"

    with pytest.raises(SessionValueError, match="reserved for session.bind_user"):
        app.test_client().get("/forge")


# -- hardening: identity changes, concurrency, migration, fail closed ---------------


def test_clear_then_write_gets_a_new_id(store_app: AppFactory) -> None:
    app = store_app()

    @app.get("/sign-out-and-write")
    def sign_out_and_write() -> str:
        session.clear()
        session["theme"] = "dark"
        return "ok"

    client = app.test_client()
    client.get("/set/a/1")
    old = cookie(client)
    client.get("/sign-out-and-write")
    assert cookie(client) != old
    assert client.get("/get/theme").text == "'dark'"
    replay = app.test_client()
    replay.set_cookie("session", old)
    assert replay.get("/get/a").text == "None"
    assert replay.get("/get/theme").text == "None"


def test_concurrent_regenerate_keeps_the_new_cookie(
    store_app: AppFactory, clock: FakeClock
) -> None:
    app = store_app()
    client = app.test_client()
    client.get("/set/a/1")
    value = cookie(client)
    iface = app.session_interface
    with app.test_request_context(headers={"Cookie": f"session={value}"}):
        slow = iface.open_session(app, request)
        assert slow is not None
        assert slow["a"] == "1"
        # Request A signs in while request B runs.
        client.get("/login/7")
        fresh = cookie(client)
        assert fresh != value
        slow["b"] = "2"
        response = app.response_class()
        iface.save_session(app, slow, response)
    # B leaves the browser's cookie alone: A's new cookie stands.
    assert response.headers.getlist("Set-Cookie") == []
    assert client.get("/get/user").text == "'7'"
    assert client.get("/get/b").text == "None"


class FailingAdd(SessionStore):
    """A store whose adds fail, as if it went down half way."""

    fail = False

    def add(self, name: str, value: bytes, ttl: int) -> bool:
        if self.fail:
            raise SessionStoreUnavailable("save", self.describe())
        return super().add(name, value, ttl)


def test_regenerate_adds_the_new_entry_before_deleting_the_old(
    make_app: AppFactory,
) -> None:
    scopes = Scopes()
    store = FailingAdd(SimpleCache(threshold=1_000_000))
    app = make_app(scopes, SCOPES_SESSION_STORE=store)
    add_routes(app, scopes)
    client = app.test_client()
    client.get("/set/a/1")
    before = cookie(client)
    store.fail = True
    assert client.get("/login/42").status_code == 503
    store.fail = False
    # The old session is still there.
    assert cookie(client) == before
    assert client.get("/get/a").text == "'1'"


def test_outage_first_seen_in_after_request_is_a_503(
    tmp_path: t.Any, make_app: AppFactory
) -> None:
    scopes = Scopes()
    path = tmp_path / "s"
    app = make_app(
        scopes,
        SCOPES_SESSION_STORE=FileSystemCache(str(path)),
        PROPAGATE_EXCEPTIONS=False,
    )
    add_routes(app, scopes)

    @app.after_request
    def remember(response: t.Any) -> t.Any:
        # As Flask-Login's remember-cookie hook does on every request.
        session.get("user")
        return response

    client = app.test_client()
    client.get("/login/alice")
    path.rename(tmp_path / "away")
    path.write_text("not a directory")
    response = client.get("/untouched")
    assert response.status_code == 503
    assert b"could not be reached to load the session" in response.data
    assert response.headers.getlist("Set-Cookie") == []


@pytest.mark.parametrize(
    "make_store",
    [
        lambda: "redis://127.0.0.1:1/0?decode_responses=True",
        lambda: RedisCache(__import__("redis").Redis(port=1, decode_responses=True)),
    ],
    ids=["url", "cache"],
)
@pytest.mark.parametrize("key", ["SCOPES_SESSION_STORE", "SCOPES_REVOCATION_STORE"])
def test_decoding_redis_client_is_refused(
    make_app: AppFactory, make_store: t.Callable[[], t.Any], key: str
) -> None:
    # Refused at start-up: no server is reached.
    with pytest.raises(ConfigurationError, match="decode_responses"):
        make_app(**{key: make_store()})


def test_refused_revocation_store_names_its_key_once(make_app: AppFactory) -> None:
    import redis

    # Cookie mode: the only store is the revocation store.
    with pytest.raises(ConfigurationError) as info:
        make_app(SCOPES_REVOCATION_STORE=redis.Redis(port=1, decode_responses=True))
    message = str(info.value)
    assert info.value.key == "SCOPES_REVOCATION_STORE"
    assert message.count("SCOPES_REVOCATION_STORE") == 1
    assert "SCOPES_SESSION_STORE" not in message
    assert "decode_responses" in message


def test_store_returning_text_fails_closed() -> None:
    cache = SimpleCache(threshold=1_000_000)
    store = SessionStore(cache)
    store._view = cache  # a view that hands back what it holds, str included
    cache.set(store.key("u:{x}"), "not bytes")
    with pytest.raises(SessionStoreUnavailable, match="str, not bytes"):
        store.get("u:{x}")
    with pytest.raises(SessionStoreUnavailable, match="str, not bytes"):
        store.get_many("u:{x}")


@pytest.mark.parametrize("mode", ["cookie", "simple", "filesystem"])
def test_unreadable_marker_revokes_and_refuses_binding(
    mode_app: AppFactory, mode: str
) -> None:
    app = mode_app()
    client = app.test_client()
    client.get("/login/42")
    assert client.get("/get/user").text == "'42'"
    revocations = runtime(app).revocations
    for ref in revocations.refs.all("42"):
        revocations.store.set(f"u:{{{ref}}}", b"tampered", 3600)
    assert client.get("/get/user").text == "None"
    # Binding while the marker can't be read fails closed: a 503, no
    # session bound with an epoch no revocation would change.
    other = app.test_client()
    assert other.get("/login/42").status_code == 503
    assert other.get("/get/user").text == "None"


def test_user_ref_is_keyed(store_app: AppFactory) -> None:
    import base64
    import hashlib

    app = store_app()
    client = app.test_client()
    client.get("/login/42")
    ref = cookie(client).split(".")[1]
    unkeyed = hashlib.sha256(b"flask-scopes.user\0" + b"42").digest()[:16]
    assert ref != base64.urlsafe_b64encode(unkeyed).decode().rstrip("=")
    assert ref == UserRefs([app.secret_key.encode()]).ref("42")
    assert ref != UserRefs([b"another key"]).ref("42")
    # A cookie carrying an unkeyed ref (from 0.1) is refused: sign in again.
    sid = cookie(client).split(".")[0]
    old_ref = base64.urlsafe_b64encode(unkeyed).decode().rstrip("=")
    replay = app.test_client()
    replay.set_cookie("session", sign(app, f"{sid}.{old_ref}"))
    assert replay.get("/get/user").text == "None"


def test_bound_session_survives_key_rotation_and_revocation_reaches_it(
    store_app: AppFactory,
) -> None:
    app = store_app(SECRET_KEY="first")
    client = app.test_client()
    client.get("/login/42")
    app.config.update(SECRET_KEY="second", SECRET_KEY_FALLBACKS=["first"])
    assert client.get("/get/user").text == "'42'"
    client.get("/set/a/1")  # written again under the current key
    app.extensions["scopes"].revoke_user("42", app)
    assert client.get("/get/user").text == "None"


def test_cookie_migrates_once_within_its_lifetime(
    store_app: AppFactory, make_app: AppFactory, clock: FakeClock
) -> None:
    copied = cookie_mode_cookie(make_app)
    app = store_app()
    first = app.test_client()
    first.set_cookie("session", copied)
    assert first.get("/get/a").text == "'1'"
    # Replayed after it was migrated: an empty session.
    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert replay.get("/get/a").text == "None"
    assert first.get("/get/a").text == "'1'"


def test_cookie_migration_obeys_lifetime_and_switch(
    store_app: AppFactory, make_app: AppFactory, clock: FakeClock
) -> None:
    copied = cookie_mode_cookie(make_app)
    off = store_app(SCOPES_SESSION_MIGRATE_COOKIES=False).test_client()
    off.set_cookie("session", copied)
    assert off.get("/get/a").text == "None"
    clock.advance(31 * 86400 + 1)
    late = store_app().test_client()
    late.set_cookie("session", copied)
    assert late.get("/get/a").text == "None"


@pytest.mark.usefixtures("real_clock")
def test_flask_cookie_migrates_once(store_app: AppFactory) -> None:
    from flask.sessions import SecureCookieSessionInterface

    app = store_app()
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    value = serializer.dumps({"a": "1"})
    first = app.test_client()
    first.set_cookie("session", value)
    assert first.get("/get/a").text == "'1'"
    replay = app.test_client()
    replay.set_cookie("session", value)
    assert replay.get("/get/a").text == "None"


def test_purge_touches_only_the_stores_files(
    tmp_path: t.Any, make_app: AppFactory, clock: FakeClock
) -> None:
    scopes = Scopes(clock=clock)
    path = tmp_path / "s"
    app = make_app(scopes, SCOPES_SESSION_STORE=f"file://{path}")
    add_routes(app, scopes)
    app.test_client().get("/set/a/1")
    store = t.cast(FileSystemSessionStore, store_of(app))
    (entry,) = raw_files(store)
    expired = (1).to_bytes(4, sys.byteorder)  # long past
    (path / "README").write_bytes(expired + b"keep me")
    (path / "backup.tar").write_bytes(expired + b"keep me too")
    (path / ("0" * len(entry) + ".bak")).write_bytes(expired)
    (path / "sub").mkdir()
    (path / "sub" / "f").write_bytes(expired)
    (path / ("a" * len(entry))).mkdir()  # named like an entry, a directory
    clock.advance(31 * 86400 + 1)
    assert purge_expired(store) == 1
    left = sorted(p.name for p in path.iterdir())
    assert "README" in left and "backup.tar" in left and "sub" in left
    assert entry not in left
    assert (path / "sub" / "f").exists()
