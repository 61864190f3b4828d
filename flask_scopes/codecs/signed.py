"""The session cookie's value, signed: ``<header>.<body>.<signature>``. The
header is the format version followed by ``t`` when the body is tagged and
``z`` when it is compressed; the body is URL-safe base64 of
``[created, touched, data]``.
"""

from __future__ import annotations

import binascii
import marshal
import typing as t
import zlib

from .encoding import b64encode
from .encoding import BadCookie
from .encoding import decompress
from .encoding import FROM_URLSAFE
from .encoding import PayloadTooLarge
from .signing import KeyRing
from .tagged import BUILTIN
from .tagged import dumps
from .tagged import is_immutable
from .tagged import loads
from .tagged import Tags

#: Header -> (tagged, compressed).
HEADERS = {
    "1": (False, False),
    "1t": (True, False),
    "1z": (False, True),
    "1tz": (True, True),
}
_HEADER_BYTES = {key.encode("ascii"): value for key, value in HEADERS.items()}


#: How remembered bytes are read back.
_MARSHAL, _PLAIN, _TAGGED = 0, 1, 2


class CookieCodec(t.Protocol):
    """What the session interface asks of a session cookie codec:
    :class:`SessionCodec`, or the encrypting codec in
    :mod:`flask_scopes.crypto`."""

    def encode(self, created: int, touched: int, data: dict[str, t.Any]) -> str:
        """The cookie value of a session.

        :raises PayloadTooLarge: The serialised session is over the limit.
        :raises SessionValueError: A value that can't be stored unchanged.
        """

    def is_own(self, value: str) -> bool:
        """Whether ``value`` is in this codec's format, valid or not."""

    def decode(self, value: str) -> tuple[int, int, dict[str, t.Any], int]:
        """created, touched, data, and the index of the key that verified
        the value.

        :raises BadCookie: Why the value was refused.
        """


