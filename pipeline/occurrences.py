"""Every occurrence: a value detected once is masked wherever it recurs, in any text of a call.

Detectors fire on some occurrences and miss others (the model tags "Dr. Jensen Trump" but not
a later "and Trump agreed"). After detection, the detected values (and the values an earlier
turn already mapped) become *terms*, searched in every text with one Aho-Corasick automaton;
a match fills a gap no detector covered, whole words only. The rules keep everyday words from
spreading:

- a value or name part shorter than ``min_length`` characters never spreads (``Li``, ``Jo``);
  one without letters needs ``min_digits_length`` (a house number ``12`` must not mask every
  ``12`` of a program);
- a multi-word value spreads in any case (``jensen trump``); a single word that is no
  everyday word (``Nummelin``) to any capitalized form (``NUMMELIN``, not ``nummelin``, so
  ``Servlet`` leaves code alone) when a ``common_words`` list says so (without one, single
  words spread in their own case only);
- a lone word of letters only spreads only when capitalized: a detector's lower-case or
  all-caps find (``servlet``, ``FATAL``) is more often a slip than a name;
- a single word of the ``common_words`` list (``Trump``, ``Smith``) spreads only in its own
  capitalized form; one of the first ``everyday_words`` lines of that list, the most frequent
  words (``Will``, ``May``, ``Hope``), moreover not at the start of a sentence (``Will you``);
- for the labels in ``name_labels`` (``PERSON``) each capitalized part of a multi-word value
  is a term of its own, under the same rules (``Trump`` of ``Jensen Trump``). Titles
  (``Dr``, ``Mrs``) and initials never are.

A match fills a gap no detector covered, or replaces detected spans it wholly contains (the
model tagged ``jensen`` of ``jensen trump``); it never cuts a detected span.
Each match is a value of its own (``jensen trump`` gets its own placeholder), so restoring
gives back the exact original text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick

from pipeline.config import check_keys, get_bool, get_number, get_str_list, read_lines
from pipeline.errors import ConfigError
from pipeline.spans import Span
from pipeline.stages.keyword_automaton import is_word_char
from pipeline.stages.keywords import fold_case

# Words before a name that are no part of it, and whose dot ends no sentence.
TITLES = frozenset({"dr", "mr", "mrs", "ms", "mx", "prof", "sir", "madam", "miss", "dame",
                    "lord", "lady", "rev", "fr", "st", "jr", "sr", "mme", "mlle", "herr",
                    "frau", "sra", "dott", "ing"})
# Characters between a sentence end and the next word that do not start a new sentence:
# spaces, quotes, brackets, list and heading marks.
_LEAD_IN = set(" \t\"'“”‘’«»([{*_#>-•")
_SENTENCE_ENDS = set(".!?…\n\r")
_MEMO_ENTRIES = 100_000
_PART_STRIP = ".,;:!?\"'()[]{}“”‘’«»"


@dataclass(frozen=True)
class OccurrenceRules:
    """How far a detected value spreads; see the module docstring."""

    every: bool = True
    name_labels: frozenset[str] = frozenset()
    common_words: frozenset[str] = field(default=frozenset(), repr=False)
    everyday: frozenset[str] = field(default=frozenset(), repr=False)
    min_length: int = 3
    min_digits_length: int = 6

    @classmethod
    def from_config(cls, config: dict[str, Any], base_dir: Path) -> OccurrenceRules:
        """The top-level ``occurrences:`` mapping (absent: every occurrence, no name parts)."""
        raw = config.get("occurrences")
        if raw is None:
            return cls()
        path = "occurrences"
        if not isinstance(raw, dict):
            raise ConfigError(path, "expected a mapping (every, name_labels, common_words, ...)")
        check_keys(raw, path, {"every", "name_labels", "common_words", "everyday_words",
                               "min_length", "min_digits_length"})
        words = [line.strip().lower()
                 for _, line in read_lines(raw, "common_words", path, base_dir)]
        everyday = get_number(raw, "everyday_words", path, 1000, integer=True, minimum=0)
        return cls(
            every=get_bool(raw, "every", path, True),
            name_labels=frozenset(get_str_list(raw, "name_labels", path)),
            common_words=frozenset(words),
            everyday=frozenset(words[:everyday]),
            min_length=get_number(raw, "min_length", path, 3, integer=True, minimum=1),
            min_digits_length=get_number(raw, "min_digits_length", path, 6, integer=True,
                                         minimum=1),
        )


@dataclass(frozen=True, slots=True)
class Term:
    """A string to find again: ``exact`` ones only in their own case, ``mid_sentence`` ones
    only where no sentence starts."""

    surface: str
    label: str
    exact: bool
    mid_sentence: bool
    capitalized: bool = False


class OccurrenceFinder:
    """Builds the terms of one call and finds their undetected occurrences."""

    def __init__(self, rules: OccurrenceRules) -> None:
        self.rules = rules
        # A conversation brings the same known values every turn: their terms are kept.
        self._memo: dict[tuple[str, str], tuple[Term, ...]] = {}

    def terms(self, values: Mapping[str, str]) -> list[Term]:
        """Terms for ``{value: label}``: the values themselves plus name parts."""
        found: dict[tuple[str, bool], Term] = {}
        memo = self._memo
        if len(memo) > _MEMO_ENTRIES:
            memo.clear()
        for value, label in values.items():
            terms = memo.get((value, label))
            if terms is None:
                terms = memo[(value, label)] = tuple(self._terms_of(value.strip(), label))
            for term in terms:
                found.setdefault((term.surface, term.exact), term)
        return list(found.values())

    def _terms_of(self, value: str, label: str) -> Iterable[Term]:
        words = value.split()
        if len(words) > 1:
            if self._long_enough(value):
                yield Term(value, label, exact=False, mid_sentence=False)
            if label in self.rules.name_labels:
                for word in words:
                    part = word.strip(_PART_STRIP)
                    if (part and part[0].isupper() and part.lower() not in TITLES
                            and all(c.isalpha() or c in "-'’" for c in part)):
                        term = self._single(part, label)
                        if term is not None:
                            yield term
        elif words:
            term = self._single(value, label)
            if term is not None:
                yield term

    def _single(self, word: str, label: str) -> Term | None:
        if not self._long_enough(word):
            return None
        if word.isalpha() and (word.islower() or word.isupper()):
            return None  # "servlet", "FATAL": a lone lower-case or all-caps word is no name
        common = self.rules.common_words
        lower = word.lower()
        if lower in common:
            return Term(word, label, exact=True, mid_sentence=lower in self.rules.everyday)
        # Without a word list nothing says a word is rare: it spreads in its own case only.
        # A rare word spreads to capitalized forms only ("Servlet" leaves "servlet" alone).
        return Term(word, label, exact=not common, mid_sentence=False,
                    capitalized=word[0].isupper())

    def _long_enough(self, value: str) -> bool:
        if any(c.isalpha() for c in value):
            return len(value) >= self.rules.min_length
        return len(value) >= self.rules.min_digits_length

    def extend(self, texts: Sequence[str], spans: Sequence[list[Span]], terms: Sequence[Term],
               stage: int, allow: frozenset[str] = frozenset()) -> list[list[Span]]:
        """``spans`` plus a span for each occurrence of a term that no span covers."""
        if not terms:
            return [list(s) for s in spans]
        automaton = ahocorasick.Automaton()
        by_key: dict[str, list[Term]] = {}
        for term in terms:
            by_key.setdefault(fold_case(term.surface), []).append(term)
        for key, group in by_key.items():
            automaton.add_word(key, (len(key), group))
        automaton.make_automaton()
        return [self._extend_one(text, text_spans, automaton, stage, allow)
                for text, text_spans in zip(texts, spans, strict=True)]

    def _extend_one(self, text: str, spans: list[Span], automaton: Any, stage: int,
                    allow: frozenset[str]) -> list[Span]:
        if not text:
            return list(spans)
        size = len(text)
        candidates: list[Span] = []
        for last, (length, group) in automaton.iter(fold_case(text)):
            start, end = last - length + 1, last + 1
            if start > 0 and is_word_char(text[start - 1]) and is_word_char(text[start]):
                continue
            if end < size and is_word_char(text[end]) and is_word_char(text[end - 1]):
                continue
            found = text[start:end]
            if found in allow:
                continue
            for term in group:
                if term.exact and found != term.surface:
                    continue
                if term.capitalized and not found[0].isupper():
                    continue
                if term.mid_sentence and starts_sentence(text, start):
                    continue
                candidates.append(Span(start, end, term.label, stage))
                break
        if not candidates:
            return list(spans)
        # Detected spans by start, to find the ones a longer match wholly contains.
        owner = [-1] * size
        for number, span in enumerate(spans):
            for pos in range(span.start, span.end):
                owner[pos] = number
        kept: dict[int, Span] = dict(enumerate(spans))
        claimed = bytearray(size)
        added: list[Span] = []
        for span in sorted(candidates, key=lambda s: (s.start - s.end, s.start)):
            if claimed.find(1, span.start, span.end) != -1:
                continue
            inside = {owner[pos] for pos in range(span.start, span.end)} - {-1}
            if any(spans[n].start < span.start or spans[n].end > span.end for n in inside):
                continue  # it would cut a detected span
            if any(spans[n].start == span.start and spans[n].end == span.end for n in inside):
                continue  # detected there already
            for n in inside:
                kept.pop(n, None)
            claimed[span.start : span.end] = b"\x01" * (span.end - span.start)
            added.append(span)
        out = [*kept.values(), *added]
        out.sort(key=lambda s: s.start)
        return out


def starts_sentence(text: str, start: int) -> bool:
    """True when the word at ``start`` opens the text, a line or a sentence (``Will you``),
    not after a title's dot (``Dr. Will``)."""
    pos = start - 1
    while pos >= 0 and text[pos] in _LEAD_IN:
        pos -= 1
    if pos < 0:
        return True
    char = text[pos]
    if char not in _SENTENCE_ENDS:
        return False
    if char == ".":
        word_end = pos
        while pos > 0 and text[pos - 1].isalpha():
            pos -= 1
        if text[pos:word_end].lower() in TITLES:
            return False
    return True
