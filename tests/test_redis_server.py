"""The redis-server helper the store and outage tests rely on: it starts,
dies on SIGKILL, and comes back on the same port with what it had
acknowledged."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from redis_server import find_redis_server
from redis_server import RedisServer
from redis_server import serve

pytestmark = pytest.mark.redis
redis = pytest.importorskip("redis")


@pytest.fixture
def server(tmp_path: Path) -> t.Iterator[RedisServer]:
    yield from serve(tmp_path)


def test_binary_is_found() -> None:
    assert find_redis_server() is not None


@pytest.fixture
def client(server: RedisServer) -> t.Iterator[t.Any]:
    client = redis.Redis.from_url(server.url, socket_timeout=2)
    try:
        yield client
    finally:
        client.close()


def test_kill_and_restart_keep_acknowledged_writes(
    server: RedisServer, client: t.Any
) -> None:
    client.set("kept", b"1")
    port = server.port
    server.stop(hard=True)
    assert not server.running
    assert not server.ping()
    with pytest.raises(redis.ConnectionError):
        client.get("kept")
    server.start()
    assert server.port == port
    assert client.get("kept") == b"1"


def test_stop_is_idempotent(server: RedisServer) -> None:
    server.stop()
    server.stop(hard=True)
    assert not server.running
    server.restart()
    assert server.ping()
