"""The flash scope: a separate, unsigned cookie that carries messages to the
next request. :data:`flash` is its public face in views and templates.
"""

from .bridge import flash_bridge as flash_bridge
from .bridge import FlashesBridge as FlashesBridge
from .codec import Batch as Batch
from .codec import FlashCodec as FlashCodec
from .context import current_scope as current_scope
from .context import save_flash as save_flash
from .context import scope_for as scope_for
from .helpers import Category as Category
from .helpers import FieldErrors as FieldErrors
from .helpers import Flash as Flash
from .helpers import flash as flash
from .helpers import flash_context as flash_context
from .helpers import FormErrors as FormErrors
from .helpers import FormValues as FormValues
from .helpers import MessageList as MessageList
from .scope import FlashScope as FlashScope
