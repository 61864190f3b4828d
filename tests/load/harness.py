"""Load through a real server: gunicorn with several workers and threads on
127.0.0.1, and N concurrent clients, each with its own cookie jar, each
counting M steps in its session and flashing a message at every step.

What is checked, per client:

- the counter the server returns goes up by exactly one per successful
  step: never back (a reset or a lost update), never a jump (a step counted
  twice), and at the end the stored counter equals the client's successful
  steps;
- the session is the client's own (the ``client`` key never changes);
- the message flashed in one step is shown in the next, once;
- no response is a 5xx, except, during a store outage, the 503 that says
  the store could not be reached.

A step answered with that 503 is not counted, and the client tries again
(a bounded number of times). A 503 raised while *saving* may come after the
store applied the write (it went down before it could answer): the next
successful step then shows the counter one further, which is allowed and
reported, never hidden.

Everything is bounded: requests per client, attempts, and a deadline.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import typing as t
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

#: Words every outage 503 must carry (from ``SessionStoreUnavailable``).
OUTAGE_TEXT = "could not be reached"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AppServer:
    """``tests/load/app.py`` under gunicorn on ``127.0.0.1``.

    :param log: Where gunicorn's output goes.
    :param store: ``SCOPES_SESSION_STORE``, or ``None`` for cookies.
    :param workers: Worker processes.
    :param threads: Threads per worker (the ``gthread`` worker).
    :param app: The app gunicorn serves.
    :param env: More environment variables for the workers.
    """

    start_timeout = 30.0
    stop_timeout = 10.0

    def __init__(
        self,
        log: Path,
        store: str | None = None,
        workers: int = 3,
        threads: int = 4,
        app: str = "tests.load.app:create_app()",
        env: dict[str, str] | None = None,
    ) -> None:
        self.log = log
        self.store = store
        self.app = app
        self.env = env or {}
        self.workers = workers
        self.threads = threads
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
            ),
            "LOAD_SECRET_KEY": "load-test-secret",
        }
        env.pop("LOAD_SESSION_STORE", None)
        if self.store:
            env["LOAD_SESSION_STORE"] = self.store
        env.update(self.env)
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--chdir",
            str(ROOT),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--worker-class",
            "gthread",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            self.app,
        ]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_text()[-3000:]}")
            if self.healthy():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start: {self.log_text()[-3000:]}")

    def healthy(self) -> bool:
        try:
            status, _, _ = request(self.port, "GET", "/health", {}, timeout=2)
        except OSError:
            return False
        return status == 200

    def stop(self) -> None:
        """Stop gunicorn and its workers: ``SIGTERM``, then ``SIGKILL`` to
        the whole process group if they are still there."""
        process = self.process
        if process is None:
            return
        self.process = None
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            pass

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def logged_errors(self) -> Counter[str]:
        """The errors in the server's log, by kind (see
        :func:`logged_errors`)."""
        return logged_errors(self.log_text())

    def __enter__(self) -> AppServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


#: The lines that join the tracebacks of one chained error.
_CHAINED = ("During handling of", "The above exception was the direct cause")


def logged_errors(log: str) -> Counter[str]:
    """Count the errors logged with a traceback, by kind: ``"outage"`` when
    the message before it is the store's outage message (see
    :data:`OUTAGE_TEXT`), else ``"other"`` (Flask's ``Exception on ...``
    for an unhandled error among them). A chained error counts once."""
    counts: Counter[str] = Counter()
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("Traceback (most recent call last)"):
            continue
        before = lines[max(0, i - 2) : i]
        if any(b.startswith(_CHAINED) for b in before):
            continue
        message = before[-1] if before else ""
        counts["outage" if OUTAGE_TEXT in message else "other"] += 1
    return counts


def request(
    port: int,
    method: str,
    path: str,
    jar: dict[str, str],
    timeout: float = 30.0,
) -> tuple[int, bytes, list[str]]:
    """One request on a new connection, sending and updating ``jar``.

    A new connection per request keeps the accounting exact: a request is
    either sent and answered, or it failed before reaching the server.

    :returns: The status, the body, and the ``Set-Cookie`` headers.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Connection": "close"}
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        conn.request(method, path, headers=headers)
        with conn.getresponse() as response:
            body = response.read()
            status = response.status
            set_cookies = response.msg.get_all("Set-Cookie") or []
    finally:
        conn.close()
    for header in set_cookies:
        update_jar(jar, header)
    return status, body, set_cookies


