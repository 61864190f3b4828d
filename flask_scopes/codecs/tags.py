"""The session's serializer, as Flask spells it: register a
:class:`flask.json.tag.JSONTag` subclass on it to store a type of your own.

.. code-block:: python

    app.session_interface.serializer.register(TagMoney)

It is a :class:`~flask.json.tag.TaggedJSONSerializer` with Flask's API
(``register``, ``tag``, ``untag``, ``dumps``, ``loads``) over flask-scopes'
own tagged format (see :mod:`flask_scopes.codecs.tagged`). Its tags are read
in session cookies, signed or encrypted, and in store entries, which nobody
but the app can write; never in the unsigned flash cookie.
"""

from __future__ import annotations

import json
import typing as t

from flask.json.tag import JSONTag
from flask.json.tag import PassDict
from flask.json.tag import PassList
from flask.json.tag import TagBytes
from flask.json.tag import TagDateTime
from flask.json.tag import TagDict
from flask.json.tag import TaggedJSONSerializer
from flask.json.tag import TagMarkup
from flask.json.tag import TagTuple
from flask.json.tag import TagUUID

from .json_rules import json_value
from .tagged import BUILTIN
from .tagged import BUILTIN_KEYS
from .tagged import bytes_step
from .tagged import datetime_step
from .tagged import dict_step
from .tagged import html_step
from .tagged import list_step
from .tagged import make_scan
from .tagged import NOT_MINE
from .tagged import Scan
from .tagged import Step
from .tagged import tag as tag_value
from .tagged import tuple_step
from .tagged import untag_builtin
from .tagged import uuid_step

#: Flask's own tags, and the step of flask-scopes' format that stands for
#: each (``None``: the dict step already escapes what ``TagDict`` tags).
_FLASK_TAGS: dict[type[JSONTag], Step | None] = {
    TagDict: None,
    PassDict: dict_step,
    TagTuple: tuple_step,
    PassList: list_step,
    TagBytes: bytes_step,
    TagMarkup: html_step,
    TagUUID: uuid_step,
    TagDateTime: datetime_step,
}


def _custom_step(found: JSONTag) -> Step:
    def step(value: t.Any, path: str, tags: t.Any) -> t.Any:
        if not found.check(value):
            return NOT_MINE
        return json_value(found.tag(value), path)

    return step


class SessionSerializer(TaggedJSONSerializer):
    """The tags of one app's session: Flask's, which flask-scopes stores in
    its own way, and those registered with :meth:`register`.

    A registered tag is consulted only for a value whose type is not
    exactly one of the built-in types (``str``, ``int``, ``float``,
    ``bool``, ``None``, ``dict``, ``list``, ``tuple``, ``bytes``,
    ``datetime``, ``UUID``, ``Markup``), in the order Flask would consult
    it: after Flask's tags, or at ``index``. A value of a registered type
    comes back as the tag's ``to_python`` makes it, in cookie mode, store
    mode and encrypted mode alike.

    .. versionadded:: 0.2
    """

    def __init__(self) -> None:
        self.tags: dict[str, JSONTag] = {}
        self.order: list[JSONTag] = []
        #: Reads cookies written by Flask's own session, with the same
        #: registered tags.
        self.flask = TaggedJSONSerializer()
        for cls in self.default_tags:
            TaggedJSONSerializer.register(self, cls)
        self._compile()

    def register(
        self,
        tag_class: type[JSONTag],
        force: bool = False,
        index: int | None = None,
    ) -> None:
        """Register a tag, as on Flask's serializer.

        :param tag_class: A :class:`~flask.json.tag.JSONTag` subclass. It is
            instantiated with this serializer.
        :param force: Replace a tag registered under the same key.
        :param index: Where the tag goes in the order tags are tried;
            ``None`` puts it last.
        :raises KeyError: The key is taken and ``force`` is not set, or it
            is one of flask-scopes' own (``" t"``, ``" b"``, ``" m"``,
            ``" u"``, ``" dt"``, ``" di"``), which can't be replaced.
        """
        key = tag_class(self).key
        if key in BUILTIN_KEYS:
            raise KeyError(
                f"Tag {key!r} is one of flask-scopes' own tags: give"
                f" {tag_class.__name__} another key."
            )
        super().register(tag_class, force=force, index=index)
        self.flask.register(tag_class, force=force, index=index)
        self._compile()

    def _compile(self) -> None:
        steps: list[Step] = []
        for found in self.order:
            kind = type(found)
            if kind in _FLASK_TAGS:
                builtin = _FLASK_TAGS[kind]
                if builtin is not None:
                    steps.append(builtin)
            else:
                steps.append(_custom_step(found))
        custom = {
            key: found.to_python
            for key, found in self.tags.items()
            if type(found) not in _FLASK_TAGS
        }
        #: The keys of the registered tags.
        self.custom_keys = frozenset(custom)
        #: The steps tried for values of other than the exact built-in types.
        self.steps = tuple(steps)
        #: Reads tagged JSON, registered tags included.
        self.scan: Scan = make_scan(custom) if custom else BUILTIN.scan

    # Flask's API, in flask-scopes' format.

    def tag(self, value: t.Any) -> t.Any:
        """``value`` made JSON-ready, tagged where JSON can't carry it. A
        tag's ``to_json`` calls it for the values it holds.

        :raises SessionValueError: A value that can't be stored.
        """
        return tag_value(value, "value", self)

    def untag(self, value: dict[str, t.Any]) -> t.Any:
        """The value a tagged dict stands for, its contents already
        untagged."""
        found = untag_builtin(value)
        if found is value and len(value) == 1:
            key, item = next(iter(value.items()))
            if key in self.custom_keys:
                return self.tags[key].to_python(item)
        return found

    def dumps(self, value: t.Any) -> str:
        """``value`` as compact tagged JSON."""
        return json.dumps(self.tag(value), separators=(",", ":"), ensure_ascii=False)

    def loads(self, value: str | bytes) -> t.Any:
        """The inverse of :meth:`dumps`.

        :raises ValueError: Not tagged JSON.
        """
        text = value.decode("utf-8") if isinstance(value, bytes) else value
        try:
            found, end = self.scan(text, 0)
        except StopIteration:
            raise ValueError("no JSON value") from None
        if text[end:].strip():
            raise ValueError("data after the value")
        return found

    def flask_loads(self, value: str) -> t.Any:
        """Read a payload of Flask's own session cookie, registered tags
        included."""
        return self.flask.loads(value)
