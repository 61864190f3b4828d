"""Cookie values for the hostile-input tests and the fuzz target: valid
cookies of every shape (seeds), a mutator driven by bytes so that both
hypothesis and a coverage-guided fuzzer can steer it, and what an app must
make of the result.

No hypothesis here: the fuzz target runs without it.
"""

from __future__ import annotations

import os
import time
import typing as t
import zlib
from datetime import datetime
from datetime import timezone
from uuid import UUID

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import TimestampSigner
from itsdangerous import URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.sansio.http import parse_cookie

from flask_scopes import Scopes
from flask_scopes.codecs.encoding import BadCookie
from flask_scopes.codecs.signed import SessionCodec
from flask_scopes.codecs.signing import FLASH_SALT
from flask_scopes.codecs.signing import KeyRing
from flask_scopes.codecs.signing import SESSION_SALT
from flask_scopes.flash.codec import Batch
from flask_scopes.flash.codec import FlashCodec
from flask_scopes.flash.values import MAX_DEPTH as FLASH_MAX_DEPTH

SECRET = "cookie-cases-secret"
OLD_SECRET = "cookie-cases-old-secret"
LIMIT = 4093
#: When the seeds were signed: fixed for a process and its children, so
#: that a seed made twice is the same value.
NOW = int(os.environ.setdefault("COOKIE_CASES_NOW", str(int(time.time()))))


class Seed(t.NamedTuple):
    """A cookie value to mutate, and the session it must give untouched."""

    value: str
    #: The session it decodes to, or ``None`` for one that must be refused.
    data: dict[str, t.Any] | None
    #: Whether any change to the value must make it invalid. Flask's own
    #: format isn't strict: itsdangerous skips stray characters in the
    #: signature, so a mutated copy may still give the same session.
    strict: bool


