"""The pipeline: run every stage on the original texts, settle overlaps, assign placeholders."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import check_keys, get_str_list, load_yaml, read_lines
from pipeline.errors import ConfigError, PipelineError
from pipeline.occurrences import OccurrenceFinder, OccurrenceRules
from pipeline.offload import is_large
from pipeline.placeholders import DEFAULT_FORMAT, PlaceholderFormat, digit_prefixes
from pipeline.restore import placeholder_pattern
from pipeline.span_cache import SpanCache
from pipeline.spans import Span, resolve_overlaps
from pipeline.stages import STAGE_KINDS, Stage
from pipeline.technical import TechnicalText

_DIGITS = re.compile(r"\d+")

# The top-level keys the pipeline reads.
PIPELINE_KEYS = frozenset({"pipeline", "placeholder", "allow", "allow_file", "occurrences",
                           "technical"})
# Top-level sections that belong to the proxy (``proxy.settings.SECTIONS``; a test keeps the
# two equal). The library accepts and ignores them; any other top-level key is a typo
# (``alow:``, ``auht:``) and an error, as in every other part of the config.
PROXY_SECTIONS = frozenset({"server", "upstream", "store", "auth", "logging"})


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
                 allow: Iterable[str] = (), occurrences: OccurrenceRules | None = None,
                 technical: TechnicalText | None = None) -> None:
        self.stages = list(stages)
        self.placeholder = PlaceholderFormat(placeholder)
        self.allow = frozenset(allow)
        self.occurrences = occurrences if occurrences is not None else OccurrenceRules()
        self._finder = OccurrenceFinder(self.occurrences)
        #: Rules that leave technical text (numbers, ids, code names) unmasked; see technical.py.
        self.technical = technical
        #: What the detection results depend on (config and the files it names); keys the
        #: span cache, so a changed config never reuses another's results.
        self.identity = hashlib.sha256(
            json.dumps([[type(s).__qualname__, s.index] for s in self.stages]
                       + [placeholder, sorted(self.allow), technical is not None]).encode()
        ).hexdigest()
        #: Called as ``on_stage_done(stage, seconds)`` after each stage of an async call, so a
        #: server can export per-stage latency without the library knowing about metrics.
        self.on_stage_done: Callable[[Stage, float], None] | None = None

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> Pipeline:
        """Load an anonymize-rs style YAML file (``pipeline:`` list of stages)."""
        return cls.from_dict(load_yaml(path), base_dir=Path(path).resolve().parent)

    @classmethod
    def from_dict(cls, config: dict[str, Any], base_dir: str | os.PathLike[str] = ".", *,
                  other_sections: Iterable[str] = PROXY_SECTIONS) -> Pipeline:
        """Build from an already parsed config; relative files resolve against ``base_dir``
        (then the working directory). ``other_sections``: top-level keys other readers own."""
        if not isinstance(config, dict):
            raise ConfigError("", "the config must be a mapping with a 'pipeline' list")
        check_keys(config, "", PIPELINE_KEYS | set(other_sections))
        stages_raw = config.get("pipeline")
        if not isinstance(stages_raw, list) or not stages_raw:
            raise ConfigError("pipeline", "expected a non-empty list of stages")
        stages: list[Stage] = []
        try:
            for index, raw in enumerate(stages_raw):
                stages.append(build_stage(raw, index, Path(base_dir)))
            pipeline = cls(stages, config.get("placeholder", DEFAULT_FORMAT),
                           allow=allowed_values(config, Path(base_dir)),
                           occurrences=OccurrenceRules.from_config(config, Path(base_dir)),
                           technical=TechnicalText.from_config(config.get("technical"),
                                                               Path(base_dir)))
            pipeline.identity = config_identity(config, Path(base_dir))
            return pipeline
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

    async def analyze_many_async(self, texts: Sequence[str],
                                 cache: SpanCache | None = None) -> list[list[Span]]:
        """Stages with real async work (NER) start first; the cheap ones run meanwhile, inline
        (one task per stage would cost more than their work), or in one worker thread when
        the texts are large. With a ``cache``, texts analyzed before are not analyzed again."""
        if cache is None:
            return await self._analyze_async(texts)
        cached = await cache.lookup(texts)
        missing = [i for i, spans in enumerate(cached) if spans is None]
        if missing:
            fresh = await self._analyze_async([texts[i] for i in missing])
            for i, spans in zip(missing, fresh, strict=True):
                cached[i] = spans
            await cache.save([texts[i] for i in missing], fresh)
        return [spans or [] for spans in cached]

    async def _analyze_async(self, texts: Sequence[str]) -> list[list[Span]]:
        if not texts:
            return []
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

    def anonymize(self, text: str, known: Mapping[str, str] | None = None) -> AnonymizeResult:
        many = self.anonymize_many([text], known)
        return AnonymizeResult(many.texts[0], many.items)

    def anonymize_many(self, texts: Sequence[str],
                       known: Mapping[str, str] | None = None) -> AnonymizeManyResult:
        """Anonymize all ``texts`` with one mapping, numbered in order of first appearance.

        ``known`` is an earlier call's ``{placeholder: original}`` map (an earlier turn of the
        same conversation): its values keep their placeholders, new values get the next free
        index, and the result's items include all of it.
        """
        texts = _check_texts(texts)
        known = _check_known(known)
        return self._replace(texts, self.analyze_many(texts), known)

    async def anonymize_async(self, text: str,
                              known: Mapping[str, str] | None = None) -> AnonymizeResult:
        many = await self.anonymize_many_async([text], known)
        return AnonymizeResult(many.texts[0], many.items)

    async def anonymize_many_async(self, texts: Sequence[str],
                                   known: Mapping[str, str] | None = None, *,
                                   cache: SpanCache | None = None,
                                   context: Sequence[str] = ()) -> AnonymizeManyResult:
        """What the proxy calls: stages run concurrently, NER batches across requests; with a
        ``cache`` only texts not analyzed before are (every occurrence is found anyway).
        ``context`` are texts sent before in the forms the reader has (a conversation's
        earlier turns): not anonymized, but a placeholder they spell out is never given."""
        texts = _check_texts(texts)
        known = _check_known(known)
        spans = await self.analyze_many_async(texts, cache)
        context = _check_texts(context)
        if sum(map(len, texts)) > 200_000:
            return await asyncio.to_thread(self._replace, texts, spans, known, context)
        return self._replace(texts, spans, known, context)

    def every_occurrence(self, texts: Sequence[str], spans: Sequence[list[Span]],
                         known: Mapping[str, str] | None = None) -> list[list[Span]]:
        """``spans`` plus every undetected occurrence of a detected or known value (and of
        the parts of a detected name); see ``pipeline/occurrences.py``."""
        if not self.occurrences.every:
            return [list(s) for s in spans]
        values: dict[str, str] = {}
        for text, text_spans in zip(texts, spans, strict=True):
            for span in text_spans:
                values.setdefault(text[span.start : span.end], span.label)
        for placeholder, original in (known or {}).items():
            name = self.placeholder.name_of(placeholder)
            if name is not None:
                values.setdefault(original, name)
        terms = self._finder.terms(values)
        return self._finder.extend(texts, spans, terms, len(self.stages), self.allow)

    def _replace(self, texts: list[str], spans: list[list[Span]],
                 known: dict[str, str] | None = None,
                 context: Sequence[str] = ()) -> AnonymizeManyResult:
        spans = self.every_occurrence(texts, spans, known)
        items = assign_placeholders(texts, spans, self.placeholder, known, context)
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
        if not round_trips(texts, out, items):
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


def config_identity(config: dict[str, Any], base_dir: Path) -> str:
    """A digest of the config and of every file it names (keyword lists, patterns, models),
    so a changed list or model is a new identity."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key in sorted(value, key=str):
                walk(value[key])
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and 0 < len(value) < 4096:
            path = Path(value).expanduser()
            path = path if path.is_absolute() else base_dir / path
            try:
                if path.is_file():
                    digest.update(str(path.stat().st_size).encode())
                    with path.open("rb") as file:
                        for block in iter(lambda: file.read(1 << 20), b""):
                            digest.update(block)
            except OSError:
                pass

    walk(config)
    try:
        from importlib.metadata import version
        digest.update(version("anonymize-proxy").encode())  # the bundled model comes with it
    except Exception:  # noqa: BLE001 - a source checkout without metadata
        pass
    return digest.hexdigest()


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
    texts: Sequence[str], spans: Sequence[Sequence[Span]], fmt: PlaceholderFormat,
    known: Mapping[str, str] | None = None, context: Sequence[str] = (),
) -> dict[str, str]:
    """``{placeholder: original}`` in order of first appearance; one placeholder per value.

    Values of ``known`` keep their placeholder; new ones are numbered after the highest index
    ``known`` uses for their name, so an index is never given twice in one conversation. An
    index is also skipped when its placeholder already occurs in the input, or when, because
    digits follow the value somewhere, it would read as a longer placeholder in the output.
    """
    known = dict(known or {})
    known_by_value = {original: placeholder for placeholder, original in known.items()}
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
    # A known placeholder followed by digits reads longer: no new placeholder may be that.
    blocked: set[str] = set()
    for value, digit_runs in digits_after.items():
        if value in known_by_value:
            placeholder = known_by_value[value]
            for digits in digit_runs:
                longer = placeholder + digits
                blocked.update(longer[:n] for n in range(len(placeholder) + 1, len(longer) + 1))
    taken: dict[str, set[int]] = {}
    counters: dict[str, int] = {}
    items: dict[str, str] = dict(known)
    for value, name in first_label.items():
        if value in known_by_value:
            continue
        if name not in taken:
            taken[name] = fmt.taken_indexes(name, [*texts, *context])
            counters[name] = fmt.next_index(name, known)
        index = counters[name]
        # Two names can render alike ("A" 10 and "A1" 0): a placeholder is never given twice.
        while (index in taken[name] or fmt.render(name, index) in items
               or fmt.render(name, index) in blocked):
            index += 1
        counters[name] = index + 1
        for digits in digits_after.get(value, ()):
            taken[name].update(digit_prefixes(str(index) + digits))
        items[fmt.render(name, index)] = value
    return items


