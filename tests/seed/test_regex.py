"""Parity with anonymize-rs/tests/integration_regex_anonymizer.rs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import Pipeline, deanonymize

PATTERNS = [r"\bapple\w*\b", r"\bbanana\w*\b", r"\bplum\w*\b"]
CASES = [  # integration_regex_anonymizer.rs::test_regex_replace, test_cases
    ("I like to eat apples and bananas and plums", "I like to eat FRUIT0 and FRUIT1 and FRUIT2"),
    ("I like to eat apples and apples and plums", "I like to eat FRUIT0 and FRUIT0 and FRUIT1"),
    ('{"content": "I like to eat apples and bananas and plums"}',
     '{"content": "I like to eat FRUIT0 and FRUIT1 and FRUIT2"}'),
]


def regex(**source: object) -> Pipeline:
    return Pipeline.from_dict({"pipeline": [{"kind": "regex", "name": "FRUIT", **source}]})


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_regex_replace(text: str, expected: str) -> None:
    """integration_regex_anonymizer.rs::test_regex_replace."""
    result = regex(patterns=PATTERNS).anonymize(text)
    assert result.text == expected
    assert deanonymize(result.text, result.items) == text


def test_regex_replace_file1_and_file2(crate: Path) -> None:
    """integration_regex_anonymizer.rs::test_regex_replace_file1 and ::..._file2: the
    patterns of ./tests/config/fruits_regex.txt, a path from the crate folder."""
    result = regex(file="./tests/config/fruits_regex.txt").anonymize(
        "I like to eat apples and bananas and plums")
    assert result.text == "I like to eat FRUIT0 and FRUIT1 and FRUIT2"
