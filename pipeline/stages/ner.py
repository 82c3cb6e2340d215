"""``kind: ner``: a token-classification model on ONNX Runtime, as word-level entity spans.

Seed keys (``model_path``, ``tokenizer_path``, ``token_type_ids_included``, ``id2label``) are
read as they are; ``model: rampart`` names the bundled default model instead of files, and
``labels``, ``naming`` (``seed``: anonymize-rs's placeholders, ``B-PER0``), the per-word bars
(``threshold``, ``common_words`` + ``common_word_threshold``, ``lowercase_threshold``,
``acronym_threshold``: ``pipeline.ner.word_bars``), ``max_length``, ``stride``,
``batch_size``, ``threads``, ``batch_wait_ms`` and the faster builds of the weights
(``int8_compute``, ``int8_weights``: ``pipeline.ner.requantize``) are additions with
defaults. The engine lives in ``pipeline.ner``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.config import (
    check_keys,
    get_bool,
    get_number,
    get_str,
    join,
    read_lines,
    resolve_path,
)
from pipeline.errors import ConfigError
from pipeline.ner.engine import NerEngine, NerOptions
from pipeline.ner.labels import NAMINGS, LabelMap
from pipeline.ner.model import ModelFiles, find_beside, load_classifier, resolve_bundled_model
from pipeline.spans import Span
from pipeline.stages.base import Stage

KEYS = {"kind", "model", "model_path", "tokenizer_path", "token_type_ids_included", "id2label",
        "labels", "threshold", "lowercase_threshold", "common_words",
        "common_word_threshold", "acronym_threshold", "max_length", "stride", "batch_size",
        "threads", "batch_wait_ms", "int8_compute", "int8_weights", "naming"}


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
                                path=path, build=_build(options, path))
        id2label = raw.get("id2label")
        if id2label is None:
            id2label = hf_config.get("id2label")
            if not isinstance(id2label, dict):
                raise ConfigError(join(path, "id2label"),
                                  "missing, and no config.json with an id2label beside the "
                                  "model")
        naming = get_str(raw, "naming", path, NAMINGS[0])
        if naming not in NAMINGS:
            raise ConfigError(join(path, "naming"), f"unknown value {naming!r} (expected one "
                                                    f"of: {', '.join(NAMINGS)})")
        labels = LabelMap.from_config(id2label, raw.get("labels"), path,
                                      num_labels=model.num_labels, naming=naming)
        specials = len(model.prefix_ids) + len(model.suffix_ids)
        if options.max_length <= specials + options.stride:
            raise ConfigError(join(path, "max_length"),
                              f"must exceed stride ({options.stride}) plus the {specials} "
                              "special tokens")
        common_words = _common_words(raw, path, base_dir)
        if common_words and options.common_word_threshold is None:
            raise ConfigError(join(path, "common_word_threshold"),
                              "missing: the score that words of 'common_words' need")
        if options.common_word_threshold is not None and not common_words:
            raise ConfigError(join(path, "common_words"),
                              "missing or empty: a file of words, one a line, that need "
                              "'common_word_threshold'")
        return cls(index, NerEngine(model, labels, options, stage=index,
                                    common_words=common_words))

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
        int8_weights=get_bool(raw, "int8_weights", path, d.int8_weights),
        lowercase_threshold=_optional_score(raw, "lowercase_threshold", path),
        common_word_threshold=_optional_score(raw, "common_word_threshold", path),
        acronym_threshold=_optional_score(raw, "acronym_threshold", path),
    )


def _build(options: NerOptions, path: str) -> str | None:
    """Which build of the model's weights to run (``pipeline.ner.requantize``)."""
    if options.int8_compute and options.int8_weights:
        raise ConfigError(join(path, "int8_weights"),
                          "choose one of int8_weights and int8_compute: int8_weights replaces "
                          "the 4-bit layers that int8_compute would change")
    if options.int8_weights and options.batch_size != 1:
        raise ConfigError(join(path, "batch_size"),
                          f"is {options.batch_size}, but int8_weights needs 1: the 8-bit build "
                          "scales its activations over the whole batch, so a window's labels "
                          "would depend on what it was batched with")
    if options.int8_weights:
        return "int8_weights"
    return "int8_compute" if options.int8_compute else None


def _optional_score(raw: dict[str, Any], key: str, path: str) -> float | None:
    if raw.get(key) is None:
        return None
    return get_number(raw, key, path, 0, minimum=0, maximum=1)


def _common_words(raw: dict[str, Any], path: str, base_dir: Path) -> list[str]:
    """The words of the ``common_words`` file, one a line (blank and ``#`` lines skipped)."""
    return [line.strip() for _, line in read_lines(raw, "common_words", path, base_dir)
            if line.strip()]
