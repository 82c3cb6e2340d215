"""Every benchmark still runs: each script in ``--quick`` mode, as a user would start it.

These prove the scripts work end to end (real subprocesses, real HTTP, real Redis, the real
model) and print well-formed results; they assert no speed. Speed is in the full runs.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def run_quick(name: str, tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--quick", "--json", str(out), *extra],
        cwd=REPO, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "|---" in done.stdout, "no results table printed"
    result = json.loads(out.read_text())
    assert result["benchmark"] == name and result["quick"] is True
    assert result["machine"]["cores"] >= 1
    return result


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0 and math.isfinite(value)


def test_proxy_overhead(tmp_path: Path) -> None:
    result = run_quick("proxy_overhead", tmp_path)
    variants = result["variants"]
    assert {"direct", "passthrough", "rules", "ner"} <= set(variants), result["missing"]
    for name, v in variants.items():
        assert v["latency_c1_ms"]["n"] > 0, name
        assert positive(v["latency_c1_ms"]["p50"]) and positive(v["rps_c32"]), name
    # The fake must never be the bottleneck: it answers faster than the pass-through.
    assert variants["direct"]["rps_c32"] > variants["passthrough"]["rps_c32"]
    assert positive(result["ratios"]["rules rps / passthrough rps (c=32)"])


def test_streaming(tmp_path: Path) -> None:
    result = run_quick("streaming", tmp_path, "--no-ner")
    assert {"direct", "passthrough", "rules"} <= set(result["variants"]), result["missing"]
    for name, v in result["variants"].items():
        assert positive(v["ttft_ms"]["p50"]) and positive(v["gap_ms"]["p99"]), name
    for name, c in result["concurrent"].items():
        # Whole streams are a correctness property, so it holds even in a smoke run.
        assert c["errors"] == 0 and c["done"] == c["streams"] == c["content_ok"], name
        assert c["chunks_min"] == result["chunks_per_stream"], name


def test_ner_stage(tmp_path: Path) -> None:
    result = run_quick("ner_stage", tmp_path)
    assert positive(result["stage_vs_bare"]["ratio"])
    for v in result["stage_vs_bare"]["variants"].values():
        assert positive(v["texts_per_s"])
    for v in result["batching"]["variants"].values():
        assert positive(v["texts_per_s"]) and positive(v["latency_ms"]["p95"])
    builds = result["builds_and_threads"]["variants"]
    assert all(positive(v["ms_p50"]) for v in builds.values())
    # The fp32 build is the bundled weights dequantized: with exact (float) arithmetic on both,
    # the stage finds nearly the same spans. Not exactly the same: ONNX Runtime picks its
    # kernels per instruction set (AVX2, AVX-512, NEON), so float rounding differs between
    # CPUs and a word whose score sits at its bar can flip. On these 16 prompts (~43 spans)
    # we measured 0.955 on an AVX-512 EPYC and 0.977 on an AVX2-only one (span counts 43/43
    # and 42/43: equal counts were luck). 0.9 allows about four flips; a broken
    # dequantization (wrong scales, a lost layer) falls far below (the 8-bit per-tensor
    # build, a real but lossier rebuild, already scores about 0.76).
    exact = builds["q4 exact arithmetic, threads=1"]
    fp32 = builds["fp32, threads=1"]
    assert exact["spans"] > 0 and fp32["spans"] > 0
    assert fp32["span_agreement_with_q4_exact"] >= 0.9, fp32["disagreements_with_q4_exact"]


def test_ner_variants(tmp_path: Path) -> None:
    result = run_quick("ner_variants", tmp_path)
    models = {name.split(",")[0] for name in result["variants"]}
    assert models == {"q4 (bundled)", "q4 int8-compute", "fp32", "int8", "int8 per-channel"}
    assert all(positive(v["texts_per_s"]) for v in result["variants"].values())
    # fp32 is the q4 weights dequantized: it must label tokens as q4 does, and the shipped
    # int8 build (int8_weights) nearly so. Token argmax agreement is far from its bars on any
    # CPU kind (measured: q4 1.0 with AVX-512 and AVX2-only; int8 per-channel 0.995 / 0.993),
    # so these hold across instruction sets while a wrong rebuild (0.96 for per-tensor int8)
    # fails them.
    assert result["agreement_with_fp32"]["q4 (bundled)"]["tokens"] > 0.99
    assert result["agreement_with_fp32"]["int8 per-channel"]["tokens"] > 0.97


def test_keywords(tmp_path: Path) -> None:
    result = run_quick("keywords", tmp_path)
    variants = result["variants"]
    assert {"stage (flashtext)", "bare flashtext", "re alternation"} <= set(variants)
    assert all(positive(v["chars_per_s"]) for v in variants.values())
    assert variants["stage (flashtext)"]["matches"] > 0
    try:
        import ahocorasick  # noqa: F401
    except ImportError:
        assert "automaton stage" in result["missing"]
    else:
        # Same text, same keywords: the proposed replacement finds the same matches.
        assert variants["automaton stage"]["matches"] == variants["stage (flashtext)"]["matches"]


def test_redis_store(tmp_path: Path) -> None:
    result = run_quick("redis_store", tmp_path)
    assert not result["missing"]
    assert result["round_trips"]["round_trips_per_request"] >= 1
    assert {"direct", "rules + redis", "rules + memory"} == set(result["variants"])


def test_responses_route(tmp_path: Path) -> None:
    result = run_quick("responses_route", tmp_path, "--no-ner")
    variants = result["variants"]
    for target in ("direct", "passthrough", "rules"):
        for route in ("chat", "responses"):
            v = variants[f"{target} {route}"]
            assert positive(v["latency_c1_ms"]["p50"]) and positive(v["ttft_ms"]["p50"])
            # Whole restored streams are a correctness property, so they hold in a smoke run.
            assert v["streams_intact"] == v["streams"] > 0, (target, route)


def test_batch_benchmark_quick(tmp_path: Path) -> None:
    # Presidio needs its own venv and Spark a JVM: the full run (python -m benchmarks.batch)
    # measures both; here the batch variants and the quality scoring must still run.
    result = run_quick("batch", tmp_path, "--no-presidio", "--no-spark")
    assert result["variants"]["rules jsonl workers=1"]["rows_per_s"] > 0
    assert result["quality"]["default"]["recall"] > result["quality"]["rules"]["recall"]


def test_anthropic_route(tmp_path: Path) -> None:
    result = run_quick("anthropic_route", tmp_path)
    assert set(result["added"]) == {"chat", "messages"}
    assert all(positive(result["latency_ms"][f"{route} proxy"]["p50"])
               for route in ("chat", "messages"))
    assert positive(result["ratios"]["messages / chat added latency p50"])


def test_conversation(tmp_path: Path) -> None:
    result = run_quick("conversation", tmp_path)
    assert all(positive(v) for v in result["history_kb"].values())
    assert result["stable_prefix_share"] == 1.0
    assert all(trips >= 2 for trips in result["store_trips_per_turn"].values())


def test_long_prompt(tmp_path: Path) -> None:
    result = run_quick("long_prompt", tmp_path)
    assert positive(result["bare_model_kb_per_s"]) and positive(result["pipeline_kb_per_s"])
