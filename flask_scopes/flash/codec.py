"""The flash cookie's value: what it may hold, how it is written, and how it
is read back, strictly and within bounds, since anyone can forge it.

A value reads ``1.<body>``, or ``1.<body>.<signature>`` when
:data:`SCOPES_FLASH_SIGNED` is set. The body is URL-safe base64 (without
padding) of compact UTF-8 JSON: a list of *batches*, oldest first. A batch
is what one request flashed for the next::

    [created, [[category, value], ...], {field: [value, ...]}, {field: [error, ...]}]

``created`` is the Unix time it was flashed; the form values and field
errors are left out when empty. A message's value is text, or any plain
JSON value within the bounds of :mod:`flask_scopes.flash.values`. In an
unsigned cookie the JSON is read as it is: no tags, no pickles, nothing
that could rebuild an object or mark HTML as safe, so templates escape
every message. Only a signed cookie can say a message was
:class:`~markupsafe.Markup` (``[category, text, 1]``) or carry the
session's tagged types (``[category, tagged value, 2]``); an unsigned one
carries markup as text, which renders escaped.

.. versionchanged:: 0.2
    Messages may be values other than text.
"""

from __future__ import annotations

import json
import re
import typing as t
from dataclasses import dataclass
from dataclasses import field

from markupsafe import Markup

from ..codecs.encoding import b64decode
from ..codecs.encoding import b64encode
from ..codecs.encoding import BadCookie
from ..codecs.signing import FLASH_SALT
from ..codecs.signing import KeyRing
from ..codecs.tagged import json_dumps
from ..errors import ConfigurationError
from ..errors import FlashValueError
from .values import _SURROGATE
from .values import copy_value
from .values import from_tree
from .values import to_tree
from .values import ValueRefused

if t.TYPE_CHECKING:  # pragma: no cover
    from ..settings import Settings

_BODY = re.compile(r"[A-Za-z0-9_-]*\Z")


def _no_constant(name: str) -> t.NoReturn:
    raise ValueError(f"{name} is not allowed")


_decode_json = json.JSONDecoder(strict=True, parse_constant=_no_constant).decode


@dataclass
class Batch:
    """What one request flashed for a later one."""

    #: When it was flashed (Unix time). ``SCOPES_FLASH_MAX_AGE`` counts
    #: from here.
    created: int
    #: ``(category, message)`` pairs, in the order they were flashed. A
    #: message is a str, or another value the flash carries.
    messages: list[tuple[str, t.Any]] = field(default_factory=list)
    #: Form values to refill, by field name.
    form: dict[str, list[str]] = field(default_factory=dict)
    #: Error messages, by field name.
    errors: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.messages or self.form or self.errors)


