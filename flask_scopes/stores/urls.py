"""Building a store from a configured value: a URL, a cachelib cache, a
client, an engine or a store.
"""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qsl
from urllib.parse import unquote
from urllib.parse import urlencode
from urllib.parse import urlsplit

from cachelib import BaseCache
from cachelib import FileSystemCache
from cachelib import RedisCache
from cachelib import SimpleCache
from cachelib.redis_base import BaseRedisCache

from .base import SessionStore
from .contract import BaseSessionStore
from .filesystem import FileSystemSessionStore
from .redis_store import RedisSessionStore
from .redis_urls import check_redis_url
from .redis_urls import client_from_url
from .redis_urls import is_redis_client
from .redis_urls import SCHEMES as REDIS_SCHEMES
from .sql_config import check_sql_url
from .sql_config import is_sql_bind
from .sql_config import is_sql_url
from .sql_config import SQL_DIALECTS
from .sql_config import SQLOptions
from .sql_open import open_sql

#: The URL schemes :func:`open_store` understands, besides database URLs
#: (:data:`~flask_scopes.stores.sql_config.SQL_DIALECTS`).
#:
#: .. versionchanged:: 0.2
#:     Redis Cluster, Sentinel and Valkey schemes.
URL_SCHEMES = (*REDIS_SCHEMES, "file", "simple")


def is_store_value(value: object) -> bool:
    """Whether :func:`open_store` takes ``value`` as it is, not as a URL: a
    store, a cachelib cache, a Redis or Valkey client, or a SQLAlchemy
    engine or an object holding one.

    .. versionadded:: 0.2
    """
    return (
        isinstance(value, (BaseCache, BaseSessionStore))
        or is_redis_client(value)
        or is_sql_bind(value)
    )


def check_store_value(value: object) -> None:
    """Check a configured :data:`SCOPES_SESSION_STORE` or
    :data:`SCOPES_REVOCATION_STORE` value, without opening anything.

    :raises ValueError: Why it can't be used.

    .. versionadded:: 0.2
    """
    if value is None or is_store_value(value):
        return
    if isinstance(value, str):
        check_url(value)
        return
    raise ValueError(
        "must be None, a cachelib cache, a Redis client, a SessionStore, a"
        " SQLAlchemy engine or a URL such as 'redis://localhost:6379/0' or"
        f" 'sqlite:///sessions.db', not {value!r}."
    )


def purge_expired(store: BaseSessionStore) -> int:
    """Remove the expired entries of a store that does not remove them by
    itself (:class:`FileSystemSessionStore`, the SQL store); the others do
    nothing.

    :returns: How many entries were removed.
    """
    return store.purge_expired()


# -- building a store ------------------------------------------------------


def check_url(url: str) -> None:
    """Check that ``url`` names a store :func:`store_from_url` can build.

    :raises ValueError: Why it can't.
    """
    if is_sql_url(url):
        check_sql_url(url)
        return
    scheme = _scheme(url)
    if scheme not in URL_SCHEMES:
        raise ValueError(
            f"{url.split(':', 1)[0]!r} is not a known store URL scheme; use one"
            f" of {', '.join(f'{s}://' for s in URL_SCHEMES)}, a database URL"
            f" ({', '.join(f'{s}://' for s in SQL_DIALECTS)}) or a cachelib cache."
        )
    if scheme in REDIS_SCHEMES:
        check_redis_url(url)
        return
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValueError(
                f"{url!r}: write a file URL with an absolute path, such as"
                " file:///var/lib/myapp/sessions."
            )


def _scheme(url: str) -> str:
    """The scheme of ``url``, in lower case: what comes before the first
    ``:``, so that ``unix:/path`` and ``file:/path`` are read as
    ``unix:///path`` and ``file:///path`` are."""
    scheme, colon, _ = url.partition(":")
    return scheme.lower() if colon else ""


