"""The :class:`Scopes` extension: resolves the settings, installs the
session interface on an app, and gives its templates ``flash``.
"""

from __future__ import annotations

import time
import typing as t
import warnings

from flask import current_app
from flask import has_request_context
from flask import session

from .cli import scopes_cli
from .errors import ScopesError
from .errors import WeakSecretKeyWarning
from .flash.helpers import flash_context
from .interface import ScopesSessionInterface
from .login import connect as connect_flask_login
from .session.devices import Device
from .session.devices import Devices
from .session.mapping import ScopesSession
from .settings import DEFAULTS
from .settings import Settings
from .settings import weak_key_reason

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
        context processor that gives every template ``flash``, add the
        ``flask scopes`` commands to ``app.cli``, and, when Flask-Login is
        installed, connect to its signals (see :mod:`flask_scopes.login`).

        :param app: The app.
        :raises ConfigurationError: A setting that can't work, such as a
            ``__Host-`` cookie name with a ``Domain``.

        .. versionchanged:: 0.2
            Warns with :class:`~flask_scopes.WeakSecretKeyWarning` when
            ``SECRET_KEY`` is obviously weak.
            Connects to Flask-Login's signals.
        """
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        settings = Settings.from_app(app)
        weakness = weak_key_reason(settings.secret_key)
        if weakness is not None:
            warnings.warn(
                WeakSecretKeyWarning(
                    f"The SECRET_KEY of the app {app.name!r} {weakness}: anyone"
                    " who guesses it can sign any session. Make one with"
                    " 'python -m flask_scopes secret'."
                ),
                stacklevel=2,
            )
        interface = self.session_interface_class(clock=self.clock)
        app.session_interface = interface
        processors = app.template_context_processors.setdefault(None, [])
        if flash_context not in processors:
            processors.append(flash_context)
        app.cli.add_command(scopes_cli)
        app.extensions["scopes"] = self
        connect_flask_login(app)
        # Resolve now, so that a store is opened (and warns about a
        # configuration that loses sessions) at start-up.
        interface.runtime(app)

    def revoke_user(self, user_id: str | int, app: Flask | None = None) -> None:
        """End every session bound to the user with
        :meth:`~flask_scopes.ScopesSession.bind_user`, on every device:
        "sign out everywhere", or after a password change.

        It writes a new revocation epoch for the user; sessions bound
        before it are empty from their next request on. This needs a store:
        ``SCOPES_SESSION_STORE``, or in cookie mode
        ``SCOPES_REVOCATION_STORE``. To keep the current request's session,
        call ``session.bind_user`` again after this: the current request's
        session is loaded before the revocation, so its data is kept.

        :param user_id: The id given to ``bind_user``.
        :param app: The app; the current app if not given.
        :raises ScopesError: No store keeps revocations.
        :raises SessionStoreUnavailable: The store could not be reached.
        """
        if app is None:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
        runtime = self.interface(app).runtime(app)
        if has_request_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
            # Load the current request's session while it is still valid,
            # so that a bind_user that follows keeps its data.
            current = session._get_current_object()  # type: ignore[attr-defined]
            if isinstance(current, ScopesSession):
                current._load()
        if runtime.revocations is None:
            raise ScopesError(
                "revoke_user needs a store to keep revocations in: set"
                " SCOPES_SESSION_STORE, or SCOPES_REVOCATION_STORE to keep"
                " the session in the cookie."
            )
        runtime.revocations.revoke(str(user_id))
        if runtime.devices is not None:
            runtime.devices.forget_user(str(user_id))

    def user_sessions(
        self, user_id: str | int, app: Flask | None = None
    ) -> list[Device]:
        """The live sessions bound to the user with
        :meth:`~flask_scopes.ScopesSession.bind_user`, most recently seen
        first: "your devices". One store read.

        Each :class:`~flask_scopes.Device` has an opaque reference for
        :meth:`end_session` (never the session id), when the session began
        and was last seen (to the idle refresh's resolution), and, when
        ``SCOPES_DEVICES_USER_AGENT`` and ``SCOPES_DEVICES_IP`` allow, the
        user agent and address it began with. ``current`` marks the
        session of the current request.

        This needs :data:`SCOPES_DEVICES`, and ``SCOPES_SESSION_STORE`` or,
        in cookie mode, ``SCOPES_REVOCATION_STORE``.

        .. versionadded:: 0.2

        :param user_id: The id given to ``bind_user``.
        :param app: The app; the current app if not given.
        :raises ScopesError: No store keeps the index.
        :raises SessionStoreUnavailable: The store could not be reached.
        """
        devices = self._devices(app)
        current = None
        if has_request_context():
            found = session._get_current_object()  # type: ignore[attr-defined]
            if isinstance(found, ScopesSession):
                current = devices.ref_of(found)
        return devices.sessions(str(user_id), current)

    def end_session(
        self, user_id: str | int, ref: str, app: Flask | None = None
    ) -> bool:
        """End one of the user's sessions, found by the reference
        :meth:`user_sessions` gave: that device is signed out from its next
        request on, and the others stay signed in.

        .. versionadded:: 0.2

        :param user_id: The id given to ``bind_user``.
        :param ref: A :attr:`Device.ref <flask_scopes.Device.ref>`.
        :param app: The app; the current app if not given.
        :returns: Whether the user had a live session of that reference.
        :raises ScopesError: No store keeps the index.
        :raises SessionStoreUnavailable: The store could not be reached.
        """
        return self._devices(app).end(str(user_id), ref)

    def _devices(self, app: Flask | None) -> Devices:
        if app is None:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
        devices = self.interface(app).runtime(app).devices
        if devices is None:
            raise ScopesError(
                "Listing and ending a user's sessions needs SCOPES_DEVICES"
                " and a store to keep the index in: set SCOPES_DEVICES = True"
                " and SCOPES_SESSION_STORE, or SCOPES_REVOCATION_STORE to"
                " keep the session in the cookie."
            )
        return devices

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
