"""What a server-side session is made of in the store: its random id, the
signed id cookie, the name and format of its entry, and the binding to a
user.

An entry is JSON: ``[format, created, touched, data]``, where ``format`` is
1 for plain JSON and 2 when values carry Flask-style tags. The cookie is
``<id>.<signature>``, or ``<id>.<user ref>.<signature>`` for a session bound
to a user, where the user ref is a keyed hash of the user id (HMAC under
a key derived from the secret key for this purpose alone) that names the
user's revocation marker, so that both are read in one round trip.
Without the secret key, neither the user id nor the link between two
devices of one user can be recovered from cookies.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import typing as t

from ..codecs.encoding import b64encode
from ..codecs.encoding import BadCookie
from ..codecs.signing import KeyRing
from ..codecs.tagged import BUILTIN
from ..codecs.tagged import dumps
from ..codecs.tagged import loads
from ..codecs.tagged import Tags
from .mapping import USER_KEY

#: Random bytes in a session id (256 bits).
ID_BYTES = 32
TOKEN = "[A-Za-z0-9_-]"
_ID = re.compile(f"{TOKEN}{{43}}")
_COOKIE = re.compile(rf"{TOKEN}{{43}}(?:\.{TOKEN}{{22}})?\.{TOKEN}{{43}}")


def new_id() -> str:
    """A new session id: 256 bits from :mod:`secrets`, 43 URL-safe
    characters."""
    return secrets.token_urlsafe(ID_BYTES)


def is_valid_id(value: object) -> bool:
    """Whether ``value`` has the exact form of a session id."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


#: The purpose the user ref's key is derived for, from each secret key.
USER_REF_PURPOSE = b"flask-scopes.user-ref"


class UserRefs:
    """Names a user in cookies and store keys without giving the user id
    away: a keyed hash (HMAC-SHA256 under a key derived from the secret
    key, with a purpose of its own), 128 bits in 22 characters.

    .. versionadded:: 0.2
        Earlier versions used an unkeyed hash, which could be reversed for
        numeric ids and e-mail addresses. Id cookies carrying such a ref are
        refused: their users sign in again.

    :param keys: The current secret key, then the fallbacks. A ref made
        under a fallback key is still recognised.
    """

    #: How many users' refs are remembered, so that the sessions of a user
    #: seen again do not hash the user id again. ``0`` turns it off.
    #:
    #: .. versionadded:: 0.2
    remembered = 4096

    def __init__(self, keys: t.Sequence[bytes]) -> None:
        self._keys = [
            hmac.new(key, USER_REF_PURPOSE, hashlib.sha256).digest()
            for key in (keys or (b"",))
        ]
        self._seen: dict[str, tuple[str, ...]] = {}

    def ref(self, user_id: str, index: int = 0) -> str:
        """The user's ref under the current key, or the key at ``index``."""
        mac = hmac.new(self._keys[index], user_id.encode("utf-8"), hashlib.sha256)
        return b64encode(mac.digest()[:16])

    def all(self, user_id: str) -> list[str]:
        """The user's ref under every key, the current one first."""
        return list(self._all(user_id))

    def _all(self, user_id: str) -> tuple[str, ...]:
        refs = self._seen.get(user_id)
        if refs is None:
            refs = tuple(self.ref(user_id, i) for i in range(len(self._keys)))
            if self.remembered:
                if len(self._seen) >= self.remembered:
                    self._seen.clear()
                self._seen[user_id] = refs
        return refs

    def matches(self, user_id: str, ref: str) -> bool:
        """Whether ``ref`` names the user under any of the keys, compared in
        constant time."""
        found = False
        for candidate in self._all(user_id):
            found |= hmac.compare_digest(candidate, ref)
        return found


def entry_name(sid: str, uref: str | None) -> str:
    """The store name of a session's entry. A bound session shares a hash
    tag with its user's marker, so that a Redis Cluster reads both in one
    ``MGET``."""
    return f"s:{{{uref}}}{sid}" if uref else f"s:{sid}"


def marker_name(uref: str) -> str:
    """The store name of a user's revocation marker."""
    return f"u:{{{uref}}}"


def migration_name(cookie: str) -> str:
    """The store name of the record that a cookie session was migrated to
    the store: a hash of the whole cookie value, so that replaying it finds
    the record.

    .. versionadded:: 0.2
    """
    digest = hashlib.sha256(cookie.encode("utf-8", "surrogateescape")).digest()
    return f"m:{b64encode(digest)}"


def encode_entry(
    created: int, touched: int, data: t.Mapping[str, t.Any], tags: Tags = BUILTIN
) -> bytes:
    """Serialise a session as an entry: Flask-tagged JSON, never pickle.

    :param tags: The session's tags, registered ones included.
    :raises SessionValueError: A value that can't be stored.
    """
    raw, tagged = dumps(created, touched, dict(data.items()), tags)
    return (b"[2," if tagged else b"[1,") + raw[1:]


def decode_entry(raw: bytes, tags: Tags = BUILTIN) -> tuple[int, int, dict[str, t.Any]]:
    """The inverse of :func:`encode_entry`, strict about what it accepts.

    :param tags: The session's tags, registered ones included.

    :raises BadCookie: Why the entry was refused.
    """
    head = raw[:3]
    if head == b"[1,":
        tagged = False
    elif head == b"[2,":
        tagged = True
    else:
        raise BadCookie("the entry is not in flask-scopes' format")
    return loads(b"[" + raw[3:], tagged, tags)


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


class NotAnIdCookie(BadCookie):
    """Internal: the cookie does not have the shape of an id cookie."""


class SessionIds:
    """Signs and verifies the session id cookie.

    :param keys: A key ring for :data:`~flask_scopes.codec.SESSION_ID_SALT`.
    """

    #: How many id cookies this process signed or verified are remembered,
    #: so that the same cookie sent again (every request of a session sends
    #: it) is not verified again. ``0`` turns it off.
    #:
    #: .. versionadded:: 0.2
    remembered = 4096

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys
        self._seen: dict[str, tuple[str, str | None, int]] = {}

    def _remember(self, value: str, loaded: tuple[str, str | None, int]) -> None:
        if not self.remembered:
            return
        if len(self._seen) >= self.remembered:
            self._seen.clear()
        self._seen[value] = loaded

    def dump(self, sid: str, uref: str | None) -> str:
        """The cookie value for a session id."""
        value = self.keys.sign(f"{sid}.{uref}" if uref else sid)
        self._remember(value, (sid, uref, 0))
        return value

    def load(self, value: str) -> tuple[str, str | None, int]:
        """Verify an id cookie and check the form of what it carries, before
        anything reaches the store.

        :returns: The id, the user ref or ``None``, and the index of the key
            that verified it.
        :raises BadCookie: Why it was refused.
        """
        seen = self._seen.get(value)
        if seen is not None:
            return seen
        if _COOKIE.fullmatch(value) is None:
            raise NotAnIdCookie("not a session id cookie")
        message, index = self.keys.unsign(value)
        # The shape was checked above: the id, then maybe "." and the ref.
        text = message.decode("ascii")
        loaded = text[:43], text[44:] or None, index
        self._remember(value, loaded)
        return loaded
