"""The interface of a format, and what travels between the parent and the workers."""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batch.transform import Transformed

Transform = Callable[[Sequence[str]], Transformed]


@dataclass
class Reject:
    """A record set aside: where it is and why, never its value; ``raw`` goes only to the
    reject file (the user's own data, as unprotected as the input)."""

    file: str
    line: int | None
    column: str | None
    reason: str
    raw: str | None = None
    raw_bytes: bytes | None = None
    row: int | None = None  # index within the chunk, for formats that fill ``raw`` late

    def where(self) -> str:
        spot = self.file if self.line is None else f"{self.file}:{self.line}"
        return spot if self.column is None else f"{spot} column {self.column}"

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "line": self.line, "column": self.column,
                               "reason": self.reason}
        if self.raw is not None:
            out["raw"] = self.raw
        elif self.raw_bytes is not None:
            try:
                out["raw"] = self.raw_bytes.decode("utf-8")
            except UnicodeDecodeError:
                out["raw_base64"] = base64.b64encode(self.raw_bytes).decode()
        return out


@dataclass
class Chunk:
    payload: Any  # sent to a worker: picklable, small
    rows: int
    nbytes: int
    pos: dict[str, Any] | None  # the input position once this chunk is written, if a boundary
    local: Any = None  # kept in the parent for the writer


@dataclass
class ChunkResult:
    out: Any
    rejects: list[Reject] = field(default_factory=list)
    items: dict[str, str] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    lookalikes: set[str] = field(default_factory=set)


class Writer(ABC):
    @abstractmethod
    def write(self, chunk: Chunk, result: ChunkResult) -> list[Reject]:
        """Write a chunk's output in order; return its rejects (``raw`` filled in)."""

    def position(self) -> dict[str, Any]:
        """What a checkpoint records of the output (e.g. its size), after ``flush``."""
        return {}

    @abstractmethod
    def close(self) -> None:
        """The file is complete."""

    def abort(self) -> None:
        """Stop without completing (the run is interrupted; a checkpoint resumes it)."""
        self.close()


class Format(ABC):
    name: str

    def __init__(self, fields: Sequence[str], chunk_rows: int) -> None:
        self.fields = list(fields)
        self.chunk_rows = chunk_rows

    @abstractmethod
    def chunks(self, src: Path, rel: str, pos: dict[str, Any]) -> Iterator[Chunk]:
        """The input from ``pos`` (``{}`` at the start) on, in order."""

    @abstractmethod
    def open_writer(self, src: Path, dst: Path, pos: dict[str, Any]) -> Writer:
        """The output, truncated back to what ``pos`` recorded when resuming."""

    @staticmethod
    @abstractmethod
    def work(payload: Any, transform: Transform) -> ChunkResult:
        """In a worker: anonymize the chosen fields of one chunk."""

    def size(self, src: Path) -> int:
        """Bytes of input, for the progress bar's ETA."""
        return src.stat().st_size
