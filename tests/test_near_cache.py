"""The near cache in front of a Redis store (``stores/near_cache.py``), on a
real redis-server: what it serves, when it stops serving, and that no store
that can't invalidate gets one."""

from __future__ import annotations

import os
import sys
import time
import typing as t
import warnings

import pytest
from cachelib import FileSystemCache
from cachelib import RedisCache
from cachelib import SimpleCache
from flask import Flask
from flask import session

from flask_scopes import ConfigurationError
from flask_scopes import Scopes
from flask_scopes.stores import near_cached
from flask_scopes.stores import NearCachedStore
from flask_scopes.stores import NearCacheUnsupported
from flask_scopes.stores import RedisSessionStore
from flask_scopes.stores import SessionStore

if t.TYPE_CHECKING:
    from .redis_server import RedisServer

pytestmark = pytest.mark.redis


class Commands:
    """Counts the commands a server processes between two calls, not
    counting its own."""

    def __init__(self, server: RedisServer) -> None:
        self.client = server.client()
        self.last = self.total()

    def total(self) -> int:
        return int(self.client.info("stats")["total_commands_processed"])

    def __call__(self) -> int:
        total = self.total()
        count, self.last = total - self.last - 1, total
        return count


@pytest.fixture
def stores(
    redis_server: RedisServer,
) -> t.Iterator[tuple[NearCachedStore, RedisSessionStore]]:
    """A near-cached store, and a plain one on its own client standing for
    another process."""
    cached = NearCachedStore(RedisSessionStore(RedisCache(redis_server.client())), 100)
    other = RedisSessionStore(RedisCache(redis_server.client()))
    yield cached, other
    cached.close()


def eventually(read: t.Callable[[], t.Any], expected: t.Any) -> None:
    """Wait (at most 5 s) for the invalidation to arrive, then check that
    the new value stays."""
    deadline = time.monotonic() + 5
    while read() != expected:
        assert time.monotonic() < deadline, f"still {read()!r}, not {expected!r}"
        time.sleep(0.005)
    assert [read() for _ in range(20)] == [expected] * 20


def test_unchanged_reads_cost_no_round_trip(
    stores: tuple[NearCachedStore, RedisSessionStore], redis_server: RedisServer
) -> None:
    cached, other = stores
    other.set("a", b"one", 100)
    assert cached.get("a") == b"one"
    commands = Commands(redis_server)
    assert [cached.get("a") for _ in range(50)] == [b"one"] * 50
    assert commands() == 0
    assert cached.get_many("a", "missing") == [b"one", None]
    # One round trip learned that "missing" is missing: MGET and the two
    # keys' PTTL.
    assert commands() == 3
    assert cached.get_many("a", "missing") == [b"one", None]
    assert commands() == 0
    assert cached.stats["hits"] >= 51


@pytest.mark.parametrize("operation", ["set", "replace", "delete", "add"])
def test_writes_of_this_process_are_seen_at_once(
    stores: tuple[NearCachedStore, RedisSessionStore], operation: str
) -> None:
    cached, _ = stores
    for i in range(200):
        cached.set("k", b"old", 100)
        assert cached.get("k") == b"old"
        if operation == "delete":
            assert cached.delete("k")
            assert cached.get("k") is None
        elif operation == "add":
            cached.delete("k")
            assert cached.get("k") is None
            assert cached.add("k", b"%d" % i, 100)
            assert cached.get("k") == b"%d" % i
        else:
            getattr(cached, operation)("k", b"%d" % i, 100)
            assert cached.get("k") == b"%d" % i


def test_writes_of_other_processes_invalidate(
    stores: tuple[NearCachedStore, RedisSessionStore],
) -> None:
    cached, other = stores
    other.set("k", b"v1", 100)
    other.set("marker", b'"e1"', 100)
    assert cached.get_many("k", "marker") == [b"v1", b'"e1"']
    other.set("marker", b'"e2"', 100)
    eventually(lambda: cached.get_many("k", "marker"), [b"v1", b'"e2"'])
    other.delete("k")
    eventually(lambda: cached.get("k"), None)
    other.set("k", b"back", 100)
    eventually(lambda: cached.get("k"), b"back")