# Below this many (placeholders x characters) the check first keeps only the placeholders that
# occur: a conversation's mapping grows to hundreds of values while a turn's new text is small.
_FILTER_WORK = 200_000_000


def round_trips(originals: Sequence[str], anonymized: Sequence[str],
                items: Mapping[str, str]) -> bool:
    """``deanonymize(anonymized[i], items) == originals[i]`` for every i, with one pattern.

    A placeholder that occurs in no anonymized text cannot change any of them, so only the
    ones that occur are compiled (same result, a fraction of the cost for a long mapping).
    """
    if not items:
        return list(originals) == list(anonymized)
    check: Mapping[str, str] = items
    if len(items) * sum(map(len, anonymized)) <= _FILTER_WORK:
        check = {p: v for p, v in items.items() if any(p in text for text in anonymized)}
    if not check:
        return list(originals) == list(anonymized)
    pattern = placeholder_pattern(check)
    return all(pattern.sub(lambda m: check[m.group()], text) == original
               for original, text in zip(originals, anonymized, strict=True))


def _has_async_work(stage: Stage) -> bool:
    """Stages that override the async entry point (NER batching) are awaited, not called."""
    return type(stage).detect_many_async is not Stage.detect_many_async


def _check_known(known: Mapping[str, str] | None) -> dict[str, str] | None:
    """An earlier mapping must be ``{placeholder: original}`` strings, one placeholder a value."""
    if known is None:
        return None
    if not isinstance(known, Mapping):
        raise TypeError("known must be a {placeholder: original} mapping")
    out = dict(known)
    for placeholder, original in out.items():
        if not isinstance(placeholder, str) or not isinstance(original, str) or not placeholder:
            raise TypeError("known must map placeholder strings to original strings")
    if len(set(out.values())) != len(out):
        raise ValueError("known gives one original value two placeholders")
    return out


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("anonymize_many takes a list of texts, not one string")
    out = list(texts)
    for text in out:
        if not isinstance(text, str):
            raise TypeError(f"texts must be strings, got {type(text).__name__}")
    return out
