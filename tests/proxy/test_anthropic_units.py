"""The Anthropic stream translator and request walk, event by event (no network)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from proxy.errors import ProxyError, upstream_timeout
from proxy.formats.anthropic import MessageStream, request_texts
from proxy.formats.base import write_texts
from proxy.restoring import Restorer
from proxy.streaming import SSEDecoder

ITEMS = {"PERSON0": 'Ann "Nan" O\'Neil', "ADDRESS0": "1 Main St\nSpringfield"}


def restorer() -> Restorer:
    return Restorer(ITEMS, lambda p: p.rstrip("0123456789"))


def run(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], MessageStream]:
    stream = MessageStream(restorer())
    raw = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)
    out: list[bytes] = []
    decoder = SSEDecoder()
    for i in range(0, len(raw), 7):  # bytes cut everywhere
        for event in decoder.feed(raw[i:i + 7]):
            out += stream.feed(event)
    out += stream.end()
    decoded = [e for piece in out for e in SSEDecoder().feed(piece)]
    assert all(e.other_lines == [f"event: {json.loads(e.data)['type']}"] for e in decoded)
    return [json.loads(e.data) for e in decoded], stream


def delta(index: int, **delta: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def test_partial_json_stays_valid_json_with_quotes_and_newlines_restored() -> None:
    args = json.dumps({"to": "PERSON0", "where": "ADDRESS0"})
    events = [{"type": "content_block_start", "index": 0, "content_block": {
        "type": "tool_use", "id": "toolu_1", "name": "send", "input": {}}}]
    events += [delta(0, type="input_json_delta", partial_json=args[i:i + 5])
               for i in range(0, len(args), 5)]
    events += [{"type": "content_block_stop", "index": 0}, {"type": "message_stop"}]
    out, _ = run(events)
    joined = "".join(e["delta"]["partial_json"] for e in out
                     if e["type"] == "content_block_delta")
    assert json.loads(joined) == {"to": ITEMS["PERSON0"], "where": ITEMS["ADDRESS0"]}
    # The held tail went out before the block's stop, as a delta of the block's own type.
    last_delta = max(i for i, e in enumerate(out) if e["type"] == "content_block_delta")
    assert out[last_delta + 1] == {"type": "content_block_stop", "index": 0}


def test_interleaved_blocks_each_have_their_own_restorer() -> None:
    events = [{"type": "content_block_start", "index": 0,
               "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
              {"type": "content_block_start", "index": 1,
               "content_block": {"type": "text", "text": ""}},
              delta(0, type="thinking_delta", thinking="about PERS"),
              delta(1, type="text_delta", text="Hi PER"),
              delta(0, type="thinking_delta", thinking="ON0 now"),
              delta(1, type="text_delta", text="SON0"),
              delta(0, type="signature_delta", signature="c2lnX2FiYw=="),
              {"type": "content_block_stop", "index": 0},
              delta(1, type="citations_delta", citation={
                  "type": "char_location", "cited_text": "PERSON0 lives at ADDRESS0",
                  "document_index": 0, "start_char_index": 0, "end_char_index": 9}),
              {"type": "content_block_stop", "index": 1},
              {"type": "message_stop"}]
    out, stream = run(events)
    thinking = "".join(e["delta"].get("thinking", "") for e in out
                       if e.get("index") == 0 and e["type"] == "content_block_delta")
    text = "".join(e["delta"].get("text", "") for e in out
                   if e.get("index") == 1 and e["type"] == "content_block_delta")
    assert thinking == f"about {ITEMS['PERSON0']} now"
    assert text == f"Hi {ITEMS['PERSON0']}"
    cited = next(e for e in out if e.get("delta", {}).get("type") == "citations_delta")
    assert cited["delta"]["citation"]["cited_text"] == f"{ITEMS['PERSON0']} lives at " \
                                                      f"{ITEMS['ADDRESS0']}"
    # What the provider signed is kept as it sent it, placeholders in.
    assert stream.signed == [("c2lnX2FiYw==", "about PERSON0 now")]
    assert stream.finished


def test_an_error_event_is_restored_and_held_tails_are_not_flushed() -> None:
    events = [{"type": "content_block_start", "index": 0,
               "content_block": {"type": "text", "text": ""}},
              delta(0, type="text_delta", text="Dear PERS"),
              {"type": "error", "error": {"type": "overloaded_error",
                                          "message": "Overloaded near PERSON0"}}]
    out, _ = run(events)
    assert out[-1] == {"type": "error", "error": {"type": "overloaded_error",
                                                  "message": f"Overloaded near {ITEMS['PERSON0']}"}}
    text = "".join(e["delta"]["text"] for e in out if e["type"] == "content_block_delta")
    assert "PERS" not in text


def test_the_proxy_failing_midway_sends_an_anthropic_error_event() -> None:
    failure: ProxyError = upstream_timeout()
    event = SSEDecoder().feed(MessageStream(restorer()).error_event(failure))[0]
    assert event.other_lines == ["event: error"]
    assert json.loads(event.data) == {"type": "error", "error": {
        "type": "timeout_error", "message": failure.message}}


@pytest.mark.parametrize("body", [
    {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "x",
                                                               "memo": "y"}]}]},
    {"model": "m", "messages": [{"role": "user", "content": "x", "name": "Ann"}]},
    {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "tool_use", "id": "t", "name": "n", "input": {"a key with spaces": 1}}]}]},
    {"model": "m", "messages": [], "system": [{"type": "image", "source": {}}]},
    {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "mystery", "data": "x"}}]}]},
    {"model": "Ann O'Neil", "messages": []},
])
def test_unknown_shapes_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ProxyError) as refused:
        request_texts(body)
    assert refused.value.status == 400


def test_every_text_is_found_and_binary_sources_are_not() -> None:
    body = {"model": "m", "system": [{"type": "text", "text": "s"}], "messages": [
        {"role": "user", "content": [
            {"type": "document", "title": "t", "context": "c",
             "source": {"type": "text", "media_type": "text/plain", "data": "d"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                            "data": "JVBERi0x"}},
            {"type": "image", "source": {"type": "url", "url": "https://x.invalid/a.png"}}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "a", "citations": [{
                "type": "char_location", "cited_text": "q", "document_index": 0,
                "document_title": "dt", "start_char_index": 0, "end_char_index": 1}]},
            {"type": "tool_use", "id": "t1", "name": "f",
             "input": {"k": ["v1", {"deep": "v2"}], "n": 3}},
            {"type": "redacted_thinking", "data": "opaque"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": "r"}]}],
        "stop_sequences": ["stop"], "metadata": {"user_id": "u-1"}}
    texts = [slot.get() for slot in request_texts(body)]
    assert texts == ["s", "t", "c", "d", "a", "q", "dt", "v1", "v2", "r", "stop"]


def test_tool_input_integers_that_may_be_identifiers_are_texts() -> None:
    """7 digits or more (a card, a phone, an id): text, its digits; set back unchanged it is
    the same int, changed a string. Booleans, floats and short integers are no texts."""
    tool_input = {"card": 4111111111111111, "qty": 3, "order": 1017, "ok": True,
                  "price": 12345678.5, "ids": [-1234567, 1733059200]}
    body = {"model": "m", "messages": [{"role": "assistant", "content": [
        {"type": "tool_use", "id": "t1", "name": "f", "input": tool_input}]}]}
    slots = request_texts(body)
    # Read after its parameter name (value_names.py); list items have none.
    assert [slot.get() for slot in slots] == ["card: 4111111111111111", "-1234567",
                                              "1733059200"]
    write_texts(slots, ["card: CREDIT_CARD0", "-1234567", "1733059200"])
    assert tool_input == {"card": "CREDIT_CARD0", "qty": 3, "order": 1017, "ok": True,
                          "price": 12345678.5, "ids": [-1234567, 1733059200]}
    assert [slot.get() for slot in slots] == ["card: CREDIT_CARD0", "-1234567", "1733059200"]
    slots[0].set("card: 4111111111111111")
    assert tool_input["card"] == 4111111111111111


def test_every_parameter_of_the_installed_sdk_is_classified() -> None:
    """A parameter the Anthropic SDK can send is either in the schema (text or not) or
    refused on purpose; a new SDK release shows up here, not as a 400 in production."""
    from anthropic.types import message_count_tokens_params, message_create_params

    from proxy.formats.anthropic_schema import MESSAGES

    for params in (message_create_params.MessageCreateParamsBase,
                   message_count_tokens_params.MessageCountTokensParams):
        assert set(params.__annotations__) <= set(MESSAGES.fields), params.__name__
