""" "Your devices": the sessions bound to a user, listed and ended one by one.

Each user with bound sessions has an index in the store, under
``d:{<user ref>}``: a JSON list with one item per session, newest last::

    [[ref, session id or null, began, seen, until, user agent, ip], ...]

``ref`` is 128 random bits from :mod:`secrets`, made at
:meth:`~flask_scopes.ScopesSession.bind_user` and kept in the session under
``_scopes_device`` with the time the index last heard of it. It is the
session's reference for the app: it never reveals the session id, which
only the index (in the store, where the entries already are) holds.
``until`` is when the session ends at the latest if it is not used again;
listing skips items past it.

The index shares the user's hash tag with the user's entries and
revocation marker, so that a Redis Cluster keeps all of them in one slot.
Listing is one ``GET``. Updating is a ``GET`` and a ``SET``: at login, when
the session gets a new id, at logout, and when the session is written
after a fraction of its window has passed (the idle refresh's resolution),
never on every request. Two updates of one user's index at the same moment
can lose one of them, since the store offers no compare-and-set: a lost
item comes back at that session's next update, and a lost removal lasts
until the item's ``until``. Ending a session never depends on the index
alone: it deletes the entry (store mode) or writes a marker the session is
checked against (cookie mode).

.. versionadded:: 0.2
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import typing as t
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone

from flask import has_request_context
from flask import request

from ..codecs.tagged import json_dumps
from ..errors import SessionStoreUnavailable
from .entries import entry_name
from .entries import is_valid_id
from .entries import TOKEN

if t.TYPE_CHECKING:  # pragma: no cover
    from ..stores import SessionStore
    from .entries import UserRefs
    from .mapping import ScopesSession

logger = logging.getLogger("flask_scopes")

#: The session key that holds the session's device reference and when the
#: index last heard of it: ``[ref, unix time]``.
DEVICE_KEY = "_scopes_device"
_REF = re.compile(f"{TOKEN}{{22}}")
_ENTRY = re.compile(rf"s:\{{({TOKEN}{{22}})\}}({TOKEN}{{43}})")


def index_name(uref: str) -> str:
    """The store name of a user's index of sessions."""
    return f"d:{{{uref}}}"


def ended_name(uref: str, ref: str) -> str:
    """The store name of the marker that ends one cookie session."""
    return f"x:{{{uref}}}{ref}"


def is_ref(value: object) -> bool:
    """Whether ``value`` has the exact form of a device reference."""
    return isinstance(value, str) and _REF.fullmatch(value) is not None


@dataclass(frozen=True)
class Device:
    """One live session of a user, as :meth:`Scopes.user_sessions
    <flask_scopes.Scopes.user_sessions>` lists it.

    .. versionadded:: 0.2
    """

    #: The session's opaque reference, for :meth:`Scopes.end_session
    #: <flask_scopes.Scopes.end_session>`. It never reveals the session id.
    ref: str
    #: When the session began (the user signed in), in UTC.
    began: datetime
    #: When it was last seen, to the idle refresh's resolution, in UTC.
    last_seen: datetime
    #: The ``User-Agent`` it began with, with ``SCOPES_DEVICES_USER_AGENT``.
    user_agent: str | None
    #: The client address it began with, with ``SCOPES_DEVICES_IP``.
    ip: str | None
    #: Whether it is the session of the current request.
    current: bool = False


_Item = list[t.Any]


