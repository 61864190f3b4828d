"""Sessions kept on the server: the cookie carries only a signed random id,
the data lives in a :class:`~flask_scopes.stores.BaseSessionStore`.
"""

from __future__ import annotations

import logging
import typing as t

from ..codecs.copies import hand_out
from ..codecs.encoding import BadCookie
from ..codecs.tagged import BUILTIN
from ..codecs.tagged import largest_keys
from ..cookies import one_value
from ..cookies import vary_cookie
from ..errors import SessionStoreUnavailable
from ..errors import SessionValueError
from ..errors import StoredSessionTooLarge
from ..signals import send
from ..signals import session_ended
from ..signals import session_started
from .decoded import DecodedEntries
from .entries import binding
from .entries import encode_entry
from .entries import entry_name
from .entries import marker_name
from .entries import migration_name
from .entries import new_id
from .entries import NotAnIdCookie
from .loading import load_failed
from .mapping import USER_KEY
from .recent import RecentLoads
from .timing import entry_ttl
from .timing import entry_window
from .timing import SessionEnded

if t.TYPE_CHECKING:  # pragma: no cover
    from flask.wrappers import Response

    from ..codecs.tagged import Tags
    from ..cookies import CookiePolicy
    from ..settings import Settings
    from ..stores import BaseSessionStore
    from .cookie_mode import CookieSessions
    from .devices import Devices
    from .entries import SessionIds
    from .entries import UserRefs
    from .mapping import ScopesSession
    from .revocation import Revocations
    from .timing import CheckTimes

logger = logging.getLogger("flask_scopes")


def migration_left(
    settings: Settings, created: int, touched: int, now: int, permanent: bool
) -> int:
    """How many more seconds a cookie session may be taken over by the
    store: the limit a stored session of its kind has.

    :raises SessionEnded: It is past that limit.

    .. versionadded:: 0.2
    """
    left = entry_ttl(settings, created, touched, permanent) - (now - touched)
    if left < 0:
        raise SessionEnded("past the time to live of a stored session")
    return left


