"""Benchmark 8: the Responses route (``/v1/responses``) beside the chat route, in one run.

The same prompts go to ``/v1/chat/completions`` (messages) and to ``/v1/responses``
(``instructions`` + an input message), round by round and rotated, straight to the fake
upstream, through the aiohttp pass-through and through anonymize-proxy (regex + keyword
config, and the default NER config when available). Figures: added latency at concurrency 1
(a variant's median minus the direct median of the same route) and added time to first token
of a streamed answer (minus the pass-through's, as in benchmark 2). The ratio responses/chat
says what the Responses format itself costs: its schema walk, typed-event translation and
the per-response map write.

    python -m benchmarks.responses_route [--quick] [--json FILE] [--no-ner]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.common import emit, format_table, interleave, proxy_parser, ratio, summarize
from benchmarks.data import chat_body, prompts
from benchmarks.fake_upstream import stream_token
from benchmarks.loadgen import LoadGenerator
from benchmarks.targets import DEFAULT_CONFIG, Target, stream_targets

ROUTES = {"chat": "/v1/chat/completions", "responses": "/v1/responses"}


def responses_body(text: str, stream: bool = False) -> str:
    """The Responses API form of ``chat_body``: the system message as ``instructions``."""
    return json.dumps({
        "model": "gpt-4o-mini",
        "stream": stream,
        "instructions": "You are a helpful assistant for a customer team.",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}],
    })


def body_for(route: str, text: str, stream: bool = False) -> str:
    return (chat_body if route == "chat" else responses_body)(text, stream)


def run(quick: bool, with_ner: bool, ner_config: Path = DEFAULT_CONFIG) -> dict[str, Any]:
    texts = prompts(8 if quick else 32)
    rounds, requests = (1, 20) if quick else (6, 150)
    chunks, gap_ms, streams = (8, 5.0, 4) if quick else (16, 10.0, 12)
    expect = "".join(stream_token(i) for i in range(chunks))
    missing: dict[str, str] = {}
    out: dict[str, Any] = {"rounds": rounds, "requests_per_round": requests,
                           "chunks_per_stream": chunks, "gap_ms": gap_ms,
                           "streams_per_round": streams, "variants": {}}
    with stream_targets(chunks, gap_ms, with_ner, missing, ner_config) as targets, \
            LoadGenerator() as lg:
        for t in targets:
            for route, path in ROUTES.items():
                ready = lg.run(op="ready", port=t.port, path=path,
                               body=body_for(route, "warm up"), timeout=180)
                if not ready["ok"]:
                    raise RuntimeError(f"{t.name} {route}: {ready['last_error']}")

        def latency(t: Target, route: str):
            bodies = [body_for(route, x) for x in texts]
            return lambda: _checked(lg.run(op="latency", port=t.port, path=ROUTES[route],
                                           bodies=bodies, concurrency=1, requests=requests))

        def stream(t: Target, route: str):
            body = body_for(route, texts[0], stream=True)
            return lambda: _checked(lg.run(op="stream", port=t.port, path=ROUTES[route],
                                           body=body, concurrency=2, streams=streams,
                                           expect=expect))

        names = {(t.name, route): t for t in targets for route in ROUTES}
        lat = interleave({f"{n} {r}": latency(t, r) for (n, r), t in names.items()}, rounds)
        ttft = interleave({f"{n} {r}": stream(t, r) for (n, r), t in names.items()}, rounds)
    for (name, route) in names:
        key = f"{name} {route}"
        samples = [x for r in lat[key] for x in r["latencies"]]
        firsts = [x for r in ttft[key] for x in r["ttft"]]
        intact = sum(r["content_ok"] for r in ttft[key])
        out["variants"][key] = {"latency_c1_ms": _ms(summarize(samples)),
                                "ttft_ms": _ms(summarize(firsts)),
                                "streams_intact": intact,
                                "streams": sum(len(r["ttft"]) for r in ttft[key])}
    for (name, route) in names:
        v = out["variants"][f"{name} {route}"]
        v["added_ms_p50"] = v["latency_c1_ms"]["p50"] - out["variants"][
            f"direct {route}"]["latency_c1_ms"]["p50"]
        v["added_ttft_ms_p50"] = v["ttft_ms"]["p50"] - out["variants"][
            f"passthrough {route}"]["ttft_ms"]["p50"]
    out["missing"] = missing
    out["ratios"] = {}
    for name in ("rules", "ner"):
        if f"{name} chat" in out["variants"]:
            chat, resp = out["variants"][f"{name} chat"], out["variants"][f"{name} responses"]
            out["ratios"][f"{name}: responses added p50 / chat added p50"] = ratio(
                resp["added_ms_p50"], chat["added_ms_p50"])
    return out


def _checked(result: dict[str, Any]) -> dict[str, Any]:
    if result["errors"]:
        raise RuntimeError(f"{result['errors']} failed: {result['first_error']}")
    return result


def _ms(summary: dict[str, float]) -> dict[str, float]:
    return {k: v if k == "n" else v * 1e3 for k, v in summary.items()}


def table(result: dict[str, Any]) -> str:
    rows = []
    for name, v in result["variants"].items():
        rows.append([name, v["latency_c1_ms"]["p50"], v["latency_c1_ms"]["p99"],
                     v["added_ms_p50"], v["ttft_ms"]["p50"], v["added_ttft_ms_p50"],
                     f"{v['streams_intact']}/{v['streams']}"])
    text = (f"c=1 latency: {result['requests_per_round']} requests a round; streams: "
            f"{result['chunks_per_stream']} deltas {result['gap_ms']} ms apart; "
            f"{result['rounds']} rotated rounds\n\n")
    text += format_table(["target route", "c=1 p50 ms", "c=1 p99 ms", "added p50 ms",
                          "TTFT p50 ms", "TTFT +ms vs passthrough", "streams intact"], rows)
    return text + "\n\n" + format_table(["ratio", "value"], list(result["ratios"].items()))


def main() -> None:
    p = proxy_parser(__doc__.splitlines()[0], DEFAULT_CONFIG)
    args = p.parse_args()
    result = run(args.quick, with_ner=not args.no_ner, ner_config=args.ner_config)
    emit("responses_route", args, result, table(result))


if __name__ == "__main__":
    main()
