"""Per-request cost of encrypting the session cookie, beside signing only.

Runs flask-scopes with signed cookies, flask-scopes with
``SCOPES_SESSION_ENCRYPT = True`` (AES-256-GCM) and, for reference, Flask's
built-in ``SecureCookieSessionInterface`` side by side in one process, on
the same payloads, and prints the cost of each and the ratios between them.
Needs ``cryptography`` (``pip install -e ".[crypto]"``). From the project's
root:

    python benchmarks/bench_crypto.py [--rounds N] [--number N]

Scenarios: ``read`` opens the cookie (decrypting or verifying it) and reads
one key; ``write`` also sets a key, so the response seals or signs a new
cookie. Each row is the best of ``--rounds`` rounds of ``--number``
requests, the rounds interleaving the implementations so that noise hits
them alike; the cost of building the request and response objects is
measured alone and subtracted, as in ``bench_session.py``.
"""

from __future__ import annotations

import argparse
import typing as t

from bench_session import _request
from bench_session import cookie_for
from bench_session import PAYLOADS
from bench_session import run_baseline
from bench_session import run_once
from bench_session import SECRET
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from flask_scopes import Scopes

#: The shared payloads, and one large enough that the signed cookie is
#: compressed: encrypted cookies are not (see ``compress_threshold``).
CRYPTO_PAYLOADS: dict[str, dict[str, t.Any]] = {
    **PAYLOADS,
    "2 KB of text": {"_user_id": "42", "draft": "Lorem ipsum dolor sit amet. " * 72},
}

SCENARIOS = {
    "read": "the view reads one key",
    "write": "the view reads one key and sets another",
}


def make_app(mode: str) -> Flask:
    app = Flask(__name__)
    app.secret_key = SECRET
    if mode == "Flask":
        app.session_interface = SecureCookieSessionInterface()
    else:
        app.config["SCOPES_SESSION_ENCRYPT"] = mode == "encrypted"
        Scopes(app)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=3000)
    args = parser.parse_args()
    apps = {mode: make_app(mode) for mode in ("signed", "encrypted", "Flask")}
    print(
        f"{'payload':16} {'request':8} {'signed':>9} {'encrypted':>10}"
        f" {'Flask':>9}   {'enc/signed':>10} {'enc/Flask':>9}   {'bytes s/e':>10}"
    )
    for label, payload in CRYPTO_PAYLOADS.items():
        environs: dict[str, dict[str, t.Any]] = {}
        sizes: dict[str, int] = {}
        for name, app in apps.items():
            value = cookie_for(app, payload)
            sizes[name] = len(value)
            environs[name] = _request(app, value).environ
        assert environs["encrypted"]["HTTP_COOKIE"].startswith("session=e1.")
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
            print(
                f"{label:16} {scenario:8}"
                f" {net['signed']:6.1f} us {net['encrypted']:7.1f} us"
                f" {net['Flask']:6.1f} us"
                f"   {net['encrypted'] / net['signed']:10.2f}"
                f" {net['encrypted'] / net['Flask']:9.2f}"
                f"   {sizes['signed']:>5}/{sizes['encrypted']}"
            )
    print("\nus: microseconds of session work per request (open, use, save),")
    print("with each implementation's own request and response construction")
    print("(cookie parsing included) measured alone and subtracted.")
    print("bytes s/e: length of the signed and the encrypted cookie value.")
    for scenario, meaning in SCENARIOS.items():
        print(f"  {scenario}: {meaning}")


if __name__ == "__main__":
    main()
