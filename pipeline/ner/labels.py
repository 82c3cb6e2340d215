"""The label map (seed ``id2label`` plus ``labels`` names) and word-level entity decoding.

Models tag sub-word tokens with BIO labels (``B-PER``, ``I-PER``, ``O``). Users want entities:
``Alex Rivera`` as one ``PERSON0``, ``Springfield`` never cut into ``spring`` + ``##field``.
``naming: seed`` keeps anonymize-rs's placeholders instead: every tagged word on its own,
named by its ``id2label`` label (``B-PER0``; ``B-nam_liv_person0 I-nam_liv_person0``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.config import join
from pipeline.errors import ConfigError
from pipeline.ner.word_bars import WordBars, has_word_character
from pipeline.spans import Span

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PREFIX = re.compile(r"^([BIESLU])[-_](.+)$")
_HORIZONTAL_SPACE = re.compile(r"[ \t\u00a0]*")
_ANY_SPACE = re.compile(r"\s*")
_SEED_NAME = re.compile(r"[^\s{}]*[^\s{}\d]")  # a label as anonymize-rs prints it: B-PER

#: ``naming:`` values of a ner stage: merged entities named by type (ours), or the seed's.
NAMINGS = ("entity", "seed")


@dataclass(frozen=True)
class LabelRule:
    """What one model output id means: its raw label, entity type, BIO tag, and placeholder."""

    raw: str
    entity: str | None  # None: outside any entity, or not to be replaced
    tag: str  # "B", "I" or "" (a label without a BIO prefix)
    name: str  # placeholder name, e.g. PERSON


def split_label(raw: str) -> tuple[str, str]:
    """``B-PER`` -> (``B``, ``PER``); ``PER`` -> ("", ``PER``). BIOES prefixes count as B/I."""
    match = _PREFIX.match(raw)
    if not match:
        return "", raw
    tag = match.group(1)
    return ("B" if tag in "BSU" else "I"), match.group(2)


def valid_name(name: str) -> bool:
    """A placeholder name: a word that does not end in a digit (the index follows it)."""
    return bool(_NAME.fullmatch(name)) and not name[-1].isdigit()


class LabelMap:
    """Model output id -> ``LabelRule``, built from the seed's ``id2label`` and ``labels``."""

    def __init__(self, rules: Sequence[LabelRule], naming: str = "entity") -> None:
        self.rules = list(rules)
        self.naming = naming
        types = sorted({r.entity for r in self.rules if r.entity is not None})
        # [labels, types]: sums the B-, I- (and bare) probabilities of each entity type.
        self.type_matrix = np.zeros((len(self.rules), max(len(types), 1)), dtype=np.float32)
        for i, rule in enumerate(self.rules):
            if rule.entity is not None:
                self.type_matrix[i, types.index(rule.entity)] = 1.0

    def __len__(self) -> int:
        return len(self.rules)

    @classmethod
    def from_config(cls, id2label: Any, labels: Any, path: str, *, default_replace: bool = True,
                    num_labels: int, naming: str = "entity") -> LabelMap:
        """Parse ``id2label`` (``{"3": ["B-PER", true]}``, ``{"3": "B-PER"}`` or a name as
        third item, ``["B-GIVEN_NAME", true, "PERSON"]``) and ``labels`` (entity -> name)."""
        id_path = join(path, "id2label")
        if not isinstance(id2label, dict) or not id2label:
            raise ConfigError(id_path, "expected a mapping id -> [label, replace]")
        entries: dict[int, tuple[str, bool, str | None]] = {}
        for key, value in id2label.items():
            entry_path = join(id_path, str(key))
            try:
                index = int(key)
            except (TypeError, ValueError):
                raise ConfigError(entry_path, "the id must be a whole number") from None
            if index < 0 or isinstance(key, bool):
                raise ConfigError(entry_path, "the id must be a whole number >= 0")
            if index in entries:
                raise ConfigError(entry_path, f"id {index} is listed twice")
            entries[index] = _parse_entry(value, entry_path, default_replace)
        for index in entries:
            if index >= num_labels:
                raise ConfigError(join(id_path, str(index)),
                                  f"id {index} is outside the model's {num_labels} outputs "
                                  f"(ids 0..{num_labels - 1})")
        missing = [i for i in range(num_labels) if i not in entries]
        if missing:
            shown = ", ".join(map(str, missing[:8])) + (", ..." if len(missing) > 8 else "")
            raise ConfigError(id_path, f"the model has {num_labels} outputs but ids {shown} "
                                       "are not listed; list every id (use false to keep one)")
        names = _parse_labels(labels, join(path, "labels"))
        types = {split_label(raw)[1] for raw, _, _ in entries.values()}
        for entity in names:
            if entity not in types:
                raise ConfigError(join(join(path, "labels"), entity),
                                  "no label of the model has this entity type "
                                  f"(types: {', '.join(sorted(types))})")
        rules = []
        for index in range(num_labels):
            raw, replace, name = entries[index]
            tag, entity = split_label(raw)
            outside = raw.upper() == "O" or not replace
            if naming == "seed":
                name = raw
                if not outside and not _SEED_NAME.fullmatch(name):
                    raise ConfigError(join(id_path, str(index)),
                                      f"{name!r} cannot be a placeholder name with naming: "
                                      "seed (no spaces or braces, not ending in a digit)")
            else:
                name = name or names.get(entity) or entity
                if not outside and not valid_name(name):
                    raise ConfigError(join(id_path, str(index)),
                                      f"{name!r} cannot be a placeholder name (letters, digits "
                                      "and _, not ending in a digit); map it with 'labels'")
            rules.append(LabelRule(raw, None if outside else entity, tag, name))
        return cls(rules, naming)

    def decode(self, text: str, offsets: Sequence[tuple[int, int]],
               word_ids: Sequence[int | None], probs: np.ndarray, bars: WordBars,
               stage: int) -> list[Span]:
        """Token probabilities of one whole text -> merged entity spans on its characters.

        A word is tagged when its entity probability reaches its bar (``WordBars``); a word
        without letters or digits only joins two tagged words, it never starts or ends one.
        """
        words = _word_labels(offsets, word_ids, probs, self.type_matrix)
        if self.naming == "seed":
            return self._seed_spans(text, words, bars, stage)
        spans: list[Span] = []
        current: list[Any] | None = None  # [start, end, entity, name, min score]
        joined_end = 0  # end of the last joining word (punctuation) after ``current``
        for start, end, label_id, score in words:
            rule = self.rules[label_id]
            word = text[start:end]
            if rule.entity is None or score == 0.0 or score < bars.bar(word):
                if current is not None:
                    spans.append(Span(current[0], current[1], current[3], stage, current[4]))
                    current = None
                continue
            solid = has_word_character(word)
            if current is not None and self._continues(text, current, rule,
                                                       max(current[1], joined_end), start):
                if solid:
                    current[1] = end
                    current[4] = min(current[4], score)
                else:
                    joined_end = end
                continue
            if current is not None:
                spans.append(Span(current[0], current[1], current[3], stage, current[4]))
                current = None
            if solid:
                current = [start, end, rule.entity, rule.name, score]
                joined_end = 0
        if current is not None:
            spans.append(Span(current[0], current[1], current[3], stage, current[4]))
        return spans

    def _seed_spans(self, text: str, words: list[tuple[int, int, int, float]],
                    bars: WordBars, stage: int) -> list[Span]:
        """anonymize-rs's placeholders: each tagged word its own span, named by its label."""
        spans = []
        for start, end, label_id, score in words:
            rule = self.rules[label_id]
            word = text[start:end]
            if (rule.entity is not None and score > 0.0 and score >= bars.bar(word)
                    and has_word_character(word)):
                spans.append(Span(start, end, rule.name, stage, score))
        return spans

    @staticmethod
    def _continues(text: str, current: list[Any], rule: LabelRule, end: int,
                   start: int) -> bool:
        """Does a tagged word starting at ``start`` extend the open entity (ending at ``end``)?

        ``I-X`` (or a bare ``X``) after ``X`` continues across any whitespace; any other label
        of the same placeholder name (GIVEN_NAME then SURNAME, ``B-PER B-PER``) joins only
        across spaces on one line, so a list of names, one a line, stays several entities.
        """
        gap_end = _ANY_SPACE.match(text, end).end()
        if rule.entity == current[2] and rule.tag in ("I", "") and gap_end >= start:
            return True
        if rule.name == current[3]:
            return _HORIZONTAL_SPACE.match(text, end).end() >= start
        return False


