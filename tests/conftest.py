from __future__ import annotations

import time
import typing as t

import pytest
from flask import Flask

from flask_scopes import Scopes
from flask_scopes.testing import ManualClock

from .redis_server import redis_process as redis_process
from .redis_server import redis_server as redis_server
from .redis_topologies import cluster_process as cluster_process
from .redis_topologies import redis_cluster as redis_cluster
from .redis_topologies import redis_sentinel as redis_sentinel
from .redis_topologies import sentinel_process as sentinel_process

SECRET = "test-secret-key"


#: A clock the tests move by hand: time never passes by itself.
FakeClock = ManualClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def real_clock(clock: FakeClock) -> FakeClock:
    """The fake clock set to the real time, for cookies signed by libraries
    that read the real clock (Flask's own session)."""
    clock.now = time.time()
    return clock


@pytest.fixture
def make_app(clock: FakeClock) -> t.Callable[..., Flask]:
    """Build an app with the extension installed. Keyword arguments become
    configuration keys; ``scopes`` passes a ready extension."""

    def factory(scopes: Scopes | None = None, **config: t.Any) -> Flask:
        app = Flask(__name__)
        app.config.update(SECRET_KEY=SECRET, TESTING=True)
        app.config.update(config)
        (scopes or Scopes(clock=clock)).init_app(app)
        return app

    return factory


@pytest.fixture
def app(make_app: t.Callable[..., Flask]) -> Flask:
    return make_app()
