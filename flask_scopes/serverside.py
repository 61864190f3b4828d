"""Sessions kept on the server: the cookie carries only a signed random id,
the data lives in a :class:`~flask_scopes.stores.SessionStore`.

An entry is JSON: ``[format, created, touched, data]``, where ``format`` is
1 for plain JSON and 2 when values carry Flask-style tags. The cookie is
``<id>.<signature>``, or ``<id>.<user ref>.<signature>`` for a session bound
to a user, where the user ref is a hash of the user id that names the
user's revocation marker, so that both are read in one round trip.

Revocation: :meth:`Scopes.revoke_user <flask_scopes.Scopes.revoke_user>`
writes a new random epoch for the user. A session bound to the user holds
the epoch it saw at login and is refused once the two differ. The marker
lives for :func:`revocation_window` (plus a margin): no session that
existed when it was written can outlive it unused.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import typing as t

from .codec import b64encode
from .codec import BadCookie
from .codec import dumps
from .codec import KeyRing
from .codec import largest_keys
from .codec import loads
from .codec import SessionEnded
from .cookies import one_value
from .cookies import vary_cookie
from .errors import SessionStoreUnavailable
from .errors import SessionValueError
from .errors import StoredSessionTooLarge
from .session import loading
from .session import USER_KEY

if t.TYPE_CHECKING:  # pragma: no cover
    from flask.wrappers import Response

    from .interface import ScopesSessionInterface
    from .runtime import Runtime
    from .session import ScopesSession
    from .settings import Settings
    from .stores import SessionStore

logger = logging.getLogger("flask_scopes")

#: Random bytes in a session id (256 bits).
ID_BYTES = 32
_TOKEN = "[A-Za-z0-9_-]"
_ID = re.compile(f"{_TOKEN}{{43}}")
_COOKIE = re.compile(rf"{_TOKEN}{{43}}(?:\.{_TOKEN}{{22}})?\.{_TOKEN}{{43}}")
_EPOCH = re.compile(rb'"(' + _TOKEN.encode() + rb'{22})"')


def new_id() -> str:
    """A new session id: 256 bits from :mod:`secrets`, 43 URL-safe
    characters."""
    return secrets.token_urlsafe(ID_BYTES)


def is_valid_id(value: object) -> bool:
    """Whether ``value`` has the exact form of a session id."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def user_ref(user_id: str) -> str:
    """The short hash of a user id that names the user's revocation marker.
    Not secret: it keeps the id itself out of cookies and keys."""
    digest = hashlib.sha256(b"flask-scopes.user\0" + user_id.encode("utf-8"))
    return b64encode(digest.digest()[:16])


def entry_name(sid: str, uref: str | None) -> str:
    """The store name of a session's entry. A bound session shares a hash
    tag with its user's marker, so that a Redis Cluster reads both in one
    ``MGET``."""
    return f"s:{{{uref}}}{sid}" if uref else f"s:{sid}"


def marker_name(uref: str) -> str:
    """The store name of a user's revocation marker."""
    return f"u:{{{uref}}}"


def encode_entry(created: int, touched: int, data: t.Mapping[str, t.Any]) -> bytes:
    """Serialise a session as an entry: Flask-tagged JSON, never pickle.

    :raises SessionValueError: A value that can't be stored unchanged.
    """
    raw, tagged = dumps(created, touched, dict(data.items()))
    return (b"[2," if tagged else b"[1,") + raw[1:]


def decode_entry(raw: bytes) -> tuple[int, int, dict[str, t.Any]]:
    """The inverse of :func:`encode_entry`, strict about what it accepts.

    :raises BadCookie: Why the entry was refused.
    """
    head = raw[:3]
    if head == b"[1,":
        tagged = False
    elif head == b"[2,":
        tagged = True
    else:
        raise BadCookie("the entry is not in flask-scopes' format")
    return loads(b"[" + raw[3:], tagged)


def binding(data: dict[str, t.Any]) -> tuple[str, str | None] | None:
    """The user and epoch recorded by ``bind_user``, or ``None``.

    :raises BadCookie: The recorded value is malformed.
    """
    value = dict.get(data, USER_KEY)
    if value is None:
        return None
    if (
        type(value) is not list
        or len(value) != 2
        or type(value[0]) is not str
        or not (value[1] is None or type(value[1]) is str)
    ):
        raise BadCookie(f"malformed {USER_KEY!r}")
    return value[0], value[1]


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


