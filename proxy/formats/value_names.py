"""A tool-call value without letters is read with its parameter name before it.

Out of its document, ``"4155550123"`` is any number: the phone detector masks a bare national
number only after a word such as "phone" (else order and account numbers would be masked).
In ``{"phone": "4155550123"}`` the parameter name is that word. So a value of an object in
tool-call arguments or ``tool_use.input`` whose text has no letter is anonymized as
``phone: 4155550123`` and written back without the name; the name itself is never changed
upstream (keys are forwarded as they are). Values with letters (names, e-mails, addresses)
need no such help and are read alone, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from proxy.formats.base import TextSlot

_LETTER = re.compile(r"[^\W\d_]")


def name_prefix(name: object, value: str) -> str:
    """``"phone: "`` for a letterless, non-empty ``value`` under the key ``phone``; ``""``
    for a value with letters or one in a list (no name)."""
    if not isinstance(name, str) or not value.strip() or _LETTER.search(value):
        return ""
    return f"{name}: "


def without_prefix(prefix: str, text: str) -> str:
    """The anonymized value of ``prefix + value``: the text after the name. Should a
    detector have changed the name itself, the whole text is kept (nothing is lost, the
    value is still anonymized)."""
    return text[len(prefix):] if text.startswith(prefix) else text


@dataclass(slots=True)
class NamedTextSlot(TextSlot):
    """``container[key]``, a letterless string of a parsed object, read after its name."""

    prefix: str

    def get(self) -> str:
        return self.prefix + self.container[self.key]  # type: ignore[index]

    def set(self, value: str) -> None:
        self.container[self.key] = without_prefix(self.prefix, value)  # type: ignore[index]
