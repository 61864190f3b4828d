"""Load through a real server, with the figures printed.

Serves the test app (``tests/load/app.py``) under gunicorn on 127.0.0.1,
runs N concurrent clients of M steps each (count in the session, flash a
message), and prints requests, errors, lost updates and throughput. With
``--outage``, redis-server is killed a third of the way through and started
again after ``--outage-seconds`` (and at least ten outage 503s).

    python benchmarks/bench_load.py --mode cookie
    python benchmarks/bench_load.py --mode redis --outage

Exits non-zero when a promise broke: a counter not exactly M, a lost
update, a 5xx other than the outage 503, a flash shown wrongly, an error in
the server's log other than the store's outage message. The logs are then
kept, and their directory printed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test helpers, and flask_scopes from a checkout

from tests.load.harness import AppServer  # noqa: E402
from tests.load.harness import disconnects  # noqa: E402
from tests.load.harness import redis_outage  # noqa: E402
from tests.load.harness import run_load  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["cookie", "redis"], default="cookie")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=200, help="steps per client")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--outage", action="store_true", help="kill redis midway")
    parser.add_argument(
        "--outage-seconds", type=float, default=3.0, help="shortest outage"
    )
    parser.add_argument(
        "--disconnects", type=int, default=0, help="rounds of early-leaving clients"
    )
    args = parser.parse_args(argv)
    if args.outage and args.mode != "redis":
        parser.error("--outage needs --mode redis")

    work = Path(tempfile.mkdtemp(prefix="flask-scopes-load-"))
    redis = None
    failed = True
    try:
        store = None
        if args.mode == "redis":
            redis = RedisServer(work / "redis")
            redis.start()
            store = redis.url
        server = AppServer(
            work / "gunicorn.log",
            store=store,
            workers=args.workers,
            threads=args.threads,
        )
        with server:
            during = None
            if args.outage:
                after = args.clients * args.requests // 3
                during = redis_outage(redis, after, min_outage=args.outage_seconds)
            elif args.disconnects:
                rounds = args.disconnects

                def during(progress: object) -> list[str]:
                    problems = disconnects(server.port, rounds)
                    return [f"{rounds * 5} early disconnects, problems: {problems}"]

            print(
                f"{args.clients} clients x {args.requests} steps, {args.mode} mode,"
                f" gunicorn {args.workers} workers x {args.threads} threads"
            )
            result = run_load(
                server.port,
                args.clients,
                args.requests,
                mode=args.mode,
                time_limit=args.time_limit,
                during=during,
            )
            print(result.report())
            logged = server.logged_errors()
            print(f"{'outage errors logged':>28}: {logged['outage']}")
            print(f"{'other errors logged':>28}: {logged['other']}")
        failed = bool(result.problems() or logged["other"])
        return 1 if failed else 0
    finally:
        if redis is not None:
            redis.stop(hard=True)
        if failed:
            print(f"logs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
