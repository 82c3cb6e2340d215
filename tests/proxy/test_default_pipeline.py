"""The product's promise with the shipped config: the real NER model, the real SDK, real Redis.

A person, an e-mail address, a phone number, a card and a city go in; the provider sees only
placeholders; the client gets every value back, whole or streamed however it is cut.
"""

from __future__ import annotations

import json
import re

import pytest
import redis.asyncio as aioredis

from tests.proxy.conftest import DEFAULT, FakeUpstream, ProxyFactory, RunningProxy

VALUES = {
    "Maria Gonzalez": "PERSON",
    "maria.gonzalez@example.org": "EMAIL",
    "+44 20 7946 0958": "PHONE",
    "4111 1111 1111 1111": "CREDIT_CARD",
    "Chicago": "LOCATION",
}
PROMPT = ("Please write to Maria Gonzalez (maria.gonzalez@example.org, +44 20 7946 0958) that "
          "the card 4111 1111 1111 1111 was charged twice in Chicago, and sign it from Maria "
          "Gonzalez's bank.")


@pytest.fixture
async def default_proxy(start_proxy: ProxyFactory) -> RunningProxy:
    return await start_proxy(config=DEFAULT)


def assert_provider_saw_no_value(upstream: FakeUpstream) -> None:
    seen = upstream.all_received()
    for value in VALUES:
        assert value not in seen
    assert "Gonzalez" not in seen and "4111" not in seen


async def test_every_kind_of_value_is_masked_and_restored(
    default_proxy: RunningProxy, upstream: FakeUpstream, redis_client: aioredis.Redis,
    redis_prefix: str,
) -> None:
    client = default_proxy.client()
    raw = await client.chat.completions.with_raw_response.create(
        model="fake", messages=[{"role": "user", "content": PROMPT}])
    answer = raw.parse()
    assert answer.choices[0].message.content == "You said: " + PROMPT
    assert_provider_saw_no_value(upstream)
    sent = upstream.received[0]["json"]["messages"][0]["content"]
    for label in set(VALUES.values()):
        assert re.search(rf"\b{label}\d+\b", sent), (label, sent)
    # The same person twice is one placeholder.
    person = re.findall(r"PERSON\d+", sent)
    assert len(person) == 2 and person[0] == person[1]
    # The map went to Redis (no key configured in this test: stored in clear), with a TTL.
    key = redis_prefix + raw.headers["X-Request-Id"]
    stored = json.loads(await redis_client.get(key))
    assert stored[person[0]] == "Maria Gonzalez"
    assert set(stored.values()) >= set(VALUES)
    assert 0 < await redis_client.ttl(key) <= 3600


@pytest.mark.parametrize("cut", [1, 7, 19, 33, 58, 91, 140])
async def test_streamed_answer_is_restored_however_it_is_cut(default_proxy: RunningProxy,
                                                             upstream: FakeUpstream,
                                                             cut: int) -> None:
    upstream.cuts = [cut, cut + 1, cut + 5]
    stream = await default_proxy.client().chat.completions.create(
        model="fake", messages=[{"role": "user", "content": PROMPT}], stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "You said: " + PROMPT
    assert_provider_saw_no_value(upstream)


async def test_tool_call_arguments_come_back_with_the_values(default_proxy: RunningProxy,
                                                             upstream: FakeUpstream) -> None:
    history = [
        {"role": "user", "content": "Look up the order of Maria Gonzalez."},
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_0", "type": "function", "function": {
                "name": "lookup", "arguments": json.dumps({"customer": "Maria Gonzalez"})}}]},
        {"role": "tool", "tool_call_id": "call_0",
         "content": json.dumps({"email": "maria.gonzalez@example.org"})},
        {"role": "user", "content": "Now write to her."},
    ]
    answer = await default_proxy.client().chat.completions.create(model="fake",
                                                                  messages=history)
    assert answer.choices[0].message.content == "You said: Now write to her."
    seen = upstream.all_received()
    assert "Gonzalez" not in seen and "maria.gonzalez@example.org" not in seen
    sent = upstream.received[0]["json"]["messages"]
    arguments = json.loads(sent[1]["tool_calls"][0]["function"]["arguments"])
    assert re.fullmatch(r"PERSON\d+", arguments["customer"])
    assert re.search(r"PERSON\d+", sent[0]["content"]).group() == arguments["customer"]


async def send_tool_call(proxy: RunningProxy, upstream: FakeUpstream, name: str,
                         arguments: str) -> dict:
    """A chat turn holding one earlier tool call with ``arguments``; the function object the
    provider received."""
    await proxy.client().chat.completions.create(model="fake", messages=[
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_0", "type": "function",
            "function": {"name": name, "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": "call_0", "content": "done"}])
    return upstream.received[0]["json"]["messages"][0]["tool_calls"][0]["function"]


async def test_a_card_written_as_a_json_number_in_arguments_is_masked(
        default_proxy: RunningProxy, upstream: FakeUpstream) -> None:
    """A bare number is masked only when a validator confirms it: the Luhn-valid card is,
    the timestamp, the short integers and the float stay as the client wrote them."""
    arguments = ('{"card": 4111111111111111, "qty": 3, "order": 1017, "total": 1234567.50,'
                 ' "at": 1733059200}')
    sent = await send_tool_call(default_proxy, upstream, "pay", arguments)
    assert "4111" not in upstream.all_received()
    card = json.loads(sent["arguments"])["card"]
    assert re.fullmatch(r"CREDIT_CARD\d+", card)
    assert sent["arguments"] == arguments.replace("4111111111111111", json.dumps(card))


async def test_a_bare_phone_number_in_arguments_is_read_after_its_parameter_name(
        default_proxy: RunningProxy, upstream: FakeUpstream) -> None:
    """Alone, 4155550123 is any number; after "phone" it is a phone (value_names.py). The
    parameter names go up as written; an order number stays as the client wrote it."""
    arguments = ('{"phone": "4155550123", "mobile_number": 4155550199, "order": "4155550177",'
                 ' "name": "Maria Gonzalez"}')
    function = await send_tool_call(default_proxy, upstream, "text_customer", arguments)
    seen = upstream.all_received()
    assert "4155550123" not in seen and "4155550199" not in seen and "Gonzalez" not in seen
    sent = json.loads(function["arguments"])
    assert list(sent) == ["phone", "mobile_number", "order", "name"]
    assert re.fullmatch(r"PHONE\d+", sent["phone"]) and re.fullmatch(r"PHONE\d+",
                                                                      sent["mobile_number"])
    assert sent["order"] == "4155550177"
