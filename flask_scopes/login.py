"""Flask-Login, with nothing for the app to add: when an app with
flask-scopes has a ``LoginManager``, signing in with ``login_user()`` gives
the session a new identity and binds it to the user, and signing out with
``logout_user()`` ends it.

-   On ``user_logged_in``, and on ``user_loaded_from_cookie`` (a sign-in by
    the "remember me" cookie), the session is bound to the user with
    :meth:`~flask_scopes.ScopesSession.bind_user`, which also regenerates
    it: a new id in store mode, and in both modes a fresh start for the
    absolute timeout. An id planted in the browser before the sign-in never
    becomes the signed-in session, and
    :meth:`Scopes.revoke_user <flask_scopes.Scopes.revoke_user>` reaches
    every session of the user.
-   On ``user_logged_out``, the session is cleared and regenerated: its
    store entry is deleted, and what the request writes afterwards begins a
    new session. Flask-Login's own request to delete the "remember me"
    cookie is kept.

The receivers are connected for each app :meth:`Scopes.init_app
<flask_scopes.Scopes.init_app>` sets up, whether its ``LoginManager`` was
set up before or after, and they act only for an app that has a
``LoginManager``, a session opened by flask-scopes, and
:data:`SCOPES_FLASK_LOGIN` on (the default).

.. versionadded:: 0.2
"""

from __future__ import annotations

import logging
import typing as t

from flask import has_request_context
from flask import session

from .session.mapping import ScopesSession
from .session.null import NullScopesSession

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

logger = logging.getLogger("flask_scopes")

#: The key under which Flask-Login asks, for the rest of the request, that
#: its "remember me" cookie be deleted.
REMEMBER_KEY = "_remember"


def connect(app: Flask) -> bool:
    """Connect the receivers to Flask-Login's signals sent by ``app``.

    :returns: Whether Flask-Login is installed.
    """
    try:
        from flask_login import signals
    except ImportError:
        return False
    signals.user_logged_in.connect(signed_in, app, weak=False)
    signals.user_loaded_from_cookie.connect(signed_in, app, weak=False)
    signals.user_logged_out.connect(signed_out, app, weak=False)
    return True


def _session(app: Flask) -> ScopesSession | None:
    """The request's session, if the integration acts for ``app`` now."""
    if getattr(app, "login_manager", None) is None or not has_request_context():
        return None
    found = session._get_current_object()  # type: ignore[attr-defined]
    if not isinstance(found, ScopesSession) or isinstance(found, NullScopesSession):
        return None
    settings = getattr(found.runtime, "settings", None)
    if settings is None or not settings.flask_login:
        return None
    return found


def signed_in(app: Flask, user: t.Any = None, **extra: t.Any) -> None:
    """Bind the session to the user who signed in, which regenerates it."""
    found = _session(app)
    if found is None:
        return
    attribute = getattr(app.login_manager, "id_attribute", "get_id")  # type: ignore[attr-defined]
    get_id = getattr(user, attribute, None)
    user_id = get_id() if callable(get_id) else None
    if user_id is not None and not isinstance(user_id, (str, int)):
        user_id = str(user_id)
    try:
        if user_id is None:
            raise ValueError("the user has no id")
        found.bind_user(user_id)
    except (TypeError, ValueError) as e:
        # The session still gets a new identity; only revoke_user can't
        # reach it.
        logger.warning("The signed-in session was not bound to its user: %s", e)
        found.regenerate()


def signed_out(app: Flask, user: t.Any = None, **extra: t.Any) -> None:
    """End the session of the user who signed out."""
    found = _session(app)
    if found is None:
        return
    remember = found.get(REMEMBER_KEY)
    found.clear()
    found.regenerate()
    if remember == "clear":
        # Flask-Login deletes its cookie when the response goes out.
        found[REMEMBER_KEY] = remember
