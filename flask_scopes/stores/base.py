"""Server-side storage on any :class:`cachelib.BaseCache`.

A :class:`SessionStore` is the cachelib implementation of
:class:`~flask_scopes.stores.BaseSessionStore`: it keeps bytes under string
keys with a time to live, and nothing else: what the bytes mean is decided
by :mod:`flask_scopes.session.server_mode`. It never lets cachelib pickle or unpickle
anything: values go through a serializer that passes bytes unchanged, or
straight to the Redis client, or, for :class:`~cachelib.FileSystemCache`,
to files written and read here. Whoever can write to the store can then
plant data, but never make the app run code.

Failures to reach the store become :exc:`~flask_scopes.SessionStoreUnavailable`
(a 503), on reads and on writes alike, so an outage is never mistaken for a
missing session.

Three kinds of store are built from a configured value:

-   :class:`RedisSessionStore` for :class:`~cachelib.RedisCache` and other
    Redis-compatible caches, including one wrapping a Redis Cluster or
    Sentinel client. It uses ``SET NX``/``SET XX`` so that a write never
    brings back a session deleted in the meantime, and one ``MGET`` to read
    a session with its user's revocation marker.
-   :class:`FileSystemSessionStore` for :class:`~cachelib.FileSystemCache`:
    its files, in cachelib's layout, are read and written here, because
    cachelib reports a read error as a missing entry and prunes live entries
    past its ``threshold``. It never prunes: run ``flask scopes purge``.
-   :class:`SessionStore` itself for every other cache (SimpleCache,
    MemcachedCache, MongoDbCache, DynamoDbCache...), through cachelib's API.
    Writing only if an entry still exists is then a check and a write, not
    one atomic step.

MemcachedCache has no serializer to replace: flask-scopes hands its client
library bytes, which the libraries store as they are, but those libraries
unpickle entries flagged as pickles, so whoever can write to the memcached
server could still make the client run code. Prefer Redis.
"""

from __future__ import annotations

import copy
import sys
import time
import typing as t
import warnings

from cachelib import BaseCache
from cachelib import SimpleCache

from ..errors import SessionStoreUnavailable
from .contract import BaseSessionStore


class StoreEvictionWarning(UserWarning):
    """The configured store may evict live sessions, signing users out."""


class _RawBytes:
    """A cachelib serializer that stores bytes as they are and never
    pickles or unpickles anything."""

    def dumps(self, value: t.Any, *args: t.Any, **kwargs: t.Any) -> bytes:
        if type(value) is not bytes:
            raise TypeError(f"only bytes are stored, not {type(value).__name__}")
        return value

    def loads(self, value: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        # Passed on as it is: the store refuses what is not bytes.
        return value

    def dump(self, value: t.Any, f: t.IO[bytes], *args: t.Any, **kwargs: t.Any) -> None:
        f.write(self.dumps(value))

    def load(self, f: t.IO[bytes], *args: t.Any, **kwargs: t.Any) -> bytes:
        return f.read()


#: The errors of each store client: its module, the names of its errors,
#: and those of the errors outside that tree that only its Cluster client
#: raises.
_CLIENT_ERRORS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("redis.exceptions", ("RedisError",), ("RedisClusterException",)),
    ("valkey.exceptions", ("ValkeyError",), ("ValkeyClusterException",)),
    ("pymongo.errors", ("PyMongoError",), ()),
    ("botocore.exceptions", ("BotoCoreError", "ClientError"), ()),
    ("pylibmc", ("Error",), ()),
)


def _client_errors(*, cluster: bool = False) -> tuple[type[BaseException], ...]:
    """The errors of the store clients already imported, which mean the
    store could not do what it was asked.

    :param cluster: Include those only Cluster clients raise.
    """
    found: list[type[BaseException]] = [OSError]
    for module, names, cluster_names in _CLIENT_ERRORS:
        loaded = sys.modules.get(module)
        for name in (*names, *cluster_names) if cluster else names:
            error = getattr(loaded, name, None)
            if isinstance(error, type) and issubclass(error, BaseException):
                found.append(error)
    return tuple(found)


