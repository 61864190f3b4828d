"""What came in with the flash cookie: its batches, read from the cookie or,
for a flash that overflowed, from the store, without those past their age.

.. versionadded:: 0.2
"""

from __future__ import annotations

import logging
import typing as t

from ..codecs.encoding import BadCookie
from ..signals import flash_dropped
from ..signals import send

if t.TYPE_CHECKING:  # pragma: no cover
    from .codec import Batch
    from .codec import FlashCodec
    from .overflow import FlashOverflow

logger = logging.getLogger("flask_scopes")


def read_batches(
    value: str,
    codec: FlashCodec,
    overflow: FlashOverflow | None,
    now: int,
    max_age: int,
    max_clock_skew: int,
) -> tuple[list[Batch], bool]:
    """The live batches of a flash cookie's value.

    :param value: The cookie's value.
    :param codec: Decodes the cookie.
    :param overflow: Reads a flash that overflowed into the store, or
        ``None`` without a store.
    :param now: The current Unix time.
    :param max_age: How long a batch lives, in seconds.
    :param max_clock_skew: How far in the future a batch may be dated.
    :returns: The batches, and whether the response must rewrite or delete
        the cookie: a flash read from the store is read once, and batches
        past their age are dropped.
    :raises BadCookie: The cookie is refused.
    """
    stale = False
    if overflow is not None and overflow.is_reference(value):
        stale = True
        batches = overflow.load(value)
    else:
        batches = codec.decode(value)
    live = []
    for batch in batches:
        if batch.created > now + max_clock_skew:
            raise BadCookie(f"dated {batch.created - now} s in the future")
        if now - batch.created > max_age:
            logger.debug("Dropped a flash past SCOPES_FLASH_MAX_AGE")
            stale = True
            send(flash_dropped, reason="expired")
        else:
            live.append(batch)
    return live, stale
