"""Sessions as files in the directory of a cachelib file system cache."""

from __future__ import annotations

import os
import re
import struct
import tempfile
import typing as t

from cachelib import BaseCache
from cachelib import FileSystemCache

from ..errors import SessionStoreUnavailable
from .base import SessionStore


class FileSystemSessionStore(SessionStore):
    """Entries as files in a :class:`~cachelib.FileSystemCache`'s directory,
    in cachelib's layout (a 4-byte expiry time, then the value), written
    atomically and never pruned by count. Several processes may share the
    directory; give it to sessions alone.

    Expiry times come from ``clock``; ``flask scopes purge`` removes the
    expired files.

    :param cache: The cache whose directory, file mode and hash are used.
    :param clock: Returns the current Unix time.
    :param max_size: Files larger than this many bytes are not read.
    """

    expires_by_itself = False
    _header = struct.Struct("I")
    _temp_suffix = ".__wz_cache"

    def __init__(
        self,
        cache: FileSystemCache,
        *,
        clock: t.Callable[[], float] | None = None,
        max_size: int = 16 * 1024 * 1024,
    ) -> None:
        super().__init__(cache, clock=clock)
        self.path: str = cache._path
        self.max_size = max_size
        self._filename: t.Callable[[str], str] = cache._get_filename
        self._mode: int = cache._mode or 0o600
        self._count_file = os.path.basename(self._filename(cache._fs_count_file))
        # The store's files are named by the cache's hash of the key: a hex
        # digest of one length. Nothing else in the directory is touched.
        length = len(os.path.basename(self._filename("x")))
        self._own_name = re.compile(f"[0-9a-f]{{{length}}}")

    @staticmethod
    def _bytes_view(cache: BaseCache) -> BaseCache:
        return cache

    def describe(self) -> str:
        return f"FileSystemCache at {self.path}"

    def _read(self, filename: str) -> tuple[int, bytes] | None:
        try:
            with open(filename, "rb") as f:
                head = f.read(self._header.size)
                value = f.read(self.max_size + 1)
        except FileNotFoundError:
            return None
        if len(head) != self._header.size or len(value) > self.max_size:
            return None
        return self._header.unpack(head)[0], value

    def _live(self, expires: int) -> bool:
        return expires == 0 or expires >= self.clock()

    def _write(self, filename: str, value: bytes, ttl: int) -> None:
        expires = int(self.clock()) + self._ttl(ttl)
        fd, temp = tempfile.mkstemp(suffix=self._temp_suffix, dir=self.path)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self._header.pack(expires))
                f.write(value)
            os.chmod(temp, self._mode)
            os.replace(temp, filename)
        except BaseException:
            try:
                os.remove(temp)
            except OSError:
                pass
            raise

    def get(self, name: str) -> bytes | None:
        with self.guard("load"):
            found = self._read(self._filename(self.key(name)))
        if found is None or not self._live(found[0]):
            return None
        return found[1]

    def get_many(self, *names: str) -> list[bytes | None]:
        return [self.get(name) for name in names]

    def set(self, name: str, value: bytes, ttl: int) -> None:
        with self.guard("save"):
            self._write(self._filename(self.key(name)), value, ttl)

    def add(self, name: str, value: bytes, ttl: int) -> bool:
        filename = self._filename(self.key(name))
        with self.guard("save"):
            found = self._read(filename)
            if found is not None and self._live(found[0]):
                return False
            self._write(filename, value, ttl)
        return True

    def replace(self, name: str, value: bytes, ttl: int) -> bool:
        filename = self._filename(self.key(name))
        with self.guard("save"):
            found = self._read(filename)
            if found is None or not self._live(found[0]):
                return False
            self._write(filename, value, ttl)
        return True

    def delete(self, name: str) -> bool:
        filename = self._filename(self.key(name))
        with self.guard("save"):
            found = self._read(filename)
            try:
                os.remove(filename)
            except FileNotFoundError:
                return False
        return found is not None and self._live(found[0])

    def owns(self, entry: os.DirEntry[str]) -> bool:
        """Whether a directory entry is one of the store's own files: a
        regular file named as the store names entries. Subdirectories,
        links, temporary files, cachelib's count file and files of other
        names (a ``README``, a backup) are not.

        .. versionadded:: 0.2
        """
        name = entry.name
        if name == self._count_file or self._own_name.fullmatch(name) is None:
            return False
        try:
            return entry.is_file(follow_symlinks=False)
        except OSError:
            return False

    def purge_expired(self) -> int:
        """Remove the store's expired files. Only files named as the store
        names its entries are touched; anything else in the directory,
        subdirectories included, is skipped.

        .. versionchanged:: 0.2
            Files of other names and subdirectories are skipped, not
            deleted or fatal.
        """
        removed = 0
        now = self.clock()
        with self.guard("purge"):
            entries = list(os.scandir(self.path))
        for entry in entries:
            if not self.owns(entry):
                continue
            try:
                with open(entry.path, "rb") as f:
                    head = f.read(self._header.size)
                if len(head) != self._header.size:
                    continue
                expires = self._header.unpack(head)[0]
                if expires != 0 and expires < now:
                    os.remove(entry.path)
                    removed += 1
            except (FileNotFoundError, IsADirectoryError):
                continue
            except OSError as e:
                raise SessionStoreUnavailable("purge", self.describe(), e) from e
        return removed
