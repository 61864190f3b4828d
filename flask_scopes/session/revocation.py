"""Revocation: :meth:`Scopes.revoke_user <flask_scopes.Scopes.revoke_user>`
writes a new random epoch for the user. A session bound to the user holds
the epoch it saw at login and is refused once the two differ. The marker
lives for the revocation window (plus a margin): no session that existed
when it was written can outlive it unused.

The window is fixed when the marker is written. Raising
``PERMANENT_SESSION_LIFETIME``, ``SCOPES_SESSION_IDLE_TIMEOUT`` or
``SCOPES_SESSION_STORE_TTL`` later does not lengthen markers already
written: in store mode no entry written before the change outlives them
(an entry's time to live was fixed under the old limits, and every later
write reads the marker first), but in cookie mode a bound cookie unused
since before the revocation could outlive its marker under the longer
limit. Call ``revoke_user`` again for users revoked within the old window
after raising a limit. The security page states this bound.

A marker that can't be read (tampered with, or returned as ``str`` by a
client that decodes responses) means "revoked", never "not revoked".
"""

from __future__ import annotations

import re
import secrets
import typing as t

from ..errors import SessionStoreUnavailable
from .devices import Devices
from .devices import ended_name
from .entries import binding
from .entries import marker_name
from .entries import TOKEN
from .timing import SessionEnded

if t.TYPE_CHECKING:  # pragma: no cover
    from ..stores import BaseSessionStore
    from .entries import UserRefs

_EPOCH = re.compile(rb'"(' + TOKEN.encode() + rb'{22})"')


class Revocations:
    """Per-user revocation epochs in a store.

    :param store: Where the markers live.
    :param window: See :func:`revocation_window`.
    :param refs: Names users in marker names.
    :param margin: Added to ``window`` for a marker's time to live, to cover
        requests in flight and clock skew.
    """

    def __init__(
        self, store: BaseSessionStore, window: int, refs: UserRefs, margin: int = 3600
    ) -> None:
        self.store = store
        self.window = window
        self.refs = refs
        self.margin = margin

    def current(self, user_id: str) -> str | None:
        """The user's epoch, ``None`` if the user was never revoked (or so
        long ago that every older session has ended).

        :raises SessionStoreUnavailable: The marker can't be read (or the
            store can't be reached): a session must not be bound with an
            epoch that no later revocation would change.
        """
        raw = self.store.get(marker_name(self.refs.ref(user_id)))
        if raw is None:
            return None
        epoch = self._parse(raw)
        if epoch is None:
            raise SessionStoreUnavailable(
                "load", f"{self.store.describe()}, which holds an unreadable marker"
            )
        return epoch

    def revoke(self, user_id: str, window: int | None = None) -> None:
        """End every session bound to the user, by giving the user a new
        epoch. The marker is written under the user's ref for every key, so
        that sessions bound under a fallback key end too.

        :param window: The longest a session kept in the same store lives
            unused, when other scopes share it; :attr:`window` by default.
        """
        epoch = f'"{secrets.token_urlsafe(16)}"'.encode("ascii")
        ttl = max(self.window, window or 0) + self.margin
        for ref in dict.fromkeys(self.refs.all(user_id)):
            self.store.set(marker_name(ref), epoch, ttl)

    def is_revoked(self, epoch: str | None, marker: bytes | None) -> bool:
        """Whether a session that saw ``epoch`` at login is revoked by the
        marker read from the store. A marker that can't be read revokes."""
        if marker is None:
            return False
        found = self._parse(marker)
        return found is None or epoch is None or found != epoch

    @staticmethod
    def _parse(raw: bytes) -> str | None:
        match = _EPOCH.fullmatch(raw) if type(raw) is bytes else None
        return match.group(1).decode("ascii") if match else None

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
        uref = self.refs.ref(bound[0])
        device = Devices.ref_of(data)
        if device is None:
            marker = self.store.get(marker_name(uref))
        else:
            # A session listed among the user's devices may have been ended
            # alone: its marker shares the hash slot, so one MGET reads both.
            marker, ended = self.store.get_many(
                marker_name(uref), ended_name(uref, device)
            )
            if ended is not None:
                raise SessionEnded(
                    "the session was ended from another device", "revoked"
                )
        if self.is_revoked(bound[1], marker):
            raise SessionEnded("the session's user was revoked", "revoked")
        return now - touched >= self.window * fraction
