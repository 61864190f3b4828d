"""Sessions kept in the cookie itself: reading the cookie (ours, an older
format of ours, or Flask's own) into a session, and writing the session
back into the response.
"""

from __future__ import annotations

import typing as t

from ..codecs.encoding import BadCookie
from ..codecs.encoding import PayloadTooLarge
from ..cookies import one_value
from ..cookies import vary_cookie
from ..signals import send
from ..signals import session_ended
from ..signals import session_started
from .entries import binding
from .loading import load_failed

if t.TYPE_CHECKING:  # pragma: no cover
    from flask.wrappers import Response

    from ..codecs.flask_format import FlaskCookieReader
    from ..codecs.signed import CookieCodec
    from ..codecs.signed import SessionCodec
    from ..cookies import CookiePolicy
    from ..settings import Settings
    from .devices import Devices
    from .mapping import ScopesSession
    from .revocation import Revocations
    from .timing import CheckTimes

#: Refuses to write a cookie over a limit: given the session, the size the
#: cookie would have had and the limit it broke, in bytes.
TooLarge = t.Callable[["ScopesSession", int, int], None]


class CookieSessions:
    """Reads and writes the sessions of one session scope in its cookie.

    :param settings: The scope's settings.
    :param policy: The cookie's attributes and size limit.
    :param codec: Writes the cookie, and reads cookies in its format.
    :param signed_codec: Reads signed cookies so that they are re-issued
        encrypted, or ``None``.
    :param flask_reader: Reads Flask's own cookies so that they are
        re-issued in our format, or ``None``.
    :param revocations: The users' revocation epochs, or ``None``.
    :param clock: Returns the current Unix time.
    :param check_times: Refuses a session whose timestamps say it ended.
    :param refresh_fraction: The share of a window after which an unchanged
        session is written again.
    :param max_inflated: The most bytes a session may serialise to.
    """

    #: Keeps each user's index of sessions, or ``None``.
    #:
    #: .. versionadded:: 0.2
    devices: Devices | None = None

    def __init__(
        self,
        settings: Settings,
        policy: CookiePolicy,
        codec: CookieCodec,
        signed_codec: SessionCodec | None,
        flask_reader: FlaskCookieReader | None,
        revocations: Revocations | None,
        clock: t.Callable[[], float],
        check_times: CheckTimes,
        refresh_fraction: float,
        max_inflated: int,
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.codec = codec
        self.signed_codec = signed_codec
        self.flask_reader = flask_reader
        self.revocations = revocations
        self.clock = clock
        self.check_times = check_times
        self.refresh_fraction = refresh_fraction
        self.max_inflated = max_inflated

    # -- loading -------------------------------------------------------------

    def load(self, values: list[str], session: ScopesSession) -> None:
        """Fill ``session`` from the request's cookie values. A bad cookie
        leaves it empty and new."""
        try:
            created, touched, data, reissue = self.decode(values)
            session._adopt(data, created, touched, reissue)
        except Exception as e:
            load_failed(session, e, "session cookie", self.settings.scope)

    def reads(self, value: str) -> bool:
        """Whether ``value`` is a cookie this scope reads, valid or not."""
        return self.codec.is_own(value) or self.flask_reader is not None

    def decode(self, values: list[str]) -> tuple[int, int, dict[str, t.Any], bool]:
        """Verify and decode the cookie, and check its times.

        :returns: created, touched, the data, and whether it must be
            re-issued.
        :raises BadCookie: Why it was refused.
        """
        settings = self.settings
        value = one_value(values)
        if self.codec.is_own(value):
            created, touched, data, index = self.codec.decode(value)
            reissue = index > 0
        elif self.signed_codec is not None and self.signed_codec.is_own(value):
            created, touched, data, _ = self.signed_codec.decode(value)
            reissue = True
        elif self.flask_reader is not None:
            touched, data = self.flask_reader.decode(value, settings.permanent_lifetime)
            created, reissue = touched, True
        else:
            raise BadCookie("not in the session cookie's format")
        now = int(self.clock())
        permanent = settings.permanent or bool(data.get("_permanent"))
        self.check_times(settings, created, touched, now, permanent)
        idle = settings.idle_timeout
        if idle is not None and now - touched >= idle * self.refresh_fraction:
            reissue = True
        if self.revocations is not None:
            fraction = self.refresh_fraction
            if self.revocations.check_cookie(data, touched, now, fraction):
                reissue = True
        return created, touched, data, reissue

    # -- saving --------------------------------------------------------------

    def _device(self, session: ScopesSession, now: int) -> str | None:
        """The user ref, when the user's index must hear of the session
        written now."""
        if self.devices is None or self.revocations is None:
            return None
        try:
            bound = binding(session)
        except BadCookie:
            return None
        if bound is None:
            return None
        renew = session.created is None
        if not self.devices.due(session, now, self.revocations.window, renew):
            return None
        return self.revocations.refs.ref(bound[0])

    def save(
        self,
        session: ScopesSession,
        response: Response,
        app: t.Any,
        should_set: t.Callable[[t.Any, ScopesSession], bool],
        too_large: TooLarge,
    ) -> None:
        """Write, refresh or delete the session cookie as the request left
        the session.

        :param app: The app, for ``should_set``.
        :param should_set: Whether a session with data must be written.
        :param too_large: Called when the cookie would be over a limit.
        """
        if session.unsaveable:
            return
        policy = self.policy
        if not dict.__len__(session):
            # A cookie that failed to verify is not deleted: it may be valid
            # under keys that another server of a rolling deploy has. A
            # valid one left empty (a Flask cookie that held only flashed
            # messages, now moved to the flash cookie) is.
            if session.had_cookie and (
                session.modified or session.ended or session.reissue
            ):
                policy.delete(response)
                vary_cookie(response)
                if not session.new and session_ended.receivers:
                    send(session_ended, scope=self.settings.scope, reason="cleared")
            return
        if not should_set(app, session):
            return
        settings = self.settings
        now = int(self.clock())
        created = now if session.created is None else session.created
        device = self._device(session, now)
        try:
            value = self.codec.encode(created, now, session)
        except PayloadTooLarge as e:
            too_large(session, e.size, self.max_inflated)
            return
        expires = None
        if settings.permanent or session.permanent:
            expires = now + settings.permanent_lifetime
            if settings.absolute_timeout is not None:
                expires = min(expires, created + settings.absolute_timeout)
        header = policy.header(value, expires, now)
        if not policy.fits(header):
            too_large(session, policy.size(header), policy.max_size)
            return
        policy.set(response, header)
        vary_cookie(response)
        if session.new and session_started.receivers:
            send(session_started, scope=settings.scope)
        if device is not None:
            assert self.devices is not None and self.revocations is not None
            window = self.revocations.window
            self.devices.record(session, device, None, created, window, window)
        session.created = created
        session.touched = now
        session.reissue = False
