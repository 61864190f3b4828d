"""The app the load tests serve under gunicorn.

Configured from the environment so that every worker builds the same app:

- ``LOAD_SECRET_KEY``: the secret key (shared by all workers).
- ``LOAD_SESSION_STORE``: ``SCOPES_SESSION_STORE``, for example
  ``redis://127.0.0.1:6379/0``; unset for the cookie session.

Run from the repository root with ``gunicorn 'tests.load.app:create_app()'``.
"""

from __future__ import annotations

import os
import typing as t

from flask import flash
from flask import Flask
from flask import get_flashed_messages
from flask import request
from flask import Response
from flask import session

from flask_scopes import Scopes


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("LOAD_SECRET_KEY", "load-test-secret")
    store = os.environ.get("LOAD_SESSION_STORE")
    if store:
        app.config["SCOPES_SESSION_STORE"] = store
    Scopes(app)

    @app.get("/health")
    def health() -> str:
        return "ok"

    @app.post("/hit")
    def hit() -> dict[str, t.Any]:
        """One step of a client: read the previous flash, count, flash."""
        client = request.args["client"]
        seq = request.args["seq"]
        flashes = get_flashed_messages()
        owner = session.setdefault("client", client)
        count = session.get("n", 0) + 1
        session["n"] = count
        flash(f"{client}:{seq}")
        return {"n": count, "client": owner, "flashes": flashes, "pid": os.getpid()}

    @app.get("/count")
    def count() -> dict[str, t.Any]:
        """The counter, read without writing."""
        return {"n": session.get("n", 0), "client": session.get("client")}

    @app.get("/big")
    def big() -> Response:
        """A response large enough that a client can leave in the middle."""
        seen = session.get("n", 0)
        chunk = b"x" * 65536

        def generate() -> t.Iterator[bytes]:
            for _ in range(64):
                yield chunk

        response = Response(generate(), mimetype="application/octet-stream")
        response.headers["X-Seen"] = str(seen)
        return response

    return app
