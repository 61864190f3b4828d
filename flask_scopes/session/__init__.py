"""The session scope: the session object, its time rules, and the two
modes its data lives in (the cookie, or a store with the id in the
cookie).
"""

from .loading import loading as loading
from .mapping import FLASHES_KEY as FLASHES_KEY
from .mapping import MAX_USER_ID_LENGTH as MAX_USER_ID_LENGTH
from .mapping import ScopesSession as ScopesSession
from .mapping import USER_KEY as USER_KEY
from .null import NO_SECRET_KEY as NO_SECRET_KEY
from .null import NullScopesSession as NullScopesSession
from .scope import SessionScope as SessionScope