def make_app(**config: t.Any) -> Flask:
    """An app that accepts the seeds: :data:`SECRET`, with
    :data:`OLD_SECRET` as a fallback."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, SECRET_KEY_FALLBACKS=[OLD_SECRET])
    app.config.update(config)
    Scopes(app)
    return app


def make_seeds() -> list[Seed]:
    """Valid cookies of every shape :func:`make_app` accepts (plain,
    tagged, compressed, signed with the fallback key, in Flask's format),
    and well-formed ones it must refuse (another key, another salt)."""
    app = make_app()
    codec = app.session_interface.runtime(app).codec  # type: ignore[attr-defined]
    now = NOW
    plain = {"user": "ann", "n": 1}
    tagged = {"when": datetime(2024, 1, 2, 3, 4, 5, 6), "raw": b"\x00\xff"}
    large = {"blob": "abc" * 700}
    large_tagged = {"pairs": tuple(range(600))}
    seeds = [
        Seed(codec.encode(now, now, d), d, True)
        for d in (plain, tagged, large, large_tagged)
    ]
    old = SessionCodec(KeyRing(OLD_SECRET.encode(), [], SESSION_SALT), LIMIT, 65536)
    seeds.append(Seed(old.encode(now, now, plain), plain, True))
    for salt, key in ((FLASH_SALT, SECRET), (SESSION_SALT, "another-key")):
        other = SessionCodec(KeyRing(key.encode(), [], salt), LIMIT, 65536)
        seeds.append(Seed(other.encode(now, now, plain), None, True))
    # Sessions of their own, so that a value in our format can't pass for
    # one of these.
    for d in ({"user": "flask", "n": 2}, {"blob": "xyz" * 700}):
        seeds.append(Seed(flask_cookie(SECRET, d), d, False))
    seeds.append(Seed(flask_cookie("another-key", plain), None, False))
    return seeds


class _FixedTimestampSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return NOW


def flask_cookie(secret: str, data: dict[str, t.Any]) -> str:
    """A cookie as Flask's own session writes it, dated :data:`NOW`."""
    interface = SecureCookieSessionInterface()
    serializer = URLSafeTimedSerializer(
        secret,
        salt=interface.salt,
        serializer=interface.serializer,
        signer=_FixedTimestampSigner,
        signer_kwargs={
            "key_derivation": interface.key_derivation,
            "digest_method": interface.digest_method,
        },
    )
    return serializer.dumps(data)


NASTY = (
    ".",
    "=",
    '"',
    "\\",
    ";",
    ",",
    " ",
    "\t",
    "\x00",
    "\xff",
    "\x7f",
    "-",
    "_",
    "+",
    "/",
    "A",
    "z",
    "0",
    "%",
    "\xe9",
)
#: The format headers of our own cookie values.
OUR_HEADERS = frozenset({"1", "1t", "1z", "1tz"})
HEADERS = ("1", "1t", "1z", "1tz", "2", "", "1zt", "1zz", "t", "z", "01", "1 ")


def mutate(value: str, ops: bytes, seeds: t.Sequence[Seed]) -> str:
    """Apply up to four mutations to ``value``, each read from four bytes of
    ``ops``: a character changed, added or removed, truncation, a dot
    segment dropped, repeated, swapped or taken from another seed, another
    format header, quoting, a changed case."""
    for i in range(0, min(len(ops), 16) - 3, 4):
        op, hi, lo, arg = ops[i : i + 4]
        pos = (hi << 8 | lo) % (len(value) + 1)
        char = NASTY[arg % len(NASTY)] if arg < 128 else chr(arg)
        parts = value.split(".")
        op %= 12
        if op == 0 and pos < len(value):
            value = value[:pos] + char + value[pos + 1 :]
        elif op == 1:
            value = value[:pos] + char + value[pos:]
        elif op == 2 and pos < len(value):
            value = value[:pos] + value[pos + 1 :]
        elif op == 3:
            value = value[:pos]
        elif op == 4 and len(parts) > 1:
            j = arg % len(parts)
            value = ".".join(parts[:j] + parts[j + 1 :])
        elif op == 5:
            j = arg % len(parts)
            value = ".".join(parts[: j + 1] + parts[j:])
        elif op == 6 and len(parts) > 1:
            a, b = hi % len(parts), arg % len(parts)
            parts[a], parts[b] = parts[b], parts[a]
            value = ".".join(parts)
        elif op == 7:
            parts[0] = HEADERS[arg % len(HEADERS)]
            value = ".".join(parts)
        elif op == 8:
            other = seeds[arg % len(seeds)].value.split(".")
            j = hi % min(len(parts), len(other))
            parts[j] = other[j]
            value = ".".join(parts)
        elif op == 9:
            value = f'"{value}"'
        elif op == 10 and pos < len(value):
            value = value[:pos] + value[pos].swapcase() + value[pos + 1 :]
        elif op == 11:
            value = value[:pos] + value[pos:] * (1 + arg % 3)
    return value


def allowed_sessions(
    header: str, seeds: t.Sequence[Seed], name: str = "session"
) -> list[dict[str, t.Any]]:
    """What an app from :func:`make_app` may make of a ``Cookie`` header.

    A value that is exactly a seed gives that seed's session; a value in our
    format that isn't exactly a valid seed gives an empty session. Only a
    value in Flask's format may also give the session of a Flask-format
    seed, as itsdangerous skips stray characters in signatures.
    """
    found = parse_cookie(header).getlist(name)
    if not found or len(set(found)) > 1:
        return [{}]
    value = found[0]
    for seed in seeds:
        if value == seed.value:
            return [seed.data or {}]
    if value.partition(".")[0] in OUR_HEADERS:
        return [{}]
    return [{}] + [s.data for s in seeds if not s.strict and s.data is not None]


# -- the flash cookie ------------------------------------------------------------

#: Signs flash values with the fallback key, which :func:`flash_codecs`'
#: signed codec still accepts.
OLD_FLASH_RING = KeyRing(OLD_SECRET.encode(), [], FLASH_SALT)


def flash_codecs() -> dict[str, FlashCodec]:
    """The flash codec as an app from :func:`make_app` has it: unsigned (the
    default), and signed (``SCOPES_FLASH_SIGNED``), verifying with
    :data:`SECRET` or :data:`OLD_SECRET`."""
    ring = KeyRing(SECRET.encode(), [OLD_SECRET.encode()], FLASH_SALT)
    return {
        "unsigned": FlashCodec(None, False, LIMIT),
        "signed": FlashCodec(ring, True, LIMIT),
    }


def flash_samples() -> list[list[Batch]]:
    """Lists of batches of every shape the flash cookie carries: messages,
    form values, field errors, Markup, several batches, the most batches."""
    return [
        [Batch(NOW, [("info", "saved")])],
        [
            Batch(NOW - 5, [("error", "<b>x</b>"), ("a.b-c_d", "é\u2028😀")]),
            Batch(NOW, [], {"name": ["ann", ""], "tags": ["a"]}),
        ],
        [Batch(NOW, [("info", Markup("<b>safe</b>"))], {}, {"email": ["bad"]})],
        [Batch(i, [("m", str(i))]) for i in range(FlashCodec.max_batches)],
        [
            Batch(
                NOW,
                [
                    ("info", {"count": 3, "items": [1, 2.5, None, True]}),
                    ("success", 42),
                    ("n", [{" m": "<b>plain</b>"}, [[[["nested"]]]]]),
                ],
            )
        ],
    ]


def typed_flash_samples() -> list[list[Batch]]:
    """Batches of values only a signed flash carries: the session's tagged
    types."""
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    return [
        [
            Batch(
                NOW,
                [
                    ("info", when),
                    ("info", (1, "two", b"3")),
                    ("x", {"id": UUID(int=7), "m": Markup("<i>x</i>")}),
                ],
            )
        ]
    ]


def flash_seeds() -> list[Seed]:
    """Valid flash cookies: each sample written by each codec, and signed
    with the fallback key. ``data`` is left ``None``: the flash is checked
    with :func:`check_flash`, not by its session."""
    codecs = flash_codecs()
    seeds = []
    for sample in flash_samples():
        for codec in codecs.values():
            seeds.append(Seed(codec.encode(sample), None, True))
        unsigned = codecs["unsigned"].encode(sample)
        seeds.append(Seed(OLD_FLASH_RING.sign(unsigned), None, True))
    for sample in typed_flash_samples():
        seeds.append(Seed(codecs["signed"].encode(sample), None, True))
    return seeds


_PLAIN = (str, int, float, bool, type(None), list, dict)
_TAGGED = (*_PLAIN, Markup, tuple, bytes, datetime, UUID)


def check_flash_value(
    message: t.Any, signed: bool, origin: str, depth: int = 0
) -> None:
    """Check one flashed value read back: plain JSON from an unsigned
    cookie (never ``Markup``), the session's tagged types only from a signed
    one, and within the depth bound."""
    kinds = _TAGGED if signed else _PLAIN
    assert type(message) in kinds, f"{type(message)} from {origin!r}"
    assert depth <= FLASH_MAX_DEPTH, origin
    if isinstance(message, str):
        message.encode("utf-8")
    elif isinstance(message, (list, tuple)):
        for item in message:
            check_flash_value(item, signed, origin, depth + 1)
    elif isinstance(message, dict):
        for key, item in message.items():
            assert type(key) is str, origin
            key.encode("utf-8")
            check_flash_value(item, signed, origin, depth + 1)


def check_flash(codec: FlashCodec, value: str) -> list[Batch] | None:
    """Decode ``value`` and check what came out: batches within every limit
    of the codec, plain text (``Markup`` only from a signed codec), and the
    same batches when written and read again. ``None`` when the codec
    refused it with :exc:`BadCookie`; any other error propagates."""
    try:
        batches = codec.decode(value)
    except BadCookie:
        return None
    assert type(batches) is list, batches
    assert 0 < len(batches) <= codec.max_batches, batches
    count = 0
    for batch in batches:
        assert type(batch) is Batch and batch, batch
        assert type(batch.created) is int and batch.created >= 0, batch
        for category, message in batch.messages:
            assert type(category) is str, batch
            assert codec.category_pattern.match(category), batch
            check_flash_value(message, codec.signed, value)
        count += len(batch.messages)
        for fields, longest in (
            (batch.form, codec.max_value_length),
            (batch.errors, None),
        ):
            assert type(fields) is dict and len(fields) <= codec.max_fields, batch
            for name, items in fields.items():
                assert type(name) is str, batch
                assert 0 < len(name) <= codec.max_field_name_length, batch
                name.encode("utf-8")
                assert type(items) is list, batch
                assert 0 < len(items) <= codec.max_values, batch
                for item in items:
                    assert type(item) is str, batch
                    assert longest is None or len(item) <= longest, batch
                    item.encode("utf-8")
    assert count <= codec.max_messages, batches
    again = FlashCodec(codec.keys, codec.signed, 10**6)
    back = again.decode(again.encode(batches))
    assert back == batches, (back, batches)
    kinds = [[type(m) for _, m in b.messages] for b in batches]
    assert [[type(m) for _, m in b.messages] for b in back] == kinds
    return batches


def zip_bomb(size: int = 10 * 1024 * 1024) -> bytes:
    """A few kilobytes that inflate to ``size`` bytes."""
    return zlib.compress(b"[0,0,{" + b" " * size + b"}]", 9)


def wsgi_text(raw: bytes) -> str:
    """Bytes as a WSGI server puts them in the environ (latin-1)."""
    return raw.decode("latin-1")
