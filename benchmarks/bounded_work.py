"""What one large body costs the proxy: wall time, peak RSS and the answer, per body size.

Starts the real server (``anonymize-proxy server``, the given config, ``memory://`` store) and
the benchmarks' fake upstream as subprocesses, posts one chat request whose only message is
short words, ``size`` bytes in all, and reads the server's peak RSS (``VmHWM``) from ``/proc``.
A run that passes ``--cap-seconds`` is stopped and reported as unfinished.

    python -m benchmarks.bounded_work --sizes 1000000 10485760 [--config config/default.yaml]
    python -m benchmarks.bounded_work --text prose --sizes 200000
    python -m benchmarks.bounded_work --env ANONYMIZE_PROXY_MAX_ANONYMIZE_CHARS=20000000 ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "anonymize-proxy"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def short_words(size: int, seed: int = 7) -> str:
    """``size`` characters of two- to four-letter lower-case words (the worst case per MB:
    one token and one word object per 3-5 characters)."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 4))) for _ in range(5000)]
    out, length = [], 0
    while length < size:
        word = rng.choice(words)
        out.append(word)
        length += len(word) + 1
    return " ".join(out)[:size]


def prose(size: int) -> str:
    """``size`` characters of chat prompts with names, places and e-mails (``data.prompts``):
    what real traffic costs per MB, against the worst case of ``short_words``."""
    from benchmarks.data import prompts

    out, length, n = [], 0, 0
    while length < size:
        batch = prompts(200, seed=n)
        out += batch
        length += sum(len(p) + 1 for p in batch)
        n += 1
    return " ".join(out)[:size]


def _memory_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def _wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(url + "/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the proxy did not become ready")


async def measure(size: int, config: str, env: dict[str, str], cap: float,
                  kind: str = "short_words") -> dict:
    up_port, port = _free_port(), _free_port()
    upstream = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.fake_upstream", "--port", str(up_port), cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANONYMIZE_PROXY_")}
    server = await asyncio.create_subprocess_exec(
        str(SCRIPT), "server", "-c", config, "-p", str(port), "--redis-url", "memory://",
        "--upstream", f"http://127.0.0.1:{up_port}/v1", cwd=ROOT, env={**clean, **env},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(url)
        idle_kb = _memory_kb(server.pid, "VmRSS")
        envelope = len(json.dumps({"model": "m", "messages": [{"role": "user", "content": ""}]}))
        body = json.dumps({"model": "m", "messages": [
            {"role": "user", "content": TEXTS[kind](size - envelope)}]}).encode()
        started = time.perf_counter()
        status, code = None, None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=cap)) as session:
            try:
                async with session.post(url + "/v1/chat/completions", data=body,
                                        headers={"Content-Type": "application/json"}) as resp:
                    status = resp.status
                    answer = await resp.read()
                    if status >= 400:
                        code = json.loads(answer)["error"]["code"]
            except TimeoutError:
                status = "unfinished"
        elapsed = time.perf_counter() - started
        return {"size": size, "text": kind, "status": status, "code": code,
                "seconds": round(elapsed, 1), "idle_rss_mb": round(idle_kb / 1024),
                "peak_rss_mb": round(_memory_kb(server.pid, "VmHWM") / 1024)}
    finally:
        for process in (server, upstream):
            if process.returncode is None:
                process.kill()
                await process.wait()


TEXTS = {"short_words": short_words, "prose": prose}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--config", default="config/default.yaml")
    parser.add_argument("--cap-seconds", type=float, default=180.0)
    parser.add_argument("--text", choices=sorted(TEXTS), default="short_words")
    parser.add_argument("--env", action="append", default=[],
                        help="NAME=VALUE for the server's environment")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    for size in args.sizes:
        print(json.dumps(await measure(size, args.config, env, args.cap_seconds, args.text)),
              flush=True)


if __name__ == "__main__":
    asyncio.run(main())