# Words labelled per numpy pass: bounds the temporaries of a long text (one array a word,
# kept for every word at once, was most of the memory a 1 MB text cost).
WORDS_PER_PASS = 4096


def _word_labels(offsets: Sequence[tuple[int, int]], word_ids: Sequence[int | None],
                 probs: np.ndarray, type_matrix: np.ndarray,
                 ) -> Iterator[tuple[int, int, int, float]]:
    """One ``(start, end, label id, score)`` a word, from the mean of its sub-tokens'
    probabilities: the entity type with the highest probability (B- and I- summed) and, of
    its labels, the likeliest. ``score`` is that type's probability, so a threshold of 0.3
    tags a word the model gives a 30 % chance of being a name even when ``O`` is likelier.

    Zero-width tokens are skipped; tokens without a word id count as words of their own.
    """
    groups: list[tuple[int, int, int, int]] = []  # start, end, first token, last token + 1
    previous: int | None = None
    for i, (start, end) in enumerate(offsets):
        if end <= start:
            continue
        word = word_ids[i]
        if groups and word is not None and word == previous:
            g = groups[-1]
            groups[-1] = (g[0], max(g[1], end), g[2], i + 1)
        else:
            if len(groups) > WORDS_PER_PASS:  # the last group may still grow: keep it
                yield from _label_groups(groups[:-1], probs, type_matrix)
                del groups[:-1]
            groups.append((start, end, i, i + 1))
        previous = word
    if groups:
        yield from _label_groups(groups, probs, type_matrix)


