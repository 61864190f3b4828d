"""Small helpers shared by the tests."""

from __future__ import annotations

from werkzeug.test import TestResponse

from flask_scopes.testing import _add_sign_in_views


def set_cookies(response: TestResponse, name: str) -> list[str]:
    """The ``Set-Cookie`` header values the response sends for ``name``."""
    return [
        value
        for value in response.headers.getlist("Set-Cookie")
        if value.startswith(f"{name}=")
    ]


def cookie_value(response: TestResponse, name: str = "session") -> str:
    """The value the response sets for ``name``; fails if it sets none."""
    headers = set_cookies(response, name)
    assert len(headers) == 1, headers
    return headers[0].split(";", 1)[0].split("=", 1)[1]


def attributes(header: str) -> dict[str, str]:
    """The attributes of a ``Set-Cookie`` header value, lower-cased names."""
    out: dict[str, str] = {}
    for part in header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        out[key.lower()] = value
    return out


def vary(response: TestResponse) -> list[str]:
    """Every entry of the response's ``Vary`` headers."""
    return [
        part.strip()
        for value in response.headers.getlist("Vary")
        for part in value.split(",")
        if part.strip()
    ]


#: ``/login/<user>`` binds the session to ``user`` and stores it, ``/user``
#: shows it, ``/logout`` clears the session; returns the app.
add_sign_in_views = _add_sign_in_views
