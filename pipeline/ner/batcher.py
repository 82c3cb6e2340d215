"""One worker thread runs the model on batches of windows gathered from every caller.

Many small concurrent requests then cost a few batched model runs instead of one run each,
and inference never runs on the asyncio event loop. The attention mask makes padding
harmless, so a window's result does not depend on what it was batched with.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import numpy as np

from pipeline.errors import PipelineError

# How many queued windows one pass may take to sort by length before cutting batches.
SORT_POOL_BATCHES = 4

RunBatch = Callable[[np.ndarray, np.ndarray], np.ndarray]


_Item = tuple[np.ndarray, Future[np.ndarray], int]  # window ids, its future, the call it came in


class _Stop:
    pass


_STOP = _Stop()


class WindowBatcher:
    """Queue of token windows -> padded batches of up to ``batch_size`` -> per-window results.

    ``submit`` returns one ``concurrent.futures.Future`` per window (await it with
    ``asyncio.wrap_future``); its result is the window's ``[tokens, labels]`` probabilities.
    """

    def __init__(self, run: RunBatch, batch_size: int, wait_seconds: float,
                 pad_id: int = 0) -> None:
        self._run = run
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.pad_id = pad_id
        self._queue: queue.SimpleQueue[_Item | _Stop] = (
            queue.SimpleQueue())
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.batches_run = 0  # for tests and diagnostics: model calls made so far
        self.max_callers_in_batch = 0  # most distinct submit() calls that shared one batch
        self._calls = 0
        self._last_callers = 0

    def submit(self, windows: Sequence[np.ndarray]) -> list[Future[np.ndarray]]:
        """Queue windows (1-D token id arrays); shorter ones first keeps padding low."""
        futures: list[Future[np.ndarray]] = [Future() for _ in windows]
        with self._lock:  # a window queued before close() is still run, never left hanging
            self._calls += 1
            call = self._calls
            if self._closed:
                raise PipelineError("the NER stage is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="ner-batcher",
                                                daemon=True)
                self._thread.start()
            for ids, future in zip(windows, futures, strict=True):
                self._queue.put((ids, future, call))
        return futures

    def close(self, wait_seconds: float = 5.0) -> None:
        """Stop the worker; windows still queued fail at once with a ``PipelineError``.

        Nothing queued is run first (at shutdown a long queue would outlast any grace
        period): the worker finishes at most the batch it is running, waited for up to
        ``wait_seconds``.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        self._fail_pending()
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(wait_seconds)
        self._fail_pending()

    def _work(self) -> None:
        pool_size = self.batch_size * SORT_POOL_BATCHES
        while True:
            item = self._queue.get()
            if isinstance(item, _Stop):
                return
            if item[1].cancelled():
                continue
            pool = [item]
            stop = self._collect(pool, pool_size)
            callers = len({entry[2] for entry in pool})
            self._last_callers = callers
            self.max_callers_in_batch = max(self.max_callers_in_batch,
                                            min(callers, self.batch_size))
            pool.sort(key=lambda entry: len(entry[0]))
            for i in range(0, len(pool), self.batch_size):
                self._run_batch(pool[i : i + self.batch_size])
            if stop:
                return

    def _collect(self, pool: list[_Item], limit: int) -> bool:
        """Take what is queued (up to ``limit``), waiting briefly only while a batch is short
        and callers have recently been concurrent (a lone caller never waits).

        Returns True when a stop request was taken from the queue.
        """
        wait = self.wait_seconds if self._last_callers > 1 else 0.0
        deadline = time.monotonic() + wait
        while len(pool) < limit:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                if len(pool) >= self.batch_size:
                    return False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    return False
            if isinstance(item, _Stop):
                return True
            if not item[1].cancelled():  # its caller gave up (timeout, client gone): dropped
                pool.append(item)
        return False

    def _run_batch(self, batch: list[_Item]) -> None:
        live = [(ids, f) for ids, f, _ in batch if f.set_running_or_notify_cancel()]
        if not live:
            return
        width = max(len(ids) for ids, _ in live)
        ids = np.full((len(live), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(live), width), dtype=np.int64)
        for row, (window, _) in enumerate(live):
            ids[row, : len(window)] = window
            mask[row, : len(window)] = 1
        try:
            probs = self._run(ids, mask)
        except BaseException as exc:  # noqa: BLE001 - every waiter must hear of the failure
            error = exc if isinstance(exc, PipelineError) else PipelineError(
                f"the NER model failed to run ({type(exc).__name__})")
            for _, future in live:
                future.set_exception(error)
            return
        self.batches_run += 1
        for row, (window, future) in enumerate(live):
            future.set_result(probs[row, : len(window)])

    def _fail_pending(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if not isinstance(item, _Stop) and item[1].set_running_or_notify_cancel():
                item[1].set_exception(PipelineError("the NER stage is closed"))
