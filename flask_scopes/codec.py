"""Deprecated: the contents of this module moved. Importing a name from
here still works, with a :exc:`DeprecationWarning` that names its new
module.

.. deprecated:: 0.2
"""

from ._deprecated import forward

__getattr__ = forward(
    __name__,
    "flask_scopes.codecs.encoding",
    "flask_scopes.codecs.tagged",
    "flask_scopes.codecs.signing",
    "flask_scopes.codecs.signed",
    "flask_scopes.codecs.flask_format",
    "flask_scopes.session.timing",
)
