"""Per-request cost of the session interface in CPU instructions, which a
busy machine does not disturb.

Runs each scenario under ``valgrind --tool=callgrind`` twice, with two
request counts, and reports the difference divided by the difference in
requests: the instructions one request costs, with start-up and the
building of requests and responses taken out.

    python benchmarks/bench_instructions.py [--requests N] [--only SCENARIO ...]

The cookie scenarios keep the session in its cookie; the "store" ones keep
it in an in-process store (cachelib's ``SimpleCache``), so that what they
count is the session layer's own work on a stored session, with no network.

Needs ``valgrind`` (Debian's package). To compare two versions, run it in
each checkout: the figures are repeatable to well under one per cent.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

SCENARIOS = ("untouched", "read", "write", "store untouched", "store read")


def child(kind: str, count: int) -> None:
    """Open and save ``count`` sessions as the scenario says."""
    import gc

    from flask import Flask
    from flask import session
    from werkzeug.test import EnvironBuilder

    from flask_scopes import Scopes

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "benchmark-secret-key-0123456789abcdef"
    if kind.startswith("store"):
        from cachelib import SimpleCache

        app.config["SCOPES_SESSION_STORE"] = SimpleCache()
    Scopes(app)

    @app.get("/write")
    def write() -> str:
        session["user"] = "42"
        return "ok"

    cookie = app.test_client().get("/write").headers["Set-Cookie"]
    value = cookie.split(";", 1)[0]
    environ = EnvironBuilder(path="/", headers={"Cookie": value}).get_environ()
    interface = app.session_interface
    requests = [app.request_class(environ.copy()) for _ in range(count)]
    for request in requests:
        request.cookies  # noqa: B018 (parsed here, not in the loop)
    responses = [app.response_class("ok") for _ in range(count)]
    gc.disable()
    if kind == "build":
        return
    for request, response in zip(requests, responses, strict=True):
        opened = interface.open_session(app, request)
        assert opened is not None
        if kind.endswith("read"):
            opened.get("user")
        elif kind == "write":
            opened["seen"] = 1
        interface.save_session(app, opened, response)


def instructions(kind: str, count: int) -> int:
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--child",
            kind,
            str(count),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    match = re.search(r"Collected : (\d+)", result.stderr)
    assert match is not None, result.stderr
    return int(match[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--only", nargs="+", choices=SCENARIOS, help="run only these scenarios"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install valgrind")
    low, high = args.requests, 3 * args.requests
    base = {n: instructions("build", n) for n in (low, high)}
    print(f"{'request':16} {'instructions':>13}")
    for kind in args.only or SCENARIOS:
        spent = {n: instructions(kind, n) - base[n] for n in (low, high)}
        per_request = (spent[high] - spent[low]) / (high - low)
        print(f"{kind:16} {per_request:13,.0f}")


if __name__ == "__main__":
    main()
