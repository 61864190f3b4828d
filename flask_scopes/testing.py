"""A behavioural test suite for session stores, to run against a store of
your own with pytest.

Subclass :class:`StoreContractTests` in a test module and override its
``make_store`` fixture with one that returns a factory: given a clock, it
builds a store, empty, that reads the time from that clock::

    import pytest
    from flask_scopes.testing import StoreContractTests

    class TestMyStore(StoreContractTests):
        @pytest.fixture
        def make_store(self, tmp_path):
            return lambda clock: MyStore(tmp_path, clock=clock)

Every test then runs against it: the operations of
:class:`~flask_scopes.stores.BaseSessionStore`, expiry, and a Flask app
that signs in, signs out and revokes users on it. A store that expires
entries by its own clock (Redis, cachelib's SimpleCache) sets
:attr:`~StoreContractTests.follows_clock` to ``False``: its expiry test
then waits two seconds.

It needs pytest, which flask-scopes does not install.

.. versionadded:: 0.2
"""

from __future__ import annotations

import secrets
import time
import typing as t

import pytest
from flask import Flask
from flask import session

from .extension import Scopes
from .stores import BaseSessionStore

#: Builds an empty store that reads the time from the clock it is given.
StoreFactory = t.Callable[[t.Callable[[], float]], BaseSessionStore]


class ManualClock:
    """A clock that moves only when told to.

    :param now: The Unix time it starts at.
    """

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


def _tag() -> str:
    return secrets.token_urlsafe(16)


def _name(kind: str = "s", tag: str | None = None) -> str:
    # Names shaped like the real ones: a session id under a user's hash
    # tag, or a user's marker. Names read together share the tag, as they
    # do in the app, so that a Redis Cluster keeps them in one slot.
    return f"{kind}:{{{tag or _tag()}}}Ab{secrets.token_urlsafe(32)}"


def _add_sign_in_views(app: Flask) -> Flask:
    """``/login/<user>`` binds the session to ``user`` and stores it,
    ``/user`` shows it, ``/logout`` clears the session."""

    @app.get("/login/<user>")
    def login(user: str) -> str:
        session.bind_user(user)  # type: ignore[attr-defined]
        session["user"] = user
        return "ok"

    @app.get("/user")
    def user() -> str:
        return str(session.get("user"))

    @app.get("/logout")
    def logout() -> str:
        session.clear()
        return "ok"

    return app


