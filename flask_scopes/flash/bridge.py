"""What ``session["_flashes"]`` stands for: Flask's ``flash()`` and
``get_flashed_messages()`` read and write the session under that key, and
flask-scopes carries those messages in the flash cookie instead. The session
interface hands each session a :func:`flash_bridge`; the session never
knows the flash scope itself.
"""

from __future__ import annotations

import typing as t

from ..errors import FlashValueError
from .context import scope_for

if t.TYPE_CHECKING:  # pragma: no cover
    from flask.wrappers import Request

    from .scope import FlashRuntime
    from .scope import FlashScope


class FlashesBridge:
    """``session["_flashes"]`` over one request's flash scope.

    :param scope: The request's flash scope.
    """

    __slots__ = ("scope",)

    def __init__(self, scope: FlashScope) -> None:
        self.scope = scope

    def get(self) -> list[tuple[str, t.Any]] | None:
        """``session.get("_flashes")``: a copy of the outgoing messages, or
        ``None`` when there are none."""
        return list(self.scope.outgoing.messages) or None

    def set(self, value: t.Any) -> None:
        """``session["_flashes"] = value``: the outgoing messages."""
        if not isinstance(value, (list, tuple)):
            raise FlashValueError(
                f"session['_flashes'] holds (category, message) pairs, not {value!r}.",
                value,
            )
        scope = self.scope
        scope._writable()
        pairs = [scope._pair(pair) for pair in value]
        if pairs:
            scope.codec.require_keys()
        scope._room(len(pairs))
        scope.outgoing.messages = pairs

    def pending(self) -> bool:
        """``"_flashes" in session``: whether there is anything to show."""
        scope = self.scope
        if scope.outgoing.messages:
            return True
        return not scope.taken and bool(scope.messages())

    def take(self) -> list[tuple[str, t.Any]]:
        """``session.pop("_flashes")``: everything not yet taken, as Flask's
        ``get_flashed_messages`` expects. Messages flashed in this request
        are then shown in it, and no longer go out."""
        scope = self.scope
        taken = [] if scope.taken else scope.messages()
        scope.read = scope.taken = True
        moved = scope.outgoing.messages
        scope.outgoing.messages = []
        scope.now.extend(moved)
        return taken + moved

    def delete(self) -> None:
        """``del session["_flashes"]``: drop incoming and outgoing messages."""
        self.scope.discard()
        self.scope.outgoing.messages = []

    def adopt(self, pairs: t.Any) -> None:
        """Take over pairs found under ``_flashes`` in a cookie written by
        Flask's own session, as messages that came in."""
        self.scope.adopt(pairs)


def flash_bridge(request: Request, runtime: FlashRuntime) -> FlashesBridge:
    """The bridge to ``request``'s flash scope, created on first use."""
    return FlashesBridge(scope_for(request, runtime))
