"""The Responses API's typed SSE events, restored one by one.

Every ``*.delta`` event with a string ``delta`` (output text, refusals, function-call
arguments, custom tool input, reasoning summaries and text, shell commands, ...) has its own
streaming restorer, one per event family, output item and content part, so a placeholder
split over deltas comes back whole and only a tail that could still be a placeholder is held.
The matching ``*.done`` event (and ``output_item.done``, ``response.completed``) first sends
that tail as one more delta, then carries its full text restored as a whole: the same text
the client assembled from the deltas. Function and MCP call arguments are JSON, restored
with JSON-escaped originals in deltas and whole alike. Embedded items, parts and response
objects are restored whole. Sequence numbers are renumbered, since a flushed tail is one more
event.
"""

from __future__ import annotations

import copy
from typing import Any

from proxy import jsonio
from proxy.errors import ProxyError
from proxy.formats.base import StreamTranslator
from proxy.formats.responses_restore import restore_object
from proxy.restoring import CountingStream, Restorer
from proxy.streaming import SSEEvent

# Events whose strings are binary data (base64 audio, images): passed as they come.
_OPAQUE_EVENTS = frozenset({"response.audio.delta", "response.audio.done",
                            "response.image_generation_call.partial_image"})
# The events that end a response.
END_EVENTS = frozenset({"response.completed", "response.failed", "response.incomplete"})
# Index fields that, with the event family and the output index, name one text being streamed.
_PART_INDEXES = ("content_index", "summary_index", "command_index")

StreamKey = tuple[str, Any, Any, Any]


class ResponsesStream(StreamTranslator):
    """One streamed Responses answer: typed events in, restored events out."""

    def __init__(self, restorer: Restorer) -> None:
        self._restorer = restorer
        self._open: dict[StreamKey, tuple[CountingStream, dict[str, Any]]] = {}
        self._sequence: int | None = None
        self.response_id: str | None = None
        self.status: str | None = None

    # -- StreamTranslator --------------------------------------------------------------------

    def feed(self, event: SSEEvent) -> list[bytes]:
        if event.data is None:
            return [event.encode()]  # comments and keep-alives
        try:
            payload = jsonio.loads(event.data)
        except ValueError:
            return [SSEEvent(event.other_lines, self._restorer.text(event.data)).encode()]
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            return [SSEEvent(event.other_lines, jsonio.dumps_str(
                restore_object(payload, self._restorer))).encode()]
        return [self._encode(p) for p in self._translate(payload)]

    def end(self) -> list[bytes]:
        return [self._encode(p) for p in self._flush(lambda key: True)]

    def error_event(self, error: ProxyError) -> bytes:
        """An ``error`` event as the Responses API sends it; its ``error`` object also makes
        the OpenAI SDK raise ``APIError``."""
        payload = {"type": "error", "code": error.code, "message": error.message,
                   "param": None,
                   "error": {"type": error.type, "code": error.code, "message": error.message,
                             "param": None}}
        return self._encode(payload)

    # -- internals ---------------------------------------------------------------------------

    def _translate(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event["type"]
        if kind in _OPAQUE_EVENTS:
            return [event]
        if kind.endswith(".delta") and isinstance(event.get("delta"), str):
            family = kind[: -len(".delta")]
            key = _key(family, event)
            stream, _ = self._open.get(key) or (self._streaming(family), event)
            self._open[key] = (stream, event)
            event["delta"] = stream.feed(event["delta"])
            if "logprobs" in event:
                event["logprobs"] = restore_object(event["logprobs"], self._restorer)
            return [event]
        before: list[dict[str, Any]] = []
        if kind.endswith(".done"):
            family = kind[: -len(".done")]
            before = self._flush(lambda key: key == _key(family, event))
        if kind == "response.output_item.done":
            index = event.get("output_index")
            before = self._flush(lambda key: key[1] == index)
        if kind in END_EVENTS or kind == "error":
            before = self._flush(lambda key: True)
        if isinstance(event.get("response"), dict):
            self.response_id = event["response"].get("id") or self.response_id
            self.status = event["response"].get("status") or self.status
        if kind in END_EVENTS:
            self.finished = True
        return [*before, restore_object(event, self._restorer)]

    def _streaming(self, family: str) -> CountingStream:
        """A new streaming restorer; function and MCP call arguments are JSON (their
        ``*_arguments.delta`` events), so their originals go in escaped."""
        if family.endswith("arguments"):
            return self._restorer.for_json().streaming()
        return self._restorer.streaming()

    def _flush(self, which: Any) -> list[dict[str, Any]]:
        """Held tails of the matching streams, each as one more delta event."""
        out = []
        for key in [k for k in self._open if which(k)]:
            stream, last = self._open.pop(key)
            tail = stream.finish()
            if tail:
                extra = copy.deepcopy(last)
                extra["delta"] = tail
                if "logprobs" in extra:
                    extra["logprobs"] = []
                extra.pop("obfuscation", None)
                out.append(extra)
        return out

    def _encode(self, payload: Any) -> bytes:
        if isinstance(payload, dict) and "sequence_number" in payload or isinstance(
                payload, dict) and payload.get("type") == "error":
            if self._sequence is None:
                upstream = payload.get("sequence_number")
                self._sequence = upstream if isinstance(upstream, int) else 0
            payload["sequence_number"] = self._sequence
            self._sequence += 1
        lines = [f"event: {payload['type']}"] if isinstance(payload, dict) and isinstance(
            payload.get("type"), str) else []
        return SSEEvent(lines, jsonio.dumps_str(payload)).encode()


def _key(family: str, event: dict[str, Any]) -> StreamKey:
    part = next((event[k] for k in _PART_INDEXES if k in event), None)
    return (family, event.get("output_index"), part, event.get("item_id"))
