"""Parity with the REST API of anonymize-rs (src/main.rs routes, anonymize-py/README.md's
curl examples), through the real server process started as the README starts it: in the
crate folder, ``server --host ... --port ... --config tests/config/config.yaml``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.proxy.test_server_process import free_port, wait_healthy

SCRIPT = Path(sys.executable).parent / "anonymize-proxy"
TEXT = "I like to eat apples and bananas and plums"
ANONYMIZED = {"text": "I like to eat FRUIT_FLASH0 and FRUIT_FLASH1 and FRUIT_REGEX0",
              # The README's response spells "banans"; the items are what the text held.
              "items": {"FRUIT_FLASH0": "apples", "FRUIT_FLASH1": "bananas",
                        "FRUIT_REGEX0": "plums"}}


@pytest.fixture
async def seed_server(crate: Path) -> AsyncIterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANONYMIZE_PROXY_")}
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT), "server", "--host", "127.0.0.1", "--port", str(port),
        "--config", "tests/config/config.yaml", "--redis-url", "memory://",
        "--loglevel", "warning", cwd=crate, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(url, process)
        yield url
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 20)


async def test_rest_anonymize_post_get_and_deanonymize(seed_server: str) -> None:
    """README "Anonymization" (curl -X POST /api/anonymize {"text"}, and -X GET
    /api/anonymize?text=) and "Deanonymization" (POST /api/deanonymize {"text", "items"})."""
    async with aiohttp.ClientSession() as session:
        async with session.post(seed_server + "/api/anonymize", json={"text": TEXT}) as r:
            assert r.status == 200
            assert await r.json() == ANONYMIZED
        async with session.get(seed_server + "/api/anonymize", params={"text": TEXT}) as r:
            assert r.status == 200
            assert await r.json() == ANONYMIZED
        async with session.post(seed_server + "/api/deanonymize", json=ANONYMIZED) as r:
            assert r.status == 200
            assert await r.json() == {"text": TEXT}
