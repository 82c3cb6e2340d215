"""Tool-call arguments (a JSON document inside a string) through the proxy, with the real
``openai`` SDK, real Redis and fake providers that record what they received.

The values have what JSON escapes: a quote, a newline, backslashes, non-ASCII letters. The
provider must get valid JSON whose values are placeholders, every other byte of the arguments
as the client wrote it; the client must get valid JSON whose values are the originals.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest

from proxy.app import create_app
from tests.proxy.conftest import (
    FakeUpstream,
    ProxyFactory,
    RunningProxy,
    _serve,
    config_file,
    make_settings,
    streamed_tool_arguments,
)
from tests.proxy.responses_upstream import FakeResponses

PERSON = 'Anna "Nan" Smith'
ADDRESS = "12 Main St\nSpringfield"
PATH = "C:\\Users\\anna"
ACCENTED = "José Álvarez"
EMAIL = "anna.smith@example.org"
CONFIG = r"""
pipeline:
  - kind: regex
    name: PERSON
    patterns: ['Anna "Nan" Smith', 'José Álvarez']
  - kind: regex
    name: ADDRESS
    patterns: ['12 Main St\nSpringfield']
  - kind: regex
    name: PATH
    patterns: ['C:\\Users\\anna']
  - kind: regex
    name: EMAIL
    patterns: ['[\w.]+@[\w.]+\w']
  - kind: identifier
    types: {credit_card: CREDIT_CARD}
"""
PLACEHOLDER = re.compile(r"(?:PERSON|ADDRESS|PATH|EMAIL|CREDIT_CARD)\d+")
# Every original, and the escaped spellings the client's JSON gives them.
LEAKS = ("Anna", "Nan", "Springfield", "Users", "anna.smith", "lvarez", "José", "Jos\\u00e9")

# As a client may write them: indented, a number spelled 1.50, \u escapes, \/, a surrogate
# pair, empty and nested strings, one value that no detector finds.
ARGUMENTS = r'''{
  "name": "Anna \"Nan\" Smith",  "address":"12 Main St\nSpringfield",
  "path": "C:\\Users\\anna", "who": "Jos\u00e9 \u00c1lvarez \ud83c\udf51",
  "mail": ["to anna.smith@example.org", {"cc": "anna.smith@example.org", "e": ""}],
  "n": 1.50, "big": 1E3, "ok": true, "none": null, "kept": "caf\u00e9 \/ ok"
}'''
# The literals of ARGUMENTS that hold a detected value.
CHANGED = {"name": r'"Anna \"Nan\" Smith"', "address": r'"12 Main St\nSpringfield"',
           "path": r'"C:\\Users\\anna"', "who": r'"Jos\u00e9 \u00c1lvarez \ud83c\udf51"'}
PROMPT = f"Write to {PERSON}, {ADDRESS}; the files are in {PATH}"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return config_file(tmp_path, CONFIG)


@pytest.fixture
async def chat(start_proxy: ProxyFactory, upstream: FakeUpstream,
               config: Path) -> openai.AsyncOpenAI:
    upstream.placeholder = PLACEHOLDER
    return (await start_proxy(config=config)).client()


@pytest.fixture
async def responses(redis_prefix: str, config: Path,
                    ) -> AsyncIterator[tuple[FakeResponses, openai.AsyncOpenAI]]:
    fake = FakeResponses()
    fake_runner, fake.url = await _serve(fake.app())
    settings = make_settings(fake.url, redis_prefix, config=config)
    app = create_app(settings)
    runner, url = await _serve(app, shutdown_timeout=1.0)
    yield fake, RunningProxy(url, app, settings).client()
    await runner.cleanup()
    await fake_runner.cleanup()


def assert_no_original(raw: str) -> None:
    for leak in LEAKS:
        assert leak not in raw, leak


def assert_only_values_replaced(sent: str) -> dict[str, Any]:
    """``sent`` is ARGUMENTS with only the detected values' literals re-encoded."""
    parsed = json.loads(sent)
    person, address, path = parsed["name"], parsed["address"], parsed["path"]
    assert re.fullmatch(r"PERSON\d+", person) and re.fullmatch(r"ADDRESS\d+", address)
    assert re.fullmatch(r"PATH\d+", path)
    accented, peach = parsed["who"].split(" ")
    assert re.fullmatch(r"PERSON\d+", accented) and accented != person and peach == "🍑"
    email = parsed["mail"][1]["cc"]
    assert re.fullmatch(r"EMAIL\d+", email) and parsed["mail"][0] == f"to {email}"
    expected = ARGUMENTS.replace("anna.smith@example.org", email)
    for key, literal in CHANGED.items():
        expected = expected.replace(literal, json.dumps(parsed[key]))
    assert sent == expected
    return parsed


