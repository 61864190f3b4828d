"""A near cache in front of a Redis store: each process keeps the entries it
read recently and serves them again with no round trip, for as long as
Redis says they did not change.

Correctness comes from the server, not from a timer. Reads that fill the
cache go through one connection of this process with ``CLIENT TRACKING ON
REDIRECT <id>``: Redis remembers the keys it read and, when any client
changes or deletes one of them (or it expires, or a database is flushed),
publishes the key on ``__redis__:invalidate`` to a second connection of
this process, which subscribed to that channel. Before a cached entry is
served, whatever invalidations have arrived on that connection are applied,
without waiting; a listener thread applies them too, between requests. A
write returns only once Redis has sent its invalidations (see
:meth:`NearCachedStore._write`).

Whenever the invalidation connection or the tracking connection is lost
(the server restarted, a ``CLIENT KILL``, a network error), Redis stops
sending this process the invalidations it needs: everything cached is
dropped and nothing is served from the cache until both connections are
back and tracking is on again.

.. versionadded:: 0.2
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
import typing as t
import weakref
from collections import OrderedDict

from ..errors import SessionStoreUnavailable
from .base import SessionStore
from .contract import BaseSessionStore
from .redis_store import RedisSessionStore
from .tracking import apply_invalidation
from .tracking import fetch
from .tracking import keep
from .tracking import listen
from .tracking import lookup
from .tracking import MISSING
from .tracking import NearCacheUnsupported as NearCacheUnsupported
from .tracking import new_poller
from .tracking import open_tracking
from .tracking import reset_after_fork
from .tracking import tracking_pool


class NearCachedStore(SessionStore):
    """A :class:`RedisSessionStore` with a near cache of at most ``size``
    entries in each process.

    The cache holds what the store holds, the entries' bytes (and which keys
    are missing), never objects a request could change. An entry leaves it
    when Redis invalidates it, when its time to live runs out, when it is
    the least recently used past ``size``, or when this process writes it:
    every write through this store drops the entry here before it returns.
    A write that changes or deletes an entry then reads it back, which
    returns only after Redis sent that write's invalidations to every other
    process, and keeps what it read.

    :param store: The Redis store to read and write through. Its client
        must be a ``redis.Redis`` on a plain connection pool (TCP, TLS or a
        Unix socket), not a cluster.
    :param size: The most entries kept in each process.
    :raises NearCacheUnsupported: The store can't invalidate.

    .. versionadded:: 0.2
    """

    #: Entries longer than this many bytes are read through, never kept.
    max_entry_size = 64 * 1024
    #: How long to wait before trying to reconnect after a failure, in
    #: seconds; the store is read directly meanwhile.
    retry_after = 1.0
    #: Whether each read makes sure the process was not forked since the
    #: last one, which costs a system call. ``os.fork`` (gunicorn,
    #: multiprocessing) runs Python's fork hooks, which empty the cache in
    #: the child; a server that forks without them needs this. ``None``
    #: checks under uWSGI only, which runs them only when told to. Read when
    #: the cache is made: set it on the class before the app's first request.
    #:
    #: .. versionadded:: 0.2
    check_pid_each_read: bool | None = None

    def __init__(self, store: BaseSessionStore, size: int) -> None:
        pool = tracking_pool(store)
        #: The Redis store read and written through.
        inner = self.inner = t.cast(RedisSessionStore, store)
        self.size = size
        self.cache = inner.cache
        self.clock = inner.clock
        self.errors = inner.errors
        self.expires_by_itself = inner.expires_by_itself
        self._pool = pool
        self._encoding = str(pool.connection_kwargs.get("encoding", "utf-8"))
        #: key -> (bytes or None when missing, monotonic expiry or inf).
        self._entries: OrderedDict[bytes, tuple[bytes | None, float]] = OrderedDict()
        #: entry name -> key.
        self._keys: dict[str, bytes] = {}
        #: Counts hits, misses and resets, for tests and benchmarks.
        self.stats = {"hits": 0, "misses": 0, "resets": 0}
        self._pid = -1
        self._after_fork()
        reset_after_fork(self)
        check = self.check_pid_each_read
        self._check_pid = "uwsgi" in sys.modules if check is None else check

    def _after_fork(self) -> None:
        # Connections, locks and the thread belong to one process: a forked
        # worker starts empty and connects on its first read.
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._data_lock = threading.Lock()
        self._inv: t.Any = None
        self._data: t.Any = None
        self._poller = select.poll()
        self._inv_fd = self._data_fd = -1
        self._ready = False
        self._seq = 0
        self._failed_at = -float("inf")
        self._entries.clear()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- the store's operations ------------------------------------------------

    def describe(self) -> str:
        return f"{self.inner.describe()} (near cache of {self.size})"

    def key(self, name: str) -> str:
        return self.inner.key(name)

    @property
    def backing(self) -> BaseSessionStore:
        return self.inner

    def get(self, name: str) -> bytes | None:
        # The path of every cached read: _poll() and _lookup() inlined.
        key = self._keys.get(name) or self._key(name)
        if self._check_pid and self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            ready = self._ready
            if ready:
                try:
                    # Anything to read (an invalidation, a closed connection)
                    # is left to _poll(), which polls again.
                    ready = not self._poller.poll(0) or self._poll()
                except (OSError, ValueError):
                    self._reset()
                    ready = False
            if ready:
                entries = self._entries
                found = entries.get(key)
                if found is not None:
                    if found[1] > time.monotonic():
                        entries.move_to_end(key)
                        self.stats["hits"] += 1
                        return found[0]
                    del entries[key]
        return self._read([key], (name,))[0]

    def _key(self, name: str) -> bytes:
        """The Redis key of an entry, remembered for as many names as the
        cache keeps entries, unless the store's prefix is a callable."""
        key = self.inner.key(name).encode(self._encoding)
        if self.inner._prefix is None:
            return key
        keys = self._keys
        if len(keys) >= self.size:
            keys.clear()
        keys[name] = key
        return key

    def get_many(self, *names: str) -> list[bytes | None]:
        keys = [self._keys.get(name) or self._key(name) for name in names]
        if self._check_pid and self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            if self._poll():
                found = [lookup(self._entries, key) for key in keys]
                if MISSING not in found:
                    self.stats["hits"] += 1
                    return found
        return self._read(keys, names)

    def _read(self, keys: list[bytes], names: tuple[str, ...]) -> list[bytes | None]:
        self.stats["misses"] += 1
        values = fetch(self, keys)
        if values is None:
            return self.inner.get_many(*names)
        return values

    def set(self, name: str, value: bytes, ttl: int) -> None:
        ex = self._ttl(ttl)
        self._write(
            name, ("SET", value, "EX", ex), lambda: self.inner.set(name, value, ttl)
        )

    def add(self, name: str, value: bytes, ttl: int) -> bool:
        # A new entry under a random name: no other process has read it.
        ex = self._ttl(ttl)
        return self._write(
            name,
            ("SET", value, "EX", ex, "NX"),
            lambda: self.inner.add(name, value, ttl),
            barrier=False,
        )

    def replace(self, name: str, value: bytes, ttl: int) -> bool:
        ex = self._ttl(ttl)
        return self._write(
            name,
            ("SET", value, "EX", ex, "XX"),
            lambda: self.inner.replace(name, value, ttl),
        )

    def delete(self, name: str) -> bool:
        return self._write(name, ("DEL",), lambda: self.inner.delete(name))

    def purge_expired(self) -> int:
        return self.inner.purge_expired()

    def close(self) -> None:
        """Close this process' connections and stop its listener thread.
        The store reads directly afterwards."""
        with self._lock:
            self._closed = True
            self._reset(count=False)

    # -- the cache -------------------------------------------------------------

    def _write(
        self,
        name: str,
        command: tuple[t.Any, ...],
        fallback: t.Callable[[], t.Any],
        barrier: bool = True,
    ) -> bool:
        """Write through the tracking connection, then read the entry back
        through it: Redis answers that read in a later pass of its event
        loop than the write, after the write's invalidations were handed to
        the network, so once it returns a read that any other process starts
        will find the invalidation on its socket. The read also tracks the
        entry again and keeps it here, so the next read is a hit.

        Without tracking, the write goes through the store's client and a
        ``PING`` is the barrier.

        :returns: Whether the command found what it needed (``SET`` with
            ``NX`` or ``XX``, ``DEL``).
        """
        key = self._keys.get(name) or self._key(name)
        self._forget(key)
        kept = False
        try:
            done, kept = self._tracked_write(key, command, barrier)
            if done is not None:
                return done
            result = fallback()
            if barrier:
                try:
                    self.inner.client.ping()
                except self.errors:
                    # Every process whose invalidation connection broke
                    # flushes its cache.
                    pass
            return bool(result)
        finally:
            if not kept:
                self._forget(key)

    def _tracked_write(
        self, key: bytes, command: tuple[t.Any, ...], barrier: bool
    ) -> tuple[bool | None, bool]:
        """(whether the command found what it needed, or ``None`` if
        tracking is not on; whether the entry was kept)."""
        with self._data_lock:
            with self._lock:
                # A tracking connection closed while idle is found here, and
                # the write goes through the store's client instead.
                if self._closed or not self._poll():
                    return None, False
                data = self._data
            try:
                data.send_command(command[0], key, *command[1:])
                reply = data.read_response()
            except Exception as e:
                with self._lock:
                    self._reset()
                raise SessionStoreUnavailable("save", self.describe(), e) from e
            done = reply is not None if command[0] == "SET" else bool(reply)
            if not barrier:
                return done, False
            with self._lock:
                seq = self._seq
            started = time.monotonic()
            try:
                data.send_packed_command(
                    data.pack_commands([("GET", key), ("PTTL", key)])
                )
                value, ttl = data.read_response(), data.read_response()
            except Exception:
                # The write was done; without the barrier, nothing is kept
                # and this process stops serving from its cache.
                with self._lock:
                    self._reset()
                return done, False
        with self._lock:
            if self._ready and self._seq == seq:
                value = value if type(value) is bytes else None
                keep(self, [key], [value], [ttl], started)
                return done, True
        return done, False

    def _forget(self, key: bytes) -> None:
        with self._lock:
            self._seq += 1
            self._entries.pop(key, None)

    def _poll(self) -> bool:
        """Apply the invalidations that arrived, without waiting. Whether
        the cache may serve. Called with ``_lock`` held."""
        if not self._ready:
            return False
        try:
            events = self._poller.poll(0)
        except (OSError, ValueError):
            self._reset()
            return False
        if not events:
            return True
        fds = {fd for fd, _ in events}
        if self._data_fd in fds:
            # Nothing arrives unasked on the tracking connection: if no
            # read is under way, it was closed.
            if self._data_lock.acquire(blocking=False):
                self._data_lock.release()
                self._reset()
            return False
        inv = self._inv
        if self._inv_fd in fds:
            try:
                while True:
                    self._seq += 1
                    apply_invalidation(self._entries, inv.read_response())
                    if not inv.can_read(0):
                        break
            except Exception:
                self._reset()
                return False
        return True

    def _reset(self, count: bool = True) -> None:
        """Drop everything and stop serving until tracking is on again.
        Called with ``_lock`` held."""
        self._ready = False
        self._seq += 1
        self._entries.clear()
        if count:
            self.stats["resets"] += 1
            self._failed_at = time.monotonic()
        for conn in (self._inv, self._data):
            if conn is not None:
                try:
                    conn.disconnect()
                except Exception:  # pragma: no cover
                    pass
        self._inv = self._data = None
        close = getattr(self._poller, "close", None)
        if close is not None:
            close()

    # -- connections -----------------------------------------------------------

    def _connect(self) -> t.Any:
        """Open the invalidation connection, subscribe it, and turn
        tracking on for a new data connection. Called with ``_data_lock``
        held."""
        inv, data = open_tracking(self._pool)
        with self._lock:
            self._reset(count=False)
            if self._closed:
                inv.disconnect()
                data.disconnect()
                raise RuntimeError("closed")
            self._inv, self._data = inv, data
            self._inv_fd, self._data_fd = inv._sock.fileno(), data._sock.fileno()
            self._poller = new_poller(self._inv_fd, self._data_fd)
            self._ready = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=listen,
                    args=(weakref.ref(self),),
                    name="flask-scopes near cache",
                    daemon=True,
                )
                self._thread.start()
        return data


_made_lock = threading.Lock()


def near_cached(store: BaseSessionStore, size: int) -> NearCachedStore:
    """The near cache of ``size`` entries in front of ``store``: one per
    store and size, however often the configuration is resolved again.

    :raises NearCacheUnsupported: The store can't invalidate.

    .. versionadded:: 0.2
    """
    if isinstance(store, NearCachedStore):
        store = store.inner
    with _made_lock:
        made: dict[int, NearCachedStore] = vars(store).setdefault("_near_caches", {})
        cached = made.get(size)
        if cached is None or cached._closed:
            cached = made[size] = NearCachedStore(store, size)
        return cached