class SessionStore(BaseSessionStore):
    """Bytes under string keys in a cachelib cache, with a time to live.

    Every key is prefixed with :attr:`namespace`, after the cache's own
    ``key_prefix``. Every method raises
    :exc:`~flask_scopes.SessionStoreUnavailable` when the store fails.

    :param cache: The cache to keep the entries in. It is not changed: a
        shallow copy that shares its storage is given a serializer that
        passes bytes unchanged.
    :param clock: Returns the current Unix time, for stores whose entries
        carry their expiry time.
    """

    #: A :class:`~cachelib.SimpleCache` whose ``threshold`` is below this
    #: gets a :class:`StoreEvictionWarning` when the store is made.
    eviction_warning_below = 100_000

    def __init__(
        self, cache: BaseCache, *, clock: t.Callable[[], float] | None = None
    ) -> None:
        #: The cache given by the application.
        self.cache = cache
        #: The clock, returning Unix time.
        self.clock: t.Callable[[], float] = clock or time.time
        #: The errors that mean the store failed.
        self.errors = _client_errors()
        self._view = self._bytes_view(cache)
        self._warn_eviction()

    @staticmethod
    def _bytes_view(cache: BaseCache) -> BaseCache:
        if not hasattr(cache, "serializer"):
            # MemcachedCache has no serializer: its client library stores
            # bytes as they are.
            return cache
        view = copy.copy(cache)
        view.serializer = _RawBytes()
        return view

    def _warn_eviction(self) -> None:
        cache = self.cache
        if isinstance(cache, SimpleCache):
            threshold = getattr(cache, "_threshold", 0)
            if threshold < self.eviction_warning_below:
                warnings.warn(
                    StoreEvictionWarning(
                        f"SimpleCache(threshold={threshold}) keeps at most"
                        f" {threshold} entries: past that it deletes live"
                        " sessions, signing users out, and it lives in one"
                        " process. Use it for development and tests, or pass"
                        " a threshold above the number of sessions you expect,"
                        " or use Redis or FileSystemCache."
                    ),
                    stacklevel=4,
                )

    def describe(self) -> str:
        """Names the store in error messages, without credentials."""
        return type(self.cache).__name__

    #: The name :meth:`guard` had before 0.2, for subclasses.
    _guard = BaseSessionStore.guard

    # -- operations ----------------------------------------------------------

    def get(self, name: str) -> bytes | None:
        """The entry, or ``None`` if it is missing or expired."""
        with self.guard("load"):
            return self._check_bytes(self._view.get(self.key(name)))

    def get_many(self, *names: str) -> list[bytes | None]:
        """Several entries at once, in one round trip where the store can."""
        with self.guard("load"):
            values = self._view.get_many(*map(self.key, names))
        return [self._check_bytes(value) for value in values]

    def set(self, name: str, value: bytes, ttl: int) -> None:
        """Write an entry, whether it exists or not."""
        with self.guard("save"):
            ok = self._view.set(self.key(name), value, timeout=self._ttl(ttl))
        if not ok:
            raise SessionStoreUnavailable("save", self.describe())

    def add(self, name: str, value: bytes, ttl: int) -> bool:
        """Write an entry that does not exist yet.

        :returns: ``False`` if it already exists.
        """
        with self.guard("save"):
            return bool(self._view.add(self.key(name), value, timeout=self._ttl(ttl)))

    def replace(self, name: str, value: bytes, ttl: int) -> bool:
        """Write an entry that still exists.

        Here the check and the write are two steps; :class:`RedisSessionStore`
        makes them one.

        :returns: ``False`` if it no longer exists, and nothing was written.
        """
        key = self.key(name)
        with self.guard("save"):
            if not self._view.has(key):
                return False
            ok = self._view.set(key, value, timeout=self._ttl(ttl))
        if not ok:
            raise SessionStoreUnavailable("save", self.describe())
        return True

    def delete(self, name: str) -> bool:
        """Delete an entry.

        :returns: Whether it existed.
        """
        key = self.key(name)
        with self.guard("save"):
            # SimpleCache deletes an expired entry as if it were live.
            live = bool(self._view.has(key))
            return bool(self._view.delete(key)) and live

    def _check_bytes(self, value: t.Any) -> bytes | None:
        # Anything but bytes or a miss is a store that can't be read (a
        # client decoding replies to str): fail closed, never "missing".
        if value is None or type(value) is bytes:
            return value
        if isinstance(value, bytes):
            return bytes(value)
        raise SessionStoreUnavailable(
            "load",
            self.describe(),
            TypeError(f"the store returned {type(value).__name__}, not bytes"),
        )
