"""Redis and Valkey clients from URLs: one server, a Cluster, or a primary
found through Sentinel.

The forms, with ``redis`` standing for any of ``redis``, ``rediss`` (TLS),
``valkey`` and ``valkeys`` (TLS):

-   ``redis://[[user]:password@]host[:port][/db][?options]`` and
    ``unix:///path/to/redis.sock``: one server.
-   ``redis+cluster://[[user]:password@]host[:port][,host[:port]...][?options]``:
    a Redis Cluster, found from any of the nodes listed.
-   ``redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service_name[/db][?options]``:
    the primary of ``service_name``, as the Sentinels listed report it.
    ``sentinel://`` is accepted for ``redis+sentinel://``, with hosts
    separated by commas or, as Kombu writes them, by ``;sentinel://``.

Options are the client's own URL options (``socket_timeout``,
``health_check_interval``, ``ssl_cert_reqs``...). Sentinel URLs also take
``sentinel_username`` and ``sentinel_password`` for the Sentinels
themselves, and ``service_name`` in place of the path.

``valkey`` schemes use the ``valkey`` client when it is installed, and
``redis-py`` otherwise, which speaks to Valkey servers as well.
"""

from __future__ import annotations

import importlib
import sys
import typing as t
from urllib.parse import parse_qsl
from urllib.parse import quote
from urllib.parse import unquote
from urllib.parse import urlencode

#: Server URL schemes, and whether each uses TLS.
FAMILIES = {"redis": False, "rediss": True, "valkey": False, "valkeys": True}
#: Every Redis or Valkey URL scheme :func:`client_from_url` understands.
SCHEMES = (
    *FAMILIES,
    "unix",
    *(f"{family}+cluster" for family in FAMILIES),
    *(f"{family}+sentinel" for family in FAMILIES),
    "sentinel",
)
#: The port a host without one is given: a server's, or a Sentinel's.
DEFAULT_PORT = 6379
SENTINEL_PORT = 26379
#: Socket and connect timeouts, in seconds, unless the URL gives its own.
DEFAULT_TIMEOUT = 5.0

_CLUSTER_CLIENTS = (
    ("redis.cluster", "RedisCluster"),
    ("valkey.cluster", "ValkeyCluster"),
)
_SERVER_CLIENTS = ("redis.client", "Redis"), ("valkey.client", "Valkey")


class RedisURL(t.NamedTuple):
    """A Redis or Valkey URL taken apart."""

    #: ``redis`` or ``valkey``: which client library to prefer.
    library: str
    #: ``server``, ``cluster`` or ``sentinel``.
    topology: str
    #: Whether the data nodes are reached over TLS.
    tls: bool
    #: ``(host, port)`` of each node or Sentinel listed.
    hosts: list[tuple[str, int]]
    #: The user and password, or ``None`` for each left out.
    user: str | None
    password: str | None
    #: What follows the hosts: ``/db``, or ``/service_name[/db]``.
    path: str
    #: The query, in order.
    query: list[tuple[str, str]]


def split_url(url: str) -> RedisURL:
    """Take a Redis, Valkey, Cluster or Sentinel URL apart.

    :raises ValueError: It is not one, or its hosts are malformed.
    """
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES or scheme == "unix":
        raise ValueError(f"{url!r} is not a Redis or Valkey server URL.")
    if scheme == "sentinel":
        # Kombu's form: sentinel://h1:26379;sentinel://h2:26379
        rest = rest.replace(";sentinel://", ",")
        scheme = "redis+sentinel"
    family, _, topology = scheme.partition("+")
    rest, _, query = rest.partition("?")
    rest, _, _fragment = rest.partition("#")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostlist = netloc.rpartition("@")
    user = password = None
    if at:
        name, colon, secret = userinfo.partition(":")
        user = unquote(name) or None
        password = unquote(secret) if colon else None
    default = SENTINEL_PORT if topology == "sentinel" else DEFAULT_PORT
    hosts = [_host(part, default, url) for part in hostlist.split(",")]
    if topology == "" and len(hosts) > 1:
        raise ValueError(
            f"{url!r} lists several hosts: write {family}+cluster:// for a"
            f" Redis Cluster, or {family}+sentinel://.../service_name for Sentinel."
        )
    return RedisURL(
        library="valkey" if family.startswith("valkey") else "redis",
        topology=topology or "server",
        tls=FAMILIES[family],
        hosts=hosts,
        user=user,
        password=password,
        path=slash + path,
        query=parse_qsl(query, keep_blank_values=True),
    )


