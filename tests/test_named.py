"""Named session scopes: declared once, used by name, each with its own
cookie, lifetime, timeouts, store and salt, lazy like ``flask.session``."""

from __future__ import annotations

import secrets
import typing as t
from datetime import timedelta

import pytest
from cachelib import RedisCache
from cachelib import SimpleCache
from flask import Flask
from flask import render_template_string
from flask import session

from flask_scopes import ConfigurationError
from flask_scopes import Scopes
from flask_scopes import ScopesError
from flask_scopes import sessions
from flask_scopes import SessionTooLarge

from .conftest import FakeClock
from .conftest import SECRET
from .helpers import attributes
from .helpers import cookie_value
from .helpers import set_cookies
from .helpers import vary
from .redis_server import RedisServer

pytestmark = pytest.mark.redis

DAY = 86400


#: Commands that are not the store's work: connecting and counting.
OVERHEAD = {"info", "hello", "ping", "select", "client", "client|setinfo"}


def commands(server: RedisServer) -> dict[str, int]:
    """How many times the Redis server ran each data command so far."""
    stats = server.client().info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(stat["calls"])
        for name, stat in stats.items()
        if name.removeprefix("cmdstat_") not in OVERHEAD
    }


@pytest.fixture
def shop(
    redis_server: RedisServer, clock: FakeClock
) -> t.Callable[..., tuple[Flask, Scopes]]:
    """An app with two named scopes beside ``flask.session``: ``prefs`` in
    a permanent cookie for a year, and ``cart`` in Redis under ``/shop``,
    with a ten-minute idle timeout."""

    def factory(**config: t.Any) -> tuple[Flask, Scopes]:
        scopes = Scopes(clock=clock)
        scopes.add_session(
            "prefs",
            permanent=True,
            lifetime=timedelta(days=365),
            idle_timeout=None,
            refresh_each_request=False,
        )
        scopes.add_session(
            "cart",
            cookie_name="cart_id",
            cookie_path="/shop",
            store=RedisCache(redis_server.client()),
            idle_timeout=600,
            lifetime=DAY,
            permanent=True,
        )
        app = Flask(__name__)
        app.config.update(SECRET_KEY=SECRET, TESTING=True, **config)
        scopes.init_app(app)

        @app.get("/shop/both/<theme>/<item>")
        def both(theme: str, item: str) -> str:
            sessions["prefs"]["theme"] = theme
            sessions.cart["items"] = [item]
            return f"{sessions.prefs['theme']} {sessions['cart']['items']}"

        @app.get("/shop/read")
        def read() -> str:
            return f"{sessions.prefs.get('theme')} {sessions.cart.get('items')}"

        @app.get("/shop/untouched")
        def untouched() -> str:
            return "ok"

        @app.get("/shop/default/<value>")
        def default(value: str) -> str:
            session["value"] = value
            return "ok"

        @app.get("/shop/template")
        def template() -> str:
            return render_template_string(
                "{{ sessions.prefs.theme }}|{{ sessions['cart']['items'] }}"
                "|{{ 'prefs' in sessions }}|{{ sessions.nope is defined }}"
            )

        return app, scopes

    return factory


# -- one request, two scopes -----------------------------------------------------


def test_both_written_and_read_in_one_request(
    shop: t.Callable[..., tuple[Flask, Scopes]], redis_server: RedisServer
) -> None:
    app, _ = shop()
    client = app.test_client()
    response = client.get("/shop/both/dark/apple")
    assert response.text == "dark ['apple']"
    prefs = attributes(set_cookies(response, "prefs")[0])
    cart = attributes(set_cookies(response, "cart_id")[0])
    assert prefs["path"] == "/"
    assert cart["path"] == "/shop"
    assert prefs["max-age"] == str(365 * DAY)
    assert cart["max-age"] == "600"
    assert set_cookies(response, "session") == []
    # The cart's data is in Redis; its cookie carries only a signed id.
    assert "apple" not in cookie_value(response, "cart_id")
    assert any(
        key.startswith(b"flask_scopes") or b"s:" in key
        for key in redis_server.client().keys()
    )
    assert client.get("/shop/read").text == "dark ['apple']"


def test_the_default_scope_is_apart(
    shop: t.Callable[..., tuple[Flask, Scopes]],
) -> None:
    app, _ = shop()
    client = app.test_client()
    client.get("/shop/both/dark/apple")
    response = client.get("/shop/default/x")
    assert set_cookies(response, "session")
    assert set_cookies(response, "prefs") == []
    assert set_cookies(response, "cart_id") == []
    assert client.get("/shop/read").text == "dark ['apple']"


