"""A fake OpenAI upstream that is never the bottleneck: raw asyncio, fixed bytes, keep-alive.

``POST`` to any path answers a fixed chat completion; a body with ``"stream": true`` gets a
fixed SSE stream of ``--chunks`` content chunks ``--gap-ms`` apart (chunked transfer encoding,
as real providers send). ``POST /v1/responses`` gets the same answer as a Responses API
object, or as its typed events (one ``response.output_text.delta`` per chunk);
``POST /v1/messages`` as an Anthropic message, or as its SSE events (one ``text_delta`` each).
Everything it sends is built once at start-up, so a request costs a header scan and one
``write``. Run it in its own process:

    python -m benchmarks.fake_upstream --port 8101 [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket

DEFAULT_CONTENT = "Thank you. I have noted the details for NAME0 and will reply to EMAIL0 soon."


def stream_token(i: int) -> str:
    """The content of chunk ``i``; the full answer is these joined (clients check it)."""
    return f"tok{i} "


def completion_body(content: str) -> bytes:
    return json.dumps({
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "fake-model",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }, separators=(",", ":")).encode()


def stream_events(chunks: int) -> list[bytes]:
    """SSE events: a role chunk with the first token, ``chunks - 1`` more, a stop chunk, DONE."""

    def event(delta: dict[str, str], finish: str | None = None) -> bytes:
        payload = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "fake-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"

    events = [event({"role": "assistant", "content": stream_token(0)})]
    events += [event({"content": stream_token(i)}) for i in range(1, chunks)]
    events[-1] += event({}, "stop") + b"data: [DONE]\n\n"
    return events


def responses_body(content: str) -> bytes:
    return json.dumps(_response_object(content, "completed"), separators=(",", ":")).encode()


def _response_object(content: str, status: str) -> dict:
    message = {"type": "message", "id": "msg_bench", "role": "assistant", "status": status,
               "content": [{"type": "output_text", "text": content, "annotations": []}]}
    return {"id": "resp_bench", "object": "response", "created_at": 1700000000,
            "status": status, "model": "fake-model", "output": [message] if content else [],
            "usage": {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120}}


def responses_events(chunks: int) -> list[bytes]:
    """Typed events: created, item and part added, ``chunks`` text deltas (the first with
    the opening events), then the done events and ``response.completed`` with the last."""
    number = iter(range(10**6))

    def event(payload: dict) -> bytes:
        payload["sequence_number"] = next(number)
        return (f"event: {payload['type']}\ndata: ".encode()
                + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n")

    at = {"output_index": 0, "item_id": "msg_bench"}
    head = event({"type": "response.created", "response": _response_object("", "in_progress")})
    head += event({"type": "response.output_item.added", "output_index": 0, "item": {
        "type": "message", "id": "msg_bench", "role": "assistant", "status": "in_progress",
        "content": []}})
    head += event({"type": "response.content_part.added", **at, "content_index": 0,
                   "part": {"type": "output_text", "text": "", "annotations": []}})
    deltas = [event({"type": "response.output_text.delta", **at, "content_index": 0,
                     "delta": stream_token(i)}) for i in range(chunks)]
    text = "".join(stream_token(i) for i in range(chunks))
    deltas[0] = head + deltas[0]
    deltas[-1] += event({"type": "response.output_text.done", **at, "content_index": 0,
                         "text": text})
    deltas[-1] += event({"type": "response.output_item.done", "output_index": 0, "item": {
        "type": "message", "id": "msg_bench", "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}]}})
    deltas[-1] += event({"type": "response.completed",
                         "response": _response_object(text, "completed")})
    return deltas


def anthropic_body(content: str) -> bytes:
    return json.dumps({
        "id": "msg_bench", "type": "message", "role": "assistant", "model": "fake-model",
        "content": [{"type": "text", "text": content}], "stop_reason": "end_turn",
        "stop_sequence": None, "usage": {"input_tokens": 100, "output_tokens": 20},
    }, separators=(",", ":")).encode()


def anthropic_events(chunks: int) -> list[bytes]:
    """Anthropic's SSE sequence with the same tokens as ``stream_events``."""

    def event(payload: dict) -> bytes:
        data = json.dumps(payload, separators=(",", ":"))
        return f"event: {payload['type']}\ndata: {data}\n\n".encode()

    def text(i: int) -> bytes:
        return event({"type": "content_block_delta", "index": 0,
                      "delta": {"type": "text_delta", "text": stream_token(i)}})

    start = event({"type": "message_start", "message": {
        "id": "msg_bench", "type": "message", "role": "assistant", "model": "fake-model",
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 100, "output_tokens": 1}}})
    start += event({"type": "content_block_start", "index": 0,
                    "content_block": {"type": "text", "text": ""}})
    events = [start + text(0)] + [text(i) for i in range(1, chunks)]
    events[-1] += (event({"type": "content_block_stop", "index": 0})
                   + event({"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                               "stop_sequence": None},
                            "usage": {"output_tokens": 20}})
                   + event({"type": "message_stop"}))
    return events


