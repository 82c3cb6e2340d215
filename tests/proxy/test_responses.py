"""The Responses API through the proxy, driven by the real ``openai`` SDK's ``responses`` resource
against a fake provider that records what it received (fruits config: ``apples`` etc.)."""

from __future__ import annotations

import inspect
import json
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
import redis.asyncio as aioredis

from proxy.app import create_app
from proxy.formats import responses_schema
from proxy.logs import JsonFormatter, TextFormatter
from tests.proxy.conftest import RunningProxy, ServeFake, _serve, make_settings
from tests.proxy.responses_upstream import ENCRYPTED, FakeResponses

SECRET_WORDS = ("apples", "bananas", "plums")


@pytest.fixture
async def fake(serve_fake: ServeFake) -> FakeResponses:
    return await serve_fake(FakeResponses())


@pytest.fixture
async def rproxy(fake: FakeResponses, redis_prefix: str) -> AsyncIterator[RunningProxy]:
    settings = make_settings(fake.url, redis_prefix)
    app = create_app(settings)
    runner, url = await _serve(app, shutdown_timeout=1.0)
    yield RunningProxy(url, app, settings)
    await runner.cleanup()


def assert_never_saw_originals(fake: FakeResponses) -> None:
    seen = fake.all_received()
    for word in SECRET_WORDS:
        assert word not in seen, word


async def test_plain_create_is_anonymized_and_restored(rproxy: RunningProxy,
                                                       fake: FakeResponses) -> None:
    client = rproxy.client()
    answer = await client.responses.create(
        model="gpt-test", instructions="The user likes plums.",
        input="I like apples and bananas", metadata={"topic": "apples"})
    assert answer.output_text == "You said: I like apples and bananas"
    assert answer.instructions == "The user likes plums."
    assert answer.metadata == {"topic": "apples"}
    sent = fake.received[-1]["json"]
    assert "FRUIT_" in sent["input"] and "FRUIT_" in sent["instructions"]
    assert_never_saw_originals(fake)


async def test_stream_deltas_and_done_events_agree(rproxy: RunningProxy,
                                                   fake: FakeResponses) -> None:
    fake.cuts = list(range(1, 80, 3))  # every placeholder split somewhere
    client = rproxy.client()
    stream = await client.responses.create(model="gpt-test", stream=True,
                                           input="apples, bananas and plums")
    deltas, done_text, final, numbers = [], None, None, []
    async for event in stream:
        numbers.append(event.sequence_number)
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
        elif event.type == "response.output_text.done":
            done_text = event.text
        elif event.type == "response.completed":
            final = event.response
    expected = "You said: apples, bananas and plums"
    assert "".join(deltas) == expected == done_text
    assert final is not None and final.output_text == expected
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert_never_saw_originals(fake)


