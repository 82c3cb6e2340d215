"""The shared relay's hooks and per-format errors, as a format or the conversation layer uses
them: a known mapping extended, the anonymized body adjusted, the answer seen before the client
has its last byte, and errors in the route's own shape."""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import Any

import aiohttp
import pytest

from pipeline import Pipeline
from proxy import relay
from proxy.app import create_app
from proxy.errors import ProxyError, bad_request
from proxy.formats.base import Answer, Exchange, RelayHook
from proxy.formats.openai_chat import ChatCompletions
from proxy.state import STATE
from tests.proxy.conftest import FakeUpstream, RunningProxy, _serve, make_settings

PROMPT = "I like apples"
BODY = {"model": "m", "messages": [{"role": "user", "content": PROMPT}]}


class Recorder(RelayHook):
    """Records what it saw; optionally adjusts the body or refuses."""

    def __init__(self, known: Mapping[str, str] | None = None, refuse: bool = False) -> None:
        self.known = dict(known or {})
        self.refuse = refuse
        self.anonymized_bodies: list[str] = []
        self.answers: list[Answer] = []
        self.finished_when_answered: list[bool] = []

    async def known_mapping(self, exchange: Exchange) -> Mapping[str, str]:
        return self.known

    async def anonymized(self, exchange: Exchange) -> None:
        self.anonymized_bodies.append(json.dumps(exchange.body))
        if self.refuse:
            raise bad_request("refused by a hook", "hook_refused")
        exchange.body["messages"][0]["content"] += " (checked)"

    async def answered(self, exchange: Exchange, answer: Answer) -> None:
        self.answers.append(answer)
        if answer.stream is not None:
            self.finished_when_answered.append(answer.stream.finished)


async def post(url: str, body: Any) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        return response.status, await response.read()


async def test_anonymized_hook_adjusts_the_body_sent_and_answered_sees_both_sides(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    hook = Recorder()
    proxy.app[STATE].relay_hooks.append(hook)
    status, raw = await post(proxy.url + "/v1/chat/completions", BODY)
    assert status == 200
    assert "apples" not in hook.anonymized_bodies[0]  # the hook sees the anonymized body
    sent = upstream.received[0]["json"]["messages"][0]["content"]
    assert sent == "I like FRUIT_FLASH0 (checked)"
    answer = hook.answers[0]
    assert answer.status == 200 and answer.stream is None
    assert answer.upstream["choices"][0]["message"]["content"] == "You said: " + sent
    assert answer.restored["choices"][0]["message"]["content"] == \
        "You said: I like apples (checked)"
    assert json.loads(raw) == answer.restored


async def test_a_hook_refusing_sends_nothing(proxy: RunningProxy,
                                             upstream: FakeUpstream) -> None:
    proxy.app[STATE].relay_hooks.append(Recorder(refuse=True))
    status, raw = await post(proxy.url + "/v1/chat/completions", BODY)
    assert status == 400 and json.loads(raw)["error"]["code"] == "hook_refused"
    assert upstream.received == []


async def test_answered_runs_once_at_the_stream_end_before_the_client_gets_it(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    hook = Recorder()
    proxy.app[STATE].relay_hooks.append(hook)
    upstream.cuts = [12, 15]
    async with aiohttp.ClientSession() as session, session.post(
            proxy.url + "/v1/chat/completions", json={**BODY, "stream": True}) as response:
        seen_before_done = None
        async for line in response.content:
            if line.startswith(b"data: [DONE]"):
                seen_before_done = len(hook.answers)
    assert seen_before_done == 1  # stored before the client could send its next turn
    assert hook.finished_when_answered == [True] and len(hook.answers) == 1


def _pipeline_takes_known() -> bool:
    return "known" in inspect.signature(Pipeline.anonymize_many_async).parameters


@pytest.mark.skipif(not _pipeline_takes_known(),
                    reason="Pipeline.anonymize_many_async(known=) arrives with the "
                           "conversations branch")
async def test_a_known_mapping_keeps_its_placeholders_and_restores(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    proxy.app[STATE].relay_hooks.append(Recorder(known={"FRUIT_FLASH0": "cherries"}))
    status, raw = await post(proxy.url + "/v1/chat/completions", BODY)
    assert status == 200
    sent = upstream.received[0]["json"]["messages"][0]["content"]
    assert sent == "I like FRUIT_FLASH1 (checked)"  # apples took the next free index
    assert json.loads(raw)["choices"][0]["message"]["content"] == \
        "You said: I like apples (checked)"


class OtherShape(ChatCompletions):
    """A format of another API's error shape (Anthropic's), on the same relay."""

    name = "test.other"

    def error_body(self, error: ProxyError) -> dict[str, Any]:
        return {"type": "error", "error": {"type": error.type, "message": error.message}}


async def test_errors_take_the_shape_of_the_routes_format(upstream: FakeUpstream,
                                                          redis_prefix: str) -> None:
    app = create_app(make_settings(upstream.url, redis_prefix))
    app.router.add_route("POST", "/v1/other", relay.post("/v1/other", OtherShape(),
                                                         "/chat/completions").handler)
    runner, url = await _serve(app, shutdown_timeout=1.0)
    try:
        status, raw = await post(url + "/v1/other", {**BODY, "note": "apples"})
        assert status == 400
        body = json.loads(raw)
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
        status, raw = await post(url + "/v1/chat/completions", {**BODY, "note": "apples"})
        assert status == 400 and json.loads(raw)["error"]["code"] == "unknown_field"
    finally:
        await runner.cleanup()
    assert upstream.received == []
