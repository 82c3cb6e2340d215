"""Server-sent events: read the provider's stream, restore each choice, re-emit in order.

The provider may split its bytes anywhere: inside a ``data:`` line, inside a multi-byte
character, inside a placeholder. Events are cut only at blank lines (ASCII), so each event
decodes whole; placeholders split across events are rejoined by one
``StreamingDeanonymizer`` per choice and field, which holds back only a possible prefix.
Held tails are emitted before (or inside) the chunk that carries the choice's
``finish_reason``, so the client never sees a placeholder and never loses a character.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from proxy import jsonio
from proxy.openai_format import restore_tree
from proxy.restoring import CountingStream, Restorer

# A line ends with CRLF, LF or a lone CR (a CR at the buffer's end may still get its LF).
_EOL = rb"(?:\r\n|\r(?!\n|\Z)|\n)"
_EVENT_END = re.compile(_EOL + _EOL)
_LINE = re.compile(r"\r\n|\r|\n")

# Text fields of a streamed chat delta that carry model output.
_DELTA_TEXT_FIELDS = ("content", "refusal", "reasoning_content", "reasoning")


@dataclass
class SSEEvent:
    """One event: its non-data lines as they came, and its data (lines joined by ``\\n``)."""

    other_lines: list[str]
    data: str | None

    def encode(self) -> bytes:
        lines = list(self.other_lines)
        if self.data is not None:
            lines.extend("data: " + line for line in self.data.split("\n"))
        return ("\n".join(lines) + "\n\n").encode()


class SSEDecoder:
    """Bytes in any pieces -> complete events."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._buffer += chunk
        events = []
        while True:
            match = _EVENT_END.search(self._buffer)
            if match is None:
                break
            block, self._buffer = self._buffer[: match.start()], self._buffer[match.end():]
            if block.strip():
                events.append(parse_event(block))
        return events

    def finish(self) -> list[SSEEvent]:
        """The last event when the stream ended without a blank line."""
        block, self._buffer = self._buffer, b""
        return [parse_event(block)] if block.strip() else []


def parse_event(block: bytes) -> SSEEvent:
    text = block.decode("utf-8", errors="replace")
    other: list[str] = []
    data: list[str] = []
    for line in _LINE.split(text):
        if line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
        elif line:
            other.append(line)
    return SSEEvent(other, "\n".join(data) if data else None)


def data_event(payload: Any) -> bytes:
    return b"data: " + jsonio.dumps(payload) + b"\n\n"


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
            stream = self._open[(index, field)] = self._restorer.streaming()
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
    return restore_tree(data, restorer.text)
