"""Server-side storage: one module per engine behind the
:class:`SessionStore` operations, and building a store from configuration.
"""

from .base import SessionStore as SessionStore
from .base import StoreEvictionWarning as StoreEvictionWarning
from .filesystem import FileSystemSessionStore as FileSystemSessionStore
from .near_cache import near_cached as near_cached
from .near_cache import NearCachedStore as NearCachedStore
from .near_cache import NearCacheUnsupported as NearCacheUnsupported
from .redis_store import RedisSessionStore as RedisSessionStore
from .redis_urls import is_redis_client as is_redis_client
from .urls import check_url as check_url
from .urls import open_store as open_store
from .urls import purge_expired as purge_expired
from .urls import store_from_url as store_from_url
from .urls import URL_SCHEMES as URL_SCHEMES
