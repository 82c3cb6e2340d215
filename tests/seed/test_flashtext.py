"""Parity with anonymize-rs/tests/integration_flashtext_anonymizer.rs and the FlashText
example of anonymize-py/README.md: a keyword masks the word it begins (``apple`` -> apples)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import Pipeline, deanonymize

TEXT = "I like to eat apples and bananas and plums"
CASES = [  # integration_flashtext_anonymizer.rs::test_flashtext_replace, test_cases
    (TEXT, "I like to eat FRUIT0 and FRUIT1 and FRUIT2"),
    ("I like to eat apples and apples and plums", "I like to eat FRUIT0 and FRUIT0 and FRUIT1"),
    ('{"content": "I like to eat apples and bananas and plums"}',
     '{"content": "I like to eat FRUIT0 and FRUIT1 and FRUIT2"}'),
]


def flashtext(**source: object) -> Pipeline:
    return Pipeline.from_dict({"pipeline": [{"kind": "flashText", "name": "FRUIT", **source}]})


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_flashtext_replace(text: str, expected: str) -> None:
    """integration_flashtext_anonymizer.rs::test_flashtext_replace: keywords apple, banana,
    plum; the first keyword found is apple; replace; deanonymize gives the text back."""
    pipeline = flashtext(keywords=["apple", "banana", "plum"])
    first = pipeline.analyze(text)[0]
    assert text[first.start : first.end].startswith("apple")
    result = pipeline.anonymize(text)
    assert result.text == expected
    assert deanonymize(result.text, result.items) == text


def test_flashtest_replace_file1_and_file2(crate: Path) -> None:
    """integration_flashtext_anonymizer.rs::test_flashtest_replace_file1 and ::..._file2
    (the name given per call or per anonymizer: ``name:`` here): the keywords of
    ./tests/config/fruits.txt, a path from the crate folder."""
    pipeline = flashtext(file="./tests/config/fruits.txt")
    text = "I like to eat apples and bananas"
    first = pipeline.analyze(text)[0]
    assert text[first.start : first.end].startswith("apple")
    assert pipeline.anonymize(text).text == "I like to eat FRUIT0 and FRUIT1"


def test_python_flashtext_example() -> None:
    """anonymize-py/README.md, Python: ``FlashText("FRUIT", None, ["apple","banana","plum"])``
    on "I like to eat apples and bananas and plums."."""
    result = flashtext(keywords=["apple", "banana", "plum"]).anonymize(TEXT + ".")
    assert result.text == "I like to eat FRUIT0 and FRUIT1 and FRUIT2."
    assert result.items == {"FRUIT2": "plums", "FRUIT1": "bananas", "FRUIT0": "apples"}
