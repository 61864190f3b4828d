"""Reading cookies written by Flask's own session interface, so that
switching to flask-scopes signs nobody out.
"""

from __future__ import annotations

import hashlib
import typing as t

from itsdangerous import BadSignature
from itsdangerous import SignatureExpired
from itsdangerous import TimestampSigner

from .encoding import b64decode
from .encoding import BadCookie
from .encoding import decompress


class FlaskCookieReader:
    """Reads cookies written by Flask's own ``SecureCookieSessionInterface``
    (salt ``cookie-session``, HMAC-SHA1, tagged JSON), so that switching to
    flask-scopes signs nobody out.

    :param keys: The current key followed by the fallbacks.
    :param max_length: Longer values are refused before any work.
    :param max_inflated: The most bytes a compressed payload may inflate to.
    """

    salt = "cookie-session"

    def __init__(
        self, keys: t.Sequence[bytes], max_length: int, max_inflated: int
    ) -> None:
        # itsdangerous signs with the last key and tries the newest first.
        self.signer = TimestampSigner(
            list(reversed(keys)),
            salt=self.salt,
            key_derivation="hmac",
            digest_method=hashlib.sha1,
        )
        self.max_length = max_length
        self.max_inflated = max_inflated

    def decode(self, value: str, max_age: int) -> tuple[int, dict[str, t.Any]]:
        """Verify and decode a Flask session cookie.

        :returns: When it was signed, and the data.
        :raises BadCookie: Why the value was refused.
        """
        from flask.json.tag import TaggedJSONSerializer

        if len(value) > self.max_length:
            raise BadCookie(f"{len(value)} characters, over {self.max_length}")
        try:
            payload, signed = self.signer.unsign(
                value, max_age=max_age, return_timestamp=True
            )
        except SignatureExpired:
            raise BadCookie(
                "Flask cookie: older than PERMANENT_SESSION_LIFETIME"
            ) from None
        except BadSignature:
            raise BadCookie("Flask cookie: bad signature") from None
        compressed = payload.startswith(b".")
        raw = b64decode(payload[compressed:].decode("ascii"))
        if compressed:
            raw = decompress(raw, self.max_inflated)
        try:
            data = TaggedJSONSerializer().loads(raw.decode("utf-8"))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
            # AttributeError: a tag over the wrong type, such as {" u": 0}.
            raise BadCookie(f"Flask cookie: bad payload: {e!r}") from None
        if type(data) is not dict:
            raise BadCookie("Flask cookie: the payload is not a dict")
        return int(signed.timestamp()), data
