"""What the near cache (:mod:`flask_scopes.stores.near_cache`) needs from
Redis: the two connections of server-assisted invalidation, the entries it
keeps and how an invalidation changes them, the read that fills them, the
thread that applies invalidations between requests, and the fork hook that
empties them in a child process.

.. versionadded:: 0.2
"""

from __future__ import annotations

import os
import select
import time
import typing as t
import weakref
from collections import OrderedDict

from .contract import BaseSessionStore
from .redis_store import RedisSessionStore

#: The channel Redis publishes invalidations on, for ``REDIRECT``.
CHANNEL = b"__redis__:invalidate"

#: Cached entries: key -> (bytes, or ``None`` for a missing key; the
#: :func:`time.monotonic` time it expires at, or infinity).
Entries = OrderedDict[bytes, tuple[bytes | None, float]]


class NearCacheUnsupported(ValueError):
    """The store can't tell this process when an entry changes, so it can't
    have a near cache.

    .. versionadded:: 0.2
    """


def tracking_pool(store: BaseSessionStore) -> t.Any:
    """The connection pool of a store that can have a near cache.

    :raises NearCacheUnsupported: Why it can't.
    """
    if not isinstance(store, RedisSessionStore):
        raise NearCacheUnsupported(
            f"{store.describe()} can't tell other processes when an entry"
            " changes; a near cache needs Redis."
        )
    pool = getattr(store.client, "connection_pool", None)
    if pool is None or not hasattr(pool, "connection_kwargs"):
        raise NearCacheUnsupported(
            f"{store.describe()}: a near cache needs a redis.Redis client on"
            " a connection pool, not a cluster client."
        )
    if pool.connection_kwargs.get("decode_responses"):
        raise NearCacheUnsupported(
            f"{store.describe()}: the client decodes responses; sessions need bytes."
        )
    return pool


def open_tracking(pool: t.Any) -> tuple[t.Any, t.Any]:
    """Open the invalidation connection, subscribe it, and turn tracking on
    for a new data connection that redirects its invalidations there.

    :returns: The invalidation connection and the data connection.
    """
    # RESP2 on both, whatever the client speaks: the invalidations come as
    # plain pub/sub messages on the first connection, and nothing ever
    # arrives unasked on the second.
    kwargs = {
        key: value
        for key, value in pool.connection_kwargs.items()
        if "maint_notifications" not in key and key != "parser_class"
    }
    kwargs["protocol"] = 2
    inv = pool.connection_class(**kwargs)
    data = pool.connection_class(**kwargs)
    try:
        inv.connect()
        inv.send_command("CLIENT", "ID")
        client_id = inv.read_response()
        inv.send_command("SUBSCRIBE", CHANNEL)
        inv.read_response()
        data.connect()
        # NOLOOP: the data connection's own writes send it no invalidation,
        # so that the read that follows each of them can keep what it read.
        data.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "NOLOOP")
        data.read_response()
    except BaseException:
        inv.disconnect()
        data.disconnect()
        raise
    return inv, data


def apply_invalidation(entries: Entries, message: t.Any) -> None:
    """Drop the entries an invalidation message names."""
    if not isinstance(message, list) or len(message) != 3:
        return
    kind, channel, keys = message
    if kind != b"message" or channel != CHANNEL:
        return
    if keys is None:
        # FLUSHALL, FLUSHDB, or keys evicted from the tracking table all at
        # once.
        entries.clear()
        return
    pop = entries.pop
    for key in keys:
        pop(key, None)


def keep(
    store: t.Any,
    keys: list[bytes],
    values: list[bytes | None],
    ttls: list[t.Any],
    started: float,
) -> None:
    """Keep what a read returned, with the expiry its ``PTTL`` gave, and
    drop the least recently used entries past the store's ``size``.

    :param store: The near cache: its entries, ``size`` and
        ``max_entry_size``.
    """
    entries: Entries = store._entries
    size, max_entry_size = store.size, store.max_entry_size
    for key, value, ttl in zip(keys, values, ttls, strict=True):
        if value is not None and len(value) > max_entry_size:
            continue
        if not isinstance(ttl, int) or ttl == -1 or ttl == -2:
            expires = float("inf")
        elif ttl > 0:
            expires = started + ttl / 1000
        else:
            continue
        entries[key] = (value, expires)
        entries.move_to_end(key)
    while len(entries) > size:
        entries.popitem(last=False)


