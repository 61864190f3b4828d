"""The session of an app with no ``SECRET_KEY``."""

from __future__ import annotations

import typing as t

from .mapping import FLASHES_KEY
from .mapping import MISSING
from .mapping import ScopesSession

#: The message of Flask's null session, kept word for word so that code and
#: tests written against Flask keep matching it.
NO_SECRET_KEY = (
    "The session is unavailable because no secret key was set.  Set the"
    " secret_key on the application to something unique and secret."
)


class NullScopesSession(ScopesSession):
    """The session of an app with no ``SECRET_KEY``: it reads as empty, and
    every write raises the :exc:`RuntimeError` Flask's null session raises.
    """

    def __init__(self) -> None:
        super().__init__(None)

    def _fail(self, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise RuntimeError(NO_SECRET_KEY)

    clear = popitem = regenerate = bind_user = _fail

    # The flash needs no secret key: ``_flashes`` still reaches it, so that
    # Flask's flash() works as it does with Flask's own null session.

    def __setitem__(self, key: str, value: t.Any) -> None:
        if key != FLASHES_KEY:
            self._fail()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        if key != FLASHES_KEY:
            self._fail()
        super().__delitem__(key)

    def pop(self, key: str, default: t.Any = MISSING) -> t.Any:
        if key != FLASHES_KEY:
            self._fail()
        return super().pop(key, default)

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        if key != FLASHES_KEY:
            self._fail()
        return super().setdefault(key, default)

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:
        data = dict(*args, **kwargs)
        if set(data) - {FLASHES_KEY}:
            self._fail()
        super().update(data)
