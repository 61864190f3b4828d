"""The flash scope of one request: what came in with the flash cookie, what
is shown now, what goes out to the next request, and the rules that decide
what the response does with the cookie.

The scope lives in ``request.environ`` under
:data:`~flask_scopes.flash.context.ENVIRON_KEY`, created on first use in the
request (:mod:`flask_scopes.flash.context`). A request that never uses the
flash creates no scope, and its response leaves the flash cookie alone.
"""

from __future__ import annotations

import logging
import re
import typing as t

from ..codecs.encoding import BadCookie
from ..cookies import CookiePolicy
from ..cookies import vary_cookie
from ..errors import FlashTooLarge
from ..errors import FlashValueError
from ..signals import cookie_refused
from ..signals import send
from .codec import Batch
from .codec import FlashCodec
from .codec import largest_parts
from .form import pick_fields
from .incoming import read_batches
from .outgoing import fit
from .outgoing import KEPT
from .outgoing import merge
from .outgoing import NEW
from .outgoing import OnlyNewLeft
from .outgoing import UNREAD

if t.TYPE_CHECKING:  # pragma: no cover
    from flask.wrappers import Request
    from flask.wrappers import Response

    from ..settings import Settings
    from .overflow import FlashOverflow

logger = logging.getLogger("flask_scopes")

_Fields = dict[str, list[str]]


class FlashRuntime(t.Protocol):
    """What a flash scope needs of the app's resolved configuration (the
    :class:`~flask_scopes.runtime.Runtime` provides it)."""

    settings: Settings
    clock: t.Callable[[], float]
    flash_codec: FlashCodec
    flash_cookie: CookiePolicy
    #: Where a flash too large for its cookie goes, or ``None``.
    #:
    #: .. versionadded:: 0.2
    flash_overflow: FlashOverflow | None
    #: The class of each request's flash scope.
    flash_scope_class: type[FlashScope]


