"""The automaton keyword stage finds exactly the spans of the flashtext one (``match: word``)
and of a plain left-to-right scan (``match: prefix``, anonymize-rs's matching), on any text."""

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
    automaton = AutomatonKeywordStage(0, "K", keywords, case_sensitive, match="word")
    assert spans(automaton, text) == spans(flashtext, text)


def prefix_scan(keywords: list[str], text: str) -> list[tuple[int, int, str]]:
    """``match: prefix`` spelled out: at each word start the longest keyword that begins
    there, widened to the end of its word; the scan resumes after the character that follows."""

    def word_char(c: str) -> bool:
        return c.isalnum() or c == "_"

    found, i = [], 0
    while i < len(text):
        lengths = [len(k) for k in keywords if text.startswith(k, i)]
        if lengths and (i == 0 or not word_char(text[i - 1])):
            end = i + max(lengths)
            while end < len(text) and word_char(text[end]):
                end += 1
            found.append((i, end, "K"))
            i = end + 1
        else:
            i += 1
    return found


@settings(max_examples=600, deadline=None)
@given(texts_with_keywords())
def test_prefix_matching_is_the_plain_scan(case: tuple[list[str], str]) -> None:
    keywords, text = case
    automaton = AutomatonKeywordStage(0, "K", keywords, True, match="prefix")
    assert spans(automaton, text) == prefix_scan(keywords, text)


def test_prefix_matching_masks_the_word_a_keyword_begins() -> None:
    stage = AutomatonKeywordStage(0, "FRUIT", ["apple", "banana split"], False, match="prefix")
    text = "Apples, pineapple, banana splits and apple_pie; applesauce."
    assert [text[s.start : s.end] for s in stage.detect(text)] == [
        "Apples", "banana splits", "apple_pie", "applesauce"]


def test_whole_words_longest_first_case_folded() -> None:
    stage = AutomatonKeywordStage(0, "NAME", ["Anna", "Anna Maria", "Maria Lopez", "Zo"], False)
    text = "ANNA MARIA Lopez met anna, Annabel and Zoë."
    assert [text[s.start : s.end] for s in stage.detect(text)] == ["ANNA MARIA", "anna"]


def test_config_default_is_prefix_and_match_word_is_whole_words(tmp_path: Path) -> None:
    (tmp_path / "fruits.txt").write_text("apple\nbanana split\n", encoding="utf-8")
    stage = {"kind": "flashText", "name": "FRUIT", "file": "fruits.txt"}
    text = "An Apple and a banana split, not apples."
    seed = Pipeline.from_dict({"pipeline": [stage]}, tmp_path).anonymize(text)
    assert seed.text == "An FRUIT0 and a FRUIT1, not FRUIT2."
    assert seed.items == {"FRUIT0": "Apple", "FRUIT1": "banana split", "FRUIT2": "apples"}
    words = Pipeline.from_dict({"pipeline": [{**stage, "match": "word"}]}, tmp_path)
    assert words.anonymize(text).text == "An FRUIT0 and a FRUIT1, not apples."
