"""The :class:`~flask.sessions.SessionInterface` flask-scopes installs. It
opens and saves; the codec, the cookie policy and the settings decide.
"""

from __future__ import annotations

import hashlib
import logging
import time
import typing as t

from flask import has_request_context
from flask import request as current_request
from flask.sessions import SessionInterface

from .codecs.crypto import CipherRing
from .codecs.crypto import EncryptedSessionCodec
from .codecs.crypto import SESSION_ENCRYPTION_INFO
from .codecs.signing import scope_salt
from .codecs.signing import SESSION_SALT
from .codecs.tagged import largest_keys
from .codecs.tags import SessionSerializer
from .cookies import CookiePolicy
from .cookies import vary_cookie
from .errors import ConfigurationError
from .errors import FlashTooLarge
from .errors import SessionStoreUnavailable
from .errors import SessionTooLarge
from .flash.codec import FlashCodec
from .flash.context import save_flash as save_flash_cookie
from .flash.scope import FlashScope
from .named import opened
from .runtime import Runtime
from .session.mapping import ScopesSession
from .session.null import NullScopesSession
from .session.timing import CheckTimes
from .session.timing import TimeRules
from .settings import Settings
from .settings import snapshot
from .signals import flash_too_large
from .signals import send
from .signals import session_too_large
from .signals import store_unavailable
from .stores import BaseSessionStore
from .stores import open_store
from .stores import SQLOptions

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Flask
    from flask.sessions import SessionMixin
    from flask.wrappers import Request
    from flask.wrappers import Response

    from .session.scope import SessionScope

logger = logging.getLogger("flask_scopes")


