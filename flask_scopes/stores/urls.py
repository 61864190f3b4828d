"""Building a store from a configured value: a URL, a cachelib cache or a
store.
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
from .filesystem import FileSystemSessionStore
from .redis_store import RedisSessionStore
from .redis_urls import check_redis_url
from .redis_urls import client_from_url
from .redis_urls import is_redis_client
from .redis_urls import SCHEMES as REDIS_SCHEMES

#: The URL schemes :func:`open_store` understands.
#:
#: .. versionchanged:: 0.2
#:     Redis Cluster, Sentinel and Valkey schemes.
URL_SCHEMES = (*REDIS_SCHEMES, "file", "simple")


def purge_expired(store: SessionStore) -> int:
    """Remove the expired entries of a store that does not remove them by
    itself (:class:`FileSystemSessionStore`); the others do nothing.

    :returns: How many entries were removed.
    """
    return store.purge_expired()


# -- building a store ------------------------------------------------------


def check_url(url: str) -> None:
    """Check that ``url`` names a store :func:`store_from_url` can build.

    :raises ValueError: Why it can't.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in URL_SCHEMES:
        raise ValueError(
            f"{url.split(':', 1)[0]!r} is not a known store URL scheme; use one"
            f" of {', '.join(f'{s}://' for s in URL_SCHEMES)}, or a cachelib cache."
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


def store_from_url(
    url: str, *, clock: t.Callable[[], float] | None = None
) -> SessionStore:
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

    :raises ValueError: The URL can't be used.
    """
    check_url(url)
    if url.split("://", 1)[0].lower() in REDIS_SCHEMES:
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
    value: t.Any, *, clock: t.Callable[[], float] | None = None
) -> SessionStore:
    """The store for a configured value: a :class:`SessionStore` as it is,
    a cachelib cache wrapped in the right kind of store, a Redis or Valkey
    client (of one server, a Sentinel primary or a Cluster), or a URL.

    :raises ValueError: The value can't be used.
    """
    if isinstance(value, SessionStore):
        return value
    if isinstance(value, str):
        return store_from_url(value, clock=clock)
    if isinstance(value, BaseRedisCache):
        return RedisSessionStore(value, clock=clock)
    if isinstance(value, FileSystemCache):
        return FileSystemSessionStore(value, clock=clock)
    if isinstance(value, BaseCache):
        return SessionStore(value, clock=clock)
    if is_redis_client(value):
        return RedisSessionStore(RedisCache(value), clock=clock)
    raise ValueError(
        "must be None, a cachelib cache, a Redis client, a SessionStore or a URL"
        " string,"
        f" not {type(value).__name__}."
    )
