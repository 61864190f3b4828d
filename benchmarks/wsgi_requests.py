"""What the server-side benchmarks share: the session they store, the views
that read, write or leave it alone, and the loop that drives whole requests
through ``app.wsgi_app``.
"""

from __future__ import annotations

import time
import typing as t

from flask import Flask
from flask import session
from werkzeug.test import EnvironBuilder

SECRET = "benchmark-secret-key-0123456789abcdef"
#: A signed-in session, as Flask-Login and Flask-WTF leave it, and a cart.
PAYLOAD = {
    "_user_id": "42",
    "_fresh": True,
    "csrf_token": "f3a1c9e0b2d44e55a6b7c8d9e0f1a2b3c4d5e6f7",
    "cart": [{"sku": f"SKU-{i:04d}", "qty": i} for i in range(5)],
}


def add_views(app: Flask, read_key: str = "_user_id") -> None:
    """``/read`` reads ``read_key``, ``/write`` counts a visit,
    ``/untouched`` never uses the session, ``/login`` stores
    :data:`PAYLOAD`."""

    @app.get("/read")
    def read() -> str:
        return str(session.get(read_key))

    @app.get("/write")
    def write() -> str:
        session["visits"] = session.get("visits", 0) + 1
        return "ok"

    @app.get("/untouched")
    def untouched() -> str:
        return "ok"

    @app.get("/login")
    def login() -> str:
        session.update(PAYLOAD)
        return "ok"


def login_cookie(app: Flask, path: str = "/login") -> str:
    """The session cookie a client holds after requesting ``path``."""
    test_client = app.test_client()
    test_client.get(path)
    found = test_client.get_cookie("session")
    assert found is not None
    return found.value


def environ_for(path: str, cookie: str) -> dict[str, t.Any]:
    builder = EnvironBuilder(path=path, headers={"Cookie": f"session={cookie}"})
    return builder.get_environ()


def start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
    return None


def run(app: Flask, environ: dict[str, t.Any], number: int) -> float:
    """The mean cost of one whole request, in seconds."""
    wsgi = app.wsgi_app
    start = time.perf_counter()
    for _ in range(number):
        body = wsgi(environ.copy(), start_response)
        for _chunk in body:
            pass
        getattr(body, "close", lambda: None)()
    return (time.perf_counter() - start) / number
