"""Per-request cost of server-side sessions in a SQL database.

Runs, side by side in one process, whole Flask requests through:

-   flask-scopes with ``SCOPES_SESSION_STORE`` set to a SQLAlchemy engine;
-   Flask-Session 0.8's ``SqlAlchemySessionInterface`` with its defaults
    (permanent sessions refreshed on each request, msgpack), on
    Flask-SQLAlchemy bound to the same database;

on a SQLite file and on a PostgreSQL server started for the run (Debian's
``postgresql`` package; as root it runs as the ``postgres`` user; skipped
with a note if it can't start). It counts the SQL statements each request
sends, which are its round trips.

    python benchmarks/bench_sql.py [--rounds N] [--number N]

Each figure is the best of ``--rounds`` rounds of ``--number`` requests; the
rounds interleave the implementations so that noise hits them alike.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import typing as t
import warnings
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_session.sqlalchemy import SqlAlchemySessionInterface
from flask_sqlalchemy import SQLAlchemy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test helpers, and flask_scopes from a checkout

from wsgi_requests import add_views  # noqa: E402
from wsgi_requests import environ_for  # noqa: E402
from wsgi_requests import login_cookie  # noqa: E402
from wsgi_requests import run  # noqa: E402
from wsgi_requests import SECRET  # noqa: E402

from flask_scopes import Scopes  # noqa: E402
from flask_scopes.stores.sql import metadata  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402


class Counter:
    """Counts the statements an engine sends."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements = 0
        sa.event.listen(engine, "before_cursor_execute", self.count)

    def count(self, *args: t.Any) -> None:
        self.statements += 1


def scopes_app(url: str) -> tuple[Flask, Counter]:
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, SCOPES_SESSION_STORE=engine)
    Scopes(app)
    add_views(app)
    return app, Counter(engine)


def flask_session_app(url: str, refresh: bool = True) -> tuple[Flask, Counter]:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET,
        SQLALCHEMY_DATABASE_URI=url,
        SESSION_REFRESH_EACH_REQUEST=refresh,
    )
    db = SQLAlchemy(app)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        app.session_interface = SqlAlchemySessionInterface(app, client=db)
    add_views(app)
    with app.app_context():
        return app, Counter(db.engine)


def compare(label: str, url: str, rounds: int, number: int) -> None:
    ours, ours_count = scopes_app(url)
    theirs, theirs_count = flask_session_app(url)
    lazy, lazy_count = flask_session_app(url, refresh=False)
    cookies = {
        "ours": login_cookie(ours),
        "theirs": login_cookie(theirs),
        "lazy": login_cookie(lazy),
    }
    print(f"\n{label}: whole Flask requests, best of {rounds} rounds of {number}.")
    print(
        "Flask-Session: its defaults; FS no refresh: SESSION_REFRESH_EACH_REQUEST off."
    )
    print(
        f"{'request':10} {'flask-scopes':>13} {'Flask-Session':>14} {'ratio':>6}"
        f" {'FS no refresh':>14} {'ratio':>6}   {'statements':>17}"
    )
    for path in ("untouched", "read", "write"):
        apps = {
            "ours": (ours, ours_count, environ_for(f"/{path}", cookies["ours"])),
            "theirs": (
                theirs,
                theirs_count,
                environ_for(f"/{path}", cookies["theirs"]),
            ),
            "lazy": (lazy, lazy_count, environ_for(f"/{path}", cookies["lazy"])),
        }
        best = {name: float("inf") for name in apps}
        trips = {}
        for _ in range(rounds):
            for name, (app, counter, environ) in apps.items():
                before = counter.statements
                best[name] = min(best[name], run(app, environ, number))
                trips[name] = (counter.statements - before) / number
        print(
            f"{path:10} {best['ours'] * 1e6:>10.0f} µs {best['theirs'] * 1e6:>11.0f} µs"
            f" {best['theirs'] / best['ours']:>5.2f}×"
            f" {best['lazy'] * 1e6:>11.0f} µs {best['lazy'] / best['ours']:>5.2f}×"
            f"   {trips['ours']:.1f} / {trips['theirs']:.1f} / {trips['lazy']:.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flask-scopes-bench-") as directory:
        url = f"sqlite:///{directory}/sessions.db"
        compare("SQLite file", url, args.rounds, args.number)
    try:
        server = PostgresServer()
        server.start()
    except Exception as e:  # noqa: BLE001
        print(f"\nPostgreSQL: not measured, the server could not start ({e}).")
        return
    try:
        compare(
            f"PostgreSQL 127.0.0.1:{server.port}", server.url, args.rounds, args.number
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
