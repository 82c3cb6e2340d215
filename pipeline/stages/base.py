"""The one interface every stage implements: original text in, spans out."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from pipeline.offload import is_large
from pipeline.spans import Span


class Stage(ABC):
    """A detector. ``detect`` sees the original text and returns spans on it.

    Stages never see each other's output (DESIGN invariant 2): the pipeline runs them all on
    the same text and settles overlaps afterwards.
    """

    kind: ClassVar[str]

    def __init__(self, index: int) -> None:
        self.index = index

    @classmethod
    @abstractmethod
    def from_config(cls, raw: dict[str, Any], path: str, base_dir: Path, index: int) -> Stage:
        """Build the stage from its YAML mapping; raise ``ConfigError`` naming ``path``."""

    @abstractmethod
    def detect(self, text: str) -> list[Span]:
        """Spans found in ``text``, in any order, possibly overlapping."""

    def detect_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """Spans for each text; stages that batch (NER) override this."""
        return [self.detect(text) for text in texts]

    async def detect_many_async(self, texts: Sequence[str]) -> list[list[Span]]:
        """Async entry point: cheap calls run inline, large ones in a worker thread."""
        if is_large(texts):
            return await asyncio.to_thread(self.detect_many, texts)
        return self.detect_many(texts)

    def close(self) -> None:
        """Release resources (sessions, threads). Idempotent."""
        return None
