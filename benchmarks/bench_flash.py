"""Per-request cost of flashing a message and of showing it.

Runs whole requests through ``app.wsgi_app`` for flask-scopes' flash cookie
and for Flask's own ``flash()`` / ``get_flashed_messages()`` on its session
cookie, side by side in one process, and prints the cost of each and the
ratio between them.

    python benchmarks/bench_flash.py [--rounds N] [--number N]

Each figure is the best of ``--rounds`` rounds of ``--number`` requests,
the rounds interleaving the two apps, minus the cost of a request to a view
that does nothing in the same app with no cookie (routing, request and
response objects), so what remains is the work the flash adds.
"""

from __future__ import annotations

import argparse
import time
import typing as t

import flask
from flask import Flask
from flask import get_flashed_messages
from flask.sessions import SecureCookieSessionInterface
from werkzeug.test import EnvironBuilder

from flask_scopes import flash
from flask_scopes import Scopes

SECRET = "benchmark-secret-key-0123456789abcdef"
MESSAGE = "Settings saved!"

SCENARIOS = {
    "untouched": "a pending flash, and a view that never looks at it",
    "flash": "the view flashes one message (the POST of a PRG)",
    "show": "the view shows the pending message (the GET of a PRG)",
}


def make_app(scopes: bool) -> Flask:
    app = Flask(__name__)
    app.secret_key = SECRET
    if scopes:
        Scopes(app)
    else:
        app.session_interface = SecureCookieSessionInterface()

    @app.get("/empty")
    def empty() -> str:
        return "ok"

    @app.get("/untouched")
    def untouched() -> str:
        return "ok"

    @app.get("/flash")
    def flash_view() -> str:
        if scopes:
            flash.success(MESSAGE)
        else:
            flask.flash(MESSAGE, "success")
        return "ok"

    @app.get("/show")
    def show() -> str:
        if scopes:
            shown = list(flash)
        else:
            shown = get_flashed_messages(with_categories=True)
        assert shown == [("success", MESSAGE)], shown
        return "ok"

    return app


def pending_cookie(app: Flask, name: str) -> str:
    """The ``Cookie`` header a browser sends after the flashing request."""
    client = app.test_client()
    client.get("/flash")
    cookie = client.get_cookie(name)
    assert cookie is not None
    return f"{name}={cookie.value}"


def run(app: Flask, environ: dict[str, t.Any], number: int) -> float:
    wsgi = app.wsgi_app

    def start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
        return None

    start = time.perf_counter()
    for _ in range(number):
        for _chunk in wsgi(environ.copy(), start_response):
            pass
    return (time.perf_counter() - start) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    apps = {"flask-scopes": make_app(True), "Flask": make_app(False)}
    cookies = {
        "flask-scopes": pending_cookie(apps["flask-scopes"], "flash"),
        "Flask": pending_cookie(apps["Flask"], "session"),
    }

    def environ(path: str, cookie: str | None) -> dict[str, t.Any]:
        headers = {"Cookie": cookie} if cookie else {}
        return EnvironBuilder(path=path, headers=headers).get_environ()

    base = {name: float("inf") for name in apps}
    for _ in range(args.rounds):
        for name, app in apps.items():
            cost = run(app, environ("/empty", None), args.number)
            base[name] = min(base[name], cost)
    print(f"{'request':10} {'flask-scopes':>13} {'Flask':>9}   {'scopes/Flask':>12}")
    for scenario in SCENARIOS:
        best = {name: float("inf") for name in apps}
        for _ in range(args.rounds):
            for name, app in apps.items():
                cookie = None if scenario == "flash" else cookies[name]
                cost = run(app, environ(f"/{scenario}", cookie), args.number)
                best[name] = min(best[name], cost)
        net = {name: max(0.0, best[name] - base[name]) * 1e6 for name in apps}
        print(
            f"{scenario:10} {net['flask-scopes']:10.1f} us {net['Flask']:6.1f} us"
            f"   {net['flask-scopes'] / net['Flask']:12.2f}"
        )
    print("\nus: microseconds the flash adds to a whole request, over a view")
    print("that does nothing in the same app.")
    for scenario, meaning in SCENARIOS.items():
        print(f"  {scenario}: {meaning}")


if __name__ == "__main__":
    main()
