"""Placeholder strings: their format, and which indexes to skip so round trips stay exact."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pipeline.errors import ConfigError

DEFAULT_FORMAT = "{name}{index}"


class PlaceholderFormat:
    """A template: ``{name}{index}`` (the seed's ``FRUIT_FLASH0``) or ``[{name}_{index}]``."""

    def __init__(self, template: str = DEFAULT_FORMAT) -> None:
        if not isinstance(template, str):
            raise ConfigError("placeholder", "expected a string such as '{name}{index}'")
        if template.count("{name}") != 1 or template.count("{index}") != 1:
            raise ConfigError("placeholder", "must contain {name} and {index} exactly once each")
        head, tail = template.split("{index}")
        if "{name}" not in head:
            raise ConfigError("placeholder", "{name} must come before {index}")
        self.template = template
        self.prefix, self.middle = head.split("{name}")
        self.suffix = tail
        self._name_pattern: re.Pattern[str] | None = None
        if "{" in self.prefix + self.middle + self.suffix:
            raise ConfigError("placeholder", "only {name} and {index} may appear in braces")

    def render(self, name: str, index: int) -> str:
        return f"{self.prefix}{name}{self.middle}{index}{self.suffix}"

    def name_of(self, placeholder: str) -> str | None:
        """The name a placeholder was rendered with (``PERSON3`` -> ``PERSON``), else None."""
        if self._name_pattern is None:
            self._name_pattern = re.compile(re.escape(self.prefix) + r"(.+?)"
                                            + re.escape(self.middle) + r"(\d+)"
                                            + re.escape(self.suffix))
        match = self._name_pattern.fullmatch(placeholder)
        return match.group(1) if match else None

    def next_index(self, name: str, used: Iterable[str]) -> int:
        """One past the highest index of ``name`` among the placeholders ``used`` (0 if none)."""
        whole = re.compile(re.escape(f"{self.prefix}{name}{self.middle}") + r"(\d+)"
                           + re.escape(self.suffix))
        highest = -1
        for placeholder in used:
            match = whole.fullmatch(placeholder)
            if match and len(match.group(1)) <= MAX_INDEX_DIGITS:
                highest = max(highest, int(match.group(1)))
        return highest + 1

    @property
    def ends_with_index(self) -> bool:
        """True when digits right after a placeholder would read as part of its index."""
        return not self.suffix

    def taken_indexes(self, name: str, texts: Sequence[str]) -> set[int]:
        """Indexes whose placeholder string already occurs in one of ``texts``.

        One regex pass a text instead of one substring search per candidate: the input may be
        10 MB with thousands of distinct values.
        """
        lead = re.compile(re.escape(f"{self.prefix}{name}{self.middle}") + r"(\d+)")
        taken: set[int] = set()
        for text in texts:
            for match in lead.finditer(text):
                digits = match.group(1)
                for index in digit_prefixes(digits):
                    end = match.start(1) + len(str(index))
                    if text.startswith(self.suffix, end):
                        taken.add(index)
        return taken


# No call ever numbers a hundred billion values, so longer digit runs cannot collide.
MAX_INDEX_DIGITS = 11


def digit_prefixes(digits: str) -> Iterable[int]:
    """The indexes whose decimal form starts ``digits``: ``"105"`` -> 1, 10, 105; ``"07"`` -> 0."""
    if digits.startswith("0"):
        yield 0
        return
    for length in range(1, min(len(digits), MAX_INDEX_DIGITS) + 1):
        yield int(digits[:length])
