"""The :class:`Scopes` extension: resolves the settings, installs the
session interface on an app, and gives its templates ``flash``.
"""

from __future__ import annotations

import time
import typing as t
import warnings

from flask import current_app
from flask import has_request_context
from flask import request
from flask import session

from .checks import SCOPE_OPTIONS
from .checks import weak_key_reason
from .cli import scopes_cli
from .errors import ConfigurationError
from .errors import ScopesError
from .errors import WeakSecretKeyWarning
from .flash.helpers import flash_context
from .interface import ScopesSessionInterface
from .login import connect as connect_flask_login
from .named import opened
from .named import sessions_context
from .session.devices import Device
from .session.devices import Devices
from .session.mapping import ScopesSession
from .settings import DEFAULTS

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from .session.revocation import Revocations


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
        self._declared: dict[str, dict[str, t.Any]] = {}
        self._initialised = False
        if app is not None:
            self.init_app(app)

    def add_session(self, name: str, **options: t.Any) -> None:
        """Declare a named session scope, reached in views and templates as
        ``sessions[name]`` or ``sessions.name`` (see
        :data:`~flask_scopes.sessions`).

        .. code-block:: python

            scopes.add_session(
                "prefs", permanent=True, lifetime=timedelta(days=365), store=None
            )

        Each app set up with this extension afterwards gets the scope. An
        app's own :data:`SCOPES_SESSIONS` entry of the same name overrides
        the options given here, option by option. The options are checked
        by :meth:`init_app`.

        :param name: The scope's name: a letter, then letters, digits and
            ``_``; not ``"session"``.
        :param options: The scope's options, as in :data:`SCOPES_SESSIONS`:
            ``cookie_name``, ``cookie_domain``, ``cookie_path``,
            ``cookie_httponly``, ``cookie_secure``, ``cookie_samesite``,
            ``cookie_partitioned``, ``refresh_each_request``, ``permanent``,
            ``lifetime``, ``idle_timeout``, ``absolute_timeout``,
            ``max_cookie_size``, ``store``, ``store_ttl``,
            ``store_max_size``, ``revocation_store``, ``encrypt``,
            ``encrypt_accept_signed``.
        :raises ScopesError: Called after :meth:`init_app`.
        :raises ConfigurationError: An unknown option.

        .. versionadded:: 0.2
        """
        if self._initialised:
            raise ScopesError(
                f"add_session({name!r}) must be called before init_app: the"
                " apps already set up would not have the scope."
            )
        unknown = sorted(set(options) - set(SCOPE_OPTIONS))
        if unknown:
            raise ConfigurationError(
                f"add_session({name!r})",
                f"unknown option(s) {', '.join(unknown)}; the options are"
                f" {', '.join(sorted(SCOPE_OPTIONS))}.",
            )
        self._declared[name] = dict(options)

    def init_app(self, app: Flask) -> None:
        """Set up ``app``: set the ``SCOPES_*`` defaults, check the
        configuration, install the session interface, add a template
        context processor that gives every template ``flash``, add the
        ``flask scopes`` commands to ``app.cli``, and, when Flask-Login is
        installed, connect to its signals (see :mod:`flask_scopes.login`).

        :param app: The app.
        :raises ConfigurationError: A setting that can't work, such as a
            ``__Host-`` cookie name with a ``Domain``.
        :raises ScopesError: ``app`` is a Quart app.

        .. versionchanged:: 0.2
            Refuses a Quart app. Gives templates ``sessions``, and adds the
            scopes declared with :meth:`add_session` to
            :data:`SCOPES_SESSIONS`.
            Warns with :class:`~flask_scopes.WeakSecretKeyWarning` when
            ``SECRET_KEY`` is obviously weak.
            Connects to Flask-Login's signals.
        """
        refuse_async(app)
        self._initialised = True
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        named = app.config["SCOPES_SESSIONS"]
        if isinstance(named, t.Mapping):
            # A mapping of the app's own, never the shared default.
            merged = {name: dict(options) for name, options in self._declared.items()}
            for name, options in named.items():
                if isinstance(options, t.Mapping):
                    merged[name] = {**merged.get(name, {}), **options}
                else:
                    merged[name] = options
            app.config["SCOPES_SESSIONS"] = merged
        interface = self.session_interface_class(clock=self.clock)
        # Resolved before anything is installed: a configuration error
        # leaves the app as it was, and a store is opened (and warns about a
        # configuration that loses sessions) at start-up.
        settings = interface.runtime(app).settings
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
        app.session_interface = interface
        processors = app.template_context_processors.setdefault(None, [])
        for processor in (flash_context, sessions_context):
            if processor not in processors:
                processors.append(processor)
        app.cli.add_command(scopes_cli)
        app.extensions["scopes"] = self
        connect_flask_login(app)

    def revoke_user(self, user_id: str | int, app: Flask | None = None) -> None:
        """End every session bound to the user with
        :meth:`~flask_scopes.ScopesSession.bind_user`, on every device:
        "sign out everywhere", or after a password change.

        With named session scopes, it writes the new epoch into every
        revocation store among the scopes (``flask.session`` and each
        named scope with a store or a revocation store), so a session bound
        in any scope ends.

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
            # Load the current request's sessions while they are still
            # valid, so that a bind_user that follows keeps their data.
            current = session._get_current_object()  # type: ignore[attr-defined]
            if isinstance(current, ScopesSession):
                current._load()
            for named in opened(request._get_current_object()).values():  # type: ignore[attr-defined]
                named._load()
        # One epoch per backing store (a near cache and the store behind it
        # are one), with the longest window of the scopes that share it,
        # written through a near cache where a scope has one, so that the
        # write returns only once its invalidations left.
        by_store: dict[int, list[Revocations]] = {}
        for scope in runtime.scopes():
            found = scope.revocations
            if found is not None:
                by_store.setdefault(id(found.store.backing), []).append(found)
        if not by_store:
            raise ScopesError(
                "revoke_user needs a store to keep revocations in: set"
                " SCOPES_SESSION_STORE, or SCOPES_REVOCATION_STORE to keep"
                " the session in the cookie."
            )
        for group in by_store.values():
            window = max(found.window for found in group)
            cached = [
                found for found in group if found.store is not found.store.backing
            ]
            (cached or group)[0].revoke(str(user_id), window)
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


def refuse_async(app: t.Any) -> None:
    """Refuse an app flask-scopes can't serve: a Quart app (Pallets' async
    Flask), which has no WSGI environ and awaits its session interface.
    Quart is detected by the app's class, without importing Quart.

    :raises ScopesError: ``app`` is a Quart app.

    .. versionadded:: 0.2
    """
    for cls in type(app).__mro__:
        if cls.__module__.split(".")[0] == "quart":
            raise ScopesError(
                f"{type(app).__name__} is a Quart app: flask-scopes supports"
                " Flask (WSGI) apps only. Its session and flash work with"
                " Flask's request cycle and a WSGI environ, which Quart does"
                " not have."
            )
