"""The cookie policy: one place that decides a cookie's attributes, writes
its ``Set-Cookie`` header, measures it, and deletes it with the same
attributes it was set with.
"""

from __future__ import annotations

import typing as t
from email.utils import formatdate

from .codecs.encoding import BadCookie

if t.TYPE_CHECKING:  # pragma: no cover
    from werkzeug.sansio.response import Response

    from .settings import Settings

_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


def one_value(values: list[str]) -> str:
    """The value of a cookie that came once, or several times alike.

    Several different values of one name mean that another cookie, set for
    a parent domain or another path, may be an attacker's: neither is
    trusted.

    :raises BadCookie: The values differ.
    """
    if len(values) > 1 and len(set(values)) > 1:
        raise BadCookie(f"{len(values)} different cookies of that name")
    return values[0]


def vary_cookie(response: Response) -> None:
    """Add ``Cookie`` to the response's ``Vary`` header, once."""
    headers = response.headers
    values = headers.getlist("Vary")
    if not values:
        headers.add("Vary", "Cookie")
        return
    parts = [part.strip() for value in values for part in value.split(",")]
    if "cookie" not in {part.lower() for part in parts}:
        headers["Vary"] = ", ".join([*filter(None, parts), "Cookie"])


class CookiePolicy:
    """How one cookie is written.

    :param name: The cookie's name.
    :param domain: The ``Domain`` attribute, or ``None`` for none.
    :param path: The ``Path`` attribute.
    :param secure: Whether to add ``Secure``.
    :param httponly: Whether to add ``HttpOnly``.
    :param samesite: ``"Strict"``, ``"Lax"``, ``"None"`` or ``None`` for none.
    :param partitioned: Whether to add ``Partitioned`` (implies ``Secure``).
    :param max_size: The most bytes the whole header value may take.
    """

    def __init__(
        self,
        name: str,
        *,
        domain: str | None = None,
        path: str = "/",
        secure: bool = False,
        httponly: bool = True,
        samesite: str | None = "Lax",
        partitioned: bool = False,
        max_size: int = 4093,
    ) -> None:
        self.name = name
        self.max_size = max_size
        attributes = []
        if domain:
            attributes.append(f"Domain={domain}")
        if secure or partitioned:
            attributes.append("Secure")
        if httponly:
            attributes.append("HttpOnly")
        attributes.append(f"Path={path}")
        if samesite:
            attributes.append(f"SameSite={samesite}")
        if partitioned:
            attributes.append("Partitioned")
        #: The attributes every header of this cookie ends with.
        self.attributes = "; " + "; ".join(attributes)
        self._date_cache: tuple[int, str] = (0, _EPOCH)

    @classmethod
    def for_session(cls, settings: Settings) -> CookiePolicy:
        """The policy of the session cookie, from Flask's ``SESSION_COOKIE_*``
        keys and :data:`SCOPES_MAX_COOKIE_SIZE`."""
        return cls._from(settings, settings.cookie_name, settings.cookie_httponly)

    @classmethod
    def for_flash(cls, settings: Settings) -> CookiePolicy:
        """The policy of the flash cookie: the session cookie's attributes
        under :data:`SCOPES_FLASH_COOKIE_NAME`, always ``HttpOnly``."""
        return cls._from(settings, settings.flash_cookie_name, True)

    @classmethod
    def _from(cls, settings: Settings, name: str, httponly: bool) -> CookiePolicy:
        return cls(
            name,
            domain=settings.cookie_domain,
            path=settings.cookie_path,
            secure=settings.cookie_secure,
            httponly=httponly,
            samesite=settings.cookie_samesite,
            partitioned=settings.cookie_partitioned,
            max_size=settings.max_cookie_size,
        )

    def _http_date(self, when: int) -> str:
        cached_when, text = self._date_cache
        if cached_when != when:
            text = formatdate(when, usegmt=True)
            self._date_cache = (when, text)
        return text

    def header(self, value: str, expires: int | None = None, now: int = 0) -> str:
        """The ``Set-Cookie`` header value that sets the cookie.

        :param value: The cookie's value, already cookie-safe.
        :param expires: When it expires (Unix time), or ``None`` for a cookie
            that lasts as long as the browser session.
        :param now: The current Unix time, for ``Max-Age``.
        """
        if expires is None:
            return f"{self.name}={value}{self.attributes}"
        return (
            f"{self.name}={value}; Expires={self._http_date(expires)};"
            f" Max-Age={max(0, expires - now)}{self.attributes}"
        )

    def size(self, header: str) -> int:
        """The size of a header value in bytes."""
        return len(header) if header.isascii() else len(header.encode("utf-8"))

    def fits(self, header: str) -> bool:
        """Whether a header value is within :attr:`max_size`."""
        return self.size(header) <= self.max_size

    def set(self, response: Response, header: str) -> None:
        """Add a header made by :meth:`header` to the response."""
        response.headers.add("Set-Cookie", header)

    def delete(self, response: Response) -> None:
        """Tell the client to drop the cookie, repeating every attribute it
        was set with so that the browser matches it."""
        response.headers.add(
            "Set-Cookie", f"{self.name}=; Expires={_EPOCH}; Max-Age=0{self.attributes}"
        )
