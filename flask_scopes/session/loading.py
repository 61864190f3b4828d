"""The guard around loading a session, so that a cookie never causes an
error and an outage is never mistaken for a missing session.
"""

from __future__ import annotations

import logging
import typing as t
from contextlib import contextmanager

from ..codecs.encoding import BadCookie
from ..errors import SessionStoreUnavailable
from .timing import SessionEnded

if t.TYPE_CHECKING:  # pragma: no cover
    from .mapping import ScopesSession

logger = logging.getLogger("flask_scopes")


@contextmanager
def loading(session: ScopesSession, what: str) -> t.Iterator[None]:
    """Guard the loading of ``session`` from ``what`` (the cookie, or the
    store entry its id names), so that a cookie never causes an error:

    -   a session that has ended (expired, timed out, revoked) leaves the
        session empty and marks it :attr:`~ScopesSession.ended`, so that
        the response deletes the cookie;
    -   anything else wrong with the cookie leaves the session empty and
        the cookie alone, with a debug log line;
    -   a store that can't be reached is logged as an error and raised: the
        client gets a 503 and nothing is overwritten.
    """
    try:
        yield
    except SessionStoreUnavailable as e:
        # The client gets a bare 503: the log says which store and why.
        logger.error("%s", e, exc_info=e.original)
        session.unsaveable = True
        # Kept, so that if the error is raised where Flask turns it into a
        # 500 (an after_request function), saving turns that into this 503.
        session.store_error = e
        raise
    except SessionEnded as e:
        logger.debug("The %s's session has ended: %s", what, e)
        session.ended = True
    except BadCookie as e:
        logger.debug("Ignored the %s: %s", what, e)
    except Exception:  # a cookie never causes a 500
        logger.debug("Ignored the %s", what, exc_info=True)
