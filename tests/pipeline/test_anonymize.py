"""Anonymization as a library user sees it: spans, overlaps, one mapping, numbering, unicode."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from pipeline import Pipeline, PipelineError, Span, deanonymize
from pipeline.spans import resolve_overlaps
from pipeline.stages.patterns import RegexStage


def make(*stages: dict, placeholder: str | None = None) -> Pipeline:
    config: dict = {"pipeline": list(stages)}
    if placeholder is not None:
        config["placeholder"] = placeholder
    return Pipeline.from_dict(config)


FRUITS = {"kind": "flashText", "name": "FRUIT", "keywords": ["apple", "banana", "kiwi"]}


def test_same_value_same_placeholder_across_all_texts_of_a_call() -> None:
    result = make(FRUITS).anonymize_many(["apple then banana", "banana, apple, kiwi"])
    assert result.texts == ["FRUIT0 then FRUIT1", "FRUIT1, FRUIT0, FRUIT2"]
    assert result.items == {"FRUIT0": "apple", "FRUIT1": "banana", "FRUIT2": "kiwi"}


def test_growing_conversation_keeps_earlier_turns_identical() -> None:
    pipeline = make(FRUITS)
    turns = ["I ate a kiwi", "and an apple", "the kiwi was better than the banana"]
    previous: list[str] = []
    for n in range(1, len(turns) + 1):
        now = pipeline.anonymize_many(turns[:n]).texts
        assert now[: n - 1] == previous
        previous = now


def test_longer_span_wins_and_tie_goes_to_the_stage_listed_first() -> None:
    pipeline = make(
        {"kind": "regex", "name": "SHORT", "patterns": [r"New York"]},
        {"kind": "flashText", "name": "LONG", "keywords": ["New York City"]},
        {"kind": "regex", "name": "TIE", "patterns": [r"York City"]},
        {"kind": "flashText", "name": "FIRST", "keywords": ["Paris"]},
        {"kind": "regex", "name": "SECOND", "patterns": [r"Paris"]},
    )
    result = pipeline.anonymize("New York City and Paris")
    assert result.text == "LONG0 and FIRST0"


def test_stages_see_the_original_text_never_an_earlier_placeholder() -> None:
    # A greedy pattern that would match the keyword stage's placeholder if it ran on its output.
    pipeline = make(FRUITS, {"kind": "regex", "name": "CAPS", "patterns": [r"\b[A-Z]{4,}\d\b"]})
    result = pipeline.anonymize("an apple")
    assert result.text == "an FRUIT0"
    assert result.items == {"FRUIT0": "apple"}


def test_analyze_reports_spans_on_the_original_text() -> None:
    spans = make(FRUITS).analyze("😀 apple é banana")
    assert [(s.start, s.end, s.label, s.stage) for s in spans] == [(2, 7, "FRUIT", 0),
                                                                   (10, 16, "FRUIT", 0)]
    assert all(isinstance(s, Span) and s.score == 1.0 for s in spans)


@pytest.mark.parametrize(
    "text",
    [
        "👩‍👩‍👧 family: apple 🍎 and banana",
        "combining: e\u0301 apple n\u0303 banana\u0301x",
        "İstanbul apple İİİ banana ǅ kiwi",
        "\U0001f600" * 50 + " kiwi",
        "",
        "   ",
    ],
)
def test_unicode_offsets_stay_right(text: str) -> None:
    pipeline = make(FRUITS)
    result = pipeline.anonymize(text)
    assert deanonymize(result.text, result.items) == text
    for span in pipeline.analyze(text):
        assert text[span.start : span.end] in {"apple", "banana", "kiwi"}


def test_flashtext_is_case_insensitive_by_default_and_keeps_original_case() -> None:
    result = make(FRUITS).anonymize("APPLE, Apple and apple")
    assert result.text == "FRUIT0, FRUIT1 and FRUIT2"
    assert list(result.items.values()) == ["APPLE", "Apple", "apple"]


def test_flashtext_case_sensitive_option() -> None:
    pipeline = make(dict(FRUITS, case_sensitive=True))
    assert pipeline.anonymize("APPLE and apple").text == "APPLE and FRUIT0"


def test_flashtext_match_word_is_whole_words_also_for_unicode_letters() -> None:
    pipeline = make({"kind": "flashText", "name": "N", "keywords": ["Zo", "ann"],
                     "match": "word"})
    assert pipeline.anonymize("Zoë met Zo; anné and ann_x and ann.").text == (
        "Zoë met N0; anné and ann_x and N1."
    )


def test_flashtext_default_masks_the_whole_word_also_for_unicode_letters() -> None:
    pipeline = make({"kind": "flashText", "name": "N", "keywords": ["Zo", "ann"]})
    result = pipeline.anonymize("Zoë met Zo; anné and ann_x, Joanna.")
    assert result.text == "N0 met N1; N2 and N3, Joanna."
    assert result.items == {"N0": "Zoë", "N1": "Zo", "N2": "anné", "N3": "ann_x"}


def test_flashtext_prefers_the_longest_keyword() -> None:
    pipeline = make({"kind": "flashText", "name": "C", "keywords": ["New York", "New York City"]})
    assert pipeline.anonymize("New York City, New York").items == {
        "C0": "New York City", "C1": "New York"}


def test_custom_placeholder_format() -> None:
    result = make(FRUITS, placeholder="[{name}_{index}]").anonymize("apple, kiwi, apple")
    assert result.text == "[FRUIT_0], [FRUIT_1], [FRUIT_0]"


def test_existing_placeholder_strings_in_the_input_are_never_reused() -> None:
    text = "FRUIT0 is not a fruit, FRUIT10 neither; apple and banana"
    result = make(FRUITS).anonymize(text)
    assert "FRUIT0" not in result.items and "FRUIT1" not in result.items  # FRUIT1 is in FRUIT10
    assert result.text == "FRUIT0 is not a fruit, FRUIT10 neither; FRUIT2 and FRUIT3"
    assert deanonymize(result.text, result.items) == text


def test_digits_after_a_value_never_make_it_read_as_a_longer_placeholder() -> None:
    pipeline = make({"kind": "regex", "name": "W", "patterns": [r"[a-z]"]})
    text = "a b0 c d e f g h i j k l"  # b -> W1, then "0": W10 must not be given to k
    result = pipeline.anonymize(text)
    assert result.text.startswith("W0 W10 ")
    assert "W10" not in result.items and result.items["W11"] == "k"
    assert deanonymize(result.text, result.items) == text


def test_regex_digits_glued_to_placeholders_round_trip() -> None:
    pipeline = make({"kind": "regex", "name": "X", "patterns": [r"[a-z]+"]})
    text = " ".join(f"{chr(97 + i % 26) * (1 + i // 26)}{i % 7}" for i in range(40))
    result = pipeline.anonymize(text)
    assert deanonymize(result.text, result.items) == text


def test_ambiguous_stage_names_are_refused_rather_than_lossy() -> None:
    # "A1" + "0" reads as "A10": a config with names that prefix each other can collide.
    pipeline = make({"kind": "regex", "name": "A", "patterns": [r"\bx\d*"]},
                    {"kind": "regex", "name": "A1", "patterns": [r"\by"]})
    texts = [" ".join([f"x{i}" for i in range(11)]) + " y"]
    try:
        result = pipeline.anonymize_many(texts)
    except PipelineError as exc:
        assert "x1" not in str(exc)
    else:
        assert deanonymize(result.texts[0], result.items) == texts[0]


def test_anonymize_many_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError):
        make(FRUITS).anonymize_many("apple")


async def test_async_entry_point_matches_sync() -> None:
    pipeline = make(FRUITS, {"kind": "regex", "name": "NUM", "patterns": [r"\d{3,}"]})
    texts = ["apple 1234", "kiwi banana 99999", "apple" * 3]
    sync = pipeline.anonymize_many(texts)
    asynchronous = await pipeline.anonymize_many_async(texts)
    assert (asynchronous.texts, asynchronous.items) == (sync.texts, sync.items)


def test_resolve_overlaps_drops_out_of_range_and_empty_spans() -> None:
    spans = [Span(0, 0, "E"), Span(-1, 2, "N"), Span(3, 99, "F"), Span(1, 3, "OK")]
    assert resolve_overlaps(spans, 10) == [Span(1, 3, "OK")]


def test_ten_megabyte_text_is_linear() -> None:
    pipeline = make(FRUITS, {"kind": "regex", "name": "NUM", "patterns": [r"\b\d{4,}\b"]})
    unit = "Some apple text with 12345 and banana, kiwi and more words here. "
    text = unit * (10_000_000 // len(unit))
    started = time.perf_counter()
    result = pipeline.anonymize(text)
    elapsed = time.perf_counter() - started
    assert result.items == {"FRUIT0": "apple", "NUM0": "12345", "FRUIT1": "banana",
                            "FRUIT2": "kiwi"}
    assert result.text.count("FRUIT0") == text.count("apple")
    assert deanonymize(result.text, result.items) == text
    print(f"10 MB anonymized in {elapsed:.1f} s")


async def test_stage_timing_hook_sees_every_stage() -> None:
    pipeline = make(FRUITS, {"kind": "regex", "name": "NUM", "patterns": [r"\d+"]})
    seen: list[tuple[str, float]] = []
    pipeline.on_stage_done = lambda stage, seconds: seen.append((stage.kind, seconds))
    await pipeline.anonymize_many_async(["apple 12"])
    assert sorted(kind for kind, _ in seen) == ["flashText", "regex"]
    assert all(seconds >= 0 for _, seconds in seen)


class _Boom(Exception):
    pass


class _RaisingStage(RegexStage):
    def detect(self, text: str) -> list[Span]:
        raise _Boom("detector failed")


class _SlowAsyncStage(RegexStage):
    cancelled = False

    async def detect_many_async(self, texts):  # type: ignore[override]
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            type(self).cancelled = True
            raise
        return self.detect_many(texts)


async def test_a_failing_stage_fails_the_call_and_stops_the_async_ones() -> None:
    pattern = [re.compile("x")]
    pipeline = Pipeline([_SlowAsyncStage(0, "SLOW", pattern), _RaisingStage(1, "BAD", pattern)])
    with pytest.raises(_Boom):
        await pipeline.anonymize_many_async(["x"])
    assert _SlowAsyncStage.cancelled