@pytest.mark.parametrize("stream", [False, True])
async def test_function_call_round_trip(rproxy: RunningProxy, fake: FakeResponses,
                                        stream: bool) -> None:
    fake.tool_call = True
    client = rproxy.client()
    tools = [{"type": "function", "name": "lookup", "description": "Look a fruit up",
              "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}]
    first = await _create(client, stream, model="gpt-test", tools=tools,
                          input="find apples near the bananas stand")
    call = next(item for item in first.output if item.type == "function_call")
    arguments = json.loads(call.arguments)
    assert arguments["query"] == "find apples near the bananas stand"
    assert all(not word.startswith("FRUIT_") for word in arguments["found"])
    second = await _create(client, stream, model="gpt-test", tools=tools,
                           previous_response_id=first.id,
                           input=[{"type": "function_call_output", "call_id": call.call_id,
                                   "output": "apples: aisle 3"}])
    assert second.output_text == "Tool said: apples: aisle 3"
    # The same fruit kept its placeholder across the two requests.
    sent_first = fake.received[0]["json"]["input"]
    sent_second = fake.received[1]["json"]["input"][0]["output"]
    assert sent_first.split()[1] == sent_second.split(":")[0]
    assert_never_saw_originals(fake)


async def _create(client: openai.AsyncOpenAI, stream: bool, **kwargs: Any) -> Any:
    if not stream:
        return await client.responses.create(**kwargs)
    final = None
    async for event in await client.responses.create(stream=True, **kwargs):
        if event.type == "response.completed":
            final = event.response
    assert final is not None
    return final


async def test_previous_response_id_keeps_placeholders_over_three_turns(
        rproxy: RunningProxy, fake: FakeResponses) -> None:
    client = rproxy.client()
    one = await client.responses.create(model="gpt-test", input="I like apples")
    two = await client.responses.create(model="gpt-test", previous_response_id=one.id,
                                        input="and bananas, more than apples")
    three = await client.responses.create(model="gpt-test", previous_response_id=two.id,
                                          input="apples or bananas or plums?")
    assert one.output_text == "You said: I like apples"
    assert two.output_text == "You said: and bananas, more than apples"
    assert three.output_text == "You said: apples or bananas or plums?"
    sent = [entry["json"]["input"] for entry in fake.received]
    apples = sent[0].split()[-1]
    bananas = sent[1].split()[1].rstrip(",")
    assert apples.startswith("FRUIT_") and bananas.startswith("FRUIT_") and apples != bananas
    assert sent[1] == f"and {bananas}, more than {apples}"
    assert sent[2].startswith(f"{apples} or {bananas} or FRUIT_")
    assert len({apples, bananas, sent[2].split()[-1].rstrip("?")}) == 3
    assert_never_saw_originals(fake)


async def test_unknown_previous_response_is_refused(rproxy: RunningProxy,
                                                    fake: FakeResponses) -> None:
    client = rproxy.client()
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model="gpt-test", previous_response_id="resp_unknown",
                                      input="apples")
    assert caught.value.code == "previous_response_not_found"
    assert fake.received == []
    # A response made with one key is not continued with another key's request.
    one = await client.responses.create(model="gpt-test", input="apples")
    with pytest.raises(openai.BadRequestError):
        await rproxy.client(api_key="sk-someone-else").responses.create(
            model="gpt-test", previous_response_id=one.id, input="apples")
    assert len(fake.received) == 1


async def test_reasoning_items_pass_back_with_encrypted_content_untouched(
        rproxy: RunningProxy, fake: FakeResponses) -> None:
    fake.reasoning = True
    client = rproxy.client()
    first = await client.responses.create(model="gpt-test", input="apples please",
                                          store=False, include=["reasoning.encrypted_content"])
    reasoning = first.output[0]
    assert reasoning.type == "reasoning"
    assert reasoning.summary[0].text == "Thinking about apples please"
    assert reasoning.encrypted_content == ENCRYPTED  # opaque: never "restored"
    history = [{"role": "user", "content": "apples please"},
               *[item.model_dump(exclude_none=True) for item in first.output],
               {"role": "user", "content": "and bananas"}]
    second = await client.responses.create(model="gpt-test", input=history, store=False,
                                           include=["reasoning.encrypted_content"])
    assert second.output_text == "You said: and bananas"
    sent = fake.received[1]["json"]["input"]
    assert sent[1]["encrypted_content"] == ENCRYPTED
    assert sent[1]["summary"][0]["text"].startswith("Thinking about FRUIT_")
    assert_never_saw_originals(fake)


async def test_stateless_history_anonymizes_identically_turn_to_turn(
        rproxy: RunningProxy, fake: FakeResponses) -> None:
    """Codex sends the whole history with store: false: the provider's prompt cache keeps
    hitting only if the earlier turns anonymize to the same bytes."""
    client = rproxy.client()
    turn_one = [{"role": "developer", "content": "Help with plums."},
                {"role": "user", "content": [{"type": "input_text", "text": "I like apples"}]}]
    first = await client.responses.create(model="gpt-test", input=turn_one, store=False,
                                          prompt_cache_key="session-1")
    turn_two = [*turn_one, *[i.model_dump(exclude_none=True) for i in first.output],
                {"role": "user", "content": "bananas too, and plums"}]
    await client.responses.create(model="gpt-test", input=turn_two, store=False,
                                  prompt_cache_key="session-1")
    sent_one = fake.received[0]["json"]["input"]
    sent_two = fake.received[1]["json"]["input"]
    assert json.dumps(sent_two[:len(sent_one)]) == json.dumps(sent_one)
    assert sent_two[2]["content"][0]["text"] == "You said: " + sent_one[1]["content"][0]["text"]
    assert_never_saw_originals(fake)


async def test_stream_cut_at_every_position_of_a_placeholder(rproxy: RunningProxy,
                                                             fake: FakeResponses) -> None:
    client = rproxy.client()
    text = "You said: apples!"
    start = text.index("apples")
    # The provider's text holds a placeholder (FRUIT_FLASH0, 12 characters) at ``start``.
    for cut in range(start, start + len("FRUIT_FLASH0") + 1):
        fake.cuts = [cut]
        deltas = []
        async for event in await client.responses.create(model="gpt-test", stream=True,
                                                         input="apples!"):
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        assert "".join(deltas) == text, cut
    fake.cuts, fake.byte_pieces = list(range(1, 40)), 5  # and every byte piece of the SSE
    deltas = []
    async for event in await client.responses.create(model="gpt-test", stream=True,
                                                     input="apples!"):
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
    assert "".join(deltas) == text


async def test_upstream_error_keeps_openai_shape(rproxy: RunningProxy,
                                                 fake: FakeResponses) -> None:
    fake.error = (429, {"error": {"message": "Rate limited", "type": "requests",
                                  "code": "rate_limit_exceeded", "param": None}})
    with pytest.raises(openai.RateLimitError) as caught:
        await rproxy.client().responses.create(model="gpt-test", input="apples")
    assert caught.value.code == "rate_limit_exceeded"


async def test_unknown_field_or_item_is_refused_before_upstream(rproxy: RunningProxy,
                                                                fake: FakeResponses) -> None:
    client = rproxy.client()
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model="gpt-test", input="apples",
                                      extra_body={"new_field": "apples"})
    assert caught.value.code == "unknown_field"
    assert "apples" not in str(caught.value)
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model="gpt-test",
                                      input=[{"type": "brand_new_item", "text": "apples"}])
    assert caught.value.code == "unknown_type"
    with pytest.raises(openai.BadRequestError):
        await client.responses.create(model="gpt-test", input="x",
                                      safety_identifier="apples lover")
    assert fake.received == []