class ScopesSessionInterface(SessionInterface):
    """Keeps the session in a signed cookie, readable by the user but not
    changeable, or with ``SCOPES_SESSION_STORE`` on the server, the cookie
    carrying only a signed id (see :mod:`flask_scopes.session.server_mode`).

    :param clock: Returns the current Unix time. Every timeout reads it.
    """

    #: The salt of the session cookie's signature.
    salt = SESSION_SALT
    #: The hash function of the HMAC.
    digest_method = staticmethod(hashlib.sha256)
    #: The most bytes a compressed cookie may inflate to. Larger sessions
    #: are refused when saved, so a cookie that was written can be read.
    max_inflated_size = 64 * 1024
    #: How far in the future a cookie's timestamp may be, for clock skew
    #: between servers, in seconds.
    max_clock_skew = 60
    #: With an idle timeout, a session that is only read is written again
    #: once this fraction of the idle window has passed since its last
    #: write, not on every request.
    idle_refresh_fraction = 0.1
    #: The class of each request's flash scope: its lifetime rules and
    #: form refill policy.
    flash_scope_class: type[FlashScope] = FlashScope
    #: The class that encodes and decodes the flash cookie, and holds its
    #: limits.
    flash_codec_class: type[FlashCodec] = FlashCodec
    #: The class of :attr:`serializer`.
    #:
    #: .. versionadded:: 0.2
    serializer_class: type[SessionSerializer] = SessionSerializer

    def __init__(self, clock: t.Callable[[], float] | None = None) -> None:
        #: The clock, returning Unix time.
        self.clock: t.Callable[[], float] = clock or time.time
        #: The session's tags, as on Flask's own session interface: register
        #: a :class:`flask.json.tag.JSONTag` subclass on it to store a type
        #: of your own, in cookie, store and encrypted mode alike
        #: (``app.session_interface.serializer.register(TagMoney)``).
        #:
        #: .. versionadded:: 0.2
        self.serializer: SessionSerializer = self.serializer_class()
        self._cached: tuple[tuple[t.Any, ...], Runtime] | None = None
        self._stores: dict[t.Any, BaseSessionStore] = {}

    # -- customisation points --------------------------------------------

    def session_cookie_policy(self, settings: Settings) -> CookiePolicy:
        """The policy the session cookie is written with."""
        return CookiePolicy.for_session(settings)

    def flash_cookie_policy(self, settings: Settings) -> CookiePolicy:
        """The policy the flash cookie is written with."""
        return CookiePolicy.for_flash(settings)

    def encrypted_codec(
        self, settings: Settings, keys: t.Sequence[bytes]
    ) -> EncryptedSessionCodec:
        """The codec of the session cookie when :data:`SCOPES_SESSION_ENCRYPT`
        is set.

        :param keys: The current secret key, then the fallbacks.

        .. versionchanged:: 0.2
            A named scope's keys are derived with a label of its own.
        """
        info = scope_salt(SESSION_ENCRYPTION_INFO, settings.scope)
        return EncryptedSessionCodec(
            CipherRing(keys[0], keys[1:], info),
            settings.max_cookie_size,
            self.max_inflated_size,
            self.serializer,
        )

    def session_store(
        self,
        value: t.Any,
        key: str = "SCOPES_SESSION_STORE",
        sql: SQLOptions | None = None,
    ) -> BaseSessionStore:
        """The store for a configured ``SCOPES_SESSION_STORE`` or
        ``SCOPES_REVOCATION_STORE`` value: a cachelib cache, a URL or a
        :class:`~flask_scopes.stores.SessionStore`. Made once per value, so
        that a URL opens one connection pool however often the
        configuration is resolved again.

        :param sql: How a SQL store is set up, from
            :data:`SCOPES_SESSION_SQL_TABLE` and
            :data:`SCOPES_SESSION_SQL_CREATE_TABLE`.

        .. versionchanged:: 0.2
            SQL stores, and the ``sql`` argument.
        """
        cache_key = (value, sql)
        store = self._stores.get(cache_key)
        if store is None:
            try:
                store = open_store(value, clock=self.clock, sql=sql)
            except ConfigurationError as e:
                # Raised by the store, which does not know its key yet.
                raise ConfigurationError(key, e.detail) from None
            except ValueError as e:
                raise ConfigurationError(key, str(e)) from None
            store.setting = key
            self._stores[cache_key] = store
        return store

    def runtime(self, app: Flask) -> Runtime:
        """The app's resolved settings, codecs and cookie policies, resolved
        again whenever a configuration key they depend on changed."""
        current = snapshot(app)
        cached = self._cached
        if cached is not None and cached[0] == current:
            return cached[1]
        runtime = Runtime(self, Settings.from_app(app))
        self._cached = (current, runtime)
        return runtime

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        """Whether the response must write the session cookie: the session
        changed, must be re-issued (fallback key, older format, idle refresh),
        or is permanent and ``SESSION_REFRESH_EACH_REQUEST`` is set."""
        if session.modified or getattr(session, "reissue", False):
            return True
        runtime = getattr(session, "runtime", None) or self.runtime(app)
        settings = runtime.settings
        return (
            session.permanent or settings.permanent
        ) and settings.refresh_each_request

    # -- opening -----------------------------------------------------------

    def open_session(self, app: Flask, request: Request) -> ScopesSession | None:
        """The request's session, not yet loaded. ``None`` when there is no
        ``SECRET_KEY``, as Flask's own interface does: Flask then asks
        :meth:`make_null_session`."""
        runtime = self.runtime(app)
        scope = runtime.session
        if scope.cookies is None:
            return None
        session = scope.open(request.cookies.getlist(scope.settings.cookie_name))
        session.runtime = runtime
        session.request = request
        return session

    def make_null_session(self, app: Flask) -> NullScopesSession:  # type: ignore[override]
        """The session of an app with no ``SECRET_KEY``: it reads as empty and
        refuses writes with Flask's error. Unlike Flask's null session it is
        still saved, so that the flash cookie, which needs no key, works."""
        session = NullScopesSession()
        session.runtime = self.runtime(app)
        if has_request_context():
            session.request = current_request._get_current_object()  # type: ignore[attr-defined]
        return session

    def check_times(
        self, settings: Settings, created: int, touched: int, now: int, permanent: bool
    ) -> None:
        """Refuse a session whose timestamps say it has ended.

        An age equal to a limit passes; one second more fails.

        :raises SessionEnded: The session has expired or timed out.
        :raises BadCookie: The timestamps are malformed or in the future.
        """
        TimeRules(self.max_clock_skew).check(settings, created, touched, now, permanent)

    @property
    def time_check(self) -> CheckTimes:
        """What the session's modes call to check a session's times:
        :meth:`check_times` when a subclass overrides it, else the same
        rules without the extra call, since every load runs it.

        .. versionadded:: 0.2
        """
        if type(self).check_times is ScopesSessionInterface.check_times:
            return TimeRules(self.max_clock_skew).check
        return self.check_times

    # -- saving ------------------------------------------------------------

    def save_session(
        self, app: Flask, session: SessionMixin, response: Response
    ) -> None:
        """Save the flash, the named sessions the request opened, then
        ``flask.session``, into the response.

        .. versionchanged:: 0.2
            Saves the named sessions.
        """
        runtime = getattr(session, "runtime", None) or self.runtime(app)
        if session.accessed:
            vary_cookie(response)
        try:
            self.save_flash(app, runtime, response)
        except SessionStoreUnavailable as e:
            # A flash too large for its cookie could not go to the store.
            logger.error("%s", e, exc_info=e.original)
            if store_unavailable.receivers:
                send(store_unavailable, scope=runtime.settings.scope, error=e)
            self.store_failed(response, e)
            return
        if runtime.named and has_request_context():
            request = current_request._get_current_object()  # type: ignore[attr-defined]
            for named in opened(request).values():
                self.save_named(app, named, response)
        # The session's exact type is checked first: isinstance() against
        # an abstract base class costs more than the rest of a read's save.
        kind = type(session)
        if kind is not ScopesSession and not isinstance(session, ScopesSession):
            return
        scoped: ScopesSession = session  # type: ignore[assignment]
        if (
            kind is ScopesSession
            and scoped.store_entry is not None
            and not (scoped.modified or scoped.reissue or scoped.regenerated)
            and scoped.loaded
            and dict.__len__(scoped)
        ):
            # A stored session the request only read: nothing to write.
            return
        if not scoped.loaded:
            return
        if scoped.store_error is not None and self._outage_seen(scoped, response):
            return
        scope = runtime.session
        if scope.cookies is None or (
            kind is not ScopesSession and isinstance(scoped, NullScopesSession)
        ):
            return
        if scope.server is None:
            self.save_cookie(app, runtime, scoped, response)
            return
        self.save_server(scope, scoped, response)

    def _outage_seen(self, session: ScopesSession, response: Response) -> bool:
        """Whether loading ``session`` met a store outage. Where Flask
        answered it with a 500 (it was first read in an ``after_request``
        function), the client gets the outage's 503 instead."""
        error = session.store_error
        if not isinstance(error, SessionStoreUnavailable):
            return False
        if response.status_code == 500:
            self.store_failed(response, error)
        return True

    def save_named(
        self, app: Flask, session: ScopesSession, response: Response
    ) -> None:
        """Save one named scope's session (see
        :data:`~flask_scopes.sessions`) into the response, as
        :meth:`save_session` saves ``flask.session``.

        .. versionadded:: 0.2
        """
        if session.accessed:
            vary_cookie(response)
        if not session.loaded or isinstance(session, NullScopesSession):
            return
        if self._outage_seen(session, response):
            return
        scope: SessionScope = session.runtime
        if scope.server is not None:
            self.save_server(scope, session, response)
            return
        assert scope.cookies is not None
        scope.cookies.save(
            session, response, app, self.should_set_cookie, self.cookie_too_large
        )

    def save_server(
        self, scope: SessionScope, session: ScopesSession, response: Response
    ) -> None:
        """Save a session of a scope kept in a store: a store that can't be
        reached turns the response into a 503 (:meth:`store_failed`).

        .. versionadded:: 0.2
        """
        assert scope.server is not None
        try:
            scope.server.save(session, response)
        except SessionStoreUnavailable as e:
            logger.error("%s", e, exc_info=e.original)
            if store_unavailable.receivers:
                send(store_unavailable, scope=scope.settings.scope, error=e)
            self.store_failed(response, e)
        except SessionTooLarge as e:
            if session_too_large.receivers:
                send(
                    session_too_large, scope=scope.settings.scope, error=e, raised=True
                )
            raise

    def store_failed(self, response: Response, error: SessionStoreUnavailable) -> None:
        """Turn the response into the error's ``503 Service Unavailable``
        when the session could not be saved, so that the client is never
        told that a request whose changes were lost succeeded.

        Flask turns an exception raised while saving the session into a
        500 that bypasses the app's error handlers; this keeps the 503.
        """
        response.status_code = error.code or 503
        for name in ("Set-Cookie", "Location", "Content-Encoding", "ETag"):
            response.headers.pop(name, None)
        response.headers["Content-Type"] = "text/html; charset=utf-8"
        response.set_data(error.get_body())

    def save_flash(self, app: Flask, runtime: Runtime, response: Response) -> None:
        """Write, delete or leave alone the flash cookie for this response,
        as :class:`~flask_scopes.flash_scope.FlashScope` decides. Runs with
        or without a ``SECRET_KEY``.

        :raises FlashTooLarge: The flash cookie would be over the size limit.
        """
        if has_request_context():
            request = current_request._get_current_object()  # type: ignore[attr-defined]
            try:
                save_flash_cookie(request, runtime, response)
            except FlashTooLarge as e:
                if flash_too_large.receivers:
                    send(flash_too_large, error=e)
                raise

    def save_cookie(
        self, app: Flask, runtime: Runtime, session: ScopesSession, response: Response
    ) -> None:
        """Write, refresh or delete the session cookie as the request left
        the session."""
        cookies = runtime.session.cookies
        assert cookies is not None
        cookies.save(
            session, response, app, self.should_set_cookie, self.cookie_too_large
        )

    def cookie_too_large(self, session: ScopesSession, size: int, limit: int) -> None:
        """The session cookie would be over a limit, so it is not written
        and the client keeps its previous cookie.

        A session the request changed raises :exc:`SessionTooLarge`. One
        that was only to be re-issued or refreshed is still valid in the
        client's cookie (this happens when a signed cookie that fitted
        compressed is re-issued encrypted): that logs a warning, and the
        request goes on.

        :param size: The size the cookie would have had, in bytes.
        :param limit: The limit it broke, in bytes.
        :raises SessionTooLarge: The request changed the session.
        """
        session.unsaveable = True
        error = SessionTooLarge(
            size, limit, largest_keys(session, tags=self.serializer)
        )
        if session_too_large.receivers:
            scope = session.scope_name
            send(session_too_large, scope=scope, error=error, raised=session.modified)
        if session.modified:
            raise error from None
        logger.warning("The unchanged session cookie was not written again: %s", error)
