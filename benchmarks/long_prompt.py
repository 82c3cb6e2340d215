"""Benchmark: kB/s of the default config on one long prompt against the bare model's kB/s.

The bare model is the NER stage's ONNX session alone, run on exactly the windows the stage
cuts from the same text (tokenized once, outside the timing), one window a run as the 8-bit
build requires (docs/ner.md). The pipeline figure is ``analyze_many_async`` on the whole text
(every stage, the windows' decoding, overlaps, every occurrence), as the proxy calls it. The
ratio says how much of a long prompt's time is the model itself: 1.0 means nothing else
costs.

    python -m benchmarks.long_prompt [--quick] [--kb 256] [--json FILE]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import numpy as np

from benchmarks.common import emit, format_table, parser, ratio
from benchmarks.data import prompts
from benchmarks.targets import DEFAULT_CONFIG
from pipeline import Pipeline
from pipeline.ner.windows import plan_windows
from pipeline.stages.ner import NerStage


def long_text(kb: int) -> str:
    out, size = [], 0
    for prompt in prompts(4000):
        out.append(prompt)
        size += len(prompt) + 2
        if size >= kb * 1024:
            break
    return "\n\n".join(out)


def bare_model_seconds(stage: NerStage, text: str) -> float:
    engine = stage.engine
    model = engine.model
    enc = model.tokenizer.encode(text, add_special_tokens=False)
    windows = plan_windows(enc.word_ids, engine.budget, engine.options.stride)
    batches = [np.array([model.prefix_ids + enc.ids[w.start:w.end] + model.suffix_ids],
                        dtype=np.int64) for w in windows]
    started = time.perf_counter()
    for ids in batches:
        model.probabilities(ids, np.ones_like(ids))
    return time.perf_counter() - started


def run(quick: bool, kb: int) -> dict[str, Any]:
    kb = 12 if quick else kb
    rounds = 1 if quick else 3
    text = long_text(kb)
    size_kb = len(text.encode()) / 1024
    with Pipeline.from_yaml(DEFAULT_CONFIG) as pipeline:
        stage = next(s for s in pipeline.stages if isinstance(s, NerStage))
        pipeline.analyze(text[:2000])  # warm-up
        bare, whole, spread = [], [], []
        for _ in range(rounds):
            bare.append(bare_model_seconds(stage, text))
            started = time.perf_counter()
            spans = asyncio.run(pipeline.analyze_many_async([text]))
            whole.append(time.perf_counter() - started)
            started = time.perf_counter()
            pipeline.every_occurrence([text], spans)
            spread.append(time.perf_counter() - started)
    bare_s, whole_s = statistics.median(bare), statistics.median(whole)
    return {
        "text_kb": round(size_kb, 1),
        "bare_model_kb_per_s": round(size_kb / bare_s, 1),
        "pipeline_kb_per_s": round(size_kb / whole_s, 1),
        "pipeline_over_bare_time": round(ratio(whole_s, bare_s), 2),
        "every_occurrence_ms": round(statistics.median(spread) * 1000, 1),
        "rounds": rounds,
        "targets": {},
        "missing": {},
    }


def table(result: dict[str, Any]) -> str:
    return format_table(
        ["text kB", "bare model kB/s", "default config kB/s", "time / bare model time",
         "every-occurrence pass ms"],
        [[result["text_kb"], result["bare_model_kb_per_s"], result["pipeline_kb_per_s"],
          result["pipeline_over_bare_time"], result["every_occurrence_ms"]]])


def main() -> None:
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--kb", type=int, default=256, help="size of the long prompt")
    args = p.parse_args()
    result = run(args.quick, args.kb)
    emit("long_prompt", args, result, table(result))


if __name__ == "__main__":
    main()
