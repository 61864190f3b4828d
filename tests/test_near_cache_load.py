"""No stale read from the near cache under load: gunicorn workers, each with
its own near cache, serve clients that write, sign out and revoke while
others read the same sessions, and the Redis connections are killed and the
server restarted in the middle of the run.

A read is stale when it started after a change to its session had been
answered and returned what the session held before that change.
"""

from __future__ import annotations

import json
import random
import threading
import time
import typing as t
from collections import Counter

import pytest

from .load.harness import AppServer
from .load.harness import request
from .redis_server import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(120)]

#: How long the clients run, in seconds.
DURATION = 10.0
WRITERS = 4
READERS = 6
#: Counter values written to a session before it ends.
STEPS = 12

ENDED = "ended"


class Ledger:
    """What each session cookie is known to hold: the last counter value a
    writer had answered, or :data:`ENDED` once its sign-out or revocation
    was answered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.floors: dict[str, int | str] = {}
        self.cookies: dict[int, list[str]] = {}
        self.stale: list[str] = []
        self.reads: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()

    def settle(self, cookie: str, value: int | str, slot: int | None = None) -> None:
        with self.lock:
            self.floors[cookie] = value
            if slot is not None:
                self.cookies.setdefault(slot, []).append(cookie)

    def pick(self, rng: random.Random) -> tuple[str, int | str] | None:
        with self.lock:
            if not self.cookies:
                return None
            cookies = self.cookies[rng.choice(list(self.cookies))]
            cookie = cookies[-1] if rng.random() < 0.7 else rng.choice(cookies[-5:])
            return cookie, self.floors[cookie]


def call(
    port: int, method: str, path: str, jar: dict[str, str], ledger: Ledger
) -> t.Any:
    """The JSON answer, or ``None`` for a 503 (the store is down)."""
    try:
        status, body, _ = request(port, method, path, jar, timeout=20)
    except OSError:
        return None
    with ledger.lock:
        ledger.statuses[status] += 1
    if status == 503:
        return None
    assert status == 200, (status, body[:500])
    return json.loads(body)


def writer(port: int, slot: int, ledger: Ledger, deadline: float) -> None:
    user = f"user-{slot}"
    generation = 0
    while time.monotonic() < deadline:
        generation += 1
        jar: dict[str, str] = {}
        if call(port, "POST", f"/login?user={user}", jar, ledger) is None:
            continue
        cookie = jar["session"]
        ledger.settle(cookie, 0, slot)
        for n in range(1, STEPS + 1):
            if call(port, "POST", f"/set?n={n}", dict(jar), ledger) is not None:
                ledger.settle(cookie, n)
        end = "/logout" if generation % 2 else f"/revoke?user={user}"
        for _ in range(200):
            if call(port, "POST", end, dict(jar), ledger) is not None:
                ledger.settle(cookie, ENDED)
                break
            time.sleep(0.02)


def reader(port: int, seed: int, ledger: Ledger, deadline: float) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        picked = ledger.pick(rng)
        if picked is None:
            time.sleep(0.01)
            continue
        cookie, floor = picked
        answer = call(port, "GET", "/get", {"session": cookie}, ledger)
        if answer is None:
            continue
        seen = answer["n"]
        stale = seen is not None and (
            floor == ENDED or (isinstance(floor, int) and seen < floor)
        )
        with ledger.lock:
            ledger.reads["ended" if floor == ENDED else "live"] += 1
            if stale:
                ledger.stale.append(f"{cookie[:12]}: read {seen}, after {floor}")


def faults(server: RedisServer, start: float) -> list[str]:
    """Kill the tracking connections, then restart the server twice."""
    done = []
    steps: list[tuple[float, str]] = [
        (2.0, "pubsub"),
        (3.5, "normal"),
        (5.0, "restart"),
        (7.0, "crash"),
    ]
    for at, what in steps:
        time.sleep(max(0.0, start + at - time.monotonic()))
        if what == "restart":
            server.restart()
        elif what == "crash":
            server.restart(hard=True)
        else:
            client = server.client(retry=False)
            client.execute_command("CLIENT", "KILL", "TYPE", what)
            client.close()
        done.append(what)
    return done


@pytest.fixture
def cached_app(
    tmp_path: t.Any, redis_server: RedisServer
) -> t.Iterator[tuple[AppServer, RedisServer]]:
    with AppServer(
        tmp_path / "gunicorn.log",
        store=redis_server.url,
        workers=3,
        threads=4,
        app="tests.load.consistency_app:create_app()",
        env={"LOAD_STORE_CACHE": "1000"},
    ) as app:
        yield app, redis_server


def test_no_stale_read_under_load(cached_app: tuple[AppServer, RedisServer]) -> None:
    app, server = cached_app
    ledger = Ledger()
    start = time.monotonic()
    deadline = start + DURATION
    threads = [
        threading.Thread(target=writer, args=(app.port, slot, ledger, deadline))
        for slot in range(WRITERS)
    ] + [
        threading.Thread(target=reader, args=(app.port, seed, ledger, deadline))
        for seed in range(READERS)
    ]
    errors: list[BaseException] = []

    def run(thread: threading.Thread) -> None:
        try:
            thread.run()
        except BaseException as e:  # reported below
            errors.append(e)

    runners = [threading.Thread(target=run, args=(thread,)) for thread in threads]
    for runner in runners:
        runner.start()
    try:
        done = faults(server, start)
    finally:
        for runner in runners:
            runner.join(60)
    assert not errors, errors
    assert done == ["pubsub", "normal", "restart", "crash"]
    assert ledger.stale == [], ledger.stale
    # The run read live and ended sessions alike, and went through outages.
    assert ledger.reads["live"] > 200, ledger.reads
    assert ledger.reads["ended"] > 20, ledger.reads
    assert set(ledger.statuses) <= {200, 503}, ledger.statuses
    # The workers did serve reads from their near caches.
    hits = 0
    for _ in range(20):
        status, body, _ = request(app.port, "GET", "/stats", {}, timeout=10)
        assert status == 200
        hits = max(hits, json.loads(body)["hits"])
    assert hits > 50
    log = app.log_text()
    assert "Exception on /" not in log, log[-5000:]
