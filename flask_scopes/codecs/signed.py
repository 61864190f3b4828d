"""The session cookie's value, signed: ``<header>.<body>.<signature>``. The
header is the format version followed by ``t`` when the body is tagged and
``z`` when it is compressed; the body is URL-safe base64 of
``[created, touched, data]``.
"""

from __future__ import annotations

import binascii
import typing as t
import zlib

from .copies import hand_out
from .copies import Plan
from .copies import plan
from .encoding import b64encode
from .encoding import BadCookie
from .encoding import decompress
from .encoding import FROM_URLSAFE
from .encoding import PayloadTooLarge
from .signing import KeyRing
from .tagged import BUILTIN
from .tagged import dumps
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


def is_signed(value: str) -> bool:
    """Whether ``value`` is in the signed cookie format, valid or not.

    .. versionadded:: 0.2
    """
    return value.partition(".")[0] in HEADERS


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
    #: are str and whose values are immutable (str, int, float, bool, None,
    #: bytes, datetime, UUID, Markup, and tuples of those), or lists and
    #: dicts of such values, is remembered as a mapping, of which each
    #: request gets a copy with new lists and dicts
    #: (:mod:`flask_scopes.codecs.copies`), so that no request can change
    #: what another one reads. Any other session is remembered as its
    #: verified JSON, parsed again each time. A session holding lists or
    #: dicts is remembered only when its JSON is no longer than
    #: ``max_length``, which bounds the memory. ``0`` turns it off.
    #:
    #: .. versionchanged:: 0.2
    #:     Sessions holding lists and dicts are remembered too, and copied
    #:     by a plan made from their shape.
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
        #: value -> (created, touched, data, how to copy it, key index).
        self._seen: dict[str, tuple[int, int, dict[str, t.Any], Plan, int]] = {}
        #: value -> (created, touched, JSON, whether tagged, key index,
        #: whether it was decoded since it was written).
        self._seen_bytes: dict[str, tuple[int, int, bytes, bool, int, bool]] = {}

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
        """Remember what ``value`` holds: as data and a plan to copy it,
        or, when it holds something only a new parse copies (a subclass, a
        key that is not a str, a list in a tuple), as its JSON.

        :param decoded: Whether ``data`` was just decoded from ``raw``,
            rather than what the app wrote, whose objects may decode to
            other types and are planned again once decoded.
        """
        if not self.remembered:
            return
        steps = plan(data)
        if steps is not None and (not steps or len(raw) <= self.max_length):
            seen = self._seen
            if len(seen) >= self.remembered:
                seen.clear()
            seen[value] = (created, touched, hand_out(data, steps), steps, index)
            self._seen_bytes.pop(value, None)
            return
        if len(raw) > self.max_length:
            return
        seen_bytes = self._seen_bytes
        if len(seen_bytes) >= self.remembered:
            seen_bytes.clear()
        seen_bytes[value] = (created, touched, raw, tagged, index, decoded)

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
        return is_signed(value)

    def decode(self, value: str) -> tuple[int, int, dict[str, t.Any], int]:
        """Verify and decode a cookie value.

        :returns: created, touched, data, and the index of the key that
            verified it.
        :raises BadCookie: Why the value was refused.
        """
        seen = self._seen.get(value)
        if seen is not None:
            created, touched, kept, steps, index = seen
            if steps:
                return created, touched, hand_out(kept, steps), index
            return created, touched, kept.copy(), index
        known = self._seen_bytes.get(value)
        if known is not None:
            created, touched, raw, tagged, index, decoded = known
            created, touched, data = loads(raw, tagged, self.tags)
            if not decoded:
                # Written by this process; what it decodes to may be copied
                # rather than parsed from now on.
                self._remember(value, created, touched, data, index, raw, tagged, True)
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