class Devices:
    """Keeps each user's index of sessions in a store.

    :param store: Where the indexes live: the session store, or the
        revocation store in cookie mode.
    :param refs: Names users in store keys.
    :param clock: Returns the current Unix time.
    :param refresh_fraction: The share of a session's window after which
        the index hears of it again.
    :param user_agent: Record the ``User-Agent`` a session began with.
    :param ip: Record the client address a session began with.
    :param marker_ttl: How long the marker that ends a cookie session
        lives: as long as such a session may live unused, and a margin.
    """

    #: The most sessions kept per user; the least recently seen give way.
    max_per_user = 50
    #: The longest ``User-Agent`` kept, in characters.
    max_user_agent = 256

    def __init__(
        self,
        store: SessionStore,
        refs: UserRefs,
        clock: t.Callable[[], float],
        refresh_fraction: float,
        *,
        user_agent: bool = False,
        ip: bool = False,
        marker_ttl: int = 0,
    ) -> None:
        self.store = store
        self.refs = refs
        self.marker_ttl = marker_ttl
        self.clock = clock
        self.refresh_fraction = refresh_fraction
        self.user_agent = user_agent
        self.ip = ip

    # -- the session's side --------------------------------------------------

    def bind(self, session: ScopesSession) -> None:
        """Give a session that is being bound to a user a new reference."""
        session[DEVICE_KEY] = [secrets.token_urlsafe(16), 0]

    @staticmethod
    def ref_of(session: dict[str, t.Any]) -> str | None:
        """The device reference a session holds, or ``None``."""
        value = dict.get(session, DEVICE_KEY)
        if type(value) is list and len(value) == 2 and is_ref(value[0]):
            return t.cast(str, value[0])
        return None

    def due(self, session: ScopesSession, now: int, window: int, renew: bool) -> bool:
        """Whether the index must hear of ``session`` as it is written now;
        if so, the session records the time, without counting as modified.

        :param window: How long the session lives unused.
        :param renew: The session gets a new id.
        """
        value = dict.get(session, DEVICE_KEY)
        if type(value) is not list or len(value) != 2 or not is_ref(value[0]):
            return False
        stamp = value[1] if type(value[1]) is int else 0
        if not renew and now - stamp < window * self.refresh_fraction:
            return False
        dict.__setitem__(session, DEVICE_KEY, [value[0], now])
        return True

    def record(
        self,
        session: ScopesSession,
        uref: str,
        sid: str | None,
        began: int,
        ttl: int,
        window: int,
    ) -> None:
        """Add or refresh a session's item in its user's index, after
        :meth:`due` said so and the session was written.

        :param uref: The user's ref.
        :param sid: The session id in store mode, ``None`` in cookie mode.
        :param began: When the session began.
        :param ttl: How long the session lives from now if unused.
        :param window: How long it lives unused, at most.
        """
        ref = self.ref_of(session)
        if ref is None:
            return
        now = int(self.clock())
        # Writes that don't update the index extend the session by up to
        # this much past what the index knows.
        until = now + ttl + int(window * self.refresh_fraction) + 1
        try:
            items = self._read(uref, now)
            old = next((item for item in items if item[0] == ref), None)
            if old is None:
                agent, ip = request_client()
                agent = (
                    agent[: self.max_user_agent] if self.user_agent and agent else None
                )
                ip = ip[:64] if self.ip and ip else None
                items.append([ref, sid, began, now, until, agent, ip])
            else:
                items.remove(old)
                old[1], old[3], old[4] = sid, now, until
                items.append(old)
            self._write(uref, items[-self.max_per_user :], now)
        except SessionStoreUnavailable as e:
            # The item comes back at the session's next update.
            logger.warning("A user's index of sessions was not updated: %s", e)

    def forget_entry(self, name: str) -> None:
        """Remove the item of the store-mode session whose entry is
        ``name``, once the entry is deleted (the user signed out)."""
        match = _ENTRY.fullmatch(name)
        if match is None:
            return
        uref, sid = match.groups()
        now = int(self.clock())
        try:
            items = self._read(uref, now)
            kept = [item for item in items if item[1] != sid]
            if len(kept) != len(items):
                self._write(uref, kept, now)
        except SessionStoreUnavailable as e:
            # The item goes when its session would have expired.
            logger.warning("A user's index of sessions was not updated: %s", e)

    # -- the app's side ------------------------------------------------------

    def sessions(self, user_id: str, current: str | None = None) -> list[Device]:
        """The user's live sessions, most recently seen first: one read.

        :param current: The device reference of the current request's
            session, to mark it.
        """
        now = int(self.clock())
        items = self._read(self.refs.ref(user_id), now)
        return [
            Device(
                ref,
                _time(began),
                _time(seen),
                agent,
                ip,
                ref == current,
            )
            for ref, _, began, seen, _, agent, ip in reversed(items)
        ]

    def end(self, user_id: str, ref: str) -> bool:
        """End one of the user's sessions.

        :returns: Whether the user had a live session of that reference.
        """
        if not is_ref(ref):
            return False
        uref = self.refs.ref(user_id)
        now = int(self.clock())
        items = self._read(uref, now)
        found = next((item for item in items if item[0] == ref), None)
        if found is None:
            return False
        sid = found[1]
        if sid is not None:
            self.store.delete(entry_name(sid, uref))
        else:
            self.store.set(ended_name(uref, ref), b"1", max(1, self.marker_ttl))
        items.remove(found)
        self._write(uref, items, now)
        return True

    def forget_user(self, user_id: str) -> None:
        """Drop the user's index, once every session of the user ended."""
        self.store.delete(index_name(self.refs.ref(user_id)))

    # -- the index -----------------------------------------------------------

    def _read(self, uref: str, now: int) -> list[_Item]:
        raw = self.store.get(index_name(uref))
        if raw is None:
            return []
        try:
            data = json.loads(raw)
            items = [item for item in data if _valid(item)]
        except (ValueError, TypeError, RecursionError):
            logger.warning("A user's index of sessions was unreadable; it restarts")
            return []
        return [item for item in items if item[4] > now][-self.max_per_user :]

    def _write(self, uref: str, items: list[_Item], now: int) -> None:
        name = index_name(uref)
        if not items:
            self.store.delete(name)
            return
        ttl = max(item[4] for item in items) - now
        self.store.set(name, json_dumps(items).encode("utf-8"), max(1, ttl))


def request_client() -> tuple[str | None, str | None]:
    """The ``User-Agent`` and address of the current request, if any."""
    if not has_request_context():
        return None, None
    return request.headers.get("User-Agent"), request.remote_addr


def _valid(item: t.Any) -> bool:
    return (
        type(item) is list
        and len(item) == 7
        and is_ref(item[0])
        and (item[1] is None or is_valid_id(item[1]))
        and all(type(item[i]) is int for i in (2, 3, 4))
        and all(item[i] is None or type(item[i]) is str for i in (5, 6))
    )


def _time(value: int) -> datetime:
    return datetime.fromtimestamp(value, timezone.utc)
