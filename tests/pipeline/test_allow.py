"""The top-level allow list: exact texts never replaced, whichever stage finds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import ConfigError, Pipeline

FRUITS = {"kind": "flashText", "name": "FRUIT", "keywords": ["apple", "banana", "banana split"]}
FIRMS = {"kind": "regex", "name": "FIRM", "patterns": [r"\b[A-Z][a-z]+ (?:Inc|Ltd)\b"]}


def test_allowed_values_stay_and_everything_else_is_masked() -> None:
    config = {"pipeline": [FRUITS, FIRMS], "allow": ["banana", "Acme Inc"]}
    with Pipeline.from_dict(config) as pipeline:
        result = pipeline.anonymize("An apple, a banana, Acme Inc and Umbrella Ltd.")
    assert result.text == "An FRUIT0, a banana, Acme Inc and FIRM0."
    assert result.items == {"FRUIT0": "apple", "FIRM0": "Umbrella Ltd"}


def test_allow_is_exact_a_longer_span_or_another_case_is_still_masked() -> None:
    with Pipeline.from_dict({"pipeline": [FRUITS], "allow": ["banana"]}) as pipeline:
        result = pipeline.anonymize("One banana split, one Banana.")
    assert result.items == {"FRUIT0": "banana split", "FRUIT1": "Banana"}


def test_allow_file_resolves_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "allow.txt").write_text("# kept as written\napple\n\n", encoding="utf-8")
    config = {"pipeline": [FRUITS], "allow": ["banana"], "allow_file": "allow.txt"}
    with Pipeline.from_dict(config, base_dir=tmp_path) as pipeline:
        assert pipeline.anonymize("apple and banana").items == {}


@pytest.mark.parametrize(
    ("extra", "path", "message"),
    [
        ({"allow": "banana"}, "allow", "expected a list of strings"),
        ({"allow": ["banana", 3]}, "allow[1]", "expected a string"),
        ({"allow_file": "missing.txt"}, "allow_file", "file not found"),
    ],
)
def test_allow_config_errors_name_their_path(tmp_path: Path, extra: dict, path: str,
                                             message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Pipeline.from_dict({"pipeline": [FRUITS], **extra}, base_dir=tmp_path)
    assert caught.value.path == path
    assert message in str(caught.value)
