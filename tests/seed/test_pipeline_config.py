"""Parity with anonymize-rs/tests/integration_anonymizer.rs and src/config.rs's test: its
tests/config/config.yaml loads as is from the crate folder and anonymizes as there."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import Pipeline, deanonymize
from pipeline.config import load_yaml

TEXT = "I like to eat apples and bananas and plums"


def test_config(crate: Path) -> None:
    """integration_anonymizer.rs::test_config: two stages."""
    assert len(Pipeline.from_yaml("./tests/config/config.yaml").stages) == 2


def test_replace_config(crate: Path) -> None:
    """integration_anonymizer.rs::test_replace_config (items as in the README's response)."""
    result = Pipeline.from_yaml("./tests/config/config.yaml").anonymize(TEXT)
    assert result.text == "I like to eat FRUIT_FLASH0 and FRUIT_FLASH1 and FRUIT_REGEX0"
    assert result.items == {"FRUIT_FLASH0": "apples", "FRUIT_FLASH1": "bananas",
                            "FRUIT_REGEX0": "plums"}
    assert deanonymize(result.text, result.items) == TEXT


def test_replace_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """src/config.rs::test_replace_tokens: ``${Q_1} ${Q_2}`` in a config reads the
    environment."""
    monkeypatch.setenv("Q_1", "TOKEN1")
    monkeypatch.setenv("Q_2", "TOKEN2")
    config = tmp_path / "config.yaml"
    config.write_text("pipeline:\n  - kind: flashText\n    name: T\n"
                      "    keywords: ['${Q_1} ${Q_2}']\n", encoding="utf-8")
    assert load_yaml(config)["pipeline"][0]["keywords"] == ["TOKEN1 TOKEN2"]
    assert Pipeline.from_yaml(config).anonymize("a TOKEN1 TOKEN2 b").text == "a T0 b"
