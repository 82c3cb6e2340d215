"""Integers in tool-call arguments that may be identifiers: texts, not numbers to forward.

A card number, a phone number or a national id is as often written as a JSON number
(``{"card": 4111111111111111}``) as a string, so such an integer is a text slot too: its text
is the digits as written. The detectors confirm an identifier by its validator (a bare number
is masked only then), so a text the pipeline leaves unchanged is forwarded as the number it
was; a changed one (``CREDIT_CARD0``) goes as a JSON string, so the document stays JSON, and
the answer's ``"CREDIT_CARD0"`` comes back as the digits in a string.

Only integers of at least ``MIN_DIGITS`` digits: the shortest identifiers the detectors
validate are phone numbers of 7 digits (a local number; ``pipeline/stages/phone.py``
``MIN_DIGITS``), national ids have 8 or more, cards 12 or more. Shorter integers (counts,
prices in cents, small ids) and floats (amounts, measurements) are no identifiers, and
forwarding them unread keeps the work of a document with many numbers small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from proxy.formats.base import TextSlot
from proxy.formats.value_names import without_prefix

# See the module's docstring: the shortest identifier a detector validates has 7 digits.
MIN_DIGITS = 7
_IDENTIFIER_LIKE = re.compile(rf"-?\d{{{MIN_DIGITS},}}")


def identifier_like(literal: str) -> bool:
    """Whether a JSON number literal (or ``str`` of a parsed int) is an integer long enough
    to be an identifier."""
    return _IDENTIFIER_LIKE.fullmatch(literal) is not None


def number_text(value: object) -> str | None:
    """The text of a parsed JSON value that is such an integer (its digits), else None."""
    if type(value) is not int:  # bool is an int, and no identifier
        return None
    text = str(value)
    return text if identifier_like(text) else None


@dataclass(slots=True)
class NumberSlot(TextSlot):
    """``container[key]``, a parsed integer, read as text: set back to its digits it is the
    same int again, anything else a string. Used where the JSON is parsed (Anthropic's
    ``tool_use.input``); in a JSON string the literal is spliced instead (json_string.py)."""

    number: int
    prefix: str = ""  # the parameter name, read before the digits (value_names.py)

    def get(self) -> str:
        value = self.container[self.key]  # type: ignore[index]
        return self.prefix + (value if isinstance(value, str) else str(value))

    def set(self, value: str) -> None:
        value = without_prefix(self.prefix, value)
        self.container[self.key] = (  # type: ignore[index]
            self.number if value == str(self.number) else value)