class Revocations:
    """Per-user revocation epochs in a store.

    :param store: Where the markers live.
    :param window: See :func:`revocation_window`.
    :param margin: Added to ``window`` for a marker's time to live, to cover
        requests in flight and clock skew.
    """

    def __init__(self, store: SessionStore, window: int, margin: int = 3600) -> None:
        self.store = store
        self.window = window
        self.margin = margin

    def current(self, user_id: str) -> str | None:
        """The user's epoch, ``None`` if the user was never revoked (or so
        long ago that every older session has ended)."""
        raw = self.store.get(marker_name(user_ref(user_id)))
        return None if raw is None else self._parse(raw)

    def revoke(self, user_id: str) -> None:
        """End every session bound to the user, by giving the user a new
        epoch."""
        epoch = secrets.token_urlsafe(16)
        self.store.set(
            marker_name(user_ref(user_id)),
            f'"{epoch}"'.encode("ascii"),
            self.window + self.margin,
        )

    def is_revoked(self, epoch: str | None, marker: bytes | None) -> bool:
        """Whether a session that saw ``epoch`` at login is revoked by the
        marker read from the store."""
        if marker is None:
            return False
        # A marker that can't be read revokes: it was tampered with.
        return epoch is None or self._parse(marker) != epoch

    @staticmethod
    def _parse(raw: bytes) -> str:
        match = _EPOCH.fullmatch(raw)
        return match.group(1).decode("ascii") if match else "!unreadable"

    def check_cookie(
        self, data: dict[str, t.Any], touched: int, now: int, fraction: float
    ) -> bool:
        """Refuse a cookie session whose user was revoked.

        :returns: Whether the cookie must be re-issued to stay within the
            window.
        :raises SessionEnded: Revoked, or unused for longer than the window.
        """
        bound = binding(data)
        if bound is None:
            return False
        if now - touched > self.window:
            raise SessionEnded("bound to a user and unused for longer than the window")
        marker = self.store.get(marker_name(user_ref(bound[0])))
        if self.is_revoked(bound[1], marker):
            raise SessionEnded("the session's user was revoked")
        return now - touched >= self.window * fraction


class NotAnIdCookie(BadCookie):
    """Internal: the cookie does not have the shape of an id cookie."""


class SessionIds:
    """Signs and verifies the session id cookie.

    :param keys: A key ring for :data:`~flask_scopes.codec.SESSION_ID_SALT`.
    """

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys

    def dump(self, sid: str, uref: str | None) -> str:
        """The cookie value for a session id."""
        return self.keys.sign(f"{sid}.{uref}" if uref else sid)

    def load(self, value: str) -> tuple[str, str | None, int]:
        """Verify an id cookie and check the form of what it carries, before
        anything reaches the store.

        :returns: The id, the user ref or ``None``, and the index of the key
            that verified it.
        :raises BadCookie: Why it was refused.
        """
        if _COOKIE.fullmatch(value) is None:
            raise NotAnIdCookie("not a session id cookie")
        message, index = self.keys.unsign(value)
        # The shape was checked above: the id, then maybe "." and the ref.
        text = message.decode("ascii")
        return text[:43], text[44:] or None, index


