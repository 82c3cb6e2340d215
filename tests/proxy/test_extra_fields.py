"""``upstream.extra_fields``: body fields of OpenAI-compatible servers (vLLM, OpenRouter,
LiteLLM) that OpenAI's API lacks, declared by the operator, through the real server with the
real ``openai`` and ``anthropic`` SDKs (``extra_body=``), real Redis and recording fake
providers. A declared field is checked (and anonymized, if text) like any field of the
schema; an undeclared one is still refused and goes nowhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from pipeline import ConfigError
from proxy.formats.openai_schema import CHAT
from proxy.settings import load_settings
from tests.proxy.anthropic_fake import FakeAnthropic
from tests.proxy.conftest import (
    FakeUpstream,
    ProxyFactory,
    RunningProxy,
    ServeFake,
    config_file,
    make_settings,
)
from tests.proxy.responses_upstream import FakeResponses

EMAIL = "jane.doe@example.org"
PIPELINE = r"""
pipeline:
  - kind: regex
    name: EMAIL
    patterns: ['[\w.]+@[\w.]+\w']
"""
EXTRA_FIELDS = """
upstream:
  extra_fields:
    chat:
      chat_template_kwargs: opaque   # vLLM
      top_a: number                  # OpenRouter
      route: token
      mock_response: text            # LiteLLM
      vars: json-text
    responses:
      provider: opaque               # OpenRouter
    messages:
      mock_response: text
