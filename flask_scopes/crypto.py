"""Deprecated: the contents of this module moved. Importing a name from
here still works, with a :exc:`DeprecationWarning` that names its new
module.

.. deprecated:: 0.2
"""

from ._deprecated import forward

__getattr__ = forward(
    __name__,
    "flask_scopes.codecs.crypto",
)
