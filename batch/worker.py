"""Worker processes: each loads the pipeline (and its NER model) once, then anonymizes chunks.

``workers=1`` runs in the calling process through the same interface, with no pickling.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from dataclasses import dataclass, field
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any

from batch.formats import FORMATS, ChunkResult
from batch.pseudonyms import (
    Allocator,
    KeyedScheme,
    LocalAllocator,
    NumberedScheme,
    RedisAllocator,
    Scheme,
)
from batch.transform import Anonymizer, Restorer
from pipeline import Pipeline
from pipeline.config import load_yaml


@dataclass
class TransformSpec:
    """Everything a worker needs to build its transform; picklable, sent once per worker."""

    mode: str = "anonymize"  # or "restore"
    config: str | None = None
    threads: int | None = None
    scheme: str = "numbered"  # or "keyed"
    hmac_key: bytes = b""
    digest_length: int = 12
    allocator: Any = None  # a LocalAllocator (or its manager proxy)
    redis_url: str | None = None
    run_id: str = ""
    items: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"TransformSpec(mode={self.mode!r}, scheme={self.scheme!r})"


def load_pipeline(config: str | os.PathLike[str], threads: int | None = None) -> Pipeline:
    """The pipeline of a YAML file, its NER stages set to ``threads`` intra-op threads (so N
    workers on N cores do not each start the config's own thread count)."""
    raw = load_yaml(config)
    if threads and isinstance(raw, dict) and isinstance(raw.get("pipeline"), list):
        raw = dict(raw, pipeline=[dict(s, threads=threads)
                                  if isinstance(s, dict) and s.get("kind") == "ner" else s
                                  for s in raw["pipeline"]])
    return Pipeline.from_dict(raw, base_dir=Path(config).resolve().parent)


def build_transform(spec: TransformSpec) -> Anonymizer | Restorer:
    if spec.mode == "restore":
        return Restorer(spec.items)
    assert spec.config is not None
    pipeline = load_pipeline(spec.config, spec.threads)
    scheme: Scheme
    if spec.scheme == "keyed":
        scheme = KeyedScheme(spec.hmac_key, spec.digest_length)
    else:
        allocator: Allocator = spec.allocator
        if spec.redis_url:
            allocator = RedisAllocator(spec.redis_url, spec.run_id, spec.hmac_key)
        scheme = NumberedScheme(allocator, pipeline.placeholder)
    return Anonymizer(pipeline, scheme)


_TRANSFORM: Anonymizer | Restorer | None = None
_INIT_ERROR: BaseException | None = None


def _init(spec: TransformSpec) -> None:
    # An initializer that raises makes multiprocessing respawn the worker forever: keep the
    # error and raise it from the first chunk instead, where the parent sees it.
    global _TRANSFORM, _INIT_ERROR
    try:
        _TRANSFORM = build_transform(spec)
    except Exception as exc:  # noqa: BLE001
        _INIT_ERROR = exc


def run_chunk(fmt: str, payload: Any) -> ChunkResult:
    if _INIT_ERROR is not None:
        raise _INIT_ERROR
    assert _TRANSFORM is not None, "worker not initialized"
    return FORMATS[fmt].work(payload, _TRANSFORM)


class AllocatorManager(BaseManager):
    """Serves one LocalAllocator to every worker of the machine: one round trip per chunk."""


AllocatorManager.register("LocalAllocator", LocalAllocator)


class _Done:
    def __init__(self, value: ChunkResult) -> None:
        self._value = value

    def get(self) -> ChunkResult:
        return self._value


class InlinePool:
    """The pool interface in this process: ``workers=1`` pays no process or pickling cost."""

    def __init__(self, spec: TransformSpec) -> None:
        self.transform = build_transform(spec)

    def submit(self, fmt: str, payload: Any) -> _Done:
        return _Done(FORMATS[fmt].work(payload, self.transform))

    def close(self) -> None:
        transform = self.transform
        if isinstance(transform, Anonymizer):
            transform.pipeline.close()

    def terminate(self) -> None:
        self.close()


def start_context() -> Any:
    """fork where it is safe (Linux, this process runs one thread and has loaded no model, as
    the batch parent never does): workers start in milliseconds, with the imports done.
    Otherwise spawn, which re-imports everything (about a second a worker)."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1 \
            and sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class ProcessPool:
    """``workers`` processes, each with its own pipeline (see ``start_context``)."""

    def __init__(self, spec: TransformSpec, workers: int) -> None:
        ctx = start_context()
        self._pool = ctx.Pool(workers, initializer=_init, initargs=(spec,))

    def submit(self, fmt: str, payload: Any) -> Any:
        return self._pool.apply_async(run_chunk, (fmt, payload))

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    def terminate(self) -> None:
        self._pool.terminate()
        self._pool.join()