#: What :func:`lookup` gives for a key that is not cached.
MISSING: t.Any = object()


def lookup(entries: Entries, key: bytes) -> t.Any:
    """The cached value of ``key`` (``None`` for a key known to be missing),
    or :data:`MISSING`."""
    found = entries.get(key)
    if found is None:
        return MISSING
    value, expires = found
    if expires <= time.monotonic():
        del entries[key]
        return MISSING
    entries.move_to_end(key)
    return value


def new_poller(*fds: int) -> t.Any:
    """Something whose ``poll(0)`` tells, without waiting, which of ``fds``
    have something to read or were closed: an ``epoll`` object where there
    is one, since with nothing ready it answers without asking each socket,
    else a ``poll`` object."""
    if hasattr(select, "epoll"):
        epoll = select.epoll()
        for fd in fds:
            epoll.register(fd, select.EPOLLIN)
        return epoll
    poll = select.poll()
    for fd in fds:
        poll.register(fd, select.POLLIN)
    return poll


def listen(ref: weakref.ref[t.Any]) -> None:
    """Apply invalidations between requests, so that they don't pile up
    while the process is idle. Ends with the store or its process."""
    pid = os.getpid()
    while True:
        store = ref()
        if store is None or store._pid != pid or store._closed:
            return
        inv = store._inv
        sock = None if inv is None else inv._sock
        del store
        try:
            if sock is None:
                time.sleep(0.5)
            elif select.select([sock], [], [], 0.5)[0]:
                # Requests apply what arrived before they read; leave them
                # the lock and the GIL, and come back for what is left.
                time.sleep(0.05)
        except (OSError, ValueError):
            time.sleep(0.5)
        store = ref()
        if store is None:
            return
        with store._lock:
            if store._inv is inv and inv is not None:
                store._poll()
        del store


def fetch(store: t.Any, keys: list[bytes]) -> list[bytes | None] | None:
    """Read ``keys`` through the store's tracking connection, and keep what
    was read in its cache. ``None`` when tracking can't be used right now
    (the store then reads through its client)."""
    with store._data_lock:
        with store._lock:
            if store._closed:
                return None
            if not store._ready:
                if time.monotonic() - store._failed_at < store.retry_after:
                    return None
                ready = False
            else:
                ready = True
            seq = store._seq
            data = store._data
        if not ready:
            try:
                data = store._connect()
            except Exception:
                with store._lock:
                    store._reset()
                return None
            with store._lock:
                seq = store._seq
        commands: list[tuple[t.Any, ...]] = [
            ("MGET", *keys) if len(keys) > 1 else ("GET", keys[0])
        ]
        commands += [("PTTL", key) for key in keys]
        started = time.monotonic()
        try:
            data.send_packed_command(data.pack_commands(commands))
            first = data.read_response()
            ttls = [data.read_response() for _ in keys]
        except Exception:
            with store._lock:
                store._reset()
            return None
    values = first if len(keys) > 1 else [first]
    result = [value if type(value) is bytes else None for value in values]
    with store._lock:
        # An invalidation applied meanwhile may be about these keys and
        # older than the reply: keep nothing then.
        if store._ready and store._seq == seq:
            keep(store, keys, result, ttls, started)
    return result


#: The near caches of this process, emptied in each child it forks.
_forkable: weakref.WeakSet[t.Any] = weakref.WeakSet()


def reset_after_fork(store: t.Any) -> None:
    """Have ``store._after_fork()`` called in every child process that
    ``os.fork`` makes from this one, before it runs anything else."""
    _forkable.add(store)


def _forked() -> None:
    for store in list(_forkable):
        store._after_fork()


os.register_at_fork(after_in_child=_forked)
