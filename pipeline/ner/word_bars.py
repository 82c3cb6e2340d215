"""The score a word needs before the model's entity tag counts: one bar a word, not a span.

A model's doubt means different things for different words. ``Nummelin`` or ``Citrone`` is
no English word, so a capitalized one that the model gives even a few percent of being a name
almost always is one; ``Bright`` or ``Whilst`` at a sentence start is an everyday word that
the model wrongly tags just as often. Words without any capital letter (``devil``, ``earn``)
are its most frequent false positives in informal text. So:

- ``threshold``: any word;
- ``common_word_threshold``: a word listed in ``common_words`` (any case), and a word without
  letters (``1``, ``501``): a lone number is a house number only when the model is surer;
- ``lowercase_threshold``: a word with letters and no capital letter;
- ``acronym_threshold``: a word of two or three capital letters (``RT``, ``CRO``, ``KO``):
  far more often an acronym than a name.

The bar of a word is the highest that applies. A word without any letter or digit (``-``,
``)``) never starts or ends an entity; it only joins two tagged words (``Monkey-For``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class WordBars:
    """Per-word minimum entity probability; see the module docstring."""

    threshold: float
    lowercase_threshold: float | None = None
    common_word_threshold: float | None = None
    common_words: frozenset[str] = field(default_factory=frozenset)
    acronym_threshold: float | None = None

    @classmethod
    def build(cls, threshold: float, lowercase_threshold: float | None = None,
              common_word_threshold: float | None = None, common_words: Iterable[str] = (),
              acronym_threshold: float | None = None) -> WordBars:
        """Bars with ``common_words`` folded to lower case."""
        return cls(threshold, lowercase_threshold, common_word_threshold,
                   frozenset(w.lower() for w in common_words), acronym_threshold)

    def bar(self, word: str) -> float:
        """The minimum probability at which ``word`` may be tagged."""
        bar = self.threshold
        lower = word.lower()
        if self.lowercase_threshold is not None and lower == word and word.upper() != word:
            bar = max(bar, self.lowercase_threshold)
        if self.common_word_threshold is not None and (
                lower in self.common_words or not any(char.isalpha() for char in word)):
            bar = max(bar, self.common_word_threshold)
        if (self.acronym_threshold is not None and 2 <= len(word) <= 3 and word.isalpha()
                and word.isupper()):
            bar = max(bar, self.acronym_threshold)
        return bar


def has_word_character(word: str) -> bool:
    """False for ``-``, ``)`` and ``...``: pieces that are never personal data alone."""
    return any(char.isalnum() for char in word)
