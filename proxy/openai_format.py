"""Which fields of an OpenAI request the provider reads as text, and which answer fields to restore.

Requests are walked into ``TextSlot``s (a container and a key), so every text of a request is
anonymized in one pipeline call with one mapping and written back in place. Anything that is
not text (images, audio, token arrays, tool schemas) passes untouched. A field of an
unexpected type is refused (400) rather than forwarded unread: fail closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from proxy.errors import bad_request

# String fields of a chat message that the provider reads.
_MESSAGE_TEXT_FIELDS = ("content", "name", "refusal", "reasoning_content")
# Content-part fields holding text (type "text", "input_text", "refusal", ...).
_PART_TEXT_FIELDS = ("text", "refusal")


@dataclass(frozen=True)
class TextSlot:
    """One string of the request: ``container[key]``."""

    container: dict[str, Any] | list[Any]
    key: str | int

    def get(self) -> str:
        return self.container[self.key]  # type: ignore[index]

    def set(self, value: str) -> None:
        self.container[self.key] = value  # type: ignore[index]


def chat_slots(body: dict[str, Any]) -> list[TextSlot]:
    """Texts of ``/v1/chat/completions``: messages (content, parts, names, tool calls, tool
    results), the ``user`` field and a predicted output."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise bad_request("'messages' must be a list", "invalid_messages")
    slots: list[TextSlot] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise bad_request(f"messages[{i}] must be an object", "invalid_messages")
        for field in _MESSAGE_TEXT_FIELDS:
            _content_slots(message, field, f"messages[{i}].{field}", slots)
        _tool_call_slots(message, f"messages[{i}]", slots)
    _string_slot(body, "user", "user", slots)
    prediction = body.get("prediction")
    if isinstance(prediction, dict):
        _content_slots(prediction, "content", "prediction.content", slots)
    return slots


def completion_slots(body: dict[str, Any]) -> list[TextSlot]:
    """Texts of ``/v1/completions``: ``prompt`` (string or list of strings) and ``suffix``."""
    slots: list[TextSlot] = []
    _strings_or_tokens(body, "prompt", slots)
    _string_slot(body, "suffix", "suffix", slots)
    _string_slot(body, "user", "user", slots)
    return slots


def embedding_slots(body: dict[str, Any]) -> list[TextSlot]:
    """Texts of ``/v1/embeddings``: ``input`` (string or list of strings)."""
    slots: list[TextSlot] = []
    _strings_or_tokens(body, "input", slots)
    _string_slot(body, "user", "user", slots)
    return slots


def _content_slots(holder: dict[str, Any], field: str, where: str, out: list[TextSlot]) -> None:
    value = holder.get(field)
    if value is None:
        return
    if isinstance(value, str):
        out.append(TextSlot(holder, field))
        return
    if field != "content" or not isinstance(value, list):
        raise bad_request(f"{where} must be a string or a list of content parts",
                          "invalid_content")
    for j, part in enumerate(value):
        if not isinstance(part, dict):
            raise bad_request(f"{where}[{j}] must be an object", "invalid_content")
        for key in _PART_TEXT_FIELDS:
            _string_slot(part, key, f"{where}[{j}].{key}", out)


def _tool_call_slots(message: dict[str, Any], where: str, out: list[TextSlot]) -> None:
    calls = message.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            raise bad_request(f"{where}.tool_calls must be a list", "invalid_tool_calls")
        for k, call in enumerate(calls):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                _string_slot(function, "arguments", f"{where}.tool_calls[{k}].function.arguments",
                             out)
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        _string_slot(legacy, "arguments", f"{where}.function_call.arguments", out)


def _string_slot(holder: dict[str, Any], key: str, where: str, out: list[TextSlot]) -> None:
    value = holder.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        raise bad_request(f"{where} must be a string", "invalid_field")
    out.append(TextSlot(holder, key))


def _strings_or_tokens(body: dict[str, Any], key: str, out: list[TextSlot]) -> None:
    value = body.get(key)
    if value is None or isinstance(value, str):
        if value is not None:
            out.append(TextSlot(body, key))
        return
    if not isinstance(value, list):
        raise bad_request(f"'{key}' must be a string or a list", "invalid_field")
    for i, item in enumerate(value):
        if isinstance(item, str):
            out.append(TextSlot(value, i))
        elif isinstance(item, int) and not isinstance(item, bool):
            continue  # token ids: nothing readable to anonymize
        elif isinstance(item, list) and all(isinstance(t, int) for t in item):
            continue
        else:
            raise bad_request(f"{key}[{i}] must be a string or token ids", "invalid_field")


def restore_tree(value: Any, restore: Callable[[str], str]) -> Any:
    """Every string inside ``value`` restored (dict keys kept)."""
    if isinstance(value, str):
        return restore(value)
    if isinstance(value, list):
        return [restore_tree(v, restore) for v in value]
    if isinstance(value, dict):
        return {k: restore_tree(v, restore) for k, v in value.items()}
    return value


def restore_answer(body: Any, restore: Callable[[str], str]) -> Any:
    """A non-streamed answer: each choice's message (chat) or text (completions) restored.

    Top-level ids, model names and usage stay as the provider sent them.
    """
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        return body
    for choice in body["choices"]:
        if not isinstance(choice, dict):
            continue
        for key in ("message", "text", "delta"):
            if key in choice:
                choice[key] = restore_tree(choice[key], restore)
    return body


def restore_error(body: Any, restore: Callable[[str], str]) -> Any:
    """An upstream error body: its message may quote the (anonymized) prompt."""
    return restore_tree(body, restore)
