"""The byte-level ground of every cookie codec: URL-safe base64, bounded
inflation, and the internal errors that say why a value was refused.
"""

from __future__ import annotations

import binascii
import zlib


class BadCookie(Exception):
    """Internal: why a cookie value was refused, for the debug log.

    :param message: What was wrong, for the log; never the cookie's value.
    :param reason: The kind of refusal the
        :data:`~flask_scopes.signals.cookie_refused` signal reports:
        ``"malformed"``, ``"bad_signature"``, ``"oversized"`` or
        ``"expired"``.
    """

    def __init__(self, message: str = "", reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


class PayloadTooLarge(Exception):
    """Internal: the serialised session is over the codec's limit."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def b64encode(data: bytes) -> str:
    """URL-safe base64 without padding."""
    encoded = binascii.b2a_base64(data, newline=False).translate(TO_URLSAFE)
    return encoded.rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """The inverse of :func:`b64encode`. Characters outside the alphabet are
    skipped, so use it on authenticated text or check the result."""
    try:
        raw = text.encode("ascii")
        return binascii.a2b_base64(raw.translate(FROM_URLSAFE) + b"==")
    except UnicodeEncodeError:
        raise BadCookie("bad base64: non-ASCII characters") from None
    except binascii.Error as e:
        raise BadCookie(f"bad base64: {e}") from None


def decompress(data: bytes, limit: int) -> bytes:
    """Inflate ``data``, refusing to produce more than ``limit`` bytes."""
    inflater = zlib.decompressobj()
    try:
        # One byte over the limit shows that it inflates past it (and a
        # max_length of 0 would mean no limit at all).
        out = inflater.decompress(data, limit + 1)
    except zlib.error as e:
        raise BadCookie(f"bad compressed data: {e}") from None
    if len(out) > limit or inflater.unconsumed_tail or not inflater.eof:
        raise BadCookie(
            f"compressed data is truncated or inflates past {limit} bytes", "oversized"
        )
    return out
