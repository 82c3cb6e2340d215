"""OpenAI's streamed chunks (chat and completions): restore each choice, re-emit in order.

Placeholders split across events are rejoined by one ``StreamingDeanonymizer`` per choice
and field, which holds back only a possible prefix; tool-call arguments get JSON-escaped
originals, so the arguments the client assembles stay valid JSON. Held tails are emitted before (or
inside) the chunk that carries the choice's ``finish_reason``, and before ``[DONE]``, so the
client never sees a placeholder and never loses a character.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from proxy import jsonio
from proxy.errors import ProxyError, sse_error_event
from proxy.formats.base import StreamTranslator, restore_tree
from proxy.restoring import CountingStream, Restorer
from proxy.streaming import SSEEvent, data_event

# Text fields of a streamed chat delta that carry model output.
_DELTA_TEXT_FIELDS = ("content", "refusal", "reasoning_content", "reasoning")


class OpenAIStream(StreamTranslator):
    """One streamed chat or completions answer: SSE event in, restored events out."""

    def __init__(self, restorer: Restorer) -> None:
        self.finished = False
        self._chunks = StreamRestorer(restorer)

    def feed(self, event: SSEEvent) -> list[bytes]:
        if event.data is None:
            return [event.encode()]  # comments and keep-alives
        if event.data.strip() == "[DONE]":
            self.finished = True
            return [*(data_event(c) for c in self._chunks.end()), event.encode()]
        try:
            payload = jsonio.loads(event.data)
        except json.JSONDecodeError:
            return [SSEEvent(event.other_lines, self._chunks.restore_text(event.data)).encode()]
        return [SSEEvent(event.other_lines, jsonio.dumps_str(chunk)).encode()
                for chunk in self._chunks.chunk(payload)]

    def end(self) -> list[bytes]:
        """Ended without ``[DONE]``: still hand over what was held back."""
        if self.finished:
            return []
        return [data_event(chunk) for chunk in self._chunks.end()]

    def error_event(self, error: ProxyError) -> bytes:
        """OpenAI's error object as the last ``data:``; the OpenAI SDK raises it as APIError."""
        return sse_error_event(error.message, error.type, error.code)


class StreamRestorer:
    """Restores the chunks of one streamed answer (chat or completions), per choice index."""

    def __init__(self, restorer: Restorer) -> None:
        self._restorer = restorer
        # (choice index, field) -> deanonymizer; field is a delta key, ("tool", k) or "text".
        self._open: dict[tuple[int, Any], CountingStream] = {}
        self._envelope: dict[str, Any] | None = None

    def chunk(self, data: Any) -> list[Any]:
        """One parsed ``data:`` payload -> the payloads to send, in order."""
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            if isinstance(data, dict) and "error" in data:
                return [_restore_all(data, self._restorer)]
            return [data]
        self._envelope = {k: v for k, v in data.items() if k not in ("choices", "usage")}
        before: list[Any] = []
        for choice in data["choices"]:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            if isinstance(choice.get("delta"), dict):
                self._restore_delta(index, choice["delta"])
            if isinstance(choice.get("text"), str):
                choice["text"] = self._feed(index, "text", choice["text"])
            if choice.get("finish_reason") is not None:
                tail = self._flush_into(index, choice)
                if tail is not None:
                    before.append(tail)
        return [*before, data]

    def restore_text(self, text: str) -> str:
        """A non-JSON ``data:`` payload: restored as plain text."""
        return self._restorer.text(text)

    def end(self) -> list[Any]:
        """End of stream (``[DONE]`` or EOF): whatever is still held, one chunk per choice."""
        out = []
        for index in sorted({i for i, _ in self._open}):
            tail = self._flush_into(index, {})
            if tail is not None:
                out.append(tail)
        return out

    # -- internals ---------------------------------------------------------------------------

    def _feed(self, index: int, field: Any, text: str) -> str:
        stream = self._open.get((index, field))
        if stream is None:
            # Tool-call arguments are JSON: their originals go in escaped.
            json_text = isinstance(field, tuple) or field == "function_call"
            restorer = self._restorer.for_json() if json_text else self._restorer
            stream = self._open[(index, field)] = restorer.streaming()
        return stream.feed(text)

    def _restore_delta(self, index: int, delta: dict[str, Any]) -> None:
        for field in _DELTA_TEXT_FIELDS:
            if isinstance(delta.get(field), str):
                delta[field] = self._feed(index, field, delta[field])
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for position, call in enumerate(calls):
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                    k = call.get("index", position)
                    function["arguments"] = self._feed(index, ("tool", k), function["arguments"])
        legacy = delta.get("function_call")
        if isinstance(legacy, dict) and isinstance(legacy.get("arguments"), str):
            legacy["arguments"] = self._feed(index, "function_call", legacy["arguments"])

    def _flush_into(self, index: int, choice: dict[str, Any]) -> Any | None:
        """Flush choice ``index``: tails of fields present in ``choice`` are appended there;
        the others go into a chunk returned to be sent before it (order per field kept)."""
        pending: dict[str, Any] = {"index": index, "finish_reason": None}
        extra = False
        for key in [k for k in self._open if k[0] == index]:
            field = key[1]
            tail = self._open.pop(key).finish()
            if not tail:
                continue
            if field == "text":
                if isinstance(choice.get("text"), str):
                    choice["text"] += tail
                else:
                    pending["text"] = pending.get("text", "") + tail
                    extra = True
                continue
            delta = choice.setdefault("delta", {})
            if _append_delta(delta, field, tail, only_existing=True):
                continue
            _append_delta(pending.setdefault("delta", {}), field, tail, only_existing=False)
            extra = True
        return self._with_envelope(pending) if extra else None

    def _with_envelope(self, choice: dict[str, Any]) -> dict[str, Any]:
        chunk = copy.deepcopy(self._envelope) if self._envelope else {}
        chunk["choices"] = [choice]
        return chunk


def _append_delta(delta: dict[str, Any], field: Any, tail: str, only_existing: bool) -> bool:
    """Add ``tail`` to ``field`` of ``delta``; with ``only_existing`` only if it is there."""
    if isinstance(field, tuple):  # ("tool", k)
        calls = delta.get("tool_calls")
        for position, call in enumerate(calls if isinstance(calls, list) else []):
            if isinstance(call, dict) and call.get("index", position) == field[1]:
                function = call.setdefault("function", {})
                function["arguments"] = (function.get("arguments") or "") + tail
                return True
        if only_existing:
            return False
        delta.setdefault("tool_calls", []).append(
            {"index": field[1], "function": {"arguments": tail}})
        return True
    if field == "function_call":
        legacy = delta.get("function_call")
        if isinstance(legacy, dict) and "arguments" in legacy:
            legacy["arguments"] = (legacy.get("arguments") or "") + tail
            return True
        if only_existing:
            return False
        delta["function_call"] = {"arguments": tail}
        return True
    if isinstance(delta.get(field), str):
        delta[field] += tail
        return True
    if only_existing:
        return False
    delta[field] = tail
    return True


def _restore_all(data: Any, restorer: Restorer) -> Any:
    return restore_tree(data, restorer)
