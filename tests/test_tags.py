"""What a session can hold, compared with Flask's own session, and tags
registered the Flask way, in cookie, store and encrypted mode."""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import typing as t
from collections import defaultdict
from collections import namedtuple
from collections import OrderedDict
from collections import UserDict
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timezone
from decimal import Decimal

import pytest
from cachelib import SimpleCache
from flask import Flask
from flask import session
from flask.json.tag import JSONTag
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface

from flask_scopes import Scopes
from flask_scopes import SessionValueError
from flask_scopes.codecs.encoding import BadCookie
from flask_scopes.codecs.tagged import dumps
from flask_scopes.codecs.tagged import loads
from flask_scopes.codecs.tags import SessionSerializer

from .conftest import SECRET

MODES = {
    "cookie": {},
    "store": {"SCOPES_SESSION_STORE": SimpleCache(threshold=1_000_000)},
    "encrypted": {"SCOPES_SESSION_ENCRYPT": True},
}


# -- the values -------------------------------------------------------------------


class OAuth2Token(dict[str, t.Any]):
    """Like the token classes of Authlib and requests-oauthlib."""

    def __init__(self, params: dict[str, t.Any]) -> None:
        super().__init__(params)
        self.extra = "not stored"

    @property
    def is_expired(self) -> bool:
        return False


class Items(list[t.Any]):
    pass


class Text(str):
    pass


class Number(int):
    pass


class Ratio(float):
    pass


class Blob(bytes):
    pass


class Level(enum.IntEnum):
    HIGH = 3


class Permission(enum.IntFlag):
    READ = 1
    WRITE = 2


class Colour(str, enum.Enum):
    RED = "red"


class Plain(enum.Enum):
    ONE = 1


Point = namedtuple("Point", "x y")


class Pair(t.NamedTuple):
    left: t.Any
    right: t.Any


@dataclasses.dataclass
class Address:
    street: str
    lines: tuple[str, ...]


class Html:
    def __html__(self) -> str:
        return "<b>bold</b>"


#: Values Flask's session stores, by family.
STORABLE = {
    "ordered-dict": OrderedDict([("b", 1), ("a", [2, (3, 4)])]),
    "default-dict": defaultdict(list, {"k": [1, 2]}),
    "dict-subclass": OAuth2Token(
        {"access_token": "abc", "expires_at": 1, "scope": ["a", "b"]}
    ),
    "userinfo": {"user": OAuth2Token({"sub": "1", "email": "a@example.com"})},
    "list-subclass": Items([1, Items([2])]),
    "named-tuple": Point(1, Point(2, 3)),
    "typed-named-tuple": Pair("a", [Pair(1, 2)]),
    "str-subclass": Text("text"),
    "int-subclass": Number(7),
    "float-subclass": Ratio(0.5),
    "bytes-subclass": Blob(b"\x00\xff"),
    "int-enum": Level.HIGH,
    "int-flag": Permission.READ | Permission.WRITE,
    "str-enum": Colour.RED,
    "enum-in-list": [Level.HIGH, Colour.RED],
    "int-keys": {1: "one", 2: "two"},
    "decimal": Decimal("12.50"),
    "date": date(2026, 1, 2),
    "dataclass": Address("Main St", ("1", "2")),
    "html": Html(),
    "nested": {"token": OAuth2Token({"id_token": Text("t")}), "at": [Level.HIGH]},
}
if hasattr(enum, "StrEnum"):
    StrEnum = enum.StrEnum  # type: ignore[attr-defined]
    Shade = StrEnum("Shade", {"DARK": "dark"})
    STORABLE["strenum"] = Shade.DARK

#: Values neither Flask's session nor flask-scopes stores.
UNSTORABLE = {
    "set": {1, 2},
    "frozenset": frozenset({1}),
    "object": object(),
    "plain-enum": Plain.ONE,
    "user-dict": UserDict({"a": 1}),
    "time": time(1, 2),
    "complex": 1j,
    "tuple-key": {(1, 2): "x"},
}


def same(found: t.Any, expected: t.Any) -> bool:
    """Equal, with the same types all the way down."""
    if type(found) is not type(expected):
        return False
    if isinstance(expected, dict):
        return found.keys() == expected.keys() and all(
            same(found[k], expected[k]) for k in expected
        )
    if isinstance(expected, (list, tuple)):
        return len(found) == len(expected) and all(map(same, found, expected))
    return bool(found == expected)


def round_trip(app: Flask, value: t.Any) -> t.Any:
    """Store ``value`` in one request, and give back what the next reads."""
    read: list[t.Any] = []

    @app.get("/store")
    def store() -> str:
        session["value"] = value
        session["other"] = "kept"
        return "ok"

    @app.get("/load")
    def load() -> str:
        read.append(session["value"])
        read.append(session.get("value"))
        return "ok"

    client = app.test_client()
    assert client.get("/store").status_code == 200
    assert client.get("/load").status_code == 200
    assert client.get("/load").status_code == 200
    # The second request may be served from the codec's memory: same result.
    assert same(read[2], read[0])
    return read[0]


