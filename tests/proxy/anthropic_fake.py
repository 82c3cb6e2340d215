"""A fake Anthropic Messages API that records what it receives and answers from a script.

Answers are Anthropic messages (content blocks); streamed, they go out as Anthropic's SSE
event sequence with each text, thinking and tool input cut at ``cuts`` and the raw bytes
optionally re-cut at ``byte_cuts``. Thinking blocks are signed like the real API does it in
effect: the signature is a hash of the exact text, and a request whose thinking block does
not match its signature is refused with Anthropic's 400.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PLACEHOLDERS = re.compile(r"FRUIT_(?:FLASH|REGEX)\d+")
Script = Callable[[dict[str, Any]], list[dict[str, Any]]]


def sign(thinking: str) -> str:
    """A signature over the exact text, base64 like Anthropic's."""
    return base64.b64encode(hashlib.sha256(thinking.encode()).digest()).decode()


def text_of(content: Any) -> str:
    """A message's or tool result's text: the string, or its text blocks joined."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content or ():
        if block.get("type") == "text":
            parts.append(block["text"])
        elif block.get("type") == "tool_result":
            parts.append(text_of(block.get("content")))
    return " ".join(parts)


def echo(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The default answer: ``You said: `` and the last user message's text."""
    users = [m for m in body["messages"] if m["role"] == "user"]
    return [{"type": "text", "text": "You said: " + text_of(users[-1]["content"])}]


@dataclass
class FakeAnthropic:
    received: list[dict[str, Any]] = field(default_factory=list)
    script: Script = echo
    cuts: list[int] = field(default_factory=list)
    byte_cuts: list[int] = field(default_factory=list)
    error: tuple[int, Any] | None = None
    url: str = ""

    def all_received(self) -> str:
        return "\n".join(entry["raw"] for entry in self.received)

    async def record(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        entry = {"path": request.path, "query": request.query_string,
                 "headers": dict(request.headers), "raw": raw.decode("utf-8", "replace"),
                 "json": json.loads(raw) if raw else None}
        self.received.append(entry)
        return entry

    def message(self, content: list[dict[str, Any]], model: str) -> dict[str, Any]:
        stop = "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
        return {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                "content": content, "stop_reason": stop, "stop_sequence": None,
                "usage": {"input_tokens": 10, "output_tokens": 5}}

    async def messages(self, request: web.Request) -> web.StreamResponse:
        body = (await self.record(request))["json"]
        if self.error:
            return web.json_response(self.error[1], status=self.error[0],
                                     headers={"request-id": "req_fake_error"})
        for message in body["messages"]:
            for block in message["content"] if isinstance(message["content"], list) else ():
                if block.get("type") == "thinking" and block["signature"] != sign(
                        block["thinking"]):
                    return web.json_response({"type": "error", "error": {
                        "type": "invalid_request_error",
                        "message": "messages: Invalid `signature` in `thinking` block"}},
                        status=400)
        message = self.message(self.script(body), body["model"])
        if body.get("stream"):
            return await self.stream(request, message)
        return web.json_response(message, headers={"request-id": "req_fake"})

    async def count_tokens(self, request: web.Request) -> web.Response:
        body = (await self.record(request))["json"]
        return web.json_response({"input_tokens": len(json.dumps(body["messages"]))})

    async def models(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.json_response({"data": [{"type": "model", "id": "claude-fake",
                                            "display_name": "Claude Fake",
                                            "created_at": "2026-01-01T00:00:00Z"}],
                                  "has_more": False, "first_id": "claude-fake",
                                  "last_id": "claude-fake"})

    def pieces(self, text: str) -> list[str]:
        bounds = [0, *sorted({c for c in self.cuts if 0 < c < len(text)}), len(text)]
        return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    def events(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        start = {**message, "content": [], "stop_reason": None}
        events = [{"type": "message_start", "message": start}, {"type": "ping"}]
        for index, block in enumerate(message["content"]):
            kind = block["type"]
            deltas: list[dict[str, Any]] = []
            if kind == "text":
                opening = {"type": "text", "text": ""}
                deltas += [{"type": "citations_delta", "citation": c}
                           for c in block.get("citations") or ()]
                deltas += [{"type": "text_delta", "text": p} for p in self.pieces(block["text"])]
            elif kind == "thinking":
                opening = {"type": "thinking", "thinking": "", "signature": ""}
                deltas += [{"type": "thinking_delta", "thinking": p}
                           for p in self.pieces(block["thinking"])]
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
            elif kind == "tool_use":
                opening = {**block, "input": {}}
                deltas += [{"type": "input_json_delta", "partial_json": p}
                           for p in self.pieces(json.dumps(block["input"]))]
            else:
                opening = block
            events.append({"type": "content_block_start", "index": index,
                           "content_block": opening})
            events += [{"type": "content_block_delta", "index": index, "delta": d}
                       for d in deltas]
            events.append({"type": "content_block_stop", "index": index})
        events.append({"type": "message_delta", "delta": {"stop_reason": message["stop_reason"],
                                                          "stop_sequence": None},
                       "usage": {"output_tokens": 5}})
        events.append({"type": "message_stop"})
        return events

    async def stream(self, request: web.Request, message: dict[str, Any]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "request-id": "req_fake"})
        await response.prepare(request)
        raw = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode()
                       for e in self.events(message))
        bounds = [0, *sorted({c for c in self.byte_cuts if 0 < c < len(raw)}), len(raw)]
        for a, b in zip(bounds, bounds[1:], strict=False):
            await response.write(raw[a:b])
        await response.write_eof()
        return response

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes([web.post("/v1/messages", self.messages),
                        web.post("/v1/messages/count_tokens", self.count_tokens),
                        web.get("/v1/models", self.models)])
        return app
