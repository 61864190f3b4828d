"""Opening a SQL store, importing SQLAlchemy only then."""

from __future__ import annotations

import typing as t

from .sql_config import check_sql_url
from .sql_config import MISSING_SQL
from .sql_config import normal_url
from .sql_config import SQLOptions


def open_sql(
    value: t.Any, clock: t.Callable[[], float] | None, options: SQLOptions | None
) -> t.Any:
    """A :class:`~flask_scopes.stores.sql.SQLSessionStore` for a database
    URL, an engine or an object holding one.

    :raises ValueError: SQLAlchemy or the driver is missing, or the table
        name is not one.
    """
    options = options or SQLOptions()
    try:
        import sqlalchemy

        from .sql import SQLSessionStore
    except ImportError:
        raise ValueError(f"a SQL store {MISSING_SQL}") from None
    if isinstance(value, str):
        check_sql_url(value)
        try:
            value = sqlalchemy.create_engine(normal_url(value))
        except ImportError as e:
            raise ValueError(
                f"the database driver for {value.split('://', 1)[0]}:// is not"
                f" installed ({e})."
            ) from None
    return SQLSessionStore(
        value, table=options.table, create_table=options.create_table, clock=clock
    )
