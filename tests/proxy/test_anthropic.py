"""The Anthropic Messages API through the proxy, driven by the official ``anthropic`` SDK
against a fake Anthropic upstream that records what it received."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import aiohttp
import anthropic
import pytest

from proxy.logs import JsonFormatter, TextFormatter
from tests.proxy.anthropic_fake import PLACEHOLDERS, FakeAnthropic, sign, text_of
from tests.proxy.conftest import DEFAULT, FakeUpstream, ProxyFactory, RunningProxy, ServeFake

PROMPT = "I like apples and bananas, and plums too"
VALUES = ("apples", "bananas", "plums")
ANONYMIZED = "I like FRUIT_FLASH0 and FRUIT_FLASH1, and FRUIT_REGEX0 too"
MODEL = "claude-fake"


@pytest.fixture
async def fake(serve_fake: ServeFake) -> FakeAnthropic:
    return await serve_fake(FakeAnthropic())


@pytest.fixture
async def proxy(start_proxy: ProxyFactory, fake: FakeAnthropic) -> RunningProxy:
    return await start_proxy(flags={"anthropic_upstream": fake.url})


def client(proxy: RunningProxy, api_key: str = "sk-ant-client", **kwargs: Any
           ) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=proxy.url, api_key=api_key, max_retries=0,
                                    **kwargs)


def assert_clean(fake: FakeAnthropic) -> None:
    seen = fake.all_received()
    for value in VALUES:
        assert value not in seen


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


async def test_plain_message_round_trip(proxy: RunningProxy, fake: FakeAnthropic) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": "aGVsbG8gYXBwbGVz"}}
    answer = await client(proxy).messages.create(
        model=MODEL, max_tokens=100, system="The user grows apples.",
        metadata={"user_id": "user_4f2a"},
        messages=[user([{"type": "text", "text": PROMPT}, image])],
        extra_headers={"anthropic-beta": "prompt-caching-2024-07-31",
                       "anthropic-version": "2023-06-01"})
    assert answer.content[0].text == "You said: " + PROMPT
    assert answer.id == "msg_fake" and answer.stop_reason == "end_turn"
    assert_clean(fake)
    got = fake.received[0]
    assert got["json"]["system"] == "The user grows FRUIT_FLASH0."
    assert got["json"]["messages"][0]["content"][0]["text"] == ANONYMIZED
    # Binary sources and the user id pass untouched; auth and version headers go on.
    assert got["json"]["messages"][0]["content"][1] == image
    assert got["json"]["metadata"] == {"user_id": "user_4f2a"}
    assert got["headers"]["Authorization"] == "Bearer sk-ant-client"  # this SDK's way
    assert got["headers"]["anthropic-version"] == "2023-06-01"
    assert got["headers"]["anthropic-beta"] == "prompt-caching-2024-07-31"


async def test_stream_restores_a_placeholder_cut_at_every_position(
        proxy: RunningProxy, fake: FakeAnthropic) -> None:
    anonymized = "You said: " + ANONYMIZED
    sdk = client(proxy)
    for cut in range(1, len(anonymized)):
        fake.cuts = [cut, cut + 3]
        async with sdk.messages.stream(model=MODEL, max_tokens=100,
                                       messages=[user(PROMPT)]) as stream:
            pieces = [text async for text in stream.text_stream]
            final = await stream.get_final_message()
        assert "".join(pieces) == "You said: " + PROMPT, f"cut at {cut}"
        assert final.content[0].text == "You said: " + PROMPT
        assert all(not PLACEHOLDERS.search(p) for p in pieces)
    assert_clean(fake)


async def test_stream_cut_at_every_byte_of_a_placeholder(proxy: RunningProxy,
                                                         fake: FakeAnthropic) -> None:
    """The provider's raw bytes split inside the placeholder (and inside the event that
    carries it): the client still reads the original, whole."""
    fake.script = lambda body: [{"type": "text", "text": "Dear FRUIT_FLASH0 lover"}]
    raw = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode()
                   for e in fake.events(fake.message(fake.script({}), MODEL)))
    start = raw.index(b"FRUIT_FLASH0")
    sdk = client(proxy)
    for position in range(start, start + len("FRUIT_FLASH0") + 1):
        fake.byte_cuts = [position]
        async with sdk.messages.stream(model=MODEL, max_tokens=100,
                                       messages=[user(PROMPT)]) as stream:
            text = "".join([t async for t in stream.text_stream])
        assert text == "Dear apples lover", f"cut at byte {position}"


def tool_script(body: dict[str, Any]) -> list[dict[str, Any]]:
    """First a tool call about the fruits of the prompt, then an answer quoting the result."""
    last = body["messages"][-1]["content"]
    if isinstance(last, list) and last[0]["type"] == "tool_result":
        return [{"type": "text", "text": "The notes say: " + text_of(last)}]
    found = PLACEHOLDERS.findall(json.dumps(body["messages"]))
    return [{"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_1", "name": "lookup",
             "input": {"fruits": found, "note": "about " + " and ".join(found),
                       "options": {"limit": 3, "exact": True}}}]


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_tool_use_round_trip_with_personal_data_in_the_result(
        proxy: RunningProxy, fake: FakeAnthropic, streamed: bool) -> None:
    fake.script = tool_script
    fake.cuts = [3, 11, 17, 25, 33]  # the tool input's JSON is cut inside placeholders
    sdk = client(proxy)
    tools = [{"name": "lookup", "description": "Look fruits up",
              "input_schema": {"type": "object", "properties": {"fruits": {"type": "array"}}}}]
    messages: list[dict[str, Any]] = [user(PROMPT)]

    async def ask() -> anthropic.types.Message:
        if streamed:
            async with sdk.messages.stream(model=MODEL, max_tokens=100, tools=tools,
                                           messages=messages) as stream:
                return await stream.get_final_message()
        return await sdk.messages.create(model=MODEL, max_tokens=100, tools=tools,
                                         messages=messages)

    first = await ask()
    call = first.content[1]
    assert call.type == "tool_use"
    assert call.input == {"fruits": ["apples", "bananas", "plums"],
                          "note": "about apples and bananas and plums",
                          "options": {"limit": 3, "exact": True}}
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True)
                                                   for b in first.content]},
                 user([{"type": "tool_result", "tool_use_id": call.id,
                        "content": [{"type": "text", "text": "plums: 3 kg; apples: 2 kg"}]}])]
    second = await ask()
    assert second.content[0].text == "The notes say: plums: 3 kg; apples: 2 kg"
    assert_clean(fake)
    sent = fake.received[1]["json"]["messages"]
    assert sent[1]["content"][1]["input"]["fruits"] == ["FRUIT_FLASH0", "FRUIT_FLASH1",
                                                        "FRUIT_REGEX0"]
    assert sent[2]["content"][0]["content"][0]["text"] == "FRUIT_REGEX0: 3 kg; FRUIT_FLASH0: 2 kg"
    assert fake.received[0]["json"]["tools"] == tools  # tool schemas pass untouched


async def test_a_card_written_as_a_number_in_tool_use_input_is_masked(
        start_proxy: ProxyFactory, fake: FakeAnthropic) -> None:
    """The shipped config: a Luhn-valid card as a JSON number goes up as a placeholder
    string; short integers, a float and a timestamp no validator confirms go as they were.
    The provider's placeholder comes back as the digits, in a string."""
    proxy = await start_proxy(config=DEFAULT, flags={"anthropic_upstream": fake.url})
    card = "4111111111111111"
    tool_input = {"card": int(card), "qty": 3, "order": 1017, "price": 1234567.5,
                  "at": 1733059200, "cards": [int(card)]}

    def refund(body: dict[str, Any]) -> list[dict[str, Any]]:
        found = re.findall(r"CREDIT_CARD\d+", json.dumps(body["messages"]))
        return [{"type": "tool_use", "id": "toolu_2", "name": "refund",
                 "input": {"cards": found}}]

    fake.script = refund
    answer = await client(proxy).messages.create(model=MODEL, max_tokens=100, messages=[
        user("Pay the order"),
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1",
                                           "name": "pay", "input": tool_input}]},
        user([{"type": "tool_result", "tool_use_id": "toolu_1", "content": "paid"}])])
    assert "411111" not in fake.all_received()
    sent = fake.received[0]["json"]["messages"][1]["content"][0]["input"]
    assert re.fullmatch(r"CREDIT_CARD\d+", sent["card"])
    assert sent == {**tool_input, "card": sent["card"], "cards": [sent["card"]]}
    assert '"order":1017,"price":1234567.5,"at":1733059200,' in fake.received[0]["raw"]
    assert answer.content[0].input == {"cards": [card, card]}


