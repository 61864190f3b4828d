"""What one app's configuration resolves to: the settings, the cookie
policies, the codecs, the stores, and the session and flash scopes built
from them. Built by the session interface, and built again whenever a
configuration key it depends on changes.

The runtime never imports the interface: it asks for what it needs through
:class:`Parts`, which the interface provides, so that the interface's
customisation points keep deciding.
"""

from __future__ import annotations

import typing as t

from .codecs.flask_format import FlaskCookieReader
from .codecs.signed import CookieCodec
from .codecs.signed import SessionCodec
from .codecs.signing import KeyRing
from .codecs.signing import scope_salt
from .codecs.signing import SESSION_ID_SALT
from .codecs.tags import SessionSerializer
from .errors import ConfigurationError
from .flash.bridge import flash_bridge
from .flash.overflow import FlashOverflow
from .session.cookie_mode import CookieSessions
from .session.devices import Devices
from .session.entries import SessionIds
from .session.entries import UserRefs
from .session.revocation import Revocations
from .session.scope import SessionScope
from .session.server_mode import ServerSessions
from .session.timing import revocation_window
from .stores.near_cache import near_cached
from .stores.near_cache import NearCacheUnsupported

if t.TYPE_CHECKING:  # pragma: no cover
    from .codecs.crypto import EncryptedSessionCodec
    from .cookies import CookiePolicy
    from .flash.codec import FlashCodec
    from .flash.scope import FlashScope
    from .session.timing import CheckTimes
    from .settings import Settings
    from .stores import BaseSessionStore
    from .stores import SQLOptions


class Parts(t.Protocol):
    """What the runtime asks of the session interface: its class-level
    settings and its factories. :class:`~flask_scopes.ScopesSessionInterface`
    documents each."""

    salt: bytes
    max_inflated_size: int
    idle_refresh_fraction: float
    flash_scope_class: type[FlashScope]
    flash_codec_class: type[FlashCodec]
    clock: t.Callable[[], float]
    serializer: SessionSerializer

    @property
    def digest_method(self) -> t.Callable[..., t.Any]: ...

    def session_cookie_policy(self, settings: Settings) -> CookiePolicy: ...

    def flash_cookie_policy(self, settings: Settings) -> CookiePolicy: ...

    def encrypted_codec(
        self, settings: Settings, keys: t.Sequence[bytes]
    ) -> EncryptedSessionCodec: ...

    def session_store(
        self, value: t.Any, key: str = ..., sql: SQLOptions | None = ...
    ) -> BaseSessionStore: ...

    @property
    def time_check(self) -> CheckTimes: ...


def _near_cached(store: BaseSessionStore, size: int) -> BaseSessionStore:
    try:
        return near_cached(store, size)
    except NearCacheUnsupported as e:
        raise ConfigurationError("SCOPES_SESSION_STORE_CACHE", str(e)) from None


