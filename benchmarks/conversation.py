"""Benchmark: a scripted 30-turn agent conversation through the proxy, history to ~120 kB.

Each turn adds a user message (~1 kB, names, e-mails, phones) and a tool result (~2.5 kB: a
log or a code excerpt with names, e-mails and addresses) to the history, plus the provider's
answer (~0.5 kB, with the placeholders it saw, restored by the proxy and resent by the client
the next turn): about 4 kB a turn. The client sends the whole history every turn, as agents
do, with the default config and the real Redis. Per turn it measures

- the proxy's added latency: the turn's round trip through the proxy minus the same body sent
  straight to the fake provider, in the same run;
- whether the provider-visible form of every earlier message is byte-identical to what the
  provider got the turn before (prompt caches keep hitting);
- the store round trips (the conversation's batched reads and writes, plus the request's map).

``--baseline`` also runs the turns with conversations off (every turn anonymizes the whole
history, as before issue 15), for the ratio against it. Targets: turn 30 / turn 2 <= 1.5x,
100 % byte-identical prefixes.

    python -m benchmarks.conversation [--quick] [--baseline] [--repeat N] [--json FILE]
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web
from faker import Faker

from benchmarks.common import emit, format_table, parser, ratio
from benchmarks.targets import BENCH_REDIS, DEFAULT_CONFIG
from proxy import jsonio
from proxy.app import create_app
from proxy.settings import load_settings
from proxy.state import STATE

SYSTEM = ("You are a coding agent working in a customer-support code base. Use the tools, keep "
          "answers short, never invent customer data. ") * 12


def script(turns: int, seed: int = 3) -> list[tuple[str, str]]:
    """``turns`` pairs of (user message, tool result), deterministic."""
    fake = Faker(["en_US", "en_GB", "de_DE"])
    fake.seed_instance(seed)
    rng = random.Random(seed)
    out = []
    for turn in range(turns):
        name, other = fake.name(), fake.name()
        user = (f"Turn {turn}: the ticket from {name} ({fake.email()}, {fake.phone_number()}) "
                f"is still open. {fake.paragraph(nb_sentences=6)} Please check what "
                f"{other} changed and reply to {name} with a summary. "
                + fake.paragraph(nb_sentences=4))
        lines = [f"{fake.date_time().isoformat()} INFO worker-{rng.randrange(9)} "
                 f"user={fake.user_name()} email={fake.email()} ip={fake.ipv4_public()} "
                 f"action={rng.choice(['login', 'refund', 'update', 'export'])} "
                 f"status={rng.choice([200, 201, 403, 500])}" for _ in range(22)]
        code = (f"def notify_{turn}(customer):\n    # Author: {other}\n"
                f"    send(to='{fake.email()}', address='{fake.street_address()}, "
                f"{fake.city()}')\n")
        out.append((user, "\n".join(lines) + "\n" + code))
    return out


class Provider:
    """A fake provider that records each body and answers with part of the last user text."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    async def chat(self, request: web.Request) -> web.Response:
        body = jsonio.loads(await request.read())
        self.bodies.append(body)
        last = next((m["content"] for m in reversed(body["messages"])
                     if m["role"] == "user"), "")
        answer = "Done. I checked it: " + last[:450]
        return web.json_response({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer}}]})


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def history_at(pairs: list[tuple[str, str]], answers: list[str], turn: int) -> list[dict]:
    """The messages the client sends at ``turn`` (0-based), given the answers before it."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}]
    for t in range(turn + 1):
        user, tool = pairs[t]
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": None, "tool_calls": [{
            "id": f"call_{t}", "type": "function",
            "function": {"name": "read_logs", "arguments": f'{{"ticket": {t}}}'}}]})
        messages.append({"role": "tool", "tool_call_id": f"call_{t}", "content": tool})
        if t < turn:
            messages.append({"role": "assistant", "content": answers[t]})
    return messages


async def run_conversation(turns: int, conversations: bool, only: set[int] | None = None
                           ) -> dict[str, Any]:
    provider = Provider()
    upstream_app = web.Application(client_max_size=64 * 2**20)
    upstream_app.add_routes([web.post("/v1/chat/completions", provider.chat)])
    upstream_runner, upstream_url = await serve(upstream_app)
    prefix = f"anonymize-proxy-bench:{uuid.uuid4().hex}:"
    settings = load_settings(DEFAULT_CONFIG, {"upstream": upstream_url + "/v1",
                                              "redis_url": BENCH_REDIS, "ttl_seconds": 600},
                             env={})
    settings = settings.replace(key_prefix=prefix, conversations=conversations,
                                encryption_key=b"b" * 32)
    app = create_app(settings)
    proxy_runner, proxy_url = await serve(app)
    state = app[STATE]
    kv = state.relay_hooks[0].kv if state.relay_hooks else None
    pairs = script(turns)
    answers: list[str] = []
    rows = []
    headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}
    try:
        async with aiohttp.ClientSession() as session:
            # Warm-up outside the measured turns: the model's first run allocates.
            warm = [{"role": "user", "content": "warm up with Dr. Warm Up"}]
            await (await session.post(proxy_url + "/v1/chat/completions", headers=headers,
                                      data=jsonio.dumps({"model": "m", "messages": warm}))).read()
            provider.bodies.clear()
            for turn in range(turns):
                messages = history_at(pairs, answers, turn)
                body = jsonio.dumps({"model": "m", "messages": messages})
                if only is not None and turn + 1 not in only:
                    answers.append("Done. I checked it: " + pairs[turn][0][:450])
                    continue
                started = time.perf_counter()
                await (await session.post(upstream_url + "/v1/chat/completions",
                                          headers=headers, data=body)).read()
                direct = time.perf_counter() - started
                provider.bodies.pop()
                trips = kv.round_trips if kv else 0
                started = time.perf_counter()
                response = await session.post(proxy_url + "/v1/chat/completions",
                                              headers=headers, data=body)
                answer = await response.json()
                proxied = time.perf_counter() - started
                if response.status != 200:
                    raise RuntimeError(f"turn {turn + 1}: HTTP {response.status} {answer}")
                answers.append(answer["choices"][0]["message"]["content"])
                rows.append({"turn": turn + 1, "kb": round(len(body) / 1024, 1),
                             "added_ms": (proxied - direct) * 1000,
                             "store_trips": (kv.round_trips - trips if kv else 0) + 1})
        stable = []
        for before, now in zip(provider.bodies, provider.bodies[1:], strict=False):
            old = before["messages"]
            stable.append(all(jsonio.dumps(a) == jsonio.dumps(b)
                              for a, b in zip(old, now["messages"][: len(old)], strict=True)))
        return {"rows": rows, "stable": stable}
    finally:
        await proxy_runner.cleanup()
        await upstream_runner.cleanup()
        client = aioredis.from_url(BENCH_REDIS)
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def fitted_ratio(runs: list[dict[str, Any]], kb_from: float, kb_to: float) -> float:
    points = [(r["kb"], r["added_ms"]) for run in runs for r in run["rows"] if r["turn"] > 1]
    slopes = [(y2 - y1) / (x2 - x1) for i, (x1, y1) in enumerate(points)
              for x2, y2 in points[i + 1:] if x2 != x1]
    slope = statistics.median(slopes) if slopes else 0.0
    intercept = statistics.median(y - slope * x for x, y in points)
    return round(ratio(intercept + slope * kb_to, intercept + slope * kb_from), 2)


def run(quick: bool, baseline: bool, repeat: int = 3) -> dict[str, Any]:
    """``repeat`` whole conversations (each with fresh store keys); per turn the median, so a
    busy machine's spikes do not decide a turn's figure."""
    turns = 6 if quick else 30
    repeat = 1 if quick else repeat
    marks = sorted({t for t in (1, 2, 10, 20, 30) if t <= turns} | {turns})
    runs = [asyncio.run(run_conversation(turns, conversations=True)) for _ in range(repeat)]
    added = {t: statistics.median(r["rows"][t - 1]["added_ms"] for r in runs)
             for t in range(1, turns + 1)}
    kb = {r["turn"]: r["kb"] for r in runs[0]["rows"]}
    trips = {r["turn"]: r["store_trips"] for r in runs[0]["rows"]}
    stable = [ok for r in runs for ok in r["stable"]]
    out: dict[str, Any] = {
        "turns": turns,
        "repeat": repeat,
        "history_kb": {t: kb[t] for t in marks},
        "added_ms": {t: round(added[t], 1) for t in marks},
        "added_ms_median_all": round(statistics.median(added.values()), 1),
        "ratio_last_to_turn2": round(ratio(added[turns], added[2]), 2),
        # The same ratio on three-turn medians (turns 2-4 against the last three).
        "ratio_last3_to_turns2_4": round(ratio(
            statistics.median(added[t] for t in range(turns - 2, turns + 1)),
            statistics.median(added[t] for t in range(2, 5))), 2),
        # Theil-Sen line through every (history kB, added ms) sample of every run: what the
        # last turn costs against turn 2 once a busy machine's spikes are taken out.
        "fitted_ratio_last_to_turn2": fitted_ratio(runs, kb[2], kb[turns]),
        "stable_prefix_share": sum(stable) / len(stable) if stable else None,
        "store_trips_per_turn": {t: trips[t] for t in marks},
        "missing": {},
    }
    if baseline:
        before = asyncio.run(run_conversation(turns, conversations=False, only=set(marks)))
        base = {r["turn"]: r for r in before["rows"]}
        out["baseline_added_ms"] = {t: round(base[t]["added_ms"], 1) for t in marks}
        out["baseline_ratio_last_to_turn2"] = round(ratio(base[turns]["added_ms"],
                                                          base[2]["added_ms"]), 2)
    out["targets"] = {
        f"turn {turns} / turn 2 <= 1.5x (fitted)": out["fitted_ratio_last_to_turn2"] <= 1.5,
        "100 % byte-identical prefixes": out["stable_prefix_share"] == 1.0,
    }
    return out


def table(result: dict[str, Any]) -> str:
    rows = []
    for turn, added in result["added_ms"].items():
        rows.append([turn, result["history_kb"][turn], added,
                     result.get("baseline_added_ms", {}).get(turn, "-"),
                     result["store_trips_per_turn"][turn]])
    text = format_table(["turn", "history kB", "added ms", "added ms, conversations off",
                         "store trips"], rows)
    text += (f"\n\nturn {result['turns']} / turn 2: {result['ratio_last_to_turn2']}x"
             + (f" (conversations off: {result['baseline_ratio_last_to_turn2']}x)"
                if "baseline_ratio_last_to_turn2" in result else "")
             + f"; on 3-turn medians {result['ratio_last3_to_turns2_4']}x"
             + f"; fitted over all turns {result['fitted_ratio_last_to_turn2']}x"
             + f"; median added over all turns {result['added_ms_median_all']} ms"
             + f"; byte-identical prefixes {result['stable_prefix_share']:.0%}\n\n")
    return text + format_table(["target", "met"], list(result["targets"].items()))


def main() -> None:
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--baseline", action="store_true",
                   help="also measure turns 1, 2, 10, 20, 30 with conversations off")
    p.add_argument("--repeat", type=int, default=3, help="whole conversations to run")
    args = p.parse_args()
    result = run(args.quick, args.baseline, args.repeat)
    emit("conversation", args, result, table(result))


if __name__ == "__main__":
    main()
