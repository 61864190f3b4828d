"""Signing: HMAC (SHA-256 by default) with a key derived from the secret
key and a salt per purpose, so a value signed for one kind of cookie never
verifies as another. The derived keys are computed once per key ring, and
signatures are compared in constant time.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import typing as t

from .encoding import BadCookie
from .encoding import TO_URLSAFE

#: The salts that keep each purpose's signatures apart.
SESSION_SALT = b"flask-scopes.session"
FLASH_SALT = b"flask-scopes.flash"
SESSION_ID_SALT = b"flask-scopes.session-id"


def scope_salt(salt: bytes, scope: str) -> bytes:
    """The salt of one session scope: ``salt`` itself for ``flask.session``
    (``"session"``), else ``salt`` with the scope's name appended, so that
    a cookie of one scope never verifies (or opens) as another's.

    :param salt: The purpose's salt, such as :data:`SESSION_SALT`.
    :param scope: The scope's name.

    .. versionadded:: 0.2
    """
    if scope == "session":
        return salt
    return salt + b"/" + scope.encode("ascii")


class KeyRing:
    """Signs with the current key and verifies with it or a fallback.

    :param current: The key that signs.
    :param fallbacks: Older keys that still verify, most recent first.
    :param salt: The purpose, mixed into every derived key.
    :param digest: The hash function of the HMAC.
    """

    def __init__(
        self,
        current: bytes,
        fallbacks: t.Sequence[bytes],
        salt: bytes,
        digest: t.Callable[..., t.Any] = hashlib.sha256,
    ) -> None:
        # Derived once, as itsdangerous' "hmac" key derivation does.
        self._keys = [
            hmac.new(key, salt, digest).digest() for key in (current, *fallbacks)
        ]
        self._digest = digest
        # Keyed once: copying a keyed HMAC costs less than keying a new one
        # on every request.
        self._macs = [hmac.new(key, digestmod=digest) for key in self._keys]

    def signature(self, message: bytes, index: int = 0) -> bytes:
        """The URL-safe base64 signature of ``message`` under a key."""
        mac = self._macs[index].copy()
        mac.update(message)
        return binascii.b2a_base64(mac.digest(), newline=False).translate(TO_URLSAFE)

    def sign(self, message: str) -> str:
        """``message`` with its signature appended after a ``.``."""
        signature = self.signature(message.encode("ascii")).rstrip(b"=")
        return f"{message}.{signature.decode('ascii')}"

    def unsign(self, value: str | bytes) -> tuple[bytes, int]:
        """Verify a value made by :meth:`sign`.

        :returns: The message, and the index of the key that verified it:
            0 for the current key, 1 and up for the fallbacks.
        :raises BadCookie: No key verifies it.
        """
        if isinstance(value, str):
            try:
                value = value.encode("ascii")
            except UnicodeEncodeError:
                raise BadCookie("non-ASCII characters") from None
        message, sep, signature = value.rpartition(b".")
        if not sep:
            raise BadCookie("no signature")
        for index in range(len(self._keys)):
            expected = self.signature(message, index).rstrip(b"=")
            if hmac.compare_digest(expected, signature):
                return message, index
        raise BadCookie("bad signature", "bad_signature")
