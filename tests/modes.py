"""The session modes the robustness tests run in: the signed cookie, and a
server-side store when flask-scopes has one.
"""

from __future__ import annotations

import importlib.util


def store_supported() -> bool:
    """Whether this flask-scopes has server-side stores
    (``flask_scopes.stores``)."""
    try:
        return importlib.util.find_spec("flask_scopes.stores") is not None
    except ImportError:  # pragma: no cover
        return False


#: The reason store-mode tests are skipped while stores are missing.
NO_STORE = "flask_scopes.stores is not available in this version"