async def test_mid_stream_failure_ends_with_an_error_event(rproxy: RunningProxy,
                                                           fake: FakeResponses) -> None:
    fake.stream_error_after = 4
    fake.cuts = [3, 6, 9, 12, 15]
    seen: list[str] = []
    with pytest.raises(openai.APIError):
        async for event in await rproxy.client().responses.create(
                model="gpt-test", stream=True, input="apples and bananas"):
            if event.type == "response.output_text.delta":
                seen.append(event.delta)
    assert "FRUIT_" not in "".join(seen)


async def test_retrieve_input_items_cancel_delete_restored(rproxy: RunningProxy,
                                                           fake: FakeResponses) -> None:
    client = rproxy.client()
    made = await client.responses.create(model="gpt-test", input="I like apples")
    got = await client.responses.retrieve(made.id)
    assert got.output_text == "You said: I like apples"
    items = await client.responses.input_items.list(made.id)
    assert items.data[0].content[0].text == "I like apples"
    cancelled = await client.responses.cancel(made.id)
    assert cancelled.output_text == "You said: I like apples"
    # Another key gets the provider's answer as it is: placeholders, no originals.
    other = await rproxy.client(api_key="sk-someone-else").responses.retrieve(made.id)
    assert "apples" not in other.output_text and "FRUIT_" in other.output_text
    await client.responses.delete(made.id)
    assert fake.received[-1]["method"] == "DELETE"
    count = await client.responses.input_tokens.count(model="gpt-test", input="apples")
    assert count.input_tokens == 7
    assert_never_saw_originals(fake)


