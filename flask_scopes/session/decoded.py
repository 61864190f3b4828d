"""Stored entries this process decoded, remembered by their exact bytes, so
that a session read again unchanged (every request of a session that only
reads it, most of all from a near cache) is not parsed again.

The bytes read from the store stay authoritative: an entry is looked up by
its whole value, so a changed entry is a different key and is decoded
afresh. What is remembered is never handed out itself, only copies, so
that no request can change what another one reads.

.. versionadded:: 0.2
"""

from __future__ import annotations

import marshal
import typing as t

from ..codecs.tagged import BUILTIN
from ..codecs.tagged import is_immutable
from .entries import decode_entry

if t.TYPE_CHECKING:  # pragma: no cover
    from ..codecs.tagged import Tags

#: How a remembered entry is handed out again.
_MAPPING, _LISTS, _MARSHAL = 0, 1, 2


class DecodedEntries:
    """Decodes entries like :func:`~flask_scopes.session.entries.decode_entry`
    and remembers what they decoded to.

    A session whose values are immutable (str, int, float, bool, None,
    bytes, datetime, UUID, Markup, tuples of those), or lists of such
    values (the user a session is bound to is one), is remembered as a
    mapping: each read gets a shallow copy, with new lists. Any other
    entry in plain JSON is remembered as a :mod:`marshal` copy of what it
    decoded to, read back into new objects each time; these bytes are made
    here, from an entry this process parsed, and never leave it. Any other
    tagged entry is decoded each time.

    :param tags: The session's tags, registered ones included.
    """

    #: How many entries are remembered; ``0`` turns it off.
    remembered = 1024
    #: Entries longer than this many bytes are decoded each time, which
    #: bounds the memory.
    max_length = 16 * 1024

    def __init__(self, tags: Tags = BUILTIN) -> None:
        self.tags = tags
        #: entry -> (created, touched, what to copy, how to copy it).
        self._seen: dict[bytes, tuple[int, int, t.Any, int]] = {}

    def decode(self, raw: bytes) -> tuple[int, int, dict[str, t.Any]]:
        """The entry's creation time, last write time and data.

        :raises BadCookie: Why the entry was refused.
        """
        seen = self._seen.get(raw)
        if seen is not None:
            created, touched, kept, how = seen
            if how == _MAPPING:
                return created, touched, kept.copy()
            if how == _LISTS:
                data, lists = kept
                data = data.copy()
                for key in lists:
                    data[key] = data[key][:]
                return created, touched, data
            return created, touched, marshal.loads(kept)
        created, touched, data = decode_entry(raw, self.tags)
        if self.remembered and len(raw) <= self.max_length:
            self._remember(raw, created, touched, data)
        return created, touched, data

    def _remember(
        self, raw: bytes, created: int, touched: int, data: dict[str, t.Any]
    ) -> None:
        lists = []
        for key, value in data.items():
            if is_immutable(value):
                continue
            if type(value) is list and all(map(is_immutable, value)):
                lists.append(key)
                continue
            if raw[:3] != b"[1,":
                return  # tagged, and holding what only a new parse copies
            try:
                kept: t.Any = marshal.dumps(data)
            except ValueError:  # nested deeper than marshal goes
                return
            self._keep(raw, (created, touched, kept, _MARSHAL))
            return
        if lists:
            # Lists of their own: those of ``data`` go to this request.
            kept = dict(data)
            for key in lists:
                kept[key] = kept[key][:]
            self._keep(raw, (created, touched, (kept, tuple(lists)), _LISTS))
        else:
            self._keep(raw, (created, touched, dict(data), _MAPPING))

    def _keep(self, raw: bytes, value: tuple[int, int, t.Any, int]) -> None:
        seen = self._seen
        if len(seen) >= self.remembered:
            seen.clear()
        seen[raw] = value
