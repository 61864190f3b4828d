"""The operations a session store offers, whatever keeps the entries.

:class:`BaseSessionStore` is the contract: bytes under short ASCII names,
each with a time to live, and the few atomic steps that keep a concurrent
sign-out from being undone. The cachelib-backed
:class:`~flask_scopes.stores.SessionStore`, the Redis, file system and SQL
stores all implement it; a store of your own subclasses it and needs no
cachelib cache. :mod:`flask_scopes.testing` checks an implementation
against it.
"""

from __future__ import annotations

import abc
import typing as t
from contextlib import contextmanager

from ..errors import SessionStoreUnavailable


class BaseSessionStore(abc.ABC):
    """Bytes under string names, each with a time to live.

    What the bytes mean is not the store's business: session entries and
    revocation markers are both short JSON documents. A store keeps them
    as they are and never pickles or unpickles anything.

    Names are ASCII strings of at most 100 characters: letters, digits,
    ``-``, ``_``, ``:``, ``{`` and ``}``. An entry whose time to live has
    passed must never be returned, by :meth:`get` or :meth:`get_many`,
    even before it is removed.

    Every operation raises :exc:`~flask_scopes.SessionStoreUnavailable`
    when the store can't be reached or fails, never returns as if the entry
    were missing: an outage must not look like a signed-out user.

    Subclasses implement :meth:`get`, :meth:`set`, :meth:`add`,
    :meth:`replace`, :meth:`delete` and :meth:`describe`; :meth:`get_many`
    and :meth:`purge_expired` have defaults.

    .. versionadded:: 0.2
    """

    #: Prefix of every key written, before the entry's name.
    namespace = "scopes:"
    #: Whether the backend removes expired entries by itself. If not,
    #: ``flask scopes purge`` calls :meth:`purge_expired`.
    expires_by_itself = True
    #: The errors that mean the backend failed, turned into
    #: :exc:`~flask_scopes.SessionStoreUnavailable` by :meth:`guard`.
    errors: tuple[type[BaseException], ...] = (OSError,)
    #: The configuration key that names the store, for a
    #: :exc:`~flask_scopes.ConfigurationError` raised after start-up. The
    #: session interface sets it to the key the store was configured under.
    setting = "SCOPES_SESSION_STORE"

    @abc.abstractmethod
    def describe(self) -> str:
        """Names the store in error messages and the CLI, without
        credentials."""

    def key(self, name: str) -> str:
        """The full key of an entry, as the backend shows it."""
        return f"{self.namespace}{name}"

    @property
    def backing(self) -> BaseSessionStore:
        """The store that holds the entries: this one, or for a cache in
        front of a store (:class:`~flask_scopes.stores.NearCachedStore`),
        the store behind it. Two scopes whose stores have the same backing
        store share their entries and markers.

        .. versionadded:: 0.2
        """
        return self

    @contextmanager
    def guard(self, operation: str) -> t.Iterator[None]:
        """Turn the backend's :attr:`errors` into
        :exc:`~flask_scopes.SessionStoreUnavailable`.

        :param operation: ``"load"``, ``"save"`` or ``"purge"``.
        """
        try:
            yield
        except self.errors as e:
            raise SessionStoreUnavailable(operation, self.describe(), e) from e

    @abc.abstractmethod
    def get(self, name: str) -> bytes | None:
        """The entry, or ``None`` if it is missing or expired.

        :param name: The entry's name.
        """

    def get_many(self, *names: str) -> list[bytes | None]:
        """Several entries, in the order asked, ``None`` for each missing
        or expired one. Stores that can do it in one round trip should: a
        bound session is read with its user's revocation marker.

        :param names: One or more names.
        """
        return [self.get(name) for name in names]

    @abc.abstractmethod
    def set(self, name: str, value: bytes, ttl: int) -> None:
        """Write an entry, whether it exists or not.

        :param name: The entry's name.
        :param value: Its bytes.
        :param ttl: Seconds it lives, at least 1.
        """

    @abc.abstractmethod
    def add(self, name: str, value: bytes, ttl: int) -> bool:
        """Write an entry only if no live entry has that name, as one atomic
        step: of two concurrent calls with one name, one returns ``False``.

        :returns: Whether it was written.
        """

    @abc.abstractmethod
    def replace(self, name: str, value: bytes, ttl: int) -> bool:
        """Write an entry only if a live entry has that name, so that an
        entry deleted meanwhile (a sign-out) stays deleted.

        :returns: Whether it was written.
        """

    @abc.abstractmethod
    def delete(self, name: str) -> bool:
        """Delete an entry.

        :returns: Whether a live entry existed.
        """

    def purge_expired(self) -> int:
        """Remove expired entries, for backends that keep them
        (:attr:`expires_by_itself` false).

        :returns: How many were removed.
        """
        return 0

    @staticmethod
    def _ttl(ttl: int) -> int:
        # At least a second: cachelib reads 0 as "never expire" and
        # SimpleCache and FileSystemCache evict such entries first, and
        # Redis refuses it.
        return max(1, int(ttl))
