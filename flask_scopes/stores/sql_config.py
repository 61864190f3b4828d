"""Recognising a SQL store's configuration, without importing SQLAlchemy."""

from __future__ import annotations

import re
import sys
import typing as t
from dataclasses import dataclass

from ..errors import ConfigurationError

#: The SQLAlchemy dialects whose URLs (``dialect[+driver]://...``) name a
#: SQL store.
SQL_DIALECTS = (
    "sqlite",
    "postgresql",
    "postgres",
    "mysql",
    "mariadb",
    "mssql",
    "oracle",
)

MISSING_SQL = "needs SQLAlchemy: pip install 'flask-scopes[sql]'."
#: The default name of the table.
DEFAULT_TABLE = "scopes_sessions"


@dataclass(frozen=True)
class SQLOptions:
    """How a SQL store is set up, from configuration.

    .. versionadded:: 0.2
    """

    #: :data:`SCOPES_SESSION_SQL_TABLE`.
    table: str = DEFAULT_TABLE
    #: :data:`SCOPES_SESSION_SQL_CREATE_TABLE`.
    create_table: bool = False

    #: The configuration keys and their defaults.
    DEFAULTS: t.ClassVar[dict[str, t.Any]] = {
        "SCOPES_SESSION_SQL_TABLE": DEFAULT_TABLE,
        "SCOPES_SESSION_SQL_CREATE_TABLE": False,
    }

    @classmethod
    def from_config(cls, get: t.Callable[[str], t.Any]) -> SQLOptions:
        """Read and check the options.

        :param get: Returns a configuration key's value, or its default.
        :raises ConfigurationError: The table name is not one.
        """
        table = get("SCOPES_SESSION_SQL_TABLE")
        try:
            check_table_name(table)
        except ValueError as e:
            raise ConfigurationError("SCOPES_SESSION_SQL_TABLE", str(e)) from None
        return cls(table, bool(get("SCOPES_SESSION_SQL_CREATE_TABLE")))


_TABLE_NAME = re.compile(
    r"(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}"
)


def is_table_name(value: object) -> bool:
    """Whether ``value`` is a table name: letters, digits and ``_``,
    optionally after a schema name and a dot."""
    return isinstance(value, str) and _TABLE_NAME.fullmatch(value) is not None


def check_table_name(name: object) -> None:
    """Check a table name: letters, digits and ``_``, optionally after a
    schema name and a dot.

    :raises ValueError: It is not such a name.
    """
    if not is_table_name(name):
        raise ValueError(
            f"{name!r} is not a table name: use letters, digits and _, with an"
            " optional schema name and a dot before it."
        )


def is_sql_url(url: str) -> bool:
    """Whether ``url`` is a SQLAlchemy database URL."""
    scheme = url.partition("://")[0] if "://" in url else ""
    return scheme.partition("+")[0].lower() in SQL_DIALECTS


def is_sql_bind(value: object) -> bool:
    """Whether ``value`` is a SQLAlchemy engine, or holds one as ``engine``
    (Flask-SQLAlchemy's ``db``), without reading that attribute, which may
    need an app context."""
    engine_module = sys.modules.get("sqlalchemy.engine")
    engine_type = getattr(engine_module, "Engine", None)
    if isinstance(engine_type, type) and isinstance(value, engine_type):
        return True
    if isinstance(value, (str, bytes)):
        return False
    return getattr(type(value), "engine", None) is not None or "engine" in getattr(
        value, "__dict__", {}
    )


def check_sql_url(url: str) -> None:
    """Check a SQL store URL and that SQLAlchemy is installed.

    :raises ValueError: Why it can't be used.
    """
    try:
        from sqlalchemy.engine import make_url
    except ImportError:
        raise ValueError(f"{url.split('://', 1)[0]}:// {MISSING_SQL}") from None
    try:
        make_url(normal_url(url))
    except Exception as e:  # ArgumentError, ValueError
        raise ValueError(f"not a database URL: {e}") from None


def normal_url(url: str) -> str:
    # SQLAlchemy dropped the postgres:// spelling that hosts still hand out.
    if url.startswith("postgres://") or url.startswith("postgres+"):
        return "postgresql" + url[len("postgres") :]
    return url
