"""Finding the flash scope of a request, and saving it into the response.

The session interface records the app's resolved configuration in the
request's environ when it opens the session (:data:`RUNTIME_KEY`); the
flash scope is created from it on first use and kept beside it
(:data:`ENVIRON_KEY`). Nothing here knows the interface.
"""

from __future__ import annotations

import typing as t

from flask import current_app
from flask import has_request_context
from flask import request as request_proxy

from ..errors import ScopesError
from .scope import FlashScope

if t.TYPE_CHECKING:  # pragma: no cover
    from flask.wrappers import Request
    from flask.wrappers import Response

    from .scope import FlashRuntime

#: Where a request keeps its flash scope.
ENVIRON_KEY = "flask_scopes.flash"
#: Where the session interface records the app's resolved configuration
#: for the request.
RUNTIME_KEY = "flask_scopes.runtime"


class _ScopedRuntime(t.Protocol):
    # The class of each request's flash scope, beside what a scope needs.
    flash_scope_class: type[FlashScope]


def scope_for(request: Request, runtime: FlashRuntime) -> FlashScope:
    """The flash scope of ``request``, created on first use."""
    found: FlashScope | bool | None = request.environ.get(ENVIRON_KEY)
    if isinstance(found, FlashScope):
        return found
    factory = t.cast(_ScopedRuntime, runtime).flash_scope_class
    scope = factory(request, runtime)
    # False: the response was saved before the flash was first used.
    scope.saved = found is False
    request.environ[ENVIRON_KEY] = scope
    return scope


def current_scope() -> FlashScope:
    """The flash scope of the current request.

    :raises RuntimeError: Outside a request.
    :raises ScopesError: The app is not set up with flask-scopes.
    """
    if not has_request_context():
        raise RuntimeError(
            "Working outside of request context: the flash belongs to a"
            " request. Use it in a view, a template or a request hook."
        )
    request: Request = request_proxy._get_current_object()  # type: ignore[attr-defined]
    environ = request.environ
    scope = environ.get(ENVIRON_KEY)
    if isinstance(scope, FlashScope):
        return scope
    runtime = environ.get(RUNTIME_KEY)
    if runtime is None:
        raise ScopesError(
            f"The app {current_app.name!r} is not set up with flask-scopes, so"
            " it has no flash scope: call Scopes().init_app(app)."
        )
    return scope_for(request, runtime)


def save_flash(request: Request, runtime: FlashRuntime, response: Response) -> None:
    """Write, delete or leave alone the flash cookie for ``response``."""
    environ = request.environ
    scope = environ.get(ENVIRON_KEY)
    if not isinstance(scope, FlashScope):
        settings = runtime.settings
        if (
            not settings.flash_strict
            or settings.flash_cookie_name not in request.cookies
        ):
            # Marks the response as saved, so a later write raises.
            environ[ENVIRON_KEY] = False
            return
        scope = scope_for(request, runtime)
    scope.save(response)
