"""Benchmark 3b: the NER stage as the proxy runs it, against bare ONNX Runtime, and batching.

(1) texts/s of ``NerStage.detect_many`` (tokenize, window, batch, softmax, decode) against bare
    ``InferenceSession.run`` on exactly the same padded windows in the same batches (>= 0.8x).
(2) 16 concurrent requests (one text each, as 16 proxy requests would send them) through
    ``detect_many_async``: with the batch-safe 4-bit build (``int8_compute``) batching on
    (``batch_size: 8``) and off (``batch_size: 1``): texts/s on vs off (>= 1.5x); and the
    config's build (``int8_weights``, always one window a run: its activation scale spans the
    batch): texts/s, and p95 latency under 16 concurrent requests against one request alone
    (<= 2x).
(3) the whole stage, one request at a time, with the config's model and threads against the
    candidates ``ner_variants`` found (1 thread; fp32 and int8 builds of the same weights).

The stage options are those of ``config/default.yaml``. Interleaved rounds, medians.

    python -m benchmarks.ner_stage [--quick] [--json FILE]
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import REPO, emit, format_table, interleave, parser, ratio, summarize
from benchmarks.data import prompts
from pipeline.config import load_yaml
from pipeline.stages import STAGE_KINDS

DEFAULT_CONFIG = REPO / "config" / "default.yaml"


def ner_options() -> dict[str, Any]:
    """The ``kind: ner`` entry of the default config."""
    config = load_yaml(DEFAULT_CONFIG)
    for raw in config["pipeline"]:
        if raw.get("kind") == "ner":
            return dict(raw)
    raise RuntimeError("config/default.yaml has no ner stage")


def make_stage(**overrides: Any):  # -> NerStage
    raw = {**ner_options(), **overrides}
    return STAGE_KINDS["ner"].from_config(raw, "pipeline[0]", Path(DEFAULT_CONFIG).parent, 0)


def same_windows(stage: Any, texts: list[str]) -> list[dict[str, np.ndarray]]:
    """The padded batches the stage's engine builds for ``texts``, as session feeds."""
    from pipeline.ner.windows import plan_windows

    engine = stage.engine
    model = engine.model
    windows = []
    for enc in model.tokenizer.encode_batch(texts, add_special_tokens=False):
        for w in plan_windows(enc.word_ids, engine.budget, engine.options.stride):
            windows.append(np.array(model.prefix_ids + enc.ids[w.start : w.end]
                                    + model.suffix_ids, dtype=np.int64))
    windows.sort(key=len)
    feeds = []
    size = engine.options.batch_size
    for i in range(0, len(windows), size):
        group = windows[i : i + size]
        width = max(map(len, group))
        ids = np.zeros((len(group), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, w in enumerate(group):
            ids[row, : len(w)] = w
            mask[row, : len(w)] = 1
        feeds.append(model.feed(ids, mask))
    return feeds


def stage_vs_bare(texts: list[str], rounds: int) -> dict[str, Any]:
    stage = make_stage()
    try:
        feeds = same_windows(stage, texts)
        session = stage.engine.model.session

        def bare() -> float:
            start = time.perf_counter()
            for feed in feeds:
                session.run(None, feed)
            return time.perf_counter() - start

        def full() -> float:
            start = time.perf_counter()
            stage.detect_many(texts)
            return time.perf_counter() - start

        full(), bare()  # warm-up
        seconds = interleave({"stage detect_many": full, "bare session.run": bare}, rounds)
    finally:
        stage.close()
    out = {name: {"texts_per_s": len(texts) / summarize(s)["p50"], "seconds": summarize(s)}
           for name, s in seconds.items()}
    return {"variants": out, "windows": sum(len(f["input_ids"]) for f in feeds),
            "batches": len(feeds),
            "ratio": ratio(out["stage detect_many"]["texts_per_s"],
                           out["bare session.run"]["texts_per_s"])}


async def concurrent_requests(stage: Any, texts: list[str], concurrency: int
                              ) -> tuple[float, list[float]]:
    """``concurrency`` callers, each sending its texts one request at a time."""
    latencies: list[float] = []
    queue = list(texts)

    async def caller() -> None:
        while queue:
            text = queue.pop()
            start = time.perf_counter()
            await stage.detect_many_async([text])
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies


# The batcher pays off only with a build whose results do not depend on the batch: the 4-bit
# weights with int8 arithmetic. The shipped int8_weights build runs windows one at a time.
BATCHABLE = {"int8_weights": False, "int8_compute": True}


def batching(texts: list[str], rounds: int, concurrency: int) -> dict[str, Any]:
    on = make_stage(**BATCHABLE, batch_size=8)
    off = make_stage(**BATCHABLE, batch_size=1)
    shipped = make_stage()
    loop = asyncio.new_event_loop()
    try:
        def run(stage: Any, n: int, c: int) -> Callable[[], dict[str, Any]]:
            def once() -> dict[str, Any]:
                elapsed, lat = loop.run_until_complete(concurrent_requests(stage, texts[:n], c))
                return {"elapsed": elapsed, "latencies": lat, "texts": n}
            return once

        alone = max(4, len(texts) // 4)
        for stage in (on, off, shipped):
            run(stage, 4, 1)()  # warm-up
        results = interleave({
            f"q4 batching on (8), {concurrency} concurrent": run(on, len(texts), concurrency),
            f"q4 batching off, {concurrency} concurrent": run(off, len(texts), concurrency),
            "q4, one request alone": run(on, alone, 1),
            f"config build, {concurrency} concurrent": run(shipped, len(texts), concurrency),
            "config build, one request alone": run(shipped, alone, 1),
        }, rounds)
        batched_calls = on.engine.batcher.max_callers_in_batch
    finally:
        for stage in (on, off, shipped):
            stage.close()
        loop.close()
    out: dict[str, Any] = {"concurrency": concurrency, "variants": {},
                           "max_requests_sharing_a_batch": batched_calls}
    for name, runs in results.items():
        lat = summarize([x for r in runs for x in r["latencies"]])
        out["variants"][name] = {
            "texts_per_s": summarize([r["texts"] / r["elapsed"] for r in runs])["p50"],
            "latency_ms": {k: v if k == "n" else v * 1e3 for k, v in lat.items()},
        }
    v = out["variants"]
    on_v = v[f"q4 batching on (8), {concurrency} concurrent"]
    off_v = v[f"q4 batching off, {concurrency} concurrent"]
    config_v = v[f"config build, {concurrency} concurrent"]
    config_alone = v["config build, one request alone"]
    q4_alone = v["q4, one request alone"]
    out["ratios"] = {
        "q4 texts/s batching on / off": ratio(on_v["texts_per_s"], off_v["texts_per_s"]),
        "q4 p95 on (concurrent) / p50 alone": ratio(on_v["latency_ms"]["p95"],
                                                    q4_alone["latency_ms"]["p50"]),
        "config texts/s (concurrent) / q4 batching on": ratio(config_v["texts_per_s"],
                                                               on_v["texts_per_s"]),
        "config p95 (concurrent) / p50 alone": ratio(config_v["latency_ms"]["p95"],
                                                     config_alone["latency_ms"]["p50"]),
    }
    return out


EXACT = "q4 exact arithmetic, threads=1"


def span_agreement(reference: list[list[Any]], other: list[list[Any]]) -> float:
    """Spans (start, end, label) found by both runs over those found by either (1.0: same).

    Two builds of the same weights differ only in float rounding, which depends on the
    kernels ONNX Runtime picks for the CPU (AVX2, AVX-512, NEON): a word whose score sits at
    its bar can flip, so agreement is a share, not an equality.
    """
    both = either = 0
    for ref, oth in zip(reference, other, strict=True):
        a = {(s.start, s.end, s.label) for s in ref}
        b = {(s.start, s.end, s.label) for s in oth}
        both += len(a & b)
        either += len(a | b)
    return both / either if either else 1.0


def disagreements(texts: list[str], reference: list[list[Any]],
                  other: list[list[Any]]) -> list[str]:
    """The spans one run found and the other did not, as ``+label 'text'`` / ``-label 'text'``
    (benchmark prompts are synthetic, so printing them leaks nothing)."""
    out = []
    for text, ref, oth in zip(texts, reference, other, strict=True):
        a = {(s.start, s.end, s.label) for s in ref}
        b = {(s.start, s.end, s.label) for s in oth}
        out += [f"-{lab} {text[st:en]!r}" for st, en, lab in sorted(a - b)]
        out += [f"+{lab} {text[st:en]!r}" for st, en, lab in sorted(b - a)]
    return out


def builds_and_threads(texts: list[str], rounds: int) -> dict[str, Any]:
    """The whole stage, one request at a time (what a user waits for), per model build and
    thread count: the config's choice against the candidates of ``ner_variants``."""
    from benchmarks.ner_variants import RAMPART, build_fp32, build_int8

    threads = ner_options().get("threads", 2)
    with tempfile.TemporaryDirectory(prefix="bench-ner-stage-") as folder:
        for name in ("config.json", "tokenizer.json"):
            shutil.copy(RAMPART / name, Path(folder) / name)
        fp32 = build_fp32(RAMPART / "onnx" / "model_q4.onnx", Path(folder) / "fp32.onnx")
        int8 = build_int8(fp32, Path(folder) / "int8.onnx")
        stages = {f"config build, threads={threads}": make_stage()}
        if threads != 1:
            stages["config build, threads=1"] = make_stage(threads=1)
        stages["q4 int8-compute, threads=1"] = make_stage(threads=1, int8_compute=True,
                                                          int8_weights=False)
        # The bundled weights with exact (not int8) arithmetic: what fp32 must nearly equal.
        stages[EXACT] = make_stage(threads=1, int8_compute=False,
                                                              int8_weights=False)
        stages["fp32, threads=1"] = make_stage(model=None, model_path=str(fp32), threads=1)
        stages["int8, threads=1"] = make_stage(model=None, model_path=str(int8), threads=1)
        try:
            def one_by_one(stage: Any) -> Callable[[], list[float]]:
                def once() -> list[float]:
                    latencies = []
                    for text in texts:
                        start = time.perf_counter()
                        stage.detect(text)
                        latencies.append(time.perf_counter() - start)
                    return latencies
                return once

            for stage in stages.values():
                stage.detect(texts[0])  # warm-up
            runs = interleave({n: one_by_one(s) for n, s in stages.items()}, rounds)
            found = {n: [s.detect(t) for t in texts] for n, s in stages.items()}
        finally:
            for stage in stages.values():
                stage.close()
    out: dict[str, Any] = {"variants": {}}
    for name, results in runs.items():
        lat = summarize([x for r in results for x in r])
        out["variants"][name] = {
            "ms_p50": lat["p50"] * 1e3, "ms_p99": lat["p99"] * 1e3,
            "texts_per_s": 1.0 / lat["mean"], "spans": sum(map(len, found[name])),
            # Same weights, other float rounding: spans shared with the exact-arithmetic run.
            "span_agreement_with_q4_exact": span_agreement(found[EXACT], found[name]),
            "disagreements_with_q4_exact": disagreements(texts, found[EXACT], found[name])}
    base = out["variants"][f"config build, threads={threads}"]["ms_p50"]
    for v in out["variants"].values():
        v["speedup_vs_config"] = ratio(base, v["ms_p50"])
    return out


def run(quick: bool) -> dict[str, Any]:
    texts = prompts(16 if quick else 96)
    rounds = 1 if quick else 5
    result = {"texts": len(texts), "rounds": rounds, "options": {
        k: v for k, v in ner_options().items() if k not in ("labels", "kind")}}
    result["stage_vs_bare"] = stage_vs_bare(texts, rounds)
    result["batching"] = batching(texts, rounds, 16)
    result["builds_and_threads"] = builds_and_threads(texts[: 8 if quick else 48], rounds)
    b = result["batching"]["ratios"]
    result["targets"] = {
        "stage >= 0.8x bare session": result["stage_vs_bare"]["ratio"] >= 0.8,
        "batching on >= 1.5x off (16 concurrent, q4)": b["q4 texts/s batching on / off"] >= 1.5,
        "p95 at 16 concurrent <= 2x one alone (config)":
            b["config p95 (concurrent) / p50 alone"] <= 2.0,
    }
    return result


def table(result: dict[str, Any]) -> str:
    sb = result["stage_vs_bare"]
    text = (f"texts={result['texts']} rounds={result['rounds']} windows={sb['windows']} "
            f"batches={sb['batches']} options={result['options']}\n\n")
    text += format_table(["(1) same windows", "texts/s", "ms p50 (all texts)"], [
        [n, v["texts_per_s"], v["seconds"]["p50"] * 1e3] for n, v in sb["variants"].items()])
    text += f"\n\nstage / bare: {sb['ratio']:.3f}\n\n"
    b = result["batching"]
    text += format_table(["(2) requests", "texts/s", "latency p50 ms", "p95 ms", "p99 ms"], [
        [n, v["texts_per_s"], v["latency_ms"]["p50"], v["latency_ms"]["p95"],
         v["latency_ms"]["p99"]] for n, v in b["variants"].items()])
    text += "\n\n" + format_table(["ratio", "value"], list(b["ratios"].items()))
    bt = result["builds_and_threads"]["variants"]
    text += "\n\n" + format_table(
        ["(3) whole stage, one request at a time", "ms p50", "ms p99", "x config", "spans",
         "span agreement with q4 exact"],
        [[n, v["ms_p50"], v["ms_p99"], v["speedup_vs_config"], v["spans"],
          v["span_agreement_with_q4_exact"]] for n, v in bt.items()])
    text += "\n\n" + format_table(["target", "met"], list(result["targets"].items()))
    return text


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    result = run(args.quick)
    emit("ner_stage", args, result, table(result))


if __name__ == "__main__":
    main()
