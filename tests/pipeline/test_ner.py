"""The ner stage with the real bundled Rampart model: merging, windows, thresholds, batching."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pipeline import ConfigError, Pipeline
from pipeline.ner.windows import plan_windows

PERSONS = {"GIVEN_NAME": "PERSON", "SURNAME": "PERSON", "CITY": "LOCATION", "STATE": "LOCATION"}


def ner_pipeline(**options: object) -> Pipeline:
    stage = {"kind": "ner", "model": "rampart", "labels": PERSONS, **options}
    return Pipeline.from_dict({"pipeline": [stage]})


@pytest.fixture(scope="module")
def ner() -> Pipeline:
    with ner_pipeline(threshold=0.5) as pipeline:
        yield pipeline


def found(pipeline: Pipeline, text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.label) for s in pipeline.analyze(text)]


def test_given_name_and_surname_become_one_person(ner: Pipeline) -> None:
    result = ner.anonymize("My name is Alex Rivera and I need help with my account.")
    assert result.text == "My name is PERSON0 and I need help with my account."
    assert result.items == {"PERSON0": "Alex Rivera"}


def test_sub_word_pieces_never_split_a_word(ner: Pipeline) -> None:
    text = "She moved from Springfield to Kalamazoo last year."
    spans = found(ner, text)
    assert ("Springfield", "LOCATION") in spans
    assert ("Kalamazoo", "LOCATION") in spans
    for value, _ in spans:  # every span covers whole words
        start = text.index(value)
        assert start == 0 or not text[start - 1].isalnum()
        assert not text[start + len(value) : start + len(value) + 1].isalnum()


def test_names_one_per_line_stay_separate_people(ner: Pipeline) -> None:
    result = ner.anonymize("Attendees:\nMaria Gonzalez\nJohn Smith")
    assert set(result.items.values()) == {"Maria Gonzalez", "John Smith"}


def test_unmapped_labels_use_the_entity_type_without_bio_prefix() -> None:
    with Pipeline.from_dict({"pipeline": [{"kind": "ner", "model": "rampart"}]}) as p:
        result = p.anonymize("Call Jennifer Walsh tomorrow.")
    assert "B-" not in result.text and "I-" not in result.text
    assert set(result.items) <= {"GIVEN_NAME0", "SURNAME0", "GIVEN_NAME1"}
    assert "Jennifer" in "".join(result.items.values())


def test_seed_id2label_flags_choose_what_is_replaced() -> None:
    id2label = {str(i): [label, label.endswith("NAME")] for i, label in
                enumerate(_rampart_labels())}
    with ner_pipeline(id2label=id2label) as p:
        result = p.anonymize("Email Dana Kim at dana.kim@example.org today.")
    assert "dana.kim@example.org" in result.text  # EMAIL ids flagged false: kept
    assert "Dana Kim" not in result.text


def test_a_name_at_the_end_of_a_20000_word_text_is_found(ner: Pipeline) -> None:
    filler = "the quick brown fox jumps over a lazy dog near the river bank . " * 1500
    text = filler + "Yours sincerely , Margaret Thornton"
    assert len(text.split()) > 20_000
    spans = ner.analyze(text)
    assert [text[s.start : s.end] for s in spans][-1:] == ["Margaret Thornton"]


def test_windows_cover_every_token_once_and_overlap() -> None:
    word_ids = [i // 3 for i in range(1000)]  # words of three sub-word pieces
    windows = plan_windows(word_ids, budget=126, stride=32)
    kept = [t for w in windows for t in range(w.keep_start, w.keep_end)]
    assert kept == list(range(1000))
    for before, after in zip(windows, windows[1:], strict=False):
        assert after.start < before.end  # overlapping
        assert word_ids[after.start] != word_ids[after.start - 1]  # starts on a word
        assert after.end - after.start <= 126


def test_entity_on_a_window_boundary_is_found_whole() -> None:
    with ner_pipeline(max_length=24, stride=6) as small, ner_pipeline() as large:
        text = ("We met at the station and talked for a while about the weather . " * 3
                + "Then Christopher Montgomery arrived from Baltimore with the keys .")
        assert found(small, text) == found(large, text)
        assert ("Christopher Montgomery", "PERSON") in found(small, text)


def test_threshold_drops_less_certain_words() -> None:
    text = "honestly ask bobby or the tall guy from accounting , maybe jules knows"
    with ner_pipeline(threshold=0.05) as loose:
        spans = loose.analyze(text)
    assert spans, "a very low threshold should tag something here"
    weakest = min(spans, key=lambda s: s.score)
    cut = (weakest.score + 1.0) / 2 if weakest.score < 0.999 else None
    if cut is None:
        pytest.skip("model is certain of every span here")
    with ner_pipeline(threshold=min(cut, weakest.score + 1e-4)) as strict:
        kept = strict.analyze(text)
    assert (weakest.start, weakest.end) not in {(s.start, s.end) for s in kept}
    assert all(s.score >= weakest.score for s in kept)


def test_lowercase_threshold_applies_only_to_entities_without_capitals() -> None:
    text = "Yesterday John Smith called me about the invoice, and sarah jones too"
    with ner_pipeline(threshold=0.3) as plain:
        assert found(plain, text) == [("John Smith", "PERSON"), ("sarah jones", "PERSON")]
    with ner_pipeline(threshold=0.3, lowercase_threshold=1.0) as strict:
        assert found(strict, text) == [("John Smith", "PERSON")]


TEXTS = [
    "Hi, I'm Alex Rivera and I live at 42 Elm Street, Portland.",
    "Nothing personal here at all.",
    "Contact Priya Natarajan or Tomás Ortega about the invoice.",
    "",
    "Ms. Rennie flew to Neupré on Friday morning with Jean-Luc Picard. " * 12,
    "bob dylan and joan baez played in newport",
] * 4


async def test_concurrent_calls_share_batches_and_match_unbatched() -> None:
    with ner_pipeline(batch_size=1) as single:
        expected = [single.analyze(t) for t in TEXTS]
    with ner_pipeline(batch_size=8, batch_wait_ms=20) as batched:
        results = await asyncio.gather(*(batched.analyze_many_async([t]) for t in TEXTS))
        batcher = batched.stages[0].engine.batcher
        assert [r[0] for r in results] == expected
        assert batcher.max_callers_in_batch > 1  # windows of several calls ran together
        assert batcher.batches_run < len(TEXTS)
        assert batched.analyze_many(TEXTS) == expected  # the sync path batches too


async def test_inference_leaves_the_event_loop_free(ner: Pipeline) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await ner.analyze_many_async(["Send it to Carla Mendes in Lisbon. " * 60] * 4)
    task.cancel()
    assert ticks > 5


def test_closed_stage_refuses_work() -> None:
    p = ner_pipeline()
    p.close()
    with pytest.raises(Exception, match="closed"):
        p.analyze("Alex Rivera")


# -- config errors -----------------------------------------------------------------------


def _rampart_labels() -> list[str]:
    import json

    from pipeline.ner.model import resolve_bundled_model

    config = resolve_bundled_model("rampart", "x").config
    id2label = json.loads(config.read_text())["id2label"]
    return [id2label[str(i)] for i in range(len(id2label))]


@pytest.mark.parametrize(
    ("options", "path", "message"),
    [
        ({"id2label": {"3": ["B-PER", "yes"]}}, "pipeline[0].id2label.3", "true or false"),
        ({"id2label": {"x": ["B-PER", True]}}, "pipeline[0].id2label.x", "whole number"),
        ({"id2label": {"0": ["O", False], "1": ["B-PER", True]}}, "pipeline[0].id2label",
         "35 outputs"),
        ({"id2label": {str(i): ["B-PER", True] for i in range(36)}}, "pipeline[0].id2label.35",
         "outside the model's 35 outputs"),
        ({"labels": {"GIVEN_NAMEE": "PERSON"}}, "pipeline[0].labels.GIVEN_NAMEE",
         "no label of the model"),
        ({"labels": {"GIVEN_NAME": "PERSON1"}}, "pipeline[0].labels.GIVEN_NAME",
         "placeholder name"),
        ({"model": "bertie"}, "pipeline[0].model", "unknown bundled model"),
        ({"token_type_ids_included": False}, "pipeline[0].token_type_ids_included",
         "has a token_type_ids input"),
        ({"max_length": 1024}, "pipeline[0].max_length", "512 positions"),
        ({"threshold": 1.5}, "pipeline[0].threshold", "at most 1"),
        ({"batch_size": 0}, "pipeline[0].batch_size", "at least 1"),
        ({"model_path": "x.onnx"}, "pipeline[0].model_path", "not both"),
        ({"treshold": 0.5}, "pipeline[0].treshold", "unknown key"),
        ({"int8_compute": "yes"}, "pipeline[0].int8_compute", "true or false"),
        ({"lowercase_threshold": 2}, "pipeline[0].lowercase_threshold", "at most 1"),
    ],
)
def test_config_errors_name_their_yaml_path(options: dict, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ner_pipeline(**options)
    assert caught.value.path == path
    assert message in str(caught.value)


def test_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    stage = {"kind": "ner", "model_path": "missing.onnx", "id2label": {"0": ["O", False]}}
    with pytest.raises(ConfigError) as caught:
        Pipeline.from_dict({"pipeline": [stage]}, base_dir=tmp_path)
    assert caught.value.path == "pipeline[0].model_path"
