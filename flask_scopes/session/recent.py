"""The stored entry each id cookie last loaded, with what its checks found,
so that a session read again unchanged is handed out after comparing the
entry's bytes and the time, with none of its other checks run again.

What is remembered follows from the cookie, the entry's bytes and the
user's revocation marker alone: the id and entry name the cookie names,
that the entry belongs to the user the cookie names and that user was not
revoked. Only the times depend on when the session is read, and they are
kept as the span in which the time rules pass.

.. versionadded:: 0.2
"""

from __future__ import annotations

import typing as t

from .mapping import FLASHES_KEY
from .timing import TimeRules

if t.TYPE_CHECKING:  # pragma: no cover
    from ..codecs.copies import Plan
    from ..settings import Settings
    from .decoded import DecodedEntries
    from .timing import CheckTimes


class Recalled:
    """What one id cookie's last load found.

    :param named: The session id, the user ref, the index of the key that
        verified the cookie, and the entry's name.
    :param raw: The entry's bytes.
    :param marker: The user's revocation marker, or ``None``.
    :param kept: The entry's data, to hand out copies of with ``steps``.
    :param first: The first time (Unix) at which the time rules pass.
    :param last: The last such time.
    :param refresh: When a read writes the entry again to keep it alive.
    """

    __slots__ = (
        "named",
        "raw",
        "marker",
        "created",
        "touched",
        "kept",
        "steps",
        "first",
        "last",
        "refresh",
    )

    def __init__(
        self,
        named: tuple[str, str | None, int, str],
        raw: bytes,
        marker: bytes | None,
        created: int,
        touched: int,
        kept: dict[str, t.Any],
        steps: Plan,
        first: int,
        last: int,
        refresh: float,
    ) -> None:
        self.named = named
        self.raw = raw
        self.marker = marker
        self.created = created
        self.touched = touched
        self.kept = kept
        self.steps = steps
        self.first = first
        self.last = last
        self.refresh = refresh


class RecentLoads:
    """The last load of each id cookie, for
    :class:`~flask_scopes.session.server_mode.ServerSessions`.

    :param check_times: The time rules in use. Nothing is remembered unless
        they are the built-in ones, whose spans are known.
    :param decoded: Where decoded entries are remembered, with how to copy
        them.
    :param refresh_after: How old an entry may be before a read refreshes
        it, for a browser-lifetime session, then for a permanent one.
    """

    def __init__(
        self,
        settings: Settings,
        check_times: CheckTimes,
        decoded: DecodedEntries,
        refresh_after: tuple[float, ...],
    ) -> None:
        rules = getattr(check_times, "__self__", None)
        self.rules = rules if type(rules) is TimeRules else None
        self.settings = settings
        self.decoded = decoded
        self.refresh_after = refresh_after
        #: id cookie -> its last load. Read directly on the path of every
        #: request that reads a stored session.
        self.loads: dict[str, Recalled] = {}

    def remember(
        self,
        value: str,
        named: tuple[str, str | None, int, str],
        raw: bytes,
        marker: bytes | None,
        permanent: bool,
    ) -> None:
        """Remember that the id cookie ``value``, which names ``named``,
        loaded the entry ``raw``, which passed every check, with the user's
        revocation ``marker``."""
        seen = self.decoded.seen.get(raw)
        if self.rules is None or seen is None:
            return
        created, touched, kept, steps = seen
        span = self.rules.span(self.settings, created, touched, permanent)
        if span is None or FLASHES_KEY in kept:
            return
        first, last = span
        if not permanent:
            last = min(last, touched + self.settings.store_ttl)
        refresh = touched + self.refresh_after[permanent]
        loads = self.loads
        if len(loads) >= self.decoded.remembered:
            loads.clear()
        loads[value] = Recalled(
            named, raw, marker, created, touched, kept, steps, first, last, refresh
        )
