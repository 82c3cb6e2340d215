"""Benchmark 5: the Redis map write. Round trips per request, and its share of the added latency.

Share: anonymize-proxy (regex + keyword config) with a Redis store and with the in-memory
store (``memory://``), interleaved with direct requests at concurrency 1;
share = (p50 with Redis - p50 in memory) / (p50 with Redis - p50 direct).

Round trips: the proxy talks to Redis through a counting TCP relay in this process; a round
trip is one burst the proxy sends before it waits for the answer (pipelined commands travel
in one burst). The relay is used only for counting, never while timing.

    python -m benchmarks.redis_store [--quick] [--json FILE]
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from benchmarks.common import emit, format_table, free_port, interleave, parser, ratio, summarize
from benchmarks.data import chat_body, prompts
from benchmarks.loadgen import LoadGenerator
from benchmarks.targets import (
    BENCH_REDIS,
    anonymize_proxy,
    fake_upstream,
    proxy_available,
    rules_config,
)


def command_names(burst: bytes) -> list[str]:
    """Names of the RESP commands in one burst (``*3\\r\\n$3\\r\\nSET...`` -> ``SET``)."""
    names = []
    pos = 0
    while pos < len(burst) and burst[pos : pos + 1] == b"*":
        end = burst.index(b"\r\n", pos)
        count = int(burst[pos + 1 : end])
        pos = end + 2
        for i in range(count):
            end = burst.index(b"\r\n", pos)
            size = int(burst[pos + 1 : end])
            if i == 0:
                names.append(burst[end + 2 : end + 2 + size].decode(errors="replace").upper())
            pos = end + 2 + size + 2
    return names


class CountingRelay:
    """A loopback TCP relay to Redis that records each burst the client sends."""

    def __init__(self, redis_host: str, redis_port: int) -> None:
        self.target = (redis_host, redis_port)
        self.port = free_port()
        self.bursts: list[list[str]] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)

        async def client_to_redis() -> None:
            while data := await reader.read(65536):
                with contextlib.suppress(ValueError, IndexError):
                    self.bursts.append(command_names(data))
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def redis_to_client() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()

        with contextlib.suppress(OSError):
            await asyncio.gather(client_to_redis(), redis_to_client())

    def __enter__(self) -> CountingRelay:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def count_round_trips(bodies: list[str], requests: int) -> dict[str, Any]:
    url = urlparse(BENCH_REDIS)
    with CountingRelay(url.hostname or "127.0.0.1", url.port or 6379) as relay, \
            fake_upstream() as upstream, rules_config() as config, \
            anonymize_proxy("rules", upstream, config,
                            redis_url=f"redis://127.0.0.1:{relay.port}{url.path}") as proxy, \
            LoadGenerator() as lg:
        lg.run(op="ready", port=proxy.port, bodies=bodies, timeout=120)
        lg.run(op="latency", port=proxy.port, bodies=bodies, concurrency=1, requests=5)
        before = len(relay.bursts)
        result = lg.run(op="latency", port=proxy.port, bodies=bodies, concurrency=1,
                        requests=requests, warmup=0)
        bursts = relay.bursts[before:]
    done = len(result["latencies"])
    commands = Counter(" + ".join(b) for b in bursts)
    return {"requests": done, "round_trips": len(bursts),
            "round_trips_per_request": ratio(len(bursts), done),
            "bursts": dict(commands.most_common(5))}


@contextlib.contextmanager
def share_targets() -> Iterator[list[Any]]:
    with fake_upstream() as upstream, rules_config() as config, \
            anonymize_proxy("rules + redis", upstream, config) as with_redis, \
            anonymize_proxy("rules + memory", upstream, config, redis_url="memory://") as memory:
        yield [upstream, with_redis, memory]


def run(quick: bool) -> dict[str, Any]:
    if reason := proxy_available():
        return {"missing": {"proxy": reason}, "variants": {}, "ratios": {}}
    bodies = [chat_body(p) for p in prompts(8 if quick else 64)]
    rounds, requests = (1, 20) if quick else (10, 200)
    out: dict[str, Any] = {"rounds": rounds, "requests_per_round": requests, "missing": {},
                           "variants": {}}
    out["round_trips"] = count_round_trips(bodies, 20 if quick else 200)
    with share_targets() as targets, LoadGenerator() as lg:
        for t in targets:
            lg.run(op="ready", port=t.port, bodies=bodies, timeout=120)

        def latency(port: int):
            return lambda: lg.run(op="latency", port=port, bodies=bodies, concurrency=1,
                                  requests=requests)

        runs = interleave({t.name: latency(t.port) for t in targets}, rounds)
    for name, results in runs.items():
        errors = sum(r["errors"] for r in results)
        if errors:
            raise RuntimeError(f"{name}: {errors} failed requests: {results[0]['first_error']}")
        s = summarize([x for r in results for x in r["latencies"]])
        out["variants"][name] = {k: v if k == "n" else v * 1e3 for k, v in s.items()}
    v = out["variants"]
    added = v["rules + redis"]["p50"] - v["direct"]["p50"]
    redis_part = v["rules + redis"]["p50"] - v["rules + memory"]["p50"]
    out["ratios"] = {"redis share of added latency (p50)": ratio(redis_part, added),
                     "redis ms (p50)": redis_part, "added ms with redis (p50)": added}
    return out


def table(result: dict[str, Any]) -> str:
    if not result["variants"]:
        return "missing: " + "; ".join(f"{k}: {v}" for k, v in result["missing"].items())
    rows = [[n, v["p50"], v["p99"]] for n, v in result["variants"].items()]
    rt = result["round_trips"]
    text = format_table(["target (c=1)", "p50 ms", "p99 ms"], rows)
    text += "\n\n" + format_table(["figure", "value"], [
        *result["ratios"].items(),
        ("round trips to Redis per request", rt["round_trips_per_request"]),
        ("what one round trip carries", "; ".join(f"{k} x{n}" for k, n in rt["bursts"].items())),
    ])
    return text


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    result = run(args.quick)
    emit("redis_store", args, result, table(result))


if __name__ == "__main__":
    main()
