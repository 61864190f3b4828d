"""The errors flask-scopes raises. They share one root, :class:`ScopesError`,
and each carries the facts needed to fix the problem it reports.
"""

from __future__ import annotations

import typing as t

from werkzeug.exceptions import ServiceUnavailable


class ScopesError(Exception):
    """The root of every error raised by flask-scopes.

    :param message: What went wrong and how to fix it.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(ScopesError, ValueError):
    """A ``SCOPES_*`` or ``SESSION_*`` setting, or a secret key, has a value
    that can't work. Raised by :meth:`~flask_scopes.Scopes.init_app`, or on
    the first request after the configuration changed.

    :param key: The configuration key at fault.
    :param message: Why its value is refused.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        #: The configuration key at fault.
        self.key = key
        #: Why its value is refused, without the key.
        #:
        #: .. versionadded:: 0.2
        self.detail = message


class SessionValueError(ScopesError, TypeError):
    """A value put in the session can't be stored without changing it.

    Raised when the session is saved, so that the request that stored the
    value fails, instead of a later request reading a mangled value.

    :param path: Where the value sits, for example ``session['cart'][2]``.
    :param value: The offending value.
    :param reason: Why it can't be stored, when the reason is not its type.
    """

    def __init__(self, path: str, value: object, reason: str | None = None) -> None:
        kind = type(value).__qualname__
        super().__init__(
            f"{path} {reason}"
            if reason
            else f"{path} holds a value of type {kind!r}, which the session"
            " can't store. Store str, int, float, bool, None, list, tuple, dict"
            " with str keys, bytes, datetime, UUID or Markup values instead."
        )
        #: Where the value sits in the session.
        self.path = path
        #: The offending value.
        self.value = value


class _TooLarge(ScopesError):
    what = "cookie"
    outcome = "so it was not sent and the client keeps its previous one."
    advice = ""

    def __init__(
        self, size: int, limit: int, largest: t.Sequence[tuple[str, int]] = ()
    ) -> None:
        parts = [
            f"The {self.what} would be {size} bytes, over the limit of"
            f" {limit} bytes, {self.outcome}"
        ]
        if largest:
            listed = ", ".join(f"{key!r} ({n} bytes)" for key, n in largest)
            parts.append(f"Largest keys: {listed}.")
        if self.advice:
            parts.append(self.advice)
        super().__init__(" ".join(parts))
        #: How large the rejected item would have been, in bytes.
        self.size = size
        #: The limit it broke, in bytes.
        self.limit = limit
        #: The largest keys and their encoded sizes, largest first.
        self.largest = list(largest)


class SessionTooLarge(_TooLarge):
    """The session cookie, measured as the whole ``Set-Cookie`` header, would
    be larger than :data:`SCOPES_MAX_COOKIE_SIZE`, or a server-side session
    larger than :data:`SCOPES_SESSION_STORE_MAX_SIZE`. Nothing was written.

    :param size: The size it would have had, in bytes.
    :param limit: The limit, in bytes.
    :param largest: The largest keys with their encoded sizes.
    """

    what = "session cookie"
    advice = (
        "Store less in the session, or keep the data on the server with"
        " SCOPES_SESSION_STORE."
    )


class StoredSessionTooLarge(SessionTooLarge):
    """A server-side session would be larger than
    :data:`SCOPES_SESSION_STORE_MAX_SIZE`. It was not saved: the stored
    session is unchanged.

    :param size: The size it would have had, in bytes.
    :param limit: The limit, in bytes.
    :param largest: The largest keys with their encoded sizes.
    """

    what = "server-side session"
    outcome = "so it was not saved and the stored session is unchanged."
    advice = "Store less in the session, or raise SCOPES_SESSION_STORE_MAX_SIZE."


class FlashTooLarge(_TooLarge):
    """The flash cookie would be larger than :data:`SCOPES_MAX_COOKIE_SIZE`.
    No flash cookie was written.

    :param size: The size it would have had, in bytes.
    :param limit: The limit, in bytes.
    :param largest: The largest categories with their encoded sizes.
    """

    what = "flash cookie"
    advice = "Flash fewer or shorter messages."


class FlashValueError(ScopesError, ValueError):
    """A flash message, category or form field can't be carried in the flash
    cookie as given. Raised where it is flashed, so the traceback points at
    the call, never on a later request.

    :param message: What was refused and why.
    :param value: The refused value.
    """

    def __init__(self, message: str, value: object = None) -> None:
        super().__init__(message)
        #: The refused value.
        self.value = value


class SessionStoreUnavailable(ScopesError, ServiceUnavailable):
    """The server-side session store could not be reached, so the session
    could not be loaded or saved. Flask answers it as ``503 Service
    Unavailable``; no data was overwritten and no write was dropped silently.
    The message (and the log) names the store and its error; the page the
    client sees names neither.

    :param operation: What was being done, ``"load"`` or ``"save"``.
    :param store: A description of the store.
    :param original: The error the store raised.
    """

    def __init__(
        self, operation: str, store: str, original: BaseException | None = None
    ) -> None:
        public = (
            f"The session store could not be reached to {operation} the"
            " session. Try again shortly."
        )
        message = (
            f"The session store ({store}) could not be reached to {operation}"
            " the session."
        )
        if original is not None:
            message += f" ({type(original).__name__}: {original})"
        ScopesError.__init__(self, message)
        # The page the client sees names neither the store nor the error.
        ServiceUnavailable.__init__(self, description=public)
        #: ``"load"`` or ``"save"``.
        self.operation = operation
        #: The error the store raised, if any.
        self.original = original

    def __str__(self) -> str:
        return self.message


class WeakSecretKeyWarning(UserWarning):
    """Warned once, when :meth:`Scopes.init_app <flask_scopes.Scopes.init_app>`
    sets up an app whose ``SECRET_KEY`` is obviously weak: shorter than 32
    bytes, or a placeholder such as ``"dev"`` or ``"changeme"``. Anyone who
    guesses the key can sign any session.

    A test suite that runs with warnings as errors and a short key of its own
    may ignore it: ``filterwarnings = ["ignore::flask_scopes.WeakSecretKeyWarning"]``.

    .. versionadded:: 0.2
    """