def update_jar(jar: dict[str, str], header: str) -> None:
    """Apply one ``Set-Cookie`` header as a browser would (for our needs:
    set, or delete on ``Max-Age=0``)."""
    pair, _, attributes = header.partition(";")
    name, _, value = pair.strip().partition("=")
    expired = any(
        a.strip().lower() in ("max-age=0", "expires=thu, 01 jan 1970 00:00:00 gmt")
        for a in attributes.split(";")
    )
    if expired:
        jar.pop(name, None)
    else:
        jar[name] = value


class Progress:
    """Counts, across all clients, successful steps and outage 503s, so a
    fault can be timed against them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ok = 0
        self._outage = 0

    def step(self) -> None:
        with self._lock:
            self._ok += 1

    def outage_seen(self) -> None:
        with self._lock:
            self._outage += 1

    @property
    def ok(self) -> int:
        with self._lock:
            return self._ok

    @property
    def outage(self) -> int:
        with self._lock:
            return self._outage


@dataclass
class ClientResult:
    """What one client saw."""

    name: str
    #: Steps answered with a 2xx.
    ok: int = 0
    #: The counter as the last successful step returned it.
    counter: int = 0
    #: The counter read at the end, without writing.
    final: int | None = None
    attempts: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    #: Outage 503s, and those among them raised while saving.
    outage: int = 0
    outage_on_save: int = 0
    #: Save-time 503s whose write had landed (the counter moved one further).
    applied_despite_503: int = 0
    #: 503s without the clear message, and other 5xx.
    bad_errors: list[str] = field(default_factory=list)
    #: The counter went back or jumped, or the session was someone else's.
    anomalies: list[str] = field(default_factory=list)
    flash_errors: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    @property
    def lost_updates(self) -> int:
        """Successful steps the stored counter doesn't show."""
        final = self.counter if self.final is None else self.final
        return max(0, self.ok + self.applied_despite_503 - final)


class LoadClient:
    """One client: its own cookie jar, ``steps`` sequential steps.

    :param port: The server's port.
    :param name: The client's id, carried in its session and messages.
    :param steps: Successful steps to make.
    :param max_attempts: The most requests it sends for them.
    :param deadline: ``time.monotonic()`` after which it stops.
    :param outage_pause: Seconds to wait after a failed step.
    """

    def __init__(
        self,
        port: int,
        name: str,
        steps: int,
        max_attempts: int,
        deadline: float,
        outage_pause: float = 0.05,
    ) -> None:
        self.port = port
        self.steps = steps
        self.max_attempts = max_attempts
        self.deadline = deadline
        self.outage_pause = outage_pause
        self.jar: dict[str, str] = {}
        self.result = ClientResult(name)
        #: Messages flashed since the last successful step (by failed ones).
        self._pending: list[str] = []
        self._last_message: str | None = None
        self._maybe_applied = 0
        #: Shared with the other clients, for timing faults.
        self.progress = Progress()

    def run(self) -> ClientResult:
        r = self.result
        seq = 0
        while (
            r.counter < self.steps
            and r.attempts < self.max_attempts
            and time.monotonic() < self.deadline
        ):
            r.attempts += 1
            seq += 1
            message = f"{r.name}:{seq}"
            started = time.monotonic()
            try:
                status, body, _ = request(
                    self.port, "POST", f"/hit?client={r.name}&seq={seq}", self.jar
                )
            except (OSError, http.client.HTTPException) as e:
                r.transport_errors.append(f"step {seq}: {e!r}")
                self._pending.append(message)
                time.sleep(self.outage_pause)
                continue
            r.latencies.append(time.monotonic() - started)
            r.statuses[status] += 1
            if 200 <= status < 300:
                self._success(json.loads(body), message)
                self.progress.step()
            elif status == 503 and OUTAGE_TEXT in body.decode("utf-8", "replace"):
                r.outage += 1
                self.progress.outage_seen()
                if b"save" in body:
                    r.outage_on_save += 1
                    self._maybe_applied += 1
                self._pending.append(message)
                time.sleep(self.outage_pause)
            else:
                r.bad_errors.append(f"step {seq}: {status} {body[:300]!r}")
                self._pending.append(message)
        self._read_final()
        return r

    def _success(self, data: dict[str, t.Any], message: str) -> None:
        r = self.result
        n = data["n"]
        expected = r.counter + 1
        if expected <= n <= expected + self._maybe_applied:
            r.applied_despite_503 += n - expected
        else:
            kind = "reset" if n == 1 else "went back" if n < expected else "jumped"
            r.anomalies.append(f"counter {kind}: {r.counter} -> {n}")
        if data["client"] != r.name:
            r.anomalies.append(f"got the session of {data['client']!r}")
        self._check_flashes(data["flashes"])
        r.counter = n
        r.ok += 1
        self._last_message = message
        self._pending = []
        self._maybe_applied = 0

    def _check_flashes(self, flashes: list[str]) -> None:
        r = self.result
        previous = [] if self._last_message is None else [self._last_message]
        if not self._pending:
            if flashes != previous:
                r.flash_errors.append(f"expected {previous}, got {flashes}")
            return
        # Failed steps in between may or may not have consumed or replaced
        # the message; whatever shows must be this client's, recent, once.
        allowed = set(previous) | set(self._pending)
        if len(set(flashes)) != len(flashes) or not set(flashes) <= allowed:
            r.flash_errors.append(f"expected some of {sorted(allowed)}, got {flashes}")

    def _read_final(self) -> None:
        r = self.result
        for _ in range(20):
            try:
                status, body, _ = request(self.port, "GET", "/count", self.jar)
            except (OSError, http.client.HTTPException):
                status, body = 0, b""
            if status == 200:
                data = json.loads(body)
                r.final = data["n"]
                if r.ok and data["client"] != r.name:
                    r.anomalies.append(f"final read: session of {data['client']!r}")
                return
            time.sleep(0.25)
        r.transport_errors.append("could not read the final counter")