def content_length(head: bytes) -> int:
    """The Content-Length of a lower-cased request head (0 when absent)."""
    pos = head.find(b"\ncontent-length:")
    if pos < 0:
        return 0
    end = head.find(b"\r\n", pos + 1)
    return int(head[pos + 16 : end if end > 0 else len(head)])


def http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class FakeUpstream(asyncio.Protocol):
    """One connection: parse requests as they come, answer each from prebuilt bytes."""

    def __init__(self, plain: bytes, stream_head: bytes, events: list[bytes], gap: float,
                 responses: tuple[bytes, list[bytes]] | None = None,
                 anthropic: tuple[bytes, list[bytes]] | None = None) -> None:
        self.plain = plain
        self.stream_head = stream_head
        self.chat_events = self.events = events
        self.responses = responses
        self.anthropic = anthropic
        self.gap = gap
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.streaming = False
        self.handles: list[asyncio.TimerHandle] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        for handle in self.handles:
            handle.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while not self.streaming:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = content_length(head)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            assert self.transport is not None
            responses = (self.responses if head.startswith(b"post /v1/responses")
                         else self.anthropic if head.startswith(b"post /v1/messages")
                         else None)
            self.events = responses[1] if responses else self.chat_events
            if head.startswith(b"get"):
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            elif b'"stream":true' in body.replace(b" ", b""):
                self.start_stream()
            else:
                self.transport.write(responses[0] if responses else self.plain)

    def start_stream(self) -> None:
        assert self.transport is not None
        self.streaming = True
        self.transport.write(self.stream_head + http_chunk(self.events[0]))
        loop = asyncio.get_running_loop()
        now = loop.time()
        # Scheduled against the start, not chained, so gaps do not drift under load.
        self.handles = [
            loop.call_at(now + i * self.gap, self.send_event, i) for i in range(1, len(self.events))
        ]

    def send_event(self, i: int) -> None:
        if self.transport is None:
            return
        data = http_chunk(self.events[i])
        if i == len(self.events) - 1:
            data += b"0\r\n\r\n"
            self.streaming = False
            self.handles = []
        self.transport.write(data)
        if not self.streaming and self.buffer:
            self.data_received(b"")


def json_response(body: bytes) -> bytes:
    """A whole keep-alive HTTP/1.1 200 answer carrying the JSON ``body``."""
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: keep-alive\r\n\r\n%s" % (len(body), body))


def build_responses(content: str, chunks: int) -> tuple[bytes, bytes, list[bytes]]:
    plain = json_response(completion_body(content))
    stream_head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
    )
    return plain, stream_head, stream_events(chunks)


def build_responses_api(content: str, chunks: int) -> tuple[bytes, list[bytes]]:
    """The ``/v1/responses`` answers: a plain response, and the typed event stream."""
    return json_response(responses_body(content)), responses_events(chunks)


def build_anthropic(content: str, chunks: int) -> tuple[bytes, list[bytes]]:
    """The ``/v1/messages`` answers: a plain message, and Anthropic's event stream."""
    return json_response(anthropic_body(content)), anthropic_events(chunks)


async def serve(host: str, port: int, content: str, chunks: int, gap_ms: float) -> None:
    plain, head, events = build_responses(content, chunks)
    responses = build_responses_api(content, chunks)
    anthropic = build_anthropic(content, chunks)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: FakeUpstream(plain, head, events, gap_ms / 1000.0, responses, anthropic),
        host, port, reuse_port=True, backlog=1024,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--content", default=DEFAULT_CONTENT, help="the non-streamed answer")
    p.add_argument("--chunks", type=int, default=64, help="content chunks per stream")
    p.add_argument("--gap-ms", type=float, default=20.0, help="time between stream chunks")
    p.add_argument("--workers", type=int, default=1, help="processes sharing the port")
    args = p.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        p.error("the fake upstream listens on loopback only")
    children = []
    for _ in range(args.workers - 1):
        pid = os.fork()
        if pid == 0:
            children = []
            break
        children.append(pid)
    try:
        asyncio.run(serve(args.host, args.port, args.content, args.chunks, args.gap_ms))
    finally:
        for pid in children:
            os.kill(pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
