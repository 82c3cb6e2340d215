"""Progress of a run: a bar with rows/s and ETA on a terminal, a quiet line now and then in a
pipe or a log (never a flood of carriage returns)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total_bytes: int, mode: str = "auto", stream: TextIO | None = None,
                 every: float | None = None) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "lines"
        self.mode = mode
        self.total = max(total_bytes, 1)
        self.every = every if every is not None else (0.2 if mode == "bar" else 10.0)
        self.rows = 0
        self.bytes = 0
        self.started = time.monotonic()
        self._shown = self.started

    def update(self, rows: int, nbytes: int) -> None:
        self.rows += rows
        self.bytes += nbytes
        now = time.monotonic()
        if self.mode != "none" and now - self._shown >= self.every:
            self._shown = now
            self._show(now, final=False)

    def finish(self) -> None:
        if self.mode != "none":
            self._show(time.monotonic(), final=True)

    def line(self, now: float) -> str:
        seconds = max(now - self.started, 1e-9)
        rate = self.rows / seconds
        share = min(self.bytes / self.total, 1.0)
        eta = seconds * (1 - share) / share if share > 0 else float("nan")
        return (f"{share:6.1%} {self.rows:,} rows  {rate:,.0f} rows/s  "
                f"{self.bytes / seconds / 1e6:.2f} MB/s  ETA {_clock(eta)}")

    def _show(self, now: float, final: bool) -> None:
        text = self.line(now)
        if self.mode == "bar":
            width = 24
            filled = int(width * min(self.bytes / self.total, 1.0))
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {text}" + ("\n" if final else ""))
        else:
            self.stream.write(f"batch: {text}\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "--:--"
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
