"""Spans: what a stage found, as offsets into the original text, and how overlaps are settled."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A detected piece of personal data: ``text[start:end]``, to be replaced by ``label`` + index.

    ``stage`` is the position of the stage in the pipeline (0 = listed first); it breaks ties.
    ``validated`` says a checksum or a secret format confirmed the value: such a span is never
    swallowed by an unvalidated one (DESIGN invariant 2).
    """

    start: int
    end: int
    label: str
    stage: int = 0
    score: float = 1.0
    validated: bool = False

    def __len__(self) -> int:
        return self.end - self.start


def resolve_overlaps(spans: Iterable[Span], text_length: int,
                     text: str | None = None) -> list[Span]:
    """Keep a set of non-overlapping spans.

    Validated spans are placed first (among them the longer wins, on a tie the earlier
    stage). Then the unvalidated ones, by the same order: one that overlaps a kept unvalidated
    span is dropped, and a model's span (``score`` below 1) that overlaps validated spans is
    cut around them, so a span over two cards leaves both cards whole; a whole pattern or
    keyword match (``score`` 1) that overlaps one is dropped, as its pieces mean nothing.
    Given ``text``, the pieces left by a cut lose their edge spaces and punctuation, and a
    piece with no letter or digit is dropped.

    Runs in time linear in the covered characters (occupancy maps, not pairwise checks), so a
    10 MB text with a million spans stays fast. Returns the kept spans sorted by start.
    """
    candidates = sorted(
        (s for s in spans if 0 <= s.start < s.end <= text_length),
        key=lambda s: (not s.validated, s.start - s.end, s.stage, s.start),
    )
    if not candidates:
        return []
    taken = bytearray(text_length)  # 1: a kept validated span, 2: a kept unvalidated one
    kept: list[Span] = []
    for span in candidates:
        start, end = span.start, span.end
        if span.validated:
            if taken.find(1, start, end) == -1:
                taken[start:end] = b"\x01" * (end - start)
                kept.append(span)
            continue
        if taken.find(2, start, end) != -1:
            continue
        if taken.find(1, start, end) == -1:
            taken[start:end] = b"\x02" * (end - start)
            kept.append(span)
            continue
        if span.score >= 1.0:
            continue  # a whole pattern or keyword match: dropped, never cut into pieces
        for piece in _free_pieces(taken, start, end, text):
            taken[piece[0] : piece[1]] = b"\x02" * (piece[1] - piece[0])
            kept.append(Span(piece[0], piece[1], span.label, span.stage, span.score))
    kept.sort(key=lambda s: s.start)
    return kept


def _free_pieces(taken: bytearray, start: int, end: int,
                 text: str | None) -> list[tuple[int, int]]:
    """The runs of ``[start, end)`` not taken by a validated span, trimmed against ``text``."""
    pieces = []
    pos = start
    while pos < end:
        free = taken.find(0, pos, end)
        if free == -1:
            break
        stop = taken.find(1, free, end)
        stop = end if stop == -1 else stop
        a, b = free, stop
        if text is not None:
            while a < b and not text[a].isalnum():
                a += 1
            while b > a and not text[b - 1].isalnum():
                b -= 1
        if a < b:
            pieces.append((a, b))
        pos = stop
    return pieces