"""
MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return config_file(tmp_path, PIPELINE + EXTRA_FIELDS)


@pytest.fixture
async def proxy(start_proxy: ProxyFactory, config: Path) -> RunningProxy:
    return await start_proxy(config=config)


async def refused(client: openai.AsyncOpenAI, extra_body: dict[str, Any]) -> str:
    """The error code of a chat request carrying ``extra_body``; it must be a 400."""
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model="m", messages=MESSAGES,
                                             extra_body=extra_body)
    assert caught.value.status_code == 400
    return str(caught.value.code)


# -- through the server ---------------------------------------------------------------------


async def test_a_declared_opaque_field_reaches_the_provider_byte_for_byte(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    kwargs = {"enable_thinking": False, "ratio": 0.1, "nested": [1, {"é": "ü 🍑"}],
              "note": f"the operator said: no user text here ({EMAIL})"}
    await proxy.client().chat.completions.create(
        model="m", messages=MESSAGES, extra_body={"chat_template_kwargs": kwargs, "top_a": 0.5,
                                                  "route": "fallback"})
    sent = upstream.received[-1]
    assert sent["json"]["chat_template_kwargs"] == kwargs
    assert json.dumps(kwargs, ensure_ascii=False, separators=(",", ":")) in sent["raw"]
    assert (sent["json"]["top_a"], sent["json"]["route"]) == (0.5, "fallback")


async def test_a_declared_text_field_is_anonymized(proxy: RunningProxy,
                                                   upstream: FakeUpstream) -> None:
    answer = await proxy.client().chat.completions.create(
        model="m", messages=[{"role": "user", "content": f"mail {EMAIL}"}],
        extra_body={"mock_response": f"Reply to {EMAIL} today",
                    "vars": {"to": EMAIL, "cc": [EMAIL, 3, True, None], "n": 2}})
    sent = upstream.received[-1]
    assert EMAIL not in sent["raw"] and "jane.doe" not in sent["raw"]
    placeholder = sent["json"]["messages"][0]["content"].removeprefix("mail ")
    assert placeholder.startswith("EMAIL")
    assert sent["json"]["mock_response"] == f"Reply to {placeholder} today"
    assert sent["json"]["vars"] == {"to": placeholder, "cc": [placeholder, 3, True, None],
                                    "n": 2}
    assert answer.choices[0].message.content == f"You said: mail {EMAIL}"  # answers as ever


async def test_a_declared_field_of_the_wrong_type_is_refused(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    client = proxy.client()
    assert await refused(client, {"top_a": "0.5"}) == "invalid_field"
    assert await refused(client, {"route": f"to {EMAIL}"}) == "invalid_field"  # no prose
    assert await refused(client, {"mock_response": {"text": "x"}}) == "invalid_field"
    assert await refused(client, {"vars": {"a key with spaces": "x"}}) == "invalid_field"
    assert upstream.received == []


async def test_an_undeclared_field_is_still_refused(
        proxy: RunningProxy, start_proxy: ProxyFactory, upstream: FakeUpstream) -> None:
    assert await refused(proxy.client(), {"guided_json": {"type": "object"}}) == "unknown_field"
    # Fields are declared per API: the Responses one is not a chat field.
    assert await refused(proxy.client(), {"provider": {"order": ["a"]}}) == "unknown_field"
    # A server without the setting, in the same process: the module's schemas are unchanged.
    default = await start_proxy()
    assert await refused(default.client(), {"top_a": 0.5}) == "unknown_field"
    assert "top_a" not in CHAT.fields
    assert upstream.received == []


async def test_responses_take_their_declared_fields(
        start_proxy: ProxyFactory, serve_fake: ServeFake, redis_prefix: str,
        config: Path) -> None:
    fake_responses = await serve_fake(FakeResponses())
    proxy = await start_proxy(make_settings(fake_responses.url, redis_prefix, config=config))
    provider = {"order": ["anthropic", "openai"], "allow_fallbacks": False}
    client = proxy.client()
    await client.responses.create(model="m", input=f"write to {EMAIL}",
                                  extra_body={"provider": provider})
    await client.responses.input_tokens.count(model="m", input="hi",
                                              extra_body={"provider": provider})
    assert [r["json"]["provider"] for r in fake_responses.received] == [provider] * 2
    assert EMAIL not in fake_responses.all_received()
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model="m", input="hi", extra_body={"top_a": 1})
    assert caught.value.code == "unknown_field"


async def test_messages_take_their_declared_fields(
        start_proxy: ProxyFactory, serve_fake: ServeFake, config: Path) -> None:
    fake_anthropic = await serve_fake(FakeAnthropic())
    proxy = await start_proxy(config=config, flags={"anthropic_upstream": fake_anthropic.url})
    client = anthropic.AsyncAnthropic(base_url=proxy.url, api_key="sk-ant-x", max_retries=0)
    await client.messages.create(model="c", max_tokens=10, messages=MESSAGES,
                                 extra_body={"mock_response": f"mail {EMAIL}"})
    sent = fake_anthropic.received[-1]["json"]["mock_response"]
    assert sent.startswith("mail EMAIL") and EMAIL not in fake_anthropic.all_received()
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(model="c", max_tokens=10, messages=MESSAGES,
                                     extra_body={"chat_template_kwargs": {}})
    assert caught.value.status_code == 400 and len(fake_anthropic.received) == 1


# -- the config -----------------------------------------------------------------------------


@pytest.mark.parametrize(("extra_fields", "where", "says"), [
    ("chat: {top_a: numbr}", "upstream.extra_fields.chat.top_a",
     "expected one of number, bool, token, text, json-text, opaque"),
    ("chat: {top_k: number}", "upstream.extra_fields.chat.top_k", "already knows this field"),
    ("messages: {system: opaque}", "upstream.extra_fields.messages.system",
     "already knows this field"),
    ("responses: {personality: text}", "upstream.extra_fields.responses.personality",
     "already knows this field"),  # a field of input_tokens only
    ("chats: {top_a: number}", "upstream.extra_fields.chats", "unknown key"),
    ("chat: [top_a]", "upstream.extra_fields.chat", "expected a mapping"),
    ("chat: {'top a': number}", "upstream.extra_fields.chat.top a", "identifier"),
    ("[chat]", "upstream.extra_fields", "expected a mapping"),
])
def test_a_bad_declaration_stops_start_up_naming_the_place(
        tmp_path: Path, extra_fields: str, where: str, says: str) -> None:
    config = config_file(tmp_path, PIPELINE + f"upstream:\n  extra_fields:\n    {extra_fields}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert caught.value.path == where
    assert says in caught.value.reason


def test_the_environment_form_and_its_errors(config: Path) -> None:
    env = {"ANONYMIZE_PROXY_EXTRA_FIELDS": "chat.min_tokens=number, responses.models=opaque"}
    declared = load_settings(config, env=env).extra_fields  # the environment wins
    assert [(f.api, f.name, f.kind) for f in declared] == [
        ("chat", "min_tokens", "number"), ("responses", "models", "opaque")]
    assert load_settings(config, env={}).extra_fields[0].name == "chat_template_kwargs"
    for text, where in (("chat.top_k=number", "ANONYMIZE_PROXY_EXTRA_FIELDS.chat.top_k"),
                        ("chat.x=numbr", "ANONYMIZE_PROXY_EXTRA_FIELDS.chat.x"),
                        ("chat=number", "ANONYMIZE_PROXY_EXTRA_FIELDS"),
                        ("chat.x=text,chat.x=opaque", "ANONYMIZE_PROXY_EXTRA_FIELDS.chat.x")):
        with pytest.raises(ConfigError) as caught:
            load_settings(config, env={"ANONYMIZE_PROXY_EXTRA_FIELDS": text})
        assert caught.value.path == where
