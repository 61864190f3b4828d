"""Server-side sessions across a network: flask-scopes without and with its
near cache (``SCOPES_SESSION_STORE_CACHE``), Flask-Session, and the
one-round-trip floor, side by side in one run.

Starts a ``redis-server`` on loopback and, for each delay, a
:class:`~delay_proxy.DelayProxy` that adds it to each direction between
the apps and the server (``0`` connects directly). Whole Flask requests
that read the session, write it, or leave it untouched go through
``app.wsgi_app``.

    python benchmarks/bench_near_cache.py [--delays 0,0.25,1] [--rounds N] [--number N]

Each figure is the best of ``--rounds`` rounds; with a delay, fewer
requests make a round (``--number`` is for loopback). The rounds interleave
the implementations so that noise hits them alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from cachelib import RedisCache
from flask import Flask

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_store import CountingRedis  # noqa: E402
from bench_store import flask_session_app  # noqa: E402
from bench_store import floor_app  # noqa: E402
from bench_store import measure  # noqa: E402
from delay_proxy import DelayProxy  # noqa: E402
from wsgi_requests import add_views  # noqa: E402
from wsgi_requests import environ_for  # noqa: E402
from wsgi_requests import login_cookie  # noqa: E402
from wsgi_requests import SECRET  # noqa: E402

from flask_scopes import Scopes  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


def scopes_app(client: CountingRedis, cache: int) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET,
        SCOPES_SESSION_STORE=RedisCache(client),
        SCOPES_SESSION_STORE_CACHE=cache,
    )
    Scopes(app)
    add_views(app)
    return app


def run_delay(port: int, delay_ms: float, rounds: int, number: int) -> None:
    proxy = None
    if delay_ms:
        proxy = DelayProxy(("127.0.0.1", port), delay_ms / 1000)
        port = proxy.port
        number = max(100, int(number / (1 + 4 * delay_ms)))
    clients: list[CountingRedis] = []

    def client() -> CountingRedis:
        made = CountingRedis(port=port)
        clients.append(made)
        return made

    try:
        rtt = _round_trip(proxy, client())
        apps = {
            "flask-scopes": scopes_app(plain := client(), 0),
            "near cache": scopes_app(cached := client(), 10_000),
            "Flask-Session": flask_session_app(theirs := client()),
        }
        counting = {
            "flask-scopes": plain,
            "near cache": cached,
            "Flask-Session": theirs,
        }
        cookies = {name: login_cookie(app) for name, app in apps.items()}
        floor = floor_app(floor_client := client(), lazy=True)
        label = f"+{delay_ms} ms each way" if delay_ms else "plain loopback"
        print(f"\n{label}: a PING round trip takes {rtt * 1e6:.0f} us;")
        print(f"best of {rounds} rounds of {number} requests, us per request")
        results: dict[str, dict[str, float]] = {}
        for path in ("untouched", "read", "write"):
            runs = {
                name: (app, counting[name], environ_for(f"/{path}", cookies[name]))
                for name, app in apps.items()
            }
            if path == "read":
                runs["floor"] = (floor, floor_client, environ_for("/read", "abc"))
            measured = measure(runs, rounds, number)
            results[path] = {name: cost for name, (cost, _) in measured.items()}
        names = [*apps, "floor"]
        print(f"{'request':10}" + "".join(f"{name:>15}" for name in names))
        for path, costs in results.items():
            cells = [
                f"{costs[name] * 1e6:15.1f}" if name in costs else f"{'':15}"
                for name in names
            ]
            print(f"{path:10}" + "".join(cells))
        read, write = results["read"], results["write"]
        untouched = results["untouched"]["flask-scopes"]
        store = (
            apps["near cache"]
            .session_interface.runtime(  # type: ignore[attr-defined]
                apps["near cache"]
            )
            .store
        )
        print(
            "reads, Flask-Session / near cache (throughput ratio):"
            f" {read['Flask-Session'] / read['near cache']:.2f}x"
        )
        print(
            "reads, near cache / untouched request (cost ratio):"
            f" {read['near cache'] / untouched:.2f}x"
        )
        print(
            "reads, flask-scopes without / with the near cache:"
            f" {read['flask-scopes'] / read['near cache']:.2f}x"
        )
        print(f"reads, floor / near cache: {read['floor'] / read['near cache']:.2f}x")
        print(
            "writes, near cache / without (cost ratio):"
            f" {write['near cache'] / write['flask-scopes']:.2f}x"
        )
        print(f"near cache: {store.stats}")
        store.close()
    finally:
        for made in clients:
            made.close()
        if proxy is not None:
            proxy.close()


def _round_trip(proxy: DelayProxy | None, client: CountingRedis) -> float:
    if proxy is not None:
        return proxy.round_trip()
    import time

    times = []
    for _ in range(200):
        start = time.perf_counter()
        client.ping()
        times.append(time.perf_counter() - start)
    return sorted(times)[100]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delays", default="0,0.25,1")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="flask-scopes-bench-")
    server = RedisServer(directory, persistent=False)
    server.start()
    try:
        print(f"redis-server on 127.0.0.1:{server.port}; whole Flask requests.")
        for delay in args.delays.split(","):
            run_delay(server.port, float(delay), args.rounds, args.number)
        print("\nuntouched: a request that never uses the session. floor: one GET")
        print("and json.loads on first use, no signature, no checks, no save.")
    finally:
        server.stop(hard=True)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
