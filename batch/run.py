"""A batch run: inputs -> chunks -> workers -> outputs in order, with checkpoints and a summary.

The parent reads and writes; workers anonymize. Up to ``2 x workers`` chunks are in flight, so
memory stays bounded whatever the input's size. A checkpoint (encrypted: it holds the mapping
so far) is written every few seconds at a chunk boundary; ``--resume`` carries on from it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from batch.formats import EXTENSIONS, FORMATS, Chunk, Format, Reject
from batch.formats.base import Writer
from batch.keys import BatchKeys
from batch.mapping import write_atomic, write_mapping
from batch.progress import Progress
from batch.pseudonyms import LocalAllocator
from batch.transform import merge_items
from batch.worker import (
    AllocatorManager,
    InlinePool,
    ProcessPool,
    TransformSpec,
    start_context,
)
from pipeline.errors import ConfigError, PipelineError
from pipeline.restore import placeholder_pattern
from proxy.crypto import DecryptionError

CHECKPOINT_CONTEXT = "anonymize-proxy batch checkpoint v1"
SAVE_EVERY_SECONDS = 2.0
SHOWN_REJECTS = 20
# Distinct input strings kept to check that --deanonymize will not change any of them.
MAX_LOOKALIKES = 2_000_000


class BatchStopped(PipelineError):
    """``--on-error stop`` met a bad record; the message says where, never what."""


@dataclass
class BatchOptions:
    input: Path
    output: Path
    fields: list[str]
    config: str | None = None
    fmt: str = "auto"
    scheme: str = "numbered"
    digest_length: int = 12
    redis_url: str | None = None
    run_id: str | None = None
    mapping: Path | None = None
    restore_from: list[Path] = field(default_factory=list)
    deanonymize: bool = False
    workers: int = 0
    chunk_rows: int = 256
    on_error: str = "stop"
    rejects: Path | None = None
    resume: bool = False
    overwrite: bool = False
    progress: str = "auto"
    checkpoint_seconds: float = SAVE_EVERY_SECONDS


@dataclass
class Summary:
    rows: int = 0
    rejected: int = 0
    masked: Counter[str] = field(default_factory=Counter)
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    mapping: str | None = None
    rejects: str | None = None
    #: Strings of the input that read as a pseudonym of this run: --deanonymize would turn
    #: them into values. ``None`` when too many distinct ones were seen to check.
    restore_clashes: int | None = 0

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "rejected": self.rejected, "masked": dict(self.masked),
                "files": self.files, "bytes": self.bytes, "seconds": round(self.seconds, 3),
                "rows_per_s": round(self.rows / self.seconds, 1) if self.seconds else None,
                "mapping": self.mapping, "rejects": self.rejects,
                "restore_clashes": self.restore_clashes}


def sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def detect_format(path: Path) -> str:
    if path.is_dir():
        kinds = {EXTENSIONS.get(p.suffix.lower()) for p in path.rglob("*") if p.is_file()}
        return kinds.pop() if len(kinds) == 1 and None not in kinds else "text"
    kind = EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        raise ConfigError("--format", f"cannot tell the format of {path.name}; pass --format")
    return kind


def plan_inputs(src: Path, dst: Path, fmt: str) -> list[tuple[Path, str, Path]]:
    """``(input, name in reports, output)`` per file; a folder of texts is one input."""
    if not src.exists():
        raise ConfigError("input", f"{src} does not exist")
    if fmt == "text":
        if not src.is_dir():
            raise ConfigError("--format", "text takes a folder of text files")
        return [(src, ".", dst)]
    if src.is_dir():
        suffixes = {s for s, k in EXTENSIONS.items() if k == fmt}
        files = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
        return [(p, p.relative_to(src).as_posix(), dst / p.relative_to(src)) for p in files]
    return [(src, src.name, dst)]


class Run:
    def __init__(self, opts: BatchOptions, keys: BatchKeys, log: TextIO | None = None) -> None:
        self.opts = opts
        self.keys = keys
        self.log = log or sys.stderr
        self.fmt_name = opts.fmt if opts.fmt != "auto" else detect_format(opts.input)
        if self.fmt_name not in FORMATS:
            raise ConfigError("--format", f"unknown format {self.fmt_name!r}")
        if self.fmt_name != "text" and not opts.fields:
            raise ConfigError("--field", "name at least one field or column to anonymize")
        self.format: Format = FORMATS[self.fmt_name](opts.fields, opts.chunk_rows)
        self.inputs = plan_inputs(opts.input, opts.output, self.fmt_name)
        self.checkpoint_path = sibling(opts.output, ".checkpoint")
        self.mapping_path = opts.mapping or sibling(opts.output, ".mapping")
        self.rejects_path = opts.rejects or sibling(opts.output, ".rejects.jsonl")
        self.workers = opts.workers or os.cpu_count() or 1
        self.summary = Summary()
        self.items: dict[str, str] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.lookalikes: set[str] | None = set()
        self.rejects_file: Any = None
        self.rejects_size = 0
        self.allocator: Any = None
        self._manager: AllocatorManager | None = None
        self._saved = time.monotonic()

    # -- state -----------------------------------------------------------------------------

    def _load_checkpoint(self) -> None:
        exists = self.checkpoint_path.exists()
        if exists and not self.opts.resume:
            raise ConfigError("--resume", f"an interrupted run left {self.checkpoint_path}; "
                                          "pass --resume to carry on, or delete it to start over")
        if not exists:
            if self.opts.output.exists() and not (self.opts.overwrite or self.opts.resume):
                raise ConfigError("--output", f"{self.opts.output} exists; pass --overwrite")
            return
        try:
            state = json.loads(self.keys.cipher().decrypt(self.checkpoint_path.read_bytes(),
                                                          CHECKPOINT_CONTEXT))
        except DecryptionError:
            raise ConfigError("--resume", "the checkpoint does not decrypt with this key") from None
        self.files = state["files"]
        self.items = state["items"]
        self.summary.rows, self.summary.rejected = state["rows"], state["rejected"]
        self.summary.masked = Counter(state["masked"])
        self.rejects_size = state["rejects_size"]
        self.lookalikes = None if state["lookalikes"] is None else set(state["lookalikes"])
        self._allocator_state = state.get("allocator")

    def _save_checkpoint(self, writers: dict[str, Writer]) -> None:
        for rel, writer in writers.items():
            self.files.setdefault(rel, {}).update(writer.position())
        if self.rejects_file is not None:
            self.rejects_file.flush()
            os.fsync(self.rejects_file.fileno())
            self.rejects_size = self.rejects_file.tell()
        state = {"files": self.files, "items": self.items, "rows": self.summary.rows,
                 "rejected": self.summary.rejected, "masked": dict(self.summary.masked),
                 "rejects_size": self.rejects_size,
                 "lookalikes": None if self.lookalikes is None else sorted(self.lookalikes),
                 "allocator": self.allocator.state() if self.allocator is not None else None}
        write_atomic(self.checkpoint_path, self.keys.cipher().encrypt(
            json.dumps(state, ensure_ascii=False).encode(), CHECKPOINT_CONTEXT))
        self._saved = time.monotonic()

    # -- workers ---------------------------------------------------------------------------

    def _spec(self) -> TransformSpec:
        opts = self.opts
        if opts.deanonymize:
            from batch.mapping import read_mapping

            return TransformSpec(mode="restore", items=read_mapping(opts.restore_from, self.keys))
        if not opts.config:
            raise ConfigError("--config", "a pipeline config is needed to anonymize")
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        spec = TransformSpec(config=opts.config, threads=threads, scheme=opts.scheme,
                             hmac_key=self.keys.pseudonyms, digest_length=opts.digest_length,
                             redis_url=opts.redis_url, run_id=opts.run_id or "")
        if opts.scheme == "numbered" and not opts.redis_url:
            state = getattr(self, "_allocator_state", None)
            if self.workers == 1:
                self.allocator = LocalAllocator(state)
            else:
                self._manager = AllocatorManager(ctx=start_context())
                self._manager.start()
                self.allocator = self._manager.LocalAllocator(state)  # type: ignore[attr-defined]
            spec.allocator = self.allocator
        elif opts.scheme == "numbered" and not opts.run_id:
            raise ConfigError("--run-id", "numbered placeholders through Redis need a --run-id "
                                          "shared by every machine of the run")
        return spec

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> Summary:
        started = time.monotonic()
        self._load_checkpoint()
        spec = self._spec()
        if self.rejects_size or self.opts.on_error == "reject":
            self.rejects_path.parent.mkdir(parents=True, exist_ok=True)
            mode = "r+b" if self.rejects_size and self.rejects_path.exists() else "wb"
            self.rejects_file = open(self.rejects_path, mode)  # noqa: SIM115
            self.rejects_file.truncate(self.rejects_size)
            self.rejects_file.seek(self.rejects_size)
        todo = [(s, r, d) for s, r, d in self.inputs if not self.files.get(r, {}).get("done")]
        progress = Progress(sum(self.format.size(s) for s, _, _ in todo), self.opts.progress,
                            self.log)
        writers: dict[str, Writer] = {}
        self._save_checkpoint(writers)  # an interruption from here on always leaves one
        pool = InlinePool(spec) if self.workers == 1 else ProcessPool(spec, self.workers)
        try:
            self._pump(todo, pool, writers, progress)
            pool.close()
        except BaseException:
            pool.terminate()
            for writer in writers.values():
                writer.abort()
            raise
        finally:
            if self._manager is not None:
                self._manager.shutdown()
            if self.rejects_file is not None:
                self.rejects_file.close()
        progress.finish()
        if not self.opts.deanonymize:
            self.summary.restore_clashes = self._clashes()
            write_mapping(self.mapping_path, self.items, self.keys,
                          {"scheme": self.opts.scheme, "run_id": self.opts.run_id})
            self.summary.mapping = str(self.mapping_path)
        if self.summary.rejected:
            self.summary.rejects = str(self.rejects_path)
        self.checkpoint_path.unlink(missing_ok=True)
        self.summary.files = len(self.inputs)
        self.summary.bytes = progress.bytes
        self.summary.seconds = time.monotonic() - started
        return self.summary

    def _pump(self, todo: list[tuple[Path, str, Path]], pool: Any, writers: dict[str, Writer],
              progress: Progress) -> None:
        pending: deque[tuple[str, Any, Chunk | None, Any]] = deque()
        limit = 2 * self.workers
        for src, rel, dst in todo:
            pos = dict(self.files.get(rel, {}))
            writers[rel] = self.format.open_writer(src, dst, pos)
            for chunk in self._chunks(src, rel, pos):
                pending.append((rel, writers[rel], chunk,
                                pool.submit(self.fmt_name, chunk.payload)))
                while len(pending) >= limit:
                    self._drain(pending.popleft(), writers, progress)
            pending.append((rel, writers[rel], None, None))
        while pending:
            self._drain(pending.popleft(), writers, progress)
        self._save_checkpoint(writers)

    def _chunks(self, src: Path, rel: str, pos: dict[str, Any]) -> Iterator[Chunk]:
        return self.format.chunks(src, rel, pos)

    def _drain(self, entry: tuple[str, Any, Chunk | None, Any], writers: dict[str, Writer],
               progress: Progress) -> None:
        rel, writer, chunk, future = entry
        if chunk is None:  # the file's end marker
            writer.close()
            del writers[rel]
            self.files[rel] = {"done": True}
            self._save_checkpoint(writers)
            return
        result = future.get()
        if result.rejects and self.opts.on_error == "stop":
            first = result.rejects[0]
            self._save_checkpoint(writers)
            raise BatchStopped(f"{first.where()}: {first.reason} (--on-error reject sets such "
                               "records aside in a reject file)")
        merge_items(self.items, result.items)
        if self.lookalikes is not None:
            self.lookalikes |= result.lookalikes
            if len(self.lookalikes) > MAX_LOOKALIKES:
                self.lookalikes = None
        rejects = writer.write(chunk, result)
        self._reject(rejects)
        self.summary.rows += chunk.rows - len(rejects)
        self.summary.masked.update(result.counts)
        progress.update(chunk.rows, chunk.nbytes)
        if chunk.pos is not None:
            self.files.setdefault(rel, {}).update(chunk.pos)
            if time.monotonic() - self._saved >= self.opts.checkpoint_seconds:
                self._save_checkpoint(writers)

    def _clashes(self) -> int | None:
        """How many strings of the input read as one of the run's pseudonyms; said aloud,
        since restoring the output would change them."""
        if self.lookalikes is None:
            self.log.write("batch: too many distinct strings with digits to check that "
                           "--deanonymize leaves the input's own strings alone\n")
            return None
        if not self.items or not self.lookalikes:
            return 0
        pattern = placeholder_pattern(self.items)
        clashes = sum(1 for token in self.lookalikes if pattern.search(token))
        if clashes:
            self.log.write(f"batch: {clashes} strings of the input read as pseudonyms of this "
                           "run, so --deanonymize would change them too; use --scheme keyed "
                           "or a placeholder format such as '[{name}_{index}]'\n")
        return clashes

    def _reject(self, rejects: list[Reject]) -> None:
        for reject in rejects:
            self.summary.rejected += 1
            if self.summary.rejected <= SHOWN_REJECTS:
                self.log.write(f"batch: rejected {reject.where()}: {reject.reason}\n")
            elif self.summary.rejected == SHOWN_REJECTS + 1:
                self.log.write(f"batch: more rejects; all are in {self.rejects_path}\n")
            self.rejects_file.write(json.dumps(reject.record(), ensure_ascii=False).encode()
                                    + b"\n")
