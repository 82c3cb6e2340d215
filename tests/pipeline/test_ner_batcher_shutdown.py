"""The batcher never runs work nobody waits for: cancelled windows are dropped, and closing
fails what is queued instead of running it first (issue 11, items 6 and 7)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from pipeline.errors import PipelineError
from pipeline.ner.batcher import WindowBatcher


class SlowModel:
    """Stands in for the ONNX session: 20 ms a batch, and it counts the windows it ran."""

    def __init__(self) -> None:
        self.windows_run = 0
        self.started = threading.Event()

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.started.set()
        time.sleep(0.02)
        self.windows_run += len(ids)
        return np.zeros((*ids.shape, 3), dtype=np.float32)


def windows(n: int) -> list[np.ndarray]:
    return [np.arange(8, dtype=np.int64) for _ in range(n)]


def test_cancelled_windows_are_dropped_unrun() -> None:
    model = SlowModel()
    batcher = WindowBatcher(model, batch_size=1, wait_seconds=0)
    try:
        futures = batcher.submit(windows(200))  # 4 s of model time
        model.started.wait(5)
        for future in futures:
            future.cancel()
        done = batcher.submit(windows(1))[0]
        done.result(timeout=5)  # the queue behind it was dropped, not run
        assert model.windows_run <= 10
    finally:
        batcher.close()


def test_close_fails_queued_windows_at_once_instead_of_running_them() -> None:
    model = SlowModel()
    batcher = WindowBatcher(model, batch_size=1, wait_seconds=0)
    futures = batcher.submit(windows(500))  # 10 s of model time
    model.started.wait(5)
    started = time.monotonic()
    batcher.close()
    assert time.monotonic() - started < 2.0  # a batch in flight at most, not the queue
    assert model.windows_run <= 10
    failed = [f for f in futures if f.exception(timeout=1) is not None]
    assert len(failed) >= 490
    assert all(isinstance(f.exception(), PipelineError) for f in failed)
    with pytest.raises(PipelineError):
        batcher.submit(windows(1))
