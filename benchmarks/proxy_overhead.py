"""Benchmark 1: the latency anonymize-proxy adds, and its requests/s, against a pass-through.

The same chat requests (prompts with names, e-mails, phones, IBANs) go, round by round and
rotated, (a) straight to the fake upstream, (b) through a minimal aiohttp pass-through,
(c) through anonymize-proxy with the regex + keyword config and (d) with the default (NER)
config. Added latency = a variant's median (p99) minus the direct median, at concurrency 1;
throughput = requests/s at concurrency 32. Targets: (c) adds <= 1.5x what (b) adds and keeps
>= 0.8x its requests/s.

    python -m benchmarks.proxy_overhead [--quick] [--json FILE] [--no-ner]
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from benchmarks.common import (
    emit,
    format_table,
    interleave,
    proxy_parser,
    ratio,
    summarize,
    targets_met,
)
from benchmarks.data import chat_body, prompts
from benchmarks.loadgen import LoadGenerator
from benchmarks.targets import (
    DEFAULT_CONFIG,
    Target,
    add_ner_target,
    anonymize_proxy,
    fake_upstream,
    noop_config,
    passthrough,
    proxy_available,
    rules_config,
)

# Measured at concurrency 1 only, to split what "rules" adds into its parts.
SPLIT = {"rules, memory store": "rules", "no-op pipeline, memory store": "no-op"}


@contextlib.contextmanager
def all_targets(with_ner: bool, missing: dict[str, str], ner_config: Path):  # -> Iterator
    """Start every target that can run here; record why the others are missing."""
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(fake_upstream())
        targets = [upstream, stack.enter_context(passthrough(upstream))]
        if reason := proxy_available():
            missing["rules"] = missing["ner"] = reason
        else:
            config = stack.enter_context(rules_config())
            targets.append(stack.enter_context(anonymize_proxy("rules", upstream, config)))
            noop = stack.enter_context(noop_config())
            for name, which in SPLIT.items():
                targets.append(stack.enter_context(anonymize_proxy(
                    name, upstream, config if which == "rules" else noop,
                    redis_url="memory://")))
            add_ner_target(stack, targets, upstream, with_ner, missing, ner_config)
        yield targets


def check(name: str, result: dict[str, Any]) -> dict[str, Any]:
    if result["errors"]:
        raise RuntimeError(f"{name}: {result['errors']} failed requests: {result['first_error']}")
    return result


def measure(lg: LoadGenerator, targets: list[Target], bodies: list[str], rounds: int,
            requests: int, duration: float) -> dict[str, Any]:
    for t in targets:
        ready = lg.run(op="ready", port=t.port, bodies=bodies, timeout=180)
        if not ready["ok"]:
            raise RuntimeError(f"{t.name} never answered 200: {ready['last_error']}")

    def latency(t: Target):  # concurrency 1: the latency a user waits for
        return lambda: check(t.name, lg.run(op="latency", port=t.port, bodies=bodies,
                                            concurrency=1, requests=requests))

    def throughput(t: Target):  # concurrency 32, a fixed time each
        return lambda: check(t.name, lg.run(op="latency", port=t.port, bodies=bodies,
                                            concurrency=32, duration=duration, warmup=1))

    lat = interleave({t.name: latency(t) for t in targets}, rounds)
    main = [t for t in targets if t.name not in SPLIT]
    tput = interleave({t.name: throughput(t) for t in main}, rounds)
    out: dict[str, Any] = {"variants": {}, "split": {}}
    for t in targets:
        samples = [x for r in lat[t.name] for x in r["latencies"]]
        entry: dict[str, Any] = {"latency_c1_ms": {k: v * 1e3 if k not in ("n",) else v
                                                   for k, v in summarize(samples).items()}}
        if t.name in tput:
            rps = [len(r["latencies"]) / r["elapsed"] for r in tput[t.name]]
            entry.update(rps_c32=summarize(rps)["p50"], rps_c32_rounds=rps,
                         latency_c32_ms_p50=summarize(
                             [x for r in tput[t.name] for x in r["latencies"]])["p50"] * 1e3)
        (out["split"] if t.name in SPLIT else out["variants"])[t.name] = entry
    base = out["variants"]["direct"]["latency_c1_ms"]
    for v in [*out["variants"].values(), *out["split"].values()]:
        # Both against the direct median: a difference of two p99s would mostly measure the
        # direct call's own rare stalls (a 2 ms outlier there made "added p99" negative).
        v["added_ms_p50"] = v["latency_c1_ms"]["p50"] - base["p50"]
        v["added_ms_p99"] = v["latency_c1_ms"]["p99"] - base["p50"]
    if out["split"]:
        out["breakdown_ms_p50"] = breakdown(out)
    return out


def breakdown(out: dict[str, Any]) -> dict[str, float]:
    """What "rules" adds over the direct call, in parts (medians at concurrency 1)."""
    p50 = {name: v["latency_c1_ms"]["p50"]
           for name, v in [*out["variants"].items(), *out["split"].items()]}
    return {
        "a Python aiohttp hop (passthrough - direct)": p50["passthrough"] - p50["direct"],
        "proxy framework (no-op pipeline - passthrough)":
            p50["no-op pipeline, memory store"] - p50["passthrough"],
        "detection + placeholders (rules - no-op, both memory store)":
            p50["rules, memory store"] - p50["no-op pipeline, memory store"],
        "Redis map write (rules - rules with memory store)":
            p50["rules"] - p50["rules, memory store"],
        "total added by rules": p50["rules"] - p50["direct"],
    }


def ratios(result: dict[str, Any]) -> dict[str, float]:
    v = result["variants"]
    out: dict[str, float] = {}
    for name in ("rules", "ner"):
        if name in v:
            out[f"{name} added p50 / passthrough added p50"] = ratio(
                v[name]["added_ms_p50"], v["passthrough"]["added_ms_p50"])
            out[f"{name} added p99 / passthrough added p99"] = ratio(
                v[name]["added_ms_p99"], v["passthrough"]["added_ms_p99"])
            out[f"{name} rps / passthrough rps (c=32)"] = ratio(
                v[name]["rps_c32"], v["passthrough"]["rps_c32"])
    out["direct rps / passthrough rps (fake's headroom)"] = ratio(
        v["direct"]["rps_c32"], v["passthrough"]["rps_c32"])
    return out


def run(quick: bool, with_ner: bool, ner_config: Path = DEFAULT_CONFIG) -> dict[str, Any]:
    bodies = [chat_body(p) for p in prompts(8 if quick else 64)]
    rounds, requests, duration = (1, 20, 0.5) if quick else (8, 200, 3.0)
    missing: dict[str, str] = {}
    with all_targets(with_ner, missing, ner_config) as targets, LoadGenerator() as lg:
        result = measure(lg, targets, bodies, rounds, requests, duration)
    result.update(rounds=rounds, requests_per_round_c1=requests, seconds_per_round_c32=duration,
                  missing=missing)
    result["ratios"] = ratios(result)
    result["targets"] = {
        "rules added p50 <= 1.5x passthrough added p50": result["ratios"].get(
            "rules added p50 / passthrough added p50", float("inf")) <= 1.5,
        "rules rps >= 0.8x passthrough rps": result["ratios"].get(
            "rules rps / passthrough rps (c=32)", 0.0) >= 0.8,
    }
    return result


def table(result: dict[str, Any]) -> str:
    rows = []
    for name, v in result["variants"].items():
        lat = v["latency_c1_ms"]
        rows.append([name, lat["p50"], lat["p99"], v["added_ms_p50"], v["added_ms_p99"],
                     v["rps_c32"], v["latency_c32_ms_p50"]])
    text = format_table(["target", "c=1 p50 ms", "c=1 p99 ms", "added p50 ms", "added p99 ms",
                         "req/s c=32", "c=32 p50 ms"], rows)
    if result.get("breakdown_ms_p50"):
        text += "\n\n" + format_table(["what rules adds (c=1 medians)", "ms"],
                                      list(result["breakdown_ms_p50"].items()))
    text += "\n\n" + format_table(["ratio", "value"], list(result["ratios"].items()))
    return text + "\n\n" + targets_met(result)


def main() -> None:
    p = proxy_parser(__doc__.splitlines()[0], DEFAULT_CONFIG)
    args = p.parse_args()
    result = run(args.quick, with_ner=not args.no_ner, ner_config=args.ner_config)
    emit("proxy_overhead", args, result, table(result))


if __name__ == "__main__":
    main()
