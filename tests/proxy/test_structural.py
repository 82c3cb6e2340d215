"""Fail closed, structurally: every value of a request is a known text (anonymized), a known
non-text, or the request is refused with 400 and nothing is forwarded (issue 11, item 1)."""

from __future__ import annotations

import inspect
import json
from typing import Any

import aiohttp
import openai
import pytest

from proxy.formats import openai_schema
from tests.proxy.conftest import FakeUpstream, RunningProxy

SECRET = "apples"  # the fruits pipeline masks it wherever it is text


def chat(*messages: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"model": "m", "messages": list(messages), **top}


def user(content: Any = "hi") -> dict[str, Any]:
    return {"role": "user", "content": content}


async def post(proxy: RunningProxy, path: str, body: Any,
               query: str = "") -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.post(
            proxy.url + path + query, data=json.dumps(body),
            headers={"Content-Type": "application/json"}) as response:
        return response.status, await response.json()


# The five shapes that reached the provider in clear on main (issue 11, item 1).
LEAKS_ON_MAIN = {
    "tool_calls[k] a string": chat(user(), {"role": "assistant",
                                            "tool_calls": [f"call Zoe about {SECRET}"]}),
    "tool_calls[k].function a string": chat(user(), {"role": "assistant", "tool_calls": [
        {"id": "c1", "type": "function", "function": f"lookup {SECRET}"}]}),
    "function_call a string": chat(user(), {"role": "assistant",
                                            "function_call": f"lookup({SECRET})"}),
    "prediction a string": chat(user(), prediction=f"I will say {SECRET}"),
    "prediction a list": chat(user(), prediction=[f"I will say {SECRET}"]),
}

# Other values the proxy cannot classify: unknown keys, text in non-text fields.
UNKNOWN = {
    "an unknown top-level field": chat(user(), note=f"{SECRET} for Zoe"),
    "an unknown field of a message": chat({**user(), "memo": SECRET}),
    "an unknown field holding nested text": chat(user(), extra={"deep": [SECRET]}),
    "an unknown content part type": chat(user([{"type": "memo", "memo": SECRET}])),
    "prose in the role": chat({"role": f"user who likes {SECRET}", "content": "hi"}),
    "an e-mail as tool_call_id": chat({"role": "tool", "tool_call_id": "zoe@example.org",
                                       "content": "x"}),
    "a key of the request's own quoted as an unknown field": chat(user(), **{SECRET: 1}),
    "metadata keys that are prose": chat(user(), metadata={f"likes {SECRET}": "x"}),
}


@pytest.mark.parametrize("body", [*LEAKS_ON_MAIN.values(), *UNKNOWN.values()],
                         ids=[*LEAKS_ON_MAIN, *UNKNOWN])
async def test_unclassified_values_are_refused_and_nothing_is_forwarded(
        proxy: RunningProxy, upstream: FakeUpstream, body: dict[str, Any]) -> None:
    status, error = await post(proxy, "/v1/chat/completions", body)
    assert status == 400
    assert error["error"]["type"] == "invalid_request_error"
    assert SECRET not in json.dumps(error) and "Zoe" not in json.dumps(error)
    assert upstream.received == []


