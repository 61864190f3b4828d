"""Stored entries this process decoded, remembered by their exact bytes, so
that a session read again unchanged (every request of a session that only
reads it, most of all from a near cache) is not parsed again.

The bytes read from the store stay authoritative: an entry is looked up by
its whole value, so a changed entry is a different key and is decoded
afresh. What is remembered is never handed out itself, only copies (see
:mod:`flask_scopes.codecs.copies`), so that no request can change what
another one reads.

.. versionadded:: 0.2
"""

from __future__ import annotations

import typing as t

from ..codecs.copies import hand_out
from ..codecs.copies import plan
from ..codecs.tagged import BUILTIN
from .entries import decode_entry

if t.TYPE_CHECKING:  # pragma: no cover
    from ..codecs.copies import Plan
    from ..codecs.tagged import Tags


class DecodedEntries:
    """Decodes entries like :func:`~flask_scopes.session.entries.decode_entry`
    and remembers what they decoded to.

    An entry whose values are immutable (str, int, float, bool, None,
    bytes, datetime, UUID, Markup, tuples of those), or lists and dicts of
    such values, nested at most :data:`~flask_scopes.codecs.copies.MAX_DEPTH`
    deep, is remembered: each read gets a copy with new lists and dicts.
    Any other entry (a tuple holding a list, a value of a registered tag)
    is decoded each time.

    :param tags: The session's tags, registered ones included.

    .. versionchanged:: 0.2
        Lists and dicts are copied by a plan made from their shape, rather
        than read back from a :mod:`marshal` copy.
    """

    #: How many entries are remembered; ``0`` turns it off.
    remembered = 1024
    #: Entries longer than this many bytes are decoded each time, which
    #: bounds the memory.
    max_length = 16 * 1024

    def __init__(self, tags: Tags = BUILTIN) -> None:
        self.tags = tags
        #: entry -> (created, touched, what to copy, how to copy it): read
        #: directly by the server mode, on the path of every request.
        self.seen: dict[bytes, tuple[int, int, dict[str, t.Any], Plan]] = {}

    def decode(self, raw: bytes) -> tuple[int, int, dict[str, t.Any]]:
        """The entry's creation time, last write time and data.

        :raises BadCookie: Why the entry was refused.
        """
        seen = self.seen.get(raw)
        if seen is not None:
            created, touched, kept, steps = seen
            return created, touched, hand_out(kept, steps)
        created, touched, data = decode_entry(raw, self.tags)
        if self.remembered and len(raw) <= self.max_length:
            planned = plan(data)
            if planned is not None:
                seen_all = self.seen
                if len(seen_all) >= self.remembered:
                    seen_all.clear()
                seen_all[raw] = (created, touched, hand_out(data, planned), planned)
        return created, touched, data