class FlashCodec:
    """Encodes and decodes the flash cookie's value.

    The limits below hold for what is written as much as for what is read,
    so a cookie this codec wrote is always accepted back.

    :param keys: The key ring that signs, when the flash is signed; ``None``
        when it is signed but there is no ``SECRET_KEY``.
    :param signed: Whether the value carries a signature.
    :param max_length: Longer incoming values are refused unread.
    """

    #: The most batches one cookie may hold.
    max_batches = 8
    #: The most messages one cookie may hold, all batches together.
    max_messages = 64
    #: What a category may look like: short, and letters, digits, ``_``,
    #: ``-`` and ``.`` only, so it is safe as a CSS class or an attribute.
    category_pattern = re.compile(r"[A-Za-z0-9_.-]{1,40}\Z")
    #: The most form fields (and fields with errors) one batch may hold.
    max_fields = 32
    #: The longest form field name.
    max_field_name_length = 100
    #: The most values (or errors) one field may hold.
    max_values = 16
    #: The longest form value carried for a refill, in characters.
    max_value_length = 1000

    def __init__(self, keys: KeyRing | None, signed: bool, max_length: int) -> None:
        self.keys = keys
        self.signed = signed
        self.max_length = max_length

    @classmethod
    def from_settings(
        cls, settings: Settings, digest: t.Callable[..., t.Any]
    ) -> FlashCodec:
        """The codec for an app's settings: signing with the ``SECRET_KEY``
        (and verifying with the fallbacks) under the flash's own salt when
        :data:`SCOPES_FLASH_SIGNED` is set.

        :param settings: The app's settings.
        :param digest: The hash function of the HMAC.
        """
        keys = None
        if settings.flash_signed and settings.secret_key is not None:
            keys = KeyRing(
                settings.secret_key, settings.fallback_keys, FLASH_SALT, digest
            )
        return cls(keys, settings.flash_signed, settings.max_cookie_size)

    # -- what may be flashed -------------------------------------------------

    def require_keys(self) -> None:
        """Refuse to flash when the flash must be signed and can't be.

        :raises ConfigurationError: ``SCOPES_FLASH_SIGNED`` without a
            ``SECRET_KEY``.
        """
        if self.signed and self.keys is None:
            raise ConfigurationError(
                "SCOPES_FLASH_SIGNED",
                "a signed flash needs a SECRET_KEY, and none is set. Set"
                " SECRET_KEY, or leave the flash unsigned.",
            )

    def check_category(self, category: t.Any) -> str:
        """Return ``category`` if it is one the cookie can carry.

        :raises FlashValueError: It is not a str of 1 to 40 letters, digits,
            ``_``, ``-`` or ``.``.
        """
        if type(category) is not str or not self.category_pattern.match(category):
            raise FlashValueError(
                f"The flash category {category!r} is not allowed: use 1 to 40"
                " letters, digits, '_', '-' or '.'.",
                category,
            )
        return category

    def check_message(self, message: t.Any) -> str:
        """Return ``message`` as the text to carry. A ``str`` (``Markup``
        included) is kept as it is; an object with ``__html__`` (a lazy or
        safe string) becomes the ``Markup`` it renders as.

        :raises FlashValueError: Anything else, or a lone surrogate.
        """
        if not isinstance(message, str):
            html = getattr(message, "__html__", None)
            if html is None:
                raise FlashValueError(
                    f"A flash message must be a str, not {type(message).__name__}.",
                    message,
                )
            message = Markup(html())
        return self.check_text(message, "flash message")

    def check_value(self, message: t.Any) -> t.Any:
        """Return ``message`` as the value to carry: text as
        :meth:`check_message` keeps it, or a copy of any other value the
        flash carries (plain JSON; with :data:`SCOPES_FLASH_SIGNED`, the
        session's tagged types too), as it will be read back.

        .. versionadded:: 0.2

        :raises FlashValueError: A value the cookie can't carry.
        """
        if isinstance(message, str) or hasattr(message, "__html__"):
            return self.check_message(message)
        return copy_value(message, self.signed)

    def check_text(self, text: t.Any, what: str) -> str:
        """Return ``text`` if it is a str UTF-8 can encode.

        :raises FlashValueError: It is not.
        """
        if not isinstance(text, str):
            raise FlashValueError(
                f"A {what} must be a str, not {type(text).__name__}.", text
            )
        if _SURROGATE.search(text):
            raise FlashValueError(f"A {what} holds a lone surrogate.", text)
        return text

    def check_field(self, name: t.Any) -> str:
        """Return ``name`` if it can name a form field in the cookie.

        :raises FlashValueError: It can't.
        """
        text = self.check_text(name, "form field name")
        if not 0 < len(text) <= self.max_field_name_length:
            raise FlashValueError(
                f"A form field name must have 1 to {self.max_field_name_length}"
                f" characters, not {len(text)}.",
                text,
            )
        return text

    # -- writing -------------------------------------------------------------

    def encode(self, batches: t.Sequence[Batch]) -> str:
        """The cookie value carrying ``batches``.

        :raises ConfigurationError: The flash must be signed and can't be.
        """
        text = f"1.{b64encode(self.encode_body(batches))}"
        return self.sign(text)

    def sign(self, text: str) -> str:
        """``text`` as the cookie carries it: signed when the flash is.

        .. versionadded:: 0.2

        :raises ConfigurationError: The flash must be signed and can't be.
        """
        if self.signed:
            self.require_keys()
            assert self.keys is not None
            return self.keys.sign(text)
        return text

    def encode_body(self, batches: t.Sequence[Batch]) -> bytes:
        """The JSON of ``batches``, as UTF-8: what the cookie carries in
        base64, and what a flash that overflowed to the store is kept as.

        .. versionadded:: 0.2
        """
        body: list[list[t.Any]] = []
        for batch in batches:
            item: list[t.Any] = [
                batch.created,
                [self._entry(*m) for m in batch.messages],
            ]
            if batch.form or batch.errors:
                item.append(batch.form)
            if batch.errors:
                item.append(batch.errors)
            body.append(item)
        return json_dumps(body).encode("utf-8")

    def _entry(self, category: str, message: t.Any) -> list[t.Any]:
        if isinstance(message, str):
            if self.signed and isinstance(message, Markup):
                return [category, str(message), 1]
            return [category, str(message)]
        if self.signed:
            return [category, to_tree(message, True), 2]
        return [category, to_tree(message, False)]

    # -- reading -------------------------------------------------------------

    def decode(self, value: str) -> list[Batch]:
        """Verify and decode a cookie value.

        The work is bounded: the length is checked before anything else,
        and the structure against every limit of this class.

        :raises BadCookie: Why the value was refused.
        """
        value = self.unsign(value)
        header, sep, body = value.partition(".")
        if header != "1" or not sep:
            raise BadCookie("not in the flash cookie's format")
        if not _BODY.match(body):
            raise BadCookie("bad base64: characters outside the alphabet")
        return self.decode_body(b64decode(body))

    def unsign(self, value: str) -> str:
        """Check a cookie value's length, and its signature when the flash
        is signed, before anything else is read.

        .. versionadded:: 0.2

        :returns: The value without its signature.
        :raises BadCookie: Why the value was refused.
        """
        if len(value) > self.max_length:
            raise BadCookie(
                f"{len(value)} characters, over {self.max_length}", "oversized"
            )
        if self.signed:
            if self.keys is None:
                raise BadCookie("signed, but there is no SECRET_KEY to verify it")
            value = self.keys.unsign(value)[0].decode("ascii")
        return value

    def decode_body(self, raw: bytes) -> list[Batch]:
        """The inverse of :meth:`encode_body`, within every limit of this
        class. The caller bounds the length of ``raw``.

        .. versionadded:: 0.2

        :raises BadCookie: Why the body was refused.
        """
        try:
            data = _decode_json(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise BadCookie(f"bad encoding: {e}") from None
        except (ValueError, RecursionError) as e:
            raise BadCookie(f"bad JSON: {e}") from None
        return self._batches(data)

    def _batches(self, data: t.Any) -> list[Batch]:
        if type(data) is not list or not 0 < len(data) <= self.max_batches:
            raise BadCookie(f"not a list of 1 to {self.max_batches} batches")
        batches = []
        count = 0
        for item in data:
            if type(item) is not list or not 2 <= len(item) <= 4:
                raise BadCookie("a batch is not [created, messages, form, errors]")
            created, messages, form, errors = (*item, {}, {})[:4]
            if type(created) is not int or created < 0:
                raise BadCookie("a batch has a bad timestamp")
            if type(messages) is not list:
                raise BadCookie("a batch's messages are not a list")
            count += len(messages)
            if count > self.max_messages:
                raise BadCookie(f"more than {self.max_messages} messages")
            batch = Batch(
                created,
                [self._message(entry) for entry in messages],
                self._fields(form, self.max_value_length),
                self._fields(errors, None),
            )
            if not batch:
                raise BadCookie("an empty batch")
            batches.append(batch)
        return batches

    def _message(self, entry: t.Any) -> tuple[str, t.Any]:
        if type(entry) is not list or not (
            len(entry) == 2
            or (
                self.signed
                and len(entry) == 3
                and type(entry[2]) is int
                and entry[2] in (1, 2)
            )
        ):
            raise BadCookie("a message is not [category, value]")
        category, value = entry[0], entry[1]
        if type(category) is not str or not self.category_pattern.match(category):
            raise BadCookie("a message has a bad category")
        kind = entry[2] if len(entry) == 3 else 0
        if type(value) is str and kind != 2:
            if _SURROGATE.search(value):
                raise BadCookie("a message's text is not valid text")
            return category, Markup(value) if kind == 1 else value
        if kind == 1:
            raise BadCookie("a Markup message that is not text")
        try:
            # Tags are read only from a signed cookie (kind 2 needs one).
            return category, from_tree(value, kind == 2)
        except ValueRefused as e:
            raise BadCookie(f"a message's value is refused: {e}") from None

    def _fields(self, data: t.Any, max_length: int | None) -> dict[str, list[str]]:
        if type(data) is not dict or len(data) > self.max_fields:
            raise BadCookie(f"form data is not an object of {self.max_fields} fields")
        for name, values in data.items():
            if not 0 < len(name) <= self.max_field_name_length or _SURROGATE.search(
                name
            ):
                raise BadCookie("a bad form field name")
            if type(values) is not list or not 0 < len(values) <= self.max_values:
                raise BadCookie(f"form field {name[:20]!r} has no list of values")
            for value in values:
                if (
                    type(value) is not str
                    or (max_length is not None and len(value) > max_length)
                    or _SURROGATE.search(value)
                ):
                    raise BadCookie(f"form field {name[:20]!r} has a bad value")
        return data


def largest_parts(batches: t.Iterable[Batch], count: int = 3) -> list[tuple[str, int]]:
    """The ``count`` largest categories (and the form values and field
    errors) of ``batches``, with their encoded sizes, for error messages."""
    sizes: dict[str, int] = {}

    def size(value: t.Any) -> int:
        text = json.dumps(value, ensure_ascii=False, default=str)
        return len(text.encode("utf-8", "replace"))

    for batch in batches:
        for category, message in batch.messages:
            sizes[category] = sizes.get(category, 0) + size(message) + 1
        if batch.form:
            sizes["form values"] = sizes.get("form values", 0) + size(batch.form)
        if batch.errors:
            sizes["field errors"] = sizes.get("field errors", 0) + size(batch.errors)
    return sorted(sizes.items(), key=lambda item: item[1], reverse=True)[:count]
