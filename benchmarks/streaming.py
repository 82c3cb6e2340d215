"""Benchmark 2: streaming. What the proxy adds to time to first token and to the gaps between
chunks, and whether 50 concurrent streams arrive whole.

The fake upstream streams 64 content chunks 20 ms apart. Round by round, rotated, a few
streams at a time go direct, through the pass-through and through anonymize-proxy (regex +
keyword config, and the default NER config when available). Targets: TTFT at most 5 ms above
the pass-through's, chunk-gap p99 at most 2 ms above it, and 50 concurrent streams with every
chunk (the restored text equals what the fake sent, and each stream ends with [DONE]).

    python -m benchmarks.streaming [--quick] [--json FILE] [--no-ner]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.common import (
    emit,
    format_table,
    interleave,
    proxy_parser,
    summarize,
    targets_met,
)
from benchmarks.data import chat_body, prompts
from benchmarks.fake_upstream import stream_token
from benchmarks.loadgen import LoadGenerator
from benchmarks.targets import DEFAULT_CONFIG, Target, stream_targets


def run(quick: bool, with_ner: bool, ner_config: Path = DEFAULT_CONFIG) -> dict[str, Any]:
    chunks, gap_ms = (16, 5.0) if quick else (64, 20.0)
    rounds, per_round, light = (1, 2, 2) if quick else (6, 8, 4)
    heavy = 10 if quick else 50
    body = chat_body(prompts(1)[0], stream=True)
    expect = "".join(stream_token(i) for i in range(chunks))
    missing: dict[str, str] = {}
    out: dict[str, Any] = {"chunks_per_stream": chunks, "gap_ms": gap_ms, "rounds": rounds,
                           "streams_per_round": per_round, "light_concurrency": light,
                           "heavy_concurrency": heavy, "variants": {}, "concurrent": {}}
    with stream_targets(chunks, gap_ms, with_ner, missing, ner_config) as targets, \
            LoadGenerator() as lg:
        for t in targets:
            ready = lg.run(op="ready", port=t.port, body=chat_body("warm up"), timeout=180)
            if not ready["ok"]:
                raise RuntimeError(f"{t.name} never answered 200: {ready['last_error']}")

        def light_run(t: Target):
            return lambda: lg.run(op="stream", port=t.port, body=body, concurrency=light,
                                  streams=per_round, expect=expect)

        results = interleave({t.name: light_run(t) for t in targets}, rounds)
        for name, runs in results.items():
            errors = sum(r["errors"] for r in runs)
            if errors:
                raise RuntimeError(f"{name}: {errors} failed streams: {runs[0]['first_error']}")
            out["variants"][name] = {
                "ttft_ms": _ms(summarize([x for r in runs for x in r["ttft"]])),
                "gap_ms": _ms(summarize([x for r in runs for x in r["gaps"]])),
            }
        for t in targets:
            r = lg.run(op="stream", port=t.port, body=body, concurrency=heavy, streams=heavy,
                       expect=expect)
            out["concurrent"][t.name] = {
                "streams": heavy, "errors": r["errors"], "first_error": r["first_error"],
                "done": r["done"], "content_ok": r["content_ok"],
                "chunks_min": min(r["chunks"], default=0),
                "ttft_ms_p99": summarize(r["ttft"])["p99"] * 1e3 if r["ttft"] else None,
                "gap_ms_p99": summarize(r["gaps"])["p99"] * 1e3 if r["gaps"] else None,
            }
    out["missing"] = missing
    base = out["variants"]["passthrough"]
    out["added_over_passthrough"] = {
        name: {"ttft_ms_p50": v["ttft_ms"]["p50"] - base["ttft_ms"]["p50"],
               "gap_ms_p99": v["gap_ms"]["p99"] - base["gap_ms"]["p99"]}
        for name, v in out["variants"].items() if name not in ("direct", "passthrough")
    }
    out["targets"] = {}
    for name, added in out["added_over_passthrough"].items():
        c = out["concurrent"][name]
        out["targets"][f"{name}: added TTFT <= 5 ms"] = added["ttft_ms_p50"] <= 5.0
        out["targets"][f"{name}: added gap p99 <= 2 ms"] = added["gap_ms_p99"] <= 2.0
        out["targets"][f"{name}: {heavy} concurrent streams, no chunk lost"] = (
            c["errors"] == 0 and c["done"] == heavy and c["content_ok"] == heavy)
    return out


def _ms(summary: dict[str, float]) -> dict[str, float]:
    return {k: v if k == "n" else v * 1e3 for k, v in summary.items()}


def table(result: dict[str, Any]) -> str:
    rows = []
    for name, v in result["variants"].items():
        added = result["added_over_passthrough"].get(name, {})
        rows.append([name, v["ttft_ms"]["p50"], v["ttft_ms"]["p99"], v["gap_ms"]["p50"],
                     v["gap_ms"]["p99"], added.get("ttft_ms_p50", "-"),
                     added.get("gap_ms_p99", "-")])
    text = (f"{result['chunks_per_stream']} chunks {result['gap_ms']} ms apart; "
            f"{result['light_concurrency']} streams at a time\n\n")
    text += format_table(["target", "TTFT p50 ms", "TTFT p99 ms", "gap p50 ms", "gap p99 ms",
                          "TTFT +ms vs passthrough", "gap p99 +ms vs passthrough"], rows)
    heavy = [[n, c["streams"], c["done"], c["content_ok"], c["chunks_min"], c["ttft_ms_p99"],
              c["gap_ms_p99"]] for n, c in result["concurrent"].items()]
    text += "\n\n" + format_table(["target", "concurrent streams", "ended [DONE]",
                                   "text intact", "min chunks", "TTFT p99 ms", "gap p99 ms"],
                                  heavy)
    return text + "\n\n" + targets_met(result)


def main() -> None:
    p = proxy_parser(__doc__.splitlines()[0], DEFAULT_CONFIG)
    args = p.parse_args()
    result = run(args.quick, with_ner=not args.no_ner, ner_config=args.ner_config)
    emit("streaming", args, result, table(result))


if __name__ == "__main__":
    main()