class SessionCodec:
    """Encodes and decodes the session cookie's value.

    :param keys: The key ring for the session's salt.
    :param max_length: Longer incoming values are refused before any work.
    :param max_inflated: The most bytes a compressed body may inflate to.
    :param tags: The session's tags, registered ones included.

    .. versionchanged:: 0.2
        The ``tags`` parameter.
    """

    #: Bodies longer than this many bytes are compressed when that makes
    #: them shorter. Smaller ones are left alone: compressing them costs
    #: more time than the bytes it saves are worth.
    compress_threshold = 1024

    #: How many cookie values this codec wrote or verified are remembered
    #: with what they decode to, so that the same value seen again (every
    #: request that only reads the session sends the cookie unchanged) is
    #: not verified, base64-decoded or inflated again. A session whose keys
    #: are str and whose values are all immutable (str, int, float, bool,
    #: None, bytes, datetime, UUID, Markup, and tuples of those) is
    #: remembered as a mapping, of which a shallow copy is handed out each
    #: time. Any other session (lists, dicts) is remembered as bytes that
    #: are read again into new objects each time, so that no request can
    #: change what another one reads: its verified JSON, or, once it was
    #: decoded and holds only plain JSON values, a :mod:`marshal` copy of
    #: what it decoded to, which reads back faster. Those bytes are kept
    #: only when the JSON is no longer than ``max_length``, which bounds
    #: the memory. ``0`` turns it off.
    #:
    #: .. versionchanged:: 0.2
    #:     Sessions holding lists and dicts are remembered too.
    remembered = 1024

    def __init__(
        self,
        keys: KeyRing,
        max_length: int,
        max_inflated: int,
        tags: Tags = BUILTIN,
    ) -> None:
        self.keys = keys
        self.max_length = max_length
        self.max_inflated = max_inflated
        self.tags = tags
        self._seen: dict[str, tuple[int, int, dict[str, t.Any], int]] = {}
        #: value -> (created, touched, bytes, how to read them, key index).
        self._seen_bytes: dict[str, tuple[int, int, bytes, int, int]] = {}

    def _remember(
        self,
        value: str,
        created: int,
        touched: int,
        data: dict[str, t.Any],
        index: int,
        raw: bytes,
        tagged: bool,
        decoded: bool,
    ) -> None:
        if not self.remembered:
            return
        # As a mapping, only what decodes to the very same values: a key
        # that is not a str (stored as JSON writes it) or a value of a
        # subclass is kept as bytes instead.
        for key, item in dict.items(data):
            if type(key) is not str or not is_immutable(item):
                self._remember_bytes(
                    value, created, touched, data, index, raw, tagged, decoded
                )
                return
        seen = self._seen
        if len(seen) >= self.remembered:
            seen.clear()
        seen[value] = (created, touched, dict(dict.items(data)), index)

    def _remember_bytes(
        self,
        value: str,
        created: int,
        touched: int,
        data: dict[str, t.Any],
        index: int,
        raw: bytes,
        tagged: bool,
        decoded: bool,
    ) -> None:
        if len(raw) > self.max_length:
            return
        if decoded and not tagged:
            # Just parsed from plain JSON: every object is of an exact type
            # marshal keeps as it is, and marshal reads them back faster
            # than JSON is parsed. These bytes are made here, from data
            # verified here, and never leave the process.
            try:
                blob, how = marshal.dumps(data), _MARSHAL
            except ValueError:  # nested deeper than marshal goes
                blob, how = raw, _PLAIN
        else:
            blob, how = raw, _TAGGED if tagged else _PLAIN
        seen = self._seen_bytes
        if len(seen) >= self.remembered:
            seen.clear()
        seen[value] = (created, touched, blob, how, index)

    def encode(self, created: int, touched: int, data: dict[str, t.Any]) -> str:
        raw, tagged = dumps(created, touched, data, self.tags)
        header = "1t" if tagged else "1"
        if len(raw) > self.max_inflated:
            raise PayloadTooLarge(len(raw))
        body = raw
        if len(raw) > self.compress_threshold:
            packed = zlib.compress(raw)
            if len(packed) < len(raw):
                body = packed
                header += "z"
        value = self.keys.sign(f"{header}.{b64encode(body)}")
        self._remember(value, created, touched, data, 0, raw, tagged, False)
        return value

    def is_own(self, value: str) -> bool:
        """Whether ``value`` is in this codec's format, valid or not."""
        return value.partition(".")[0] in HEADERS

    def decode(self, value: str) -> tuple[int, int, dict[str, t.Any], int]:
        """Verify and decode a cookie value.

        :returns: created, touched, data, and the index of the key that
            verified it.
        :raises BadCookie: Why the value was refused.
        """
        seen = self._seen.get(value)
        if seen is not None:
            created, touched, data, index = seen
            return created, touched, data.copy(), index
        known = self._seen_bytes.get(value)
        if known is not None:
            created, touched, blob, how, index = known
            if how == _MARSHAL:
                return created, touched, marshal.loads(blob), index
            created, touched, data = loads(blob, how == _TAGGED, self.tags)
            if how == _PLAIN:
                # Read back faster from now on.
                self._remember_bytes(
                    value, created, touched, data, index, blob, False, True
                )
            return created, touched, data, index
        if len(value) > self.max_length:
            raise BadCookie(
                f"{len(value)} characters, over {self.max_length}", "oversized"
            )
        message, index = self.keys.unsign(value)
        header, _, body = message.partition(b".")
        try:
            tagged, compressed = _HEADER_BYTES[header]
        except KeyError:
            raise BadCookie(f"unknown format {header[:8]!r}") from None
        try:
            raw = binascii.a2b_base64(body.translate(FROM_URLSAFE) + b"==")
        except binascii.Error as e:
            raise BadCookie(f"bad base64: {e}") from None
        if compressed:
            raw = decompress(raw, self.max_inflated)
        created, touched, data = loads(raw, tagged, self.tags)
        self._remember(value, created, touched, data, index, raw, tagged, True)
        return created, touched, data, index
