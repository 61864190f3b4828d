"""A small app that shows flask-scopes at work: sign in and out, a settings
form with Post/Redirect/Get whose theme changes the page, a visit counter,
a page that shows what the session and the flash hold, and "Your devices":
the sessions of the signed-in user, each of which can be ended (sign in
from several browsers to try it).

    python -m flask_scopes secret        # make a key
    export FLASK_SECRET_KEY=<the key>
    flask --app example_app run

The app reads its configuration with ``app.config.from_prefixed_env()``:
``FLASK_SECRET_KEY`` becomes ``SECRET_KEY``, and
``FLASK_SCOPES_SESSION_STORE`` (for example ``redis://localhost:6379/0`` or
``file:///tmp/sessions``) keeps sessions on the server. Without a key, a
random one is made at start-up: sessions then end whenever the server
restarts, and no other process (``flask scopes inspect``) can verify its
cookies. Without a session store, the sessions stay in the cookie and an
in-process store keeps the index of each user's devices
(``SCOPES_REVOCATION_STORE``).

Every form carries a CSRF token kept in the session, checked on each
``POST``: copy that along with the rest.
"""

from __future__ import annotations

import base64
import hmac
import json
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
from flask_scopes.inspection import inspect_cookie

scopes = Scopes()

THEMES = ("light", "dark")
#: The session key of the CSRF token the forms carry.
CSRF_KEY = "csrf_token"

#: The navigation: ``(endpoint, label)``, in order. An app that adds a page
#: appends its endpoint here.
PAGES: list[tuple[str, str]] = [
    ("index", "Home"),
    ("settings", "Settings"),
    ("inspect", "Inspect"),
    ("devices", "Devices"),
]


def create_app(config: dict[str, t.Any] | None = None) -> Flask:
    """Build the example app.

    :param config: Extra configuration, applied last.
    """
    app = Flask(__name__)
    app.config.from_prefixed_env()
    if not app.config.get("SCOPES_SESSION_STORE"):
        app.config["SCOPES_REVOCATION_STORE"] = "simple://"
    app.config["SCOPES_DEVICES"] = True
    app.config["SCOPES_DEVICES_USER_AGENT"] = True
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_urlsafe(48)
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

    @app.context_processor
    def layout() -> dict[str, t.Any]:
        saved = session.get("settings", {})
        return {"pages": PAGES, "theme": saved.get("theme", "light")}

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
        interface = scopes.interface(app)
        runtime = interface.runtime(app)
        names = runtime.settings.cookie_name, runtime.settings.flash_cookie_name
        cookies = {name: request.cookies.get(name, "") for name in names}
        # Read the incoming cookies as `flask scopes inspect` would, before
        # the page touches the session or uses the flash up.
        reports = {
            name: inspect_cookie(app, interface, runtime, f"{name}={value}")
            for name, value in cookies.items()
            if value
        }
        session_report = reports.get(names[0])
        return render_template(
            "inspect.html",
            data=pretty(dict(session)),
            session_name=names[0],
            session_cookie=cookies[names[0]],
            readable=readable_part(cookies[names[0]]),
            session_report=session_report,
            stored=pretty(session_report["data"])
            if session_report and session_report.get("format") == "store"
            else None,
            flash_name=names[1],
            flash_cookie=cookies[names[1]],
            flash_report=reports.get(names[1]),
            store=store_description(app),
        )

    @app.post("/inspect/flash")
    def flash_and_inspect() -> Response:
        flash.info("A message for the next request: this page reads it.")
        return redirect(url_for("inspect"))

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


def pretty(value: t.Any) -> str:
    """``value`` as indented JSON for a ``<pre>``."""
    return json.dumps(value, indent=2, default=repr, sort_keys=True, ensure_ascii=False)


app = create_app()
