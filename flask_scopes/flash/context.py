"""Finding the flash scope of a request, and saving it into the response.

The flash scope is created on first use in a request, from the app's
resolved configuration, which the app's session interface gives
(:class:`RuntimeSource`), and kept in the request's environ
(:data:`ENVIRON_KEY`). Nothing here imports the interface.
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


@t.runtime_checkable
class RuntimeSource(t.Protocol):
    """A session interface that resolves an app's configuration for the
    flash scope, as :class:`~flask_scopes.ScopesSessionInterface` does."""

    def runtime(self, app: t.Any) -> t.Any: ...


def scope_for(request: Request, runtime: FlashRuntime) -> FlashScope:
    """The flash scope of ``request``, created on first use."""
    found: FlashScope | bool | None = request.environ.get(ENVIRON_KEY)
    if isinstance(found, FlashScope):
        return found
    scope = runtime.flash_scope_class(request, runtime)
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
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    source = app.session_interface
    # Not isinstance(source, RuntimeSource): a protocol check is slow for a
    # path every request may take.
    get = getattr(source, "runtime", None)
    runtime = get(app) if callable(get) else None
    if runtime is None or getattr(runtime, "flash_codec", None) is None:
        raise ScopesError(
            f"The app {app.name!r} is not set up with flask-scopes, so it has"
            " no flash scope: call Scopes().init_app(app)."
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
