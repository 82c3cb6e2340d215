"""A fake OpenAI Responses API provider: records what it receives, answers from the input.

The answer quotes what the provider saw, so it holds the placeholders: a message
``"You said: " + last user text`` (or ``"Tool said: " + output`` after a tool result), or,
with ``tool_call``, a function call whose arguments list the placeholders of the input; with
``reasoning`` a reasoning item first (summary quoting the input, opaque encrypted content).
Streams are the typed SSE events; ``cuts`` splits every streamed text at those character
positions and ``byte_pieces`` re-cuts the raw bytes. Responses are kept by id for ``GET``,
``input_items``, ``cancel`` and ``DELETE``.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.proxy.conftest import text_of

ENCRYPTED = "gAAAAB-opaque-FRUIT_FLASH0-blob=="  # looks like a placeholder: must stay untouched
_PLACEHOLDER = re.compile(r"(?:FRUIT_(?:FLASH|REGEX)|PERSON|EMAIL|SECRET|[A-Z_]{3,})\d+")


def last_turn(body: dict[str, Any]) -> tuple[str, str]:
    """("user", text) or ("tool", output) of the input's last item."""
    given = body.get("input")
    if isinstance(given, str):
        return "user", given
    for item in reversed(given or []):
        kind = item.get("type", "message")
        if kind == "function_call_output":
            return "tool", text_of(item.get("output"))
        if kind == "message" and item.get("role") == "user":
            return "user", text_of(item.get("content"))
    return "user", ""