def _label_groups(groups: list[tuple[int, int, int, int]], probs: np.ndarray,
                  type_matrix: np.ndarray) -> list[tuple[int, int, int, float]]:
    means = np.stack([probs[first:last].mean(axis=0) for _, _, first, last in groups])
    type_probs = means @ type_matrix
    best_type = type_probs.argmax(axis=1)
    out = []
    for row, (start, end, _, _) in enumerate(groups):
        column = type_matrix[:, best_type[row]]
        label = int((means[row] * column).argmax())
        out.append((start, end, label, float(type_probs[row, best_type[row]])))
    return out


def _parse_entry(value: Any, path: str, default_replace: bool) -> tuple[str, bool, str | None]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not 1 <= len(value) <= 3:
        raise ConfigError(path, "expected [label, replace] (e.g. [\"B-PER\", true]), "
                                "optionally with a placeholder name as third item")
    raw = value[0]
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(path, "the label must be a non-empty string")
    replace = value[1] if len(value) > 1 else default_replace
    if not isinstance(replace, bool):
        raise ConfigError(path, "the second item (replace) must be true or false")
    name = value[2] if len(value) > 2 else None
    if name is not None and not (isinstance(name, str) and valid_name(name)):
        raise ConfigError(path, "the third item must be a placeholder name such as PERSON")
    return raw.strip(), replace, name


def _parse_labels(labels: Any, path: str) -> dict[str, str]:
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise ConfigError(path, "expected a mapping entity type -> placeholder name")
    out = {}
    for key, value in labels.items():
        if not isinstance(value, str) or not valid_name(value):
            raise ConfigError(join(path, str(key)),
                              "expected a placeholder name (letters, digits and _, not "
                              "ending in a digit)")
        out[str(key)] = value
    return out
