"""Encrypted session cookies: the user can neither read nor change them.

Used when :data:`SCOPES_SESSION_ENCRYPT` is set. The cipher is AES-256-GCM
from the ``cryptography`` package (install ``flask-scopes[crypto]``). Each
key is derived from ``SECRET_KEY``, or from one of ``SECRET_KEY_FALLBACKS``,
with HKDF-SHA256 and a purpose label of its own, so an encryption key is
never a signing key or another purpose's key. Every cookie gets a fresh
random 96-bit nonce.

A cookie value reads ``e1.<sealed>``. ``e1`` names the format and its
version, and is bound to the ciphertext as associated data. ``<sealed>`` is
URL-safe base64 of the nonce (12 bytes), the ciphertext and the tag
(16 bytes). The plaintext is one flags byte (bit 0: tagged JSON, bit 1:
compressed) followed by the same ``[created, touched, data]`` JSON the
signed format carries.

Random nonces stay safe for about 2**32 cookies sealed under one key;
rotate ``SECRET_KEY`` (with the old key in ``SECRET_KEY_FALLBACKS``) well
before a key has sealed that many.
"""

from __future__ import annotations

import os
import typing as t
import zlib

from ..errors import ConfigurationError
from .encoding import b64decode
from .encoding import b64encode
from .encoding import BadCookie
from .encoding import decompress
from .encoding import PayloadTooLarge
from .tagged import BUILTIN
from .tagged import dumps
from .tagged import loads
from .tagged import Tags

if t.TYPE_CHECKING:  # pragma: no cover
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: The HKDF label (``info``) of the session cookie's encryption keys.
SESSION_ENCRYPTION_INFO = b"flask-scopes.session-encryption.aes-256-gcm"
#: The header of the current encrypted format, bound as associated data.
VERSION = "e1"
NONCE_SIZE = 12
TAG_SIZE = 16
KEY_SIZE = 32

_AAD = VERSION.encode("ascii")
_TAGGED = 1
_COMPRESSED = 2


def require_cryptography() -> None:
    """Check that the ``cryptography`` package can be imported.

    :raises ConfigurationError: It can't, so encryption can't work.
    """
    try:
        import cryptography.hazmat.primitives.ciphers.aead  # noqa: F401
        import cryptography.hazmat.primitives.kdf.hkdf  # noqa: F401
    except ImportError as e:
        raise ConfigurationError(
            "SCOPES_SESSION_ENCRYPT",
            "encrypted sessions need the 'cryptography' package, which could"
            f" not be imported ({e}). Install it with:"
            " pip install 'flask-scopes[crypto]'",
        ) from None


def derive_key(secret: bytes, info: bytes = SESSION_ENCRYPTION_INFO) -> bytes:
    """A 256-bit key for one purpose, derived from a secret key with
    HKDF-SHA256.

    :param secret: ``SECRET_KEY`` or one of the fallbacks.
    :param info: The purpose label.
    """
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=SHA256(), length=KEY_SIZE, salt=None, info=info).derive(
        secret
    )


def is_encrypted(value: str) -> bool:
    """Whether a cookie value is in an encrypted format (``e`` and a version
    number, then ``.``), of this version or another, valid or not."""
    header = value[:8].partition(".")[0]
    return len(header) > 1 and header[0] == "e" and header[1:].isdecimal()


class CipherRing:
    """Seals with the current key and opens with it or a fallback.

    :param current: The secret key that seals.
    :param fallbacks: Older secret keys that still open, most recent first.
    :param info: The purpose label the keys are derived with.
    """

    def __init__(
        self,
        current: bytes,
        fallbacks: t.Sequence[bytes] = (),
        info: bytes = SESSION_ENCRYPTION_INFO,
    ) -> None:
        require_cryptography()
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        # Derived once per ring, not per cookie.
        self._ciphers: list[AESGCM] = [
            AESGCM(derive_key(key, info)) for key in (current, *fallbacks)
        ]
        self._invalid_tag = InvalidTag

    def new_nonce(self) -> bytes:
        """A fresh random nonce from the operating system's CSPRNG."""
        return os.urandom(NONCE_SIZE)

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        """Encrypt and authenticate ``plaintext`` under the current key.

        :param associated: Data authenticated with it but not encrypted.
        :returns: The nonce, the ciphertext and the tag.
        """
        nonce = self.new_nonce()
        return nonce + self._ciphers[0].encrypt(nonce, plaintext, associated)

    def open(self, sealed: bytes, associated: bytes) -> tuple[bytes, int]:
        """The inverse of :meth:`seal`.

        :returns: The plaintext, and the index of the key that opened it:
            0 for the current key, 1 and up for the fallbacks.
        :raises BadCookie: No key opens it.
        """
        if len(sealed) < NONCE_SIZE + TAG_SIZE:
            raise BadCookie(f"sealed value of {len(sealed)} bytes is too short")
        nonce = sealed[:NONCE_SIZE]
        body = sealed[NONCE_SIZE:]
        for index, cipher in enumerate(self._ciphers):
            try:
                return cipher.decrypt(nonce, body, associated), index
            except self._invalid_tag:
                continue
        raise BadCookie("no key opens it (changed, or sealed under another key)")