class ServerSessions:
    """Loads and saves the sessions of one app in its store.

    Round trips: none for a request that never touches the session; one to
    read (``GET``, or ``MGET`` with the user's revocation marker); one more
    to write a change (``SET XX``, so that a session deleted meanwhile stays
    deleted) or to delete an emptied session. A new session is one
    ``SET NX``. Signing in costs more: reading the user's epoch, deleting
    the old entry, then writing the new one only if that delete found it.

    An entry is written when the session changed, or when a fraction
    (:attr:`~flask_scopes.ScopesSessionInterface.idle_refresh_fraction`) of
    its window has passed since the last write, so that an active session
    outlives its time to live; this replaces ``SESSION_REFRESH_EACH_REQUEST``,
    which would write on every request. The cookie is sent only when the id
    changes or, for a permanent session, with each new expiry.

    :param interface: The session interface, for the clock and the time rules.
    :param runtime: The app's resolved settings, codecs and policies.
    :param store: Where the entries live.
    :param ids: Signs the id cookies.
    """

    #: How many fresh ids to try when one is taken, which never happens
    #: with 256-bit ids unless the store misbehaves.
    id_attempts = 3

    def __init__(
        self,
        interface: ScopesSessionInterface,
        runtime: Runtime,
        store: SessionStore,
        ids: SessionIds,
    ) -> None:
        self.interface = interface
        self.runtime = runtime
        self.store = store
        self.ids = ids

    # -- loading -------------------------------------------------------------

    def load(self, values: list[str], session: ScopesSession) -> None:
        """Fill ``session`` from the entry the request's cookie names. A bad
        or unknown id leaves it empty and new; an outage raises."""
        with loading(session, "session id cookie"):
            self._load(values, session)

    def _load(self, values: list[str], session: ScopesSession) -> None:
        value = one_value(values)
        runtime = self.runtime
        try:
            sid, uref, index = self.ids.load(value)
        except NotAnIdCookie:
            codec = runtime.codec
            if (codec is not None and codec.is_own(value)) or runtime.flask_reader:
                self._migrate(values, session)
                return
            raise
        name = entry_name(sid, uref)
        revocations = runtime.revocations
        marker: bytes | None = None
        if uref is not None and revocations is not None:
            if revocations.store is self.store:
                raw, marker = self.store.get_many(name, marker_name(uref))
            else:
                raw = self.store.get(name)
                marker = revocations.store.get(marker_name(uref))
        else:
            raw = self.store.get(name)
        if raw is None:
            raise SessionEnded("unknown or expired session id")
        settings = runtime.settings
        if len(raw) > settings.store_max_size:
            raise BadCookie(f"entry of {len(raw)} bytes")
        created, touched, data = decode_entry(raw)
        now = int(self.interface.clock())
        permanent = bool(data.get("_permanent"))
        self.interface.check_times(settings, created, touched, now, permanent)
        if not permanent and now - touched > settings.store_ttl:
            raise SessionEnded("past SCOPES_SESSION_STORE_TTL")
        bound = binding(data)
        if (None if bound is None else user_ref(bound[0])) != uref:
            raise BadCookie("the id cookie and the entry name different users")
        if bound is not None and revocations is not None:
            if revocations.is_revoked(bound[1], marker):
                raise SessionEnded("the session's user was revoked")
        window = settings.permanent_lifetime if permanent else settings.store_ttl
        if settings.idle_timeout is not None:
            window = min(window, settings.idle_timeout)
        refresh = now - touched >= window * self.interface.idle_refresh_fraction
        session._adopt(data, created, touched, index > 0 or refresh)
        session.sid = sid
        session.store_entry = name
        session.resend_cookie = index > 0

    def _migrate(self, values: list[str], session: ScopesSession) -> None:
        # A cookie session from before the store was configured: keep it,
        # under a new id.
        created, touched, data, _ = self.interface._decode(self.runtime, values)
        session._adopt(data, created, touched, reissue=True)

    # -- saving --------------------------------------------------------------

    def save(self, session: ScopesSession, response: Response) -> None:
        """Write, refresh or delete the entry and the cookie as the request
        left the session."""
        if session.unsaveable:
            return
        policy = self.runtime.session_cookie
        old = session.store_entry
        if not session:
            if old is not None:
                self.store.delete(old)
                session.sid = session.store_entry = None
            if session.had_cookie and (
                old is not None or session.modified or session.ended
            ):
                policy.delete(response)
                vary_cookie(response)
            return
        if not (session.modified or session.reissue or session.regenerated):
            return
        settings = self.runtime.settings
        now = int(self.interface.clock())
        created = now if session.created is None else session.created
        permanent = session.permanent
        try:
            bound = binding(session)
        except BadCookie:
            raise SessionValueError(
                f"session[{USER_KEY!r}]",
                session[USER_KEY],
                "is reserved for session.bind_user(): bind the user with it"
                " instead of writing the key.",
            ) from None
        uref = None if bound is None else user_ref(bound[0])
        value = encode_entry(created, now, session)
        if len(value) > settings.store_max_size:
            session.unsaveable = True
            raise StoredSessionTooLarge(
                len(value), settings.store_max_size, largest_keys(session)
            )
        ttl = entry_ttl(settings, created, now, permanent)
        sid = session.sid
        if old is not None and (
            session.regenerated or sid is None or entry_name(sid, uref) != old
        ):
            # A new identity: the old entry goes first, and only if it still
            # exists is the session written again, so that a concurrent
            # logout stands.
            if not self.store.delete(old):
                self._ended(session, response)
                return
            old = None
        if old is None:
            sid = self._create(value, ttl, uref)
        elif not self.store.replace(old, value, ttl):
            self._ended(session, response)
            return
        assert sid is not None
        # A browser-lifetime cookie whose id did not change is already right;
        # a permanent one carries the new expiry.
        if old is None or permanent or session.resend_cookie:
            expires = now + ttl if permanent else None
            header = policy.header(self.ids.dump(sid, uref), expires, now)
            policy.set(response, header)
            vary_cookie(response)
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

    def _ended(self, session: ScopesSession, response: Response) -> None:
        logger.info(
            "The session ended (signed out, revoked or expired) while this"
            " request ran; its changes were not saved."
        )
        session.sid = session.store_entry = None
        session.unsaveable = True
        if session.had_cookie:
            self.runtime.session_cookie.delete(response)
            vary_cookie(response)
