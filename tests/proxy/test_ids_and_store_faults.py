"""Stored maps belong to one request whatever its client claims, and the store and upstream
failures the operator must see are seen (issue 11, items 4 and 11)."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import aiohttp
import pytest
import redis
from aiohttp import web

from tests.proxy.conftest import FakeUpstream, ProxyFactory, RunningProxy, make_settings
from tests.proxy.test_other_routes import restore_by_id

# -- item 4: a reused X-Request-Id ---------------------------------------------------------------

async def test_a_reused_request_id_never_replaces_another_requests_map(
        start_proxy: ProxyFactory, upstream: FakeUpstream) -> None:
    proxy = await start_proxy(admin_token="admin")
    victim = await proxy.client().chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "apples and plums"}],
        extra_headers={"X-Request-Id": "shared-7"})
    attacker = await proxy.client(api_key="sk-other").chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "bananas, nothing else"}],
        extra_headers={"X-Request-Id": "shared-7"})
    # Both keep the client's id for correlation...
    assert victim.headers["X-Request-Id"] == attacker.headers["X-Request-Id"] == "shared-7"
    # ...but each map has its own key, and the audit restore reveals the right person.
    victim_id, attacker_id = (r.headers["X-Proxy-Request-Id"] for r in (victim, attacker))
    assert victim_id != attacker_id
    status, body = await restore_by_id(proxy, victim_id, "admin")
    assert (status, body) == (200, {"text": "apples then plums"})
    status, body = await restore_by_id(proxy, attacker_id, "admin")
    assert (status, body) == (200, {"text": "bananas then FRUIT_REGEX0"})
    # The client's id names no map at all.
    assert (await restore_by_id(proxy, "shared-7", "admin"))[0] == 404


async def test_a_stream_names_its_map_id_too(proxy: RunningProxy) -> None:
    async with aiohttp.ClientSession() as session, session.post(
            proxy.url + "/v1/chat/completions", headers={"X-Request-Id": "s-1"},
            json={"model": "m", "stream": True,
                  "messages": [{"role": "user", "content": "apples"}]}) as response:
        await response.read()
        assert response.headers["X-Request-Id"] == "s-1"
        assert len(response.headers["X-Proxy-Request-Id"]) == 36


# -- item 11: failures while reading an answer's body ------------------------------------------

async def test_a_body_that_breaks_off_counts_as_an_upstream_error(
        start_proxy: ProxyFactory, redis_prefix: str) -> None:
    async def broken(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "application/json",
                                               "Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b'{"id": "x", "choices": [')
        request.transport.close()  # the provider dies halfway through its answer
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        proxy = await start_proxy(make_settings(f"http://127.0.0.1:{port}", redis_prefix))
        async with aiohttp.ClientSession() as session:
            async with session.post(proxy.url + "/v1/chat/completions", json={
                    "model": "m", "messages": [{"role": "user", "content": "apples"}]}) as r:
                assert r.status == 502
                assert (await r.json())["error"]["code"] == "upstream_unreachable"
            async with session.get(proxy.url + "/metrics") as r:
                metrics = await r.text()
        assert 'anonymize_proxy_upstream_errors_total{reason="upstream_unreachable"} 1.0' \
            in metrics
    finally:
        await runner.cleanup()


def test_the_readme_error_table_lists_decryption_failed() -> None:
    from tests.proxy.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Fail closed"):readme.index("### Configuration by file")]
    for code in ("decryption_failed", "anonymization_timeout", "too_much_text",
                 "too_many_texts", "invalid_path_parameter", "invalid_http", "shutting_down"):
        assert f"`{code}`" in table, code


# -- item 11: Redis refusing writes ----------------------------------------------------------

@pytest.fixture
def small_redis() -> Iterator[int]:
    """A Redis of this test's own (another port): its memory limit is the test's to change."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--maxmemory-policy", "noeviction"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield port
    finally:
        client.close()
        process.terminate()
        process.wait(10)


async def test_redis_refusing_writes_makes_readyz_503_and_forwards_nothing(
        start_proxy: ProxyFactory, upstream: FakeUpstream, redis_prefix: str,
        small_redis: int) -> None:
    url = f"redis://127.0.0.1:{small_redis}/0"
    proxy = await start_proxy(make_settings(upstream.url, redis_prefix, flags={"redis_url": url}))
    body = {"model": "m", "messages": [{"role": "user", "content": "apples"}]}
    async with aiohttp.ClientSession() as session:
        async with session.get(proxy.url + "/readyz") as r:
            assert r.status == 200
        async with session.post(proxy.url + "/v1/chat/completions", json=body) as r:
            assert r.status == 200
        admin = redis.Redis(port=small_redis)
        admin.config_set("maxmemory", "1")  # over the limit now: every write gets -OOM
        try:
            async with session.post(proxy.url + "/v1/chat/completions", json=body) as r:
                assert r.status == 503
                assert (await r.json())["error"]["code"] == "store_unavailable"
            async with session.get(proxy.url + "/readyz") as r:
                assert r.status == 503
                assert (await r.json())["checks"]["store"] is False
        finally:
            admin.config_set("maxmemory", "0")
            admin.close()
        await asyncio.sleep(0)
        async with session.get(proxy.url + "/readyz") as r:
            assert r.status == 200
    assert len(upstream.received) == 1
    assert "apples" not in json.dumps(upstream.received)
