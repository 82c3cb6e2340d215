"""Chat completions through the proxy with the real OpenAI SDK against a fake provider."""

from __future__ import annotations

import json
import uuid

import pytest

from proxy.client_request import new_request_id
from tests.proxy.conftest import PLACEHOLDER, FakeUpstream, RunningProxy, streamed_tool_arguments

PROMPT = "I like apples and bananas, and plums too"
VALUES = ("apples", "bananas", "plums")


def assert_clean(upstream: FakeUpstream) -> None:
    """The provider never read a personal value, in any request."""
    seen = upstream.all_received()
    for value in VALUES:
        assert value not in seen


async def test_non_stream_round_trip(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    client = proxy.client()
    answer = await client.chat.completions.create(
        model="fake", messages=[{"role": "user", "content": PROMPT}])
    assert answer.choices[0].message.content == "You said: " + PROMPT
    assert_clean(upstream)
    sent = upstream.received[0]["json"]["messages"][0]["content"]
    assert sent == "I like FRUIT_FLASH0 and FRUIT_FLASH1, and FRUIT_REGEX0 too"
    assert answer.id == "chatcmpl-fake" and answer.choices[0].finish_reason == "stop"


async def test_client_authorization_is_passed_on(proxy: RunningProxy,
                                                 upstream: FakeUpstream) -> None:
    await proxy.client(api_key="sk-user-key").chat.completions.create(
        model="fake", messages=[{"role": "user", "content": "hi"}])
    assert upstream.received[0]["headers"]["Authorization"] == "Bearer sk-user-key"


async def test_one_mapping_for_every_field_of_the_request(proxy: RunningProxy,
                                                          upstream: FakeUpstream) -> None:
    messages = [
        {"role": "system", "content": "The user loves apples."},
        {"role": "user", "name": "apples", "content": [
            {"type": "text", "text": "Tell me about bananas and apples"},
            {"type": "image_url", "image_url": {"url": "https://example.invalid/apples.png"}},
        ]},
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_0", "type": "function",
            "function": {"name": "lookup", "arguments": json.dumps({"q": "plums"})}}]},
        {"role": "tool", "tool_call_id": "call_0", "content": "plums are purple; apples red"},
        {"role": "user", "content": "and plums?"},
    ]
    await proxy.client().chat.completions.create(model="fake", messages=messages)
    sent = upstream.received[0]["json"]["messages"]
    assert sent[0]["content"] == "The user loves FRUIT_FLASH0."
    assert sent[1]["name"] == "FRUIT_FLASH0"
    assert sent[1]["content"][0]["text"] == "Tell me about FRUIT_FLASH1 and FRUIT_FLASH0"
    # Image parts are not text: they pass untouched (an URL is not anonymized).
    assert sent[1]["content"][1] == messages[1]["content"][1]
    assert json.loads(sent[2]["tool_calls"][0]["function"]["arguments"]) == {"q": "FRUIT_REGEX0"}
    assert sent[3]["content"] == "FRUIT_REGEX0 are purple; FRUIT_FLASH0 red"
    assert sent[4]["content"] == "and FRUIT_REGEX0?"


