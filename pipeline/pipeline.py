"""The pipeline: run every stage on the original texts, settle overlaps, assign placeholders."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import get_str_list, load_yaml, read_lines
from pipeline.errors import ConfigError, PipelineError
from pipeline.offload import is_large
from pipeline.placeholders import DEFAULT_FORMAT, PlaceholderFormat, digit_prefixes
from pipeline.restore import deanonymize
from pipeline.spans import Span, resolve_overlaps
from pipeline.stages import STAGE_KINDS, Stage
from pipeline.technical import TechnicalText

_DIGITS = re.compile(r"\d+")

# Top-level keys that belong to the proxy and other tools; the pipeline reads only its own.
PIPELINE_KEYS = {"pipeline", "placeholder", "allow", "allow_file", "technical"}


@dataclass(frozen=True)
class AnonymizeResult:
    """One anonymized text and its ``{placeholder: original}`` map."""

    text: str
    items: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AnonymizeManyResult:
    """Several texts anonymized with one mapping (the same value, the same placeholder)."""

    texts: list[str]
    items: dict[str, str] = field(default_factory=dict)


class Pipeline:
    """An ordered list of stages plus a placeholder format.

    Stages all look at the original text; where their spans overlap, the longer span wins and
    on a tie the stage listed first (DESIGN invariant 2). A span whose text is exactly one of
    the ``allow`` values is never replaced, whichever stage found it (a language in "translate
    to German", a product name the model takes for a person).
    """

    def __init__(self, stages: Sequence[Stage], placeholder: str = DEFAULT_FORMAT,
                 allow: Iterable[str] = (), technical: TechnicalText | None = None) -> None:
        self.stages = list(stages)
        self.placeholder = PlaceholderFormat(placeholder)
        self.allow = frozenset(allow)
        #: Rules that leave technical text (numbers, ids, code names) unmasked; see technical.py.
        self.technical = technical
        #: Called as ``on_stage_done(stage, seconds)`` after each stage of an async call, so a
        #: server can export per-stage latency without the library knowing about metrics.
        self.on_stage_done: Callable[[Stage, float], None] | None = None

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> Pipeline:
        """Load an anonymize-rs style YAML file (``pipeline:`` list of stages)."""
        return cls.from_dict(load_yaml(path), base_dir=Path(path).resolve().parent)

    @classmethod
    def from_dict(cls, config: dict[str, Any], base_dir: str | os.PathLike[str] = ".") -> Pipeline:
        """Build from an already parsed config; relative files resolve against ``base_dir``."""
        if not isinstance(config, dict):
            raise ConfigError("", "the config must be a mapping with a 'pipeline' list")
        stages_raw = config.get("pipeline")
        if not isinstance(stages_raw, list) or not stages_raw:
            raise ConfigError("pipeline", "expected a non-empty list of stages")
        stages: list[Stage] = []
        try:
            for index, raw in enumerate(stages_raw):
                stages.append(build_stage(raw, index, Path(base_dir)))
            return cls(stages, config.get("placeholder", DEFAULT_FORMAT),
                       allow=allowed_values(config, Path(base_dir)),
                       technical=TechnicalText.from_config(config.get("technical"),
                                                           Path(base_dir)))
        except BaseException:
            for stage in stages:
                stage.close()
            raise

    # -- detection ---------------------------------------------------------------------------

    def analyze(self, text: str) -> list[Span]:
        """The spans that would be replaced in ``text``, overlaps settled, sorted by start."""
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Sequence[str]) -> list[list[Span]]:
        found = [stage.detect_many(texts) for stage in self.stages]
        return self._settle(texts, found)

    async def analyze_many_async(self, texts: Sequence[str]) -> list[list[Span]]:
        """Stages with real async work (NER) start first; the cheap ones run meanwhile, inline
        (one task per stage would cost more than their work), or in one worker thread when
        the texts are large."""
        slow = {i: asyncio.ensure_future(self._timed(stage, texts))
                for i, stage in enumerate(self.stages) if _has_async_work(stage)}
        cheap = [i for i in range(len(self.stages)) if i not in slow]
        try:
            if slow:
                await asyncio.sleep(0)  # let them submit their work before the cheap ones run
            if is_large(texts):
                found = await asyncio.to_thread(self._detect_each, cheap, texts)
            else:
                found = self._detect_each(cheap, texts)
            for i, task in slow.items():
                found[i] = await task
        finally:
            for task in slow.values():
                task.cancel()
            await asyncio.gather(*slow.values(), return_exceptions=True)
        return self._settle(texts, [found[i] for i in range(len(self.stages))])

    def _detect_each(self, indexes: Sequence[int], texts: Sequence[str]) -> dict[int, Any]:
        found: dict[int, Any] = {}
        for i in indexes:
            stage = self.stages[i]
            started = time.perf_counter()
            found[i] = stage.detect_many(texts)
            if self.on_stage_done is not None:
                self.on_stage_done(stage, time.perf_counter() - started)
        return found

    async def _timed(self, stage: Stage, texts: Sequence[str]) -> list[list[Span]]:
        if self.on_stage_done is None:
            return await stage.detect_many_async(texts)
        started = time.perf_counter()
        try:
            return await stage.detect_many_async(texts)
        finally:
            self.on_stage_done(stage, time.perf_counter() - started)

    def _settle(self, texts: Sequence[str], found: Sequence[list[list[Span]]]) -> list[list[Span]]:
        allow = self.allow
        keep = self.technical.keep if self.technical is not None else None
        settled = [
            resolve_overlaps((span for per_stage in found for span in per_stage[i]
                              if (not allow or text[span.start : span.end] not in allow)
                              and (keep is None or keep(text, span))),
                             len(text), text)
            for i, text in enumerate(texts)
        ]
        if keep is None:
            return settled
        # A model's span cut around a validated one leaves pieces: they pass the rules too.
        return [[s for s in spans if keep(text, s)] for text, spans in zip(texts, settled,
                                                                            strict=True)]

    # -- anonymization -----------------------------------------------------------------------

    def anonymize(self, text: str) -> AnonymizeResult:
        many = self.anonymize_many([text])
        return AnonymizeResult(many.texts[0], many.items)

    def anonymize_many(self, texts: Sequence[str]) -> AnonymizeManyResult:
        """Anonymize all ``texts`` with one mapping, numbered in order of first appearance."""
        texts = _check_texts(texts)
        return self._replace(texts, self.analyze_many(texts))

    async def anonymize_async(self, text: str) -> AnonymizeResult:
        many = await self.anonymize_many_async([text])
        return AnonymizeResult(many.texts[0], many.items)

    async def anonymize_many_async(self, texts: Sequence[str]) -> AnonymizeManyResult:
        """What the proxy calls: stages run concurrently, NER batches across requests."""
        texts = _check_texts(texts)
        spans = await self.analyze_many_async(texts)
        if sum(map(len, texts)) > 200_000:
            return await asyncio.to_thread(self._replace, texts, spans)
        return self._replace(texts, spans)

    def _replace(self, texts: list[str], spans: list[list[Span]]) -> AnonymizeManyResult:
        items = assign_placeholders(texts, spans, self.placeholder)
        by_value = {original: placeholder for placeholder, original in items.items()}
        out = []
        for text, text_spans in zip(texts, spans, strict=True):
            pieces, pos = [], 0
            for span in text_spans:
                pieces.append(text[pos : span.start])
                pieces.append(by_value[text[span.start : span.end]])
                pos = span.end
            pieces.append(text[pos:])
            out.append("".join(pieces))
        for original, anonymized in zip(texts, out, strict=True):
            if deanonymize(anonymized, items) != original:
                # Unreachable with sane stage names; refusing beats returning a lossy mapping.
                raise PipelineError("placeholders would be ambiguous in this text; not anonymized")
        return AnonymizeManyResult(out, items)

    def close(self) -> None:
        for stage in self.stages:
            stage.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def allowed_values(config: dict[str, Any], base_dir: Path) -> list[str]:
    """The top-level ``allow`` list plus the lines of ``allow_file`` (exact texts)."""
    values = [v for v in get_str_list(config, "allow", "") if v]
    values += [line.strip() for _, line in read_lines(config, "allow_file", "", base_dir)
               if line.strip()]
    return values


def build_stage(raw: Any, index: int, base_dir: Path) -> Stage:
    """One ``pipeline[i]`` entry -> a Stage of its ``kind``."""
    path = f"pipeline[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(path, "expected a mapping with a 'kind'")
    kind = raw.get("kind")
    if kind not in STAGE_KINDS:
        known = ", ".join(STAGE_KINDS)
        raise ConfigError(f"{path}.kind", f"unknown kind {kind!r} (known: {known})")
    return STAGE_KINDS[kind].from_config(raw, path, base_dir, index)


def assign_placeholders(
    texts: Sequence[str], spans: Sequence[Sequence[Span]], fmt: PlaceholderFormat
) -> dict[str, str]:
    """``{placeholder: original}`` in order of first appearance; one placeholder per value.

    An index is skipped when its placeholder already occurs in the input, or when, because
    digits follow the value somewhere, it would read as a longer placeholder in the output.
    """
    first_label: dict[str, str] = {}
    digits_after: dict[str, set[str]] = {}
    for text, text_spans in zip(texts, spans, strict=True):
        for span in text_spans:
            value = text[span.start : span.end]
            first_label.setdefault(value, span.label)
            if fmt.ends_with_index:
                follow = _DIGITS.match(text, span.end)
                if follow:
                    digits_after.setdefault(value, set()).add(follow.group())
    taken: dict[str, set[int]] = {}
    counters: dict[str, int] = {}
    items: dict[str, str] = {}
    for value, name in first_label.items():
        if name not in taken:
            taken[name] = fmt.taken_indexes(name, texts)
        index = counters.get(name, 0)
        # Two names can render alike ("A" 10 and "A1" 0): a placeholder is never given twice.
        while index in taken[name] or fmt.render(name, index) in items:
            index += 1
        counters[name] = index + 1
        for digits in digits_after.get(value, ()):
            taken[name].update(digit_prefixes(str(index) + digits))
        items[fmt.render(name, index)] = value
    return items


def _has_async_work(stage: Stage) -> bool:
    """Stages that override the async entry point (NER batching) are awaited, not called."""
    return type(stage).detect_many_async is not Stage.detect_many_async


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("anonymize_many takes a list of texts, not one string")
    out = list(texts)
    for text in out:
        if not isinstance(text, str):
            raise TypeError(f"texts must be strings, got {type(text).__name__}")
    return out
