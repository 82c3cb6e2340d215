"""What a new user sees in the server's log on a first run: where it listens, which store it
uses (never its password), a store that is down said at once and at WARNING, and no
encryption warning where it means nothing (memory:// maps never leave the process)."""

from __future__ import annotations

import asyncio
import json
import signal

import aiohttp

from tests.proxy.conftest import FRUITS
from tests.proxy.test_server_process import free_port, start_server, wait_healthy


async def run_and_read_log(*args: str, requests: int = 0) -> list[dict]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = await start_server("-c", str(FRUITS), "-b", "127.0.0.1", "-p", str(port),
                                 "--log-format", "json", *args)
    try:
        await wait_healthy(url, process)
        async with aiohttp.ClientSession() as session:
            for _ in range(requests):
                body = {"model": "m", "messages": [{"role": "user", "content": "apples"}]}
                async with session.post(url + "/v1/chat/completions", json=body) as response:
                    assert response.status == 503
                    assert (await response.json())["error"]["code"] == "store_unavailable"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = (await process.stderr.read()).decode()
    return [json.loads(line) for line in log.splitlines() if line.strip()]


def event(lines: list[dict], name: str) -> dict:
    found = [line for line in lines if line.get("event") == name]
    assert found, f"no {name!r} event in {[line.get('event') for line in lines]}"
    return found[0]


async def test_redis_down_is_logged_with_its_address_at_warning() -> None:
    dead = free_port()  # nothing listens there
    lines = await run_and_read_log("--redis-url", f"redis://:hunter2@127.0.0.1:{dead}/3",
                                   "--loglevel", "info", requests=1)
    assert "hunter2" not in json.dumps(lines)
    address = f"redis://127.0.0.1:{dead}/3"
    assert event(lines, "started")["store"] == address
    unreachable = event(lines, "store_unreachable")
    assert (unreachable["level"], unreachable["store"]) == ("warning", address)
    event(lines, "store_failed")
    # Every store failure (the conversation lookup comes first, then the map write) says so
    # at WARNING with the store's address.
    for failed in (line for line in lines if line.get("event") == "store_failed"):
        assert (failed["level"], failed["store"]) == ("warning", address), failed
    assert event(lines, "store_unencrypted")["level"] == "warning"


async def test_start_up_says_where_it_listens_and_memory_store_has_no_key_warning() -> None:
    lines = await run_and_read_log("--redis-url", "memory://")
    listening = event(lines, "listening")
    assert listening["url"].startswith("http://127.0.0.1:")
    assert event(lines, "started")["store"] == "memory://"
    events = [line["event"] for line in lines]
    assert "store_unencrypted" not in events and "store_unreachable" not in events
    assert events.index("started") < events.index("listening")


def test_store_address_never_carries_credentials() -> None:
    from proxy.store import store_address

    assert store_address("rediss://user:p%40ss@cache.example.com:6380/1?password=q") == (
        "rediss://cache.example.com:6380/1")
    assert store_address("redis://:pw@[::1]/0") == "redis://[::1]:6379/0"
    assert store_address("unix:///run/redis/redis.sock?db=2&password=q") == (
        "unix:///run/redis/redis.sock")
    assert store_address("memory://") == "memory://"
