"""Every built-in store passes the reusable suite of
:mod:`flask_scopes.testing`: SimpleCache, FileSystemCache, a real Redis
server, a real Redis Cluster and Sentinel, SQLite and a real PostgreSQL
server."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from cachelib import FileSystemCache
from cachelib import RedisCache

from flask_scopes import BaseSessionStore
from flask_scopes import FileSystemSessionStore
from flask_scopes import RedisSessionStore
from flask_scopes import SessionStore
from flask_scopes.stores import open_store
from flask_scopes.stores.sql import SQLSessionStore
from flask_scopes.testing import StoreContractTests
from flask_scopes.testing import StoreFactory

from .postgres_server import postgres_url as postgres_url

if t.TYPE_CHECKING:
    from pathlib import Path

    from .redis_server import RedisServer
    from .redis_topologies import LocalCluster
    from .redis_topologies import LocalSentinel


class TestSimpleCacheStore(StoreContractTests):
    follows_clock = False

    @pytest.fixture
    def make_store(self) -> StoreFactory:
        return lambda clock: open_store("simple://", clock=clock)


class TestFileSystemStore(StoreContractTests):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> StoreFactory:
        return lambda clock: FileSystemSessionStore(
            FileSystemCache(str(tmp_path)), clock=clock
        )


@pytest.mark.redis
class TestRedisStore(StoreContractTests):
    follows_clock = False

    @pytest.fixture
    def make_store(self, redis_server: RedisServer) -> StoreFactory:
        return lambda clock: RedisSessionStore(
            RedisCache(redis_server.client()), clock=clock
        )


@pytest.mark.redis
class TestRedisClusterStore(StoreContractTests):
    follows_clock = False

    @pytest.fixture
    def make_store(self, redis_cluster: LocalCluster) -> StoreFactory:
        return lambda clock: open_store(redis_cluster.client(), clock=clock)


@pytest.mark.redis
class TestRedisSentinelStore(StoreContractTests):
    follows_clock = False

    @pytest.fixture
    def make_store(self, redis_sentinel: LocalSentinel) -> StoreFactory:
        return lambda clock: open_store(redis_sentinel.client(), clock=clock)


class TestSQLiteStore(StoreContractTests):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> t.Iterator[StoreFactory]:
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'sessions.db'}")
        yield lambda clock: SQLSessionStore(engine, create_table=True, clock=clock)
        engine.dispose()


class TestSQLitePortableStore(TestSQLiteStore):
    """The statements used where ``INSERT ... ON CONFLICT`` is missing
    (MySQL, MariaDB...), run on SQLite."""

    @pytest.fixture
    def store(
        self, make_store: StoreFactory, store_clock: t.Callable[[], float]
    ) -> BaseSessionStore:
        store = make_store(store_clock)
        t.cast(SQLSessionStore, store).native_add = False
        return store


@pytest.fixture
def postgres_engine(postgres_url: str) -> t.Iterator[sa.Engine]:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS scopes_sessions"))
    yield engine
    engine.dispose()


@pytest.mark.postgres
class TestPostgreSQLStore(StoreContractTests):
    @pytest.fixture
    def make_store(self, postgres_engine: sa.Engine) -> StoreFactory:
        return lambda clock: SQLSessionStore(
            postgres_engine, create_table=True, clock=clock
        )


def test_every_built_in_store_is_a_session_store() -> None:
    for store in (SessionStore, FileSystemSessionStore, RedisSessionStore):
        assert issubclass(store, BaseSessionStore)
    assert issubclass(SQLSessionStore, BaseSessionStore)


def test_the_suite_needs_a_factory() -> None:
    with pytest.raises(NotImplementedError):
        StoreContractTests.make_store.__wrapped__(StoreContractTests())  # type: ignore[attr-defined]