def _host(part: str, default: int, url: str) -> tuple[str, int]:
    part = part.strip()
    if part.startswith("["):
        host, bracket, port = part[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            raise ValueError(f"{url!r}: malformed host {part!r}.")
        port = port[1:]
    else:
        host, _, port = part.partition(":")
    if not host:
        raise ValueError(f"{url!r}: a host is missing.")
    if not port:
        return unquote(host), default
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{url!r}: {port!r} is not a port.")
    return unquote(host), int(port)


def check_redis_url(url: str) -> None:
    """Check the form of a Redis or Valkey URL without connecting.

    :raises ValueError: What is wrong with it.
    """
    if url.lower().startswith("unix:"):
        return
    parts = split_url(url)
    segments = [s for s in parts.path.split("/") if s]
    query = dict(parts.query)
    if parts.topology == "cluster":
        if segments not in ([], ["0"]):
            raise ValueError(
                f"{url!r}: a Redis Cluster has only database 0; leave the path out."
            )
    elif parts.topology == "sentinel":
        service = query.get("service_name") or (segments[0] if segments else "")
        if not service:
            raise ValueError(
                f"{url!r}: name the monitored service, as in"
                " redis+sentinel://host:26379/mymaster/0."
            )
        db = query.get("db") or (segments[1] if len(segments) > 1 else "0")
        if not db.isdigit() or len(segments) > 2:
            raise ValueError(f"{url!r}: the path is /service_name[/db].")
    elif len(segments) > 1 or (segments and not segments[0].isdigit()):
        raise ValueError(f"{url!r}: the path is the database number, as in /0.")


def _library(preferred: str) -> t.Any:
    """The client library: ``valkey`` for Valkey URLs when it is installed,
    else ``redis``.

    :raises ValueError: Neither is installed.
    """
    order = ("valkey", "redis") if preferred == "valkey" else ("redis", "valkey")
    for name in order:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ValueError(
        "a Redis URL needs the redis package: pip install 'flask-scopes[redis]'."
    )


def _connection_kwargs(library: t.Any, parts: RedisURL, db: str) -> dict[str, t.Any]:
    """The client's own parsing of the URL's credentials and options."""
    auth = ""
    if parts.user is not None or parts.password is not None:
        auth = quote(parts.user or "", safe="")
        if parts.password is not None:
            auth += ":" + quote(parts.password, safe="")
        auth += "@"
    scheme = (
        ("rediss" if parts.tls else "redis")
        if library.__name__ == "redis"
        else ("valkeys" if parts.tls else "valkey")
    )
    bare = f"{scheme}://{auth}localhost/{db}?{urlencode(parts.query)}"
    kwargs: dict[str, t.Any] = library.connection.parse_url(bare)
    for name in ("host", "port", "path", "connection_class"):
        kwargs.pop(name, None)
    kwargs.setdefault("socket_timeout", DEFAULT_TIMEOUT)
    kwargs.setdefault("socket_connect_timeout", DEFAULT_TIMEOUT)
    if parts.tls:
        kwargs["ssl"] = True
    return kwargs


def client_from_url(url: str) -> t.Any:
    """A client for a Redis or Valkey URL, without connecting.

    :raises ValueError: The URL can't be used.
    """
    check_redis_url(url)
    if url.lower().startswith("unix:"):
        library = _library("redis")
        return library.from_url(
            _unix_url(url),
            socket_timeout=DEFAULT_TIMEOUT,
            socket_connect_timeout=DEFAULT_TIMEOUT,
        )
    parts = split_url(url)
    library = _library(parts.library)
    segments = [s for s in parts.path.split("/") if s]
    if parts.topology == "server":
        kwargs = _connection_kwargs(library, parts, segments[0] if segments else "0")
        ((host, port),) = parts.hosts
        client_class = getattr(library, "Valkey", None) or library.Redis
        return client_class(host=host, port=port, **kwargs)
    if parts.topology == "cluster":
        kwargs = _connection_kwargs(library, parts, "0")
        kwargs.pop("db", None)
        cluster = importlib.import_module(f"{library.__name__}.cluster")
        cluster_class = getattr(cluster, "ValkeyCluster", None) or cluster.RedisCluster
        nodes = [cluster.ClusterNode(host, port) for host, port in parts.hosts]
        return cluster_class(startup_nodes=nodes, **kwargs)
    query = [(k, v) for k, v in parts.query if k not in _SENTINEL_OPTIONS]
    options = dict(parts.query)
    service = options.get("service_name") or segments[0]
    db = options.get("db") or (segments[1] if len(segments) > 1 else "0")
    kwargs = _connection_kwargs(library, parts._replace(query=query), db)
    # The Sentinels share the timeouts and TLS settings of the data nodes.
    sentinel_kwargs: dict[str, t.Any] = {
        name: value
        for name, value in kwargs.items()
        if name in ("socket_timeout", "socket_connect_timeout", "ssl")
        or name.startswith("ssl_")
    }
    for option in ("username", "password"):
        value = options.get(f"sentinel_{option}")
        if value:
            sentinel_kwargs[option] = value
    sentinel = importlib.import_module(f"{library.__name__}.sentinel")
    found = sentinel.Sentinel(parts.hosts, sentinel_kwargs=sentinel_kwargs, **kwargs)
    return found.master_for(service)


def _unix_url(url: str) -> str:
    """A ``unix:`` URL as the clients read it: ``unix:///path``, also for
    ``unix:/path``, which they refuse."""
    rest = url[len("unix:") :]
    if rest.startswith("/") and not rest.startswith("//"):
        rest = "//" + rest
    return f"unix:{rest}"


_SENTINEL_OPTIONS = ("service_name", "db", "sentinel_username", "sentinel_password")


def _loaded_classes(names: t.Iterable[tuple[str, str]]) -> tuple[type, ...]:
    found = []
    for module, name in names:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type):
            found.append(cls)
    return tuple(found)


def is_cluster_client(value: object) -> bool:
    """Whether ``value`` is a Redis or Valkey Cluster client."""
    return isinstance(value, _loaded_classes(_CLUSTER_CLIENTS))


def is_redis_client(value: object) -> bool:
    """Whether ``value`` is a Redis or Valkey client: of one server, a
    Sentinel primary, or a Cluster."""
    return isinstance(value, _loaded_classes(_SERVER_CLIENTS + _CLUSTER_CLIENTS))
