"""The time rules of a session, as pure functions of its settings and a
clock: when a session has ended, how long its entry lives, and when an
unchanged session must be written again so that it stays alive.
"""

from __future__ import annotations

import typing as t

from ..codecs.encoding import BadCookie

if t.TYPE_CHECKING:  # pragma: no cover
    from ..settings import Settings

#: The signature of :meth:`TimeRules.check`, as
#: :meth:`ScopesSessionInterface.check_times
#: <flask_scopes.ScopesSessionInterface.check_times>` has it.
CheckTimes = t.Callable[["Settings", int, int, int, bool], None]


#: A time later than any session lasts.
ENDLESS = 2**62


class SessionEnded(BadCookie):
    """Internal: the cookie is genuine, but its session has ended (expired,
    timed out, unknown to the store, revoked), so the cookie may be deleted.
    A cookie that merely fails to verify is left alone: it may be valid
    under keys another server of a rolling deploy already has.

    :param message: Why, for the debug log.
    :param reason: Why, as the :data:`~flask_scopes.signals.session_ended`
        signal reports it: ``"timeout"`` (idle or absolute timeout),
        ``"expired"`` (past its lifetime, or unknown to the store) or
        ``"revoked"``.
    """

    def __init__(self, message: str = "", reason: str = "expired") -> None:
        super().__init__(message, reason)


class TimeRules:
    """Refuses sessions whose timestamps say they have ended.

    :param max_clock_skew: How far in the future a session's last write may
        be, for clock skew between servers, in seconds.
    """

    __slots__ = ("max_clock_skew",)

    def __init__(self, max_clock_skew: int) -> None:
        self.max_clock_skew = max_clock_skew

    def check(
        self, settings: Settings, created: int, touched: int, now: int, permanent: bool
    ) -> None:
        """Refuse a session whose timestamps say it has ended.

        An age equal to a limit passes; one second more fails.

        :raises SessionEnded: The session has expired or timed out.
        :raises BadCookie: The timestamps are malformed or in the future.
        """
        if not 0 <= created <= touched:
            raise BadCookie("timestamps out of order")
        if touched > now + self.max_clock_skew:
            raise BadCookie(f"dated {touched - now} s in the future")
        if permanent and now - touched > settings.permanent_lifetime:
            raise SessionEnded("past PERMANENT_SESSION_LIFETIME")
        idle = settings.idle_timeout
        if idle is not None and now - touched > idle:
            raise SessionEnded(
                "idle for longer than SCOPES_SESSION_IDLE_TIMEOUT", "timeout"
            )
        absolute = settings.absolute_timeout
        if absolute is not None and now - created > absolute:
            raise SessionEnded("older than SCOPES_SESSION_ABSOLUTE_TIMEOUT", "timeout")

    def span(
        self, settings: Settings, created: int, touched: int, permanent: bool
    ) -> tuple[int, int] | None:
        """The first and last times (Unix, inclusive) at which :meth:`check`
        passes for these timestamps, or ``None`` if it never does.

        .. versionadded:: 0.2
        """
        if not 0 <= created <= touched:
            return None
        last = ENDLESS
        if permanent:
            last = touched + settings.permanent_lifetime
        if settings.idle_timeout is not None:
            last = min(last, touched + settings.idle_timeout)
        if settings.absolute_timeout is not None:
            last = min(last, created + settings.absolute_timeout)
        return touched - self.max_clock_skew, last


def revocation_window(settings: Settings) -> int:
    """The longest, in seconds, that a session can stay valid without being
    used: an entry's longest time to live. A revocation marker outlives it.
    In cookie mode, a bound session unused for longer is refused."""
    window = max(settings.permanent_lifetime, settings.store_ttl)
    for limit in (settings.idle_timeout, settings.absolute_timeout):
        if limit is not None:
            window = min(window, limit)
    return window


def entry_ttl(settings: Settings, created: int, now: int, permanent: bool) -> int:
    """How long an entry written now may live: exactly as long as its
    session may, and at least one second."""
    ttl = settings.permanent_lifetime if permanent else settings.store_ttl
    if settings.idle_timeout is not None:
        ttl = min(ttl, settings.idle_timeout)
    if settings.absolute_timeout is not None:
        ttl = min(ttl, created + settings.absolute_timeout - now)
    return max(1, ttl)


def entry_window(settings: Settings, permanent: bool) -> int:
    """How long an entry lives unused, in seconds: the span over which its
    idle refresh is spread."""
    window = settings.permanent_lifetime if permanent else settings.store_ttl
    if settings.idle_timeout is not None:
        window = min(window, settings.idle_timeout)
    return window
