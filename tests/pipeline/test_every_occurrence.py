"""Every occurrence: a value detected once is masked wherever it recurs, without over-masking."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline import ConfigError, Pipeline, deanonymize

DEFAULT = Path(__file__).resolve().parents[2] / "config" / "default.yaml"
# A detector that fires only after a title, as the model fires on some occurrences only.
TITLED = {"kind": "regex", "name": "PERSON", "patterns": [r"(?<=Dr\. )[A-Z]\w+(?: [A-Z]\w+)?"]}


def make(tmp_path: Path, occurrences: dict | None = None, *stages: dict) -> Pipeline:
    words = tmp_path / "common.txt"
    # Most frequent first: the first line is an "everyday" word with everyday_words: 1.
    words.write_text("will\ntrump\nsmith\nli\n", encoding="utf-8")
    config: dict = {"pipeline": list(stages or [TITLED])}
    if occurrences is not None:
        config["occurrences"] = occurrences
    (tmp_path / "p.yaml").write_text("", encoding="utf-8")
    return Pipeline.from_dict(config, base_dir=tmp_path)


NAMES = {"name_labels": ["PERSON"], "common_words": "common.txt", "everyday_words": 1}


@pytest.fixture(scope="module")
def default() -> Pipeline:
    with Pipeline.from_yaml(DEFAULT) as pipeline:
        yield pipeline


def test_the_issue_example_leaks_no_part_of_the_name(default: Pipeline) -> None:
    texts = ["Please write to Dr. Jensen Trump about the invoice.",
             "jensen trump said the invoice is late, and Trump agreed.", "Trump"]
    result = default.anonymize_many(texts)
    joined = " ".join(result.texts)
    assert not re.search(r"(?i)jensen|trump", joined), joined
    for original, anonymized in zip(texts, result.texts, strict=True):
        assert deanonymize(anonymized, result.items) == original


def test_a_value_is_masked_where_no_detector_fired(tmp_path: Path) -> None:
    result = make(tmp_path).anonymize_many(["Ask Dr. Nummelin.", "Nummelin agreed."])
    assert result.texts == ["Ask Dr. PERSON0.", "PERSON0 agreed."]


def test_another_case_of_a_full_name_is_masked_as_a_value_of_its_own(tmp_path: Path) -> None:
    result = make(tmp_path, NAMES).anonymize_many(["Dr. Jensen Trump", "JENSEN TRUMP wrote"])
    assert result.texts == ["Dr. PERSON0", "PERSON1 wrote"]
    assert result.items == {"PERSON0": "Jensen Trump", "PERSON1": "JENSEN TRUMP"}


def test_each_part_of_a_name_is_masked_on_its_own(tmp_path: Path) -> None:
    result = make(tmp_path, NAMES).anonymize_many(
        ["Dr. Jensen Trump called.", "Then Trump and JENSEN left. Trump", "Jensen. jensen"])
    assert result.texts == ["Dr. PERSON0 called.", "Then PERSON1 and PERSON2 left. PERSON1",
                            "PERSON3. jensen"]
    # A rare word spreads to capitalized forms only: a lower-case one may be code.
    assert result.items["PERSON2"] == "JENSEN"


def test_everyday_and_short_parts_do_not_over_mask(tmp_path: Path) -> None:
    pipeline = make(tmp_path, NAMES)
    result = pipeline.anonymize_many(
        ["Dr. Will Li is here.", "Will you call? I will. Li said yes, and we met Will too."])
    # "Will" (an everyday word) only mid-sentence and capitalized; "Li" (2 letters) never.
    assert result.texts == ["Dr. PERSON0 is here.",
                            "Will you call? I will. Li said yes, and we met PERSON1 too."]
    trump = pipeline.anonymize_many(["Dr. Jensen Trump", "play a trump card"])
    assert trump.texts[1] == "play a trump card"  # a lower-case common word stays


def test_whole_words_only(tmp_path: Path) -> None:
    result = make(tmp_path).anonymize_many(["Dr. Anna", "Annabel and Hanna met Anna_x, Anna."])
    assert result.texts[1] == "Annabel and Hanna met Anna_x, PERSON0."


def test_short_numbers_do_not_spread(tmp_path: Path) -> None:
    house = {"kind": "regex", "name": "ADDRESS", "patterns": [r"(?<=No\. )\d+"]}
    result = make(tmp_path, None, house).anonymize_many(["No. 12 Main", "line 12 of 123456"])
    assert result.texts == ["No. ADDRESS0 Main", "line 12 of 123456"]


def test_known_values_are_masked_wherever_they_recur(tmp_path: Path) -> None:
    known = {"PERSON0": "Jensen Trump", "EMAIL3": "jt@example.com"}
    result = make(tmp_path, NAMES).anonymize_many(
        ["Jensen Trump wrote from jt@example.com; ask Trump."], known=known)
    assert result.texts == ["PERSON0 wrote from EMAIL3; ask PERSON1."]
    assert result.items == {**known, "PERSON1": "Trump"}


def test_every_false_masks_only_what_a_detector_found(tmp_path: Path) -> None:
    result = make(tmp_path, {"every": False}).anonymize_many(["Ask Dr. Nummelin.",
                                                              "Nummelin agreed."])
    assert result.texts == ["Ask Dr. PERSON0.", "Nummelin agreed."]


def test_a_spreading_value_never_cuts_a_detected_one(tmp_path: Path) -> None:
    email = {"kind": "regex", "name": "EMAIL", "patterns": [r"[\w.]+@[\w.]+"]}
    result = make(tmp_path, NAMES, TITLED, email).anonymize_many(
        ["Dr. Nummelin", "mail nummelin@example.com"])
    assert result.texts == ["Dr. PERSON0", "mail EMAIL0"]


@pytest.mark.parametrize(("occurrences", "where"), [
    ({"every": "yes"}, "occurrences.every"),
    ({"name_labels": "PERSON"}, "occurrences.name_labels"),
    ({"common_words": "missing.txt"}, "occurrences.common_words"),
    ({"min_length": 0}, "occurrences.min_length"),
    ({"spread": True}, "occurrences.spread"),
    ("on", "occurrences"),
])
def test_a_bad_occurrences_config_names_its_path(tmp_path: Path, occurrences: object,
                                                 where: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(where)):
        make(tmp_path, occurrences)  # type: ignore[arg-type]
