"""Per-request cost of opening and saving a cookie session.

Runs flask-scopes, Flask's built-in ``SecureCookieSessionInterface`` and a
hand-written HMAC-SHA256 + JSON floor side by side in one process, on the
same payloads, and prints the cost of each and the ratios between them.

    python benchmarks/bench_session.py [--rounds N] [--number N] [--extras]

Each row is the best of ``--rounds`` rounds of ``--number`` requests; the
rounds interleave the implementations so that noise hits them alike. The
cost of building the request and response objects, the same for all, is
measured on its own and subtracted.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import time
import typing as t
import uuid
from datetime import datetime
from datetime import timezone

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask.sessions import SessionInterface
from flask.sessions import SessionMixin
from werkzeug.test import EnvironBuilder

from flask_scopes import Scopes
from flask_scopes import signals

SECRET = "benchmark-secret-key-0123456789abcdef"

PAYLOADS: dict[str, dict[str, t.Any]] = {
    "login (3 keys)": {
        "_user_id": "42",
        "_fresh": True,
        "csrf_token": "f3a1c9e0b2d44e55a6b7c8d9e0f1a2b3c4d5e6f7",
    },
    "cart (20 keys)": {
        f"item_{i}": {"sku": f"SKU-{i:04d}", "qty": i} for i in range(20)
    },
    "typed values": {
        "_user_id": "42",
        "seen": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        "token": uuid.UUID(int=7),
        "pair": (1, 2),
    },
}


class FloorSession(dict, SessionMixin):  # type: ignore[type-arg]
    modified = False

    def __setitem__(self, key: str, value: t.Any) -> None:
        super().__setitem__(key, value)
        self.modified = True


class FloorInterface(SessionInterface):
    """The least a signed JSON cookie session can do: HMAC-SHA256 over
    base64 JSON with a precomputed key, no timestamps, plain JSON only."""

    def __init__(self) -> None:
        self.key = hashlib.sha256(SECRET.encode()).digest()

    def _sig(self, body: bytes) -> bytes:
        digest = hmac.new(self.key, body, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=")

    def open_session(self, app: Flask, request: t.Any) -> FloorSession:
        value = request.cookies.get("session")
        session = FloorSession()
        if value:
            body, _, sig = value.encode().rpartition(b".")
            if hmac.compare_digest(self._sig(body), sig):
                raw = base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4))
                session.update(json.loads(raw))
        return session

    def save_session(self, app: Flask, session: t.Any, response: t.Any) -> None:
        if not session.modified:
            return
        body = base64.urlsafe_b64encode(
            json.dumps(session, separators=(",", ":"), default=str).encode()
        ).rstrip(b"=")
        value = (body + b"." + self._sig(body)).decode()
        response.headers.add(
            "Set-Cookie", f"session={value}; HttpOnly; Path=/; SameSite=Lax"
        )
        response.vary.add("Cookie")


def make_app(
    interface: SessionInterface | None, named: dict[str, t.Any] | None = None
) -> Flask:
    app = Flask(__name__)
    app.secret_key = SECRET
    if named:
        app.config["SCOPES_SESSIONS"] = named
    if interface is None:
        Scopes(app)
    else:
        app.session_interface = interface
    return app


def cookie_for(app: Flask, payload: dict[str, t.Any]) -> str:
    """The cookie each implementation writes for the payload."""
    with app.test_request_context():
        session = app.session_interface.open_session(app, _request(app, ""))
        assert session is not None
        session.update(payload)
        session.modified = True
        response = app.response_class()
        app.session_interface.save_session(app, session, response)
    header = response.headers["Set-Cookie"]
    return header.split(";", 1)[0].split("=", 1)[1]


def _request(app: Flask, cookie: str) -> t.Any:
    environ = EnvironBuilder(headers={"Cookie": f"session={cookie}"}).get_environ()
    return app.request_class(environ)


SCENARIOS = {
    "untouched": "the view never uses the session (static file, health check)",
    "read": "the view reads one key",
    "write": "the view reads one key and sets another",
}
#: Scenarios of the --extras table only.
EXTRA_SCENARIOS = {
    "start": "no cookie: the view writes a new session (session_started)",
    "refused": "a cookie with a bad signature, then a write (cookie_refused,"
    " session_started)",
}


def run_once(
    app: Flask, environ: dict[str, t.Any], scenario: str, number: int
) -> float:
    iface = app.session_interface
    request_class = app.request_class
    response_class = app.response_class
    start = time.perf_counter()
    for _ in range(number):
        request = request_class(environ.copy())
        session = iface.open_session(app, request)
        assert session is not None
        if scenario != "untouched":
            session.accessed = True
            session.get("_user_id")
        if scenario in {"write", "start", "refused"}:
            session["visits"] = 1
        response = response_class()
        iface.save_session(app, session, response)
    return (time.perf_counter() - start) / number


def run_baseline(app: Flask, environ: dict[str, t.Any], number: int) -> float:
    request_class = app.request_class
    response_class = app.response_class
    start = time.perf_counter()
    for _ in range(number):
        request = request_class(environ.copy())
        request.cookies  # noqa: B018 - parsing the header is the same for all
        response_class()
    return (time.perf_counter() - start) / number


def _receiver(sender: t.Any, **kwargs: t.Any) -> None:
    pass


def extras(rounds: int, number: int) -> None:
    """What signals and named scopes add to the default scope's requests:
    flask-scopes as is (signals sent to nobody, no named scope), with a
    no-op receiver connected to every signal, and with two named scopes
    declared that the request never touches."""
    apps = {
        "plain": make_app(None),
        "receivers": make_app(None),
        "named": make_app(None, {"prefs": {}, "cart": {"cookie_path": "/shop"}}),
    }
    print(
        f"\n{'payload':16} {'request':9} {'plain':>9} {'receivers':>12}"
        f" {'named':>9}  {'recv/plain':>10} {'named/plain':>11}"
    )
    for label, payload in [("login (3 keys)", PAYLOADS["login (3 keys)"])]:
        cookies = {name: cookie_for(app, payload) for name, app in apps.items()}
        for scenario in [*SCENARIOS, *EXTRA_SCENARIOS]:
            best = {name: float("inf") for name in apps}
            base = dict(best)
            for _ in range(rounds):
                for name, app in apps.items():
                    cookie = cookies[name]
                    if scenario == "start":
                        cookie = ""
                    elif scenario == "refused":
                        cookie = cookie[:-4] + (
                            "AAAA" if cookie[-4:] != "AAAA" else "BBBB"
                        )
                    environ = _request(app, cookie).environ
                    connected = name == "receivers"
                    if connected:
                        for signal in signals.ALL:
                            signal.connect(_receiver)
                    try:
                        with app.test_request_context():
                            cost = run_once(app, environ, scenario, number)
                            empty = run_baseline(app, environ, number)
                    finally:
                        if connected:
                            for signal in signals.ALL:
                                signal.disconnect(_receiver)
                    best[name] = min(best[name], cost)
                    base[name] = min(base[name], empty)
            net = {name: max(0.0, best[name] - base[name]) * 1e6 for name in apps}
            plain = net["plain"] or float("nan")
            print(
                f"{label:16} {scenario:9} {net['plain']:6.1f} us"
                f" {net['receivers']:9.1f} us {net['named']:6.1f} us"
                f"  {net['receivers'] / plain:10.2f} {net['named'] / plain:11.2f}"
            )
    print("\nplain: flask-scopes, its signals sent to no receiver, no named scope.")
    print("receivers: a no-op receiver connected to every signal.")
    print("named: two named session scopes declared, never touched.")
    for scenario, meaning in EXTRA_SCENARIOS.items():
        print(f"  {scenario}: {meaning}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=3000)
    parser.add_argument(
        "--extras",
        action="store_true",
        help="only the table of what signals and named scopes add",
    )
    args = parser.parse_args()
    if args.extras:
        extras(args.rounds, args.number)
        return
    cold = make_app(None)
    codec = cold.session_interface.runtime(cold).codec  # type: ignore[attr-defined]
    codec.remembered = 0
    apps = {
        "flask-scopes": make_app(None),
        "cold": cold,
        "Flask": make_app(SecureCookieSessionInterface()),
        "floor": make_app(FloorInterface()),
    }
    print(
        f"{'payload':16} {'request':9} {'flask-scopes':>12} {'cold':>9} {'Flask':>9}"
        f" {'floor':>9}  {'/Flask':>6} {'/floor':>6}  {'cold/Flask':>10}"
        f" {'cold/floor':>10}"
    )
    for label, payload in PAYLOADS.items():
        environs = {}
        for name, app in apps.items():
            data = payload
            if name == "floor":
                # The floor has no tags: it carries typed values as strings.
                data = {k: str(v) for k, v in payload.items()}
            environs[name] = _request(app, cookie_for(app, data)).environ
        for scenario in SCENARIOS:
            best = {name: float("inf") for name in apps}
            base = dict(best)
            for _ in range(args.rounds):
                for name, app in apps.items():
                    with app.test_request_context():
                        cost = run_once(app, environs[name], scenario, args.number)
                        empty = run_baseline(app, environs[name], args.number)
                    best[name] = min(best[name], cost)
                    base[name] = min(base[name], empty)
            net = {name: max(0.0, best[name] - base[name]) * 1e6 for name in apps}
            scopes, flask, floor = net["flask-scopes"], net["Flask"], net["floor"]
            print(
                f"{label:16} {scenario:9} {scopes:9.1f} us {net['cold']:6.1f} us"
                f" {flask:6.1f} us {floor:6.1f} us  {scopes / flask:6.2f}"
                f" {scopes / floor:6.2f}  {net['cold'] / flask:10.2f}"
                f" {net['cold'] / floor:10.2f}"
            )
    print("\nus: microseconds of session work per request (open, use, save),")
    print("with each implementation's own request and response construction")
    print("(cookie parsing included) measured alone and subtracted.")
    print("cold: flask-scopes with nothing remembered (SessionCodec.remembered")
    print("= 0): every cookie verified and parsed as if seen for the first time.")
    for scenario, meaning in SCENARIOS.items():
        print(f"  {scenario}: {meaning}")


if __name__ == "__main__":
    main()
