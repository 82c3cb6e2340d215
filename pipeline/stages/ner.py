"""``kind: ner``: a token-classification model on ONNX Runtime (engine: see the NER issue)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.config import check_keys, get_bool, get_str, join
from pipeline.errors import ConfigError
from pipeline.spans import Span
from pipeline.stages.base import Stage


class NerStage(Stage):
    kind = "ner"

    @classmethod
    def from_config(cls, raw: dict[str, Any], path: str, base_dir: Path, index: int) -> Stage:
        check_keys(raw, path, {"kind", "model_path", "tokenizer_path",
                               "token_type_ids_included", "id2label"})
        get_str(raw, "model_path", path)
        get_str(raw, "tokenizer_path", path)
        get_bool(raw, "token_type_ids_included", path, False)
        if not isinstance(raw.get("id2label"), dict):
            raise ConfigError(join(path, "id2label"), "expected a mapping id -> [label, replace]")
        raise ConfigError(path, "the ner stage is not available yet")

    def detect(self, text: str) -> list[Span]:  # pragma: no cover - never constructed yet
        raise NotImplementedError