def test_flushall_empties_the_cache(
    stores: tuple[NearCachedStore, RedisSessionStore], redis_server: RedisServer
) -> None:
    cached, other = stores
    other.set("k", b"v", 100)
    assert cached.get("k") == b"v"
    redis_server.flushall()
    eventually(lambda: cached.get("k"), None)


@pytest.mark.parametrize("kind", ["pubsub", "normal"])
def test_a_killed_connection_flushes_the_cache(
    stores: tuple[NearCachedStore, RedisSessionStore],
    redis_server: RedisServer,
    kind: str,
) -> None:
    cached, other = stores
    other.set("k", b"v1", 100)
    assert cached.get("k") == b"v1"
    assert cached.get("k") == b"v1"
    # Killing the invalidation connection (pubsub), or the tracking one
    # (normal; this kills the other store's connections too, which
    # reconnect), means no invalidation reaches this process any more: the
    # next read must not come from the cache.
    redis_server.client().execute_command("CLIENT", "KILL", "TYPE", kind)
    other.set("k", b"v2", 100)
    assert cached.get("k") == b"v2"
    assert cached.stats["resets"] == 1
    # Serving resumes once tracking is on again.
    cached._failed_at = -float("inf")
    assert cached.get("k") == b"v2"
    hits = cached.stats["hits"]
    assert cached.get("k") == b"v2"
    assert cached.stats["hits"] == hits + 1


def test_a_restarted_server_flushes_the_cache(
    stores: tuple[NearCachedStore, RedisSessionStore], redis_server: RedisServer
) -> None:
    cached, other = stores
    other.set("k", b"v1", 100)
    assert cached.get("k") == b"v1"
    redis_server.restart()
    other.set("k", b"v2", 100)
    assert cached.get("k") == b"v2"
    redis_server.restart(hard=True)
    other.delete("k")
    assert cached.get("k") is None


def test_entries_expire_with_their_time_to_live(
    stores: tuple[NearCachedStore, RedisSessionStore],
) -> None:
    cached, other = stores
    other.set("short", b"v", 1)
    assert cached.get("short") == b"v"
    entry = cached._entries[cached.key("short").encode()]
    assert entry[1] - time.monotonic() <= 1
    time.sleep(1.05)
    assert cached.get("short") is None


def test_the_cache_is_bounded(redis_server: RedisServer) -> None:
    cached = NearCachedStore(RedisSessionStore(RedisCache(redis_server.client())), 3)
    try:
        for name in "abcdef":
            cached.set(name, name.encode(), 100)
            assert cached.get(name) == name.encode()
        assert len(cached._entries) == 3
        cached.set("big", b"x" * (cached.max_entry_size + 1), 100)
        assert cached.get("big") == b"x" * (cached.max_entry_size + 1)
        assert cached.key("big").encode() not in cached._entries
    finally:
        cached.close()


def test_a_forked_child_starts_empty(
    stores: tuple[NearCachedStore, RedisSessionStore],
) -> None:
    cached, other = stores
    other.set("a", b"one", 100)
    assert cached.get("a") == b"one"
    assert cached._ready and cached._entries
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # a threaded fork
        pid = os.fork()
    if pid == 0:
        code = 3
        try:
            # Python's fork hook emptied the cache and dropped the parent's
            # connections; the child reads the server, then tracks itself.
            empty = not cached._entries and not cached._ready
            other.set("a", b"two", 100)
            fresh = cached.get("a") == b"two"
            other.set("a", b"three", 100)
            deadline = time.monotonic() + 5
            while cached.get("a") != b"three" and time.monotonic() < deadline:
                time.sleep(0.005)
            code = 0 if empty and fresh and cached.get("a") == b"three" else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's connections were left alone, and still invalidate.
    eventually(lambda: cached.get("a"), b"three")


