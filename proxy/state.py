"""What every handler needs, stored once on the app under one typed key."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from pipeline import AnonymizeManyResult, Pipeline
from pipeline.span_cache import SpanCache
from proxy.errors import (
    anonymization_failed,
    anonymization_timeout,
    store_unavailable,
    too_many_texts,
    too_much_text,
)
from proxy.formats.base import RelayHook
from proxy.logs import log_event
from proxy.metrics import Metrics
from proxy.settings import Settings
from proxy.store import ItemStore, StoreError
from proxy.upstream import Upstream


@dataclass
class ProxyState:
    settings: Settings
    pipeline: Pipeline
    store: ItemStore
    upstream: Upstream
    metrics: Metrics
    label_of: Callable[[str], str]
    shutting_down: bool = False
    in_flight: int = 0  # requests being served now, health checks aside (shutdown drains)
    # Upstreams of providers other than ``upstream``'s, by ``Provider.name``.
    upstreams: dict[str, Upstream] = field(default_factory=dict)
    # Layers that take part in every relayed request (proxy/formats/base.py ``RelayHook``),
    # called after the route's format.
    relay_hooks: list[RelayHook] = field(default_factory=list)
    extra_cleanup: list[Callable[[], None]] = field(default_factory=list)

    def upstream_for(self, provider: str) -> Upstream:
        """The upstream of a provider by name (``WireFormat.provider``)."""
        if provider == self.upstream.provider.name:
            return self.upstream
        return self.upstreams[provider]

    async def anonymize(self, texts: Sequence[str],
                        log_fields: dict[str, Any] | None = None,
                        known: Mapping[str, str] | None = None,
                        cache: SpanCache | None = None,
                        context: Sequence[str] = ()) -> AnonymizeManyResult:
        """All texts of one request in one call (one mapping); any failure -> 503.

        ``known`` is an existing ``{placeholder: original}`` mapping to extend (its values
        keep their placeholders; new ones get the next free index); ``cache`` holds detector
        results of texts analyzed before; ``context`` are texts sent before as they are
        (their literal placeholder-like strings stay reserved).

        Bounded (DESIGN invariant 8): more texts or characters than configured -> 413 before
        any work; past the time budget -> 503, the work cancelled (its queued NER windows
        dropped). The masked values' counts by label go to the metrics and, as ``entities``,
        into ``log_fields`` (the request's log line) when given.
        """
        if not texts:
            if log_fields is not None:
                log_fields["entities"] = {}
            return AnonymizeManyResult([], dict(known or {}))
        settings = self.settings
        if len(texts) > settings.max_anonymize_texts:
            raise too_many_texts(settings.max_anonymize_texts)
        if sum(map(len, texts)) > settings.max_anonymize_chars:
            raise too_much_text(settings.max_anonymize_chars)
        metrics = self.metrics
        start = time.perf_counter()
        try:
            # the pipeline's ``known=`` / ``cache=`` / ``context=`` (conversations) only when
            # there is one
            if known or cache is not None or context:
                work = self.pipeline.anonymize_many_async(texts, known=known or None,
                                                          cache=cache, context=context)
            else:
                work = self.pipeline.anonymize_many_async(texts)
            result = await asyncio.wait_for(work, settings.anonymize_timeout_seconds)
        except TimeoutError:
            log_event("pipeline_timeout", seconds=settings.anonymize_timeout_seconds)
            raise anonymization_timeout() from None
        except Exception as exc:  # fail closed whatever went wrong; log only the type
            log_event("pipeline_failed", error_type=type(exc).__name__)
            raise anonymization_failed() from None
        finally:
            metrics.child(metrics.pipeline_seconds, "all").observe(time.perf_counter() - start)
        counts = self.entity_counts(result.items)
        for label, count in counts.items():
            metrics.child(metrics.entities, label).inc(count)
        if log_fields is not None:
            log_fields["entities"] = counts
        return result

    def entity_counts(self, items: dict[str, str]) -> dict[str, int]:
        return dict(Counter(self.label_of(p) for p in items))

    async def remember(self, request_id: str, items: dict[str, str]) -> None:
        """Write the map before anything goes upstream; a store failure -> 503."""
        try:
            await self.store.put(request_id, items)
        except StoreError as exc:
            self.store_failed("put", exc)
            raise store_unavailable() from None

    def store_failed(self, operation: str, exc: Exception | None = None) -> None:
        """Count and log a store failure, the same way wherever it happens: at WARNING, with
        the store's address (never its password) and the error's code, never a value."""
        self.metrics.child(self.metrics.store_errors, operation).inc()
        log_event("store_failed", level=logging.WARNING, operation=operation,
                  store=self.store.address, error=str(exc) if exc is not None else None)


STATE: web.AppKey[ProxyState] = web.AppKey("state", ProxyState)


def state_of(request: web.Request) -> ProxyState:
    return request.app[STATE]
