"""The flash scope's public face: :data:`flash`, usable in views and in
every template.

.. code-block:: python

    from flask_scopes import flash

    @app.post("/settings")
    def save_settings():
        if not request.form.get("setting"):
            flash.error("Settings invalid!")
            flash.keep_form(request.form, only=["setting"])
            return redirect(url_for("show_settings"))
        flash.success("Settings saved!")
        return redirect(url_for("show_settings"))

.. code-block:: jinja

    {% if flash.error %}<p class="error">{{ flash.error }}</p>{% endif %}
    {% for category, message in flash %}
      <p class="{{ category }}">{{ message }}</p>
    {% endfor %}

``flash.error`` is a :class:`Category`: called, it flashes a message;
rendered, tested or iterated, it reads the messages that came in (and those
flashed with ``flash.now``). Several messages of one category render
joined by a space, each escaped; loop over the category to render them
apart.
"""

from __future__ import annotations

import typing as t

from flask import current_app
from flask import message_flashed
from markupsafe import escape
from markupsafe import Markup

from .codec import FlashCodec
from .context import current_scope

if t.TYPE_CHECKING:  # pragma: no cover
    from .scope import FlashScope


class MessageList:
    """Messages that render, test and compare like text.

    Rendered in a template, the messages are joined by :attr:`separator`,
    each escaped unless it is :class:`~markupsafe.Markup` the app flashed
    itself (or a signed flash carried). ``str()`` gives the same text
    unescaped. The list is false when empty, ``len()`` counts the messages,
    iterating gives each one, and it equals a str equal to its text or a
    list of the same messages. ``x in messages`` is true when one of the
    messages contains ``x``.

    A message that is not text (a dict, a list, a number, a date...) is
    given as it is by iterating and indexing, so a template can use its
    parts (``{% for m in flash.info %}{{ m.count }}{% endfor %}``). Rendered
    or turned into a str, it counts as its ``str()``, escaped. ``x in
    messages`` is true for such a message when it equals ``x``.

    .. versionchanged:: 0.2
        Messages may be values other than text.
    """

    __slots__ = ()

    #: What joins several messages when they render as one text.
    separator = " "

    def _messages(self) -> list[t.Any]:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.separator.join(map(str, self._messages()))

    def __html__(self) -> Markup:
        return Markup(escape(self.separator)).join(self._messages())

    def __bool__(self) -> bool:
        return bool(self._messages())

    def __len__(self) -> int:
        return len(self._messages())

    def __iter__(self) -> t.Iterator[t.Any]:
        return iter(self._messages())

    def __getitem__(self, index: int) -> t.Any:
        return self._messages()[index]

    def __contains__(self, value: object) -> bool:
        for message in self._messages():
            if isinstance(message, str):
                if isinstance(value, str) and value in message:
                    return True
            elif message == value:
                return True
        return False

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MessageList):
            return self._messages() == other._messages()
        if isinstance(other, str):
            return str(self) == other
        if isinstance(other, (list, tuple)):
            return self._messages() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._messages()!r}>"


class FieldErrors(MessageList):
    """The error messages of one form field."""

    __slots__ = ("_list",)

    def __init__(self, messages: list[str]) -> None:
        self._list = messages

    def _messages(self) -> list[str]:
        return self._list


class Category(MessageList):
    """One category of the flash, as ``flash.error`` or ``flash["notice"]``
    give it: call it to flash a message, read it as the messages that came
    in (and those flashed for now). It belongs to the request it was made
    in, and reads that request's messages whenever it is used.

    :param scope: The flash scope of the request it belongs to.
    :param name: The category.
    :param now: Whether calling it flashes for this request only.
    """

    __slots__ = ("_scope", "name", "_now")

    def __init__(self, scope: FlashScope, name: str, now: bool = False) -> None:
        self._scope = scope
        #: The category's name.
        self.name = name
        self._now = now

    def __call__(self, message: t.Any) -> None:
        """Flash ``message`` in this category."""
        _add(self._scope, message, self.name, self._now)

    def _messages(self) -> list[t.Any]:
        return self._scope.category(self.name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._messages()!r}>"