def thinking_script(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = sorted(set(PLACEHOLDERS.findall(json.dumps(body["messages"]))))
    # The provider's own words may hold what the proxy would mask (a plum): the proxy
    # must send back exactly these bytes, not a re-anonymized version.
    thought = f"The user mentions {', '.join(found)}; FRUIT_FLASH0 first, no plum."
    return [{"type": "thinking", "thinking": thought, "signature": sign(thought)},
            {"type": "redacted_thinking", "data": "EuYBCkQYAiJA+opaque=="},
            {"type": "text", "text": "Noted, FRUIT_FLASH0."}]


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_thinking_is_restored_and_swapped_back_byte_for_byte(
        proxy: RunningProxy, fake: FakeAnthropic, streamed: bool) -> None:
    fake.script = thinking_script
    fake.cuts = [5, 21, 26, 40]
    sdk = client(proxy)
    messages: list[dict[str, Any]] = [user(PROMPT)]

    async def ask(sdk: anthropic.AsyncAnthropic) -> anthropic.types.Message:
        kwargs: dict[str, Any] = {"model": MODEL, "max_tokens": 2000, "messages": messages,
                                  "thinking": {"type": "enabled", "budget_tokens": 1024}}
        if streamed:
            async with sdk.messages.stream(**kwargs) as stream:
                return await stream.get_final_message()
        return await sdk.messages.create(**kwargs)

    first = await ask(sdk)
    thinking = first.content[0]
    assert thinking.thinking == ("The user mentions apples, bananas, plums; apples first, "
                                 "no plum.")
    assert first.content[1].type == "redacted_thinking"
    assert first.content[1].data == "EuYBCkQYAiJA+opaque=="
    assert first.content[2].text == "Noted, apples."
    signed_text = fake.received[0]["json"] and thinking_script(fake.received[0]["json"])[0]

    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True)
                                                   for b in first.content]},
                 user("And apples again?")]
    second = await ask(sdk)
    assert second.content[2].text == "Noted, apples."
    assert_clean(fake)
    back = fake.received[1]["json"]["messages"][1]["content"]
    assert back[0] == {"type": "thinking", "thinking": signed_text["thinking"],
                       "signature": signed_text["signature"]}
    assert back[1] == {"type": "redacted_thinking", "data": "EuYBCkQYAiJA+opaque=="}

    # Another client key cannot reach the stored original: the block goes up
    # re-anonymized (never raw), the signature no longer matches and the provider says so.
    with pytest.raises(anthropic.BadRequestError) as refused:
        await ask(client(proxy, api_key="sk-ant-someone-else"))
    assert refused.value.status_code == 400
    assert "signature" in refused.value.body["error"]["message"]
    resent = fake.received[2]["json"]["messages"][1]["content"][0]["thinking"]
    assert resent == ("The user mentions FRUIT_FLASH0, FRUIT_FLASH1, FRUIT_REGEX0; "
                      "FRUIT_FLASH0 first, no FRUIT_REGEX1.")
    assert_clean(fake)
    async with aiohttp.ClientSession() as session, session.get(proxy.url + "/metrics") as got:
        metrics = await got.text()
    for outcome, count in (("stored", 2), ("swapped", 1), ("reanonymized", 1)):
        assert f'anonymize_proxy_thinking_blocks_total{{outcome="{outcome}"}} {count}.0' \
            in metrics


