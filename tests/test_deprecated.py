"""Old module paths keep working, with a warning that names the new one."""

from __future__ import annotations

import importlib

import pytest

from flask_scopes.codecs.crypto import EncryptedSessionCodec
from flask_scopes.codecs.encoding import BadCookie
from flask_scopes.codecs.signed import SessionCodec
from flask_scopes.codecs.signing import KeyRing
from flask_scopes.flash.codec import FlashCodec
from flask_scopes.flash.context import ENVIRON_KEY
from flask_scopes.flash.scope import FlashScope
from flask_scopes.session.entries import entry_name
from flask_scopes.session.revocation import Revocations
from flask_scopes.session.server_mode import ServerSessions
from flask_scopes.session.timing import SessionEnded


@pytest.mark.parametrize(
    ("old", "name", "new", "expected"),
    [
        ("flask_scopes.codec", "KeyRing", "flask_scopes.codecs.signing", KeyRing),
        (
            "flask_scopes.codec",
            "SessionCodec",
            "flask_scopes.codecs.signed",
            SessionCodec,
        ),
        ("flask_scopes.codec", "BadCookie", "flask_scopes.codecs.encoding", BadCookie),
        (
            "flask_scopes.codec",
            "SessionEnded",
            "flask_scopes.session.timing",
            SessionEnded,
        ),
        (
            "flask_scopes.crypto",
            "EncryptedSessionCodec",
            "flask_scopes.codecs.crypto",
            EncryptedSessionCodec,
        ),
        (
            "flask_scopes.flash_codec",
            "FlashCodec",
            "flask_scopes.flash.codec",
            FlashCodec,
        ),
        (
            "flask_scopes.flash_scope",
            "FlashScope",
            "flask_scopes.flash.scope",
            FlashScope,
        ),
        (
            "flask_scopes.flash_scope",
            "ENVIRON_KEY",
            "flask_scopes.flash.context",
            ENVIRON_KEY,
        ),
        (
            "flask_scopes.serverside",
            "entry_name",
            "flask_scopes.session.entries",
            entry_name,
        ),
        (
            "flask_scopes.serverside",
            "Revocations",
            "flask_scopes.session.revocation",
            Revocations,
        ),
        (
            "flask_scopes.serverside",
            "ServerSessions",
            "flask_scopes.session.server_mode",
            ServerSessions,
        ),
    ],
)
def test_old_path_warns_and_gives_the_same_object(
    old: str, name: str, new: str, expected: object
) -> None:
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"'{old}\.{name}' moved: .*'{new}'"):
        found = getattr(module, name)
    assert found is expected


def test_from_import_of_an_old_path_warns() -> None:
    with pytest.warns(DeprecationWarning, match="flask_scopes.codecs.signing"):
        from flask_scopes.codec import KeyRing as Old
    assert Old is KeyRing


def test_unknown_name_is_an_import_error() -> None:
    with pytest.raises(ImportError):
        from flask_scopes.serverside import NoSuchThing  # noqa: F401


def test_interface_path_shown_in_the_docs_still_works() -> None:
    from flask_scopes import ScopesSessionInterface
    from flask_scopes.interface import ScopesSessionInterface as Same

    assert Same is ScopesSessionInterface