async def test_stream_restores_a_placeholder_cut_at_every_position(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    client = proxy.client()
    expected = "You said: " + PROMPT
    anonymized = "You said: I like FRUIT_FLASH0 and FRUIT_FLASH1, and FRUIT_REGEX0 too"
    for cut in range(1, len(anonymized)):
        upstream.cuts = [cut, cut + 3]
        stream = await client.chat.completions.create(
            model="fake", stream=True, stream_options={"include_usage": True},
            messages=[{"role": "user", "content": PROMPT}])
        chunks = [chunk async for chunk in stream]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == expected, f"cut at {cut}"
        assert all(not PLACEHOLDER.search(c.choices[0].delta.content or "")
                   for c in chunks if c.choices)
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
        assert finishes[-1] == "stop" and finishes.count("stop") == 1
        assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 3
        assert {c.id for c in chunks} == {"chatcmpl-fake"}
    assert_clean(upstream)


async def test_stream_survives_raw_bytes_cut_anywhere(proxy: RunningProxy,
                                                      upstream: FakeUpstream) -> None:
    """SSE bytes cut inside ``data:`` lines and inside multi-byte characters."""
    client = proxy.client()
    prompt = "Zoë’s apples — 苹果 and plums 🍑"
    for size in (1, 2, 3, 5, 7, 13):
        upstream.byte_pieces = size
        upstream.cuts = [12, 20]
        stream = await client.chat.completions.create(
            model="fake", stream=True, messages=[{"role": "user", "content": prompt}])
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
        assert text == "You said: " + prompt, f"pieces of {size} bytes"


async def test_tool_call_arguments_are_restored(proxy: RunningProxy,
                                                upstream: FakeUpstream) -> None:
    upstream.tool_answer = True
    answer = await proxy.client().chat.completions.create(
        model="fake", messages=[{"role": "user", "content": PROMPT}],
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": {}}}])
    call = answer.choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments) == {
        "fruits": list(VALUES), "note": "about apples and bananas and plums"}
    assert_clean(upstream)


async def test_streamed_tool_call_arguments_cut_at_every_position(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    upstream.tool_answer = True
    client = proxy.client()
    arguments = upstream.tool_arguments(
        {"messages": [{"content": "FRUIT_FLASH0 FRUIT_FLASH1 FRUIT_REGEX0"}]})
    expected = {"fruits": list(VALUES), "note": "about apples and bananas and plums"}
    for cut in range(1, len(arguments), 2):
        upstream.cuts = [cut, cut + 1]
        pieces = await streamed_tool_arguments(
            client, model="fake", messages=[{"role": "user", "content": PROMPT}],
            tools=[{"type": "function", "function": {"name": "lookup", "parameters": {}}}])
        assert json.loads("".join(pieces)) == expected, f"cut at {cut}"
        assert not any(PLACEHOLDER.search(p) for p in pieces)
    assert_clean(upstream)


async def test_request_id_is_returned_and_the_map_is_stored_with_ttl(
        proxy: RunningProxy, upstream: FakeUpstream, redis_client, redis_prefix: str) -> None:
    raw = await proxy.client().chat.completions.with_raw_response.create(
        model="fake", messages=[{"role": "user", "content": PROMPT}],
        extra_headers={"X-Request-Id": "my-trace-42"})
    assert raw.headers["X-Request-Id"] == "my-trace-42"
    # The map is stored under the proxy's own id, never under the client's (issue 11, 4).
    map_id = raw.headers["X-Proxy-Request-Id"]
    assert map_id != "my-trace-42"
    assert await redis_client.get(redis_prefix + "my-trace-42") is None
    stored = await redis_client.get(redis_prefix + map_id)
    assert json.loads(stored) == {"FRUIT_FLASH0": "apples", "FRUIT_FLASH1": "bananas",
                                  "FRUIT_REGEX0": "plums"}
    ttl = await redis_client.ttl(redis_prefix + map_id)
    assert 3590 < ttl <= 3600


async def test_an_insane_request_id_is_replaced(proxy: RunningProxy) -> None:
    raw = await proxy.client().chat.completions.with_raw_response.create(
        model="fake", messages=[{"role": "user", "content": "hi"}],
        extra_headers={"X-Request-Id": "../../etc/passwd apples"})
    assert len(raw.headers["X-Request-Id"]) == 36  # a fresh UUID


async def test_stored_map_is_encrypted_when_a_key_is_set(
        start_proxy, upstream: FakeUpstream, redis_client, redis_prefix: str) -> None:
    proxy = await start_proxy(encryption_key=b"k" * 32)
    raw = await proxy.client().chat.completions.with_raw_response.create(
        model="fake", messages=[{"role": "user", "content": PROMPT}])
    stored = await redis_client.get(redis_prefix + raw.headers["X-Request-Id"])
    assert stored.startswith(b"v1:")
    for value in VALUES:
        assert value.encode() not in stored


async def test_upstream_error_is_passed_back_with_status_and_restored(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    import openai

    upstream.error = (429, {"error": {"message": "slow down with FRUIT_FLASH0",
                                      "type": "rate_limit", "code": "rate_limit"}})
    with pytest.raises(openai.RateLimitError) as caught:
        await proxy.client().chat.completions.create(
            model="fake", messages=[{"role": "user", "content": PROMPT}])
    assert caught.value.status_code == 429
    assert caught.value.body["message"] == "slow down with apples"


async def test_stream_is_relayed_as_it_comes(proxy: RunningProxy,
                                             upstream: FakeUpstream) -> None:
    """No whole-stream buffering: the first words reach the client while the provider is
    still generating."""
    upstream.cuts = [10, 20, 30]
    upstream.chunk_delay = 0.2
    stream = await proxy.client().chat.completions.create(
        model="fake", stream=True, messages=[{"role": "user", "content": PROMPT}])
    async for chunk in stream:
        if chunk.choices[0].delta.content:
            assert chunk.choices[0].delta.content == "You said: "
            assert not upstream.stream_finished
            break
    await stream.close()


def test_new_request_ids_are_version_4_uuids() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    for made in ids:
        parsed = uuid.UUID(made)
        assert str(parsed) == made and parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
