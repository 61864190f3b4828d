"""Flash values other than text: plain JSON values round-trip in both modes,
the session's tagged types only in a signed flash, and nothing read from an
unsigned cookie is ever Markup."""

from __future__ import annotations

import typing as t
import uuid
from datetime import datetime
from datetime import timezone

import pytest
from flask import flash as flask_flash
from flask import Flask
from flask import get_flashed_messages
from flask import render_template_string
from markupsafe import Markup

from flask_scopes import flash
from flask_scopes import FlashValueError

from .flash_support import forge

AppFactory = t.Callable[..., Flask]
NOW = 1_800_000_000
MODES = {"unsigned": {}, "signed": {"SCOPES_FLASH_SIGNED": True}}

PLAIN = [
    {"count": 3, "items": [1, 2.5, None, True], "name": "<b>ann</b>"},
    ["a", 1, {"b": []}],
    42,
    -0.5,
    True,
    None,
    {" m": "<b>not markup</b>"},
]
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
TAGGED = [WHEN, (1, "two"), b"\x00bytes", uuid.UUID(int=5), {"at": WHEN}]


def values_app(make_app: AppFactory, **config: t.Any) -> tuple[Flask, list[t.Any]]:
    """An app whose ``/set`` flashes the values of ``pending`` and whose
    ``/get`` records what came back in ``seen``."""
    app = make_app(**config)
    pending: list[t.Any] = []
    seen: list[t.Any] = []
    app.config["PENDING"] = pending

    @app.post("/set")
    def set_values() -> str:
        for value in pending:
            flash.info(value)
        return "ok"

    @app.get("/get")
    def get_values() -> str:
        seen[:] = list(flash.info)
        return render_template_string("<p>{{ flash.info }}</p>")

    return app, seen


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("value", PLAIN, ids=repr)
def test_plain_values_round_trip(make_app: AppFactory, mode: str, value: t.Any) -> None:
    app, seen = values_app(make_app, **MODES[mode])
    app.config["PENDING"].append(value)
    client = app.test_client()
    client.post("/set")
    client.get("/get")
    assert seen == [value]
    assert [type(v) for v in seen] == [type(value)]


@pytest.mark.parametrize("value", TAGGED, ids=repr)
def test_tagged_values_round_trip_when_signed(
    make_app: AppFactory, value: t.Any
) -> None:
    app, seen = values_app(make_app, SCOPES_FLASH_SIGNED=True)
    app.config["PENDING"].append(value)
    client = app.test_client()
    client.post("/set")
    client.get("/get")
    assert seen == [value]
    assert type(seen[0]) is type(value)


@pytest.mark.parametrize("value", TAGGED, ids=repr)
def test_tagged_values_are_refused_unsigned(make_app: AppFactory, value: t.Any) -> None:
    app = make_app()
    with app.test_request_context():
        with pytest.raises(FlashValueError, match="SCOPES_FLASH_SIGNED"):
            flash.info(value)


@pytest.mark.parametrize("value", [{1: 2}, {"a": [{(1,): 2}]}], ids=repr)
def test_a_key_that_is_not_a_str_is_refused_unsigned(
    make_app: AppFactory, value: t.Any
) -> None:
    app = make_app()
    with app.test_request_context():
        with pytest.raises(FlashValueError) as info:
            flash.add(value)
    message = str(info.value)
    # The message names the problem, not an internal class.
    assert "a dict key that is not a str" in message
    assert "_NotAKey" not in message
    assert "SCOPES_FLASH_SIGNED" in message


def test_markup_inside_a_value_survives_only_signed(make_app: AppFactory) -> None:
    app, seen = values_app(make_app, SCOPES_FLASH_SIGNED=True)
    app.config["PENDING"].append({"html": Markup("<i>x</i>")})
    client = app.test_client()
    client.post("/set")
    client.get("/get")
    assert type(seen[0]["html"]) is Markup


@pytest.mark.parametrize("mode", MODES)
def test_values_render_as_escaped_text(make_app: AppFactory, mode: str) -> None:
    app, seen = values_app(make_app, **MODES[mode])
    app.config["PENDING"].extend([{"x": "<script>"}, 7])
    client = app.test_client()
    client.post("/set")
    page = client.get("/get")
    assert "<script>" not in page.text
    assert "<p>{&#39;x&#39;: &#39;&lt;script&gt;&#39;} 7</p>" in page.text


@pytest.mark.parametrize(
    "body",
    [
        [[NOW, [["info", {" m": "<b>x</b>"}]]]],
        [[NOW, [["info", [{" m": "<b>x</b>"}, {" t": ["<b>x</b>"]}]]]]],
    ],
)
def test_forged_tags_in_an_unsigned_cookie_stay_plain(
    make_app: AppFactory, body: t.Any
) -> None:
    app, seen = values_app(make_app)
    client = app.test_client(use_cookies=False)
    page = client.get("/get", headers={"Cookie": f"flash={forge(body)}"})
    assert page.status_code == 200
    assert seen == [body[0][1][0][1]]
    assert "<b>" not in page.text

    def no_markup(value: t.Any) -> None:
        assert not isinstance(value, (Markup, tuple))
        for item in value.values() if isinstance(value, dict) else value:
            if isinstance(item, (dict, list)):
                no_markup(item)
            else:
                assert not isinstance(item, Markup)

    no_markup(seen[0])


@pytest.mark.parametrize("flag", [1, 2])
def test_forged_typed_flags_in_an_unsigned_cookie_are_refused(
    make_app: AppFactory, flag: int
) -> None:
    app, seen = values_app(make_app)
    cookie = forge([[NOW, [["info", {" m": "<b>x</b>"}, flag]]]])
    page = app.test_client(use_cookies=False).get(
        "/get", headers={"Cookie": f"flash={cookie}"}
    )
    assert page.status_code == 200
    assert seen == []


def test_message_lists_of_values(make_app: AppFactory) -> None:
    app = make_app()
    with app.test_request_context():
        flash.now.info({"count": 3})
        flash.now.info("three items")
        flash.now.info(3)
        info = flash.info
        assert list(info) == [{"count": 3}, "three items", 3]
        assert info[0] == {"count": 3}
        assert {"count": 3} in info and 3 in info and "items" in info
        assert "count" not in info and 4 not in info
        assert str(info) == "{'count': 3} three items 3"
        assert len(info) == 3


@pytest.mark.parametrize("mode", MODES)
def test_flasks_flash_and_get_flashed_messages(make_app: AppFactory, mode: str) -> None:
    app = make_app(**MODES[mode])
    got: list[t.Any] = []

    @app.post("/flask")
    def flask_view() -> str:
        flask_flash({"count": 2}, "info")  # type: ignore[arg-type]
        flask_flash(5)  # type: ignore[arg-type]
        return "ok"

    @app.get("/read")
    def read() -> str:
        got.extend(get_flashed_messages(with_categories=True))
        return "ok"

    client = app.test_client()
    client.post("/flask")
    client.get("/read")
    assert got == [("info", {"count": 2}), ("message", 5)]


def test_a_value_changed_after_flashing_goes_as_flashed(make_app: AppFactory) -> None:
    app, seen = values_app(make_app)
    value: dict[str, t.Any] = {"n": 1}
    app.config["PENDING"].append(value)

    @app.post("/set-and-change")
    def set_and_change() -> str:
        flash.info(value)
        value["n"] = [[[[[[[[[["too deep"]]]]]]]]]]
        return "ok"

    client = app.test_client()
    client.post("/set-and-change")
    client.get("/get")
    assert seen == [{"n": 1}]
