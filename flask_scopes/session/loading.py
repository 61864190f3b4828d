"""The guard around loading a session, so that a cookie never causes an
error and an outage is never mistaken for a missing session.
"""

from __future__ import annotations

import logging
import typing as t
from contextlib import contextmanager

from ..codecs.encoding import BadCookie
from ..errors import SessionStoreUnavailable
from ..signals import cookie_refused
from ..signals import send
from ..signals import session_ended
from ..signals import store_unavailable
from .timing import SessionEnded

if t.TYPE_CHECKING:  # pragma: no cover
    from .mapping import ScopesSession

logger = logging.getLogger("flask_scopes")


@contextmanager
def loading(
    session: ScopesSession, what: str, scope: str = "session"
) -> t.Iterator[None]:
    """Guard the loading of ``session`` from ``what`` (the cookie, or the
    store entry its id names), so that a cookie never causes an error:

    -   a session that has ended (expired, timed out, revoked) leaves the
        session empty and marks it :attr:`~ScopesSession.ended`, so that
        the response deletes the cookie;
    -   anything else wrong with the cookie leaves the session empty and
        the cookie alone, with a debug log line;
    -   a store that can't be reached is logged as an error and raised: the
        client gets a 503 and nothing is overwritten.

    Each case sends its signal (:mod:`flask_scopes.signals`).

    :param scope: The scope's name, for the signals.

    .. versionchanged:: 0.2
        Sends signals.
    """
    try:
        yield
    except Exception as e:
        load_failed(session, e, what, scope)


def load_failed(
    session: ScopesSession, error: Exception, what: str, scope: str
) -> None:
    """What :func:`loading` does with an error raised while loading, for
    the callers on the path of every request, which catch it themselves
    rather than pay for a context manager.

    :raises SessionStoreUnavailable: ``error``, when it is one.

    .. versionadded:: 0.2
    """
    try:
        raise error
    except SessionStoreUnavailable as e:
        # The client gets a bare 503: the log says which store and why.
        logger.error("%s", e, exc_info=e.original)
        session.unsaveable = True
        if store_unavailable.receivers:
            send(store_unavailable, scope=scope, error=e)
        # Kept, so that if the error is raised where Flask turns it into a
        # 500 (an after_request function), saving turns that into this 503.
        session.store_error = e
        raise
    except SessionEnded as e:
        logger.debug("The %s's session has ended: %s", what, e)
        session.ended = True
        if session_ended.receivers:
            send(session_ended, scope=scope, reason=e.reason)
    except BadCookie as e:
        logger.debug("Ignored the %s: %s", what, e)
        if cookie_refused.receivers:
            send(cookie_refused, scope=scope, reason=e.reason)
    except Exception:  # a cookie never causes a 500
        logger.debug("Ignored the %s", what, exc_info=True)
        if cookie_refused.receivers:
            send(cookie_refused, scope=scope, reason="malformed")