def store_from_url(
    url: str,
    *,
    clock: t.Callable[[], float] | None = None,
    sql: SQLOptions | None = None,
) -> BaseSessionStore:
    """Build a store from a URL, for configuration from the environment.

    -   ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS)
        and ``unix:///path/to/redis.sock``: a :class:`~cachelib.RedisCache`.
        Query arguments go to the client, except ``key_prefix``, which goes
        to the cache. Socket timeouts default to 5 seconds.
    -   ``redis+cluster://host:port[,host:port...]``: a Redis Cluster.
    -   ``redis+sentinel://host:port[,host:port...]/service_name[/db]``: the
        primary of a service monitored by Sentinel.
    -   ``valkey://``, ``valkeys://``, ``valkey+cluster://``,
        ``valkey+sentinel://``...: the same on Valkey, with the ``valkey``
        client if it is installed, else ``redis``.
    -   ``file:///absolute/path``: a :class:`~cachelib.FileSystemCache` in
        that directory, created if needed.
    -   ``simple://``: a :class:`~cachelib.SimpleCache` in this process, for
        development and tests; ``?threshold=N`` caps it (default 1,000,000).
    -   a SQLAlchemy database URL, ``dialect[+driver]://...`` (``sqlite``,
        ``postgresql``, ``mysql``, ``mariadb``, ``mssql``, ``oracle``; and
        ``postgres``, read as ``postgresql``): a
        :class:`~flask_scopes.stores.sql.SQLSessionStore` set up by ``sql``.

    :raises ValueError: The URL can't be used.

    .. versionchanged:: 0.2
        Database URLs, and the ``sql`` argument.
    """
    check_url(url)
    if is_sql_url(url):
        return t.cast(BaseSessionStore, open_sql(url, clock, sql))
    if _scheme(url) in REDIS_SCHEMES:
        return _redis_store(url, clock)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme == "file":
        return FileSystemSessionStore(
            FileSystemCache(unquote(parts.path), threshold=0), clock=clock
        )
    if parts.scheme == "simple":
        threshold = int(query.get("threshold", 1_000_000))
        return SessionStore(SimpleCache(threshold=threshold), clock=clock)
    raise AssertionError(url)  # pragma: no cover: check_url refused it


def _redis_store(url: str, clock: t.Callable[[], float] | None) -> SessionStore:
    base, _, query = url.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    key_prefix = "".join(v for k, v in pairs if k == "key_prefix")
    rest = [(k, v) for k, v in pairs if k != "key_prefix"]
    client = client_from_url(f"{base}?{urlencode(rest)}" if rest else base)
    return RedisSessionStore(RedisCache(client, key_prefix=key_prefix), clock=clock)


def open_store(
    value: t.Any,
    *,
    clock: t.Callable[[], float] | None = None,
    sql: SQLOptions | None = None,
) -> BaseSessionStore:
    """The store for a configured value: a :class:`BaseSessionStore` as it
    is, a cachelib cache wrapped in the right kind of store, a Redis or
    Valkey client (of one server, a Sentinel primary or a Cluster), a
    SQLAlchemy engine or an object holding one as ``engine``
    (Flask-SQLAlchemy's ``db``), or a URL.

    :param sql: How a SQL store is set up.
    :raises ValueError: The value can't be used.

    .. versionchanged:: 0.2
        Any :class:`BaseSessionStore`, clients, SQL engines and the ``sql``
        argument.
    """
    if isinstance(value, BaseSessionStore):
        return value
    if isinstance(value, str):
        return store_from_url(value, clock=clock, sql=sql)
    if isinstance(value, BaseRedisCache):
        return RedisSessionStore(value, clock=clock)
    if isinstance(value, FileSystemCache):
        return FileSystemSessionStore(value, clock=clock)
    if isinstance(value, BaseCache):
        return SessionStore(value, clock=clock)
    if is_redis_client(value):
        return RedisSessionStore(RedisCache(value), clock=clock)
    if is_sql_bind(value):
        return t.cast(BaseSessionStore, open_sql(value, clock, sql))
    raise ValueError(
        "must be None, a cachelib cache, a Redis client, a SessionStore, a"
        f" SQLAlchemy engine or a URL string, not {type(value).__name__}."
    )
