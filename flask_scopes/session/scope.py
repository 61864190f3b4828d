"""One session scope, resolved: its settings, its cookie, and the mode
(cookie or store) its sessions load and save through. The runtime builds
one for ``flask.session``; the same unit can exist more than once.
"""

from __future__ import annotations

import typing as t
from functools import partial

from .mapping import ScopesSession

if t.TYPE_CHECKING:  # pragma: no cover
    from ..codecs.flask_format import FlaskCookieReader
    from ..codecs.signed import CookieCodec
    from ..codecs.signed import SessionCodec
    from ..cookies import CookiePolicy
    from ..settings import Settings
    from ..stores import SessionStore
    from .cookie_mode import CookieSessions
    from .devices import Devices
    from .revocation import Revocations
    from .server_mode import ServerSessions


class SessionScope:
    """What one session scope's configuration resolves to.

    :param settings: The scope's settings.
    :param cookie: The policy its cookie is written with.
    :param cookies: Reads and writes sessions kept in the cookie, or
        ``None`` without a ``SECRET_KEY``.
    :param store: The server-side store, or ``None`` in cookie mode.
    :param revocations: The users' revocation epochs, or ``None`` if no
        store keeps them.
    :param server: Loads and saves sessions in :attr:`store`, or ``None``.
    """

    #: Keeps each user's index of sessions, or ``None``.
    #:
    #: .. versionadded:: 0.2
    devices: Devices | None = None

    def __init__(
        self,
        settings: Settings,
        cookie: CookiePolicy,
        cookies: CookieSessions | None,
        store: SessionStore | None,
        revocations: Revocations | None,
        server: ServerSessions | None,
    ) -> None:
        #: The scope's settings.
        self.settings = settings
        #: The policy its cookie is written with.
        self.cookie = cookie
        #: Reads and writes sessions kept in the cookie.
        self.cookies = cookies
        #: The server-side store, or ``None`` in cookie mode.
        self.store = store
        #: The users' revocation epochs, or ``None``.
        self.revocations = revocations
        #: Loads and saves sessions in :attr:`store`, or ``None``.
        self.server = server

    @property
    def codec(self) -> CookieCodec | None:
        """Writes the session cookie, and reads cookies in its format."""
        return None if self.cookies is None else self.cookies.codec

    @property
    def signed_codec(self) -> SessionCodec | None:
        """Reads signed cookies so they are re-issued encrypted."""
        return None if self.cookies is None else self.cookies.signed_codec

    @property
    def flask_reader(self) -> FlaskCookieReader | None:
        """Reads Flask's own cookies so they are re-issued in our format."""
        return None if self.cookies is None else self.cookies.flask_reader

    def open(self, values: list[str]) -> ScopesSession:
        """A session for the cookie values a request sent, not yet loaded.

        :param values: Every value of the scope's cookie in the request.
        """
        if not values:
            return ScopesSession()
        if self.server is not None:
            session = ScopesSession(partial(self.server.load, values))
        else:
            assert self.cookies is not None
            session = ScopesSession(partial(self.cookies.load, values))
        session.had_cookie = True
        return session
