"""Benchmark: ``/v1/messages`` (Anthropic) beside ``/v1/chat/completions`` (OpenAI), same run.

One anonymize-proxy (regex + keyword config) serves both routes against one fake upstream that
answers each in its own format with the same text. Round by round, rotated: each route
straight to the fake and through the proxy. Added latency = the proxied median (p99) minus the
direct median of the same route, at concurrency 1; added time to first token likewise for
streams (64 chunks 20 ms apart). The figure to read is the messages/chat ratio: the Anthropic
format should cost what the OpenAI one costs.

    python -m benchmarks.anthropic_route [--quick] [--json FILE]
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from benchmarks.common import emit, format_table, interleave, parser, ratio, summarize
from benchmarks.data import chat_body, prompts
from benchmarks.fake_upstream import stream_token
from benchmarks.loadgen import LoadGenerator
from benchmarks.targets import anonymize_proxy, fake_upstream, proxy_available, rules_config

ROUTES = {"chat": "/v1/chat/completions", "messages": "/v1/messages"}
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "sk-ant-bench"}


def messages_body(text: str, stream: bool = False) -> str:
    """The Anthropic request with the same texts as ``chat_body``."""
    return json.dumps({"model": "claude-fake", "max_tokens": 256, "stream": stream,
                       "system": "You are a helpful assistant for a customer team.",
                       "messages": [{"role": "user", "content": text}]})


def bodies(route: str, texts: list[str], stream: bool = False) -> list[str]:
    make = messages_body if route == "messages" else chat_body
    return [make(t, stream) for t in texts]


def run(quick: bool) -> dict[str, Any]:
    texts = prompts(8 if quick else 64)
    rounds, requests = (2, 30) if quick else (6, 200)
    chunks, gap_ms = (16, 5.0) if quick else (64, 20.0)
    streams = 4 if quick else 8
    expect = "".join(stream_token(i) for i in range(chunks))
    out: dict[str, Any] = {"rounds": rounds, "requests_per_round": requests, "chunks": chunks,
                           "gap_ms": gap_ms, "latency_ms": {}, "ttft_ms": {}}
    if reason := proxy_available():
        raise SystemExit(f"anonymize-proxy cannot run here: {reason}")
    with contextlib.ExitStack() as stack, LoadGenerator() as lg:
        upstream = stack.enter_context(fake_upstream(chunks=chunks, gap_ms=gap_ms))
        config = stack.enter_context(rules_config())
        proxy = stack.enter_context(anonymize_proxy(
            "proxy", upstream, config,
            extra=("--anthropic-upstream", f"http://127.0.0.1:{upstream.port}")))
        ports = {"direct": upstream.port, "proxy": proxy.port}
        for route, path in ROUTES.items():
            ready = lg.run(op="ready", port=proxy.port, path=path, headers=ANTHROPIC_HEADERS,
                           bodies=bodies(route, texts[:1]), timeout=180)
            if not ready["ok"]:
                raise RuntimeError(f"{route} never answered 200: {ready['last_error']}")

        def latency(route: str, via: str):
            return lambda: lg.run(op="latency", port=ports[via], path=ROUTES[route],
                                  headers=ANTHROPIC_HEADERS, bodies=bodies(route, texts),
                                  concurrency=1, requests=requests)

        def stream(route: str, via: str):
            return lambda: lg.run(op="stream", port=ports[via], path=ROUTES[route],
                                  headers=ANTHROPIC_HEADERS,
                                  body=bodies(route, texts[:1], stream=True)[0],
                                  concurrency=2, streams=streams, expect=expect)

        variants = [(r, v) for r in ROUTES for v in ports]
        lat = interleave({f"{r} {v}": latency(r, v) for r, v in variants}, rounds)
        ttft = interleave({f"{r} {v}": stream(r, v) for r, v in variants}, rounds)
    for name, runs in lat.items():
        if any(r["errors"] for r in runs):
            raise RuntimeError(f"{name}: {next(r['first_error'] for r in runs if r['errors'])}")
        out["latency_ms"][name] = _ms(summarize([x for r in runs for x in r["latencies"]]))
    for name, runs in ttft.items():
        if any(r["errors"] for r in runs) or any(r["content_ok"] != streams for r in runs):
            raise RuntimeError(f"{name}: streams failed or text changed: "
                               f"{next((r['first_error'] for r in runs), None)}")
        out["ttft_ms"][name] = _ms(summarize([x for r in runs for x in r["ttft"]]))
    out["added"] = {}
    for route in ROUTES:
        lat_direct, lat_proxy = out["latency_ms"][f"{route} direct"], out["latency_ms"][
            f"{route} proxy"]
        ttft_direct, ttft_proxy = out["ttft_ms"][f"{route} direct"], out["ttft_ms"][
            f"{route} proxy"]
        out["added"][route] = {
            "latency_ms_p50": lat_proxy["p50"] - lat_direct["p50"],
            "latency_ms_p99": lat_proxy["p99"] - lat_direct["p50"],
            "ttft_ms_p50": ttft_proxy["p50"] - ttft_direct["p50"],
        }
    added = out["added"]
    out["ratios"] = {
        "messages / chat added latency p50": ratio(added["messages"]["latency_ms_p50"],
                                                   added["chat"]["latency_ms_p50"]),
        "messages / chat added TTFT p50": ratio(added["messages"]["ttft_ms_p50"],
                                                added["chat"]["ttft_ms_p50"]),
    }
    return out


def _ms(summary: dict[str, float]) -> dict[str, float]:
    return {k: v if k == "n" else v * 1e3 for k, v in summary.items()}


def table(result: dict[str, Any]) -> str:
    rows = [[route, a["latency_ms_p50"], a["latency_ms_p99"], a["ttft_ms_p50"]]
            for route, a in result["added"].items()]
    text = format_table(["route (rules config)", "added latency p50 ms", "added p99 ms",
                         "added TTFT p50 ms"], rows)
    return text + "\n\n" + format_table(["ratio", "value"], list(result["ratios"].items()))


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    result = run(args.quick)
    emit("anthropic_route", args, result, table(result))


if __name__ == "__main__":
    main()
