"""Request schemas that fail closed: every value is a known text, a known non-text, or a 400.

A format describes its request body with these shapes once; ``find_texts`` walks a body
against it and returns the text slots. Whatever the schema does not name is refused, of any
type, anywhere: an unknown key, a string where an object was expected, an object where a
string was. So a field a provider adds tomorrow is refused until someone decides whether it
is text, instead of being forwarded unread.

Non-text strings (model names, enums, ids) are forwarded as they are, so they are held to a
shape no prose fits: one token of ASCII letters, digits and ``_ . : / + = -``, no spaces, no
``@``. A sentence or an e-mail address in a ``role`` or a ``tool_call_id`` is refused too.

Error messages name the place by the schema's own keys and by indices (``messages[2].content``),
never by a key or a value of the request (DESIGN invariant 6).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from proxy.errors import bad_request
from proxy.formats.base import TextSlot

_TOKEN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/+=-]{0,255}")


# Where a value sits, built as (parent, key) pairs as the walk goes and spelled out only for
# an error (``messages[2].content``); keys are the schema's, or indices, never the request's.
Where = tuple[Any, str | int] | None


def describe(where: Where) -> str:
    parts: list[str] = []
    while where is not None:
        where, key = where
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return "".join(reversed(parts)).lstrip(".") or "the request body"


class Shape(ABC):
    """What one JSON value may be; ``code`` is the error code when it is not."""

    code: str = "invalid_field"

    @abstractmethod
    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has this shape's JSON type (for ``OneOf``)."""

    @abstractmethod
    def walk(self, holder: dict[str, Any] | list[Any], key: str | int, where: Where,
             out: list[TextSlot]) -> None:
        """Check ``holder[key]`` (never None) and append its text slots to ``out``."""

    def refuse(self, where: Where, expected: str) -> Exception:
        return bad_request(f"{describe(where)} must be {expected}", self.code)

    def checked(self, holder: Any, key: Any, where: Where, expected: str) -> Any:
        """``holder[key]`` when it has this shape's JSON type (``accepts``), else the 400
        that names ``expected``."""
        value = holder[key]
        if not self.accepts(value):
            raise self.refuse(where, expected)
        return value


def is_token(value: str) -> bool:
    """Whether ``value`` has ``TOKEN``'s form: a name or an id, never prose or an e-mail."""
    return _TOKEN.fullmatch(value) is not None


def find_texts(shape: Shape, body: dict[str, Any]) -> list[TextSlot]:
    """The text slots of ``body`` according to ``shape``; 400 at the first unknown value."""
    out: list[TextSlot] = []
    shape.walk({"": body}, "", None, out)
    return out


class Text(Shape):
    """A string the provider reads: anonymized."""

    def __init__(self, code: str = "invalid_field") -> None:
        self.code = code

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        self.checked(holder, key, where, "a string")
        out.extend(self.slots(holder, key))

    def slots(self, holder: Any, key: str | int) -> list[TextSlot]:
        """The text slots of the string ``holder[key]``: here the whole string."""
        return [TextSlot(holder, key)]


class Token(Shape):
    """A string that is not text (model, enum, id, name of a tool): forwarded as it is, so
    it must look like one token."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        value = holder[key]
        if not isinstance(value, str) or not is_token(value):
            raise self.refuse(where, "an identifier (letters, digits, _ . : / + = -)")


class Pattern(Shape):
    """A non-text string of a known form (a URL, base64 data): forwarded as it is, so it
    must have that form; ``what`` names it in the error."""

    def __init__(self, pattern: str, what: str) -> None:
        self._pattern = re.compile(pattern)
        self._what = what

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        value = holder[key]
        if not isinstance(value, str) or not self._pattern.fullmatch(value):
            raise self.refuse(where, self._what)


class Number(Shape):
    def accepts(self, value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        self.checked(holder, key, where, "a number")


class Bool(Shape):
    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        self.checked(holder, key, where, "true or false")


class Opaque(Shape):
    """Any JSON the provider needs byte for byte and that carries no user text by contract:
    a tool's JSON schema, base64 data, an image URL. Forwarded untouched."""

    def __init__(self, *types: type) -> None:
        self._types = types or (str, int, float, bool, list, dict)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self._types)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        self.checked(holder, key, where, "of another type")


class Obj(Shape):
    """An object with known keys only; a key the schema does not name is refused."""

    def __init__(self, fields: Mapping[str, Shape], code: str = "invalid_field") -> None:
        self.fields = dict(fields)
        self.code = code
        self._walks = {name: shape.walk for name, shape in self.fields.items()}

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        value = self.checked(holder, key, where, "an object")
        walks = self._walks
        for name, member in value.items():
            walk = walks.get(name)
            if walk is None:
                raise bad_request(f"{describe(where)} has a field this proxy does not know, so "
                                  "it cannot tell whether it carries personal data",
                                  "unknown_field")
            if member is not None:
                walk(value, name, (where, name), out)

    def extended(self, **more: Shape) -> Obj:
        return Obj({**self.fields, **more}, self.code)


class Tagged(Shape):
    """An object whose ``type`` field picks its schema (content parts, tools)."""

    def __init__(self, variants: Mapping[str, Obj], tag: str = "type",
                 default: str | None = None, code: str = "invalid_field") -> None:
        self.variants = dict(variants)
        self.tag = tag
        self.default = default
        self.code = code

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        value = self.checked(holder, key, where, "an object")
        tag = value.get(self.tag, self.default)
        variant = self.variants.get(tag) if isinstance(tag, str) else None
        if variant is None:
            raise bad_request(f"{describe((where, self.tag))} is not a type this proxy knows",
                              "unknown_type")
        variant.walk(holder, key, where, out)


class ListOf(Shape):
    def __init__(self, item: Shape, code: str | None = None) -> None:
        self.item = item
        self.code = code or item.code

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        value = self.checked(holder, key, where, "a list")
        for i, item in enumerate(value):
            if item is not None:
                self.item.walk(value, i, (where, i), out)


class MapOf(Shape):
    """An object with keys of the client's choosing (``metadata``, ``logit_bias``): the keys
    are forwarded as they are, so they must be tokens; values follow ``value``."""

    def __init__(self, value: Shape, code: str = "invalid_field") -> None:
        self.value = value
        self.code = code

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        value = self.checked(holder, key, where, "an object")
        for name in value:
            if not is_token(name):
                raise bad_request(f"{describe(where)} has a key that is not an identifier",
                                  "invalid_field")
            if value[name] is not None:
                # The key is the client's: the path names the map, never the key.
                self.value.walk(value, name, (where, "(a value)"), out)


class OneOf(Shape):
    """The first shape whose JSON type fits (a string or a list of parts, ...)."""

    def __init__(self, *shapes: Shape, code: str | None = None) -> None:
        self.shapes = shapes
        self.code = code or shapes[0].code

    def accepts(self, value: Any) -> bool:
        return any(shape.accepts(value) for shape in self.shapes)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        for shape in self.shapes:
            if shape.accepts(holder[key]):
                shape.walk(holder, key, where, out)
                return
        raise self.refuse(where, "of another type")


# A URL the provider fetches (or a data: URL): one token, no spaces; not anonymized, since
# the provider needs it exact.
URL = Pattern(r"(?:https?://|data:)[^\s]{1,}", "an http(s) or data: URL")
# Base64, optionally as a data: URL (files are sent both ways).
BASE64 = Pattern(r"(?:data:[^\s,]*,)?[A-Za-z0-9+/=\r\n]*", "base64 data")
TEXT = Text()
TOKEN = Token()
NUMBER = Number()
BOOL = Bool()
OPAQUE = Opaque()
