"""Sessions in Redis, or a Redis-compatible server such as Valkey, through
the client of a cachelib Redis cache: one server, a Sentinel primary or a
Cluster.
"""

from __future__ import annotations

import copy
import typing as t

from cachelib import BaseCache
from cachelib.redis_base import BaseRedisCache

from ..errors import ConfigurationError
from ..errors import SessionStoreUnavailable
from .base import _client_errors
from .base import SessionStore
from .redis_urls import is_cluster_client

#: Names of the client errors that only a Cluster node sends: ``MOVED``,
#: ``ASK``, ``CLUSTERDOWN``, ``CROSSSLOT``, ``TRYAGAIN``.
_CLUSTER_REPLIES = frozenset(
    {"AskError", "ClusterError", "ClusterCrossSlotError", "TryAgainError"}
)


def cluster_url_advice(where: str) -> str:
    """Why a plain client is refused on a Cluster node, and what to write."""
    return (
        f"{where} is a node of a Redis Cluster, which a client of one server"
        " can't use: most keys live on other nodes and would fail with MOVED."
        " Write redis+cluster://host:port[,host:port...] (rediss+cluster:// for"
        " TLS), or pass a redis.cluster.RedisCluster client."
    )


def sentinel_url_advice(where: str) -> str:
    """Why a plain client is refused on a Sentinel, and what to write."""
    return (
        f"{where} is a Sentinel, which keeps no data. Write"
        " redis+sentinel://host:26379[,host:port...]/service_name[/db], or pass"
        " Sentinel(...).master_for(service_name)."
    )


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
    """Entries in Redis (or a Redis-compatible server such as Valkey),
    through the cache's own client, bypassing cachelib's pickling
    serializer.

    The client may be a ``redis.Redis``, a Sentinel primary
    (``Sentinel.master_for``), a ``RedisCluster``, or their ``valkey``
    counterparts: entries that are read together share a hash tag, so that
    a Cluster reads them in one ``MGET``. Every command goes to the write
    client, so that a session written by one request is seen by the next
    one even when reads could go to replicas.

    A client of one server that turns out to be connected to a Cluster node
    or a Sentinel is refused, with a message naming the URL to write: when
    the store is made (:exc:`ValueError`, which
    :meth:`~flask_scopes.Scopes.init_app` reports as a
    :exc:`~flask_scopes.ConfigurationError`), or, if the server can't be
    reached then, with a :exc:`~flask_scopes.ConfigurationError` for
    :attr:`setting` on the first command that reaches it.

    :param cache: A :class:`~cachelib.RedisCache` or another
        :class:`~cachelib.redis_base.BaseRedisCache`.
    :param clock: Unused; entries expire by Redis' own clock.
    :raises ConfigurationError: The client decodes responses to ``str``.

    .. versionchanged:: 0.2
        A client made with ``decode_responses=True`` is refused: entries and
        revocation markers are bytes, and decoding them would turn every
        session into a new one and every revocation into "not revoked".
        Cluster and Sentinel clients are tested and described in messages;
        a plain client on a Cluster node or a Sentinel is refused.
    """

    def __init__(
        self, cache: BaseRedisCache, *, clock: t.Callable[[], float] | None = None
    ) -> None:
        super().__init__(cache, clock=clock)
        self.client: t.Any = cache._write_client
        if decodes_responses(self.client):
            raise ConfigurationError(
                self.setting,
                "the Redis client decodes responses to str"
                " (decode_responses=True), but sessions and revocation markers"
                " are bytes: reading them as str would lose every session and"
                " make revocations look absent. Give flask-scopes a client"
                " without decode_responses (a separate one if the app needs"
                " decoding).",
            )
        prefix = cache.key_prefix
        self._prefix = None if callable(prefix) else f"{prefix}{self.namespace}"
        #: Whether the client talks to a Cluster through a Cluster client.
        self.cluster = is_cluster_client(self.client)
        self.errors = _client_errors(cluster=True)
        self._refused: str | None = None
        pool = getattr(self.client, "connection_pool", None)
        # A Sentinel primary is a data node by definition.
        self._unchecked = not self.cluster and not hasattr(pool, "service_name")
        if self._unchecked:
            try:
                self._note_mode(self._probe(pool))
            except Exception:
                pass  # Unreachable: checked on the first command that works.
            if self._refused is not None:
                raise ValueError(self._refused)

    @staticmethod
    def _bytes_view(cache: BaseCache) -> BaseCache:
        return cache

    # -- what the client is connected to -------------------------------------

    #: The longest the check made when the store is made may wait for the
    #: server, in seconds: it makes one attempt, without the client's retries.
    probe_timeout = 2.0

    def _probe(self, pool: t.Any) -> dict[str, t.Any]:
        """``INFO server`` on a connection of its own, in one attempt
        bounded by :attr:`probe_timeout`, so that a server that is down
        does not hold up start-up.

        :raises: Whatever the connection raises.
        """
        kwargs = dict(pool.connection_kwargs)
        retry: t.Any = copy.copy(kwargs.get("retry"))
        if hasattr(retry, "update_retries"):
            retry.update_retries(0)
        elif hasattr(retry, "_retries"):
            retry._retries = 0
        if retry is not None:
            kwargs["retry"] = retry
        for name in ("socket_timeout", "socket_connect_timeout"):
            given = kwargs.get(name)
            kwargs[name] = min(given or self.probe_timeout, self.probe_timeout)
        connection = pool.connection_class(**kwargs)
        try:
            connection.send_command("INFO", "server")
            reply = connection.read_response()
        except self.errors as e:
            if _is_unreachable(e):
                raise
            reply = b""  # INFO renamed or denied: the replies tell.
        finally:
            connection.disconnect()
        if isinstance(reply, bytes):
            reply = reply.decode("utf-8", "replace")
        if isinstance(reply, str):
            pairs = (line.partition(":") for line in reply.splitlines())
            return {key: value.strip() for key, _, value in pairs}
        return reply if isinstance(reply, dict) else {}

    def _check_server(self) -> None:
        """Ask the server what it is, through the client; remember a
        refusal.

        :raises: The client's error when the server can't be reached.
        """
        try:
            info = self.client.info("server")
        except self.errors as e:
            if _is_unreachable(e):
                raise
            info = {}  # INFO renamed or denied: the replies tell.
        self._note_mode(info)

    def _note_mode(self, info: t.Mapping[str, t.Any]) -> None:
        self._unchecked = False
        mode = str(info.get("redis_mode") or info.get("server_mode") or "")
        if mode == "cluster":
            self._refused = cluster_url_advice(self.describe())
        elif mode == "sentinel":
            self._refused = sentinel_url_advice(self.describe())

    def _first_contact(self, operation: str) -> None:
        if self._unchecked:
            try:
                self._check_server()
            except self.errors as e:
                raise SessionStoreUnavailable(operation, self.describe(), e) from e
        if self._refused is not None:
            raise ConfigurationError(self.setting, self._refused)

    def _failed(self, operation: str, error: BaseException) -> t.NoReturn:
        if not self.cluster and _is_cluster_reply(error):
            self._refused = cluster_url_advice(self.describe())
            raise ConfigurationError(self.setting, self._refused) from error
        raise SessionStoreUnavailable(operation, self.describe(), error) from error

    def describe(self) -> str:
        name = type(self.cache).__name__
        client = self.client
        if self.cluster:
            nodes = ",".join(
                f"{node.host}:{node.port}"
                for node in client.nodes_manager.startup_nodes.values()
            )
            return f"{name} on the Redis Cluster at {nodes}"
        pool = getattr(client, "connection_pool", None)
        service = getattr(pool, "service_name", None)
        if service is not None:
            return f"{name} on the Sentinel primary of {service!r}"
        kwargs = getattr(pool, "connection_kwargs", {})
        where = kwargs.get("path") or (
            f"{kwargs['host']}:{kwargs.get('port', 6379)}" if "host" in kwargs else ""
        )
        return f"{name} at {where}" if where else name

    def key(self, name: str) -> str:
        if self._prefix is not None:
            return f"{self._prefix}{name}"
        prefix = self.cache._get_prefix()  # type: ignore[attr-defined]
        return f"{prefix}{self.namespace}{name}"

    # -- operations ----------------------------------------------------------

    def get(self, name: str) -> bytes | None:
        # The hot path of every request that reads a session: no context
        # manager.
        if self._unchecked or self._refused is not None:
            self._first_contact("load")
        try:
            value = self.client.get(self.key(name))
        except self.errors as e:
            self._failed("load", e)
        return value if type(value) is bytes else self._check_bytes(value)

    def get_many(self, *names: str) -> list[bytes | None]:
        if self._unchecked or self._refused is not None:
            self._first_contact("load")
        keys = [self.key(name) for name in names]
        try:
            if self.cluster and len({self.client.keyslot(k) for k in keys}) > 1:
                # Names without a shared hash tag: one MGET per slot. A
                # session and its user's marker always share one.
                values = self.client.mget_nonatomic(keys)
            else:
                values = self.client.mget(keys)
        except self.errors as e:
            self._failed("load", e)
        return [self._check_bytes(value) for value in values]

    def _write(self, name: str, value: bytes, ttl: int, **flags: bool) -> bool:
        if self._unchecked or self._refused is not None:
            self._first_contact("save")
        try:
            return bool(
                self.client.set(self.key(name), value, ex=self._ttl(ttl), **flags)
            )
        except self.errors as e:
            self._failed("save", e)

    def set(self, name: str, value: bytes, ttl: int) -> None:
        self._write(name, value, ttl)

    def add(self, name: str, value: bytes, ttl: int) -> bool:
        return self._write(name, value, ttl, nx=True)

    def replace(self, name: str, value: bytes, ttl: int) -> bool:
        return self._write(name, value, ttl, xx=True)

    def delete(self, name: str) -> bool:
        if self._unchecked or self._refused is not None:
            self._first_contact("save")
        try:
            return bool(self.client.delete(self.key(name)))
        except self.errors as e:
            self._failed("save", e)


def _is_cluster_reply(error: BaseException) -> bool:
    """Whether a server reply only a Cluster node sends caused ``error``."""
    return any(cls.__name__ in _CLUSTER_REPLIES for cls in type(error).__mro__)


def _is_unreachable(error: BaseException) -> bool:
    """Whether ``error`` means the server could not be reached at all, as
    opposed to a reply refusing the command."""
    return any(
        cls.__name__ in ("ConnectionError", "TimeoutError") or cls is OSError
        for cls in type(error).__mro__
    )