class StoreContractTests:
    """The tests every :class:`~flask_scopes.stores.BaseSessionStore`
    passes. Override :meth:`make_store`; see :mod:`flask_scopes.testing`.

    .. versionadded:: 0.2
    """

    #: Whether expiry follows the clock given to the factory. If not, the
    #: expiry test waits for real time to pass.
    follows_clock = True

    @pytest.fixture
    def make_store(self) -> StoreFactory:
        """Override: return a factory of empty stores."""
        raise NotImplementedError("override the make_store fixture")

    @pytest.fixture
    def store_clock(self) -> ManualClock:
        """The clock handed to the factory."""
        return ManualClock()

    @pytest.fixture
    def store(
        self, make_store: StoreFactory, store_clock: ManualClock
    ) -> BaseSessionStore:
        """The store under test."""
        return make_store(store_clock)

    def pass_time(self, clock: ManualClock, seconds: int) -> None:
        """Let ``seconds`` pass for the store."""
        if self.follows_clock:
            clock.advance(seconds)
        else:
            time.sleep(seconds)

    # -- the operations ------------------------------------------------------

    def test_is_a_session_store(self, store: BaseSessionStore) -> None:
        assert isinstance(store, BaseSessionStore)
        assert isinstance(store.describe(), str) and store.describe()
        assert isinstance(store.key("s:x"), str)
        assert isinstance(store.expires_by_itself, bool)

    def test_missing_entries(self, store: BaseSessionStore) -> None:
        tag = _tag()
        a, b = _name(tag=tag), _name("u", tag)
        assert store.get(a) is None
        assert store.get_many(a, b) == [None, None]
        assert store.delete(a) is False
        assert store.replace(a, b"1", 60) is False
        assert store.get(a) is None

    def test_values_are_kept_byte_for_byte(self, store: BaseSessionStore) -> None:
        tag = _tag()
        names = [_name(tag=tag) for _ in range(3)]
        values = [b'[1,1,2,{"a":null}]', bytes(range(256)) * 4, b"\x80\x00'\"\\"]
        for name, value in zip(names, values, strict=True):
            store.set(name, value, 60)
        for name, value in zip(names, values, strict=True):
            found = store.get(name)
            assert type(found) is bytes and found == value
        assert store.get_many(*names) == values

    def test_large_value(self, store: BaseSessionStore) -> None:
        name, value = _name(), secrets.token_bytes(1024 * 1024)
        store.set(name, value, 60)
        assert store.get(name) == value

    def test_names_are_distinct(self, store: BaseSessionStore) -> None:
        tag, ident = _tag(), _name()[-45:]
        idents = [ident, ident.upper(), ident.lower(), ident + "x", ident[:-1]]
        names = [f"s:{{{tag}}}{i}" for i in idents] + [f"u:{{{tag}}}{ident}"]
        for i, name in enumerate(names):
            store.set(name, str(i).encode(), 60)
        assert store.get_many(*names) == [str(i).encode() for i in range(len(names))]

    def test_set_overwrites(self, store: BaseSessionStore) -> None:
        name = _name("u")
        store.set(name, b"1", 60)
        store.set(name, b"2", 60)
        assert store.get(name) == b"2"

    def test_add_only_if_absent(self, store: BaseSessionStore) -> None:
        name = _name()
        assert store.add(name, b"1", 60) is True
        assert store.add(name, b"2", 60) is False
        assert store.get(name) == b"1"

    def test_replace_only_if_present(self, store: BaseSessionStore) -> None:
        name = _name()
        assert store.replace(name, b"1", 60) is False
        assert store.get(name) is None
        store.add(name, b"1", 60)
        assert store.replace(name, b"2", 60) is True
        assert store.get(name) == b"2"

    def test_delete_says_whether_it_existed(self, store: BaseSessionStore) -> None:
        name = _name()
        store.set(name, b"1", 60)
        assert store.delete(name) is True
        assert store.get(name) is None
        assert store.delete(name) is False
        assert store.replace(name, b"2", 60) is False
        assert store.get(name) is None

    def test_get_many_keeps_the_order(self, store: BaseSessionStore) -> None:
        tag = _tag()
        names = [_name(tag=tag) for _ in range(4)]
        store.set(names[2], b"2", 60)
        store.set(names[0], b"0", 60)
        assert store.get_many(*names) == [b"0", None, b"2", None]
        assert store.get_many(names[2]) == [b"2"]

    def test_expiry(self, store: BaseSessionStore, store_clock: ManualClock) -> None:
        tag = _tag()
        short, renewed, long = _name(tag=tag), _name(tag=tag), _name("u", tag)
        store.set(short, b"short", 1)
        store.set(renewed, b"renewed", 1)
        store.set(long, b"long", 3600)
        assert store.replace(renewed, b"renewed", 3600) is True
        self.pass_time(store_clock, 2)
        # Expired entries are never served, purged or not.
        assert store.get(short) is None
        assert store.get_many(short, renewed, long) == [None, b"renewed", b"long"]
        assert store.replace(short, b"again", 60) is False
        assert store.get(short) is None
        assert store.delete(short) is False
        assert store.add(short, b"new", 60) is True
        assert store.get(short) == b"new"

    def test_purge_keeps_live_entries(
        self, store: BaseSessionStore, store_clock: ManualClock
    ) -> None:
        live, dead = _name(), _name()
        store.set(live, b"1", 3600)
        store.set(dead, b"2", 1)
        self.pass_time(store_clock, 2)
        removed = store.purge_expired()
        assert isinstance(removed, int)
        if store.expires_by_itself:
            assert removed == 0
        else:
            assert removed >= 1
            assert store.purge_expired() == 0
        assert store.get(live) == b"1"
        assert store.get(dead) is None

    # -- in an app -----------------------------------------------------------

    @pytest.fixture
    def store_app(self, store: BaseSessionStore) -> tuple[Flask, Scopes]:
        """A Flask app whose sessions live in the store under test."""
        scopes = Scopes()
        app = Flask(__name__)
        app.config.update(SECRET_KEY="store-contract", SCOPES_SESSION_STORE=store)
        scopes.init_app(app)
        _add_sign_in_views(app)

        @app.get("/save-after-logout")
        def save_after_logout() -> str:
            # Another request signs out while this one runs.
            store.delete(t.cast(str, session.store_entry))  # type: ignore[attr-defined]
            session["cart"] = "full"
            return "ok"

        @app.get("/revoke/<user>")
        def revoke(user: str) -> str:
            scopes.revoke_user(user)
            return "ok"

        return app, scopes

    def test_app_sessions(self, store_app: tuple[Flask, Scopes]) -> None:
        app, _ = store_app
        client = app.test_client()
        assert client.get("/user").text == "None"
        client.get("/login/ada")
        assert client.get("/user").text == "ada"
        client.get("/logout")
        assert client.get("/user").text == "None"

    def test_app_sign_out_wins(self, store_app: tuple[Flask, Scopes]) -> None:
        app, _ = store_app
        client = app.test_client()
        client.get("/login/ada")
        copied = client.get_cookie("session")
        assert copied is not None
        assert client.get("/save-after-logout").status_code == 200
        assert client.get("/user").text == "None"
        replay = app.test_client()
        replay.set_cookie("session", copied.value)
        assert replay.get("/user").text == "None"

    def test_app_revoke_user(self, store_app: tuple[Flask, Scopes]) -> None:
        app, _ = store_app
        phone, laptop, other = app.test_client(), app.test_client(), app.test_client()
        phone.get("/login/ada")
        laptop.get("/login/ada")
        other.get("/login/bob")
        other.get("/revoke/ada")
        assert phone.get("/user").text == "None"
        assert laptop.get("/user").text == "None"
        assert other.get("/user").text == "bob"
