"""Server-side storage: the :class:`BaseSessionStore` contract, one module
per engine that implements it, and building a store from configuration.
"""

from .base import SessionStore as SessionStore
from .base import StoreEvictionWarning as StoreEvictionWarning
from .contract import BaseSessionStore as BaseSessionStore
from .filesystem import FileSystemSessionStore as FileSystemSessionStore
from .near_cache import near_cached as near_cached
from .near_cache import NearCachedStore as NearCachedStore
from .near_cache import NearCacheUnsupported as NearCacheUnsupported
from .redis_store import RedisSessionStore as RedisSessionStore
from .redis_urls import is_redis_client as is_redis_client
from .sql_config import SQLOptions as SQLOptions
from .urls import check_store_value as check_store_value
from .urls import check_url as check_url
from .urls import is_store_value as is_store_value
from .urls import open_store as open_store
from .urls import purge_expired as purge_expired
from .urls import store_from_url as store_from_url
from .urls import URL_SCHEMES as URL_SCHEMES
