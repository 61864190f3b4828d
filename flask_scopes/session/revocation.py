"""Revocation: :meth:`Scopes.revoke_user <flask_scopes.Scopes.revoke_user>`
writes a new random epoch for the user. A session bound to the user holds
the epoch it saw at login and is refused once the two differ. The marker
lives for the revocation window (plus a margin): no session that existed
when it was written can outlive it unused.
"""

from __future__ import annotations

import re
import secrets
import typing as t

from .entries import binding
from .entries import marker_name
from .entries import TOKEN
from .entries import user_ref
from .timing import SessionEnded

if t.TYPE_CHECKING:  # pragma: no cover
    from ..stores import BaseSessionStore

_EPOCH = re.compile(rb'"(' + TOKEN.encode() + rb'{22})"')


class Revocations:
    """Per-user revocation epochs in a store.

    :param store: Where the markers live.
    :param window: See :func:`revocation_window`.
    :param margin: Added to ``window`` for a marker's time to live, to cover
        requests in flight and clock skew.
    """

    def __init__(
        self, store: BaseSessionStore, window: int, margin: int = 3600
    ) -> None:
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