def flask_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, TESTING=True)
    return app


@pytest.fixture(params=list(MODES))
def scopes_app(request: pytest.FixtureRequest, clock: t.Any) -> t.Callable[[], Flask]:
    def factory() -> Flask:
        app = flask_app()
        app.config.update(MODES[request.param])
        Scopes(app, clock=clock)
        return app

    return factory


# -- what comes back -----------------------------------------------------------------


@pytest.mark.parametrize("name", list(STORABLE))
def test_comes_back_as_from_flasks_session(
    scopes_app: t.Callable[[], Flask], name: str
) -> None:
    value = STORABLE[name]
    expected = round_trip(flask_app(), value)
    found = round_trip(scopes_app(), value)
    assert same(found, expected), (found, expected)


def test_the_families_come_back_as_their_base_types(
    scopes_app: t.Callable[[], Flask],
) -> None:
    value = {
        "d": OrderedDict(a=1),
        "t": Point(1, 2),
        "i": Level.HIGH,
        "s": Colour.RED,
        "n": Decimal("1.5"),
        "day": date(2026, 1, 2),
    }
    found = round_trip(scopes_app(), value)
    assert same(
        found,
        {
            "d": {"a": 1},
            "t": (1, 2),
            "i": 3,
            "s": "red",
            "n": "1.5",
            "day": "Fri, 02 Jan 2026 00:00:00 GMT",
        },
    )


@pytest.mark.parametrize("name", list(UNSTORABLE))
def test_refused_as_by_flasks_session(
    scopes_app: t.Callable[[], Flask], name: str
) -> None:
    value = {"inner": [UNSTORABLE[name]]}
    with pytest.raises((TypeError, ValueError)):
        round_trip(flask_app(), value)
    app = scopes_app()
    with pytest.raises(SessionValueError) as info:
        round_trip(app, value)
    assert info.value.path.startswith("session['value']['inner'][0]")


def test_datetime_subclass_keeps_its_time(scopes_app: t.Callable[[], Flask]) -> None:
    class Moment(datetime):
        pass

    value = Moment(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    found = round_trip(scopes_app(), value)
    assert type(found) is datetime
    assert found == value and found.microsecond == 6


def test_top_level_int_key_is_read_back_as_a_string(
    scopes_app: t.Callable[[], Flask],
) -> None:
    app = scopes_app()
    seen = []

    @app.get("/store")
    def store() -> str:
        session[1] = "one"  # type: ignore[index]
        return "ok"

    @app.get("/keys")
    def keys() -> str:
        seen.append(dict(session.items()))
        return "ok"

    client = app.test_client()
    client.get("/store")
    client.get("/keys")
    client.get("/keys")
    assert seen == [{"1": "one"}, {"1": "one"}]


def test_read_values_are_fresh_copies(scopes_app: t.Callable[[], Flask]) -> None:
    app = scopes_app()
    seen = []

    @app.get("/store")
    def store() -> str:
        session["token"] = OAuth2Token({"scope": ["a"]})
        return "ok"

    @app.get("/change")
    def change() -> str:
        token = session["token"]
        seen.append(type(token))
        token["scope"].append("b")  # not assigned back: not saved
        return "ok"

    client = app.test_client()
    client.get("/store")
    client.get("/change")
    client.get("/change")
    assert seen == [dict, dict]
    with client.session_transaction() as sess:
        assert sess["token"] == {"scope": ["a"]}


# -- tags registered the Flask way ---------------------------------------------------


class Money:
    def __init__(self, cents: int, currency: str) -> None:
        self.cents = cents
        self.currency = currency

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and (self.cents, self.currency) == (
            other.cents,
            other.currency,
        )

    def __hash__(self) -> int:
        return hash((self.cents, self.currency))


#: Every call of TagMoney.to_python, to prove when it is not made.
DECODED: list[t.Any] = []


class TagMoney(JSONTag):
    __slots__ = ()
    key = " money"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, Money)

    def to_json(self, value: t.Any) -> t.Any:
        return [value.cents, value.currency]

    def to_python(self, value: t.Any) -> t.Any:
        DECODED.append(value)
        return Money(*value)


class TagOrderedDict(JSONTag):
    """The example of Flask's documentation: before the dict tags."""

    __slots__ = ()
    key = " od"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, OrderedDict)

    def to_json(self, value: t.Any) -> t.Any:
        return [[k, self.serializer.tag(v)] for k, v in value.items()]

    def to_python(self, value: t.Any) -> t.Any:
        return OrderedDict(value)


class TagPlainKey(JSONTag):
    """A tag whose key does not start with a space."""

    __slots__ = ()
    key = "level"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, Plain)

    def to_json(self, value: t.Any) -> t.Any:
        return value.name

    def to_python(self, value: t.Any) -> t.Any:
        return Plain[value]


