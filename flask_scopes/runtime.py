"""What one app's configuration resolves to: the settings, the cookie
policies, the codecs, and the stores. Built by the session interface, and
built again whenever a configuration key it depends on changes.
"""

from __future__ import annotations

import typing as t

from .codec import CookieCodec
from .codec import FlaskCookieReader
from .codec import KeyRing
from .codec import SESSION_ID_SALT
from .codec import SessionCodec
from .serverside import revocation_window
from .serverside import Revocations
from .serverside import ServerSessions
from .serverside import SessionIds
from .settings import Settings
from .stores import SessionStore

if t.TYPE_CHECKING:  # pragma: no cover
    from .interface import ScopesSessionInterface


class Runtime:
    """What one app's settings resolve to: the settings themselves, the
    cookie policies and the codecs. Rebuilt when the configuration changes.
    """

    def __init__(self, interface: ScopesSessionInterface, settings: Settings) -> None:
        self.settings = settings
        self.session_cookie = interface.session_cookie_policy(settings)
        self.flash_cookie = interface.flash_cookie_policy(settings)
        #: Writes the session cookie, and reads cookies in its format.
        self.codec: CookieCodec | None = None
        #: Reads signed cookies so they are re-issued encrypted: set only
        #: when encryption is on and signed cookies are still accepted.
        self.signed_codec: SessionCodec | None = None
        #: Reads Flask's own cookies so they are re-issued in our format.
        self.flask_reader: FlaskCookieReader | None = None
        if settings.secret_key is not None:
            keys = (settings.secret_key, *settings.fallback_keys)
            ring = KeyRing(keys[0], keys[1:], interface.salt, interface.digest_method)
            signed = SessionCodec(
                ring, settings.max_cookie_size, interface.max_inflated_size
            )
            # With encryption on, signed cookies (ours and Flask's) are read
            # only to be re-issued encrypted, unless the app asked for a hard
            # switch.
            reads_signed = not settings.encrypt or settings.encrypt_accept_signed
            if settings.encrypt:
                self.codec = interface.encrypted_codec(settings, keys)
                if reads_signed:
                    self.signed_codec = signed
            else:
                self.codec = signed
            if settings.accept_flask_cookies and reads_signed:
                self.flask_reader = FlaskCookieReader(
                    keys, settings.max_cookie_size, interface.max_inflated_size
                )
        #: The interface's clock.
        self.clock = interface.clock
        #: The class of each request's flash scope.
        self.flash_scope_class = interface.flash_scope_class
        #: Encodes and decodes the flash cookie.
        self.flash_codec = interface.flash_codec_class.from_settings(
            settings, interface.digest_method
        )
        #: The server-side store, or ``None`` in cookie mode.
        self.store: SessionStore | None = None
        #: Keeps the users' revocation epochs, or ``None`` if no store does.
        self.revocations: Revocations | None = None
        #: Loads and saves sessions in :attr:`store`, or ``None``.
        self.server: ServerSessions | None = None
        if settings.store is not None:
            self.store = interface.session_store(settings.store, "SCOPES_SESSION_STORE")
        revocation_store = settings.revocation_store
        if revocation_store is not None:
            revocations: SessionStore | None = interface.session_store(
                revocation_store, "SCOPES_REVOCATION_STORE"
            )
        else:
            revocations = self.store
        if revocations is not None:
            self.revocations = Revocations(revocations, revocation_window(settings))
        if self.store is not None and settings.secret_key is not None:
            ids = KeyRing(
                settings.secret_key,
                settings.fallback_keys,
                SESSION_ID_SALT,
                interface.digest_method,
            )
            self.server = ServerSessions(interface, self, self.store, SessionIds(ids))
