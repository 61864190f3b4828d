from __future__ import annotations

import pytest
from flask import Response

from flask_scopes.cookies import CookiePolicy
from flask_scopes.cookies import vary_cookie


def test_header_with_every_attribute() -> None:
    policy = CookiePolicy(
        "sid",
        domain="example.test",
        path="/app",
        secure=True,
        httponly=True,
        samesite="Strict",
        partitioned=True,
    )
    assert policy.header("v") == (
        "sid=v; Domain=example.test; Secure; HttpOnly; Path=/app;"
        " SameSite=Strict; Partitioned"
    )


def test_partitioned_implies_secure() -> None:
    assert "Secure" in CookiePolicy("s", partitioned=True).header("v")


def test_expiring_header() -> None:
    header = CookiePolicy("s").header("v", expires=1_000_086_400, now=1_000_000_000)
    assert header == (
        "s=v; Expires=Mon, 10 Sep 2001 01:46:40 GMT; Max-Age=86400;"
        " HttpOnly; Path=/; SameSite=Lax"
    )


def test_delete_repeats_the_attributes() -> None:
    policy = CookiePolicy("s", domain="d.test", secure=True, samesite="None")
    response = Response()
    policy.delete(response)
    assert response.headers["Set-Cookie"] == (
        "s=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Domain=d.test;"
        " Secure; HttpOnly; Path=/; SameSite=None"
    )


@pytest.mark.parametrize("size", [100, 4093])
def test_fits_measures_the_whole_header(size: int) -> None:
    policy = CookiePolicy("s", max_size=size)
    overhead = len(policy.header(""))
    assert policy.fits(policy.header("x" * (size - overhead)))
    assert not policy.fits(policy.header("x" * (size - overhead + 1)))


def test_size_counts_bytes_not_characters() -> None:
    policy = CookiePolicy("s", domain="\u00e9.test")
    header = policy.header("v")
    assert policy.size(header) == len(header) + 1


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([], "Cookie"),
        (["Accept"], "Accept, Cookie"),
        (["Accept, Cookie"], "Accept, Cookie"),
        (["cookie"], "cookie"),
        (["Accept", "Origin"], "Accept, Origin, Cookie"),
    ],
)
def test_vary_cookie_once(before: list[str], after: str) -> None:
    response = Response()
    for value in before:
        response.headers.add("Vary", value)
    vary_cookie(response)
    vary_cookie(response)
    assert ", ".join(response.headers.getlist("Vary")) == after