class Runtime:
    """What one app's settings resolve to: the settings themselves, the
    session scope, and what the flash scope needs. Rebuilt when the
    configuration changes.

    :param parts: The session interface's settings and factories.
    :param settings: The app's settings.
    """

    def __init__(self, parts: Parts, settings: Settings) -> None:
        self.settings = settings
        #: The interface's clock.
        self.clock = parts.clock
        #: The session scope behind ``flask.session``.
        self.session = self.session_scope(parts, settings)
        #: The named session scopes (:data:`SCOPES_SESSIONS`), by name.
        self.named = {
            named.scope: self.session_scope(parts, named) for named in settings.sessions
        }
        #: The policy the flash cookie is written with.
        self.flash_cookie = parts.flash_cookie_policy(settings)
        #: The class of each request's flash scope.
        self.flash_scope_class = parts.flash_scope_class
        #: Gives a session the bridge to its request's flash scope, for
        #: ``session["_flashes"]``.
        self.flash_bridge = flash_bridge
        #: Encodes and decodes the flash cookie.
        self.flash_codec = parts.flash_codec_class.from_settings(
            settings, parts.digest_method
        )
        #: Keeps each user's index of sessions, or ``None``.
        self.devices = self.session.devices
        #: Keeps a flash too large for its cookie in the session store, or
        #: ``None`` without one.
        self.flash_overflow: FlashOverflow | None = None
        if self.session.store is not None:
            self.flash_overflow = FlashOverflow(self.session.store, self.flash_codec)

    def scopes(self) -> tuple[SessionScope, ...]:
        """Every session scope of the app: ``flask.session``'s, then the
        named ones.

        .. versionadded:: 0.2
        """
        return (self.session, *self.named.values())

    @staticmethod
    def session_scope(parts: Parts, settings: Settings) -> SessionScope:
        """Resolve one session scope's settings into its cookie policy,
        codecs, store and mode. A named scope signs with a salt of its own
        (:func:`~flask_scopes.codecs.signing.scope_salt`).

        .. versionchanged:: 0.2
            Builds named scopes too.
        """
        policy = parts.session_cookie_policy(settings)
        store = None
        if settings.store is not None:
            key = settings.key("store", "SCOPES_SESSION_STORE")
            store = parts.session_store(settings.store, key, sql=settings.sql)
            if settings.store_cache:
                store = _near_cached(store, settings.store_cache)
        revocation_store = store
        if settings.revocation_store is not None:
            key = settings.key("revocation_store", "SCOPES_REVOCATION_STORE")
            revocation_store = parts.session_store(
                settings.revocation_store, key, sql=settings.sql
            )
        refs = UserRefs(
            ()
            if settings.secret_key is None
            else (settings.secret_key, *settings.fallback_keys)
        )
        revocations = None
        if revocation_store is not None:
            revocations = Revocations(
                revocation_store, revocation_window(settings), refs
            )
        if settings.secret_key is None:
            return SessionScope(settings, policy, None, store, revocations, None)
        keys = (settings.secret_key, *settings.fallback_keys)
        salt = scope_salt(parts.salt, settings.scope)
        ring = KeyRing(keys[0], keys[1:], salt, parts.digest_method)
        tags = parts.serializer
        signed = SessionCodec(
            ring, settings.max_cookie_size, parts.max_inflated_size, tags
        )
        # With encryption on, signed cookies (ours and Flask's) are read only
        # to be re-issued encrypted, unless the app asked for a hard switch.
        reads_signed = not settings.encrypt or settings.encrypt_accept_signed
        codec: CookieCodec = signed
        if settings.encrypt:
            codec = parts.encrypted_codec(settings, keys)
        flask_reader = None
        if settings.accept_flask_cookies and reads_signed:
            flask_reader = FlaskCookieReader(
                keys,
                settings.max_cookie_size,
                parts.max_inflated_size,
                tags.flask_loads,
            )
        cookies = CookieSessions(
            settings,
            policy,
            codec,
            signed if settings.encrypt and reads_signed else None,
            flask_reader,
            revocations,
            parts.clock,
            parts.time_check,
            parts.idle_refresh_fraction,
            parts.max_inflated_size,
        )
        server = None
        if store is not None:
            ids = KeyRing(
                settings.secret_key,
                settings.fallback_keys,
                scope_salt(SESSION_ID_SALT, settings.scope),
                parts.digest_method,
            )
            server = ServerSessions(
                settings,
                policy,
                store,
                SessionIds(ids),
                refs,
                revocations,
                cookies,
                parts.clock,
                parts.time_check,
                parts.idle_refresh_fraction,
                tags,
            )
        scope = SessionScope(settings, policy, cookies, store, revocations, server)
        if settings.devices and revocations is not None:
            # In store mode the index sits beside the entries; in cookie
            # mode beside the revocation markers.
            devices = Devices(
                store or revocations.store,
                refs,
                parts.clock,
                parts.idle_refresh_fraction,
                user_agent=settings.devices_user_agent,
                ip=settings.devices_ip,
                marker_ttl=revocations.window + revocations.margin,
            )
            scope.devices = devices
            if server is not None:
                server.devices = devices
            else:
                cookies.devices = devices
        return scope

    # The session scope's parts, as earlier versions had them here.

    @property
    def session_cookie(self) -> CookiePolicy:
        """The policy the session cookie is written with."""
        return self.session.cookie

    @property
    def codec(self) -> CookieCodec | None:
        """Writes the session cookie; ``None`` without a ``SECRET_KEY``."""
        return self.session.codec

    @property
    def signed_codec(self) -> SessionCodec | None:
        """Reads signed cookies so they are re-issued encrypted."""
        return self.session.signed_codec

    @property
    def flask_reader(self) -> FlaskCookieReader | None:
        """Reads Flask's own cookies so they are re-issued in our format."""
        return self.session.flask_reader

    @property
    def store(self) -> BaseSessionStore | None:
        """The server-side store, or ``None`` in cookie mode."""
        return self.session.store

    @property
    def revocations(self) -> Revocations | None:
        """Keeps the users' revocation epochs, or ``None`` if no store does."""
        return self.session.revocations

    @property
    def server(self) -> ServerSessions | None:
        """Loads and saves sessions in :attr:`store`, or ``None``."""
        return self.session.server
