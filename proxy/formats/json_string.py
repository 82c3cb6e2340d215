"""Tool-call arguments: a JSON document inside a string, whose string values are the texts.

OpenAI sends a tool call's arguments as JSON text (chat ``tool_calls[].function.arguments``
and ``function_call.arguments``, Responses ``function_call``, ``mcp_call`` and
``mcp_approval_request`` ``arguments``). Anonymized as one raw text, a value's original would
be its escaped spelling (``Anna \\"Nan\\" Smith``) and a span could cross JSON syntax. So the
string is read as JSON: each string value is a text slot holding the decoded value, and
writing a slot re-encodes that one literal in place. Every other byte of the string (spacing,
key order, number spelling, values nothing was found in) stays as the client wrote it, so a
conversation's earlier turns go upstream byte-identical and the provider's prompt cache hits.

Object keys are parameter names, forwarded as they are, so they must be tokens (as in
Anthropic's ``tool_use.input``). An integer long enough to be an identifier is a text slot
too, its text the digits as written (json_numbers.py): unchanged it keeps its bytes, changed
it becomes a JSON string. Other numbers, booleans and null are forwarded. A string that is
not such a document (partial arguments, free text, a key with a space, ``NaN``) is one text,
anonymized whole as before: never forwarded unread. Answers put originals back JSON-escaped
(``Restorer.for_json``) under the keys of ``JSON_FIELDS``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from json.decoder import scanstring
from typing import Any

from proxy import jsonio
from proxy.formats.base import SharedParent, TextSlot
from proxy.formats.json_numbers import identifier_like
from proxy.formats.schema import Text, is_token
from proxy.formats.value_names import name_prefix, without_prefix

JSON_FIELDS = frozenset({"arguments"})
"""Answer fields (OpenAI chat and Responses) whose string is a JSON document."""

# A string literal or a number; in valid JSON no quote occurs outside a string and no digit
# outside a string or a number, so these are all of them.
_LITERAL = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|-?\d[\d.eE+-]*', re.DOTALL)
_SPACE = re.compile(r"[ \t\n\r]*")

Literal = tuple[int, int, str, str | None]


def text_values(document: str) -> list[Literal] | None:
    """``(start, end, text, name)`` of each value of ``document`` that is text, in document
    order: a string value's literal and its decoded value, an identifier-like integer's
    literal and its digits as written; ``name`` is its key in an object (None in a list).
    None when it is not strict JSON (``jsonio.loads_request``'s rules) or an object key is
    not a token."""
    try:
        jsonio.loads_request(document.encode("utf-8"))
    except (jsonio.InvalidRequestJSON, UnicodeEncodeError):
        return None
    found: list[Literal] = []
    key: str | None = None
    for match in _LITERAL.finditer(document):
        start, end = match.span()
        name = key if _after_colon(document, start) else None
        if document[start] != '"':
            if identifier_like(match.group()):
                found.append((start, end, match.group(), name))
            continue
        value = scanstring(document, start + 1, True)[0]
        if document.startswith(":", _SPACE.match(document, end).end()):  # a key
            if not is_token(value):
                return None
            key = value
        else:
            found.append((start, end, value, name))
    return found


def _after_colon(document: str, start: int) -> bool:
    """The literal at ``start`` is an object's value (``"key": here``), not a list item."""
    i = start - 1
    while i >= 0 and document[i] in " \t\n\r":
        i -= 1
    return i >= 0 and document[i] == ":"


class _Document:
    """The JSON string being rewritten, as pieces: the bytes between literals and each value
    literal. A slot's value re-encodes its literal (a changed number's as a string);
    ``rebuild`` writes the joined pieces back into the parent, so slots may be set in any
    order and any number of times."""

    def __init__(self, holder: Any, key: str | int, literals: list[Literal]) -> None:
        text = holder[key]
        self.holder, self.key = holder, key
        self.pieces: list[str] = []
        self.originals: list[tuple[str, str]] = []  # (literal as sent, its value)
        last = 0
        for start, end, value, _ in literals:
            self.pieces += [text[last:start], text[start:end]]
            self.originals.append((text[start:end], value))
            last = end
        self.pieces.append(text[last:])

    def write(self, index: int, value: str) -> None:
        literal, original = self.originals[index]
        # Back to the original: its own bytes (a number's digits too). Otherwise a JSON
        # string, \u-escaped if the literal was ASCII.
        self.pieces[2 * index + 1] = literal if value == original else json.dumps(
            value, ensure_ascii=literal.isascii())

    def rebuild(self) -> None:
        self.holder[self.key] = "".join(self.pieces)


@dataclass(slots=True)
class JsonValueSlot(TextSlot):
    """One text value of a JSON string (a decoded string, or an integer's digits):
    ``container`` is the list of the document's current values, ``key`` this one's index."""

    document: _Document
    prefix: str = ""  # the parameter name, read before a letterless value (value_names.py)

    def get(self) -> str:
        return self.prefix + self.container[self.key]  # type: ignore[index]

    def set(self, value: str) -> None:
        if self.set_later(value) is not None:
            self.document.rebuild()

    def set_later(self, value: str) -> SharedParent | None:
        value = without_prefix(self.prefix, value)
        if value == self.container[self.key]:  # type: ignore[index]
            return None
        self.container[self.key] = value  # type: ignore[index]
        self.document.write(self.key, value)  # type: ignore[arg-type]
        return self.document


class JsonString(Text):
    """A string holding a JSON document whose string values are text (tool-call arguments)."""

    def slots(self, holder: Any, key: str | int) -> list[TextSlot]:
        """One slot per text value, or the whole string as one text when it is not a JSON
        document with token keys."""
        literals = text_values(holder[key])
        if literals is None:
            return super().slots(holder, key)
        document = _Document(holder, key, literals)
        values = [value for _, _, value, _ in literals]
        return [JsonValueSlot(values, i, document, name_prefix(name, value))
                for i, (_, _, value, name) in enumerate(literals)]


ARGUMENTS = JsonString()
