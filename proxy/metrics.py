"""Prometheus metrics, one registry per app so several apps (tests) never clash.

Labels are route templates, stage names from the config and placeholder labels: never a
piece of the user's text, never a raw path.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from pipeline import Pipeline
from pipeline.stages import Stage

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
                    60, 120)


class Metrics:
    """Every metric the proxy exports, registered in its own ``CollectorRegistry``.

    Hot paths go through ``child(metric, *label_values)``: each labelled child is looked up
    in prometheus-client once and then kept in a dict (``labels()`` validates and locks on
    every call, 3-6% of a rules request's CPU when called per request).
    """

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("anonymize_proxy_requests_total", "Requests by route and status",
                                ["route", "method", "status"], registry=r)
        self.request_seconds = Histogram(
            "anonymize_proxy_request_duration_seconds",
            "Whole request, a stream until its end", ["route"], buckets=_LATENCY_BUCKETS,
            registry=r)
        self.upstream_seconds = Histogram(
            "anonymize_proxy_upstream_latency_seconds",
            "From sending upstream to its response headers (time to first byte)", ["route"],
            buckets=_LATENCY_BUCKETS, registry=r)
        self.pipeline_seconds = Histogram(
            "anonymize_proxy_pipeline_latency_seconds",
            "Anonymization time: stage='all' for the whole call, else one stage",
            ["stage"], buckets=_LATENCY_BUCKETS, registry=r)
        self.entities = Counter("anonymize_proxy_entities_masked_total",
                                "Distinct values masked per request, by placeholder label",
                                ["label"], registry=r)
        self.restored = Counter("anonymize_proxy_placeholders_restored_total",
                                "Placeholders put back into answers, by label", ["label"],
                                registry=r)
        self.streams_open = Gauge("anonymize_proxy_streams_open", "Streams being relayed now",
                                  registry=r)
        self.store_errors = Counter("anonymize_proxy_store_errors_total",
                                    "Item store (Redis) failures", ["operation"], registry=r)
        self.upstream_errors = Counter("anonymize_proxy_upstream_errors_total",
                                       "Upstream calls that failed without an answer",
                                       ["reason"], registry=r)
        self.thinking_blocks = Counter(
            "anonymize_proxy_thinking_blocks_total",
            "Signed Anthropic thinking blocks: stored, swapped back, or re-anonymized (no entry)",
            ["outcome"], registry=r)
        self._children: dict[tuple[Any, ...], Any] = {}

    def child(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, bound once per metric and label values."""
        key = (id(metric), *values)
        try:
            return self._children[key]
        except KeyError:
            bound = self._children[key] = metric.labels(*values)
            return bound

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        """One request's sample: count by route, method and status; duration by route."""
        self.child(self.requests, route, method, str(status)).inc()
        self.child(self.request_seconds, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def instrument_pipeline(self, pipeline: Pipeline) -> None:
        """Per-stage latency through the pipeline's ``on_stage_done`` hook."""
        child = self.child
        histogram = self.pipeline_seconds

        def stage_done(stage: Stage, seconds: float) -> None:
            child(histogram, f"{stage.index}:{stage.kind}").observe(seconds)

        pipeline.on_stage_done = stage_done


def placeholder_labeler(pipeline: Pipeline) -> Callable[[str], str]:
    """``FRUIT_FLASH3`` -> ``FRUIT_FLASH`` for the pipeline's placeholder format."""
    fmt = pipeline.placeholder
    pattern = re.compile(re.escape(fmt.prefix) + "(.+?)" + re.escape(fmt.middle) + r"\d+"
                         + re.escape(fmt.suffix) + "$")

    # Placeholders repeat from request to request (NAME0, NAME1, ...) and carry no user text.
    @functools.lru_cache(maxsize=4096)
    def label_of(placeholder: str) -> str:
        match = pattern.match(placeholder)
        return match.group(1) if match else "unknown"

    return label_of