def test_registered_tags_round_trip(scopes_app: t.Callable[[], Flask]) -> None:
    app = scopes_app()
    serializer = app.session_interface.serializer  # type: ignore[attr-defined]
    assert isinstance(serializer, TaggedJSONSerializer)
    serializer.register(TagMoney)
    serializer.register(TagOrderedDict, index=0)
    serializer.register(TagPlainKey)
    value = {
        "price": Money(1250, "EUR"),
        "prices": [Money(1, "USD"), (Money(2, "GBP"),)],
        "ordered": OrderedDict([("b", Money(3, "EUR")), ("a", (1,))]),
        "level": Plain.ONE,
        # Plain dicts that look like the tags stay dicts.
        "lookalike": {" money": [1, "EUR"]},
        "plain-key": {"level": "ONE"},
        "when": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc),
    }
    found = round_trip(app, value)
    assert same(found, value), found


@pytest.mark.usefixtures("real_clock")
def test_registered_tags_read_flask_cookies(
    make_app: t.Callable[..., Flask],
) -> None:
    class TaggedInterface(SecureCookieSessionInterface):
        serializer = TaggedJSONSerializer()

    TaggedInterface.serializer.register(TagMoney)
    old = flask_app()
    old.session_interface = TaggedInterface()

    @old.get("/store")
    def store() -> str:
        session["price"] = Money(5, "EUR")
        return "ok"

    legacy = old.test_client()
    legacy.get("/store")
    value = legacy.get_cookie("session")
    assert value is not None

    app = make_app()
    app.session_interface.serializer.register(TagMoney)  # type: ignore[attr-defined]

    @app.get("/load")
    def load() -> str:
        assert session["price"] == Money(5, "EUR")
        return "ok"

    client = app.test_client()
    client.set_cookie("session", value.value)
    assert client.get("/load").status_code == 200
    assert client.get("/load").status_code == 200


def test_forged_tag_in_the_flash_cookie_is_not_decoded(
    make_app: t.Callable[..., Flask], clock: t.Any
) -> None:
    app = make_app()
    app.session_interface.serializer.register(TagMoney)  # type: ignore[attr-defined]
    shown = []

    @app.get("/")
    def index() -> str:
        from flask import get_flashed_messages

        shown.extend(get_flashed_messages(with_categories=True))
        return "ok"

    @app.get("/store")
    def store() -> str:
        session["price"] = Money(1, "EUR")
        return "ok"

    @app.get("/load")
    def load() -> str:
        return str(session["price"] == Money(1, "EUR"))

    body = [[int(clock()), [["message", {" money": [1, "EUR"]}]]]]
    raw = json.dumps(body).encode()
    forged = "1." + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    client = app.test_client()
    client.set_cookie("flash", forged)
    DECODED.clear()
    response = client.get("/")
    assert response.status_code == 200
    # Flash values may be plain JSON: the forged tag comes back as the plain
    # dict it is, never as the custom type.
    assert shown == [("message", {" money": [1, "EUR"]})]
    assert DECODED == []
    # The same tag in the genuine session cookie is decoded.
    client.get("/store")
    assert client.get("/load").text == "True"
    assert DECODED


def test_tags_are_per_app(clock: t.Any) -> None:
    one, two = flask_app(), flask_app()
    Scopes(one, clock=clock)
    Scopes(two, clock=clock)
    one.session_interface.serializer.register(TagMoney)  # type: ignore[attr-defined]
    assert round_trip(one, Money(1, "EUR")) == Money(1, "EUR")
    with pytest.raises(SessionValueError):
        round_trip(two, Money(1, "EUR"))


@pytest.mark.parametrize("key", [" t", " b", " m", " u", " dt", " di"])
def test_builtin_keys_cant_be_taken(key: str) -> None:
    tag_class = type("Taker", (TagMoney,), {"__slots__": (), "key": key})
    with pytest.raises(KeyError, match="flask-scopes' own"):
        SessionSerializer().register(tag_class, force=True)


def test_a_key_is_registered_once_unless_forced() -> None:
    serializer = SessionSerializer()
    serializer.register(TagMoney)
    with pytest.raises(KeyError, match="already registered"):
        serializer.register(TagMoney)
    serializer.register(TagMoney, force=True)
    assert serializer.loads(serializer.dumps(Money(1, "X"))) == Money(1, "X")


def test_a_failing_tag_makes_the_value_malformed() -> None:
    serializer = SessionSerializer()
    serializer.register(TagMoney)
    raw = json.dumps([0, 0, {"price": {" money": "not a pair"}}]).encode()
    with pytest.raises(BadCookie, match="money"):
        loads(raw, True, serializer)


def test_untagged_sessions_skip_the_tags() -> None:
    serializer = SessionSerializer()
    serializer.register(TagMoney)
    raw, tagged = dumps(0, 0, {"a": [1, "x"], "b": {"c": None}}, serializer)
    assert not tagged
    assert loads(raw, tagged, serializer)[2] == {"a": [1, "x"], "b": {"c": None}}
