"""An app with flash views and templates, and helpers to read the flash
cookie from responses, shared by the flash tests."""

from __future__ import annotations

import base64
import json
import typing as t

from flask import Flask
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from werkzeug.test import TestResponse

from flask_scopes import flash


def pairs(*items: tuple[str, str]) -> dict[str, list[str]]:
    """Form data for the ``/flash`` view: messages flashed in this order."""
    return {"m": [f"{category}:{message}" for category, message in items]}


def set_cookie_headers(response: TestResponse, name: str = "flash") -> list[str]:
    """The response's ``Set-Cookie`` headers for the cookie ``name``."""
    return [
        h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")
    ]


def set_value(response: TestResponse, name: str = "flash") -> str | None:
    """The value the response sets the cookie to, or ``None``."""
    for header in set_cookie_headers(response, name):
        value = header.split(";", 1)[0].split("=", 1)[1]
        if value:
            return value
    return None


def deletes(response: TestResponse, name: str = "flash") -> bool:
    """Whether the response deletes the cookie."""
    return any(
        "Max-Age=0" in h and h.startswith(f"{name}=;")
        for h in set_cookie_headers(response, name)
    )


def attributes(header: str) -> list[str]:
    """A ``Set-Cookie`` header's attributes, without its value and expiry."""
    parts = [part.strip() for part in header.split(";")[1:]]
    return [p for p in parts if not p.startswith(("Expires=", "Max-Age="))]


def forge(body: t.Any, raw: bytes | None = None) -> str:
    """An unsigned flash cookie value carrying ``body`` as JSON, or ``raw``."""
    data = json.dumps(body).encode() if raw is None else raw
    return "1." + base64.urlsafe_b64encode(data).decode().rstrip("=")


def decode(value: str) -> t.Any:
    """The JSON inside an unsigned flash cookie value."""
    body = value.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def messages(response: TestResponse) -> list[tuple[str, str]]:
    """The ``(category, text)`` items the page template listed."""
    out = []
    for line in response.text.splitlines():
        line = line.strip()
        if line.startswith('<li class="'):
            category, _, rest = line[len('<li class="') :].partition('">')
            out.append((category, rest.removesuffix("</li>")))
    return out


def add_views(app: Flask) -> Flask:
    """Give ``app`` the views the flash tests use."""

    @app.post("/save")
    def save() -> t.Any:
        if not request.form.get("setting"):
            flash.error("Settings invalid!")
            return redirect("/")
        flash.success("Settings saved!")
        return redirect("/")

    @app.post("/flash")
    def flash_many() -> t.Any:
        # Each "m" value is "category:message"; other fields are
        # category=message. Flashed in order.
        for item in request.form.getlist("m"):
            category, _, message = item.partition(":")
            flash.add(message, category)
        for category, message in request.form.items():
            if category != "m":
                flash.add(message, category)
        return redirect("/")

    @app.route("/", methods=["GET", "POST"])
    def page() -> t.Any:
        return render_template("flash/page.html")

    @app.get("/legacy")
    def legacy() -> t.Any:
        return render_template("flash/legacy.html")

    @app.get("/plain")
    def plain() -> t.Any:
        return "plain"

    @app.get("/api")
    def api() -> t.Any:
        return jsonify(ok=True)

    @app.get("/crash")
    def crash() -> t.Any:
        render_template("flash/page.html")
        raise RuntimeError("the view failed after reading the flash")

    return app
