"""Carrying form values and field errors across a redirect."""

from __future__ import annotations

import io
import typing as t

import pytest
from flask import Flask
from flask import redirect
from flask import render_template_string
from flask import request
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from flask_scopes import flash
from flask_scopes import FlashValueError

from .flash_support import add_views
from .flash_support import decode
from .flash_support import forge
from .flash_support import set_value

AppFactory = t.Callable[..., Flask]


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    app = add_views(make_app())

    @app.post("/signup")
    def signup() -> t.Any:
        errors = False
        if "@" not in request.form.get("email", ""):
            flash.field_error("email", "Enter an email address.")
            errors = True
        if not request.form.get("name"):
            flash.field_error("name", "Required")
            errors = True
        if errors:
            flash.error("Please fix the form.")
            flash.keep_form(
                request.form, only=["email", "name", "password", "csrf_token"]
            )
        return redirect("/")

    return app


def test_refill_after_redirect(app: Flask) -> None:
    client = app.test_client()
    sent = client.post(
        "/signup",
        data={
            "email": "not-an-email",
            "name": "",
            "password": "hunter2",
            "csrf_token": "abc",
            "other": "unlisted",
        },
    )
    carried = decode(set_value(sent) or "")[0]
    assert carried[2] == {"email": ["not-an-email"], "name": [""]}
    assert "hunter2" not in repr(carried) and "abc" not in repr(carried)
    page = client.get("/")
    assert '<input name="email" value="not-an-email">' in page.text
    assert '<span class="field-error">Enter an email address.</span>' in page.text
    assert '<input name="name" value="">' in page.text
    assert '<p class="error">Please fix the form.</p>' in page.text
    reloaded = client.get("/")
    assert '<input name="email" value="">' in reloaded.text
    assert "field-error" not in reloaded.text


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "new_password",
        "Password2",
        "passwd",
        "pwd",
        "csrf_token",
        "_csrf",
        "authenticity_token",
        "api_key",
        "client_secret",
        "otp",
        "card_number",
        "cvv",
        "iban",
        "pin",
        "user_pin",
        "otp_code",
        "xsrf",
        "private_key",
        "cc_num",
    ],
)
def test_sensitive_fields_are_never_carried(app: Flask, name: str) -> None:
    with app.test_request_context():
        carried = flash.keep_form(
            {name: "secret", "email": "a@b"}, only=[name, "email"]
        )
        assert carried == ["email"]
        assert flash.scope.outgoing.form == {"email": ["a@b"]}


@pytest.mark.parametrize(
    "name", ["email", "spinner", "topic", "pinned", "discard_reason", "shipping"]
)
def test_ordinary_fields_are_carried(app: Flask, name: str) -> None:
    with app.test_request_context():
        assert flash.keep_form({name: "v"}, only=[name]) == [name]


def test_files_are_never_carried(app: Flask) -> None:
    data = {"avatar": (io.BytesIO(b"image"), "me.png"), "email": "a@b"}
    with app.test_request_context(method="POST", data=data):
        carried = flash.keep_form(request.values, only=["avatar", "email"])
        assert flash.keep_form(request.files, only=["avatar"]) == []
        assert carried == ["email"]


def test_multiple_values(app: Flask) -> None:
    @app.post("/tags")
    def tags() -> t.Any:
        flash.keep_form(request.form, only=["tags"])
        return redirect("/tags")

    @app.get("/tags")
    def show_tags() -> str:
        form = flash.form
        return repr((form.tags, form.getlist("tags"), form.getlist("none")))

    client = app.test_client()
    client.post("/tags", data=MultiDict([("tags", "a"), ("tags", "b")]))
    assert client.get("/tags").text == repr(("a", ["a", "b"], []))


def test_plain_mappings(app: Flask) -> None:
    with app.test_request_context():
        carried = flash.keep_form(
            {"a": "1", "b": ["2", "3"], "c": 4, "d": "x"}, only=["a", "b", "c", "e"]
        )
        assert carried == ["a", "b"]
        assert flash.scope.outgoing.form == {"a": ["1"], "b": ["2", "3"]}


def test_bounded_size(app: Flask) -> None:
    with app.test_request_context():
        long = "x" * 1001
        assert flash.keep_form({"bio": long}, only=["bio"]) == []
        many = {f"f{i}": "y" * 900 for i in range(5)}
        # 2000 characters in all: the third field does not fit.
        assert flash.keep_form(many, only=list(many)) == ["f0", "f1"]
        assert flash.keep_form({"tags": ["t"] * 17}, only=["tags"]) == []
    with app.test_request_context():
        fields = {f"f{i}": "v" for i in range(40)}
        assert len(flash.keep_form(fields, only=list(fields))) == 32


