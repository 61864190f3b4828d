"""Load through a real server, store outages and clients that leave early.

The app (``tests/load/app.py``) runs under gunicorn with several workers
and threads on 127.0.0.1; the clients and the checks are in
``tests/load/harness.py``. ``benchmarks/bench_load.py`` runs the same with larger
numbers and prints the figures.
"""

from __future__ import annotations

import typing as t

import pytest

from .load.harness import AppServer
from .load.harness import disconnects
from .load.harness import LoadClient
from .load.harness import LoadResult
from .load.harness import logged_errors
from .load.harness import OUTAGE_TEXT
from .load.harness import Progress
from .load.harness import redis_outage
from .load.harness import request
from .load.harness import run_load
from .redis_server import RedisServer

CLIENTS = 8
STEPS = 50

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def cookie_app(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[AppServer]:
    with AppServer(tmp_path_factory.mktemp("gunicorn") / "cookie.log") as server:
        yield server


@pytest.fixture(scope="module")
def redis_app(
    tmp_path_factory: pytest.TempPathFactory, redis_process: RedisServer
) -> t.Iterator[AppServer]:
    log = tmp_path_factory.mktemp("gunicorn") / "redis.log"
    redis_process.start()
    with AppServer(log, store=redis_process.url) as server:
        yield server


@pytest.fixture(params=["cookie", pytest.param("redis", marks=pytest.mark.redis)])
def served(request: pytest.FixtureRequest) -> t.Iterator[tuple[str, AppServer]]:
    mode = request.param
    if mode == "redis":
        pytest.importorskip("redis")
        yield mode, request.getfixturevalue("redis_app")
    else:
        yield mode, request.getfixturevalue("cookie_app")


def assert_clean(result: LoadResult, server: AppServer, outage: bool = False) -> None:
    assert result.problems() == [], result.report()
    assert result.complete, result.report()
    assert result.lost_updates == 0
    log = server.log_text()
    # Flask logs every unhandled error (a 500) as "Exception on <path>".
    assert "Exception on /" not in log, log[-5000:]
    # The store may log the outage it turned into a 503; nothing else
    # may log a traceback.
    assert server.logged_errors()["other"] == 0, log[-5000:]
    if not outage:
        assert "Traceback" not in log, log[-5000:]


def test_load(served: tuple[str, AppServer]) -> None:
    """Every client's counter is exactly the number of its steps, every
    response a 2xx, every flash shown once in the next step."""
    mode, server = served
    result = run_load(server.port, CLIENTS, STEPS, mode=mode, time_limit=90)
    print(result.report())
    assert_clean(result, server)
    assert result.outage == 0
    assert result.requests == CLIENTS * STEPS
    assert set(result.statuses) == {200}


def test_clients_leaving_early(served: tuple[str, AppServer]) -> None:
    """Clients that close the connection before, during or after sending a
    request, or in the middle of a large response, break nothing: a load
    run alongside and after them is clean."""
    mode, server = served
    problems: list[str] = []

    def leave(progress: Progress) -> list[str]:
        problems.extend(disconnects(server.port, rounds=10))
        return ["disconnecting clients ran alongside"]

    result = run_load(server.port, 4, 20, mode=mode, time_limit=90, during=leave)
    assert problems == []
    assert_clean(result, server)
    after = run_load(server.port, 4, 10, mode=mode, time_limit=60)
    assert_clean(after, server)
    assert request(server.port, "GET", "/health", {})[0] == 200


@pytest.mark.redis
def test_redis_outage(redis_app: AppServer, redis_process: RedisServer) -> None:
    """redis-server is killed in the middle of a run and started again.
    Requests during the outage get the 503 with its message, never a 500;
    after it, every session goes on from where it was: no counter reset or
    lost, and each ends at exactly its number of steps."""
    fault = redis_outage(redis_process, after=CLIENTS * STEPS // 3)
    result = run_load(
        redis_app.port, CLIENTS, STEPS, mode="redis", time_limit=150, during=fault
    )
    print(result.report())
    assert_clean(result, redis_app, outage=True)
    assert result.outage > 0, "the outage was not seen"
    assert set(result.statuses) <= {200, 503}


def test_logged_errors() -> None:
    """The log check tells the store's outage message from any other
    error, and counts a chained error once."""
    log = "\n".join(
        [
            "[INFO] Booting worker",
            f"The session store (RedisCache) {OUTAGE_TEXT} to save the session.",
            "Traceback (most recent call last):",
            '  File "x.py", line 1, in f',
            "ConnectionError: Connection closed by server.",
            "",
            "During handling of the above exception, another exception occurred:",
            "",
            "Traceback (most recent call last):",
            "ConnectionRefusedError: [Errno 111] Connection refused",
            "[ERROR] Exception on /hit [POST]",
            "Traceback (most recent call last):",
            "KeyError: 'n'",
        ]
    )
    assert logged_errors(log) == {"outage": 1, "other": 1}
    assert logged_errors("[INFO] Booting worker\n") == {}
    assert logged_errors("\nTraceback (most recent call last):\n") == {"other": 1}


def test_fault_is_detected(cookie_app: AppServer) -> None:
    """The checks can fail: a client whose cookie jar is emptied in the
    middle of its run sees its counter reset, and the run reports it."""
    result = run_load(cookie_app.port, 1, 6, time_limit=30)
    assert result.problems() == []
    client = LoadClient(cookie_app.port, "forgetful", 6, 6, float("inf"))
    original = client._success
    calls = 0

    def forget(data: dict[str, t.Any], message: str) -> None:
        nonlocal calls
        calls += 1
        original(data, message)
        if calls == 3:
            client.jar.clear()

    client._success = forget  # type: ignore[method-assign]
    outcome = client.run()
    assert any("reset" in a for a in outcome.anomalies), outcome
    assert outcome.flash_errors
