"""The session object: a ``dict`` with Flask's :class:`~flask.sessions.SessionMixin`
that loads itself on first use and tracks what the request did to it.
"""

from __future__ import annotations

import logging
import typing as t

from flask.sessions import SessionMixin

from ..signals import send
from ..signals import session_bound
from ..signals import session_regenerated

if t.TYPE_CHECKING:  # pragma: no cover
    from flask.wrappers import Request

logger = logging.getLogger("flask_scopes")

_T = t.TypeVar("_T")
MISSING: t.Any = object()

#: The key Flask's ``flash()`` and ``get_flashed_messages()`` use. The
#: session never stores it: it is a view of the flash scope. Reading it
#: gives a copy of the messages flashed for the next request (so, as with
#: any nested value, assign it back after changing it), ``in`` tells whether
#: anything is pending, and ``pop`` takes everything, as Flask expects.
FLASHES_KEY = "_flashes"
#: The key under which :meth:`ScopesSession.bind_user` records the user and
#: the revocation epoch it saw: ``[user_id, epoch or None]``.
USER_KEY = "_scopes_user"
#: The longest user id :meth:`ScopesSession.bind_user` accepts, in characters.
MAX_USER_ID_LENGTH = 256


class FlashBridge(t.Protocol):
    """What ``session["_flashes"]`` reads and writes: the request's flash
    scope, as the session interface hands it to the session
    (:class:`flask_scopes.flash.FlashesBridge`)."""

    def get(self) -> list[tuple[str, t.Any]] | None: ...
    def set(self, value: t.Any) -> None: ...
    def pending(self) -> bool: ...
    def take(self) -> list[tuple[str, t.Any]]: ...
    def delete(self) -> None: ...
    def adopt(self, pairs: t.Any) -> None: ...