class _FieldMap:
    """What the form refill carries, by field name: ``in``, ``len``,
    truthiness and iteration over the names."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, list[str]]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> t.Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> t.Any:
        raise NotImplementedError

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __iter__(self) -> t.Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __bool__(self) -> bool:
        return bool(self._data)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._data!r}>"


class FormValues(_FieldMap):
    """Form values carried for a refill, read as ``flash.form.email`` or
    ``flash.form["email"]``: the field's first value, or ``""`` when none was
    carried, so ``value="{{ flash.form.email }}"`` always works. A field
    named like a method (``get``, ``items``...) is read with ``[]``.
    """

    __slots__ = ()

    def __getitem__(self, name: str) -> str:
        values = self._data.get(name)
        return values[0] if values else ""

    def get(self, name: str, default: str | None = None) -> str | None:
        """The field's first value, or ``default`` when none was carried."""
        values = self._data.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        """Every value of the field, for checkboxes and multiple selects."""
        return list(self._data.get(name, ()))

    def items(self) -> list[tuple[str, str]]:
        """``(name, first value)`` for each field carried."""
        return [(name, values[0]) for name, values in self._data.items()]


class FormErrors(_FieldMap):
    """Error messages attached to form fields, read as
    ``flash.form_errors.email`` or ``flash.form_errors["email"]``: a
    :class:`FieldErrors`, empty when the field has none. Iterating gives the
    names of the fields with errors.
    """

    __slots__ = ()

    def __getitem__(self, name: str) -> FieldErrors:
        return FieldErrors(self._data.get(name, []))

    def get(self, name: str, default: t.Any = None) -> t.Any:
        """The field's errors, or ``default`` when it has none."""
        return FieldErrors(self._data[name]) if name in self._data else default

    def items(self) -> list[tuple[str, FieldErrors]]:
        """``(name, errors)`` for each field with errors."""
        return [(name, FieldErrors(errors)) for name, errors in self._data.items()]


def _add(scope: FlashScope, message: t.Any, category: t.Any, now: bool) -> None:
    scope.add(message, category, now)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    message_flashed.send(
        app, _async_wrapper=app.ensure_sync, message=message, category=category
    )


