"""Conversations through the proxy with the openai SDK: one mapping, stable prefix, isolation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from proxy import jsonio
from proxy.state import STATE
from tests.proxy.conftest import FakeUpstream, ProxyFactory, config_file, make_settings

# "Dr." makes a name detectable; the same name elsewhere is found only by every-occurrence.
CONFIG = """
occurrences:
  name_labels: [PERSON]
pipeline:
  - kind: regex
    name: PERSON
    patterns: ['(?<=Dr\\. )[A-Z]\\w+(?: [A-Z]\\w+)?']
  - kind: regex
    name: EMAIL
    patterns: ['[\\w.]+@[\\w.]+\\w']
"""
KEY = b"k" * 32


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return config_file(tmp_path, CONFIG)


@pytest.fixture
async def start(start_proxy: ProxyFactory, upstream: FakeUpstream, redis_prefix: str,
                config: Path) -> Any:
    async def run(**changes: Any) -> Any:
        changes.setdefault("encryption_key", KEY)
        return await start_proxy(make_settings(upstream.url, redis_prefix, config=config,
                                               **changes))
    return run


def sent_messages(upstream: FakeUpstream, n: int = -1) -> list[dict[str, Any]]:
    return upstream.received[n]["json"]["messages"]


async def test_twenty_turns_keep_the_provider_visible_prefix_byte_identical(
        start: Any, upstream: FakeUpstream) -> None:
    proxy = await start()
    client = proxy.client()
    said = {3: "Nummelin will review the patch.",          # no detector fires here
            5: "Trump asked for the numbers.",             # a part of turn 1's name
            12: "Please cc Dr. Nummelin on it.",           # first detected here
            15: "Nummelin agreed, write to jt@example.com."}
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are terse."}]
    for turn in range(1, 21):
        text = said.get(turn, f"Turn {turn}: Dr. Jensen Trump wants item {turn}."
                        if turn == 1 else f"Turn {turn}: go on with item {turn}.")
        messages.append({"role": "user", "content": text})
        answer = await client.chat.completions.create(model="m", messages=messages)
        assert answer.choices[0].message.content == "You said: " + text  # restored
        messages.append({"role": "assistant", "content": answer.choices[0].message.content})

    bodies = [entry["raw"] for entry in upstream.received]
    for turn in range(1, len(bodies)):
        before = upstream.received[turn - 1]["json"]["messages"]
        now = upstream.received[turn]["json"]["messages"]
        assert now[: len(before)] == before, f"turn {turn + 1} changed an earlier message"
        for message in before:  # and byte for byte as the provider saw it
            assert jsonio.dumps_str(message) in bodies[turn]
    last = sent_messages(upstream)
    # Turn 3's message kept the form the provider already had; from turn 12 on it is masked.
    assert last[5]["content"] == "Nummelin will review the patch."
    assert "Nummelin" not in last[23]["content"] and "Nummelin" not in last[29]["content"]
    assert "jt@example.com" not in last[29]["content"]
    # "Trump" of turn 1's full name is masked on its own; no later assistant message (the
    # client resends the restored answers) shows the name again.
    assert "Trump" not in last[9]["content"]
    assert all("Trump" not in m["content"] for m in last[2:])


async def test_values_of_one_request_share_placeholders_across_its_messages(
        start: Any, upstream: FakeUpstream) -> None:
    proxy = await start()
    messages = [{"role": "user", "content": "Please write to Dr. Jensen Trump today."},
                {"role": "assistant", "content": "jensen trump said it is late"},
                {"role": "user", "content": "and Trump agreed"}]
    await proxy.client().chat.completions.create(model="m", messages=messages)
    sent = json.dumps(sent_messages(upstream))
    assert "jensen" not in sent.lower() and "trump" not in sent.lower()


async def test_turn_n_analyzes_only_its_new_texts(start: Any, upstream: FakeUpstream) -> None:
    proxy = await start()
    stage = proxy.app[STATE].pipeline.stages[0]
    seen: list[int] = []
    real = stage.detect_many

    def counting(texts: Any) -> Any:
        seen.append(sum(map(len, texts)))
        return real(texts)

    stage.detect_many = counting
    client = proxy.client()
    messages: list[dict[str, Any]] = []
    for turn in range(6):
        messages.append({"role": "user", "content": f"message {turn} " + "x" * 500})
        answer = await client.chat.completions.create(model="m", messages=messages)
        messages.append({"role": "assistant", "content": answer.choices[0].message.content})
    # Each turn looks at its new user text and the previous answer: never the whole history.
    assert max(seen) < 2 * 520 + 600
    kv = proxy.app[STATE].relay_hooks[0].kv
    assert kv.round_trips <= 3 * 6  # prefix MGET, span MGET, one pipelined write per turn


@pytest.mark.parametrize("attack", ["other_key", "fork", "guessed_id", "other_id"])
async def test_an_answer_is_restored_only_with_values_of_its_own_conversation(
        start: Any, upstream: FakeUpstream, attack: str) -> None:
    proxy = await start()
    owner = proxy.client(api_key="sk-owner")
    header = {"X-Conversation-Id": "conv-1"} if attack in ("guessed_id", "other_id") else {}
    first = [{"role": "user", "content": "Dr. Jensen Trump called."}]
    answer = await owner.chat.completions.create(model="m", messages=first,
                                                 extra_headers=header)
    history = [*first, {"role": "assistant", "content": answer.choices[0].message.content},
               {"role": "user", "content": "Dr. Anna Kowalski too, mail ak@example.com."}]
    await owner.chat.completions.create(model="m", messages=history, extra_headers=header)

    # The provider (or a prompt injection) names placeholders the asker never sent.
    upstream.answer_text = lambda body: "PERSON0 PERSON1 EMAIL0"  # type: ignore[method-assign]
    if attack == "other_key":
        asker, messages, headers = proxy.client(api_key="sk-other"), history[:2], {}
    elif attack == "fork":  # same key, same first texts, another continuation
        asker, messages, headers = owner, [*history[:2], {"role": "user", "content": "hi"}], {}
    elif attack == "guessed_id":
        asker, messages, headers = (proxy.client(api_key="sk-other"),
                                    [{"role": "user", "content": "hi"}], header)
    else:
        asker, messages, headers = (owner, [{"role": "user", "content": "hi"}],
                                    {"X-Conversation-Id": "conv-2"})
    got = await asker.chat.completions.create(model="m", messages=messages,
                                              extra_headers=headers)
    restored = got.choices[0].message.content
    assert "Anna" not in restored and "ak@example.com" not in restored
    if attack in ("other_key", "fork"):  # its own text named Jensen Trump: that is restored
        assert restored == "Jensen Trump PERSON1 EMAIL0"
    else:
        assert restored == "PERSON0 PERSON1 EMAIL0"


async def test_an_explicit_id_keeps_the_mapping_when_the_history_is_rewritten(
        start: Any, upstream: FakeUpstream) -> None:
    proxy = await start()
    client = proxy.client()
    header = {"X-Conversation-Id": "agent-run-7"}
    await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Dr. Jensen Trump called."}],
        extra_headers=header)
    compacted = [{"role": "user", "content": "Summary: Jensen Trump called; Trump waits."}]
    await client.chat.completions.create(model="m", messages=compacted, extra_headers=header)
    assert sent_messages(upstream)[0]["content"] == "Summary: PERSON0 called; PERSON1 waits."
    # Without the id the rewritten history is a conversation of its own: nothing known.
    await client.chat.completions.create(model="m", messages=compacted)
    assert "Jensen Trump" in sent_messages(upstream)[0]["content"]


async def test_a_bad_conversation_id_is_a_400(start: Any, upstream: FakeUpstream) -> None:
    import openai

    proxy = await start()
    with pytest.raises(openai.BadRequestError) as caught:
        await proxy.client().chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}],
            extra_headers={"X-Conversation-Id": "x" * 300})
    assert caught.value.status_code == 400
    assert upstream.received == []


async def test_stored_state_holds_no_value_in_the_clear_and_no_text_in_keys(
        start: Any, redis_prefix: str, redis_client: aioredis.Redis) -> None:
    proxy = await start()
    await proxy.client().chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Dr. Nummelin wrote from "
                                                         "nm@example.com, long text " * 3}])
    keys = [k async for k in redis_client.scan_iter(match=redis_prefix + "~*")]
    assert any(b"~conv~" in k for k in keys) and any(b"~spans~" in k for k in keys)
    for key in keys:
        value = await redis_client.get(key)
        assert b"Nummelin" not in key + value and b"nm@example" not in key + value


async def test_a_stored_node_copied_under_another_key_is_not_used(
        start: Any, upstream: FakeUpstream, redis_prefix: str,
        redis_client: aioredis.Redis) -> None:
    proxy = await start()
    owner, other = proxy.client(api_key="sk-owner"), proxy.client(api_key="sk-other")
    mine = [{"role": "user", "content": "Dr. Jensen Trump called."}]
    await owner.chat.completions.create(model="m", messages=mine)
    before = {k async for k in redis_client.scan_iter(match=redis_prefix + "~conv~n~*")}
    theirs = [{"role": "user", "content": "Jensen Trump is fine."}]
    await other.chat.completions.create(model="m", messages=theirs)
    after = {k async for k in redis_client.scan_iter(match=redis_prefix + "~conv~n~*")}
    (own,), (foreign,) = before, after - before
    await redis_client.set(foreign, await redis_client.get(own))  # a store-level swap
    await other.chat.completions.create(model="m", messages=theirs)
    # The swapped value does not decrypt under its new key: the text is anonymized afresh,
    # not replaced by the owner's.
    assert sent_messages(upstream)[0]["content"] == "Jensen Trump is fine."


async def test_the_memory_store_keeps_conversations_too(start: Any,
                                                         upstream: FakeUpstream) -> None:
    proxy = await start(redis_url="memory://")
    client = proxy.client()
    messages = [{"role": "user", "content": "Nummelin wrote."}]
    answer = await client.chat.completions.create(model="m", messages=messages)
    messages += [{"role": "assistant", "content": answer.choices[0].message.content},
                 {"role": "user", "content": "Ask Dr. Nummelin."}]
    await client.chat.completions.create(model="m", messages=messages)
    assert sent_messages(upstream)[0] == {"role": "user", "content": "Nummelin wrote."}
    assert sent_messages(upstream)[2]["content"] == "Ask Dr. PERSON0."


async def test_a_placeholder_spelled_out_in_an_earlier_turn_is_never_given(
        start: Any, upstream: FakeUpstream) -> None:
    proxy = await start()
    client = proxy.client()
    messages = [{"role": "user", "content": "Dr. Jensen Trump says PERSON1 is a ticket id."}]
    upstream.answer_text = lambda body: "Noted."  # type: ignore[method-assign]
    answer = await client.chat.completions.create(model="m", messages=messages)
    # Turn 2's new texts do not spell PERSON1 out: only turn 1's (sent as before) does.
    messages += [{"role": "assistant", "content": answer.choices[0].message.content},
                 {"role": "user", "content": "Ask Dr. Nummelin about it."}]
    upstream.answer_text = lambda body: "PERSON1 and PERSON2"  # type: ignore[method-assign]
    got = await client.chat.completions.create(model="m", messages=messages)
    # PERSON1 stays the user's own ticket id; the new name got PERSON2.
    assert got.choices[0].message.content == "PERSON1 and Nummelin"


async def test_the_layer_steps_aside_when_the_format_supplies_the_mapping(start: Any) -> None:
    from aiohttp.test_utils import make_mocked_request

    from proxy.formats.base import Exchange, TextSlot

    proxy = await start()
    hook = proxy.app[STATE].relay_hooks[0]
    body = {"input": "Dr. Jensen Trump"}
    exchange = Exchange(make_mocked_request("POST", "/v1/responses"), body,
                        [TextSlot(body, "input")], known={"PERSON0": "Jensen Trump"})
    assert await hook.known_mapping(exchange) == {}
    assert exchange.frozen == {} and exchange.span_cache is None
    await hook.anonymized(exchange)  # nothing of its own to store
