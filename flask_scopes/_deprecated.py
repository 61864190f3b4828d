"""Old module paths that keep working with a :exc:`DeprecationWarning`
after their contents moved into the subpackages.
"""

from __future__ import annotations

import importlib
import typing as t
import warnings


def forward(old: str, *modules: str) -> t.Callable[[str], t.Any]:
    """A module ``__getattr__`` for ``old`` that finds each name in the
    first of ``modules`` that has it, and warns that the import moved.

    :param old: The old module's name.
    :param modules: Where its names live now.
    """

    def __getattr__(name: str) -> t.Any:
        if not name.startswith("__"):
            for target in modules:
                found = getattr(importlib.import_module(target), name, _MISSING)
                if found is not _MISSING:
                    warnings.warn(
                        f"'{old}.{name}' moved: import it from '{target}'. The"
                        f" old path will be removed in flask-scopes 0.3.",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    return found
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    return __getattr__


_MISSING = object()
