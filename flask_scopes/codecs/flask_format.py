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
    :param flask_loads: Reads the tagged JSON payload; Flask's own
        serializer when not given. The session's serializer passes its
        :meth:`~flask_scopes.codecs.tags.SessionSerializer.flask_loads`, so
        that registered tags are read.

    .. versionchanged:: 0.2
        The ``flask_loads`` parameter.
    """

    salt = "cookie-session"

    def __init__(
        self,
        keys: t.Sequence[bytes],
        max_length: int,
        max_inflated: int,
        flask_loads: t.Callable[[str], t.Any] | None = None,
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
        self.flask_loads = flask_loads

    def decode(self, value: str, max_age: int) -> tuple[int, dict[str, t.Any]]:
        """Verify and decode a Flask session cookie.

        :returns: When it was signed, and the data.
        :raises BadCookie: Why the value was refused.
        """
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
        read = self.flask_loads
        if read is None:
            from flask.json.tag import TaggedJSONSerializer

            read = TaggedJSONSerializer().loads
        try:
            data = read(raw.decode("utf-8"))
        except Exception as e:
            # A tag over the wrong type, such as {" u": 0}, raises whatever
            # its conversion raises; so may a registered tag.
            raise BadCookie(f"Flask cookie: bad payload: {e!r}") from None
        if type(data) is not dict:
            raise BadCookie("Flask cookie: the payload is not a dict")
        return int(signed.timestamp()), data
