"""The automaton keyword stage finds exactly the spans of the flashtext one, on any text."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import Pipeline
from pipeline.stages.keyword_automaton import AutomatonKeywordStage
from pipeline.stages.keywords import KeywordStage

# Few letters so that keywords collide, overlap and share prefixes; punctuation and spaces
# inside keywords (company names), non-ASCII letters, one that grows when lower-cased (İ).
ALPHABET = "abAB é_1 .-&İß"

keyword = st.text(ALPHABET, min_size=1, max_size=7).map(str.strip).filter(bool)


@st.composite
def texts_with_keywords(draw: st.DrawFn) -> tuple[list[str], str]:
    keywords = draw(st.lists(keyword, min_size=1, max_size=8))
    pieces = draw(st.lists(st.one_of(st.sampled_from(keywords), st.text(ALPHABET, max_size=5)),
                           max_size=12))
    return keywords, draw(st.sampled_from(["", " ", ".", "a"])).join(pieces)


def spans(stage: KeywordStage, text: str) -> list[tuple[int, int, str]]:
    return sorted((s.start, s.end, s.label) for s in stage.detect(text))


@settings(max_examples=600, deadline=None)
@given(texts_with_keywords(), st.booleans())
def test_same_spans_as_flashtext_stage(case: tuple[list[str], str], case_sensitive: bool) -> None:
    keywords, text = case
    flashtext = KeywordStage(0, "K", keywords, case_sensitive)
    automaton = AutomatonKeywordStage(0, "K", keywords, case_sensitive)
    assert spans(automaton, text) == spans(flashtext, text)


def test_whole_words_longest_first_case_folded() -> None:
    stage = AutomatonKeywordStage(0, "NAME", ["Anna", "Anna Maria", "Maria Lopez", "Zo"], False)
    text = "ANNA MARIA Lopez met anna, Annabel and Zoë."
    assert [text[s.start : s.end] for s in stage.detect(text)] == ["ANNA MARIA", "anna"]


def test_drop_in_for_the_flashtext_config(tmp_path: Path) -> None:
    (tmp_path / "fruits.txt").write_text("apple\nbanana split\n", encoding="utf-8")
    config = {"pipeline": [{"kind": "flashText", "name": "FRUIT", "file": "fruits.txt"}]}
    pipeline = Pipeline.from_dict(config, tmp_path)
    pipeline.stages = [AutomatonKeywordStage(0, "FRUIT", ["apple", "banana split"], False)]
    result = pipeline.anonymize("An Apple and a banana split, not apples.")
    assert result.text == "An FRUIT0 and a FRUIT1, not apples."
    assert result.items == {"FRUIT0": "Apple", "FRUIT1": "banana split"}
