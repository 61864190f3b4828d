"""Sessions in a SQL database, through SQLAlchemy 2 (``flask-scopes[sql]``).

One table holds every entry::

    CREATE TABLE scopes_sessions (
        key VARCHAR(255) NOT NULL PRIMARY KEY,  -- ASCII, compared byte for byte
        value BLOB NOT NULL,                    -- the entry: JSON, as bytes
        expires_at BIGINT NOT NULL              -- Unix time, in seconds
    );
    CREATE INDEX ix_scopes_sessions_expires_at ON scopes_sessions (expires_at);

:func:`session_table` defines it on a :class:`~sqlalchemy.MetaData` of your
own, such as the one Alembic's ``env.py`` reads, and :data:`metadata` holds
it under its default name.
"""

from __future__ import annotations

import threading
import time
import typing as t

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from ..errors import ConfigurationError
from ..errors import SessionStoreUnavailable
from .contract import BaseSessionStore
from .sql_config import check_table_name as check_table_name
from .sql_config import DEFAULT_TABLE as DEFAULT_TABLE
from .sql_config import is_sql_bind

#: The largest value a row holds, in bytes (a MySQL ``MEDIUMBLOB``).
MAX_VALUE_SIZE = 16 * 1024 * 1024 - 1

#: Dialects with ``INSERT ... ON CONFLICT``, which makes :meth:`add` one
#: statement.
_ON_CONFLICT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def session_table(metadata: sa.MetaData, name: str = DEFAULT_TABLE) -> sa.Table:
    """Define the sessions table on ``metadata``, for
    ``metadata.create_all()`` or an Alembic migration.

    :param metadata: Where to define it, such as Flask-SQLAlchemy's
        ``db.metadata``.
    :param name: The table's name, optionally ``schema.table``.

    .. versionadded:: 0.2
    """
    check_table_name(name)
    schema, _, table = name.rpartition(".")
    key_type = sa.String(255).with_variant(
        mysql.VARCHAR(255, charset="ascii", collation="ascii_bin"), "mysql", "mariadb"
    )
    return sa.Table(
        table,
        metadata,
        sa.Column("key", key_type, primary_key=True),
        sa.Column("value", sa.LargeBinary(MAX_VALUE_SIZE), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
        schema=schema or None,
    )


#: A :class:`~sqlalchemy.MetaData` holding the table under its default name.
metadata = sa.MetaData()
#: The table under its default name, :data:`DEFAULT_TABLE`.
sessions = session_table(metadata)


class SQLSessionStore(BaseSessionStore):
    """Entries as rows of one table, through a SQLAlchemy
    :class:`~sqlalchemy.engine.Engine`.

    Each operation is one statement, committed by itself (the store's
    connections run in autocommit mode), so one round trip: reads filter on
    ``expires_at``, so an expired row is never served, even before
    ``flask scopes purge`` deletes it. :meth:`add` is an ``INSERT`` that
    fails on the primary key (with ``ON CONFLICT`` on PostgreSQL and
    SQLite, to take over an expired row); :meth:`replace` and
    :meth:`delete` are an ``UPDATE`` and a ``DELETE`` of a live row, whose
    row count says whether it was there.

    Database errors (:exc:`sqlalchemy.exc.DBAPIError`, a pool timeout)
    become :exc:`~flask_scopes.SessionStoreUnavailable`.

    :param bind: An :class:`~sqlalchemy.engine.Engine`, or an object with an
        ``engine`` attribute, such as Flask-SQLAlchemy's ``db``, read on
        each use (in the app's context).
    :param table: The table's name, optionally ``schema.table``.
    :param create_table: Create the table, if missing, on first use.
    :param clock: Returns the current Unix time, which sets and checks
        ``expires_at``.
    :param purge_batch: How many rows :meth:`purge_expired` deletes per
        transaction.

    .. versionadded:: 0.2
    """

    expires_by_itself = False
    errors = (exc.DBAPIError, exc.TimeoutError, OSError)

    def __init__(
        self,
        bind: t.Any,
        *,
        table: str = DEFAULT_TABLE,
        create_table: bool = False,
        clock: t.Callable[[], float] | None = None,
        purge_batch: int = 1000,
    ) -> None:
        if not is_sql_bind(bind):
            raise ValueError(
                "must be a SQLAlchemy Engine or an object with an engine"
                f" attribute, not {type(bind).__name__}."
            )
        self.bind = bind
        #: The table, on a :class:`~sqlalchemy.MetaData` of its own.
        self.table = (
            sessions if table == DEFAULT_TABLE else session_table(sa.MetaData(), table)
        )
        self.create_table = create_table
        self.clock: t.Callable[[], float] = clock or time.time
        self.purge_batch = purge_batch
        #: Whether :meth:`add` is one ``INSERT ... ON CONFLICT`` statement,
        #: decided by the dialect; otherwise it deletes an expired row first.
        self.native_add: bool | None = None
        self._ready = not create_table
        self._autocommit: tuple[sa.Engine, sa.Engine] | None = None
        self._lock = threading.Lock()
        c = self.table.c
        self._get = sa.select(c.value).where(
            c.key == sa.bindparam("k"), c.expires_at > sa.bindparam("now")
        )
        self._get_many = sa.select(c.key, c.value).where(
            c.key.in_(sa.bindparam("ks", expanding=True)),
            c.expires_at > sa.bindparam("now"),
        )
        self._replace = (
            self.table.update()
            .where(c.key == sa.bindparam("k"), c.expires_at > sa.bindparam("now"))
            .values(value=sa.bindparam("v"), expires_at=sa.bindparam("e"))
        )
        self._delete = self.table.delete().where(
            c.key == sa.bindparam("k"), c.expires_at > sa.bindparam("now")
        )
        self._drop_expired = self.table.delete().where(
            c.key == sa.bindparam("k"), c.expires_at <= sa.bindparam("now")
        )

    @property
    def engine(self) -> sa.Engine:
        """The engine: the one given, or the given object's ``engine``."""
        bind = self.bind
        if isinstance(bind, sa.Engine):
            return bind
        engine = bind.engine
        if not isinstance(engine, sa.Engine):
            raise ConfigurationError(
                self.setting,
                f"{type(bind).__name__}.engine is {type(engine).__name__}, not a"
                " SQLAlchemy Engine: give the engine, a URL, or Flask-SQLAlchemy's"
                " db.",
            )
        return engine

    def describe(self) -> str:
        try:
            url = self.engine.url.render_as_string(hide_password=True)
        except RuntimeError:
            # Flask-SQLAlchemy's db.engine outside an app context.
            url = type(self.bind).__name__
        return f"SQL table {self.table.fullname} at {url}"

    def _connect(self) -> sa.Connection:
        engine = self.engine
        if not self._ready:
            self._create(engine)
        cached = self._autocommit
        if cached is None or cached[0] is not engine:
            # Each statement commits by itself: no BEGIN, COMMIT or
            # ROLLBACK round trips around it.
            cached = (engine, engine.execution_options(isolation_level="AUTOCOMMIT"))
            self._autocommit = cached
        return cached[1].connect()

    def _create(self, engine: sa.Engine) -> None:
        with self._lock:
            if self._ready:
                return
            try:
                self.table.create(engine, checkfirst=True)
            except exc.DBAPIError:
                # Another process created it between the check and the
                # CREATE: fine if it is there now.
                if not sa.inspect(engine).has_table(
                    self.table.name, schema=self.table.schema
                ):
                    raise
            self._ready = True

    def _now(self) -> int:
        return int(self.clock())

    # -- operations ----------------------------------------------------------

    def get(self, name: str) -> bytes | None:
        with self.guard("load"), self._connect() as conn:
            value = conn.execute(
                self._get, {"k": self.key(name), "now": self._now()}
            ).scalar()
        return bytes(value) if value is not None else None

    def get_many(self, *names: str) -> list[bytes | None]:
        keys = [self.key(name) for name in names]
        with self.guard("load"), self._connect() as conn:
            rows = conn.execute(self._get_many, {"ks": keys, "now": self._now()})
            found = {key: bytes(value) for key, value in rows}
        return [found.get(key) for key in keys]

    def set(self, name: str, value: bytes, ttl: int) -> None:
        key, expires = self.key(name), self._now() + self._ttl(ttl)
        with self.guard("save"), self._connect() as conn:
            insert = self._insert(conn)
            if insert is not None:
                statement = insert.values(key=key, value=value, expires_at=expires)
                conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=[self.table.c.key],
                        set_=_from_excluded(statement),
                    )
                )
            else:
                self._set_portably(conn, key, value, expires)

    def _set_portably(
        self, conn: sa.Connection, key: str, value: bytes, expires: int
    ) -> None:
        update = self.table.update().where(self.table.c.key == key)
        for _ in range(3):
            done = conn.execute(update.values(value=value, expires_at=expires))
            if done.rowcount:
                return
            try:
                conn.execute(
                    self.table.insert().values(key=key, value=value, expires_at=expires)
                )
                return
            except exc.IntegrityError:
                continue
        raise SessionStoreUnavailable(
            "save", f"{self.describe()}, where the row kept changing"
        )

    def add(self, name: str, value: bytes, ttl: int) -> bool:
        key, now = self.key(name), self._now()
        expires = now + self._ttl(ttl)
        with self.guard("save"), self._connect() as conn:
            insert = self._insert(conn)
            if insert is not None:
                # Inserts, or takes over an expired row; a live one is left
                # as it is and no row is counted.
                statement = insert.values(key=key, value=value, expires_at=expires)
                done = conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=[self.table.c.key],
                        set_=_from_excluded(statement),
                        where=self.table.c.expires_at <= now,
                    ),
                    execution_options={"preserve_rowcount": True},
                )
                return done.rowcount == 1
            conn.execute(self._drop_expired, {"k": key, "now": now})
            try:
                conn.execute(
                    self.table.insert().values(key=key, value=value, expires_at=expires)
                )
            except exc.IntegrityError:
                return False
            return True

    def _insert(self, conn: sa.Connection) -> t.Any:
        """``INSERT ... ON CONFLICT`` for the dialects in :data:`_ON_CONFLICT`,
        else ``None``."""
        if self.native_add is None:
            self.native_add = conn.dialect.name in _ON_CONFLICT
        if not self.native_add:
            return None
        return _ON_CONFLICT[conn.dialect.name](self.table)

    def replace(self, name: str, value: bytes, ttl: int) -> bool:
        now = self._now()
        params = {
            "k": self.key(name),
            "v": value,
            "e": now + self._ttl(ttl),
            "now": now,
        }
        with self.guard("save"), self._connect() as conn:
            done = conn.execute(self._replace, params)
        return bool(done.rowcount == 1)

    def delete(self, name: str) -> bool:
        with self.guard("save"), self._connect() as conn:
            done = conn.execute(self._delete, {"k": self.key(name), "now": self._now()})
        return bool(done.rowcount == 1)

    def purge_expired(self) -> int:
        """Delete expired rows, :attr:`purge_batch` at a time, each batch in
        its own transaction, so that no lock is held for long."""
        c = self.table.c
        now = self._now()
        removed = 0
        with self.guard("purge"), self._connect() as conn:
            while True:
                keys = list(
                    conn.execute(
                        sa.select(c.key)
                        .where(c.expires_at <= now)
                        .limit(self.purge_batch)
                    ).scalars()
                )
                if not keys:
                    break
                done = conn.execute(
                    self.table.delete().where(c.key.in_(keys), c.expires_at <= now)
                )
                removed += done.rowcount
                if len(keys) < self.purge_batch:
                    break
        return removed


def _from_excluded(statement: t.Any) -> dict[str, t.Any]:
    """What ``ON CONFLICT DO UPDATE`` writes over the row: the values the
    ``INSERT`` proposed (PostgreSQL's and SQLite's ``excluded``), bound once."""
    excluded = statement.excluded
    return {"value": excluded.value, "expires_at": excluded.expires_at}