# -- the request ----------------------------------------------------------------------------

async def send_chat_calls(chat: openai.AsyncOpenAI, upstream: FakeUpstream, prose: str,
                          arguments: str) -> list[dict[str, Any]]:
    """A history of ``prose``, then ``arguments`` in a tool call and in a legacy function
    call; the messages the provider got, where both calls' arguments are the same."""
    call = {"id": "call_1", "type": "function",
            "function": {"name": "send", "arguments": arguments}}
    await chat.chat.completions.create(model="m", messages=[
        {"role": "user", "content": prose},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sent"},
        {"role": "assistant", "content": None,
         "function_call": {"name": "send", "arguments": arguments}},
        {"role": "function", "name": "send", "content": "sent"}])
    sent = upstream.received[0]["json"]["messages"]
    assert sent[3]["function_call"]["arguments"] == sent[1]["tool_calls"][0]["function"][
        "arguments"]
    return sent


async def test_chat_arguments_go_up_as_json_with_only_the_values_replaced(
        chat: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    sent = await send_chat_calls(chat, upstream, f"Mail {PERSON} at {ADDRESS}", ARGUMENTS)
    assert_no_original(upstream.all_received())
    parsed = assert_only_values_replaced(sent[1]["tool_calls"][0]["function"]["arguments"])
    # One mapping: the prose and the decoded arguments give the same placeholders.
    assert sent[0]["content"] == f"Mail {parsed['name']} at {parsed['address']}"


async def test_responses_arguments_go_up_as_json_with_only_the_values_replaced(
        responses: tuple[FakeResponses, openai.AsyncOpenAI]) -> None:
    fake, client = responses
    await client.responses.create(model="m", input=[
        {"type": "message", "role": "user", "content": f"Mail {PERSON}"},
        {"type": "function_call", "call_id": "c1", "name": "send", "arguments": ARGUMENTS},
        {"type": "function_call_output", "call_id": "c1", "output": "sent"},
        {"type": "mcp_approval_request", "id": "mcpr_1", "server_label": "crm",
         "name": "send", "arguments": ARGUMENTS},
        {"type": "mcp_call", "id": "mcp_1", "server_label": "crm", "name": "send",
         "arguments": ARGUMENTS, "output": "sent"}])
    assert_no_original(fake.all_received())
    sent = fake.received[0]["json"]["input"]
    parsed = assert_only_values_replaced(sent[1]["arguments"])
    assert sent[3]["arguments"] == sent[4]["arguments"] == sent[1]["arguments"]
    assert sent[0]["content"] == f"Mail {parsed['name']}"


@pytest.mark.parametrize("arguments", [
    '{"to": "anna.smith@example.org", "body": "Hi An',  # a partial document
    "mail anna.smith@example.org now",  # free text
    '{"to whom": "anna.smith@example.org"}',  # a key that is not a parameter name
    '{"to": "anna.smith@example.org"} trailing',
    '{"to": "anna.smith@example.org", "n": NaN}',  # not strict JSON
])
async def test_arguments_that_are_not_such_a_document_are_anonymized_whole(
        chat: openai.AsyncOpenAI, upstream: FakeUpstream, arguments: str) -> None:
    """The fallback is today's: the whole string is one text, still anonymized."""
    call = {"id": "call_1", "type": "function",
            "function": {"name": "send", "arguments": arguments}}
    await chat.chat.completions.create(model="m", messages=[
        {"role": "assistant", "content": None, "tool_calls": [call]}])
    sent = upstream.received[0]["json"]["messages"][0]["tool_calls"][0]["function"]
    assert sent["arguments"] == arguments.replace(EMAIL, "EMAIL0")
    assert "anna.smith" not in upstream.all_received()


# -- the answer -----------------------------------------------------------------------------

EXPECTED_CALL = {"fruits": [PERSON, ADDRESS, PATH],
                 "note": f"about {PERSON} and {ADDRESS} and {PATH}"}


async def test_chat_tool_call_comes_back_as_json_with_the_originals(
        chat: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    upstream.tool_answer = True
    answer = await chat.chat.completions.create(
        model="m", messages=[{"role": "user", "content": PROMPT}])
    assert json.loads(answer.choices[0].message.tool_calls[0].function.arguments) == \
        EXPECTED_CALL
    # Prose is restored raw, not escaped.
    upstream.tool_answer = False
    answer = await chat.chat.completions.create(
        model="m", messages=[{"role": "user", "content": PROMPT}])
    assert answer.choices[0].message.content == "You said: " + PROMPT
    assert_no_original(upstream.all_received())


async def test_chat_streamed_arguments_cut_at_every_position(
        chat: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    upstream.tool_answer = True
    arguments = upstream.tool_arguments(
        {"messages": [{"content": "PERSON0 ADDRESS0 PATH0"}]})
    for cut in range(1, len(arguments)):
        upstream.cuts = [cut, cut + 2]
        pieces = await streamed_tool_arguments(
            chat, model="m", messages=[{"role": "user", "content": PROMPT}])
        assert json.loads("".join(pieces)) == EXPECTED_CALL, f"cut at {cut}"
        assert not any(PLACEHOLDER.search(p) for p in pieces)
    assert_no_original(upstream.all_received())


async def test_responses_function_call_comes_back_as_json_with_the_originals(
        responses: tuple[FakeResponses, openai.AsyncOpenAI]) -> None:
    fake, client = responses
    fake.tool_call = True
    expected = {"query": PROMPT, "found": [PERSON, ADDRESS, PATH]}
    answer = await client.responses.create(model="m", input=PROMPT)
    assert json.loads(answer.output[0].arguments) == expected
    fake.tool_call = False
    answer = await client.responses.create(model="m", input=PROMPT)
    assert answer.output_text == "You said: " + PROMPT  # prose: raw
    assert_no_original(fake.all_received())


async def test_responses_streamed_arguments_cut_at_every_position(
        responses: tuple[FakeResponses, openai.AsyncOpenAI]) -> None:
    """One-character deltas (each placeholder split at each of its positions), the raw SSE
    cut into 7-byte pieces: deltas, ``.done``, the item and the response all agree."""
    fake, client = responses
    fake.tool_call, fake.cuts, fake.byte_pieces = True, list(range(1, 200)), 7
    deltas, done = [], {}
    async for event in await client.responses.create(model="m", stream=True, input=PROMPT):
        if event.type == "response.function_call_arguments.delta":
            deltas.append(event.delta)
        elif event.type == "response.function_call_arguments.done":
            done["event"] = event.arguments
        elif event.type == "response.output_item.done":
            done["item"] = event.item.arguments
        elif event.type == "response.completed":
            done["final"] = event.response.output[0].arguments
    assert not any(PLACEHOLDER.search(d) for d in deltas)
    assert "".join(deltas) == done["event"] == done["item"] == done["final"]
    assert json.loads(done["final"]) == {"query": PROMPT, "found": [PERSON, ADDRESS, PATH]}


async def test_the_next_turn_sends_the_providers_arguments_byte_for_byte(
        chat: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    """Values first seen in prose, emitted by the provider in arguments, restored, and sent
    back by the client: the provider gets its own arguments again (prompt cache)."""
    upstream.tool_answer = True
    messages: list[Any] = [{"role": "user", "content": PROMPT}]
    answer = await chat.chat.completions.create(model="m", messages=messages)
    call = answer.choices[0].message.tool_calls[0]
    messages += [{"role": "assistant", "content": None, "tool_calls": [
                     {"id": call.id, "type": "function", "function": {
                         "name": call.function.name, "arguments": call.function.arguments}}]},
                 {"role": "tool", "tool_call_id": call.id, "content": "sent"}]
    again = await chat.chat.completions.create(model="m", messages=messages)
    emitted = upstream.tool_arguments(upstream.received[0]["json"])
    resent = upstream.received[1]["json"]["messages"][1]["tool_calls"][0]["function"]
    assert resent["arguments"] == emitted
    # The provider quoted the prompt and both of its own arguments' lists.
    found = json.loads(again.choices[0].message.tool_calls[0].function.arguments)["fruits"]
    assert found == [PERSON, ADDRESS, PATH] * 3
    assert_no_original(upstream.all_received())


# -- numbers --------------------------------------------------------------------------------

CARD = "4111111111111111"  # Luhn-valid (a Visa test number)
# A card as a JSON number, and numbers that are no identifier: short integers, a float, an
# exponent, a 10-digit timestamp no validator confirms.
NUMBERS = ('{"card": 4111111111111111, "qty": 3, "order": 1017, "price": 1234567.50,'
           ' "big": 1E9, "at": 1733059200, "cards": [4111111111111111]}')


def assert_card_masked_rest_as_written(sent: str) -> str:
    """``sent`` is NUMBERS with only the card's two literals replaced, by one placeholder in
    a JSON string; returns the placeholder."""
    card = json.loads(sent)["card"]
    assert re.fullmatch(r"CREDIT_CARD\d+", card)
    assert sent == NUMBERS.replace(CARD, json.dumps(card))
    return card


async def test_chat_a_card_written_as_a_json_number_is_masked(
        chat: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    sent = await send_chat_calls(chat, upstream, f"Pay with card {CARD}", NUMBERS)
    assert "411111" not in upstream.all_received()
    card = assert_card_masked_rest_as_written(sent[1]["tool_calls"][0]["function"]["arguments"])
    assert sent[0]["content"] == f"Pay with card {card}"  # one mapping with the prose


async def test_responses_a_card_written_as_a_json_number_is_masked(
        responses: tuple[FakeResponses, openai.AsyncOpenAI]) -> None:
    fake, client = responses
    await client.responses.create(model="m", input=[
        {"type": "function_call", "call_id": "c1", "name": "pay", "arguments": NUMBERS},
        {"type": "function_call_output", "call_id": "c1", "output": "paid"},
        {"type": "mcp_call", "id": "mcp_1", "server_label": "bank", "name": "pay",
         "arguments": NUMBERS, "output": "paid"}])
    assert "411111" not in fake.all_received()
    sent = fake.received[0]["json"]["input"]
    assert_card_masked_rest_as_written(sent[0]["arguments"])
    assert sent[2]["arguments"] == sent[0]["arguments"]


async def test_a_masked_number_comes_back_as_a_string_and_the_next_turn_is_byte_identical(
        chat: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    """The provider answers with the placeholder in a string: the client gets the digits
    in a string (the type changes); its next turn sends the first turn's bytes again."""
    upstream.tool_answer = True
    messages: list[Any] = [
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_0", "type": "function",
            "function": {"name": "pay", "arguments": NUMBERS}}]},
        {"role": "tool", "tool_call_id": "call_0", "content": "paid"},
        {"role": "user", "content": "Refund it"}]
    answer = await chat.chat.completions.create(model="m", messages=messages)
    call = answer.choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments)["fruits"] == [CARD, CARD]
    messages += [{"role": "assistant", "content": None, "tool_calls": [{
                     "id": call.id, "type": "function", "function": {
                         "name": call.function.name, "arguments": call.function.arguments}}]},
                 {"role": "tool", "tool_call_id": call.id, "content": "refunded"}]
    await chat.chat.completions.create(model="m", messages=messages)
    assert "411111" not in upstream.all_received()
    first, second = (entry["json"]["messages"] for entry in upstream.received)
    assert second[:3] == first
    emitted = upstream.tool_arguments(upstream.received[0]["json"])
    assert second[3]["tool_calls"][0]["function"]["arguments"] == emitted
