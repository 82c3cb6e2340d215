"""Anthropic's Messages API: which strings of a request are text, and how answers come back.

A request's texts are ``system`` (a string or text blocks), every message's ``content`` (a
string or blocks: ``text``, ``tool_use.input`` string values, ``tool_result.content``, text
``document`` sources, citations' quoted text, search results) and ``thinking`` texts; the
schema (``anthropic_schema.py``) names every field, and anything else is refused (400)
rather than forwarded unread. Answers restore every content block except its opaque keys
(ids, signatures, encrypted data); ``redacted_thinking`` passes untouched both ways.

Thinking blocks carry a ``signature`` over the exact text the provider produced, placeholders
and all. The client reads the restored text; the text the provider sent is kept in the store
under a keyed hash of the client's credential and the signature (``thinking_key``), and the
next turn's block is swapped back to it byte for byte (``MessagesFormat.anonymized``). When
the entry is gone (TTL, another store) the block goes up re-anonymized, never raw.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from proxy import jsonio
from proxy.client_request import LOG_FIELDS
from proxy.errors import ProxyError, bad_request, store_unavailable
from proxy.formats.anthropic_schema import MESSAGES as MESSAGES_SCHEMA
from proxy.formats.base import (
    Answer,
    Exchange,
    StreamTranslator,
    TextSlot,
    WireFormat,
    restore_tree,
)
from proxy.formats.schema import Obj, find_texts
from proxy.restoring import CountingStream, Restorer
from proxy.state import state_of
from proxy.store import ItemStore, StoreError
from proxy.streaming import SSEEvent

Restore = Callable[[str], str]

# -- the request's shape (proxy/formats/anthropic_schema.py) --------------------------------

_TOOL_CALLS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
# Keys of answer blocks that are opaque wherever they are: never restored.
_OPAQUE_KEYS = frozenset({"id", "signature", "data", "encrypted_content", "encrypted_index",
                          "tool_use_id", "type", "file_id"})


def request_texts(body: dict[str, Any], schema: Obj = MESSAGES_SCHEMA) -> list[TextSlot]:
    """Texts of ``/v1/messages`` and ``/v1/messages/count_tokens``, in document order (so a
    growing conversation's earlier turns always anonymize the same); 400 on anything else."""
    if not isinstance(body.get("messages"), list):
        raise bad_request("'messages' must be a list", "invalid_messages")
    return find_texts(schema, body)


def signed_thinking(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's thinking blocks that carry a signature (already checked by the walk)."""
    found = []
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            found.extend(b for b in content if isinstance(b, dict)
                         and b.get("type") == "thinking" and b.get("signature"))
    return found


def thinking_key(secret: bytes | None, credential: str, signature: str) -> str:
    """The store id of a signed thinking block's original: a keyed hash of the client's
    credential and the signature, so only the same client key reaches it (and neither the
    key nor the signature is written to the store)."""
    message = credential.encode() + b"\0" + signature.encode()
    return "thinking:" + hmac.new(secret or b"anonymize-proxy-thinking", message,
                                  hashlib.sha256).hexdigest()


# -- answers -------------------------------------------------------------------------------

def answer_thinking(body: Any) -> list[tuple[str, str]]:
    """``(signature, thinking as the provider sent it)`` of an answer's signed blocks."""
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        return []
    return [(b["signature"], b["thinking"]) for b in body["content"]
            if isinstance(b, dict) and b.get("type") == "thinking"
            and isinstance(b.get("thinking"), str) and isinstance(b.get("signature"), str)
            and b["signature"]]


def restore_block(block: Any, restore: Restore) -> None:
    """One answer content block restored in place: tool input entirely (keys kept), other
    blocks except opaque keys; ``redacted_thinking`` untouched."""
    if not isinstance(block, dict) or block.get("type") == "redacted_thinking":
        return
    kind = block.get("type")
    for key, value in list(block.items()):
        if key == "input" and kind in _TOOL_CALLS:
            block[key] = _restore_json(value, restore, frozenset())
        elif key not in _OPAQUE_KEYS:
            block[key] = _restore_json(value, restore, _OPAQUE_KEYS)


def _restore_json(value: Any, restore: Restore, skip: frozenset[str]) -> Any:
    if isinstance(value, str):
        return restore(value)
    if isinstance(value, list):
        return [_restore_json(v, restore, skip) for v in value]
    if isinstance(value, dict):
        return {k: v if k in skip else _restore_json(v, restore, skip)
                for k, v in value.items()}
    return value


# -- streams -------------------------------------------------------------------------------

# delta type -> its streamed text field
_STREAMED = {"text_delta": "text", "thinking_delta": "thinking",
             "input_json_delta": "partial_json"}


@dataclass
class _OpenBlock:
    """A content block being streamed: its restorer, and a thinking block's raw text."""

    stream: CountingStream | None = None
    delta_type: str = ""
    thinking: list[str] | None = None
    signature: str = ""


class MessageStream(StreamTranslator):
    """Anthropic's SSE events restored with one streaming restorer per content block index.

    A placeholder split across deltas comes back whole; ``partial_json`` is restored with
    JSON-escaped originals so the concatenated arguments stay valid JSON; a held tail goes
    out as one more delta of the block's own type just before its ``content_block_stop``.
    Signed thinking blocks are collected in ``signed`` (signature, text as sent) for the
    store. A provider ``error`` event is passed on (restored) without flushing held tails.
    """

    def __init__(self, restorer: Restorer) -> None:
        self._restorer = restorer
        self._json = restorer.for_json()
        self._blocks: dict[int, _OpenBlock] = {}
        self.signed: list[tuple[str, str]] = []
        self.finished = False

    def feed(self, event: SSEEvent) -> list[bytes]:
        if event.data is None:
            return [event.encode()]
        try:
            payload = jsonio.loads(event.data)
        except json.JSONDecodeError:
            return [SSEEvent(event.other_lines, self._restorer.text(event.data)).encode()]
        out = self.event(payload)
        if isinstance(payload, dict) and payload.get("type") == "message_stop":
            self.finished = True
        return [_encode(p, event.other_lines if p is payload else None) for p in out]

    def end(self) -> list[bytes]:
        return [_encode(p) for p in self.flush_all()]

    def error_event(self, error: ProxyError) -> bytes:
        return _encode(error_body(error.status, error.message))

    def event(self, payload: Any) -> list[Any]:
        """One parsed event payload -> the payloads to send, in order."""
        if not isinstance(payload, dict):
            return [payload]
        kind = payload.get("type")
        if kind == "content_block_delta":
            return self._delta(payload)
        if kind == "content_block_start":
            return self._start(payload)
        if kind == "content_block_stop":
            return [*self._flush(payload.get("index")), payload]
        if kind == "message_stop":
            return [*self.flush_all(), payload]
        if kind == "message_start":
            message = payload.get("message")
            if isinstance(message, dict) and isinstance(message.get("content"), list):
                for block in message["content"]:
                    restore_block(block, self._restorer.text)
            return [payload]
        if kind == "ping":
            return [payload]
        if kind == "error":  # the stream ends here: held tails are dropped, never sent after
            self._blocks.clear()
        return [restore_tree(payload, self._restorer)]  # message_delta, error, anything new

    def flush_all(self) -> list[Any]:
        """Whatever is still held for blocks that never got their stop event."""
        return [d for index in sorted(self._blocks) for d in self._flush(index)]

    def _start(self, payload: dict[str, Any]) -> list[Any]:
        index, block = payload.get("index"), payload.get("content_block")
        if not isinstance(index, int) or not isinstance(block, dict):
            return [restore_tree(payload, self._restorer)]
        state = self._blocks[index] = _OpenBlock()
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            block["text"] = self._feed(state, "text_delta", block["text"])
            if isinstance(block.get("citations"), list):
                block["citations"] = _restore_json(block["citations"], self._restorer.text,
                                                   _OPAQUE_KEYS)
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            state.thinking = [block["thinking"]]
            state.signature = block.get("signature") or ""
            block["thinking"] = self._feed(state, "thinking_delta", block["thinking"])
        else:
            restore_block(block, self._restorer.text)
        return [payload]

    def _delta(self, payload: dict[str, Any]) -> list[Any]:
        index, delta = payload.get("index"), payload.get("delta")
        if not isinstance(index, int) or not isinstance(delta, dict):
            return [restore_tree(payload, self._restorer)]
        state = self._blocks.setdefault(index, _OpenBlock())
        kind = delta.get("type")
        name = _STREAMED.get(kind) if isinstance(kind, str) else None
        if name is not None and isinstance(delta.get(name), str):
            if kind == "thinking_delta":
                state.thinking = [*(state.thinking or ()), delta[name]]
            delta[name] = self._feed(state, kind, delta[name])  # type: ignore[arg-type]
        elif kind == "signature_delta":
            if isinstance(delta.get("signature"), str):
                state.signature = delta["signature"]
        else:  # citations_delta (one whole citation) and anything new
            restore_block(delta, self._restorer.text)
        return [payload]

    def _feed(self, state: _OpenBlock, delta_type: str, text: str) -> str:
        if state.stream is None:
            restorer = self._json if delta_type == "input_json_delta" else self._restorer
            state.stream = restorer.streaming()
            state.delta_type = delta_type
        return state.stream.feed(text)

    def _flush(self, index: Any) -> list[Any]:
        state = self._blocks.pop(index, None) if isinstance(index, int) else None
        if state is None:
            return []
        if state.thinking is not None and state.signature:
            self.signed.append((state.signature, "".join(state.thinking)))
        tail = state.stream.finish() if state.stream is not None else ""
        if not tail:
            return []
        return [{"type": "content_block_delta", "index": index,
                 "delta": {"type": state.delta_type, _STREAMED[state.delta_type]: tail}}]


def _encode(payload: Any, other_lines: list[str] | None = None) -> bytes:
    """An Anthropic SSE event: ``event: <type>`` then the data line."""
    if other_lines is None:
        kind = payload.get("type") if isinstance(payload, dict) else None
        other_lines = [f"event: {kind}"] if isinstance(kind, str) else []
    return SSEEvent(other_lines, jsonio.dumps_str(payload)).encode()


# -- errors --------------------------------------------------------------------------------

# HTTP status -> Anthropic's error type (its API reference, "Errors").
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                403: "permission_error", 404: "not_found_error", 405: "invalid_request_error",
                413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
                502: "api_error", 503: "api_error", 504: "timeout_error",
                529: "overloaded_error"}


def error_type_for(status: int) -> str:
    return _ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


def error_body(status: int, message: str) -> dict[str, Any]:
    """``{"type": "error", "error": {"type", "message"}}`` as the Anthropic API sends it."""
    return {"type": "error", "error": {"type": error_type_for(status), "message": message}}


# -- the formats ---------------------------------------------------------------------------


class MessagesFormat(WireFormat):
    """``POST /v1/messages``: texts anonymized, answers and streams restored, signed thinking
    kept in the store and swapped back on the next turn."""

    name: ClassVar[str] = "anthropic.messages"
    provider: ClassVar[str] = "anthropic"
    #: Whether answers carry thinking to remember (count_tokens: no).
    remembers_thinking: ClassVar[bool] = True
    #: The request schema; a server with ``upstream.extra_fields`` uses an extended copy.
    schema: Obj = MESSAGES_SCHEMA

    def request_texts(self, body: dict[str, Any]) -> list[TextSlot]:
        return request_texts(body, self.schema)

    def restore_answer(self, body: Any, restorer: Restorer) -> Any:
        if isinstance(body, dict) and isinstance(body.get("content"), list):
            for block in body["content"]:
                restore_block(block, restorer.text)
        return body

    def stream(self, restorer: Restorer) -> StreamTranslator:
        return MessageStream(restorer)

    def error_body(self, error: ProxyError) -> dict[str, Any]:
        return error_body(error.status, error.message)

    def forwarded_query(self, query: Mapping[str, str]) -> dict[str, str]:
        # Claude Code and the SDK's beta client call ``/v1/messages?beta=true``.
        return {"beta": query["beta"]} if query.get("beta") in ("true", "false") else {}

    async def anonymized(self, exchange: Exchange) -> None:
        """Swap each signed thinking block back to the text the provider signed (it was
        anonymized with the rest, so a missing entry leaves it anonymized, never raw)."""
        blocks = signed_thinking(exchange.body)
        if not blocks:
            return
        state = state_of(exchange.request)
        store, secret, credential = _thinking_store(exchange)
        keys = [thinking_key(secret, credential, b["signature"]) for b in blocks]
        try:
            found = await asyncio.gather(*(store.get(k) for k in keys))
        except StoreError:
            state.metrics.child(state.metrics.store_errors, "get").inc()
            raise store_unavailable() from None
        missing = 0
        for block, entry in zip(blocks, found, strict=True):
            if entry is not None and isinstance(entry.get("thinking"), str):
                block["thinking"] = entry["thinking"]
            else:
                missing += 1
        fields = exchange.request[LOG_FIELDS]
        fields["thinking_swapped"] = len(blocks) - missing
        metrics = state.metrics
        metrics.child(metrics.thinking_blocks, "swapped").inc(len(blocks) - missing)
        if missing:
            fields["thinking_reanonymized"] = missing
            metrics.child(metrics.thinking_blocks, "reanonymized").inc(missing)

    async def answered(self, exchange: Exchange, answer: Answer) -> None:
        """Remember what the provider signed, before the client can send it back."""
        if not self.remembers_thinking or answer.status >= 400:
            return
        if isinstance(answer.stream, MessageStream):
            signed = answer.stream.signed
        else:
            signed = answer_thinking(answer.upstream)
        if not signed:
            return
        store, secret, credential = _thinking_store(exchange)
        state = state_of(exchange.request)
        metrics = state.metrics
        try:
            await asyncio.gather(*(store.put(thinking_key(secret, credential, signature),
                                             {"thinking": text})
                                   for signature, text in signed))
        except StoreError as exc:  # the next turn re-anonymizes these blocks: safe, logged
            state.store_failed("put_thinking", exc)
            return
        metrics.child(metrics.thinking_blocks, "stored").inc(len(signed))


class CountTokensFormat(MessagesFormat):
    """``POST /v1/messages/count_tokens``: the same texts anonymized (and thinking swapped
    back), so the count is that of what the provider will see; nothing to restore."""

    name: ClassVar[str] = "anthropic.count_tokens"
    remembers_thinking: ClassVar[bool] = False

    def wants_stream(self, body: dict[str, Any]) -> bool:
        return False


def _thinking_store(exchange: Exchange) -> tuple[ItemStore, bytes | None, str]:
    state = state_of(exchange.request)
    provider = state.upstream_for(MessagesFormat.provider).provider
    credential = provider.client_key(exchange.request.headers) or ""
    return state.store, state.settings.encryption_key, credential


MESSAGES = MessagesFormat()
COUNT_TOKENS = CountTokensFormat()
