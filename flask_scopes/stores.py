"""Server-side storage on any :class:`cachelib.BaseCache`.

A :class:`SessionStore` keeps bytes under string keys with a time to live,
and nothing else: what the bytes mean is decided by
:mod:`flask_scopes.serverside`. It never lets cachelib pickle or unpickle
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
import os
import struct
import sys
import tempfile
import time
import typing as t
import warnings
from contextlib import contextmanager
from urllib.parse import parse_qsl
from urllib.parse import unquote
from urllib.parse import urlencode
from urllib.parse import urlsplit

from cachelib import BaseCache
from cachelib import FileSystemCache
from cachelib import SimpleCache
from cachelib.redis_base import BaseRedisCache

from .errors import SessionStoreUnavailable

#: The URL schemes :func:`open_store` understands.
URL_SCHEMES = ("redis", "rediss", "unix", "file", "simple")


class StoreEvictionWarning(UserWarning):
    """The configured store may evict live sessions, signing users out."""


class _RawBytes:
    """A cachelib serializer that stores bytes as they are and never
    pickles or unpickles anything."""

    def dumps(self, value: t.Any, *args: t.Any, **kwargs: t.Any) -> bytes:
        if type(value) is not bytes:
            raise TypeError(f"only bytes are stored, not {type(value).__name__}")
        return value

    def loads(self, value: t.Any, *args: t.Any, **kwargs: t.Any) -> bytes | None:
        return value if type(value) is bytes else None

    def dump(self, value: t.Any, f: t.IO[bytes], *args: t.Any, **kwargs: t.Any) -> None:
        f.write(self.dumps(value))

    def load(self, f: t.IO[bytes], *args: t.Any, **kwargs: t.Any) -> bytes:
        return f.read()


def _client_errors() -> tuple[type[BaseException], ...]:
    """The errors of the store clients already imported, which mean the
    store could not do what it was asked."""
    found: list[type[BaseException]] = [OSError]
    for module, names in (
        ("redis.exceptions", ("RedisError",)),
        ("valkey.exceptions", ("ValkeyError",)),
        ("pymongo.errors", ("PyMongoError",)),
        ("botocore.exceptions", ("BotoCoreError", "ClientError")),
        ("pylibmc", ("Error",)),
    ):
        loaded = sys.modules.get(module)
        for name in names:
            error = getattr(loaded, name, None)
            if isinstance(error, type) and issubclass(error, BaseException):
                found.append(error)
    return tuple(found)


class SessionStore:
    """Bytes under string keys in a cachelib cache, with a time to live.

    Every key is prefixed with :attr:`namespace`. Every method raises
    :exc:`~flask_scopes.SessionStoreUnavailable` when the store fails.

    :param cache: The cache to keep the entries in. It is not changed: a
        shallow copy that shares its storage is given a serializer that
        passes bytes unchanged.
    :param clock: Returns the current Unix time, for stores whose entries
        carry their expiry time.
    """

    #: Prefix of every key written, after the cache's own ``key_prefix``.
    namespace = "scopes:"
    #: Whether the backend removes expired entries by itself. If not,
    #: ``flask scopes purge`` removes them.
    expires_by_itself = True
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

    def key(self, name: str) -> str:
        """The full key of an entry."""
        return f"{self.namespace}{name}"

    @contextmanager
    def _guard(self, operation: str) -> t.Iterator[None]:
        try:
            yield
        except self.errors as e:
            raise SessionStoreUnavailable(operation, self.describe(), e) from e

    # -- operations ----------------------------------------------------------

    def get(self, name: str) -> bytes | None:
        """The entry, or ``None`` if it is missing or expired."""
        with self._guard("load"):
            return self._check_bytes(self._view.get(self.key(name)))

    def get_many(self, *names: str) -> list[bytes | None]:
        """Several entries at once, in one round trip where the store can."""
        with self._guard("load"):
            values = self._view.get_many(*map(self.key, names))
        return [self._check_bytes(value) for value in values]

    def set(self, name: str, value: bytes, ttl: int) -> None:
        """Write an entry, whether it exists or not."""
        with self._guard("save"):
            ok = self._view.set(self.key(name), value, timeout=self._ttl(ttl))
        if not ok:
            raise SessionStoreUnavailable("save", self.describe())

    def add(self, name: str, value: bytes, ttl: int) -> bool:
        """Write an entry that does not exist yet.

        :returns: ``False`` if it already exists.
        """
        with self._guard("save"):
            return bool(self._view.add(self.key(name), value, timeout=self._ttl(ttl)))

    def replace(self, name: str, value: bytes, ttl: int) -> bool:
        """Write an entry that still exists.

        Here the check and the write are two steps; :class:`RedisSessionStore`
        makes them one.

        :returns: ``False`` if it no longer exists, and nothing was written.
        """
        key = self.key(name)
        with self._guard("save"):
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
        with self._guard("save"):
            return bool(self._view.delete(self.key(name)))

    def purge_expired(self) -> int:
        """Remove expired entries, for backends that keep them.

        :returns: How many were removed.
        """
        return 0

    @staticmethod
    def _check_bytes(value: t.Any) -> bytes | None:
        return value if type(value) is bytes else None

    @staticmethod
    def _ttl(ttl: int) -> int:
        # cachelib reads 0 as "never expire" and SimpleCache and
        # FileSystemCache evict such entries first: never send it.
        return max(1, int(ttl))


class RedisSessionStore(SessionStore):
    """Entries in Redis (or a Redis-compatible server), through the cache's
    own client, bypassing cachelib's pickling serializer.

    The client may be a ``redis.Redis``, a Sentinel master, or a
    ``RedisCluster``: entries that are read together share a hash tag.
    Every command goes to the write client, so that a session written by
    one request is seen by the next one even when reads could go to
    replicas.

    :param cache: A :class:`~cachelib.RedisCache` or another
        :class:`~cachelib.redis_base.BaseRedisCache`.
    :param clock: Unused; entries expire by Redis' own clock.
    """

    def __init__(
        self, cache: BaseRedisCache, *, clock: t.Callable[[], float] | None = None
    ) -> None:
        super().__init__(cache, clock=clock)
        self.client: t.Any = cache._write_client
        prefix = cache.key_prefix
        self._prefix = None if callable(prefix) else f"{prefix}{self.namespace}"

    @staticmethod
    def _bytes_view(cache: BaseCache) -> BaseCache:
        return cache

    def describe(self) -> str:
        kwargs = getattr(
            getattr(self.client, "connection_pool", None), "connection_kwargs", {}
        )
        where = kwargs.get("path") or (
            f"{kwargs['host']}:{kwargs.get('port', 6379)}" if "host" in kwargs else ""
        )
        name = type(self.cache).__name__
        return f"{name} at {where}" if where else name

    def key(self, name: str) -> str:
        if self._prefix is not None:
            return f"{self._prefix}{name}"
        prefix = self.cache._get_prefix()  # type: ignore[attr-defined]
        return f"{prefix}{self.namespace}{name}"

    def get(self, name: str) -> bytes | None:
        # The hot path of every request that reads a session: no context
        # manager.
        try:
            value = self.client.get(self.key(name))
        except self.errors as e:
            raise SessionStoreUnavailable("load", self.describe(), e) from e
        return value if type(value) is bytes else None

    def get_many(self, *names: str) -> list[bytes | None]:
        with self._guard("load"):
            values = self.client.mget([self.key(name) for name in names])
        return [self._check_bytes(value) for value in values]

    def set(self, name: str, value: bytes, ttl: int) -> None:
        with self._guard("save"):
            self.client.set(self.key(name), value, ex=self._ttl(ttl))

    def add(self, name: str, value: bytes, ttl: int) -> bool:
        with self._guard("save"):
            return bool(
                self.client.set(self.key(name), value, ex=self._ttl(ttl), nx=True)
            )

    def replace(self, name: str, value: bytes, ttl: int) -> bool:
        with self._guard("save"):
            return bool(
                self.client.set(self.key(name), value, ex=self._ttl(ttl), xx=True)
            )

    def delete(self, name: str) -> bool:
        with self._guard("save"):
            return bool(self.client.delete(self.key(name)))


class FileSystemSessionStore(SessionStore):
    """Entries as files in a :class:`~cachelib.FileSystemCache`'s directory,
    in cachelib's layout (a 4-byte expiry time, then the value), written
    atomically and never pruned by count. Several processes may share the
    directory; give it to sessions alone.

    Expiry times come from ``clock``; ``flask scopes purge`` removes the
    expired files.

    :param cache: The cache whose directory, file mode and hash are used.
    :param clock: Returns the current Unix time.
    :param max_size: Files larger than this many bytes are not read.
    """

    expires_by_itself = False
    _header = struct.Struct("I")
    _temp_suffix = ".__wz_cache"

    def __init__(
        self,
        cache: FileSystemCache,
        *,
        clock: t.Callable[[], float] | None = None,
        max_size: int = 16 * 1024 * 1024,
    ) -> None:
        super().__init__(cache, clock=clock)
        self.path: str = cache._path
        self.max_size = max_size
        self._filename: t.Callable[[str], str] = cache._get_filename
        self._mode: int = cache._mode or 0o600
        self._count_file = os.path.basename(self._filename(cache._fs_count_file))

    @staticmethod
    def _bytes_view(cache: BaseCache) -> BaseCache:
        return cache

    def describe(self) -> str:
        return f"FileSystemCache at {self.path}"

    def _read(self, filename: str) -> tuple[int, bytes] | None:
        try:
            with open(filename, "rb") as f:
                head = f.read(self._header.size)
                value = f.read(self.max_size + 1)
        except FileNotFoundError:
            return None
        if len(head) != self._header.size or len(value) > self.max_size:
            return None
        return self._header.unpack(head)[0], value

    def _live(self, expires: int) -> bool:
        return expires == 0 or expires >= self.clock()

    def _write(self, filename: str, value: bytes, ttl: int) -> None:
        expires = int(self.clock()) + self._ttl(ttl)
        fd, temp = tempfile.mkstemp(suffix=self._temp_suffix, dir=self.path)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self._header.pack(expires))
                f.write(value)
            os.chmod(temp, self._mode)
            os.replace(temp, filename)
        except BaseException:
            try:
                os.remove(temp)
            except OSError:
                pass
            raise

    def get(self, name: str) -> bytes | None:
        with self._guard("load"):
            found = self._read(self._filename(self.key(name)))
        if found is None or not self._live(found[0]):
            return None
        return found[1]

    def get_many(self, *names: str) -> list[bytes | None]:
        return [self.get(name) for name in names]

    def set(self, name: str, value: bytes, ttl: int) -> None:
        with self._guard("save"):
            self._write(self._filename(self.key(name)), value, ttl)

    def add(self, name: str, value: bytes, ttl: int) -> bool:
        filename = self._filename(self.key(name))
        with self._guard("save"):
            found = self._read(filename)
            if found is not None and self._live(found[0]):
                return False
            self._write(filename, value, ttl)
        return True

    def replace(self, name: str, value: bytes, ttl: int) -> bool:
        filename = self._filename(self.key(name))
        with self._guard("save"):
            found = self._read(filename)
            if found is None or not self._live(found[0]):
                return False
            self._write(filename, value, ttl)
        return True

    def delete(self, name: str) -> bool:
        filename = self._filename(self.key(name))
        with self._guard("save"):
            found = self._read(filename)
            try:
                os.remove(filename)
            except FileNotFoundError:
                return False
        return found is not None and self._live(found[0])

    def purge_expired(self) -> int:
        removed = 0
        now = self.clock()
        with self._guard("purge"):
            entries = list(os.scandir(self.path))
        for entry in entries:
            name = entry.name
            if name == self._count_file or name.endswith(self._temp_suffix):
                continue
            try:
                with open(entry.path, "rb") as f:
                    head = f.read(self._header.size)
                if len(head) != self._header.size:
                    continue
                expires = self._header.unpack(head)[0]
                if expires != 0 and expires < now:
                    os.remove(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue
            except OSError as e:
                raise SessionStoreUnavailable("purge", self.describe(), e) from e
        return removed


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
    parts = urlsplit(url)
    if parts.scheme not in URL_SCHEMES:
        raise ValueError(
            f"{url.split(':', 1)[0]!r} is not a known store URL scheme; use one"
            f" of {', '.join(f'{s}://' for s in URL_SCHEMES)}, or a cachelib cache."
        )
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
        Query arguments go to ``redis.Redis.from_url``, except ``key_prefix``,
        which goes to the cache. Socket timeouts default to 5 seconds.
    -   ``file:///absolute/path``: a :class:`~cachelib.FileSystemCache` in
        that directory, created if needed.
    -   ``simple://``: a :class:`~cachelib.SimpleCache` in this process, for
        development and tests; ``?threshold=N`` caps it (default 1,000,000).

    :raises ValueError: The URL can't be used.
    """
    check_url(url)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme == "file":
        return FileSystemSessionStore(
            FileSystemCache(unquote(parts.path), threshold=0), clock=clock
        )
    if parts.scheme == "simple":
        threshold = int(query.get("threshold", 1_000_000))
        return SessionStore(SimpleCache(threshold=threshold), clock=clock)
    try:
        import redis
    except ImportError:  # pragma: no cover
        raise ValueError(
            f"{url!r} needs the redis package: pip install 'flask-scopes[redis]'."
        ) from None
    from cachelib import RedisCache

    key_prefix = query.pop("key_prefix", "")
    bare = parts._replace(query=urlencode(query))
    client = redis.Redis.from_url(
        bare.geturl(), socket_timeout=5, socket_connect_timeout=5
    )
    return RedisSessionStore(RedisCache(client, key_prefix=key_prefix), clock=clock)


def open_store(
    value: t.Any, *, clock: t.Callable[[], float] | None = None
) -> SessionStore:
    """The store for a configured value: a :class:`SessionStore` as it is,
    a cachelib cache wrapped in the right kind of store, or a URL.

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
    raise ValueError(
        "must be None, a cachelib cache, a SessionStore or a URL string,"
        f" not {type(value).__name__}."
    )