class ScopesSession(dict[str, t.Any], SessionMixin):
    """The session of one request.

    Opening it costs nothing: the cookie (or the store entry) is verified
    and decoded the first time the session is touched, so a request that
    never uses the session never pays for it.

    Writes through the mapping interface set :attr:`modified`. Like Flask's
    session, changes inside a nested value are not seen: set
    ``session.modified = True`` after changing one in place.

    :param loader: Called once, on first use, to fill the session.
    """

    #: Whether a write happened in this request.
    modified = False
    #: ``True`` when no valid session came with the request.
    new = True
    #: When the session began (Unix time), or ``None`` for one that has not
    #: been saved yet. The absolute timeout counts from here.
    created: int | None = None
    #: When the session's cookie or entry was last written (Unix time).
    touched: int | None = None
    #: Whether the saved form must be written again although the data did
    #: not change: it was verified with a fallback key, came in an older
    #: format, or its idle timer needs refreshing.
    reissue = False
    #: Whether a session cookie came with the request, valid or not.
    had_cookie = False
    #: Whether the cookie was genuine but its session had ended (expired,
    #: timed out, signed out elsewhere, revoked): the response deletes it.
    ended = False
    #: Set by :meth:`regenerate` and :meth:`clear`: what is saved next gets
    #: a new identity.
    regenerated = False
    #: Set when saving failed (the session was too large), so that Flask's
    #: error response does not try again and leaves the client's previous
    #: cookie alone.
    unsaveable = False
    #: The store outage that stopped the session from loading, if any.
    #:
    #: .. versionadded:: 0.2
    store_error: Exception | None = None
    #: What the interface resolved for the app when it opened the session.
    #: Its ``flash_bridge(request, runtime)`` gives the bridge to the
    #: request's flash scope (:class:`FlashBridge`).
    runtime: t.Any = None
    #: The request the session was opened for, whose flash scope
    #: ``_flashes`` stands for.
    request: Request | None = None
    #: With a server-side store, the id of the stored session this request
    #: loaded or saved, else ``None``. A new id is only ever made by
    #: flask-scopes, never taken from a request.
    sid: str | None = None
    #: With a server-side store, the name of the entry loaded, else ``None``.
    store_entry: str | None = None
    #: With a server-side store, whether the id cookie must be sent again
    #: although the id did not change: it was signed with a fallback key.
    resend_cookie = False
    #: The name of the session's scope: ``"session"``, or a named scope's.
    scope_name = "session"
    _accessed = False

    def __init__(self, loader: t.Callable[[ScopesSession], None] | None = None) -> None:
        # dict.__init__ is skipped on purpose: a new dict is already empty.
        self._loader = loader

    # -- loading -------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether the session has been read from its cookie or store."""
        return self._loader is None

    def _load(self) -> None:
        # Flask 3.1.3 and later mark access in the request context; earlier
        # versions rely on the session marking it on every use.
        self._accessed = True
        loader = self._loader
        if loader is not None:
            self._loader = None
            loader(self)

    def _fill(self, data: t.Mapping[str, t.Any]) -> None:
        """Set the loaded data without counting it as a write.

        Messages under ``_flashes`` (in a cookie written by Flask's own
        session) move to the flash scope, and the session is re-issued
        without them.
        """
        if FLASHES_KEY in data:
            data = dict(data)
            pairs = data.pop(FLASHES_KEY)
            self.reissue = True
            try:
                self._flash().adopt(pairs)
            except RuntimeError:
                logger.debug("Dropped flashed messages found outside a request")
        dict.update(self, data)

    def _adopt(
        self,
        data: t.Mapping[str, t.Any],
        created: int,
        touched: int,
        reissue: bool = False,
    ) -> None:
        """Take what a valid cookie or store entry held: the data, not
        counted as a write, and its timestamps."""
        if FLASHES_KEY in data:
            self._fill(data)
        else:
            dict.update(self, data)
        self.new = False
        self.created = created
        self.touched = touched
        if reissue:
            self.reissue = True

    # -- Flask's flash() and get_flashed_messages() -------------------------------

    def _flash(self) -> FlashBridge:
        """The flash scope ``_flashes`` stands for."""
        runtime = self.runtime
        if runtime is None or self.request is None:
            raise RuntimeError(
                "flashed messages belong to a request: this session was not"
                " opened by flask-scopes' session interface"
            )
        if not hasattr(runtime, "flash_bridge"):
            # A named scope: the flash is reached through flask.session.
            raise RuntimeError(
                "flashed messages belong to flask.session, not to the named"
                f" session scope {self.scope_name!r}"
            )
        bridge: FlashBridge = runtime.flash_bridge(self.request, runtime)
        return bridge

    @property
    def accessed(self) -> bool:
        """Whether the request used the session. Flask sets this whenever
        the session is reached through the request context, which also
        makes the session load."""
        return self._accessed

    @accessed.setter
    def accessed(self, value: bool) -> None:
        # On the path of every request that uses the session: Flask sets it
        # on each access through flask.session. Loading is inlined.
        self._accessed = value
        if value:
            loader = self._loader
            if loader is not None:
                self._loader = None
                loader(self)

    # -- reading ---------------------------------------------------------------

    # The three readers below inline _load(), being the most used.

    def __getitem__(self, key: str) -> t.Any:
        if key == FLASHES_KEY:
            found = self._flash().get()
            if found is None:
                raise KeyError(key)
            return found
        self._accessed = True
        if self._loader is not None:
            self._load()
        return dict.__getitem__(self, key)

    def get(self, key: str, default: t.Any = None) -> t.Any:
        if key == FLASHES_KEY:
            found = self._flash().get()
            return default if found is None else found
        self._accessed = True
        if self._loader is not None:
            self._load()
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        if key == FLASHES_KEY:
            return self._flash().pending()
        self._accessed = True
        if self._loader is not None:
            self._load()
        return dict.__contains__(self, key)

    def __len__(self) -> int:
        self._load()
        return dict.__len__(self)

    def __iter__(self) -> t.Iterator[str]:
        self._load()
        return dict.__iter__(self)

    def __reversed__(self) -> t.Iterator[str]:
        self._load()
        return dict.__reversed__(self)

    def keys(self) -> t.KeysView[str]:  # type: ignore[override]
        self._load()
        return dict.keys(self)

    def values(self) -> t.ValuesView[t.Any]:  # type: ignore[override]
        self._load()
        return dict.values(self)

    def items(self) -> t.ItemsView[str, t.Any]:  # type: ignore[override]
        self._load()
        return dict.items(self)

    def copy(self) -> dict[str, t.Any]:
        self._load()
        return dict(dict.items(self))

    def __eq__(self, other: object) -> bool:
        self._load()
        if isinstance(other, ScopesSession):
            other._load()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def __or__(self, other: t.Any) -> dict[str, t.Any]:  # type: ignore[override]
        return self.copy() | other  # type: ignore[no-any-return]

    def __ror__(self, other: t.Any) -> dict[str, t.Any]:  # type: ignore[override]
        return other | self.copy()  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        if self._loader is not None:
            return f"<{type(self).__name__} (not loaded)>"
        return f"<{type(self).__name__} {dict.__repr__(self)}>"

    # -- writing ---------------------------------------------------------------

    def __setitem__(self, key: str, value: t.Any) -> None:
        if key == FLASHES_KEY:
            self._flash().set(value)
            return
        self._load()
        dict.__setitem__(self, key, value)
        self.modified = True

    def __delitem__(self, key: str) -> None:
        if key == FLASHES_KEY:
            self._flash().delete()
            return
        self._load()
        dict.__delitem__(self, key)
        self.modified = True

    def pop(self, key: str, default: t.Any = MISSING) -> t.Any:
        if key == FLASHES_KEY:
            scope = self._flash()
            if scope.pending() or default is MISSING:
                return scope.take()
            return default
        self._load()
        if dict.__contains__(self, key):
            self.modified = True
            return dict.pop(self, key)
        if default is MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[str, t.Any]:
        self._load()
        item = dict.popitem(self)
        self.modified = True
        return item

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        if key == FLASHES_KEY:
            scope = self._flash()
            if scope.get() is None and default:
                scope.set(default)
            return scope.get() or []
        self._load()
        if not dict.__contains__(self, key):
            self.modified = True
        return dict.setdefault(self, key, default)

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:
        data = dict(*args, **kwargs)
        if FLASHES_KEY in data:
            self._flash().set(data.pop(FLASHES_KEY))
            if not data:
                return
        self._load()
        dict.update(self, data)
        self.modified = True

    def __ior__(self, other: t.Any) -> ScopesSession:  # type: ignore[override]
        self.update(other)
        return self

    def clear(self) -> None:
        """Discard the whole session. The response deletes its cookie (and
        its store entry), and whatever is written after this begins a new
        session, with a new identity: with a server-side store, a new id, so
        that whoever holds the old id has nothing.

        .. versionchanged:: 0.2
            A write after ``clear()`` gets a new id in store mode.
        """
        self._load()
        dict.clear(self)
        self.modified = True
        self.regenerated = True
        self.created = None

    @property
    def permanent(self) -> bool:
        """Whether the cookie outlives the browser session, for
        ``PERMANENT_SESSION_LIFETIME``. Reflects the ``_permanent`` key.
        Setting it to the value it already has is not a write."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        if self.get("_permanent", False) != bool(value):
            self["_permanent"] = bool(value)

    def regenerate(self) -> None:
        """Give the session a new identity, keeping its data. Call it when a
        user signs in, against session fixation.

        In cookie mode the session starts afresh: its absolute timeout counts
        from now. With a server-side store it also gets a new id, and the old
        one is deleted.
        """
        self._load()
        self.regenerated = True
        self.modified = True
        self.created = None
        if session_regenerated.receivers:
            send(session_regenerated, scope=self.scope_name)

    def bind_user(self, user_id: str | int) -> None:
        """Record that the session belongs to a signed-in user, so that
        :meth:`Scopes.revoke_user <flask_scopes.Scopes.revoke_user>` can end
        it along with every other session of that user. Call it at login.

        It also does what :meth:`regenerate` does: the session gets a new
        identity. The binding is kept under the ``_scopes_user`` key, with
        the user's revocation epoch when a store keeps them (reading it
        costs one store round trip); :meth:`clear` removes it. Where
        :meth:`Scopes.user_sessions <flask_scopes.Scopes.user_sessions>`
        works, the session also gets a device reference under
        ``_scopes_device``.

        .. versionchanged:: 0.2
            The session is added to the user's index of sessions.

        :param user_id: The user's id, a ``str`` or an ``int``.
        :raises TypeError: ``user_id`` has another type.
        :raises ValueError: ``user_id`` is empty or longer than 256
            characters.
        """
        if isinstance(user_id, bool) or not isinstance(user_id, (str, int)):
            raise TypeError(f"user_id must be a str or int, not {user_id!r}")
        uid = str(user_id)
        if not 0 < len(uid) <= MAX_USER_ID_LENGTH:
            raise ValueError(
                f"user_id must have 1 to {MAX_USER_ID_LENGTH} characters, not"
                f" {len(uid)}"
            )
        self._load()
        revocations = getattr(self.runtime, "revocations", None)
        epoch = None if revocations is None else revocations.current(uid)
        self[USER_KEY] = [uid, epoch]
        devices = getattr(self.runtime, "devices", None)
        if devices is not None:
            devices.bind(self)
        self.regenerate()
        if session_bound.receivers:
            send(session_bound, scope=self.scope_name, user_id=uid)

    @property
    def bound_user(self) -> str | None:
        """The user id given to :meth:`bind_user`, or ``None``."""
        value = self.get(USER_KEY)
        if type(value) is list and value and type(value[0]) is str:
            return value[0]
        return None
