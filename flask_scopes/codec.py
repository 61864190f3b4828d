"""Turning session data into signed cookie values and back.

Serialising is JSON with a fast path: a session that holds only plain JSON
values (the usual case) is written with one :func:`json.dumps` call. Values
JSON can't carry (tuple, bytes, datetime, UUID, Markup) are tagged in the
style of Flask's tagged JSON, and anything else is refused with an error
that names its key.

Signing is HMAC (SHA-256 by default) with a key derived from the secret key
and a salt per purpose, so a value signed for one kind of cookie never
verifies as another. The derived keys are computed once per key ring.

A cookie value reads ``<header>.<body>.<signature>``: the header is the
format version followed by ``t`` when the body is tagged and ``z`` when it
is compressed; the body is URL-safe base64 of ``[created, touched, data]``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import typing as t
import zlib
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from uuid import UUID

from itsdangerous import BadSignature
from itsdangerous import TimestampSigner
from markupsafe import Markup

from .errors import SessionValueError

#: The salts that keep each purpose's signatures apart.
SESSION_SALT = b"flask-scopes.session"
FLASH_SALT = b"flask-scopes.flash"
SESSION_ID_SALT = b"flask-scopes.session-id"


def _make_json_dumps() -> t.Callable[[t.Any], str]:
    def fallback(value: t.Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    # The C encoder used directly skips json.dumps' per-call set-up, which
    # costs more than encoding a small session. Checked against json.dumps.
    make = getattr(json.encoder, "c_make_encoder", None)
    quote = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or quote is None:  # pragma: no cover
        return fallback
    try:
        encoder = make(None, None, quote, None, ":", ",", False, False, True)

        def fast(value: t.Any) -> str:
            return "".join(encoder(value, 0))

        sample = [1, 2.5, {"a": '\u00e9"<', "b": [None, True, False]}]
        if fast(sample) == fallback(sample):
            return fast
    except Exception:  # pragma: no cover
        pass
    return fallback  # pragma: no cover


_json_dumps = _make_json_dumps()
_scan_plain = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_scan_tagged: t.Callable[[str, int], tuple[t.Any, int]]
_ZERO = timedelta(0)
_SCALARS = frozenset({str, int, float, bool, type(None)})
#: Header -> (tagged, compressed).
_HEADERS = {
    "1": (False, False),
    "1t": (True, False),
    "1z": (False, True),
    "1tz": (True, True),
}
_HEADER_BYTES = {key.encode("ascii"): value for key, value in _HEADERS.items()}


class BadCookie(Exception):
    """Internal: why a cookie value was refused, for the debug log."""


class SessionEnded(BadCookie):
    """Internal: the cookie is genuine, but its session has ended (expired,
    timed out, unknown to the store, revoked), so the cookie may be deleted.
    A cookie that merely fails to verify is left alone: it may be valid
    under keys another server of a rolling deploy already has."""


class PayloadTooLarge(Exception):
    """Internal: the serialised session is over the codec's limit."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def b64encode(data: bytes) -> str:
    """URL-safe base64 without padding."""
    encoded = binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE)
    return encoded.rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """The inverse of :func:`b64encode`. Characters outside the alphabet are
    skipped, so use it on authenticated text or check the result."""
    try:
        raw = text.encode("ascii")
        return binascii.a2b_base64(raw.translate(_FROM_URLSAFE) + b"==")
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
        raise BadCookie(f"compressed data is truncated or inflates past {limit} bytes")
    return out


# -- serialising -------------------------------------------------------------


def _is_plain(value: t.Any) -> bool:
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _is_plain(item):
                return False
        return True
    if kind is list:
        for item in value:
            if not _is_plain(item):
                return False
        return True
    return False


_IMMUTABLE = _SCALARS | {bytes, datetime, UUID, Markup}


def _is_immutable(value: t.Any) -> bool:
    kind = type(value)
    if kind in _IMMUTABLE:
        return True
    if kind is tuple:
        return all(map(_is_immutable, value))
    return False


