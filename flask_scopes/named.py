"""Named session scopes in views and templates: :data:`sessions`.

``flask.session`` is the default scope. An app declares more scopes, each
with its own cookie, lifetime, timeouts, store and salt
(:data:`SCOPES_SESSIONS`, :meth:`Scopes.add_session
<flask_scopes.Scopes.add_session>`), and reaches them by name:
``sessions["prefs"]`` or ``sessions.prefs``, in Python and in templates.

Each request opens a named scope's session the first time it is asked for,
and loads it the first time it is used, so a scope the request never
touches costs nothing and sets no cookie. The sessions a request opened
are kept in its environ (:data:`ENVIRON_KEY`); the session interface saves
each of them with the response. Nothing here knows the interface.
"""

from __future__ import annotations

import typing as t

from flask import current_app
from flask import has_request_context
from flask import request as request_proxy

from .errors import ScopesError
from .session.mapping import ScopesSession
from .session.null import NullScopesSession

if t.TYPE_CHECKING:  # pragma: no cover
    from flask.wrappers import Request

    from .session.scope import SessionScope

#: Where a request keeps the named sessions it opened, by name.
ENVIRON_KEY = "flask_scopes.sessions"


def open_named(scope: SessionScope, request: Request) -> ScopesSession:
    """The session of a named scope for ``request``, not yet loaded.

    :param scope: The named scope.
    :param request: The request whose cookies it reads.
    """
    if scope.cookies is None:
        session: ScopesSession = NullScopesSession()
    else:
        session = scope.open(request.cookies.getlist(scope.settings.cookie_name))
    # The scope stands in for the runtime: it has the settings and the
    # revocations the session asks for. The flash is reached only through
    # flask.session.
    session.runtime = scope
    session.request = request
    session.scope_name = scope.settings.scope
    return session


def opened(request: Request) -> dict[str, ScopesSession]:
    """The named sessions ``request`` opened so far, by scope name."""
    found: dict[str, ScopesSession] | None = request.environ.get(ENVIRON_KEY)
    return {} if found is None else found


class Sessions:
    """The named session scopes of the current request, by name.

    .. code-block:: python

        from flask_scopes import sessions

        sessions["prefs"]["theme"] = "dark"
        theme = sessions.prefs.get("theme", "light")

    In templates: ``{{ sessions.prefs.theme }}``. ``"prefs" in sessions``
    tells whether the app declares the scope; iterating gives the declared
    names. Each value is a :class:`~flask_scopes.ScopesSession`, saved with
    the response like ``flask.session``.

    .. versionadded:: 0.2
    """

    __slots__ = ()

    @staticmethod
    def _request() -> Request:
        if not has_request_context():
            raise RuntimeError(
                "Working outside of request context: named sessions belong to"
                " a request. Use them in a view, a template or a request hook."
            )
        return request_proxy._get_current_object()  # type: ignore[attr-defined,no-any-return]

    @staticmethod
    def _scopes(request: Request) -> dict[str, SessionScope]:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        source = app.session_interface
        # Duck-typed: isinstance() against the RuntimeSource protocol of
        # flask_scopes.flash.context is slow for a per-request path.
        get = getattr(source, "runtime", None)
        runtime = get(app) if callable(get) else None
        if runtime is None or not hasattr(runtime, "named"):
            raise ScopesError(
                f"The app {current_app.name!r} is not set up with flask-scopes,"
                " so it has no named sessions: call Scopes().init_app(app)."
            )
        return runtime.named  # type: ignore[no-any-return]

    def __getitem__(self, name: str) -> ScopesSession:
        request = self._request()
        environ = request.environ
        found: dict[str, ScopesSession] | None = environ.get(ENVIRON_KEY)
        if found is None:
            found = environ[ENVIRON_KEY] = {}
        session = found.get(name)
        if session is None:
            scope = self._scopes(request).get(name)
            if scope is None:
                raise KeyError(
                    f"no session scope named {name!r}: declare it in"
                    " SCOPES_SESSIONS or with scopes.add_session()"
                )
            session = found[name] = open_named(scope, request)
        return session

    def __getattr__(self, name: str) -> ScopesSession:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(*e.args) from None

    def __contains__(self, name: object) -> bool:
        return name in self._scopes(self._request())

    def __iter__(self) -> t.Iterator[str]:
        return iter(list(self._scopes(self._request())))

    def __len__(self) -> int:
        return len(self._scopes(self._request()))

    def __repr__(self) -> str:
        if not has_request_context():
            return "<Sessions (outside a request)>"
        return f"<Sessions {list(self)!r}>"


#: The named session scopes of the current request.
#:
#: .. versionadded:: 0.2
sessions = Sessions()


def sessions_context() -> dict[str, Sessions]:
    """The template context processor that gives every template
    ``sessions``."""
    return {"sessions": sessions}
