"""``kind: flashText``: keyword lists. The config, and the flashtext package as the reference
of whole-word matching (``match: word``); the stage that runs is ``keyword_automaton``'s.

``match: prefix`` (the default, anonymize-rs's matching): a keyword matches a word that begins
with it and the whole word is masked, so ``apple`` masks ``apples``. A migrated keyword list
then masks what it masked before. ``match: word``: whole words only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flashtext import KeywordProcessor

from pipeline.config import check_keys, get_bool, get_str, get_str_list, join, read_lines
from pipeline.errors import ConfigError
from pipeline.spans import Span
from pipeline.stages.base import Stage


class _WordCharacters:
    """flashtext's word-character set, widened to every Unicode letter and digit.

    flashtext only knows ``[A-Za-z0-9_]``, so ``Zoë`` would match the keyword ``Zo``.
    """

    def __contains__(self, char: object) -> bool:
        return isinstance(char, str) and (char.isalnum() or char == "_")


def fold_case(text: str) -> str:
    """Lower-case ``text`` without changing its length, so offsets stay those of the original.

    ``str.lower`` grows a few characters (``İ`` -> ``i̇``); those are kept as they are.
    """
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(low if len(low := c.lower()) == 1 else c for c in text)


#: ``match:`` values: the seed's word-prefix matching (default) and whole words only.
MATCH_MODES = ("prefix", "word")


class KeywordStage(Stage):
    """Replaces listed words, on flashtext: the whole-word reference the automaton stage is
    proven against (``tests/pipeline/test_keyword_automaton.py``); it knows ``match: word`` only.
    """

    kind = "flashText"

    def __init__(self, index: int, name: str, keywords: list[str], case_sensitive: bool,
                 match: str = "word") -> None:
        super().__init__(index)
        if match != "word":
            raise ValueError("the flashtext reference stage matches whole words only")
        self.name = name
        self.case_sensitive = case_sensitive
        self.match = match
        self._processor = KeywordProcessor(case_sensitive=True)
        self._processor.non_word_boundaries = _WordCharacters()
        for keyword in keywords:
            self._processor.add_keyword(keyword if case_sensitive else fold_case(keyword))

    @classmethod
    def from_config(cls, raw: dict[str, Any], path: str, base_dir: Path, index: int) -> Stage:
        check_keys(raw, path, {"kind", "name", "file", "keywords", "case_sensitive", "match"})
        name = get_str(raw, "name", path)
        entries = [(f"{join(path, 'keywords')}[{i}]", k)
                   for i, k in enumerate(get_str_list(raw, "keywords", path))]
        entries += read_lines(raw, "file", path, base_dir)
        keywords = []
        for entry_path, keyword in entries:
            if not keyword.strip():
                raise ConfigError(entry_path, "empty keyword")
            keywords.append(keyword.strip())
        if not keywords:
            raise ConfigError(path, "a flashText stage needs 'keywords' or a 'file' with keywords")
        case_sensitive = get_bool(raw, "case_sensitive", path, False)
        match = get_str(raw, "match", path, MATCH_MODES[0])
        if match not in MATCH_MODES:
            known = ", ".join(MATCH_MODES)
            raise ConfigError(join(path, "match"),
                              f"unknown value {match!r} (expected one of: {known})")
        return cls(index, name, keywords, case_sensitive, match)

    def detect(self, text: str) -> list[Span]:
        haystack = text if self.case_sensitive else fold_case(text)
        found = self._processor.extract_keywords(haystack, span_info=True)
        return [Span(start, end, self.name, self.index) for _, start, end in found]
