"""Signals flask-scopes sends, in a namespace of their own, the way Flask
sends its own: connect a receiver to count or log what happens to
sessions and flashes.

.. code-block:: python

    from flask_scopes import signals

    @signals.session_ended.connect
    def count_ended(app, scope, reason, **extra):
        ENDED.labels(scope=scope, reason=reason).inc()

Every signal is sent with the app as sender, and keyword arguments only.
A receiver should accept ``**extra``, so that arguments added later don't
break it. The session signals carry ``scope``: ``"session"`` for
``flask.session``, else the name of a named session scope.

Sending a signal nobody listens to costs one attribute check: flask-scopes
tests :attr:`~blinker.NamedSignal.receivers` before building the arguments.

.. versionadded:: 0.2
"""

from __future__ import annotations

import typing as t

from blinker import Namespace
from flask import current_app

if t.TYPE_CHECKING:  # pragma: no cover
    from blinker import NamedSignal

#: The namespace of flask-scopes' signals.
scopes_signals = Namespace()

#: A new session was saved for the first time (a cookie or an entry was
#: written). Arguments: ``scope``.
session_started = scopes_signals.signal("session-started")

#: :meth:`~flask_scopes.ScopesSession.regenerate` (or
#: :meth:`~flask_scopes.ScopesSession.bind_user`) gave a session a new
#: identity. Arguments: ``scope``.
session_regenerated = scopes_signals.signal("session-regenerated")

#: :meth:`~flask_scopes.ScopesSession.bind_user` bound a session to a user.
#: Arguments: ``scope``, ``user_id`` (a ``str``).
session_bound = scopes_signals.signal("session-bound")

#: A session ended. Arguments: ``scope``, ``reason``: ``"timeout"`` (idle
#: or absolute timeout), ``"expired"`` (past its lifetime, or its entry is
#: gone from the store), ``"revoked"`` (its user was revoked) or
#: ``"cleared"`` (the app cleared it).
session_ended = scopes_signals.signal("session-ended")

#: A session cookie was refused and the request got an empty session.
#: Arguments: ``scope``, ``reason``: ``"bad_signature"``, ``"malformed"``,
#: ``"oversized"`` or ``"expired"`` (a Flask-format cookie past its
#: lifetime). The cookie's value is never passed.
cookie_refused = scopes_signals.signal("cookie-refused")

#: The session store could not be reached. Arguments: ``scope``,
#: ``error`` (the :exc:`~flask_scopes.SessionStoreUnavailable`).
store_unavailable = scopes_signals.signal("store-unavailable")

#: A session was too large to save. Arguments: ``scope``, ``error`` (the
#: :exc:`~flask_scopes.SessionTooLarge`), ``raised``: whether the request
#: fails (it changed the session) or only the refresh was skipped.
session_too_large = scopes_signals.signal("session-too-large")

#: The flash cookie was too large to write. Arguments: ``error`` (the
#: :exc:`~flask_scopes.FlashTooLarge`).
flash_too_large = scopes_signals.signal("flash-too-large")

#: Flashed messages were dropped before anyone read them. Arguments:
#: ``reason``: ``"expired"`` (past ``SCOPES_FLASH_MAX_AGE``) or
#: ``"room"`` (a flash that came in, unread or kept, made room for a new
#: one).
flash_dropped = scopes_signals.signal("flash-dropped")

#: Every signal above, by name.
ALL = (
    session_started,
    session_regenerated,
    session_bound,
    session_ended,
    cookie_refused,
    store_unavailable,
    session_too_large,
    flash_too_large,
    flash_dropped,
)


def send(signal: NamedSignal, **kwargs: t.Any) -> None:
    """Send ``signal`` with the current app as sender. Callers on a hot
    path check ``signal.receivers`` first, so that nothing is built for a
    signal nobody listens to.

    :param signal: One of the signals above.
    :param kwargs: Its documented arguments.
    """
    signal.send(current_app._get_current_object(), **kwargs)  # type: ignore[attr-defined]