class FlashScope:
    """The flash of one request.

    *Incoming* messages came with the flash cookie; *now* messages are shown
    in this request only; *outgoing* ones go to the next request that reads
    the flash. Reading the flash in any way marks it *read*, and the
    response to a request that read it drops what came in, unless it was
    kept. A request that never reads it leaves it for a later one.

    :param request: The request.
    :param runtime: The app's resolved settings.
    """

    #: Form fields whose names match are never carried by
    #: :meth:`keep_form`, even when listed: passwords, secrets, tokens
    #: (CSRF ones included), one-time codes and card data.
    sensitive_field = re.compile(
        r"pass|pwd|secret|token|csrf|xsrf|api.?key|private.?key|one.?time"
        r"|card.?(num|no)|cc.?num|iban"
        r"|(?<![a-z])(otp|pin|cvv|cvc|ssn)(?![a-z])",
        re.IGNORECASE,
    )
    #: The most characters of form values one :meth:`keep_form` carries,
    #: all fields together. Fields past it are left out, so text a user
    #: typed can't push the cookie over its size limit.
    max_form_size = 2000
    #: How far in the future a batch's timestamp may be, for clock skew
    #: between servers, in seconds.
    max_clock_skew = 60
    #: Request headers, as WSGI environ keys, whose value containing
    #: ``prefetch`` or ``preview`` marks a prefetch, which does not consume
    #: the flash: ``Sec-Purpose``, ``Purpose``, ``X-Purpose``, ``X-Moz``.
    prefetch_headers = (
        "HTTP_SEC_PURPOSE",
        "HTTP_PURPOSE",
        "HTTP_X_PURPOSE",
        "HTTP_X_MOZ",
    )

    def __init__(self, request: Request, runtime: FlashRuntime) -> None:
        # The scope lives in the request's environ, so it keeps what it needs
        # of the request rather than the request, which would make a cycle.
        #: The request's cookies.
        self.cookies = request.cookies
        #: The request's method.
        self.method = request.method
        #: Whether the request is a prefetch, by :attr:`prefetch_headers`.
        self.prefetch = self.is_prefetch(request.environ)
        self.runtime = runtime
        self.codec = runtime.flash_codec
        #: Whether the flash cookie came with the request, valid or not.
        self.had_cookie = False
        #: Whether the cookie was refused or held expired batches, so the
        #: response must rewrite or delete it.
        self.stale = False
        #: Whether the request read the flash.
        self.read = False
        #: Whether keep, discard or an adoption changed what goes out.
        self.changed = False
        #: Set when saving failed, so that the error response leaves the
        #: client's flash cookie alone.
        self.unsaveable = False
        #: Set once the response's cookie was decided: later writes would
        #: be lost, so they raise.
        self.saved = False
        self.now: list[tuple[str, t.Any]] = []
        self.now_form: _Fields = {}
        self.now_errors: _Fields = {}
        self.outgoing = Batch(0)
        self.keep_all = False
        self.kept: set[str] = set()
        self.discard_all = False
        self.discarded: set[str] = set()
        self._incoming: list[Batch] | None = None
        self._adopted: list[Batch] = []
        self.taken = False

    # -- incoming ------------------------------------------------------------

    @property
    def incoming(self) -> list[Batch]:
        """The batches that came with the request, valid and unexpired. The
        cookie is parsed on first use."""
        if self._incoming is None:
            self._incoming = self._parse()
        return self._incoming + self._adopted if self._adopted else self._incoming

    def _parse(self) -> list[Batch]:
        settings = self.runtime.settings
        values = self.cookies.getlist(settings.flash_cookie_name)
        if not values:
            return []
        self.had_cookie = True
        try:
            if len(set(values)) > 1:
                # One may be an attacker's, set for a parent domain.
                raise BadCookie(f"{len(values)} different cookies of that name")
            live, stale = read_batches(
                values[0],
                self.codec,
                getattr(self.runtime, "flash_overflow", None),
                int(self.runtime.clock()),
                settings.flash_max_age,
                self.max_clock_skew,
            )
            self.stale = self.stale or stale
            return live
        except BadCookie as e:
            logger.debug("Ignored the flash cookie: %s", e)
            send(cookie_refused, scope="flash", reason=e.reason)
        except Exception:  # a cookie never causes a 500
            logger.debug("Ignored the flash cookie", exc_info=True)
        self.stale = True
        return []

    def adopt(self, pairs: t.Any) -> None:
        """Take over ``(category, message)`` pairs found under ``_flashes`` in
        a session written by Flask's own session, as messages that came in.
        Pairs that can't be carried are dropped with a debug log line."""
        batch = Batch(int(self.runtime.clock()))
        for pair in pairs if isinstance(pairs, (list, tuple)) else ():
            try:
                batch.messages.append(self._pair(pair))
            except FlashValueError as e:
                logger.debug("Dropped a flashed message from the session: %s", e)
        if batch.messages:
            self._adopted.append(batch)
            self.changed = True

    # -- reading -------------------------------------------------------------

    def messages(self) -> list[tuple[str, t.Any]]:
        """Every ``(category, message)`` pair to show in this request: the
        incoming ones, then those flashed for now."""
        self.read = True
        return [m for batch in self.incoming for m in batch.messages] + self.now

    def category(self, name: str) -> list[t.Any]:
        """The messages of one category to show in this request."""
        return [message for category, message in self.messages() if category == name]

    def form(self) -> _Fields:
        """The form values to refill, by field name; later ones win."""
        self.read = True
        out: _Fields = {}
        for batch in self.incoming:
            out.update(batch.form)
        out.update(self.now_form)
        return out

    def form_errors(self) -> _Fields:
        """The error messages of each form field."""
        self.read = True
        out: _Fields = {}
        for errors in [b.errors for b in self.incoming] + [self.now_errors]:
            for name, messages in errors.items():
                out[name] = out.get(name, []) + messages
        return out

    # -- writing -------------------------------------------------------------

    def _pair(self, pair: t.Any) -> tuple[str, str]:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise FlashValueError(
                f"Flashed messages are (category, message) pairs, not {pair!r}.", pair
            )
        category, message = pair
        return self.codec.check_category(category), self.codec.check_value(message)

    def _writable(self) -> None:
        if self.saved:
            raise RuntimeError(
                "The flash was written after the response's flash cookie was"
                " saved (in a teardown function, or after the response was"
                " made), so it would be lost. Flash in the view, a"
                " before_request or an after_request function."
            )

    def _room(self, count: int) -> None:
        limit = self.codec.max_messages
        if count > limit:
            raise FlashValueError(
                f"{count} messages flashed for the next request, more than the"
                f" {limit} one flash cookie carries."
            )

    def add(self, message: t.Any, category: t.Any, now: bool = False) -> None:
        """Flash ``message`` in ``category``, for the next request that reads
        the flash or, with ``now``, for this request only.

        :raises FlashValueError: A category or message that can't be carried.
        :raises ConfigurationError: The flash is signed and there is no
            ``SECRET_KEY``.
        """
        pair = self._pair((category, message))
        if now:
            self.now.append(pair)
            return
        self._writable()
        self.codec.require_keys()
        self._room(len(self.outgoing.messages) + 1)
        self.outgoing.messages.append(pair)

    def keep(self, category: str | None = None) -> None:
        """Carry the incoming messages (of one category, or all of them with
        the form values and field errors) over to the next request."""
        self._writable()
        self.changed = True
        if category is None:
            self.keep_all, self.discard_all = True, False
            self.discarded.clear()
        else:
            self.kept.add(category)
            self.discarded.discard(category)

    def discard(self, category: str | None = None) -> None:
        """Drop the incoming messages (of one category, or all of them with
        the form values and field errors) at the end of this request, read
        or not. They are still shown in this request."""
        self._writable()
        self.changed = True
        if category is None:
            self.discard_all, self.keep_all = True, False
            self.kept.clear()
        else:
            self.discarded.add(category)
            self.kept.discard(category)

    def keep_form(
        self, form: t.Any, only: t.Iterable[str], now: bool = False
    ) -> list[str]:
        """Carry the listed fields of ``form`` (a ``MultiDict`` such as
        ``request.form``, or a mapping) for a refill.

        Left out, each with a debug log line: fields whose names match
        :attr:`sensitive_field`, values that are not text (uploaded files),
        fields with a value that is not valid text (a lone surrogate),
        values longer than :attr:`FlashCodec.max_value_length`, and fields
        past :attr:`max_form_size` characters in all.

        :returns: The names of the fields carried.
        """
        if isinstance(only, str):
            raise TypeError("'only' is a list of field names, not one str.")
        if not now:
            self._writable()
        target = self.now_form if now else self.outgoing.form
        return pick_fields(
            form, only, target, self.codec, self.sensitive_field, self.max_form_size
        )

    def field_error(self, field: t.Any, message: t.Any, now: bool = False) -> None:
        """Attach an error message to a form field, for the next request or,
        with ``now``, for this one.

        :raises FlashValueError: A field name or message that can't be carried.
        """
        codec = self.codec
        field = codec.check_field(field)
        message = codec.check_text(str(codec.check_message(message)), "field error")
        target = self.now_errors if now else self.outgoing.errors
        errors = target.get(field, [])
        if field not in target and len(target) >= codec.max_fields:
            raise FlashValueError(f"Errors for more than {codec.max_fields} fields.")
        if len(errors) >= codec.max_values:
            raise FlashValueError(f"More than {codec.max_values} errors for {field!r}.")
        if not now:
            self._writable()
            codec.require_keys()
        target[field] = [*errors, message]

    # -- saving --------------------------------------------------------------

    def is_prefetch(self, environ: t.Mapping[str, t.Any]) -> bool:
        """Whether a request is a prefetch, which shows no page."""
        for key in self.prefetch_headers:
            value = environ.get(key)
            if value and ("prefetch" in value.lower() or "preview" in value.lower()):
                return True
        return False

    def consumes(self, response: Response) -> bool:
        """Whether reading the flash in this request uses it up. Not for a
        ``HEAD`` request or a prefetch, which show no page, nor for a server
        error, whose page shows no message. Under
        :data:`SCOPES_FLASH_STRICT` every request uses it up, read or not.
        """
        if self.runtime.settings.flash_strict:
            return True
        if not self.read or self.method == "HEAD" or self.prefetch:
            return False
        return response.status_code < 500

    def save(self, response: Response) -> None:
        """Write, delete or leave alone the flash cookie for ``response``.

        What came in with the request gives way when what goes out does not
        fit: unread messages first, then kept ones, oldest first, each with
        a log line.

        :raises FlashTooLarge: The messages flashed in this request alone
            are over the size limit. No cookie is set.

        .. versionchanged:: 0.2
            Kept messages that no longer fit are dropped, not an error.
        """
        self.saved = True
        if self.unsaveable:
            return
        if self.read:
            vary_cookie(response)
        consumes = self.consumes(response)
        if not (consumes or self.outgoing or self.changed or self.stale):
            return
        now = int(self.runtime.clock())
        if self.keep_all or self.kept or not (consumes or self.discard_all):
            carried = self._carry(consumes, now)
        else:
            carried = []
            if self._incoming is None:
                name = self.runtime.settings.flash_cookie_name
                self.had_cookie = name in self.cookies
        if self.outgoing:
            self.outgoing.created = now
            carried.append((self.outgoing, NEW))
        self._write(response, merge(carried), now)

    def _carry(self, consumes: bool, now: int) -> list[tuple[Batch, int]]:
        """The incoming batches that go out again, each with its rank: kept
        batches (:data:`KEPT`) give way to new messages only after unkept
        ones (:data:`UNREAD`)."""
        out = []
        for batch in self.incoming:
            messages = []
            kept = False
            for category, message in batch.messages:
                if category in self.discarded:
                    continue
                if self.keep_all or category in self.kept:
                    kept = True
                elif self.discard_all or consumes:
                    continue
                messages.append((category, message))
            form, errors = batch.form, batch.errors
            if self.keep_all:
                kept = kept or bool(form or errors)
            elif self.discard_all or consumes:
                form, errors = {}, {}
            carried = Batch(now if kept else batch.created, messages, form, errors)
            if carried:
                out.append((carried, KEPT if kept else UNREAD))
        return out

    def _write(
        self, response: Response, batches: list[tuple[Batch, int]], now: int
    ) -> None:
        policy = self.runtime.flash_cookie
        header = None
        if batches:
            try:
                max_age = self.runtime.settings.flash_max_age
                overflow = getattr(self.runtime, "flash_overflow", None)
                header = fit(batches, self.codec, policy, max_age, now, overflow)
            except OnlyNewLeft as e:
                # The messages flashed in this request alone don't fit: the
                # app's own doing.
                self.unsaveable = True
                self._room(e.count)
                raise FlashTooLarge(
                    policy.size(e.header),
                    policy.max_size,
                    largest_parts(batch for batch, _ in batches),
                ) from None
        if header is None:
            if self.had_cookie:
                policy.delete(response)
                vary_cookie(response)
            return
        policy.set(response, header)
        vary_cookie(response)