async def test_a_confirmed_delete_deletes_the_responses_map(
        rproxy: RunningProxy, fake: FakeResponses, redis_client: aioredis.Redis,
        redis_prefix: str) -> None:
    client = rproxy.client()
    kept, deleted = [await client.responses.create(model="gpt-test", input="I like apples")
                     for _ in range(2)]

    async def maps_of(response_id: str) -> int:
        match = f"{redis_prefix}response/*/{response_id}"
        return len([key async for key in redis_client.scan_iter(match=match)])

    assert await maps_of(kept.id) == await maps_of(deleted.id) == 1
    # Another key's delete reaches the provider, but not this key's map.
    await rproxy.client(api_key="sk-someone-else").responses.delete(kept.id)
    # The provider no longer has it (404): nothing confirmed, the map stays.
    with pytest.raises(openai.NotFoundError):
        await client.responses.delete(kept.id)
    assert await maps_of(kept.id) == 1
    await client.responses.delete(deleted.id)
    assert await maps_of(deleted.id) == 0
    sent = len(fake.received)
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model="gpt-test", input="and bananas",
                                      previous_response_id=deleted.id)
    assert caught.value.code == "previous_response_not_found"
    assert len(fake.received) == sent  # nothing forwarded


async def test_path_ids_and_query_are_checked(rproxy: RunningProxy, fake: FakeResponses) -> None:
    async with aiohttp.ClientSession() as session:
        for path in ("/v1/responses/a%2F..%2Fmodels", "/v1/responses/has%20space",
                     "/v1/responses/resp_1?note=apples"):
            async with session.get(rproxy.url + path,
                                   headers={"Authorization": "Bearer sk-x"}) as answer:
                body = await answer.json()
                assert answer.status == 400, path
                assert body["error"]["code"] in ("invalid_id", "invalid_query")
    assert fake.received == []


async def test_conversation_keeps_one_mapping(rproxy: RunningProxy, fake: FakeResponses) -> None:
    client = rproxy.client()
    conversation = await client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "I grow apples"}],
        metadata={"topic": "bananas"})
    assert conversation.metadata == {"topic": "bananas"}
    await client.conversations.items.create(
        conversation.id, items=[{"type": "message", "role": "user",
                                 "content": "and bananas next to the apples"}])
    answer = await client.responses.create(model="gpt-test", conversation=conversation.id,
                                           input="apples or plums?")
    assert answer.output_text == "You said: apples or plums?"
    first = fake.received[0]["json"]["items"][0]["content"]
    added = fake.received[1]["json"]["items"][0]["content"]
    asked = fake.received[2]["json"]["input"]
    apples = first.split()[-1]
    assert added.endswith(f"the {apples}") and asked.startswith(f"{apples} or ")
    listed = await client.conversations.items.list(conversation.id)
    assert [item.content[0].text if not isinstance(item.content, str) else item.content
            for item in listed.data][:2] == ["I grow apples", "and bananas next to the apples"]
    assert_never_saw_originals(fake)
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model="gpt-test", conversation="conv_elsewhere",
                                      input="apples")
    assert caught.value.code == "conversation_not_found"


async def test_a_deleted_conversation_loses_its_map(rproxy: RunningProxy, fake: FakeResponses,
                                                  redis_client: aioredis.Redis,
                                                  redis_prefix: str) -> None:
    client = rproxy.client()
    conversation = await client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "I grow apples"}])
    match = f"{redis_prefix}conversation/*/{conversation.id}"
    assert len([key async for key in redis_client.scan_iter(match=match)]) == 1
    deleted = await client.conversations.delete(conversation.id)
    assert deleted.deleted is True
    assert [key async for key in redis_client.scan_iter(match=match)] == []
    sent = len(fake.received)
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model="gpt-test", conversation=conversation.id,
                                      input="apples")
    assert caught.value.code == "conversation_not_found"
    assert len(fake.received) == sent  # nothing forwarded