@dataclass
class FakeResponses:
    received: list[dict[str, Any]] = field(default_factory=list)
    cuts: list[int] | None = None
    byte_pieces: int | None = None
    tool_call: bool = False
    tool_name: str = "lookup"
    reasoning: bool = False
    error: tuple[int, Any] | None = None
    stream_error_after: int | None = None
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: dict[str, list[Any]] = field(default_factory=dict)
    conversations: dict[str, list[Any]] = field(default_factory=dict)
    url: str = ""
    _count: int = 0

    # -- answers -----------------------------------------------------------------------------

    def output_for(self, body: dict[str, Any], response_id: str) -> list[dict[str, Any]]:
        kind, said = last_turn(body)
        out: list[dict[str, Any]] = []
        if self.reasoning:
            out.append({"type": "reasoning", "id": f"rs_{response_id}",
                        "summary": [{"type": "summary_text", "text": "Thinking about " + said}],
                        "encrypted_content": ENCRYPTED})
        if self.tool_call and kind == "user":
            found = _PLACEHOLDER.findall(json.dumps(body.get("input")))
            arguments = json.dumps({"query": said, "found": found})
            out.append({"type": "function_call", "id": f"fc_{response_id}",
                        "call_id": f"call_{response_id}", "name": self.tool_name,
                        "arguments": arguments, "status": "completed"})
            return out
        text = ("Tool said: " if kind == "tool" else "You said: ") + said
        out.append({"type": "message", "id": f"msg_{response_id}", "role": "assistant",
                    "status": "completed", "content": [
                        {"type": "output_text", "text": text, "annotations": []}]})
        return out

    def response(self, body: dict[str, Any], response_id: str,
                 output: list[dict[str, Any]], status: str = "completed") -> dict[str, Any]:
        texts = [p["text"] for item in output if item["type"] == "message"
                 for p in item["content"]]
        return {"id": response_id, "object": "response", "created_at": 1, "status": status,
                "model": body.get("model", "fake"), "output": output,
                "instructions": body.get("instructions"),
                "previous_response_id": body.get("previous_response_id"),
                "metadata": body.get("metadata") or {}, "tools": body.get("tools") or [],
                "parallel_tool_calls": True, "tool_choice": "auto", "error": None,
                "incomplete_details": None, "store": body.get("store", True),
                "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5,
                          "input_tokens_details": {"cached_tokens": 0},
                          "output_tokens_details": {"reasoning_tokens": 0}},
                **({"output_text": "".join(texts)} if texts else {})}

    def pieces(self, text: str) -> list[str]:
        cuts = sorted({c for c in (self.cuts or []) if 0 < c < len(text)})
        bounds = [0, *cuts, len(text)]
        return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    def events(self, body: dict[str, Any], response_id: str) -> list[dict[str, Any]]:
        output = self.output_for(body, response_id)
        events: list[dict[str, Any]] = []
        start = self.response(body, response_id, [], "in_progress")
        events += [{"type": "response.created", "response": start},
                   {"type": "response.in_progress", "response": start}]
        for index, item in enumerate(output):
            base = {"output_index": index, "item_id": item["id"]}
            if item["type"] == "message":
                text = item["content"][0]["text"]
                events.append({"type": "response.output_item.added", "output_index": index,
                               "item": {**item, "status": "in_progress", "content": []}})
                part = {"type": "output_text", "text": "", "annotations": []}
                events.append({"type": "response.content_part.added", **base,
                               "content_index": 0, "part": part})
                events += [{"type": "response.output_text.delta", **base, "content_index": 0,
                            "delta": p, "logprobs": []} for p in self.pieces(text)]
                events.append({"type": "response.output_text.done", **base,
                               "content_index": 0, "text": text, "logprobs": []})
                events.append({"type": "response.content_part.done", **base,
                               "content_index": 0, "part": {**part, "text": text}})
            elif item["type"] == "function_call":
                events.append({"type": "response.output_item.added", "output_index": index,
                               "item": {**item, "arguments": "", "status": "in_progress"}})
                events += [{"type": "response.function_call_arguments.delta", **base,
                            "delta": p} for p in self.pieces(item["arguments"])]
                events.append({"type": "response.function_call_arguments.done", **base,
                               "arguments": item["arguments"]})
            elif item["type"] == "reasoning":
                text = item["summary"][0]["text"]
                events.append({"type": "response.output_item.added", "output_index": index,
                               "item": {**item, "summary": []}})
                events.append({"type": "response.reasoning_summary_part.added", **base,
                               "summary_index": 0,
                               "part": {"type": "summary_text", "text": ""}})
                events += [{"type": "response.reasoning_summary_text.delta", **base,
                            "summary_index": 0, "delta": p} for p in self.pieces(text)]
                events.append({"type": "response.reasoning_summary_text.done", **base,
                               "summary_index": 0, "text": text})
                events.append({"type": "response.reasoning_summary_part.done", **base,
                               "summary_index": 0,
                               "part": {"type": "summary_text", "text": text}})
            events.append({"type": "response.output_item.done", "output_index": index,
                           "item": item})
        events.append({"type": "response.completed",
                       "response": self.response(body, response_id, output)})
        for number, event in enumerate(events):
            event["sequence_number"] = number
        return events

    # -- handlers ----------------------------------------------------------------------------

    async def record(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        entry = {"path": request.path, "method": request.method, "query": dict(request.query),
                 "headers": dict(request.headers), "raw": raw.decode("utf-8", "replace"),
                 "json": json.loads(raw) if raw else None}
        self.received.append(entry)
        return entry

    def next_id(self) -> str:
        self._count += 1
        return f"resp_{self._count:04d}"

    async def create(self, request: web.Request) -> web.StreamResponse:
        body = (await self.record(request))["json"]
        if self.error:
            return web.json_response(self.error[1], status=self.error[0])
        previous = body.get("previous_response_id")
        if previous is not None and previous not in self.stored:
            return web.json_response({"error": {
                "message": "Previous response not found.", "type": "invalid_request_error",
                "param": "previous_response_id", "code": "previous_response_not_found"}},
                status=400)
        response_id = self.next_id()
        given = body.get("input")
        self.inputs[response_id] = ([{"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": given}]}] if isinstance(given, str) else given)
        if body.get("stream"):
            events = self.events(body, response_id)
            self.stored[response_id] = events[-1]["response"]
            return await self.send_events(request, events)
        answer = self.response(body, response_id, self.output_for(body, response_id))
        self.stored[response_id] = answer
        return web.json_response(answer)

    async def send_events(self, request: web.Request,
                          events: list[dict[str, Any]]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        blocks = [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events]
        if self.byte_pieces:
            raw = b"".join(blocks)
            blocks = [raw[i:i + self.byte_pieces] for i in range(0, len(raw), self.byte_pieces)]
        for i, block in enumerate(blocks):
            if self.stream_error_after is not None and i == self.stream_error_after:
                request.transport.close()
                return response
            await response.write(block)
            await asyncio.sleep(0)
        await response.write_eof()
        return response

    async def retrieve(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        found = self.stored.get(request.match_info["id"])
        if found is None:
            return web.json_response({"error": {"message": "not found", "type":
                                                "invalid_request_error", "code": None,
                                                "param": None}}, status=404)
        return web.json_response(found)

    async def input_items(self, request: web.Request) -> web.Response:
        await self.record(request)
        data = [dict(item, id=item.get("id") or f"item_{i}")
                for i, item in enumerate(self.inputs.get(request.match_info["id"], []))]
        return web.json_response({"object": "list", "data": data, "has_more": False,
                                  "first_id": data[0]["id"] if data else None,
                                  "last_id": data[-1]["id"] if data else None})

    async def cancel(self, request: web.Request) -> web.Response:
        await self.record(request)
        found = dict(self.stored[request.match_info["id"]], status="cancelled")
        return web.json_response(found)

    async def delete(self, request: web.Request) -> web.Response:
        await self.record(request)
        if self.stored.pop(request.match_info["id"], None) is None:
            return web.json_response({"error": {"message": "not found", "type":
                                                "invalid_request_error", "code": None,
                                                "param": None}}, status=404)
        return web.json_response({"id": request.match_info["id"], "object": "response",
                                  "deleted": True})

    async def input_tokens(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.json_response({"object": "response.input_tokens", "input_tokens": 7})

    async def conversation_create(self, request: web.Request) -> web.Response:
        body = (await self.record(request))["json"] or {}
        self._count += 1
        conversation = f"conv_{self._count:04d}"
        self.conversations[conversation] = list(body.get("items") or [])
        return web.json_response({"id": conversation, "object": "conversation",
                                  "created_at": 1, "metadata": body.get("metadata") or {}})

    async def conversation_items(self, request: web.Request) -> web.Response:
        entry = await self.record(request)
        items = self.conversations[request.match_info["id"]]
        if request.method == "POST":
            items.extend(entry["json"]["items"])
        data = [dict(item, id=item.get("id") or f"item_{i}") for i, item in enumerate(items)]
        return web.json_response({"object": "list", "data": data, "has_more": False,
                                  "first_id": None, "last_id": None})

    async def conversation_delete(self, request: web.Request) -> web.Response:
        await self.record(request)
        self.conversations.pop(request.match_info["id"])
        return web.json_response({"id": request.match_info["id"],
                                  "object": "conversation.deleted", "deleted": True})

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes([web.post("/v1/conversations", self.conversation_create),
                        web.delete("/v1/conversations/{id}", self.conversation_delete),
                        web.post("/v1/conversations/{id}/items", self.conversation_items),
                        web.get("/v1/conversations/{id}/items", self.conversation_items),
                        web.post("/v1/responses", self.create),
                        web.post("/v1/responses/input_tokens", self.input_tokens),
                        web.get("/v1/responses/{id}", self.retrieve),
                        web.delete("/v1/responses/{id}", self.delete),
                        web.get("/v1/responses/{id}/input_items", self.input_items),
                        web.post("/v1/responses/{id}/cancel", self.cancel)])
        return app

    def all_received(self) -> str:
        return "\n".join(entry["raw"] for entry in self.received)
