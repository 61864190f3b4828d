"""What the flash cookie carries out of a request: the incoming batches
carried over and the new one, joined where they can be, and fitted to the
cookie's size by dropping what came in (never what the app just flashed).

.. versionadded:: 0.2
"""

from __future__ import annotations

import logging
import typing as t

from .codec import Batch

if t.TYPE_CHECKING:  # pragma: no cover
    from ..cookies import CookiePolicy
    from .codec import FlashCodec
    from .overflow import FlashOverflow

logger = logging.getLogger("flask_scopes")

#: The ranks of what goes out, in the reverse order of dropping to make
#: room: incoming messages not kept go first, then kept ones; messages
#: flashed in this request never.
NEW, KEPT, UNREAD = 0, 1, 2


class OnlyNewLeft(Exception):
    """Internal: only messages flashed in this request are left, and they
    don't fit.

    :param count: How many messages they are.
    :param header: The ``Set-Cookie`` header they would make, or ``""``.
    """

    def __init__(self, count: int, header: str) -> None:
        super().__init__(count, header)
        self.count = count
        self.header = header


def fit(
    batches: list[tuple[Batch, int]],
    codec: FlashCodec,
    policy: CookiePolicy,
    max_age: int,
    now: int,
    overflow: FlashOverflow | None = None,
) -> str | None:
    """The ``Set-Cookie`` header for ``batches``, after dropping what came
    in with the request, unread before kept, oldest first, until it fits,
    with a log line for each. ``batches`` is changed in place.

    With ``overflow``, batches that don't fit the cookie go to the store
    whole, and the cookie carries only their reference; nothing is dropped
    unless the store refuses them too.

    :returns: The header, or ``None`` when nothing is left.
    :raises OnlyNewLeft: New messages alone don't fit.
    """
    while batches:
        count = sum(len(batch.messages) for batch, _ in batches)
        header = ""
        if len(batches) <= codec.max_batches and count <= codec.max_messages:
            value = codec.encode([batch for batch, _ in batches])
            expires = max(batch.created for batch, _ in batches) + max_age
            header = policy.header(value, expires, now)
            if policy.fits(header):
                return header
            if overflow is not None:
                spilled = overflow.spill([b for b, _ in batches], expires - now)
                if spilled:
                    return policy.header(spilled, expires, now)
        rank = max(rank for _, rank in batches)
        if rank == NEW:
            raise OnlyNewLeft(count, header)
        index = next(i for i, (_, r) in enumerate(batches) if r == rank)
        logger.info(
            "Dropped %s flash that came in, to make room in the flash cookie",
            "a kept" if rank == KEPT else "an unread",
        )
        del batches[index]
    return None


def merge(batches: list[tuple[Batch, int]]) -> list[tuple[Batch, int]]:
    """Join neighbouring batches of the same time and the same rank, kept
    or new."""
    out: list[tuple[Batch, int]] = []
    for batch, rank in batches:
        if (
            out
            and rank != UNREAD
            and out[-1][1] == rank
            and out[-1][0].created == batch.created
        ):
            last = out[-1][0]
            errors = dict(last.errors)
            for name, messages in batch.errors.items():
                errors[name] = errors.get(name, []) + messages
            merged = Batch(
                last.created,
                last.messages + batch.messages,
                {**last.form, **batch.form},
                errors,
            )
            out[-1] = (merged, rank)
        else:
            out.append((batch, rank))
    return out
