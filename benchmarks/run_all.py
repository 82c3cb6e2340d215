"""Run every benchmark in full mode, one after another, and write ``benchmarks/results.md``.

Each benchmark runs as its own process (``python -m benchmarks.<name> --json ...``); its table
and the machine it ran on go into the Markdown file, its numbers into
``benchmarks/results/<name>.json``.

    python -m benchmarks.run_all [--quick] [--only keywords,streaming] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import PYTHON, REPO, machine

BENCHMARKS = {
    "proxy_overhead": "1. Proxy overhead (added latency at c=1, requests/s at c=32)",
    "streaming": "2. Streaming (time to first token, gaps between chunks, 50 streams)",
    "ner_stage": "3. NER stage (against bare ONNX Runtime; batching on/off)",
    "ner_variants": "3. NER model builds, threads, batch (bare ONNX Runtime)",
    "keywords": "4. Keyword stage at 10,000 keywords",
    "redis_store": "5. Redis map write",
    "conversation": "6. A 30-turn agent conversation (added latency per turn, stable prefix)",
    "long_prompt": "7. Long prompt kB/s against the bare model",
    "responses_route": "8. Responses route beside the chat route (added latency, TTFT)",
    "batch": "9. Batch anonymization (against Presidio's batch engines; Spark local[2])",
    "anthropic_route": "10. Anthropic /v1/messages beside /v1/chat/completions",
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke-run each (seconds)")
    p.add_argument("--only", help="comma-separated benchmark names")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results.md"))
    args = p.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")
    folder = REPO / "benchmarks" / "results"
    folder.mkdir(exist_ok=True)
    info = machine()
    sections = [
        "# Benchmark results",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}; "
        f"{info['date']}; load average at start {info['load_1min']:.2f}."
        + (" QUICK MODE: smoke figures, not results." if args.quick else ""),
        "",
        "Every figure is a median (or p99) over interleaved, rotated rounds of the variants it",
        "compares, measured in the same run; ratios are what to compare across machines.",
        "Regenerate: `python -m benchmarks.run_all` (one benchmark: `python -m benchmarks.NAME`).",
    ]
    failed = []
    for name in names:
        out_json = folder / f"{name}.json"
        argv = [PYTHON, "-m", f"benchmarks.{name}", "--json", str(out_json)]
        if args.quick:
            argv.append("--quick")
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        print(done.stdout, flush=True)
        command = f"python -m benchmarks.{name}" + (" --quick" if args.quick else "")
        sections += ["", f"## {BENCHMARKS[name]}", "", f"`{command}` ({seconds:.0f} s)", ""]
        if done.returncode != 0:
            failed.append(name)
            print(done.stderr[-3000:], file=sys.stderr, flush=True)
            sections.append(f"FAILED (exit {done.returncode}):\n\n```\n{done.stderr[-1500:]}\n```")
        else:
            sections.append(done.stdout.strip())
            if out_json.exists():
                load = json.loads(out_json.read_text())["machine"]["load_1min"]
                sections += ["", f"(load average when it finished: {load:.2f})"]
    Path(args.out).write_text("\n".join(sections) + "\n", encoding="utf-8")
    print(f"wrote {args.out}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
