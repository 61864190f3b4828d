"""The SQL store: configuration, the table, expiry and purge, outages, and
processes racing on SQLite and a real PostgreSQL server."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from flask_scopes import ConfigurationError
from flask_scopes import Scopes
from flask_scopes import SessionStoreUnavailable
from flask_scopes.stores import check_url
from flask_scopes.stores import open_store
from flask_scopes.stores.sql import metadata
from flask_scopes.stores.sql import session_table
from flask_scopes.stores.sql import sessions
from flask_scopes.stores.sql import SQLSessionStore

from . import sql_workers
from .helpers import add_sign_in_views as add_routes
from .postgres_server import postgres_url as postgres_url
from .redis_server import free_port

if t.TYPE_CHECKING:
    from pathlib import Path

    from .conftest import FakeClock

AppFactory = t.Callable[..., Flask]


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or the PostgreSQL server's."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}"
    url = t.cast(str, request.getfixturevalue("postgres_url"))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS scopes_sessions, my_sessions"))
    engine.dispose()
    return url


def rows(url: str, table: str = "scopes_sessions") -> list[t.Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(f"SELECT * FROM {table}")))
    finally:
        engine.dispose()


def store_of(app: Flask) -> SQLSessionStore:
    store = app.extensions["scopes"].interface(app).runtime(app).store
    assert isinstance(store, SQLSessionStore)
    return store


def dispose(app: Flask) -> None:
    store_of(app).engine.dispose()


# -- configuration ---------------------------------------------------------------


def test_url_store(db_url: str, make_app: AppFactory) -> None:
    app = add_routes(
        make_app(SCOPES_SESSION_STORE=db_url, SCOPES_SESSION_SQL_CREATE_TABLE=True)
    )
    client = app.test_client()
    assert client.get("/user").text == "None"
    # An untouched request creates nothing, not even the table.
    assert not sa.inspect(store_of(app).engine).has_table("scopes_sessions")
    client.get("/login/ada")
    assert client.get("/user").text == "ada"
    (row,) = [r for r in rows(db_url) if r.key.startswith("scopes:s:")]
    # The entry is JSON, not a pickle.
    assert json.loads(bytes(row.value))[3]["user"] == "ada"
    assert row.expires_at > 0
    dispose(app)


def test_table_name(db_url: str, make_app: AppFactory) -> None:
    app = add_routes(
        make_app(
            SCOPES_SESSION_STORE=db_url,
            SCOPES_SESSION_SQL_TABLE="my_sessions",
            SCOPES_SESSION_SQL_CREATE_TABLE=True,
        )
    )
    app.test_client().get("/login/ada")
    assert len(rows(db_url, "my_sessions")) == 1
    dispose(app)


@pytest.mark.parametrize(
    "name", ["", "1abc", "a b", "x;drop table y", "a.b.c", "a" * 64, 3, None]
)
def test_bad_table_name(make_app: AppFactory, tmp_path: Path, name: t.Any) -> None:
    with pytest.raises(ConfigurationError, match="SCOPES_SESSION_SQL_TABLE"):
        make_app(
            SCOPES_SESSION_STORE=f"sqlite:///{tmp_path}/s.db",
            SCOPES_SESSION_SQL_TABLE=name,
        )


def test_missing_table_is_a_503(make_app: AppFactory, tmp_path: Path) -> None:
    app = add_routes(make_app(SCOPES_SESSION_STORE=f"sqlite:///{tmp_path}/s.db"))
    response = app.test_client().get("/login/ada")
    assert response.status_code == 503
    assert "session" not in response.headers.get("Set-Cookie", "")
    dispose(app)


def test_engine_and_flask_sqlalchemy(make_app: AppFactory, tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/engine.db")
    metadata.create_all(engine)
    app = add_routes(make_app(SCOPES_SESSION_STORE=engine))
    client = app.test_client()
    client.get("/login/ada")
    assert client.get("/user").text == "ada"
    engine.dispose()

    db = SQLAlchemy()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="x",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/fsa.db",
        SCOPES_SESSION_STORE=db,
        SCOPES_SESSION_SQL_CREATE_TABLE=True,
    )
    db.init_app(app)
    Scopes().init_app(app)
    add_routes(app)
    client = app.test_client()
    client.get("/login/bob")
    assert client.get("/user").text == "bob"
    assert store_of(app).describe() == "SQL table scopes_sessions at SQLAlchemy"
    with app.app_context():
        assert "fsa.db" in store_of(app).describe()
        db.engine.dispose()


def test_urls(tmp_path: Path) -> None:
    check_url("sqlite:///sessions.db")
    check_url("postgresql+psycopg://u:p@h/db")
    check_url("mysql+pymysql://u:p@h/db")
    with pytest.raises(ValueError, match="database URL"):
        check_url("postgresql://u:p@h:notaport/db")
    store = open_store("postgres://u:secret@127.0.0.1:1/db")
    assert store.describe().startswith("SQL table scopes_sessions at postgresql://")
    assert "secret" not in store.describe()
    with pytest.raises(ValueError, match="driver"):
        open_store("mysql+pymysql://u:p@h/db")


def test_without_sqlalchemy() -> None:
    code = (
        "import sys; sys.modules['sqlalchemy'] = None\n"
        "from flask_scopes.stores import check_url\n"
        "try:\n    check_url('sqlite:///x.db')\n"
        "except ValueError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "pip install 'flask-scopes[sql]'" in out.stdout


def test_table_definition() -> None:
    table = session_table(sa.MetaData(), "auth.sessions")
    assert table.fullname == "auth.sessions"
    assert [c.name for c in table.columns] == ["key", "value", "expires_at"]
    assert [c.name for c in table.primary_key] == ["key"]
    assert [[c.name for c in i.columns] for i in table.indexes] == [["expires_at"]]
    assert sessions.metadata is metadata
    my = str(CreateTable(sessions).compile(dialect=mysql.dialect()))
    assert "CHARACTER SET ascii COLLATE ascii_bin" in my and "BLOB(16777215)" in my
    pg = str(CreateTable(sessions).compile(dialect=postgresql.dialect()))
    assert "BYTEA" in pg and "BIGINT" in pg


# -- expiry and purge -----------------------------------------------------------


def test_expired_rows_are_never_served(db_url: str, clock: FakeClock) -> None:
    store = SQLSessionStore(sa.create_engine(db_url), create_table=True, clock=clock)
    store.set("s:a", b"1", 10)
    clock.advance(10)
    assert store.get("s:a") is None
    assert len(rows(db_url)) == 1
    assert store.purge_expired() == 1
    assert rows(db_url) == []
    store.engine.dispose()


def test_purge_in_batches(db_url: str, make_app: AppFactory, clock: FakeClock) -> None:
    app = make_app(SCOPES_SESSION_STORE=db_url, SCOPES_SESSION_SQL_CREATE_TABLE=True)
    store = store_of(app)
    store.purge_batch = 100
    for i in range(250):
        store.set(f"s:old{i}", b"1", 10)
    store.set("s:live", b"2", 1000)
    clock.advance(10)
    deleted: list[int] = []

    @sa.event.listens_for(store.engine, "after_cursor_execute")
    def count(
        conn: t.Any,
        cursor: t.Any,
        statement: str,
        parameters: t.Any,
        context: t.Any,
        executemany: bool,
    ) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deleted.append(cursor.rowcount)

    result = app.test_cli_runner().invoke(args=["scopes", "purge"])
    sa.event.remove(store.engine, "after_cursor_execute", count)
    assert result.exit_code == 0, result.output
    assert "removed 250 expired entries" in result.output
    # One DELETE per batch, none of them over the bound.
    assert deleted == [100, 100, 50]
    assert [r.key for r in rows(db_url)] == ["scopes:s:live"]
    dispose(app)


# -- outages ----------------------------------------------------------------------


def test_unreachable_database(make_app: AppFactory) -> None:
    url = f"postgresql+psycopg://u:secret@127.0.0.1:{free_port()}/db?connect_timeout=2"
    app = add_routes(make_app(SCOPES_SESSION_STORE=url))
    client = app.test_client()
    response = client.get("/login/ada")
    assert response.status_code == 503
    assert "secret" not in response.text
    with pytest.raises(SessionStoreUnavailable, match="127.0.0.1"):
        store_of(app).get("s:x")
    dispose(app)


def test_database_stopped_midway(make_app: AppFactory, tmp_path: Path) -> None:
    app = add_routes(
        make_app(
            SCOPES_SESSION_STORE=f"sqlite:///{tmp_path}/s.db",
            SCOPES_SESSION_SQL_CREATE_TABLE=True,
        )
    )
    client = app.test_client()
    client.get("/login/ada")
    # The table goes away, as with a dropped or unreadable database: an
    # outage, not a signed-out user.
    with store_of(app).engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE scopes_sessions"))
    assert client.get("/user").status_code == 503
    dispose(app)


# -- processes racing -------------------------------------------------------------


def _run(*processes: t.Any) -> None:
    for p in processes:
        p.start()
    for p in processes:
        p.join(120)
        assert p.exitcode == 0


@pytest.mark.parametrize("race", ["in-step", "free"])
def test_sign_out_wins_across_processes(db_url: str, race: str) -> None:
    app = sql_workers.make_app(db_url)
    client = app.test_client()
    client.get("/login/ada")
    found = client.get_cookie("session")
    assert found is not None
    cookie = found.value
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    if race == "in-step":
        loaded, signed_out = ctx.Event(), ctx.Event()
        _run(
            ctx.Process(
                target=sql_workers.save_late,
                args=(db_url, cookie, loaded, signed_out, out),
            ),
            ctx.Process(
                target=sql_workers.sign_out, args=(db_url, cookie, loaded, signed_out)
            ),
        )
        headers = out.get(10)
        # The late save wrote nothing, and left the browser's cookie alone.
        assert headers == []
    else:
        # The other process saves again and again while this one signs out:
        # sign-out starts once one of its saves found the session signed in.
        started = ctx.Event()
        saver = ctx.Process(
            target=sql_workers.save_often, args=(db_url, cookie, 20, started, out)
        )
        saver.start()
        assert started.wait(60)
        assert client.get("/logout").status_code == 200
        seen = out.get(120)
        saver.join(120)
        assert saver.exitcode == 0
        assert {status for status, _ in seen} == {200}
        found = [signed_in for _, signed_in in seen]
        # Signed in until the sign-out, then signed out for good: no save
        # that loaded the session before it brought the session back.
        ended = found.index(False)
        assert ended >= 1
        assert not any(found[ended:]) and len(found) - ended >= 20
    assert [r for r in rows(db_url) if r.key.startswith("scopes:s:")] == []
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/user").text == "None"
    dispose(app)


def test_one_creation_per_id_across_processes(db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    out, barrier = ctx.Queue(), ctx.Barrier(2)
    rounds = 30
    _run(
        *(
            ctx.Process(
                target=sql_workers.add_race, args=(db_url, rounds, barrier, out)
            )
            for _ in range(2)
        )
    )
    first, second = out.get(10), out.get(10)
    assert [a + b for a, b in zip(first, second, strict=True)] == [1] * rounds
    assert len(rows(db_url)) == rounds


# -- round trips ------------------------------------------------------------------


@pytest.mark.postgres
def test_one_round_trip_per_operation(postgres_url: str, tmp_path: Path) -> None:
    """Each operation is one exchange with the server (one ``Sync`` in
    psycopg's protocol trace): no ``BEGIN``, ``COMMIT`` or ``ROLLBACK``."""
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS scopes_sessions"))
    store = SQLSessionStore(engine, create_table=True)
    store.set("s:a", b"1", 60)
    trace = tmp_path / "trace"

    with open(trace, "w") as f:

        @sa.event.listens_for(engine, "checkout")
        def traced(dbapi_conn: t.Any, record: t.Any, proxy: t.Any) -> None:
            dbapi_conn.pgconn.trace(f.fileno())

        counts = {}
        for name, operation in [
            ("get", lambda: store.get("s:a")),
            ("get_many", lambda: store.get_many("s:a", "u:b")),
            ("replace", lambda: store.replace("s:a", b"2", 60)),
            ("add", lambda: store.add("s:b", b"3", 60)),
            ("delete", lambda: store.delete("s:b")),
            ("set", lambda: store.set("u:c", b"4", 60)),
        ]:
            f.flush()
            before = trace.read_text().count("\tSync")
            operation()
            f.flush()
            counts[name] = trace.read_text().count("\tSync") - before
        sa.event.remove(engine, "checkout", traced)
        # Close the traced connections while the trace file is open.
        engine.dispose()
    assert counts == dict.fromkeys(counts, 1)
    assert "BEGIN" not in trace.read_text()


def test_an_engine_attribute_that_is_no_engine_is_a_configuration_error(
    make_app: t.Callable[..., Flask],
) -> None:
    class Holder:
        engine = "sqlite://"

    app = make_app(SCOPES_SESSION_STORE=Holder())

    @app.get("/set")
    def set_value() -> str:
        from flask import session

        session["a"] = 1
        return "ok"

    with pytest.raises(ConfigurationError, match=r"Holder\.engine is str"):
        app.test_client().get("/set")


def test_a_sql_store_names_the_key_it_was_configured_under(
    make_app: t.Callable[..., Flask],
) -> None:
    class Holder:
        engine = "sqlite://"

    app = make_app(SCOPES_REVOCATION_STORE=Holder())
    runtime = app.extensions["scopes"].interface(app).runtime(app)
    store = runtime.revocations.store
    with app.app_context(), pytest.raises(ConfigurationError) as info:
        store.get("u:{x}")
    assert info.value.key == "SCOPES_REVOCATION_STORE"
    assert "SCOPES_SESSION_STORE" not in str(info.value)
