"""A small app that shows flask-scopes at work: sign in and out, a settings
form with Post/Redirect/Get, a visit counter, preferences kept for a year
in a named session scope of their own, and a page that shows what the
session and the flash hold.

    flask --app example_app run

``SECRET_KEY`` and ``SCOPES_SESSION_STORE`` (for example
``redis://localhost:6379/0`` or ``file:///tmp/sessions``) are read from the
environment. Without ``SECRET_KEY`` a random key is made at start-up, so
sessions end whenever the server restarts.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import typing as t
from datetime import timedelta

from flask import Flask
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from werkzeug.wrappers import Response

from flask_scopes import flash
from flask_scopes import Scopes
from flask_scopes import sessions

scopes = Scopes()
# Preferences outlive signing in and out: a signed cookie of their own,
# kept for a year whatever the sign-in session's store and timeouts.
scopes.add_session(
    "prefs",
    permanent=True,
    lifetime=timedelta(days=365),
    idle_timeout=None,
    absolute_timeout=None,
    store=None,
)

THEMES = ("light", "dark")


def create_app(config: dict[str, t.Any] | None = None) -> Flask:
    """Build the example app.

    :param config: Extra configuration, applied last.
    """
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    app.config["SCOPES_SESSION_STORE"] = os.environ.get("SCOPES_SESSION_STORE") or None
    app.config.update(config or {})
    scopes.init_app(app)

    @app.get("/")
    def index() -> str:
        session["visits"] = session.get("visits", 0) + 1
        return render_template("index.html", visits=session["visits"])

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str | Response:
        if request.method == "GET":
            return render_template("login.html")
        name = request.form.get("username", "").strip()
        if not name or not request.form.get("password"):
            flash.error("Enter a user name and a password.")
            flash.keep_form(request.form, only=["username"])
            return redirect(url_for("login"))
        session.regenerate()
        session["user"] = name
        flash.success(f"Signed in as {name}.")
        return redirect(url_for("index"))

    @app.post("/logout")
    def logout() -> Response:
        session.clear()
        flash.info("Signed out.")
        return redirect(url_for("index"))

    @app.route("/settings", methods=["GET", "POST"])
    def settings() -> str | Response:
        if "user" not in session:
            flash.warning("Sign in to change your settings.")
            return redirect(url_for("login"))
        if request.method == "GET":
            return render_template("settings.html", saved=session.get("settings", {}))
        display_name = request.form.get("display_name", "").strip()
        email = request.form.get("email", "").strip()
        theme = request.form.get("theme", "")
        if not display_name:
            flash.field_error("display_name", "Required.")
        if "@" not in email:
            flash.field_error("email", "Enter an e-mail address.")
        if theme not in THEMES:
            flash.field_error("theme", "Choose a theme.")
        if not display_name or "@" not in email or theme not in THEMES:
            flash.error("Settings invalid!")
            flash.keep_form(request.form, only=["display_name", "email", "theme"])
            return redirect(url_for("settings"))
        session["settings"] = {
            "display_name": display_name,
            "email": email,
            "theme": theme,
        }
        flash.success("Settings saved!")
        return redirect(url_for("settings"))

    @app.route("/preferences", methods=["GET", "POST"])
    def preferences() -> str | Response:
        prefs = sessions.prefs
        if request.method == "GET":
            return render_template("preferences.html", theme=prefs.get("theme"))
        theme = request.form.get("theme", "")
        if theme not in THEMES:
            flash.error("Choose a theme.")
            return redirect(url_for("preferences"))
        prefs["theme"] = theme
        flash.success("Preferences saved for a year.")
        return redirect(url_for("preferences"))

    @app.get("/inspect")
    def inspect() -> str:
        cookie_name = app.config["SESSION_COOKIE_NAME"]
        cookie = request.cookies.get(cookie_name, "")
        return render_template(
            "inspect.html",
            data=json.dumps(dict(session), indent=2, default=repr, sort_keys=True),
            cookie=cookie,
            readable=readable_part(cookie),
            cookie_name=cookie_name,
            flash_cookie=request.cookies.get(
                app.config["SCOPES_FLASH_COOKIE_NAME"], ""
            ),
            store=app.config["SCOPES_SESSION_STORE"],
        )

    return app


def readable_part(cookie: str) -> str | None:
    """What anyone holding a signed session cookie can read in it: the
    middle part is base64 of ``[created, touched, data]``. ``None`` for
    encrypted, compressed or server-side cookies."""
    header, _, rest = cookie.partition(".")
    if header not in ("1", "1t"):
        return None
    body = rest.partition(".")[0]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except ValueError:
        return None


app = create_app()