def test_templates_reach_named_scopes(
    shop: t.Callable[..., tuple[Flask, Scopes]],
) -> None:
    app, _ = shop()
    client = app.test_client()
    client.get("/shop/both/dark/apple")
    assert client.get("/shop/template").text == "dark|[&#39;apple&#39;]|True|False"


# -- lazy -------------------------------------------------------------------------


def test_an_untouched_scope_costs_nothing(
    shop: t.Callable[..., tuple[Flask, Scopes]], redis_server: RedisServer
) -> None:
    app, _ = shop()
    client = app.test_client()
    client.get("/shop/both/dark/apple")
    before = commands(redis_server)
    response = client.get("/shop/untouched")
    assert commands(redis_server) == before
    assert response.headers.getlist("Set-Cookie") == []
    assert vary(response) == []


def test_a_scope_touched_alone_costs_only_itself(
    shop: t.Callable[..., tuple[Flask, Scopes]], redis_server: RedisServer
) -> None:
    app, _ = shop()

    @app.get("/shop/prefs")
    def prefs() -> str:
        return str(sessions.prefs.get("theme"))

    client = app.test_client()
    client.get("/shop/both/dark/apple")
    before = commands(redis_server)
    response = client.get("/shop/prefs")
    assert response.text == "dark"
    assert commands(redis_server) == before
    assert response.headers.getlist("Set-Cookie") == []
    assert vary(response) == ["Cookie"]


# -- own salt -------------------------------------------------------------------

MODES = ["cookie", "encrypted", "store"]


def twin_scopes(mode: str, redis_server: RedisServer) -> dict[str, t.Any]:
    """Two scopes alike in all but their name, in one mode, sharing one
    store in store mode."""
    options: dict[str, t.Any] = {}
    if mode == "encrypted":
        options["encrypt"] = True
    if mode == "store":
        options["store"] = RedisCache(redis_server.client())
    return {"a": dict(options), "b": dict(options)}


@pytest.mark.parametrize("mode", MODES)
def test_a_cookie_of_one_scope_never_verifies_as_another(
    mode: str, redis_server: RedisServer, make_app: t.Callable[..., Flask]
) -> None:
    config: dict[str, t.Any] = {"SCOPES_SESSIONS": twin_scopes(mode, redis_server)}
    if mode == "encrypted":
        config["SCOPES_SESSION_ENCRYPT"] = True
    if mode == "store":
        config["SCOPES_SESSION_STORE"] = RedisCache(redis_server.client())
    app = make_app(**config)

    @app.get("/write")
    def write() -> str:
        sessions.a["who"] = "a"
        sessions.b["who"] = "b"
        session["who"] = "default"
        return "ok"

    @app.get("/read")
    def read() -> str:
        return f"{sessions.a.get('who')} {sessions.b.get('who')} {session.get('who')}"

    response = app.test_client().get("/write")
    values = {name: cookie_value(response, name) for name in ("a", "b", "session")}
    assert len(set(values.values())) == 3
    written = {"a": "a", "b": "b", "session": "default"}
    for owner, sent in values.items():
        client = app.test_client()
        for name in ("a", "b", "session"):
            client.set_cookie(name, sent)
        # Only the scope the value was made for reads it.
        found = client.get("/read").text.split()
        expected = [
            written[name] if name == owner else "None" for name in ("a", "b", "session")
        ]
        assert found == expected


