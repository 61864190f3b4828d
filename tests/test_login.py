"""Flask-Login, and an extension built on it, with no code of the app's:
signing in regenerates and binds the session, signing out ends it."""

from __future__ import annotations

import typing as t

import flask_login
import flask_security
import pytest
from flask import Flask
from flask import session

from flask_scopes import Scopes

from .conftest import SECRET
from .security_models import db
from .security_models import Role as SecurityRole
from .security_models import User as SecurityUser
from .store_modes import MODES
from .store_modes import store_config
from .store_modes import STORE_MODES
from .test_stores import entry_names

AppFactory = t.Callable[..., Flask]


class User(flask_login.UserMixin):  # type: ignore[misc]
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def add_views(app: Flask, scopes: Scopes) -> None:
    @app.get("/login/<uid>")
    def login(uid: str) -> str:
        remember = "remember" in flask_login.utils.request.args
        flask_login.login_user(User(uid), remember=remember)
        return "ok"

    @app.get("/logout")
    def logout() -> str:
        flask_login.logout_user()
        return "ok"

    @app.get("/me")
    def me() -> str:
        user = flask_login.current_user
        return str(user.get_id()) if user.is_authenticated else "anonymous"

    @app.get("/set/<key>/<value>")
    def set_(key: str, value: str) -> str:
        session[key] = value
        return "ok"

    @app.get("/get/<key>")
    def get(key: str) -> str:
        return repr(session.get(key))

    @app.get("/revoke/<uid>")
    def revoke(uid: str) -> str:
        scopes.revoke_user(uid)
        return "ok"


@pytest.fixture
def login_app(request: pytest.FixtureRequest, clock: t.Any) -> t.Callable[..., Flask]:
    """Build an app with Flask-Login in a mode, set up in either order."""

    def factory(mode: str, order: str = "scopes-first", **config: t.Any) -> Flask:
        app = Flask(__name__)
        app.config.update(SECRET_KEY=SECRET, TESTING=True)
        app.config.update(store_config(mode, request))
        app.config.update(config)
        scopes = Scopes(clock=clock)
        manager = flask_login.LoginManager()
        manager.user_loader(User)
        if order == "scopes-first":
            scopes.init_app(app)
            manager.init_app(app)
        else:
            manager.init_app(app)
            scopes.init_app(app)
        add_views(app, scopes)
        return app

    return factory


def cookie(client: t.Any) -> str | None:
    found = client.get_cookie("session")
    return None if found is None else t.cast(str, found.value)


@pytest.mark.parametrize("order", ["scopes-first", "login-first"])
@pytest.mark.parametrize("mode", STORE_MODES)
def test_login_user_changes_the_id(
    login_app: t.Callable[..., Flask], mode: str, order: str
) -> None:
    app = login_app(mode, order)
    client = app.test_client()
    client.get("/set/cart/3")
    before = cookie(client)
    assert before is not None
    client.get("/login/alice")
    after = cookie(client)
    assert after is not None and after != before
    assert client.get("/me").text == "alice"
    assert client.get("/get/cart").text == "'3'"
    # The old id no longer names anything.
    stale = app.test_client()
    stale.set_cookie("session", before)
    assert stale.get("/get/cart").text == "None"
    assert len(entry_names(app)) == 1


@pytest.mark.parametrize("mode", STORE_MODES)
def test_planted_id_never_becomes_the_victims_session(
    login_app: t.Callable[..., Flask], mode: str
) -> None:
    app = login_app(mode)
    attacker = app.test_client()
    attacker.get("/set/trap/1")
    planted = cookie(attacker)
    assert planted is not None
    victim = app.test_client()
    victim.set_cookie("session", planted)
    victim.get("/login/alice")
    assert cookie(victim) != planted
    assert victim.get("/me").text == "alice"
    # The attacker's copy of the id is worth nothing.
    assert attacker.get("/me").text == "anonymous"
    assert attacker.get("/get/trap").text == "None"


@pytest.mark.parametrize("order", ["scopes-first", "login-first"])
@pytest.mark.parametrize("mode", MODES)
def test_revoke_user_needs_no_bind_user(
    login_app: t.Callable[..., Flask], mode: str, order: str
) -> None:
    app = login_app(mode, order)
    phone, laptop, other = app.test_client(), app.test_client(), app.test_client()
    phone.get("/login/alice")
    laptop.get("/login/alice")
    other.get("/login/bob")
    assert phone.get("/me").text == laptop.get("/me").text == "alice"
    other.get("/revoke/alice")
    assert phone.get("/me").text == "anonymous"
    assert laptop.get("/me").text == "anonymous"
    assert other.get("/me").text == "bob"


@pytest.mark.parametrize("mode", STORE_MODES)
def test_logout_user_leaves_no_entry(
    login_app: t.Callable[..., Flask], mode: str
) -> None:
    app = login_app(mode)
    client = app.test_client()
    client.get("/set/cart/3")
    client.get("/login/alice")
    signed_in = cookie(client)
    assert entry_names(app)
    response = client.get("/logout")
    assert entry_names(app) == []
    assert cookie(client) is None
    assert any(
        h.startswith("session=;") for h in response.headers.getlist("Set-Cookie")
    )
    assert client.get("/me").text == "anonymous"
    # A copy of the signed-in cookie is worth nothing either.
    replay = app.test_client()
    replay.set_cookie("session", t.cast(str, signed_in))
    assert replay.get("/me").text == "anonymous"