async def test_every_byte_cut_of_reasoning_and_tool_arguments(rproxy: RunningProxy,
                                                              fake: FakeResponses) -> None:
    """One-character deltas (a placeholder split at each of its positions) in raw SSE cut
    into 7-byte pieces: summary deltas, argument deltas and their .done events come back
    restored and agree with each other."""
    fake.reasoning, fake.tool_call, fake.byte_pieces = True, True, 7
    fake.cuts = list(range(1, 200))
    summary, arguments, done = [], [], {}
    async for event in await rproxy.client().responses.create(
            model="gpt-test", stream=True, input="apples and plums",
            tools=[{"type": "function", "name": "lookup", "parameters": {}}]):
        if event.type == "response.reasoning_summary_text.delta":
            summary.append(event.delta)
        elif event.type == "response.function_call_arguments.delta":
            arguments.append(event.delta)
        elif event.type.endswith(".done") and hasattr(event, "text"):
            done["summary"] = event.text
        elif event.type == "response.function_call_arguments.done":
            done["arguments"] = event.arguments
        elif event.type == "response.completed":
            done["final"] = event.response
    assert "".join(summary) == done["summary"] == "Thinking about apples and plums"
    assert "".join(arguments) == done["arguments"]
    assert json.loads(done["arguments"])["query"] == "apples and plums"
    final_call = next(i for i in done["final"].output if i.type == "function_call")
    assert final_call.arguments == done["arguments"]
    assert done["final"].output[0].encrypted_content == ENCRYPTED


async def test_no_personal_value_in_logs_or_metrics(fake: FakeResponses, redis_prefix: str,
                                                    tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tag = uuid.uuid4().hex[:10]
    person, mail = f"Quorvath{tag}", f"mail.{tag}@example.org"
    config = tmp_path / "people.yaml"
    config.write_text("pipeline:\n  - kind: flashText\n    name: PERSON\n    keywords: ["
                      + person + "]\n  - kind: regex\n    name: EMAIL\n    patterns: "
                      "['[a-z0-9.]+@[a-z0-9.]+\\.[a-z]+']\n")
    settings = make_settings(fake.url, redis_prefix, config=config)
    app = create_app(settings)
    runner, url = await _serve(app, shutdown_timeout=1.0)
    try:
        client = RunningProxy(url, app, settings).client()
        prompt = f"Write to {person} at {mail}"
        one = await client.responses.create(model="m", input=prompt, metadata={"to": mail})
        fake.cuts = list(range(1, 60, 2))
        async for _ in await client.responses.create(model="m", input=prompt, stream=True,
                                                     previous_response_id=one.id):
            pass
        await client.responses.retrieve(one.id)
        with pytest.raises(openai.BadRequestError):
            await client.responses.create(model="m", input=[{"type": "new", "x": prompt}])
        with pytest.raises(openai.BadRequestError):
            await client.responses.create(model="m", input=prompt, previous_response_id="r_x")
        async with aiohttp.ClientSession() as session:
            metrics = await (await session.get(url + "/metrics")).text()
    finally:
        await runner.cleanup()
    lines = [f.format(r) for r in caplog.records for f in (JsonFormatter(), TextFormatter())]
    for text in [*lines, metrics]:
        assert person not in text and mail.split("@")[0] not in text
    assert 'route="/v1/responses/{response_id}"' in metrics
    assert 'anonymize_proxy_placeholders_restored_total{label="PERSON"}' in metrics


@pytest.mark.parametrize("method,schema", [
    ("responses.create", "CREATE"), ("responses.input_tokens.count", "INPUT_TOKENS"),
    ("responses.compact", "COMPACT"), ("conversations.create", "CONVERSATION_CREATE"),
    ("conversations.items.create", "CONVERSATION_ITEMS")])
def test_every_parameter_the_openai_sdk_sends_is_classified(method: str, schema: str) -> None:
    """A parameter a newer SDK adds would be refused (400) until someone decides whether it
    is text: this test names it first."""
    resource: Any = openai.OpenAI(api_key="x", base_url="http://127.0.0.1:1")
    for part in method.split("."):
        resource = getattr(resource, part)
    sdk_params = set(inspect.signature(resource).parameters) - {
        "extra_headers", "extra_query", "extra_body", "timeout", "conversation_id", "include"}
    assert sdk_params - set(getattr(responses_schema, schema).fields) == set()