def test_a_scope_encrypts_on_its_own(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(SCOPES_SESSIONS={"a": {"encrypt": True}})

    @app.get("/write")
    def write() -> str:
        sessions.a["who"] = "a"
        session["who"] = "default"
        return "ok"

    @app.get("/read")
    def read() -> str:
        return f"{sessions.a.get('who')} {session.get('who')}"

    client = app.test_client()
    response = client.get("/write")
    # The scope's cookie is encrypted; the default scope's is only signed.
    assert cookie_value(response, "a").startswith("e1.")
    assert cookie_value(response, "session").startswith("1.")
    assert client.get("/read").text == "a default"


# -- timeouts ------------------------------------------------------------------


def test_each_scope_times_out_on_its_own(
    shop: t.Callable[..., tuple[Flask, Scopes]], clock: FakeClock
) -> None:
    app, _ = shop(SCOPES_SESSION_IDLE_TIMEOUT=300)

    @app.get("/shop/all")
    def all_() -> str:
        return f"{sessions.prefs.get('theme')} {sessions.cart.get('items')} " + str(
            session.get("value")
        )

    client = app.test_client()
    client.get("/shop/both/dark/apple")
    client.get("/shop/default/x")

    clock.advance(301)
    # The default scope's idle timeout has passed; the cart's has not.
    assert client.get("/shop/all").text == "dark ['apple'] None"
    clock.advance(601)
    response = client.get("/shop/all")
    assert response.text == "dark None None"
    # The cart's ended session deletes its cookie, with its own path.
    deleted = attributes(set_cookies(response, "cart_id")[0])
    assert deleted["max-age"] == "0"
    assert deleted["path"] == "/shop"
    clock.advance(365 * DAY + 1)
    assert client.get("/shop/all").text == "None None None"


def test_each_scope_has_its_own_absolute_timeout(
    make_app: t.Callable[..., Flask], clock: FakeClock
) -> None:
    app = make_app(
        SCOPES_SESSION_ABSOLUTE_TIMEOUT=None,
        SCOPES_SESSIONS={"short": {"absolute_timeout": 300}},
    )

    @app.get("/write")
    def write() -> str:
        sessions.short["v"] = "s"
        session["v"] = "d"
        return "ok"

    @app.get("/read")
    def read() -> str:
        return f"{sessions.short.get('v')} {session.get('v')}"

    client = app.test_client()
    client.get("/write")
    # Requests keep both sessions active: only the scope's absolute limit
    # ends one of them.
    for _ in range(4):
        clock.advance(60)
        assert client.get("/read").text == "s d"
    clock.advance(61)
    response = client.get("/read")
    assert response.text == "None d"
    assert attributes(set_cookies(response, "short")[0])["max-age"] == "0"


def test_a_permanent_scope_needs_no_permanent_flag(
    shop: t.Callable[..., tuple[Flask, Scopes]],
) -> None:
    app, _ = shop()
    response = app.test_client().get("/shop/both/dark/apple")
    assert "expires" in attributes(set_cookies(response, "prefs")[0])


# -- identity across scopes -----------------------------------------------------


def test_regenerate_applies_to_its_scope_alone(
    shop: t.Callable[..., tuple[Flask, Scopes]],
) -> None:
    app, _ = shop()

    @app.get("/shop/regenerate")
    def regenerate() -> str:
        sessions.cart.regenerate()
        return "ok"

    client = app.test_client()
    first = client.get("/shop/both/dark/apple")
    response = client.get("/shop/regenerate")
    assert cookie_value(response, "cart_id") != cookie_value(first, "cart_id")
    assert set_cookies(response, "prefs") == []
    assert client.get("/shop/read").text == "dark ['apple']"


def test_revoke_user_ends_sessions_bound_in_any_scope(
    make_app: t.Callable[..., Flask], redis_server: RedisServer
) -> None:
    store = RedisCache(redis_server.client())
    app = make_app(
        SCOPES_SESSION_STORE=SimpleCache(threshold=1_000_000),
        SCOPES_SESSIONS={"admin": {"store": store, "idle_timeout": 60}},
    )
    scopes: Scopes = app.extensions["scopes"]

    @app.get("/login")
    def login() -> str:
        session.bind_user(7)
        sessions.admin.bind_user(7)
        sessions.admin["area"] = "x"
        return "ok"

    @app.get("/whoami")
    def whoami() -> str:
        return f"{session.bound_user} {sessions.admin.bound_user}"

    @app.get("/revoke")
    def revoke() -> str:
        scopes.revoke_user(7)
        return "ok"

    client = app.test_client()
    client.get("/login")
    assert client.get("/whoami").text == "7 7"
    app.test_client().get("/revoke")
    assert client.get("/whoami").text == "None None"


def test_revoke_user_also_forgets_the_default_scopes_devices(
    make_app: t.Callable[..., Flask],
) -> None:
    app = make_app(
        SCOPES_SESSION_STORE=SimpleCache(threshold=1_000_000),
        SCOPES_DEVICES=True,
        SCOPES_SESSIONS={"admin": {"store": SimpleCache(threshold=1_000_000)}},
    )
    scopes: Scopes = app.extensions["scopes"]

    @app.get("/login")
    def login() -> str:
        session.bind_user(7)
        sessions.admin.bind_user(7)
        return "ok"

    @app.get("/state")
    def state() -> str:
        devices = len(scopes.user_sessions(7))
        return f"{session.bound_user} {sessions.admin.bound_user} {devices}"

    @app.get("/revoke")
    def revoke() -> str:
        scopes.revoke_user(7)
        return "ok"

    client = app.test_client()
    client.get("/login")
    # Only flask.session's sessions are listed among the user's devices.
    assert client.get("/state").text == "7 7 1"
    app.test_client().get("/revoke")
    assert client.get("/state").text == "None None 0"


# -- failures -------------------------------------------------------------------


def test_a_named_store_outage_is_a_503(
    shop: t.Callable[..., tuple[Flask, Scopes]], redis_server: RedisServer
) -> None:
    app, _ = shop()
    client = app.test_client()
    client.get("/shop/both/dark/apple")
    redis_server.stop()
    try:
        response = client.get("/shop/read")
        assert response.status_code == 503
        assert "could not be reached" in response.text
    finally:
        redis_server.start()


def test_a_named_outage_first_seen_in_after_request_is_a_503(
    shop: t.Callable[..., tuple[Flask, Scopes]], redis_server: RedisServer
) -> None:
    app, _ = shop(PROPAGATE_EXCEPTIONS=False)

    @app.after_request
    def peek(response: t.Any) -> t.Any:
        sessions.cart.get("items")
        return response

    client = app.test_client()
    client.get("/shop/both/dark/apple")
    redis_server.stop()
    try:
        response = client.get("/shop/untouched")
    finally:
        redis_server.start()
    # Flask made the error a 500; saving makes it the outage's 503.
    assert response.status_code == 503
    assert "could not be reached" in response.text
    assert response.headers.getlist("Set-Cookie") == []


def test_without_a_secret_key_named_scopes_are_null(
    make_app: t.Callable[..., Flask],
) -> None:
    app = make_app(SECRET_KEY=None, SCOPES_SESSIONS={"prefs": {}})

    @app.get("/")
    def index() -> str:
        found = sessions.prefs.get("theme")
        with pytest.raises(RuntimeError):
            sessions.prefs["theme"] = "dark"
        return repr(found)

    response = app.test_client().get("/")
    assert response.text == "None"
    assert response.headers.getlist("Set-Cookie") == []


def test_an_unknown_scope_is_a_clear_error(app: Flask) -> None:
    with app.test_request_context():
        with pytest.raises(KeyError, match="no session scope named 'nope'"):
            sessions["nope"]
        with pytest.raises(AttributeError, match="add_session"):
            sessions.nope  # noqa: B018
        assert "nope" not in sessions
        assert list(sessions) == []


def test_outside_a_request(app: Flask) -> None:
    with pytest.raises(RuntimeError, match="outside of request context"):
        sessions["prefs"]
    assert repr(sessions) == "<Sessions (outside a request)>"


# -- configuration ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "match"),
    [
        ({"prefs": {"colour": 1}}, r"SCOPES_SESSIONS\['prefs'\]: unknown option"),
        ({"session": {}}, r"SCOPES_SESSIONS\['session'\]: a scope's name"),
        ({"1st": {}}, r"SCOPES_SESSIONS\['1st'\]: a scope's name"),
        ({"prefs": None}, r"SCOPES_SESSIONS\['prefs'\]: must be a mapping"),
        (
            {"prefs": {"lifetime": -1}},
            r"SCOPES_SESSIONS\['prefs'\]\['lifetime'\]: must be positive",
        ),
        (
            {"prefs": {"cookie_samesite": "sideways"}},
            r"SCOPES_SESSIONS\['prefs'\]\['cookie_samesite'\]",
        ),
        (
            {"prefs": {"store": 3}},
            r"SCOPES_SESSIONS\['prefs'\]\['store'\]: must be None",
        ),
        (
            {"prefs": {"cookie_path": "shop"}},
            r"SCOPES_SESSIONS\['prefs'\]\['cookie_path'\]",
        ),
        (
            {"prefs": {"cookie_name": "session"}},
            r"\['cookie_name'\]: 'session' is already another scope's",
        ),
        (
            {"prefs": {"cookie_name": "x"}, "cart": {"cookie_name": "x"}},
            r"SCOPES_SESSIONS\['cart'\]\['cookie_name'\]: 'x' is also the cookie of"
            r" the 'prefs' scope",
        ),
        (
            {
                "prefs": {
                    "cookie_name": "__Host-prefs",
                    "cookie_secure": True,
                    "cookie_path": "/p",
                }
            },
            r"must have Path=/, but the path is '/p' \(SCOPES_SESSIONS\['prefs'\]",
        ),
        (
            {"prefs": {"cookie_name": "__Secure-prefs"}},
            r"set SCOPES_SESSIONS\['prefs'\]\['cookie_secure'\] = True",
        ),
        ([("prefs", {})], r"SCOPES_SESSIONS: must be a mapping"),
    ],
)
def test_bad_scope_configuration(
    make_app: t.Callable[..., Flask], scopes: t.Any, match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        make_app(SCOPES_SESSIONS=scopes)


def test_a_scope_inherits_the_default_scopes_settings(
    make_app: t.Callable[..., Flask],
) -> None:
    app = make_app(
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SCOPES_SESSIONS={"prefs": {"cookie_samesite": "Lax"}},
    )

    @app.get("/")
    def index() -> str:
        sessions.prefs["theme"] = "dark"
        return "ok"

    header = attributes(set_cookies(app.test_client().get("/"), "prefs")[0])
    assert "secure" in header
    assert header["samesite"] == "Lax"


def test_config_overrides_add_session_option_by_option(clock: FakeClock) -> None:
    scopes = Scopes(clock=clock)
    scopes.add_session("prefs", cookie_name="p", cookie_path="/p")
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET, SCOPES_SESSIONS={"prefs": {"cookie_path": "/q"}}
    )
    scopes.init_app(app)

    @app.get("/")
    def index() -> str:
        sessions.prefs["theme"] = "dark"
        return "ok"

    header = set_cookies(app.test_client().get("/"), "p")[0]
    assert attributes(header)["path"] == "/q"