def test_logout_keeps_the_remember_cookie_deletion(
    login_app: t.Callable[..., Flask],
) -> None:
    app = login_app("simple")
    client = app.test_client()
    client.get("/login/alice?remember=1")
    assert client.get_cookie("remember_token") is not None
    client.get("/logout")
    assert client.get_cookie("remember_token") is None
    assert entry_names(app) == []
    assert client.get("/me").text == "anonymous"


def test_remember_cookie_sign_in_regenerates(
    login_app: t.Callable[..., Flask],
) -> None:
    app = login_app("simple")
    client = app.test_client()
    client.get("/login/alice?remember=1")
    remember = client.get_cookie("remember_token")
    assert remember is not None
    # A new browser session: only the remember cookie, and an id planted
    # by someone else.
    attacker = app.test_client()
    attacker.get("/set/trap/1")
    planted = cookie(attacker)
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember.value)
    fresh.set_cookie("session", t.cast(str, planted))
    assert fresh.get("/me").text == "alice"
    assert cookie(fresh) not in (None, planted)
    assert attacker.get("/me").text == "anonymous"
    fresh.get("/revoke/alice")
    client.delete_cookie("remember_token")
    assert client.get("/me").text == "anonymous"


@pytest.mark.parametrize("mode", MODES)
def test_setting_turns_it_off(login_app: t.Callable[..., Flask], mode: str) -> None:
    app = login_app(mode, SCOPES_FLASK_LOGIN=False)
    client = app.test_client()
    client.get("/set/cart/3")
    before = cookie(client)
    client.get("/login/alice")
    assert client.get("/me").text == "alice"
    with client.session_transaction() as sess:
        assert "_scopes_user" not in sess
    if mode != "cookie":
        assert cookie(client) == before
    client.get("/logout")
    assert client.get("/get/cart").text == "'3'"


def test_cookie_mode_login_restarts_the_absolute_timeout(
    login_app: t.Callable[..., Flask], clock: t.Any
) -> None:
    app = login_app("cookie", SCOPES_SESSION_ABSOLUTE_TIMEOUT=100)
    client = app.test_client()
    client.get("/set/cart/3")
    clock.advance(90)
    client.get("/login/alice")
    clock.advance(50)
    assert client.get("/me").text == "alice"
    clock.advance(60)
    assert client.get("/me").text == "anonymous"


def test_app_without_login_manager_is_left_alone(
    make_app: AppFactory,
) -> None:
    # Another app of the same process uses Flask-Login; this one doesn't.
    app = make_app(SCOPES_SESSION_STORE="simple://")

    @app.get("/send")
    def send() -> str:
        session["x"] = 1
        flask_login.signals.user_logged_in.send(app, user=User("alice"))
        return repr(session.get("_scopes_user"))

    assert app.test_client().get("/send").text == "None"


# -- Flask-Security-Too, built on Flask-Login ---------------------------------------


@pytest.fixture
def security_app(
    request: pytest.FixtureRequest, clock: t.Any
) -> t.Callable[..., Flask]:
    def factory(mode: str) -> Flask:
        app = Flask(__name__)
        app.config.update(
            SECRET_KEY=SECRET,
            TESTING=True,
            SQLALCHEMY_DATABASE_URI="sqlite://",
            SECURITY_PASSWORD_SALT="salt",
            SECURITY_PASSWORD_HASH="pbkdf2_sha512",
            WTF_CSRF_ENABLED=False,
        )
        app.config.update(store_config(mode, request))
        scopes = Scopes(app, clock=clock)
        db.init_app(app)
        datastore = flask_security.SQLAlchemyUserDatastore(
            db, SecurityUser, SecurityRole
        )
        flask_security.Security(app, datastore)
        with app.app_context():
            db.create_all()
            for email in ("alice@example.com", "bob@example.com"):
                datastore.create_user(email=email, password="password-123!")
            db.session.commit()

        @app.get("/fs-login/<name>")
        def login(name: str) -> str:
            user = datastore.find_user(email=f"{name}@example.com")
            flask_security.login_user(user)
            db.session.commit()
            return str(user.get_id())

        @app.get("/fs-logout")
        def logout() -> str:
            flask_security.logout_user()
            return "ok"

        @app.get("/fs-me")
        def me() -> str:
            user = flask_security.current_user
            return str(user.email) if user.is_authenticated else "anonymous"

        @app.get("/fs-set")
        def set_() -> str:
            session["trap"] = 1
            return "ok"

        @app.get("/fs-revoke/<uid>")
        def revoke(uid: str) -> str:
            scopes.revoke_user(uid)
            return "ok"

        return app

    return factory


@pytest.mark.parametrize("mode", STORE_MODES)
def test_flask_security(security_app: t.Callable[..., Flask], mode: str) -> None:
    app = security_app(mode)
    attacker = app.test_client()
    attacker.get("/fs-set")
    planted = cookie(attacker)
    victim = app.test_client()
    victim.set_cookie("session", t.cast(str, planted))
    uid = victim.get("/fs-login/alice").text
    assert cookie(victim) not in (None, planted)
    assert victim.get("/fs-me").text == "alice@example.com"
    assert attacker.get("/fs-me").text == "anonymous"

    laptop = app.test_client()
    laptop.get("/fs-login/alice")
    bob = app.test_client()
    bob.get("/fs-login/bob")
    bob.get(f"/fs-revoke/{uid}")
    assert victim.get("/fs-me").text == "anonymous"
    assert laptop.get("/fs-me").text == "anonymous"
    assert bob.get("/fs-me").text == "bob@example.com"

    # Revoked sessions' entries are left to expire; bob's goes at once.
    before = entry_names(app)
    bob.get("/fs-logout")
    assert bob.get("/fs-me").text == "anonymous"
    assert cookie(bob) is None
    assert len(entry_names(app)) == len(before) - 1
