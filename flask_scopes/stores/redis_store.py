"""Sessions in Redis, or a Redis-compatible server, through the client of
a cachelib Redis cache.
"""

from __future__ import annotations

import typing as t

from cachelib import BaseCache
from cachelib.redis_base import BaseRedisCache

from ..errors import ConfigurationError
from ..errors import SessionStoreUnavailable
from .base import SessionStore


def decodes_responses(client: t.Any) -> bool:
    """Whether a Redis client turns replies into ``str``: set up with
    ``decode_responses=True``, directly or in a URL.

    .. versionadded:: 0.2
    """
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    if isinstance(kwargs, dict) and kwargs.get("decode_responses"):
        return True
    get_encoder = getattr(client, "get_encoder", None)
    if callable(get_encoder):
        try:
            return bool(getattr(get_encoder(), "decode_responses", False))
        except Exception:  # a client that can't say is checked on each read
            return False
    return False


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
    :raises ConfigurationError: The client decodes responses to ``str``.

    .. versionchanged:: 0.2
        A client made with ``decode_responses=True`` is refused: entries and
        revocation markers are bytes, and decoding them would turn every
        session into a new one and every revocation into "not revoked".
    """

    def __init__(
        self, cache: BaseRedisCache, *, clock: t.Callable[[], float] | None = None
    ) -> None:
        super().__init__(cache, clock=clock)
        self.client: t.Any = cache._write_client
        if decodes_responses(self.client):
            raise ConfigurationError(
                "SCOPES_SESSION_STORE",
                "the Redis client decodes responses to str"
                " (decode_responses=True), but sessions and revocation markers"
                " are bytes: reading them as str would lose every session and"
                " make revocations look absent. Give flask-scopes a client"
                " without decode_responses (a separate one if the app needs"
                " decoding).",
            )
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
        return value if type(value) is bytes else self._check_bytes(value)

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