def test_add_session_checks_its_options(clock: FakeClock) -> None:
    scopes = Scopes(clock=clock)
    with pytest.raises(ConfigurationError, match="unknown option.*colour"):
        scopes.add_session("prefs", colour="red")


def test_add_session_after_init_app_is_refused(app: Flask) -> None:
    scopes: Scopes = app.extensions["scopes"]
    with pytest.raises(ScopesError, match="before init_app"):
        scopes.add_session("prefs")


def test_the_default_mapping_is_never_shared(make_app: t.Callable[..., Flask]) -> None:
    first = make_app()
    second = make_app()
    assert first.config["SCOPES_SESSIONS"] is not second.config["SCOPES_SESSIONS"]


def test_changing_the_mapping_resolves_again(
    make_app: t.Callable[..., Flask],
) -> None:
    app = make_app()

    @app.get("/")
    def index() -> str:
        return repr(list(sessions))

    client = app.test_client()
    assert client.get("/").text == "[]"
    app.config["SCOPES_SESSIONS"] = {"prefs": {}}
    assert client.get("/").text == "['prefs']"


@pytest.mark.parametrize("refresh", [True, False])
def test_a_permanent_scope_refreshes_as_flask_does(
    make_app: t.Callable[..., Flask], clock: FakeClock, refresh: bool
) -> None:
    app = make_app(
        SCOPES_SESSIONS={"prefs": {"permanent": True, "refresh_each_request": refresh}}
    )

    @app.get("/write")
    def write() -> str:
        sessions.prefs["theme"] = "dark"
        return "ok"

    @app.get("/read")
    def read() -> str:
        return str(sessions.prefs["theme"])

    client = app.test_client()
    client.get("/write")
    clock.advance(10)
    response = client.get("/read")
    assert response.text == "dark"
    assert bool(set_cookies(response, "prefs")) is refresh


def test_a_named_scope_has_its_own_size_limit(
    make_app: t.Callable[..., Flask],
) -> None:
    app = make_app(SCOPES_SESSIONS={"small": {"max_cookie_size": 200}})

    @app.get("/")
    def index() -> str:
        session["big"] = "x" * 150
        sessions.small["big"] = secrets.token_hex(150)
        return "ok"

    with pytest.raises(SessionTooLarge, match="200"):
        app.test_client().get("/")


def test_a_named_session_refuses_flashes(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(SCOPES_SESSIONS={"prefs": {}})

    @app.get("/")
    def index() -> str:
        with pytest.raises(RuntimeError, match="flashed messages belong"):
            sessions.prefs["_flashes"] = [("message", "hi")]
        return "ok"

    assert app.test_client().get("/").text == "ok"