@pytest.mark.parametrize("check", [True, False])
def test_the_process_id_is_checked_on_each_read_when_asked(
    redis_server: RedisServer, check: bool
) -> None:
    class Store(NearCachedStore):
        check_pid_each_read = check

    store = RedisSessionStore(RedisCache(redis_server.client()))
    cached = Store(store, 10)
    try:
        store.set("a", b"one", 100)
        assert cached.get("a") == b"one"
        # As a fork that ran no hooks leaves it: another process id.
        cached._pid = -1
        misses = cached.stats["misses"]
        assert cached.get("a") == b"one"
        assert cached.stats["misses"] == misses + check
        assert (cached._pid == os.getpid()) is check
    finally:
        cached.close()


def test_the_process_id_is_checked_under_uwsgi_only(redis_server: RedisServer) -> None:
    store = RedisSessionStore(RedisCache(redis_server.client()))
    cached = NearCachedStore(store, 10)
    cached.close()
    assert cached._check_pid is ("uwsgi" in sys.modules)


def test_one_near_cache_per_store_and_size(redis_server: RedisServer) -> None:
    store = RedisSessionStore(RedisCache(redis_server.client()))
    first = near_cached(store, 10)
    try:
        assert near_cached(store, 10) is first
        assert near_cached(first, 10) is first
        assert first.describe().endswith("(near cache of 10)")
    finally:
        first.close()
    assert near_cached(store, 10) is not first
    near_cached(store, 10).close()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda request, tmp: SimpleCache(threshold=1_000_000), "needs Redis"),
        (lambda request, tmp: FileSystemCache(str(tmp)), "needs Redis"),
        (
            lambda request, tmp: SessionStore(SimpleCache(threshold=1_000_000)),
            "needs Redis",
        ),
        # A Cluster client has no one connection pool to track keys on.
        (
            lambda request, tmp: request.getfixturevalue("redis_cluster").client(),
            "not a cluster client",
        ),
    ],
    ids=["simple", "filesystem", "store", "cluster"],
)
def test_stores_that_cannot_invalidate_are_refused(
    make: t.Callable[[pytest.FixtureRequest, t.Any], t.Any],
    reason: str,
    request: pytest.FixtureRequest,
    tmp_path: t.Any,
) -> None:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="k" * 32,
        SCOPES_SESSION_STORE=make(request, tmp_path),
        SCOPES_SESSION_STORE_CACHE=100,
    )
    with pytest.raises(ConfigurationError, match="SCOPES_SESSION_STORE_CACHE") as info:
        Scopes(app)
        app.test_client().get("/")
    assert reason in str(info.value)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"SCOPES_SESSION_STORE_CACHE": 10}, "not set"),
        ({"SCOPES_SESSION_STORE_CACHE": -1}, "number of entries"),
        ({"SCOPES_SESSION_STORE_CACHE": "10"}, "number of entries"),
    ],
)
def test_bad_settings_are_refused(config: dict[str, t.Any], message: str) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k" * 32, **config)
    with pytest.raises(ConfigurationError, match=message):
        Scopes(app)


def test_a_decoding_client_is_refused(redis_server: RedisServer) -> None:
    client = redis_server.client(decode_responses=True)
    # Refused by the Redis store already, before any near cache.
    with pytest.raises(ConfigurationError, match="decode"):
        RedisSessionStore(RedisCache(client))
    # The near cache checks again, on the pool its connections copy: a
    # store whose client came to decode after it was made is refused too.
    store = RedisSessionStore(RedisCache(redis_server.client()))
    store.client.connection_pool.connection_kwargs["decode_responses"] = True
    with pytest.raises(NearCacheUnsupported, match="decodes responses"):
        NearCachedStore(store, 10)


def cached_app(server: RedisServer) -> tuple[Flask, Scopes]:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="k" * 32,
        SCOPES_SESSION_STORE=RedisCache(server.client()),
        SCOPES_SESSION_STORE_CACHE=100,
    )
    scopes = Scopes(app)

    @app.get("/login/<user>")
    def login(user: str) -> str:
        session.bind_user(user)
        session["n"] = 0
        return "ok"

    @app.get("/set/<int:n>")
    def set_n(n: int) -> str:
        session["n"] = n
        return "ok"

    @app.get("/get")
    def get() -> str:
        return repr(session.get("n"))

    @app.get("/logout")
    def logout() -> str:
        session.clear()
        return "ok"

    @app.get("/regenerate")
    def regenerate() -> str:
        session.regenerate()
        return "ok"

    @app.get("/revoke/<user>")
    def revoke(user: str) -> str:
        scopes.revoke_user(user)
        return "ok"

    return app, scopes


