"""The :class:`Scopes` extension: resolves the settings, installs the
session interface on an app, and gives its templates ``flash``.
"""

from __future__ import annotations

import time
import typing as t

from .cli import scopes_cli
from .errors import ScopesError
from .flash import flash_context
from .interface import ScopesSessionInterface
from .settings import DEFAULTS
from .settings import Settings

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Flask


class Scopes:
    """Gives a Flask app the session and flash scopes.

    .. code-block:: python

        scopes = Scopes()

        def create_app():
            app = Flask(__name__)
            app.config.from_prefixed_env()
            scopes.init_app(app)
            return app

    The extension keeps no app on itself, so one instance serves any number
    of apps.

    :param app: An app to set up at once, as :meth:`init_app` does.
    :param clock: Returns the current Unix time. Every timeout reads it;
        tests pass a clock they control.
    """

    #: The session interface class installed on each app.
    session_interface_class: type[ScopesSessionInterface] = ScopesSessionInterface

    def __init__(
        self, app: Flask | None = None, *, clock: t.Callable[[], float] | None = None
    ) -> None:
        self.clock = clock or time.time
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Set up ``app``: set the ``SCOPES_*`` defaults, check the
        configuration, install the session interface, add a template
        context processor that gives every template ``flash``, and add the
        ``flask scopes`` commands to ``app.cli``.

        :param app: The app.
        :raises ConfigurationError: A setting that can't work, such as a
            ``__Host-`` cookie name with a ``Domain``.
        """
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        Settings.from_config(app.config)
        app.session_interface = self.session_interface_class(clock=self.clock)
        processors = app.template_context_processors.setdefault(None, [])
        if flash_context not in processors:
            processors.append(flash_context)
        app.cli.add_command(scopes_cli)
        app.extensions["scopes"] = self

    def interface(self, app: Flask) -> ScopesSessionInterface:
        """The session interface installed on ``app``.

        :raises ScopesError: ``app`` was not set up with :meth:`init_app`, or
            its session interface was replaced since.
        """
        found = app.session_interface
        if app.extensions.get("scopes") is not self or not isinstance(
            found, ScopesSessionInterface
        ):
            raise ScopesError(
                f"The app {app.name!r} is not set up with this Scopes"
                " extension: call scopes.init_app(app)."
            )
        return found
