"""A real PostgreSQL server for the tests and benchmarks, on a loopback port.

The binaries come from ``PATH`` or Debian's ``/usr/lib/postgresql/<n>/bin``
(``apt-get install postgresql``). PostgreSQL refuses to run as root: run as
root, the server runs as the ``postgres`` user, through ``runuser``. Without
a server, PostgreSQL tests are skipped, except under CI (the ``CI``
environment variable), where they fail.

The fixture ``postgres_url`` is the run's one server, started on first use,
as a ``postgresql+psycopg://`` URL of an empty database.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import typing as t

import pytest

from .redis_server import free_port

#: Why a PostgreSQL test can't run on this machine.
MISSING = "no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql"


def find_bindir() -> str | None:
    """The directory of ``initdb`` and ``pg_ctl``, or ``None``."""
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(candidates[-1]) if candidates else None


class PostgresServer:
    """One PostgreSQL server in a temporary data directory, trusting local
    connections, listening on ``127.0.0.1:port``.

    :raises FileNotFoundError: No binaries were found.
    """

    def __init__(self) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise FileNotFoundError(MISSING)
        self.bindir = bindir
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="scopes-pg-")
        self.data = os.path.join(self.directory, "data")
        self.user: str | None = None
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            self.user = "postgres"
            entry = pwd.getpwnam(self.user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)

    @property
    def url(self) -> str:
        """The URL of the ``postgres`` database, for psycopg 3."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(
            command,
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=120,
        )

    def start(self) -> None:
        """Create the cluster and start the server; returns once it accepts
        connections."""
        self._run(
            "initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        options = (
            f"-p {self.port} -h 127.0.0.1 -k {self.directory} -F"
            " -c max_connections=50 -c shared_buffers=16MB"
        )
        self._run(
            "pg_ctl", "-D", self.data, "-o", options,
            "-l", os.path.join(self.directory, "log"), "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server and remove its files."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> t.Iterator[str]:
    """The URL of the run's one PostgreSQL server."""
    server: PostgresServer | None = None
    try:
        server = PostgresServer()
        server.start()
    except (FileNotFoundError, KeyError, subprocess.SubprocessError) as e:
        if server is not None:
            server.stop()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL could not start under CI: {e}")
        pytest.skip(f"PostgreSQL could not start: {e}")
    try:
        yield server.url
    finally:
        server.stop()