class EncryptedSessionCodec:
    """Encodes and decodes the encrypted session cookie's value. It has the
    interface of :class:`~flask_scopes.codec.SessionCodec`.

    :param ring: The cipher ring for the session's purpose.
    :param max_length: Longer incoming values are refused before any work.
    :param max_inflated: The most bytes a serialised session may take, and
        the most a compressed one may inflate to.
    :param tags: The session's tags, registered ones included.

    .. versionchanged:: 0.2
        The ``tags`` parameter.
    """

    #: Bodies longer than this many bytes are compressed when that makes
    #: them shorter; ``None`` (the default) never compresses. Compressing
    #: before encrypting lets a cookie's length tell how much of the session
    #: repeats itself: someone who can put text of their choosing into a
    #: victim's session and watch the length of the cookie could guess a
    #: secret kept beside it, piece by piece. Set a threshold to trade that
    #: for smaller cookies. Compressed cookies are read either way.
    compress_threshold: int | None = None

    def __init__(
        self,
        ring: CipherRing,
        max_length: int,
        max_inflated: int,
        tags: Tags = BUILTIN,
    ) -> None:
        self.ring = ring
        self.max_length = max_length
        self.max_inflated = max_inflated
        self.tags = tags

    def encode(self, created: int, touched: int, data: dict[str, t.Any]) -> str:
        """The cookie value of a session, sealed under the current key.

        :raises PayloadTooLarge: The serialised session is over
            :attr:`max_inflated`.
        :raises SessionValueError: A value that can't be stored unchanged.
        """
        raw, tagged = dumps(created, touched, data, self.tags)
        if len(raw) > self.max_inflated:
            raise PayloadTooLarge(len(raw))
        flags = _TAGGED if tagged else 0
        threshold = self.compress_threshold
        if threshold is not None and len(raw) > threshold:
            packed = zlib.compress(raw)
            if len(packed) < len(raw):
                raw = packed
                flags |= _COMPRESSED
        sealed = self.ring.seal(bytes((flags,)) + raw, _AAD)
        return f"{VERSION}.{b64encode(sealed)}"

    def is_own(self, value: str) -> bool:
        """Whether ``value`` is in an encrypted format, of this version or
        another, valid or not. Signed and Flask cookies are not."""
        return is_encrypted(value)

    def decode(self, value: str) -> tuple[int, int, dict[str, t.Any], int]:
        """Open and decode a cookie value.

        :returns: created, touched, data, and the index of the key that
            opened it.
        :raises BadCookie: Why the value was refused.
        """
        if len(value) > self.max_length:
            raise BadCookie(f"{len(value)} characters, over {self.max_length}")
        header, _, body = value.partition(".")
        if header != VERSION:
            raise BadCookie(f"unknown encrypted format {header[:8]!r}")
        sealed = b64decode(body)
        # The decoder skips stray characters; only the one spelling counts.
        if b64encode(sealed) != body:
            raise BadCookie("bad base64: not in canonical form")
        plain, index = self.ring.open(sealed, _AAD)
        if not plain or plain[0] & ~(_TAGGED | _COMPRESSED):
            raise BadCookie("unknown flags")
        flags = plain[0]
        raw = plain[1:]
        if flags & _COMPRESSED:
            raw = decompress(raw, self.max_inflated)
        created, touched, data = loads(raw, bool(flags & _TAGGED), self.tags)
        return created, touched, data, index
