"""A flash too large for its cookie, kept in the server-side store.

When ``SCOPES_SESSION_STORE`` is set and what goes out no longer fits the
flash cookie, the whole flash goes to the store under a random reference,
and the cookie carries only ``2.<reference>`` (signed when the flash is).
The next request that reads the flash reads the entry once and deletes it.
Without a store, a flash that doesn't fit raises
:exc:`~flask_scopes.FlashTooLarge` as before.

The whole flash moves, rather than what doesn't fit: one read gives every
message in its order, there is no rule for joining two halves, and the
cookie shrinks to a few dozen bytes, leaving the rest of the request's
``Cookie`` header alone. It costs a store read only for the request that
shows an overflowed flash.

A reference is 256 random bits from :mod:`secrets`; its form is checked
before the store is asked, and a request reads the store for the flash at
most once. A forged reference names nothing, and an outage reads as an
empty flash, logged; neither ever answers with an error.

.. versionadded:: 0.2
"""

from __future__ import annotations

import logging
import re
import secrets
import typing as t

from ..codecs.encoding import BadCookie
from ..errors import SessionStoreUnavailable

if t.TYPE_CHECKING:  # pragma: no cover
    from .codec import Batch
    from .codec import FlashCodec

logger = logging.getLogger("flask_scopes")

_REFERENCE = re.compile(r"2\.[A-Za-z0-9_-]{43}\Z")
_SIGNED_REFERENCE = re.compile(r"2\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_.-]{1,200}\Z")


class OverflowStore(t.Protocol):
    """What the overflow needs of a store: the operations of
    :class:`~flask_scopes.stores.SessionStore` it uses."""

    def get(self, name: str) -> bytes | None: ...

    def set(self, name: str, value: bytes, ttl: int) -> None: ...

    def delete(self, name: str) -> bool: ...


class FlashOverflow:
    """Keeps flashes too large for their cookie in a store.

    :param store: Where the flashes go.
    :param codec: Writes and reads a flash's body, and signs the reference.
    """

    #: The most bytes a flash kept in the store may have; larger ones raise
    #: :exc:`~flask_scopes.FlashTooLarge`, and larger entries are not read.
    max_size = 64 * 1024
    #: The prefix of the store names of flashes.
    prefix = "f:"

    def __init__(self, store: OverflowStore, codec: FlashCodec) -> None:
        self.store = store
        self.codec = codec

    def is_reference(self, value: str) -> bool:
        """Whether a cookie value has the form of a reference (not yet
        whether its signature holds)."""
        pattern = _SIGNED_REFERENCE if self.codec.signed else _REFERENCE
        return pattern.match(value) is not None

    def spill(self, batches: t.Sequence[Batch], ttl: int) -> str | None:
        """Keep ``batches`` in the store for ``ttl`` seconds.

        :returns: The cookie value that refers to them, or ``None`` when they
            are over :attr:`max_size`.
        :raises SessionStoreUnavailable: The store failed.
        """
        body = self.codec.encode_body(batches)
        if len(body) > self.max_size:
            return None
        reference = secrets.token_urlsafe(32)
        value = self.codec.sign(f"2.{reference}")
        self.store.set(self.prefix + reference, body, max(1, ttl))
        logger.debug("A flash too large for its cookie went to the store")
        return value

    def load(self, value: str) -> list[Batch]:
        """Read and delete the flash a cookie value refers to: empty when
        it is gone or the store can't be reached.

        :raises BadCookie: The value is not a valid reference, or the entry
            is not a flash.
        """
        text = self.codec.unsign(value)
        if _REFERENCE.match(text) is None:
            raise BadCookie("not a flash reference")
        name = self.prefix + text[2:]
        try:
            raw = self.store.get(name)
            if raw is None:
                logger.debug("The flash in the store is gone (read or expired)")
                return []
            self.store.delete(name)
        except SessionStoreUnavailable as e:
            logger.warning("The flash in the store could not be read: %s", e)
            return []
        if len(raw) > self.max_size:
            raise BadCookie(f"a stored flash of {len(raw)} bytes", "oversized")
        return self.codec.decode_body(raw)
