"""Fail closed: every refusal in OpenAI's error shape, and nothing forwarded unless the
request was fully anonymized and its map stored."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import openai
import pytest

from pipeline import PipelineError
from proxy.state import STATE
from tests.proxy.conftest import FakeUpstream, RunningProxy, make_settings

PROMPT = "apples and plums"
MESSAGES = [{"role": "user", "content": PROMPT}]


async def post(proxy: RunningProxy, path: str, data: bytes | str,
               headers: dict[str, str] | None = None) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session, session.post(
            proxy.url + path, data=data, headers=headers or {}) as response:
        return response.status, await response.json()


def assert_error_shape(body: dict, code: str) -> None:
    assert set(body["error"]) >= {"message", "type", "code"}
    assert body["error"]["code"] == code
    assert "apples" not in json.dumps(body) and "plums" not in json.dumps(body)


async def test_bad_json_is_400(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    status, body = await post(proxy, "/v1/chat/completions", b'{"messages": [apples')
    assert status == 400
    assert_error_shape(body, "invalid_json")
    status, body = await post(proxy, "/v1/chat/completions", b'["apples"]')
    assert status == 400
    status, body = await post(proxy, "/v1/chat/completions",
                              json.dumps({"messages": [{"role": "user", "content": 5}]}))
    assert status == 400 and body["error"]["code"] == "invalid_content"
    assert upstream.received == []


async def test_body_over_the_limit_is_413(start_proxy, upstream: FakeUpstream) -> None:
    proxy = await start_proxy(max_body_bytes=1000)
    big = json.dumps({"model": "m", "messages": [{"role": "user", "content": "apples " * 200}]})
    status, body = await post(proxy, "/v1/chat/completions", big)
    assert status == 413
    assert_error_shape(body, "request_too_large")

    async def chunked():  # no Content-Length: the limit holds while reading
        for _ in range(20):
            yield b"apples " * 20

    async with aiohttp.ClientSession() as session, session.post(
            proxy.url + "/v1/chat/completions", data=chunked()) as response:
        assert response.status == 413
    assert upstream.received == []


async def test_pipeline_failure_is_503_and_nothing_is_forwarded(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    stage = proxy.app[STATE].pipeline.stages[0]

    def broken(texts):
        raise PipelineError("model crashed on apples")  # the message must not leak

    stage.detect_many = broken  # type: ignore[method-assign]
    with pytest.raises(openai.InternalServerError) as caught:
        await proxy.client().chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.status_code == 503
    assert_error_shape(caught.value.response.json(), "anonymization_failed")
    assert upstream.received == []


async def test_redis_down_is_503_and_nothing_is_forwarded(start_proxy,
                                                          upstream: FakeUpstream) -> None:
    proxy = await start_proxy(redis_url="redis://127.0.0.1:1/0")
    with pytest.raises(openai.InternalServerError) as caught:
        await proxy.client().chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.status_code == 503
    assert_error_shape(caught.value.response.json(), "store_unavailable")
    assert upstream.received == []
    async with aiohttp.ClientSession() as session, session.get(proxy.url + "/readyz") as r:
        assert r.status == 503
        assert (await r.json())["checks"]["store"] is False


async def test_upstream_unreachable_is_502(start_proxy, redis_prefix: str) -> None:
    settings = make_settings("http://127.0.0.1:1", redis_prefix)
    proxy = await start_proxy(settings)
    with pytest.raises(openai.APIStatusError) as caught:
        await proxy.client().chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.status_code == 502
    assert_error_shape(caught.value.response.json(), "upstream_unreachable")


async def test_upstream_too_slow_is_504(start_proxy, upstream: FakeUpstream) -> None:
    proxy = await start_proxy(first_byte_timeout_seconds=0.2)
    upstream.delay = 1.0
    with pytest.raises(openai.APIStatusError) as caught:
        await proxy.client().chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.status_code == 504
    assert_error_shape(caught.value.response.json(), "upstream_timeout")


async def test_stream_that_breaks_midway_ends_with_an_error_event(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    upstream.cuts = [14, 18]  # the break leaves "FRUIT_" half sent
    upstream.break_after_events = 3
    stream = await proxy.client().chat.completions.create(model="m", messages=MESSAGES,
                                                          stream=True)
    received = []
    with pytest.raises(openai.APIError) as caught:
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert caught.value.body["code"] == "upstream_unreachable"
    assert "FRUIT" not in "".join(received)  # no masked text, never half a placeholder


async def test_client_leaving_mid_stream_closes_the_upstream_request(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    upstream.cuts = list(range(1, 200))
    upstream.chunk_delay = 0.02
    long_prompt = "apples " * 30
    async with aiohttp.ClientSession() as session:
        response = await session.post(proxy.url + "/v1/chat/completions", json={
            "model": "m", "stream": True, "messages": [{"role": "user", "content": long_prompt}]})
        await response.content.readany()
        response.close()  # the client goes away
    for _ in range(100):
        if upstream.stream_aborted:
            break
        await asyncio.sleep(0.05)
    assert upstream.stream_aborted and not upstream.stream_finished
    assert upstream.stream_events_sent < 150


async def test_unknown_paths_are_404_and_not_forwarded(proxy: RunningProxy,
                                                       upstream: FakeUpstream) -> None:
    for method, path in (("POST", "/v1/files"), ("GET", "/v1/assistants"), ("GET", "/admin")):
        async with aiohttp.ClientSession() as session, session.request(
                method, proxy.url + path, json={"text": "apples"}) as response:
            assert response.status == 404
            assert_error_shape(await response.json(), "not_found")
    async with aiohttp.ClientSession() as session, session.get(
            proxy.url + "/v1/chat/completions") as response:
        assert response.status == 405
    assert upstream.received == []


async def test_egress_mode_checks_client_keys_and_sends_its_own(
        start_proxy, upstream: FakeUpstream, redis_prefix: str) -> None:
    env = {"ANONYMIZE_PROXY_CLIENT_KEYS": "team-a-key, team-b-key",
           "ANONYMIZE_PROXY_UPSTREAM_KEY": "sk-provider-secret"}
    proxy = await start_proxy(make_settings(upstream.url, redis_prefix, env=env))
    with pytest.raises(openai.AuthenticationError) as caught:
        await proxy.client(api_key="wrong").chat.completions.create(model="m",
                                                                     messages=MESSAGES)
    assert caught.value.status_code == 401
    assert upstream.received == []
    answer = await proxy.client(api_key="team-b-key").chat.completions.create(
        model="m", messages=MESSAGES)
    assert answer.choices[0].message.content == "You said: " + PROMPT
    assert upstream.received[0]["headers"]["Authorization"] == "Bearer sk-provider-secret"
