"""A small app that shows flask-scopes at work: sign in and out, a settings
form with Post/Redirect/Get, a visit counter, a page that shows what the
session and the flash hold, and "Your devices": the sessions of the
signed-in user, each of which can be ended (sign in from several browsers
to try it).

    flask --app example_app run

``SECRET_KEY`` and ``SCOPES_SESSION_STORE`` (for example
``redis://localhost:6379/0`` or ``file:///tmp/sessions``) are read from the
environment. Without ``SECRET_KEY`` a random key is made at start-up, so
sessions end whenever the server restarts. Without a session store, the
sessions stay in the cookie and an in-process store keeps the index of each
user's devices (``SCOPES_REVOCATION_STORE``).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import typing as t

from flask import Flask
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from werkzeug.wrappers import Response

from flask_scopes import flash
from flask_scopes import Scopes

scopes = Scopes()

THEMES = ("light", "dark")


def create_app(config: dict[str, t.Any] | None = None) -> Flask:
    """Build the example app.

    :param config: Extra configuration, applied last.
    """
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    app.config["SCOPES_SESSION_STORE"] = os.environ.get("SCOPES_SESSION_STORE") or None
    if app.config["SCOPES_SESSION_STORE"] is None:
        app.config["SCOPES_REVOCATION_STORE"] = "simple://"
    app.config["SCOPES_DEVICES"] = True
    app.config["SCOPES_DEVICES_USER_AGENT"] = True
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
        session.bind_user(name)
        session["user"] = name
        flash.success(f"Signed in as {name}.")
        return redirect(url_for("index"))

    @app.post("/logout")
    def logout() -> Response:
        session.clear()
        flash.info("Signed out.")
        return redirect(url_for("index"))

    @app.get("/devices")
    def devices() -> str | Response:
        if "user" not in session:
            flash.warning("Sign in to see your devices.")
            return redirect(url_for("login"))
        return render_template(
            "devices.html", devices=scopes.user_sessions(session["user"])
        )

    @app.post("/devices/end")
    def end_device() -> Response:
        if "user" in session:
            if scopes.end_session(session["user"], request.form.get("ref", "")):
                flash.success("That device is signed out.")
            else:
                flash.info("That session had already ended.")
        return redirect(url_for("devices"))

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