def test_only_must_be_a_list(app: Flask) -> None:
    with app.test_request_context():
        with pytest.raises(TypeError):
            flash.keep_form({"email": "a"}, only="email")
        with pytest.raises(FlashValueError):
            flash.keep_form({"": "a"}, only=[""])


def test_reading_the_form(app: Flask) -> None:
    @app.post("/keep")
    def keep() -> t.Any:
        flash.keep_form(request.form, only=["email", "get"])
        flash.field_error("email", "Bad <email>")
        flash.field_error("email", "Taken")
        return redirect("/read")

    seen: dict[str, t.Any] = {}

    @app.get("/read")
    def read() -> str:
        form, errors = flash.form, flash.form_errors
        seen.update(
            email=form.email,
            item=form["email"],
            get=form.get("email"),
            missing=(form.missing, form["missing"], form.get("missing", "-")),
            method_name=form["get"],
            contains=("email" in form, "missing" in form),
            names=list(form),
            items=form.items(),
            length=(len(form), bool(form)),
            errors=list(errors.email),
            errors_text=str(errors["email"]),
            no_errors=(list(errors.name), bool(errors.name), errors.get("name")),
            error_fields=(list(errors), len(errors), bool(errors), "email" in errors),
            error_items=[(k, list(v)) for k, v in errors.items()],
            reprs=(repr(form), repr(errors)),
        )
        return render_template_string(
            "{{ flash.form_errors.email }}|{{ flash.form.email }}"
        )

    client = app.test_client()
    client.post("/keep", data={"email": "a@b", "get": "g"})
    text = client.get("/read").text
    assert text == "Bad &lt;email&gt; Taken|a@b"
    assert seen == {
        "email": "a@b",
        "item": "a@b",
        "get": "a@b",
        "missing": ("", "", "-"),
        "method_name": "g",
        "contains": (True, False),
        "names": ["email", "get"],
        "items": [("email", "a@b"), ("get", "g")],
        "length": (2, True),
        "errors": ["Bad <email>", "Taken"],
        "errors_text": "Bad <email> Taken",
        "no_errors": ([], False, None),
        "error_fields": (["email"], 1, True, True),
        "error_items": [("email", ["Bad <email>", "Taken"])],
        "reprs": (
            "<FormValues {'email': ['a@b'], 'get': ['g']}>",
            "<FormErrors {'email': ['Bad <email>', 'Taken']}>",
        ),
    }


def test_form_now(app: Flask) -> None:
    @app.post("/now")
    def now() -> str:
        flash.now.keep_form(request.form, only=["email"])
        flash.now.field_error("email", "Required")
        return render_template_string(
            "{{ flash.form.email }}|{{ flash.form_errors.email }}"
        )

    client = app.test_client()
    response = client.post("/now", data={"email": "x"})
    assert response.text == "x|Required"
    assert set_value(response) is None


def test_keep_carries_the_form(app: Flask) -> None:
    @app.get("/keep")
    def keep() -> str:
        flash.keep()
        return flash.form.email

    client = app.test_client()
    client.post("/signup", data={"email": "nope", "name": ""})
    assert client.get("/keep").text == "nope"
    assert '<input name="email" value="nope">' in client.get("/").text
    assert '<input name="email" value="">' in client.get("/").text


def test_field_error_limits(app: Flask) -> None:
    with app.test_request_context():
        with pytest.raises(FlashValueError):
            flash.field_error("", "x")
        with pytest.raises(FlashValueError):
            flash.field_error("email", 3)
        for i in range(16):
            flash.field_error("email", str(i))
        with pytest.raises(FlashValueError):
            flash.field_error("email", "17th")
        for i in range(31):
            flash.field_error(f"f{i}", "x")
        with pytest.raises(FlashValueError):
            flash.field_error("f99", "33rd field")


@pytest.mark.parametrize(
    "value",
    ['"><script>alert(1)</script>', "' onfocus='alert(1)", "<b>x</b>"],
)
def test_forged_form_values_render_escaped(app: Flask, value: str) -> None:
    client = app.test_client(use_cookies=False)
    cookie = forge([[1_800_000_000, [], {"email": [value]}, {"email": [value]}]])
    page = client.get("/", headers={"Cookie": f"flash={cookie}"})
    escaped = str(escape(value))
    assert value not in page.text
    assert f'<input name="email" value="{escaped}">' in page.text
    assert f'<span class="field-error">{escaped}</span>' in page.text