@dataclass
class LoadResult:
    """The figures of one run."""

    mode: str
    clients: int
    steps: int
    elapsed: float
    results: list[ClientResult]
    notes: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(r.attempts for r in self.results)

    @property
    def statuses(self) -> Counter[int]:
        total: Counter[int] = Counter()
        for r in self.results:
            total.update(r.statuses)
        return total

    @property
    def server_errors(self) -> int:
        """5xx other than the outage 503, and 503s without its message."""
        return sum(len(r.bad_errors) for r in self.results)

    @property
    def lost_updates(self) -> int:
        return sum(r.lost_updates for r in self.results)

    @property
    def anomalies(self) -> list[str]:
        return [f"{r.name}: {a}" for r in self.results for a in r.anomalies]

    @property
    def flash_errors(self) -> list[str]:
        return [f"{r.name}: {a}" for r in self.results for a in r.flash_errors]

    @property
    def transport_errors(self) -> list[str]:
        return [f"{r.name}: {a}" for r in self.results for a in r.transport_errors]

    @property
    def outage(self) -> int:
        return sum(r.outage for r in self.results)

    @property
    def complete(self) -> bool:
        """Every client's stored counter is exactly ``steps``."""
        return all(r.final == self.steps for r in self.results)

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def problems(self) -> list[str]:
        """Everything that breaks the promises; empty when all held."""
        out = []
        for r in self.results:
            if r.final != self.steps:
                out.append(f"{r.name}: final counter {r.final}, not {self.steps}")
            if r.final is not None and r.final != r.ok + r.applied_despite_503:
                out.append(
                    f"{r.name}: final counter {r.final}, but {r.ok} successful"
                    f" steps and {r.applied_despite_503} applied despite a 503"
                )
            out.extend(f"{r.name}: {e}" for e in r.bad_errors)
        out.extend(self.anomalies)
        out.extend(self.flash_errors)
        out.extend(self.transport_errors)
        return out

    def latency(self, fraction: float) -> float:
        values = sorted(v for r in self.results for v in r.latencies)
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(fraction * len(values)))]

    def summary(self) -> dict[str, t.Any]:
        return {
            "mode": self.mode,
            "clients": self.clients,
            "steps per client": self.steps,
            "requests": self.requests,
            "2xx": sum(n for s, n in self.statuses.items() if 200 <= s < 300),
            "outage 503s": self.outage,
            "other errors (5xx, bad 503)": self.server_errors,
            "transport errors": len(self.transport_errors),
            "lost updates": self.lost_updates,
            "counter anomalies": len(self.anomalies),
            "flash errors": len(self.flash_errors),
            "applied despite a 503": sum(r.applied_despite_503 for r in self.results),
            "every counter at its target": self.complete,
            "elapsed (s)": round(self.elapsed, 2),
            "throughput (req/s)": round(self.throughput, 1),
            "latency p50 (ms)": round(self.latency(0.5) * 1000, 1),
            "latency p99 (ms)": round(self.latency(0.99) * 1000, 1),
        }

    def report(self) -> str:
        lines = [f"{k:>28}: {v}" for k, v in self.summary().items()]
        lines.extend(f"{'note':>28}: {n}" for n in self.notes)
        for problem in self.problems()[:20]:
            lines.append(f"{'PROBLEM':>28}: {problem}")
        return "\n".join(lines)


