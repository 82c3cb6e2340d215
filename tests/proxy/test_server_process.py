"""The console script as a real process: start-up, a round trip, config errors, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from tests.proxy.conftest import FRUITS, ROOT, FakeUpstream

SCRIPT = Path(sys.executable).parent / "anonymize-proxy"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def start_server(*args: str, env: dict[str, str] | None = None,
                       ) -> asyncio.subprocess.Process:
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("ANONYMIZE_PROXY_")}
    return await asyncio.create_subprocess_exec(
        str(SCRIPT), "server", *args, cwd=ROOT, env={**clean_env, **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            if process.returncode is not None:
                raise AssertionError((await process.stderr.read()).decode())
            try:
                async with session.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise AssertionError("the server did not come up")


async def test_server_process_round_trip_and_graceful_sigterm(upstream: FakeUpstream) -> None:
    import openai

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = await start_server(
        "-c", str(FRUITS), "-b", "127.0.0.1", "-p", str(port), "--upstream", upstream.url + "/v1",
        env={"ANONYMIZE_PROXY_REDIS_URL": "memory://", "ANONYMIZE_PROXY_LOG_FORMAT": "json",
             "ANONYMIZE_PROXY_SHUTDOWN_GRACE_SECONDS": "10"})
    try:
        await wait_healthy(url, process)
        client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="sk-x", max_retries=0)
        answer = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "apples and plums"}])
        assert answer.choices[0].message.content == "You said: apples and plums"
        assert "apples" not in upstream.all_received()

        # A slow stream is open when SIGTERM arrives: it finishes; meanwhile the port stays
        # open and /readyz says 503, so a load balancer moves traffic away.
        upstream.cuts = list(range(1, 60, 4))
        upstream.chunk_delay = 0.1
        stream = await client.chat.completions.create(
            model="m", stream=True, messages=[{"role": "user", "content": "bananas and apples"}])
        pieces = []
        async for chunk in stream:
            pieces.append(chunk.choices[0].delta.content or "")
            if len(pieces) == 2:
                process.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.3)
                async with aiohttp.ClientSession() as session, \
                        session.get(url + "/readyz") as response:
                    assert response.status == 503
                    assert (await response.json())["checks"]["accepting"] is False
        assert "".join(pieces) == "You said: bananas and apples"
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = (await process.stderr.read()).decode()
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    events = [line["event"] for line in lines]
    assert "shutting_down" in events and events[-1] == "stopped"
    assert any(line.get("route") == "/v1/chat/completions" and line.get("stream")
               for line in lines)
    for fruit in ("apples", "plums", "bananas"):
        assert fruit not in log


async def test_bad_config_stops_start_up_with_the_yaml_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("pipeline:\n  - kind: regex\n    name: X\n    patterns: ['(']\n")
    process = await start_server("-c", str(bad), "-p", str(free_port()))
    _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert "pipeline[0].patterns[0]" in err.decode()

    bad.write_text("pipeline:\n  - kind: regex\n    name: X\n    patterns: [a]\n"
                   "upstream:\n  total_timeout_seconds: soon\n")
    process = await start_server("-c", str(bad), "-p", str(free_port()))
    _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert "upstream.total_timeout_seconds" in err.decode()


async def test_sigterm_with_ner_windows_queued_exits_within_the_grace(
        upstream: FakeUpstream) -> None:
    """Issue 11, item 7: a long NER queue, a stream that would outlast the grace, SIGTERM."""
    grace = 4.0
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = await start_server(
        "-c", str(ROOT / "config" / "default.yaml"), "-p", str(port),
        "--upstream", upstream.url + "/v1",
        env={"ANONYMIZE_PROXY_REDIS_URL": "memory://", "ANONYMIZE_PROXY_LOG_FORMAT": "json",
             "ANONYMIZE_PROXY_SHUTDOWN_GRACE_SECONDS": str(grace)})
    try:
        await wait_healthy(url, process)
        upstream.cuts = list(range(1, 400, 2))
        upstream.chunk_delay = 0.1  # 20 s of stream: far longer than the grace
        session = aiohttp.ClientSession()
        stream = await session.post(url + "/v1/chat/completions", json={
            "model": "m", "stream": True,
            "messages": [{"role": "user", "content": "hello there " * 40}]})
        first = await stream.content.readline()
        assert first.startswith(b"data: ")
        # Hundreds of NER windows queued (far more model time than the grace), nobody
        # cancels them; small enough to be tokenized and queued well before SIGTERM.
        heavy_text = " ".join(f"zq{i % 97}x wv{i % 89}k" for i in range(12_000))
        heavy = asyncio.ensure_future(session.post(url + "/v1/chat/completions", json={
            "model": "m", "messages": [{"role": "user", "content": heavy_text}]}))
        await asyncio.sleep(2.0)
        assert not heavy.done()
        process.send_signal(signal.SIGTERM)
        signalled = asyncio.get_running_loop().time()
        await asyncio.sleep(0.3)
        async with session.get(url + "/readyz") as ready:  # the port is still open
            assert ready.status == 503
        rest = await asyncio.wait_for(stream.content.read(), grace + 5)
        events = [line for line in rest.split(b"\n") if line.startswith(b"data: ")]
        last = json.loads(events[-1][6:])
        assert last["error"]["code"] == "shutting_down"
        answer = await asyncio.wait_for(heavy, grace + 5)
        assert answer.status == 503
        assert (await answer.json())["error"]["code"] in ("anonymization_failed",
                                                          "shutting_down")
        assert await asyncio.wait_for(process.wait(), grace + 5) == 0
        took = asyncio.get_running_loop().time() - signalled
        # Within the grace (plus process exit); before the fix it ran the queue: > 60 s.
        assert took < grace + 1.5, took
        await session.close()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert len(upstream.received) == 1  # the stream's request; the heavy one never went up
    assert "zq1x" not in upstream.all_received()
