"""Any length of text: overlapping token windows, and each token's prediction taken back.

A text is tokenized once, cut into windows of at most ``budget`` tokens that overlap by
``stride`` tokens, and every token keeps the prediction of the window where it sits farthest
from an edge (the overlap is split in the middle), so nothing is skipped and an entity on a
window boundary is seen with context on both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Window:
    """Tokens ``[start, end)`` of one text go to the model; ``[keep_start, keep_end)`` of them
    take their prediction from this window."""

    start: int
    end: int
    keep_start: int
    keep_end: int


def plan_windows(word_ids: Sequence[int | None], budget: int, stride: int) -> list[Window]:
    """Cover ``len(word_ids)`` tokens with windows of at most ``budget`` tokens.

    Each window after the first starts ``stride`` tokens before the previous one ended, moved
    back to the start of a word so no window opens on a sub-word piece; it always starts after
    the previous one, so a single huge word cannot stall the plan.
    """
    count = len(word_ids)
    if count == 0:
        return []
    stride = max(0, min(stride, budget - 1))
    bounds: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + budget, count)
        bounds.append((start, end))
        if end == count:
            break
        nxt = end - stride
        while nxt - 1 > start and word_ids[nxt] is not None and word_ids[nxt] == word_ids[nxt - 1]:
            nxt -= 1
        start = nxt
    windows = []
    for k, (start, end) in enumerate(bounds):
        keep_start = 0 if k == 0 else (start + bounds[k - 1][1]) // 2
        keep_end = count if k == len(bounds) - 1 else (bounds[k + 1][0] + end) // 2
        windows.append(Window(start, end, keep_start, keep_end))
    return windows