async def test_two_turns_keep_the_anonymized_prefix_byte_identical(
        proxy: RunningProxy, fake: FakeAnthropic) -> None:
    """Anthropic's prompt cache hits only on an identical prefix: the second turn's system,
    first message and the assistant's answer go up exactly as the provider saw them, with
    ``cache_control`` where the client put it."""
    sdk = client(proxy)
    system = [{"type": "text", "text": "You help a grower of plums.",
               "cache_control": {"type": "ephemeral"}}]
    messages: list[dict[str, Any]] = [user([{"type": "text", "text": PROMPT,
                                             "cache_control": {"type": "ephemeral"}}])]
    first = await sdk.messages.create(model=MODEL, max_tokens=50, system=system,
                                      messages=messages)
    messages += [{"role": "assistant", "content": first.content[0].text},
                 user("Now bananas, a kiwi and apples")]
    await sdk.messages.create(model=MODEL, max_tokens=50, system=system, messages=messages)
    one, two = (entry["json"] for entry in fake.received)
    assert json.dumps(two["system"]) == json.dumps(one["system"])
    assert json.dumps(two["messages"][0]) == json.dumps(one["messages"][0])
    assert two["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert two["messages"][1]["content"] == "You said: " + ANONYMIZED  # as the provider said
    assert two["messages"][2]["content"].startswith("Now FRUIT_FLASH1")
    prefix = fake.received[0]["raw"].split('"messages":')[0]
    assert fake.received[1]["raw"].startswith(prefix)
    assert_clean(fake)


async def test_count_tokens_counts_what_the_provider_will_see(proxy: RunningProxy,
                                                              fake: FakeAnthropic) -> None:
    counted = await client(proxy).messages.count_tokens(model=MODEL, messages=[user(PROMPT)])
    assert fake.received[0]["path"] == "/v1/messages/count_tokens"
    assert fake.received[0]["json"]["messages"][0]["content"] == ANONYMIZED
    assert counted.input_tokens == len(json.dumps([user(ANONYMIZED)]))
    assert_clean(fake)


@pytest.mark.parametrize(("status", "kind", "error_class"), [
    (400, "invalid_request_error", anthropic.BadRequestError),
    (500, "api_error", anthropic.InternalServerError),
    (529, "overloaded_error", anthropic.OverloadedError),
])
async def test_upstream_errors_come_back_in_anthropic_shape(
        proxy: RunningProxy, fake: FakeAnthropic, status: int, kind: str,
        error_class: type[anthropic.APIStatusError]) -> None:
    fake.error = (status, {"type": "error", "error": {
        "type": kind, "message": "problem with FRUIT_FLASH0"}})
    with pytest.raises(error_class) as raised:
        await client(proxy).messages.create(model=MODEL, max_tokens=10,
                                            messages=[user(PROMPT)])
    assert raised.value.status_code == status
    assert raised.value.body == {"type": "error", "error": {"type": kind,
                                                            "message": "problem with apples"}}
    assert raised.value.request_id == "req_fake_error"


async def test_proxy_refusals_use_anthropic_shape(proxy: RunningProxy,
                                                  fake: FakeAnthropic) -> None:
    sdk = client(proxy)
    with pytest.raises(anthropic.BadRequestError) as unknown_block:
        await sdk.messages.create(model=MODEL, max_tokens=10, messages=[user([
            {"type": "memo", "memo": "apples for Zoe"}])])
    assert unknown_block.value.body["type"] == "error"
    assert unknown_block.value.body["error"]["type"] == "invalid_request_error"
    assert "apples" not in json.dumps(unknown_block.value.body)
    with pytest.raises(anthropic.BadRequestError):
        await sdk.messages.create(model=MODEL, max_tokens=10, messages=[user(PROMPT)],
                                  extra_body={"note": "apples"})
    with pytest.raises(anthropic.BadRequestError):  # an e-mail is no user id
        await sdk.messages.create(model=MODEL, max_tokens=10, messages=[user(PROMPT)],
                                  metadata={"user_id": "zoe@example.org"})
    assert fake.received == []


async def test_egress_mode_uses_the_proxys_own_anthropic_key(
        start_proxy: ProxyFactory, fake: FakeAnthropic) -> None:
    proxy = await start_proxy(flags={"anthropic_upstream": fake.url}, env={
        "ANONYMIZE_PROXY_CLIENT_KEYS": "team-key",
        "ANONYMIZE_PROXY_ANTHROPIC_UPSTREAM_KEY": "sk-ant-proxy-own"})
    with pytest.raises(anthropic.AuthenticationError) as refused:
        await client(proxy, api_key="wrong").messages.create(
            model=MODEL, max_tokens=10, messages=[user(PROMPT)])
    assert refused.value.body["error"]["type"] == "authentication_error"
    answer = await client(proxy, api_key="team-key").messages.create(
        model=MODEL, max_tokens=10, messages=[user(PROMPT)])
    assert answer.content[0].text == "You said: " + PROMPT
    headers = fake.received[-1]["headers"]
    assert headers["x-api-key"] == "sk-ant-proxy-own"
    assert "team-key" not in json.dumps(headers)
    assert "Authorization" not in headers
    # x-api-key (Claude Code's way) works as well as the SDK's Bearer.
    async with aiohttp.ClientSession() as session, session.post(
            proxy.url + "/v1/messages", json={"model": MODEL, "max_tokens": 5,
                                              "messages": [user("hi")]},
            headers={"x-api-key": "team-key", "anthropic-version": "2023-06-01"}) as answer:
        assert answer.status == 200
    assert fake.received[-1]["headers"]["x-api-key"] == "sk-ant-proxy-own"


async def test_models_and_probes(proxy: RunningProxy, fake: FakeAnthropic,
                                 upstream: FakeUpstream) -> None:
    page = await client(proxy).models.list()
    assert [m.id for m in page.data] == ["claude-fake"]
    assert fake.received[0]["path"] == "/v1/models"
    assert upstream.received == []  # the OpenAI upstream was not asked
    async with aiohttp.ClientSession() as session:
        async with session.head(proxy.url + "/") as probe:
            assert probe.status == 200
        async with session.post(proxy.url + "/api/event_logging/batch", json={}) as other:
            assert other.status == 404  # unknown paths go nowhere


async def test_no_personal_value_in_logs_or_metrics(proxy: RunningProxy, fake: FakeAnthropic,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sdk = client(proxy)
    fake.script = thinking_script
    first = await sdk.messages.create(model=MODEL, max_tokens=100, messages=[user(PROMPT)])
    fake.cuts = [3, 9, 20]
    async with sdk.messages.stream(model=MODEL, max_tokens=100, messages=[
            user(PROMPT), {"role": "assistant", "content": [
                b.model_dump(exclude_none=True) for b in first.content]},
            user("plums?")]) as stream:
        await stream.get_final_message()
    await sdk.messages.count_tokens(model=MODEL, messages=[user(PROMPT)])
    with pytest.raises(anthropic.BadRequestError):
        await sdk.messages.create(model=MODEL, max_tokens=10, messages=[user(PROMPT)],
                                  extra_body={"apples": "bananas"})
    fake.error = (529, {"type": "error", "error": {"type": "overloaded_error",
                                                   "message": "busy with FRUIT_FLASH0"}})
    with pytest.raises(anthropic.OverloadedError):
        await sdk.messages.create(model=MODEL, max_tokens=10, messages=[user(PROMPT)])
    async with aiohttp.ClientSession() as session, session.get(proxy.url + "/metrics") as got:
        metrics = await got.text()
    # The SDK's own debug log shows the client's request, in the client's process: not ours.
    ours = [r for r in caplog.records if not r.name.startswith(("anthropic", "httpx"))]
    lines = [fmt.format(r) for r in ours for fmt in (JsonFormatter(), TextFormatter())]
    assert sum(r.name == "anonymize_proxy.access" for r in ours) >= 5
    for text in [*lines, metrics]:
        for value in VALUES:
            assert value not in text
    for route in ("/v1/messages", "/v1/messages/count_tokens"):
        assert f'route="{route}",status="200"' in metrics
    assert 'route="/v1/messages",status="529"' in metrics
    assert 'anonymize_proxy_upstream_latency_seconds_count{route="/v1/messages"}' in metrics