def _tag(value: t.Any, path: str) -> t.Any:
    """Make ``value`` JSON-ready, tagging what JSON can't carry."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise SessionValueError(f"{path} key {key!r}", key)
            out[key] = _tag(item, f"{path}[{key!r}]")
        if len(out) == 1:
            ((key, item),) = out.items()
            if key.startswith(" "):
                # It could read as a tag: escape the key so that it doesn't.
                # The decoder works inside out, so the inner dict must not
                # look like a tag either.
                return {" di": {f"{key}__": item}}
        return out
    if kind is list:
        return [_tag(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if kind is tuple:
        return {" t": [_tag(item, f"{path}[{i}]") for i, item in enumerate(value)]}
    if kind is bytes:
        return {" b": base64.b64encode(value).decode("ascii")}
    if kind is Markup:
        return {" m": str(value)}
    if kind is UUID:
        return {" u": value.hex}
    if kind is datetime:
        return {" dt": value.isoformat()}
    raise SessionValueError(path, value)


def _datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    # Some Pythons read an offset under one second, "+00:00:00.000001", as
    # UTC; read it by hand so that the offset comes back as it was written.
    if value.utcoffset() == _ZERO and text[-16:-15] in ("+", "-"):
        micro = int(text[-6:]) if text[-7:-6] == "." else 0
        if micro and text[-15:-7] == "00:00:00":
            sign = -1 if text[-16] == "-" else 1
            value = value.replace(tzinfo=timezone(timedelta(microseconds=sign * micro)))
    return value


_STRING_TAGS = frozenset({" b", " m", " u", " dt"})


def _untag(value: dict[str, t.Any]) -> t.Any:
    if len(value) != 1:
        return value
    key, item = next(iter(value.items()))
    # The encoder escapes every one-key dict whose key could be a tag, so a
    # tag over the wrong type is a malformed value, not a dict.
    if key in _STRING_TAGS:
        if type(item) is not str:
            raise ValueError(f"tag {key!r} over {type(item).__name__}")
        if key == " b":
            return base64.b64decode(item, validate=True)
        if key == " m":
            return Markup(item)
        if key == " u":
            return UUID(hex=item)
        return _datetime(item)
    if key == " t":
        if type(item) is not list:
            raise ValueError(f"tag ' t' over {type(item).__name__}")
        return tuple(item)
    if key == " di":
        if type(item) is dict and len(item) == 1:
            ((inner, kept),) = item.items()
            if inner.endswith("__"):
                return {inner[:-2]: kept}
        raise ValueError("malformed tag ' di'")
    return value


_scan_tagged = json.JSONDecoder(object_hook=_untag).scan_once  # type: ignore[attr-defined]


def dumps(created: int, touched: int, data: dict[str, t.Any]) -> tuple[bytes, bool]:
    """Serialise a session's timestamps and data.

    :returns: The JSON bytes, and whether tags were needed.
    :raises SessionValueError: A value that can't be stored unchanged.
    """
    data = dict(data.items())
    try:
        if _is_plain(data):
            body = [created, touched, data]
            tagged = False
        else:
            body = [created, touched, _tag(data, "session")]
            tagged = True
    except RecursionError:
        raise SessionValueError(
            "session (nested too deeply, or a value that contains itself)", data
        ) from None
    text = _json_dumps(body)
    try:
        return text.encode("utf-8"), tagged
    except UnicodeEncodeError:
        # Lone surrogates, which Flask's session stores: UTF-8 can't carry
        # them, so escape them (and all non-ASCII) as JSON allows.
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=True)
        return text.encode("ascii"), tagged


def largest_keys(data: t.Mapping[str, t.Any], count: int = 3) -> list[tuple[str, int]]:
    """The ``count`` largest keys of ``data`` with their serialised sizes,
    for error messages."""
    sizes = []
    for key, value in data.items():
        try:
            text = json.dumps(_tag(value, key), separators=(",", ":"))
        except SessionValueError:
            continue
        sizes.append((key, len(text.encode("utf-8")) + len(key) + 4))
    sizes.sort(key=lambda item: item[1], reverse=True)
    return sizes[:count]


def loads(raw: bytes, tagged: bool) -> tuple[int, int, dict[str, t.Any]]:
    """The inverse of :func:`dumps`, strict about the shape it accepts."""
    try:
        text = raw.decode("utf-8")
        body, end = (_scan_tagged if tagged else _scan_plain)(text, 0)
    except StopIteration:
        raise BadCookie("bad JSON") from None
    except (ValueError, TypeError, RecursionError) as e:
        raise BadCookie(f"bad JSON: {e}") from None
    if end != len(text):
        raise BadCookie("bad JSON: data after the value")
    if type(body) is not list or len(body) != 3:
        raise BadCookie("the payload is not [created, touched, data]")
    created, touched, data = body
    if type(created) is not int or type(touched) is not int or type(data) is not dict:
        raise BadCookie("the payload has fields of the wrong types")
    return created, touched, data


# -- signing -----------------------------------------------------------------


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
        return binascii.b2a_base64(mac.digest(), newline=False).translate(_TO_URLSAFE)

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
        raise BadCookie("bad signature")


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
    """

    #: Bodies longer than this many bytes are compressed when that makes
    #: them shorter. Smaller ones are left alone: compressing them costs
    #: more time than the bytes it saves are worth.
    compress_threshold = 1024

    #: How many cookie values this codec wrote or verified are remembered
    #: with what they decode to, so that the same value seen again (every
    #: request that only reads the session sends the cookie unchanged) is
    #: not verified and parsed again. Only sessions whose values are all
    #: immutable (str, int, float, bool, None, bytes, datetime, UUID,
    #: Markup, and tuples of those) are remembered, and a copy of the
    #: mapping is handed out each time. ``0`` turns it off.
    remembered = 1024

    def __init__(self, keys: KeyRing, max_length: int, max_inflated: int) -> None:
        self.keys = keys
        self.max_length = max_length
        self.max_inflated = max_inflated
        self._seen: dict[str, tuple[int, int, dict[str, t.Any], int]] = {}

    def _remember(
        self, value: str, created: int, touched: int, data: dict[str, t.Any], index: int
    ) -> None:
        if not self.remembered:
            return
        for item in dict.values(data):
            if not _is_immutable(item):
                return
        if len(self._seen) >= self.remembered:
            self._seen.clear()
        self._seen[value] = (created, touched, dict(dict.items(data)), index)

    def encode(self, created: int, touched: int, data: dict[str, t.Any]) -> str:
        raw, tagged = dumps(created, touched, data)
        header = "1t" if tagged else "1"
        if len(raw) > self.max_inflated:
            raise PayloadTooLarge(len(raw))
        if len(raw) > self.compress_threshold:
            packed = zlib.compress(raw)
            if len(packed) < len(raw):
                raw = packed
                header += "z"
        value = self.keys.sign(f"{header}.{b64encode(raw)}")
        self._remember(value, created, touched, data, 0)
        return value

    def is_own(self, value: str) -> bool:
        """Whether ``value`` is in this codec's format, valid or not."""
        return value.partition(".")[0] in _HEADERS

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
        if len(value) > self.max_length:
            raise BadCookie(f"{len(value)} characters, over {self.max_length}")
        message, index = self.keys.unsign(value)
        header, _, body = message.partition(b".")
        try:
            tagged, compressed = _HEADER_BYTES[header]
        except KeyError:
            raise BadCookie(f"unknown format {header[:8]!r}") from None
        try:
            raw = binascii.a2b_base64(body.translate(_FROM_URLSAFE) + b"==")
        except binascii.Error as e:
            raise BadCookie(f"bad base64: {e}") from None
        if compressed:
            raw = decompress(raw, self.max_inflated)
        created, touched, data = loads(raw, tagged)
        self._remember(value, created, touched, data, index)
        return created, touched, data, index


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
        except BadSignature as e:
            raise BadCookie(f"Flask cookie: {e}") from None
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