class ServerSessions:
    """Loads and saves the sessions of one app in its store.

    Round trips: none for a request that never touches the session; one to
    read (``GET``, or ``MGET`` with the user's revocation marker); one more
    to write a change (``SET XX``, so that a session deleted meanwhile stays
    deleted) or to delete an emptied session. A new session is one
    ``SET NX``. Signing in costs more: reading the user's epoch, adding the
    new entry, then deleting the old one; if that delete finds nothing (a
    concurrent sign-out or sign-in ended it), the new entry is deleted
    again and the request's changes are dropped.

    An entry is written when the session changed, or when a fraction
    (:attr:`~flask_scopes.ScopesSessionInterface.idle_refresh_fraction`) of
    its window has passed since the last write, so that an active session
    outlives its time to live; this replaces ``SESSION_REFRESH_EACH_REQUEST``,
    which would write on every request. The cookie is sent only when the id
    changes or, for a permanent session, with each new expiry.

    :param settings: The scope's settings.
    :param policy: The id cookie's attributes.
    :param store: Where the entries live.
    :param ids: Signs the id cookies.
    :param refs: Names the user of a bound session in its cookie.
    :param revocations: The users' revocation epochs, or ``None``.
    :param cookies: Reads cookie sessions from before the store was
        configured, to migrate them, or ``None``.
    :param clock: Returns the current Unix time.
    :param check_times: Refuses a session whose timestamps say it ended.
    :param refresh_fraction: The share of an entry's window after which an
        unchanged session is written again.
    :param tags: The session's tags, registered ones included.

    .. versionchanged:: 0.2
        The ``tags`` parameter.
    """

    #: How many fresh ids to try when one is taken, which never happens
    #: with 256-bit ids unless the store misbehaves.
    id_attempts = 3
    #: Keeps each user's index of sessions, or ``None``.
    #:
    #: .. versionadded:: 0.2
    devices: Devices | None = None

    def __init__(
        self,
        settings: Settings,
        policy: CookiePolicy,
        store: BaseSessionStore,
        ids: SessionIds,
        refs: UserRefs,
        revocations: Revocations | None,
        cookies: CookieSessions | None,
        clock: t.Callable[[], float],
        check_times: CheckTimes,
        refresh_fraction: float,
        tags: Tags = BUILTIN,
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.store = store
        self.ids = ids
        self.refs = refs
        self.revocations = revocations
        self.cookies = cookies
        self.clock = clock
        self.check_times = check_times
        self.refresh_fraction = refresh_fraction
        self.tags = tags
        self._decoded = DecodedEntries(tags)
        #: How old an entry may be before a read refreshes it, in seconds:
        #: for a browser-lifetime session, then for a permanent one.
        self._refresh_after = tuple(
            entry_window(settings, permanent) * refresh_fraction
            for permanent in (False, True)
        )
        self._recent = RecentLoads(
            settings, check_times, self._decoded, self._refresh_after
        )

    # -- loading -------------------------------------------------------------

    def load(
        self, values: list[str], session: ScopesSession, strict: bool = False
    ) -> None:
        """Fill ``session`` from the entry the request's cookie names. A bad
        or unknown id leaves it empty and new; an outage raises.

        :param strict: Raise why the session was not loaded instead (for
            :mod:`flask_scopes.inspection`).
        """
        # On the path of every request that reads a stored session, so one
        # function. What a cookie's last load found is remembered
        # (RecentLoads): the same entry read again checks only the time.
        try:
            value = values[0] if len(values) == 1 else one_value(values)
            recent = self._recent.loads.get(value)
            if recent is not None:
                named = recent.named
            else:
                try:
                    sid, uref, index = self.ids.load(value)
                except NotAnIdCookie:
                    if self.cookies is not None and self.cookies.reads(value):
                        self._migrate(values, session)
                        return
                    raise
                named = sid, uref, index, entry_name(sid, uref)
            sid, uref, index, name = named
            revocations = self.revocations
            marker: bytes | None = None
            if uref is not None and revocations is not None:
                if revocations.store is self.store:
                    raw, marker = self.store.get_many(name, marker_name(uref))
                else:
                    raw = self.store.get(name)
                    marker = revocations.store.get(marker_name(uref))
            else:
                raw = self.store.get(name)
            now = int(self.clock())
            if (
                recent is not None
                and (recent.raw is raw or recent.raw == raw)
                and recent.marker == marker
                and recent.first <= now <= recent.last
            ):
                # The entry this cookie last loaded, unchanged, at a time its
                # rules pass: none of its other checks can fail.
                data = hand_out(recent.kept, recent.steps)
                created, touched = recent.created, recent.touched
                reissue = now >= recent.refresh
            else:
                if raw is None:
                    raise SessionEnded("unknown or expired session id")
                settings = self.settings
                if len(raw) > settings.store_max_size:
                    raise BadCookie(f"entry of {len(raw)} bytes", "oversized")
                created, touched, data = self._decoded.decode(raw)
                permanent = settings.permanent or bool(data.get("_permanent"))
                self.check_times(settings, created, touched, now, permanent)
                if not permanent and now - touched > settings.store_ttl:
                    raise SessionEnded("past SCOPES_SESSION_STORE_TTL")
                if uref is not None or USER_KEY in data:
                    self._check_user(data, uref, marker)
                reissue = now - touched >= self._refresh_after[permanent]
                self._recent.remember(value, named, raw, marker, permanent)
            session._adopt(data, created, touched, index > 0 or reissue)
            session.sid = sid
            session.store_entry = name
            session.resend_cookie = index > 0
        except Exception as e:
            if strict:
                raise
            load_failed(session, e, "session id cookie", self.settings.scope)

    def _check_user(
        self, data: dict[str, t.Any], uref: str | None, marker: bytes | None
    ) -> None:
        """Refuse an entry bound to another user than its name says, or to a
        user revoked since (``marker``).

        :raises BadCookie: The names disagree.
        :raises SessionEnded: The user was revoked.
        """
        bound = binding(data)
        if (bound is None) != (uref is None) or (
            bound is not None
            and uref is not None
            and not self.refs.matches(bound[0], uref)
        ):
            raise BadCookie("the id cookie and the entry name different users")
        revocations = self.revocations
        if bound is not None and revocations is not None:
            if revocations.is_revoked(bound[1], marker):
                raise SessionEnded("the session's user was revoked", "revoked")

    def _migrate(self, values: list[str], session: ScopesSession) -> None:
        """Take over a cookie session from before the store was configured,
        under a new id: only while ``SCOPES_SESSION_MIGRATE_COOKIES`` is on,
        only under the lifetime rules of a stored session, and only once. A
        record of the cookie (a hash of its value) is added to the store for
        as long as the cookie could still be accepted, so a replay of it
        after it was migrated finds the record and gives an empty session.
        """
        assert self.cookies is not None
        settings = self.settings
        if not settings.migrate_cookies:
            raise BadCookie("SCOPES_SESSION_MIGRATE_COOKIES is off")
        created, touched, data, _ = self.cookies.decode(values)
        now = int(self.clock())
        permanent = settings.permanent or bool(data.get("_permanent"))
        left = migration_left(settings, created, touched, now, permanent)
        if not self.store.add(migration_name(one_value(values)), b"1", left + 1):
            # Not "ended": the cookie is left alone, since a concurrent
            # request that migrated it may have sent the browser its new one.
            raise BadCookie("this cookie was already migrated to the store")
        session._adopt(data, created, touched, reissue=True)

    # -- saving --------------------------------------------------------------

    def save(self, session: ScopesSession, response: Response) -> None:
        """Write, refresh or delete the entry and the cookie as the request
        left the session."""
        if session.unsaveable or not (
            session.modified
            or session.reissue
            or session.regenerated
            or not dict.__len__(session)
        ):
            # Unchanged and not empty (the case of every request that only
            # reads a session): nothing to write.
            return
        policy = self.policy
        old = session.store_entry
        if not session:
            if old is not None:
                self.store.delete(old)
                session.sid = session.store_entry = None
                if self.devices is not None:
                    self.devices.forget_entry(old)
                if session_ended.receivers:
                    send(session_ended, scope=self.settings.scope, reason="cleared")
            if session.had_cookie and (
                old is not None or session.modified or session.ended or session.reissue
            ):
                policy.delete(response)
                vary_cookie(response)
            return
        if not (session.modified or session.reissue or session.regenerated):
            return
        settings = self.settings
        now = int(self.clock())
        created = now if session.created is None else session.created
        permanent = settings.permanent or session.permanent
        try:
            bound = binding(session)
        except BadCookie:
            raise SessionValueError(
                f"session[{USER_KEY!r}]",
                session[USER_KEY],
                "is reserved for session.bind_user(): bind the user with it"
                " instead of writing the key.",
            ) from None
        uref = None if bound is None else self.refs.ref(bound[0])
        ttl = entry_ttl(settings, created, now, permanent)
        window = entry_window(settings, permanent)
        devices = self.devices if uref is not None else None
        renew = session.regenerated or session.sid is None
        due = devices is not None and devices.due(session, now, window, renew)
        value = encode_entry(created, now, session, self.tags)
        if len(value) > settings.store_max_size:
            session.unsaveable = True
            raise StoredSessionTooLarge(
                len(value),
                settings.store_max_size,
                largest_keys(session, tags=self.tags),
            )
        sid = session.sid
        if old is not None and (
            session.regenerated or sid is None or entry_name(sid, uref) != old
        ):
            # A new identity. The new entry is added first, so that a store
            # failing half way leaves the old session in place; the old one
            # is then deleted, and if it was already gone (a concurrent
            # sign-out or sign-in), the new one goes too, so that the newer
            # state stands.
            sid = self._create(value, ttl, uref)
            if not self.store.delete(old):
                self.store.delete(entry_name(sid, uref))
                self._ended(session)
                return
            old = None
        elif old is None:
            sid = self._create(value, ttl, uref)
            if session.new and session_started.receivers:
                send(session_started, scope=settings.scope)
        elif not self.store.replace(old, value, ttl):
            self._ended(session)
            return
        assert sid is not None
        # A browser-lifetime cookie whose id did not change is already right;
        # a permanent one carries the new expiry.
        if old is None or permanent or session.resend_cookie:
            expires = now + ttl if permanent else None
            header = policy.header(self.ids.dump(sid, uref), expires, now)
            policy.set(response, header)
            vary_cookie(response)
        if due:
            assert devices is not None and uref is not None
            devices.record(session, uref, sid, created, ttl, window)
        session.resend_cookie = False
        session.sid = sid
        session.store_entry = entry_name(sid, uref)
        session.created = created
        session.touched = now
        session.reissue = session.regenerated = False

    def _create(self, value: bytes, ttl: int, uref: str | None) -> str:
        for _ in range(self.id_attempts):
            sid = new_id()
            if self.store.add(entry_name(sid, uref), value, ttl):
                return sid
        raise SessionStoreUnavailable(
            "save", f"{self.store.describe()}, which refused new session ids"
        )

    def _ended(self, session: ScopesSession) -> None:
        # The cookie is left alone: a concurrent request that regenerated
        # the session may already have sent the browser its new cookie,
        # which deleting ours would wipe out. The old cookie names nothing,
        # so the next request finds its session ended anyway.
        logger.info(
            "The session ended (signed out, revoked, regenerated or expired)"
            " while this request ran; its changes were not saved."
        )
        session.sid = session.store_entry = None
        session.unsaveable = True
