"""``kind: ner``: a token-classification model on ONNX Runtime, as word-level entity spans.

Seed keys (``model_path``, ``tokenizer_path``, ``token_type_ids_included``, ``id2label``) are
read as they are; ``model: rampart`` names the bundled default model instead of files, and
``labels``, ``threshold``, ``max_length``, ``stride``, ``batch_size``, ``threads`` and
``batch_wait_ms`` are additions with defaults. The engine lives in ``pipeline.ner``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.config import check_keys, get_bool, get_number, get_str, join, resolve_path
from pipeline.errors import ConfigError
from pipeline.ner.engine import NerEngine, NerOptions
from pipeline.ner.labels import LabelMap
from pipeline.ner.model import ModelFiles, find_beside, load_classifier, resolve_bundled_model
from pipeline.spans import Span
from pipeline.stages.base import Stage

KEYS = {"kind", "model", "model_path", "tokenizer_path", "token_type_ids_included", "id2label",
        "labels", "threshold", "lowercase_threshold", "max_length", "stride", "batch_size",
        "threads", "batch_wait_ms", "int8_compute"}


class NerStage(Stage):
    """Runs the model over every text (any length) and returns one span per entity."""

    kind = "ner"

    def __init__(self, index: int, engine: NerEngine) -> None:
        super().__init__(index)
        self.engine = engine

    @classmethod
    def from_config(cls, raw: dict[str, Any], path: str, base_dir: Path, index: int) -> Stage:
        check_keys(raw, path, KEYS)
        files = _model_files(raw, path, base_dir)
        hf_config = files.hf_config()
        options = _options(raw, path)
        positions = hf_config.get("max_position_embeddings")
        if isinstance(positions, int) and "max_length" not in raw:
            options = replace(options, max_length=min(options.max_length, positions))
        if isinstance(positions, int) and options.max_length > positions:
            raise ConfigError(join(path, "max_length"),
                              f"is {options.max_length} but the model has only {positions} "
                              "positions")
        token_types = raw.get("token_type_ids_included")
        if token_types is not None:
            token_types = get_bool(raw, "token_type_ids_included", path, False)
        model = load_classifier(files, threads=options.threads, token_type_ids=token_types,
                                path=path, int8_compute=options.int8_compute)
        id2label = raw.get("id2label")
        if id2label is None:
            id2label = hf_config.get("id2label")
            if not isinstance(id2label, dict):
                raise ConfigError(join(path, "id2label"),
                                  "missing, and no config.json with an id2label beside the "
                                  "model")
        labels = LabelMap.from_config(id2label, raw.get("labels"), path,
                                      num_labels=model.num_labels)
        specials = len(model.prefix_ids) + len(model.suffix_ids)
        if options.max_length <= specials + options.stride:
            raise ConfigError(join(path, "max_length"),
                              f"must exceed stride ({options.stride}) plus the {specials} "
                              "special tokens")
        return cls(index, NerEngine(model, labels, options, stage=index))

    def detect(self, text: str) -> list[Span]:
        return self.engine.predict_many([text])[0]

    def detect_many(self, texts: Sequence[str]) -> list[list[Span]]:
        return self.engine.predict_many(texts)

    async def detect_many_async(self, texts: Sequence[str]) -> list[list[Span]]:
        return await self.engine.predict_many_async(texts)

    def close(self) -> None:
        self.engine.close()


def _model_files(raw: dict[str, Any], path: str, base_dir: Path) -> ModelFiles:
    """``model: rampart`` (bundled) or ``model_path`` (+ ``tokenizer_path``, else beside it)."""
    if raw.get("model") is not None:
        if raw.get("model_path") is not None:
            raise ConfigError(join(path, "model_path"),
                              "give either 'model' (a bundled model) or 'model_path', not both")
        bundled = resolve_bundled_model(get_str(raw, "model", path), join(path, "model"))
        tokenizer = resolve_path(raw, "tokenizer_path", path, base_dir) or bundled.tokenizer
        return ModelFiles(bundled.model, tokenizer, bundled.config)
    if raw.get("model_path") is None:
        raise ConfigError(path, "a ner stage needs 'model' (e.g. rampart) or 'model_path'")
    model = resolve_path(raw, "model_path", path, base_dir)
    assert model is not None
    tokenizer = resolve_path(raw, "tokenizer_path", path, base_dir)
    if tokenizer is None:
        tokenizer = find_beside(model, "tokenizer.json")
        if tokenizer is None:
            raise ConfigError(join(path, "tokenizer_path"),
                              "missing, and no tokenizer.json beside the model")
    return ModelFiles(model, tokenizer, find_beside(model, "config.json"))


def _options(raw: dict[str, Any], path: str) -> NerOptions:
    d = NerOptions()
    return NerOptions(
        threshold=get_number(raw, "threshold", path, d.threshold, minimum=0, maximum=1),
        max_length=get_number(raw, "max_length", path, d.max_length, integer=True, minimum=8,
                              maximum=8192),
        stride=get_number(raw, "stride", path, d.stride, integer=True, minimum=0),
        batch_size=get_number(raw, "batch_size", path, d.batch_size, integer=True, minimum=1,
                              maximum=1024),
        threads=get_number(raw, "threads", path, d.threads, integer=True, minimum=1,
                           maximum=256),
        batch_wait_ms=get_number(raw, "batch_wait_ms", path, d.batch_wait_ms, minimum=0,
                                 maximum=1000),
        int8_compute=get_bool(raw, "int8_compute", path, d.int8_compute),
        lowercase_threshold=(
            None if raw.get("lowercase_threshold") is None
            else get_number(raw, "lowercase_threshold", path, 0, minimum=0, maximum=1)),
    )