class Flash:
    """The flash of the current request. :data:`flash` is the instance to
    use; it works in views, request hooks and templates, and holds no state
    of its own.

    Writing (for the next request that reads the flash):
    ``flash.success(msg)``, ``flash.error(msg)``, ``flash.warning(msg)``,
    ``flash.info(msg)``, ``flash["notice"] = msg``, ``flash.add(msg,
    category)``. Each sends Flask's ``message_flashed`` signal. Through
    ``flash.now`` the same calls show a message in this request only.

    Reading (marks the flash read, so the response drops what came in):
    ``flash.error`` (a :class:`Category`), ``flash["error"]``,
    ``flash.get("error")``, ``"error" in flash``, ``len(flash)``,
    ``bool(flash)``, ``for category, message in flash``, :attr:`form`,
    :attr:`form_errors`. Reading any part reads all of it, as a page shows
    the flash as a whole.

    Any category name can be read or written as an attribute
    (``flash.notice``), except the names of this class's methods; use
    ``flash["keep"]`` for those.

    :param now: Whether writes are for this request only.
    """

    __slots__ = ("_now",)

    def __init__(self, *, now: bool = False) -> None:
        self._now = now

    # -- writing -------------------------------------------------------------

    @property
    def success(self) -> Category:
        """The ``success`` category."""
        return Category(current_scope(), "success", self._now)

    @property
    def error(self) -> Category:
        """The ``error`` category."""
        return Category(current_scope(), "error", self._now)

    @property
    def warning(self) -> Category:
        """The ``warning`` category."""
        return Category(current_scope(), "warning", self._now)

    @property
    def info(self) -> Category:
        """The ``info`` category."""
        return Category(current_scope(), "info", self._now)

    def __getattr__(self, name: str) -> Category:
        if name.startswith("_") or not FlashCodec.category_pattern.match(name):
            raise AttributeError(name)
        return Category(current_scope(), name, self._now)

    @property
    def now(self) -> Flash:
        """The same helpers, for messages shown in this request only and
        never stored: for a page rendered without a redirect."""
        return _now

    def add(self, message: t.Any, category: str = "message") -> None:
        """Flash ``message`` in ``category``. ``"message"`` is the category
        Flask's own ``flash()`` uses.

        .. versionchanged:: 0.2
            ``message`` may be a value other than text.

        :param message: A str; ``Markup`` renders as HTML in this request,
            and after a redirect only when the flash is signed (otherwise it
            travels as text, and renders escaped). Or any plain JSON value
            (dict, list, number, bool, ``None``), and with
            :data:`SCOPES_FLASH_SIGNED` the session's tagged types too
            (datetime, tuple, bytes, UUID).
        :param category: 1 to 40 letters, digits, ``_``, ``-`` or ``.``.
        :raises FlashValueError: A message or category the cookie can't
            carry, or more than 64 messages.
        """
        _add(current_scope(), message, category, self._now)

    def __setitem__(self, category: str, message: t.Any) -> None:
        _add(current_scope(), message, category, self._now)

    def keep(self, category: str | None = None) -> None:
        """Carry the messages that came in over to the next request (only
        those of ``category`` if given; all, with the form values and field
        errors, if not)."""
        current_scope().keep(category)

    def discard(self, category: str | None = None) -> None:
        """Drop the messages that came in (only those of ``category`` if
        given) at the end of this request, read or not. This request still
        shows them."""
        current_scope().discard(category)

    def keep_form(self, form: t.Any, only: t.Iterable[str]) -> list[str]:
        """Carry the fields named in ``only`` from ``form`` (such as
        ``request.form``) to refill the form after a redirect.

        Never carried, even when listed: fields named like passwords,
        secrets, tokens (CSRF ones included), one-time codes or card data;
        uploaded files; a value over 1000 characters; fields past 2000
        characters in all. The flash cookie is unsigned by default: carry
        nothing you would not show in the page.

        :returns: The names of the fields carried.
        """
        return current_scope().keep_form(form, only, self._now)

    def field_error(self, field: str, message: t.Any) -> None:
        """Attach an error message to a form field, read after the redirect
        as ``flash.form_errors.<field>``. Always carried as text."""
        current_scope().field_error(field, message, self._now)

    # -- reading -------------------------------------------------------------

    def __getitem__(self, category: str) -> Category:
        return Category(current_scope(), category, self._now)

    def get(self, category: str, default: t.Any = None) -> t.Any:
        """The messages of ``category`` as a :class:`Category`, or
        ``default`` when there are none."""
        found = Category(current_scope(), category, self._now)
        return found if found else default

    def __contains__(self, category: object) -> bool:
        return any(c == category for c, _ in current_scope().messages())

    def __iter__(self) -> t.Iterator[tuple[str, t.Any]]:
        return iter(current_scope().messages())

    def __len__(self) -> int:
        return len(current_scope().messages())

    def __bool__(self) -> bool:
        return bool(current_scope().messages())

    @property
    def form(self) -> FormValues:
        """The form values carried by :meth:`keep_form`."""
        return FormValues(current_scope().form())

    @property
    def form_errors(self) -> FormErrors:
        """The error messages attached by :meth:`field_error`."""
        return FormErrors(current_scope().form_errors())

    @property
    def scope(self) -> FlashScope:
        """The current request's :class:`~flask_scopes.flash.FlashScope`."""
        return current_scope()

    def __repr__(self) -> str:
        return "<flash (now)>" if self._now else "<flash>"


#: The flash of the current request.
flash = Flash()
_now = Flash(now=True)


def flash_context() -> dict[str, Flash]:
    """The template context processor that gives every template ``flash``."""
    return {"flash": flash}
