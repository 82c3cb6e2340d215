"""Per-word bars of the ner stage: rare names at a low score, everyday words, lower case and
acronyms at higher ones, punctuation never an entity alone (real model where it decides)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline import ConfigError, Pipeline
from pipeline.ner.labels import LabelMap
from pipeline.ner.word_bars import WordBars

PERSONS = {"GIVEN_NAME": "PERSON", "SURNAME": "PERSON", "CITY": "LOCATION"}


def ner_pipeline(base_dir: Path | str = ".", **options: object) -> Pipeline:
    stage = {"kind": "ner", "model": "rampart", "labels": PERSONS, **options}
    return Pipeline.from_dict({"pipeline": [stage]}, base_dir=base_dir)


@pytest.mark.parametrize(
    ("word", "bar"),
    [
        ("Nummelin", 0.03),  # no everyday word: the base threshold
        ("Bright", 0.2),  # an everyday word, capitalized
        ("bright", 0.7),  # lower case: the highest bar that applies
        ("nummelin", 0.7),
        ("501", 0.2),  # a lone number counts as an everyday word
        ("RT", 0.7),  # an acronym
        ("CRO", 0.7),
        ("NASA", 0.03),  # four letters: a word like any other
        ("O'Neil", 0.03),
    ],
)
def test_a_word_gets_the_highest_bar_that_applies(word: str, bar: float) -> None:
    bars = WordBars.build(0.03, lowercase_threshold=0.7, common_word_threshold=0.2,
                          common_words=["bright", "Will"], acronym_threshold=0.7)
    assert bars.bar(word) == bar


def test_without_extra_bars_every_word_needs_the_threshold() -> None:
    bars = WordBars.build(0.5)
    assert {bars.bar(w) for w in ("devil", "Bright", "RT", "501", "Nummelin")} == {0.5}


def _decode(text: str, words: list[tuple[str, float]], bars: WordBars) -> list[str]:
    """Decode made-up probabilities: each listed word is tagged PER with its score."""
    labels = LabelMap.from_config({"0": ["O", False], "1": ["B-PER", True], "2": ["I-PER", True]},
                                  None, "p", num_labels=3)
    offsets, probs, position = [], [], 0
    for word, score in words:
        start = text.index(word, position)
        offsets.append((start, start + len(word)))
        position = start + len(word)
        tag = 1 if not probs or probs[-1][0] > 0.5 else 2
        row = [1.0 - score, 0.0, 0.0]
        row[tag] = score
        probs.append(row)
    spans = labels.decode(text, offsets, list(range(len(words))), np.array(probs, np.float32),
                          bars, stage=0)
    return [text[s.start : s.end] for s in spans]


def test_punctuation_joins_tagged_words_but_never_starts_or_ends_an_entity() -> None:
    bars = WordBars.build(0.3)
    text = "( Monkey - Head ) said"
    words = [("(", 0.9), ("Monkey", 0.9), ("-", 0.9), ("Head", 0.9), (")", 0.9), ("said", 0.0)]
    assert _decode(text, words, bars) == ["Monkey - Head"]
    assert _decode("see ) here", [("see", 0.0), (")", 0.9), ("here", 0.0)], bars) == []


def test_common_words_file_raises_the_bar_of_listed_words(tmp_path: Path) -> None:
    # Take the one-word entity the model tags with the most doubt, then list it as common.
    text = "Bright and early, Citrone met Bobick near the North Sea with Nummelin."
    with ner_pipeline(threshold=0.03) as loose:
        spans = [s for s in loose.analyze(text) if " " not in text[s.start : s.end]]
    assert len(spans) >= 2, "the model should tag several single words here at 3 %"
    doubtful = min(spans, key=lambda s: s.score)
    word = text[doubtful.start : doubtful.end]
    (tmp_path / "common.txt").write_text(f"# everyday words\n{word.lower()}\n", encoding="utf-8")
    with ner_pipeline(tmp_path, threshold=0.03, common_words="common.txt",
                      common_word_threshold=min(1.0, doubtful.score + 1e-3)) as strict:
        kept = {text[s.start : s.end] for s in strict.analyze(text)}
    assert word not in kept
    assert {text[s.start : s.end] for s in spans if s is not doubtful} <= kept


@pytest.mark.parametrize(
    ("options", "path", "message"),
    [
        ({"common_words": "common.txt"}, "pipeline[0].common_word_threshold", "missing"),
        ({"common_word_threshold": 0.2}, "pipeline[0].common_words", "missing or empty"),
        ({"common_words": "nowhere.txt", "common_word_threshold": 0.2},
         "pipeline[0].common_words", "file not found"),
        ({"acronym_threshold": -0.1}, "pipeline[0].acronym_threshold", "at least 0"),
        ({"common_word_threshold": "high", "common_words": "common.txt"},
         "pipeline[0].common_word_threshold", "number"),
    ],
)
def test_bar_config_errors_name_their_yaml_path(tmp_path: Path, options: dict, path: str,
                                                message: str) -> None:
    (tmp_path / "common.txt").write_text("bright\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        ner_pipeline(tmp_path, **options)
    assert caught.value.path == path
    assert message in str(caught.value)