def test_sessions_read_from_the_cache(redis_server: RedisServer) -> None:
    app, scopes = cached_app(redis_server)
    try:
        client = app.test_client()
        client.get("/login/alice")
        assert client.get("/get").text == "0"
        commands = Commands(redis_server)
        # A bound session is read with its user's revocation marker; both
        # come from the cache.
        assert [client.get("/get").text for _ in range(20)] == ["0"] * 20
        assert commands() == 0
        for n in range(1, 30):
            client.get(f"/set/{n}")
            assert client.get("/get").text == str(n)
        other = app.test_client()
        other.get("/login/alice")
        assert other.get("/get").text == "0"
        client.get("/revoke/alice")
        assert client.get("/get").text == "None"
        assert other.get("/get").text == "None"
        client.get("/login/bob")
        client.get("/set/5")
        assert client.get("/get").text == "5"
        client.get("/logout")
        assert client.get("/get").text == "None"
    finally:
        store = app.session_interface.runtime(app).store  # type: ignore[attr-defined]
        assert isinstance(store, NearCachedStore)
        store.close()


def test_regenerate_is_seen_by_another_process(redis_server: RedisServer) -> None:
    # Two apps, each with its own near cache, stand for two processes.
    first, _ = cached_app(redis_server)
    second, _ = cached_app(redis_server)
    try:
        client = first.test_client()
        client.get("/login/alice")
        client.get("/set/5")
        old = client.get_cookie("session")
        assert old is not None
        # The second process reads the session, then serves it from its
        # cache.
        elsewhere = second.test_client()
        elsewhere.set_cookie("session", old.value)
        assert elsewhere.get("/get").text == "5"
        commands = Commands(redis_server)
        assert elsewhere.get("/get").text == "5"
        assert commands() == 0
        client.get("/regenerate")
        new = client.get_cookie("session")
        assert new is not None and new.value != old.value
        assert client.get("/get").text == "5"
        # The old id names nothing any more, in the other process too.
        assert elsewhere.get("/get").text == "None"
    finally:
        for app in (first, second):
            store = app.session_interface.runtime(app).store  # type: ignore[attr-defined]
            assert isinstance(store, NearCachedStore)
            store.close()


def test_a_write_returns_after_its_invalidations_left(
    redis_server: RedisServer,
) -> None:
    # Two near-cached stores stand for two processes: a read that starts
    # right after the other one's write returned must see it, with no
    # wait at all.
    writer = NearCachedStore(RedisSessionStore(RedisCache(redis_server.client())), 10)
    reader = NearCachedStore(RedisSessionStore(RedisCache(redis_server.client())), 10)
    try:
        stale = 0
        for i in range(1000):
            assert reader.get("k") in (None, b"%d" % (i - 1))
            writer.set("k", b"%d" % i, 100)
            stale += reader.get("k") != b"%d" % i
        assert stale == 0
        assert reader.stats["hits"] >= 900
    finally:
        writer.close()
        reader.close()


def test_a_revocation_outlives_every_scope_that_shares_the_store(
    redis_server: RedisServer,
) -> None:
    # flask.session reads the store through the near cache; the named scope,
    # with a short lifetime, through the store itself. One marker, kept as
    # long as the longest-lived scope's sessions.
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="k" * 32,
        SCOPES_SESSION_STORE=RedisCache(redis_server.client()),
        SCOPES_SESSION_STORE_CACHE=100,
        SCOPES_SESSIONS={"admin": {"lifetime": 600, "idle_timeout": 60}},
    )
    scopes = Scopes(app)
    client = redis_server.client()
    with app.app_context():
        scopes.revoke_user("7")
    markers = [key for key in client.keys("*") if b"u:{" in key]
    assert len(markers) == 1
    window = app.permanent_session_lifetime.total_seconds()
    assert client.ttl(markers[0]) >= window
