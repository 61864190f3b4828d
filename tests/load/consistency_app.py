"""The app the near cache consistency test serves under gunicorn: one
counter per session, written, read, signed out and revoked.

- ``LOAD_SECRET_KEY``: the secret key (shared by all workers).
- ``LOAD_SESSION_STORE``: ``SCOPES_SESSION_STORE``.
- ``LOAD_STORE_CACHE``: ``SCOPES_SESSION_STORE_CACHE`` (default 1000).
"""

from __future__ import annotations

import os
import typing as t

from flask import Flask
from flask import request
from flask import session

from flask_scopes import Scopes


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("LOAD_SECRET_KEY", "load-test-secret")
    app.config["SCOPES_SESSION_STORE"] = os.environ["LOAD_SESSION_STORE"]
    app.config["SCOPES_SESSION_STORE_CACHE"] = int(
        os.environ.get("LOAD_STORE_CACHE", "1000")
    )
    scopes = Scopes(app)

    @app.get("/health")
    def health() -> str:
        return "ok"

    @app.post("/login")
    def login() -> dict[str, t.Any]:
        session.bind_user(request.args["user"])
        session["n"] = 0
        return {"n": 0}

    @app.post("/set")
    def set_value() -> dict[str, t.Any]:
        if "n" not in session:
            return {"n": None}
        session["n"] = int(request.args["n"])
        return {"n": session["n"]}

    @app.get("/get")
    def get_value() -> dict[str, t.Any]:
        return {"n": session.get("n"), "pid": os.getpid()}

    @app.post("/logout")
    def logout() -> dict[str, t.Any]:
        session.clear()
        return {"n": None}

    @app.get("/stats")
    def stats() -> dict[str, t.Any]:
        """The near cache's counters in the worker that answers."""
        store = app.session_interface.runtime(app).store  # type: ignore[attr-defined]
        return dict(store.stats)

    @app.post("/revoke")
    def revoke() -> dict[str, t.Any]:
        scopes.revoke_user(request.args["user"])
        return {"n": None}

    return app
