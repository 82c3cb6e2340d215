"""Texts in, entity spans out: tokenize, window, batch through the model, merge, decode."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from pipeline.ner.batcher import WindowBatcher
from pipeline.ner.labels import LabelMap
from pipeline.ner.model import OnnxTokenClassifier
from pipeline.ner.windows import Window, plan_windows
from pipeline.ner.word_bars import WordBars
from pipeline.offload import is_large
from pipeline.spans import Span


@dataclass(frozen=True)
class NerOptions:
    """Tuning of the ``ner`` stage; every field has a YAML key of the same name."""

    threshold: float = 0.5
    max_length: int = 128
    stride: int = 32
    batch_size: int = 8
    threads: int = 2
    batch_wait_ms: float = 2.0
    #: Words written without any capital letter ("devil", "believe") are the model's most
    #: frequent false positives in informal text; they need this score instead (None: off).
    lowercase_threshold: float | None = None
    #: Words of the stage's ``common_words`` list ("Bright", "Whilst") need this score.
    common_word_threshold: float | None = None
    #: Words of two or three capital letters ("RT", "CRO") need this score.
    acronym_threshold: float | None = None
    #: 4-bit models only: compute their matrix products in int8 (same weights, ~1.2x faster).
    int8_compute: bool = False
    #: Re-quantize the weights to 8 bits per channel at load (~1.5x faster than 4-bit).
    int8_weights: bool = False


@dataclass
class _Encoded:
    offsets: list[tuple[int, int]]
    word_ids: list[int | None]
    windows: list[Window]
    futures: list[Future[np.ndarray]]
    #: Each token's label probabilities, filled window by window as results arrive, so a
    #: window's result is dropped as soon as it is taken (holding every window's result
    #: until the last one came cost 1.4x this array again, the overlaps included).
    probs: np.ndarray | None = None

    def take(self, k: int, window_probs: np.ndarray, first: int, labels: int) -> None:
        """Keep window ``k``'s predictions for the tokens it owns (``first``: its prefix)."""
        if self.probs is None:
            self.probs = np.empty((len(self.offsets), labels), dtype=np.float32)
        window = self.windows[k]
        lo, hi = window.keep_start, window.keep_end
        self.probs[lo:hi] = window_probs[first + lo - window.start : first + hi - window.start]


_DONE: Future[np.ndarray] = Future()
_DONE.set_result(np.empty((0, 0), dtype=np.float32))


class _Call:
    """The windows one ``predict_many_async`` queued, so cancelling it can cancel them all
    (the event loop and a tokenizing thread may race: the lock settles it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.cancelled = False
        self._futures: list[Future[np.ndarray]] = []

    def track(self, futures: Sequence[Future[np.ndarray]]) -> None:
        with self._lock:
            self._futures.extend(futures)
            cancelled = self.cancelled
        if cancelled:
            for future in futures:
                future.cancel()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            futures, self._futures = self._futures, []
        for future in futures:
            future.cancel()


class NerEngine:
    """A shared model, a label map and a batcher; ``predict_many`` is thread-safe."""

    def __init__(self, model: OnnxTokenClassifier, labels: LabelMap, options: NerOptions,
                 stage: int = 0, common_words: Iterable[str] = ()) -> None:
        self.model = model
        self.labels = labels
        self.options = options
        self.stage = stage
        self.bars = WordBars.build(options.threshold, options.lowercase_threshold,
                                   options.common_word_threshold, common_words,
                                   options.acronym_threshold)
        self.budget = options.max_length - len(model.prefix_ids) - len(model.suffix_ids)
        pad = model.tokenizer.padding  # None: we disabled it; the id is masked out anyway
        self.batcher = WindowBatcher(model.probabilities, options.batch_size,
                                     options.batch_wait_ms / 1000.0,
                                     pad_id=(pad or {}).get("pad_id", 0))

    def predict_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """Spans for each text; the windows of all texts share batches."""
        encoded = self._submit(texts)
        for enc in encoded:
            for k, future in enumerate(enc.futures):
                self._take(enc, k, future.result())
        return self._decode_all(texts, encoded)

    async def predict_many_async(self, texts: Sequence[str]) -> list[list[Span]]:
        """As ``predict_many``, awaiting the worker thread instead of blocking the loop.

        Cancelling the call (a time budget spent, a client gone) cancels every window it
        queued, so the worker drops them unrun; windows are not even queued when the call
        is cancelled while its texts are still being tokenized.
        """
        large = is_large(texts)  # then tokenizing and decoding leave the loop too
        call = _Call()
        try:
            encoded = (await asyncio.to_thread(self._submit, texts, call) if large
                       else self._submit(texts, call))
            for enc in encoded:
                for k, future in enumerate(enc.futures):
                    self._take(enc, k, await asyncio.wrap_future(future))
        except BaseException:
            call.cancel()
            raise
        if large:
            return await asyncio.to_thread(self._decode_all, texts, encoded)
        return self._decode_all(texts, encoded)

    def close(self) -> None:
        self.batcher.close()

    def _submit(self, texts: Sequence[str], call: _Call | None = None) -> list[_Encoded]:
        encodings = self.model.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        prefix, suffix = self.model.prefix_ids, self.model.suffix_ids
        out, pending = [], []
        for enc in encodings:
            word_ids = enc.word_ids
            windows = plan_windows(word_ids, self.budget, self.options.stride)
            ids = enc.ids
            pending += [(len(out), k, np.array(prefix + ids[w.start:w.end] + suffix,
                                                dtype=np.int64))
                        for k, w in enumerate(windows)]
            out.append(_Encoded(enc.offsets, word_ids, windows, [None] * len(windows)))
        pending.sort(key=lambda p: len(p[2]))
        if call is not None and call.cancelled:
            return out  # its caller is gone: nothing is queued
        futures = self.batcher.submit([p[2] for p in pending])
        if call is not None:
            call.track(futures)
        for (text_index, k, _), future in zip(pending, futures, strict=True):
            out[text_index].futures[k] = future
        return out

    def _take(self, enc: _Encoded, k: int, window_probs: np.ndarray) -> None:
        enc.take(k, window_probs, len(self.model.prefix_ids), len(self.labels))
        enc.futures[k] = _DONE  # the future held the window's result: let it go

    def _decode_all(self, texts: Sequence[str], encoded: list[_Encoded]) -> list[list[Span]]:
        return [self._decode(t, e) for t, e in zip(texts, encoded, strict=True)]

    def _decode(self, text: str, enc: _Encoded) -> list[Span]:
        if not enc.windows or enc.probs is None:
            return []
        probs, enc.probs = enc.probs, None
        return self.labels.decode(text, enc.offsets, enc.word_ids, probs, self.bars, self.stage)