def run_load(
    port: int,
    clients: int,
    steps: int,
    mode: str = "cookie",
    time_limit: float = 120.0,
    attempts_factor: int = 3,
    during: t.Callable[[Progress], list[str]] | None = None,
) -> LoadResult:
    """Run ``clients`` concurrent clients of ``steps`` steps each.

    :param during: Runs in its own thread while the clients run, given the
        clients' :class:`Progress` (to time a fault); returns notes for the
        report.
    """
    deadline = time.monotonic() + time_limit
    progress = Progress()
    load_clients = []
    for i in range(clients):
        client = LoadClient(port, f"c{i}", steps, steps * attempts_factor, deadline)
        client.progress = progress
        load_clients.append(client)
    threads = [threading.Thread(target=c.run, daemon=True) for c in load_clients]
    notes: list[str] = []
    fault = None
    if during is not None:
        fault = threading.Thread(
            target=lambda: notes.extend(during(progress)), daemon=True
        )
    started = time.monotonic()
    for thread in threads:
        thread.start()
    if fault is not None:
        fault.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + 60)
    if fault is not None:
        fault.join(max(0.0, deadline - time.monotonic()) + 60)
    elapsed = time.monotonic() - started
    result = LoadResult(mode, clients, steps, elapsed, [c.result for c in load_clients])
    result.notes.extend(notes)
    if any(t.is_alive() for t in threads):
        result.notes.append("some clients did not finish before the deadline")
    return result


def redis_outage(
    server: t.Any,
    after: int,
    min_outage: float = 1.0,
    min_errors: int = 10,
    max_outage: float = 20.0,
    hard: bool = True,
) -> t.Callable[[Progress], list[str]]:
    """A fault for :func:`run_load`: once ``after`` steps succeeded, kill
    redis-server (``SIGKILL`` when ``hard``), and start it again on the same
    port and data once it has been down ``min_outage`` seconds and the
    clients have seen ``min_errors`` outage 503s (whatever the store
    client's retries), or after ``max_outage`` seconds."""

    def fault(progress: Progress) -> list[str]:
        limit = time.monotonic() + 60
        while progress.ok < after and time.monotonic() < limit:
            time.sleep(0.01)
        before = progress.ok
        errors = progress.outage
        killed = time.monotonic()
        server.stop(hard=hard)
        while time.monotonic() - killed < max_outage and (
            time.monotonic() - killed < min_outage
            or progress.outage - errors < min_errors
        ):
            time.sleep(0.02)
        down = time.monotonic() - killed
        seen = progress.outage - errors
        server.start()
        return [
            f"redis-server {'killed' if hard else 'stopped'} after {before}"
            f" successful steps; down {down:.2f} s, {seen} outage 503s meanwhile;"
            f" back after {time.monotonic() - killed:.2f} s",
        ]

    return fault


def disconnects(port: int, rounds: int = 20) -> list[str]:
    """Clients that leave early: a request sent and the socket closed before
    the answer, half a request, a large response abandoned after its first
    bytes (with a reset), and a connection that sends nothing.

    :returns: What could not be done (it should be empty).
    """
    problems = []
    request_line = (
        b"POST /hit?client=gone&seq=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    big = b"GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    for i in range(rounds):
        for payload, read, reset in (
            (request_line, 0, False),
            (request_line[:30], 0, True),
            (big, 1024, True),
            (big, 100_000, False),
            (b"", 0, False),
        ):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
            except OSError as e:
                problems.append(f"round {i}: could not connect: {e!r}")
                continue
            try:
                if payload:
                    s.sendall(payload)
                got = 0
                while got < read:
                    data = s.recv(min(65536, read - got))
                    if not data:
                        break
                    got += len(data)
                if reset:
                    # Close with a reset instead of a clean shutdown.
                    s.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
            except OSError as e:
                problems.append(f"round {i}: {e!r}")
            finally:
                s.close()
    return problems
