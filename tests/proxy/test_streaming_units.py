"""SSE parsing and per-choice restoring, without a network: every cut, every order rule."""

from __future__ import annotations

import json

from proxy.errors import upstream_unreachable
from proxy.formats.openai_stream import OpenAIStream, StreamRestorer
from proxy.restoring import Restorer
from proxy.streaming import SSEDecoder, SSEEvent

ITEMS = {"FRUIT_FLASH0": "apples", "FRUIT_FLASH1": "bananas", "FRUIT_FLASH10": "kiwis"}


def label_of(placeholder: str) -> str:
    return placeholder.rstrip("0123456789")


def restorer() -> StreamRestorer:
    return StreamRestorer(Restorer(ITEMS, label_of))


def chunk(index: int = 0, finish: str | None = None, **delta: object) -> dict:
    return {"id": "c1", "object": "chat.completion.chunk", "created": 5, "model": "m",
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def test_decoder_handles_bytes_cut_anywhere() -> None:
    payloads = [{"content": "Zoë 苹果 🍑"}, {"content": "line\nbreak"}]
    raw = b"".join(b"data: " + json.dumps(p, ensure_ascii=False).encode() + b"\n\n"
                   for p in payloads) + b": keep-alive\n\nevent: x\ndata: [DONE]\n\n"
    for cut in range(1, len(raw)):
        decoder = SSEDecoder()
        events = decoder.feed(raw[:cut]) + decoder.feed(raw[cut:]) + decoder.finish()
        assert [json.loads(e.data) for e in events[:2]] == payloads, cut
        assert events[2].other_lines == [": keep-alive"] and events[2].data is None
        assert events[3].other_lines == ["event: x"] and events[3].data == "[DONE]"


def test_decoder_accepts_crlf_and_multi_line_data() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"data: {\"a\":\r\ndata: 1}\r\n\r\ndata: x\r")
    events += decoder.feed(b"\n\r\n")
    assert json.loads(events[0].data) == {"a": 1} and events[1].data == "x"


def test_placeholder_split_over_chunks_comes_back_whole() -> None:
    text = "I like FRUIT_FLASH0, FRUIT_FLASH10 and FRUIT_FLASH1."
    for cut in range(1, len(text)):
        stream = restorer()
        out = []
        for piece in (text[:cut], text[cut:]):
            for c in stream.chunk(chunk(content=piece)):
                out.append(c)
        out += stream.chunk(chunk(finish="stop"))
        out += stream.end()
        contents = [c["choices"][0]["delta"].get("content", "") for c in out]
        assert "".join(contents) == "I like apples, kiwis and bananas.", cut
        assert out[-1]["choices"][0]["finish_reason"] == "stop"
        assert all("FRUIT" not in c for c in contents)


def test_held_tail_comes_before_the_finish_chunk_with_the_envelope() -> None:
    stream = restorer()
    assert stream.chunk(chunk(content="Hello "))[0]["choices"][0]["delta"]["content"] == "Hello "
    first = stream.chunk(chunk(content="FRUIT_FL"))
    assert first[0]["choices"][0]["delta"]["content"] == ""
    out = stream.chunk(chunk(finish="stop"))
    assert [c["choices"][0]["finish_reason"] for c in out] == [None, "stop"]
    assert out[0]["choices"][0]["delta"]["content"] == "FRUIT_FL"  # never became a placeholder
    assert out[0]["id"] == "c1" and out[0]["model"] == "m"


def test_tail_goes_into_a_finish_chunk_that_carries_content() -> None:
    stream = restorer()
    stream.chunk(chunk(content="FRUIT_FLASH"))
    out = stream.chunk(chunk(finish="stop", content="1!"))
    assert len(out) == 1 and out[0]["choices"][0]["delta"]["content"] == "bananas!"


def test_choices_and_tool_calls_are_restored_separately() -> None:
    stream = restorer()
    sent = [
        {"choices": [{"index": 0, "delta": {"content": "FRUIT_"}, "finish_reason": None},
                     {"index": 1, "delta": {"content": "FRUIT_FLA"}, "finish_reason": None}]},
        {"choices": [{"index": 1, "delta": {"content": "SH1"}, "finish_reason": None},
                     {"index": 0, "delta": {"tool_calls": [
                         {"index": 0, "function": {"arguments": "{\"a\": \"FRUIT_FLA"}},
                         {"index": 1, "function": {"arguments": "{\"b\": \"FRUIT_FL"}}]},
                      "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": "FLASH0", "tool_calls": [
            {"index": 1, "function": {"arguments": "ASH0\"}"}}]}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": "SH10\"}"}}]}, "finish_reason": None}]},
    ]
    out = [c for s in sent for c in stream.chunk(s)] + stream.end()
    text: dict[object, str] = {}
    for c in out:
        for choice in c["choices"]:
            delta = choice["delta"]
            key = choice["index"]
            text[key] = text.get(key, "") + (delta.get("content") or "")
            for call in delta.get("tool_calls") or []:
                k = (key, call["index"])
                text[k] = text.get(k, "") + call["function"]["arguments"]
    assert text[0] == "apples" and text[1] == "bananas"
    assert json.loads(text[(0, 0)]) == {"a": "kiwis"}
    assert json.loads(text[(0, 1)]) == {"b": "apples"}


def test_usage_and_unknown_payloads_pass_untouched() -> None:
    stream = restorer()
    usage = {"id": "c1", "choices": [], "usage": {"total_tokens": 3}}
    assert stream.chunk(usage) == [usage]
    error = {"error": {"message": "quota for FRUIT_FLASH0"}}
    assert stream.chunk(error) == [{"error": {"message": "quota for apples"}}]


def test_completion_text_choices() -> None:
    stream = restorer()
    out = stream.chunk({"choices": [{"index": 0, "text": "FRUIT_FLAS", "finish_reason": None}]})
    out += stream.chunk({"choices": [{"index": 0, "text": "H1", "finish_reason": "length"}]})
    assert "".join(c["choices"][0]["text"] for c in out) == "bananas"


def test_translator_flushes_held_tails_before_done_and_only_once() -> None:
    stream = OpenAIStream(Restorer(ITEMS, label_of))
    first = stream.feed(SSEEvent([], json.dumps(chunk(content="I like FRUIT_FLASH1"))))
    assert b"FRUIT" not in b"".join(first)  # FRUIT_FLASH1 may still become FRUIT_FLASH10: held
    done = stream.feed(SSEEvent([], "[DONE]"))
    assert stream.finished
    assert b"bananas" in done[0] and done[-1] == b"data: [DONE]\n\n"
    assert stream.end() == []  # already flushed at [DONE]
    error = json.loads(stream.error_event(upstream_unreachable())[len(b"data: "):])
    assert error["error"]["code"] == "upstream_unreachable"