async def test_every_documented_field_is_accepted_and_only_texts_are_masked(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    tool = {"type": "function", "function": {
        "name": "lookup", "description": "Find a fruit", "strict": True,
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}
    body = chat(
        {"role": "developer", "content": f"The user likes {SECRET}."},
        user([{"type": "text", "text": SECRET},
              {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]),
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "lookup", "arguments": json.dumps({"q": SECRET})}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"{SECRET} are red"},
        temperature=0.2, top_p=1, max_completion_tokens=50, seed=1, n=1, stream=False,
        stop=[f"no {SECRET}"], logit_bias={"50256": -100}, user=f"{SECRET}-fan",
        metadata={"topic": SECRET}, tools=[tool], tool_choice="auto",
        parallel_tool_calls=False, response_format={"type": "json_schema", "json_schema": {
            "name": "answer", "schema": {"type": "object"}, "strict": True}},
        prediction={"type": "content", "content": f"{SECRET}!"}, reasoning_effort="low",
        web_search_options={"user_location": {"type": "approximate", "approximate": {
            "city": "Berlin", "country": "DE", "timezone": "Europe/Berlin"}}})
    status, _ = await post(proxy, "/v1/chat/completions", body)
    assert status == 200
    sent = upstream.received[0]["json"]
    assert SECRET not in upstream.received[0]["raw"]
    assert sent["tools"] == [tool]  # a tool's schema is the developer's: byte for byte
    assert sent["logit_bias"] == {"50256": -100}
    assert sent["metadata"] == {"topic": "FRUIT_FLASH0"} and sent["user"] == "FRUIT_FLASH0-fan"
    assert sent["stop"] == ["no FRUIT_FLASH0"]
    assert sent["prediction"]["content"] == "FRUIT_FLASH0!"


@pytest.mark.parametrize("path,body", [
    ("/v1/completions", {"model": "m", "prompt": "x", "echo": "apples"}),
    ("/v1/completions", {"model": "m", "prompt": [{"text": "apples"}]}),
    ("/v1/embeddings", {"model": "m", "input": "x", "user": {"name": "apples"}}),
    ("/v1/embeddings", {"model": "m", "input": "x", "apples": "apples"}),
])
async def test_completions_and_embeddings_follow_the_same_rule(
        proxy: RunningProxy, upstream: FakeUpstream, path: str, body: dict[str, Any]) -> None:
    status, error = await post(proxy, path, body)
    assert status == 400 and SECRET not in json.dumps(error)
    assert upstream.received == []


async def test_query_parameters_of_post_routes_stay_behind(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    """Issue 11, item 2: ``?note=<email>`` reached the provider on main."""
    for path, body in [("/v1/chat/completions", chat(user())),
                       ("/v1/completions", {"model": "m", "prompt": "x"}),
                       ("/v1/embeddings", {"model": "m", "input": "x"})]:
        status, _ = await post(proxy, path, body, query="?note=zoe.kowalski@example.org&x=1")
        assert status == 200
    assert [entry["query"] for entry in upstream.received] == ["", "", ""]
    assert "zoe.kowalski" not in json.dumps(upstream.received)


async def test_azure_api_version_is_the_one_query_parameter_passed_on(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    await post(proxy, "/v1/chat/completions", chat(user()),
               query="?api-version=2024-10-21&note=zoe@example.org")
    await post(proxy, "/v1/chat/completions", chat(user()), query="?api-version=Zoe+Kowalski")
    assert [entry["query"] for entry in upstream.received] == ["api-version=2024-10-21", ""]


@pytest.mark.parametrize("method,schema", [
    ("chat.completions", "CHAT"), ("completions", "COMPLETIONS"), ("embeddings", "EMBEDDINGS")])
def test_every_parameter_the_openai_sdk_sends_is_classified(method: str, schema: str) -> None:
    """A parameter a new SDK adds would be refused (400) until someone decides whether it is
    text: this names it first."""
    resource = openai.OpenAI(api_key="x", base_url="http://127.0.0.1:1")
    for part in method.split("."):
        resource = getattr(resource, part)
    sdk_params = set(inspect.signature(resource.create).parameters) - {
        "extra_headers", "extra_query", "extra_body", "timeout"}
    assert sdk_params - set(getattr(openai_schema, schema).fields) == set()


async def test_the_error_names_the_place_by_the_apis_own_keys(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    body = chat(user(), {"role": "assistant", "tool_calls": [f"call {SECRET}"]})
    status, error = await post(proxy, "/v1/chat/completions", body)
    assert status == 400
    assert error["error"]["message"] == "messages[1].tool_calls[0] must be an object"
    assert error["error"]["code"] == "invalid_tool_calls"
