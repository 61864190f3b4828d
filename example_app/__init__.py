"""A small app that shows flask-scopes at work: sign in and out, a settings
form with Post/Redirect/Get, a visit counter, and a page that shows what the
session and the flash hold.

    flask --app example_app run

``SECRET_KEY`` and ``SCOPES_SESSION_STORE`` (for example
``redis://localhost:6379/0`` or ``file:///tmp/sessions``) are read from the
environment. Without ``SECRET_KEY`` a random key is made at start-up, so
sessions end whenever the server restarts.

Every form carries a CSRF token kept in the session, checked on each
``POST``: copy that along with the rest.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import typing as t

from flask import abort
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
#: The session key of the CSRF token the forms carry.
CSRF_KEY = "csrf_token"


def create_app(config: dict[str, t.Any] | None = None) -> Flask:
    """Build the example app.

    :param config: Extra configuration, applied last.
    """
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    app.config["SCOPES_SESSION_STORE"] = os.environ.get("SCOPES_SESSION_STORE") or None
    app.config.update(config or {})
    scopes.init_app(app)

    @app.template_global()
    def csrf_token() -> str:
        """The session's CSRF token, made on first use."""
        token = session.get(CSRF_KEY)
        if not isinstance(token, str):
            token = session[CSRF_KEY] = secrets.token_urlsafe(32)
        return token

    @app.before_request
    def check_csrf() -> None:
        if request.method != "POST":
            return
        expected = session.get(CSRF_KEY)
        sent = request.form.get("csrf_token", "")
        if not isinstance(expected, str) or not hmac.compare_digest(
            sent.encode("utf-8", "surrogateescape"), expected.encode("ascii")
        ):
            abort(400, "The form's CSRF token is missing or wrong: reload the page.")

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
            store=store_description(app),
        )

    return app


def store_description(app: Flask) -> str | None:
    """The session store as its own safe description, never the configured
    URL: that may hold a password."""
    store = scopes.interface(app).runtime(app).store
    return None if store is None else store.describe()


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
