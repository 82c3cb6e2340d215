"""One rule for when work leaves the asyncio event loop, shared by the stages and the pipeline."""

from __future__ import annotations

from collections.abc import Sequence

# Above this many characters a call runs in a worker thread, so one huge prompt does not stall
# every other request the proxy is serving.
OFF_LOOP_CHARS = 20_000


def is_large(texts: Sequence[str]) -> bool:
    """True when work on ``texts`` should leave the event loop."""
    return sum(map(len, texts)) > OFF_LOOP_CHARS
