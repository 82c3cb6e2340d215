"""Every field of a Responses API request (``POST /v1/responses``), as fail-closed schemas.

Text the provider reads is ``TEXT`` (anonymized): ``instructions``; ``input`` as a string or
as items: message contents (``input_text`` / ``output_text`` parts or a string), function-call
and MCP ``arguments`` (a JSON string: each string value in it, ``json_string.py``), tool outputs
(a string or parts), custom tool input, shell commands and their output, computer-call safety
checks, reasoning summaries and reasoning text, ``metadata`` values, ``user``.
``encrypted_content`` (reasoning, compaction) is opaque to the proxy and to the client alike:
it goes back byte for byte. Images, files and audio pass untouched, as do tool definitions
(developer-written schemas the provider needs byte for byte). Anything else: 400.
"""

from __future__ import annotations

from typing import Any

from proxy.formats.base import TextSlot
from proxy.formats.json_string import ARGUMENTS
from proxy.formats.schema import (
    BOOL,
    NUMBER,
    OPAQUE,
    TEXT,
    TOKEN,
    ListOf,
    MapOf,
    Obj,
    OneOf,
    Opaque,
    Shape,
    Tagged,
    Text,
)

DATA = Opaque(str)  # URLs, base64 data, encrypted content

# Keys of a free-form object that name a kind or an id, never user text.
_TREE_TOKEN_KEYS = frozenset({"type", "id", "call_id", "file_id", "container_id", "status",
                              "button"})


class Tree(Shape):
    """A free-form value with no fixed schema (a computer action, a web-search action, a
    tool's error): every string in it is text, except kinds and ids, which must be tokens."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict | list | str)

    def walk(self, holder: Any, key: Any, where: str, out: list[TextSlot]) -> None:
        value = holder[key]
        if isinstance(value, str):
            out.append(TextSlot(holder, key))
        elif isinstance(value, dict):
            for name in value:
                if name in _TREE_TOKEN_KEYS and isinstance(value[name], str):
                    TOKEN.walk(value, name, where, out)
                else:
                    self.walk(value, name, where, out)
        elif isinstance(value, list):
            for i in range(len(value)):
                self.walk(value, i, where, out)
        elif not (value is None or isinstance(value, int | float | bool)):
            raise self.refuse(where, "JSON")


TREE = Tree()

_CACHE = {"prompt_cache_breakpoint": Obj({"mode": TOKEN, "ttl": TOKEN})}
_LOGPROB = Obj({"token": TEXT, "bytes": ListOf(NUMBER), "logprob": NUMBER})
_ANNOTATION = Tagged({
    "url_citation": Obj({"type": TOKEN, "url": TEXT, "title": TEXT, "start_index": NUMBER,
                         "end_index": NUMBER}),
    "file_citation": Obj({"type": TOKEN, "file_id": TOKEN, "filename": TEXT, "index": NUMBER}),
    "container_file_citation": Obj({"type": TOKEN, "container_id": TOKEN, "file_id": TOKEN,
                                    "filename": TEXT, "start_index": NUMBER,
                                    "end_index": NUMBER}),
    "file_path": Obj({"type": TOKEN, "file_id": TOKEN, "index": NUMBER}),
})
_TEXT_PART = Obj({"type": TOKEN, "text": TEXT, "annotations": ListOf(_ANNOTATION),
                  "logprobs": ListOf(_LOGPROB.extended(top_logprobs=ListOf(_LOGPROB))),
                  **_CACHE})

PART = Tagged({
    "input_text": _TEXT_PART,
    "output_text": _TEXT_PART,
    "refusal": Obj({"type": TOKEN, "refusal": TEXT}),
    "input_image": Obj({"type": TOKEN, "image_url": DATA, "file_id": TOKEN, "detail": TOKEN,
                        **_CACHE}),
    "input_file": Obj({"type": TOKEN, "file_id": TOKEN, "file_data": DATA, "file_url": DATA,
                       "filename": TEXT, "detail": TOKEN, **_CACHE}),
    "input_audio": Obj({"type": TOKEN, "input_audio": Obj({"data": DATA, "format": TOKEN})}),
}, code="invalid_content")

CONTENT = OneOf(Text("invalid_content"), ListOf(PART), code="invalid_content")
"""A message's content or a tool's output: a string, or a list of typed parts."""

_ITEM = {"type": TOKEN, "id": TOKEN, "status": TOKEN}
_CALL = {**_ITEM, "call_id": TOKEN, "name": TOKEN, "namespace": TOKEN,
         "caller": Obj({"type": TOKEN, "caller_id": TOKEN})}
_SUMMARY = Tagged({"summary_text": Obj({"type": TOKEN, "text": TEXT})})
_REASONING_TEXT = Tagged({"reasoning_text": Obj({"type": TOKEN, "text": TEXT})})
_SHELL_OUTPUT = Obj({"stdout": TEXT, "stderr": TEXT, "outcome": Obj({
    "type": TOKEN, "exit_code": NUMBER})})

ITEM = Tagged({
    "message": Obj({**_ITEM, "role": TOKEN, "content": CONTENT, "phase": TOKEN}),
    "function_call": Obj({**_CALL, "arguments": ARGUMENTS}),
    "function_call_output": Obj({**_CALL, "output": CONTENT}),
    "custom_tool_call": Obj({**_CALL, "input": TEXT}),
    "custom_tool_call_output": Obj({**_CALL, "output": CONTENT}),
    "local_shell_call": Obj({**_CALL, "action": Obj({
        "type": TOKEN, "command": ListOf(TEXT), "env": MapOf(TEXT), "timeout_ms": NUMBER,
        "user": TEXT, "working_directory": TEXT})}),
    "local_shell_call_output": Obj({**_CALL, "output": TEXT}),
    "shell_call": Obj({**_CALL, "environment": TREE, "action": Obj({
        "commands": ListOf(TEXT), "max_output_length": NUMBER, "timeout_ms": NUMBER})}),
    "shell_call_output": Obj({**_CALL, "output": ListOf(_SHELL_OUTPUT),
                              "max_output_length": NUMBER}),
    "computer_call": Obj({**_CALL, "action": TREE, "actions": TREE,
                          "pending_safety_checks": TREE}),
    "computer_call_output": Obj({**_CALL, "acknowledged_safety_checks": TREE,
                                 "output": Obj({"type": TOKEN, "image_url": DATA,
                                                "file_id": TOKEN})}),
    "reasoning": Obj({**_ITEM, "summary": ListOf(_SUMMARY), "content": ListOf(_REASONING_TEXT),
                      "encrypted_content": DATA}),
    "compaction": Obj({**_ITEM, "encrypted_content": DATA, "created_by": TOKEN}),
    "item_reference": Obj({"type": TOKEN, "id": TOKEN}),
    "web_search_call": Obj({**_ITEM, "action": TREE}),
    "file_search_call": Obj({**_ITEM, "queries": ListOf(TEXT), "results": TREE}),
    "code_interpreter_call": Obj({**_ITEM, "code": TEXT, "container_id": TOKEN,
                                  "outputs": TREE}),
    "apply_patch_call": Obj({**_CALL, "operation": Obj({"type": TOKEN, "path": TEXT,
                                                         "diff": TEXT})}),
    "apply_patch_call_output": Obj({**_CALL, "output": TEXT}),
    "mcp_list_tools": Obj({**_ITEM, "server_label": TOKEN, "tools": OPAQUE, "error": TEXT}),
    "mcp_approval_request": Obj({**_ITEM, "server_label": TOKEN, "name": TOKEN,
                                 "arguments": ARGUMENTS}),
    "mcp_approval_response": Obj({**_ITEM, "approval_request_id": TOKEN, "approve": BOOL,
                                  "reason": TEXT}),
    "mcp_call": Obj({**_ITEM, "server_label": TOKEN, "name": TOKEN, "arguments": ARGUMENTS,
                     "approval_request_id": TOKEN, "output": TEXT, "error": TREE}),
}, default="message", code="invalid_input")
"""One input item; an item without ``type`` is a message (``{"role", "content"}``)."""

INPUT = OneOf(TEXT, ListOf(ITEM, code="invalid_input"), code="invalid_input")

_PROMPT = Obj({"id": TOKEN, "version": TOKEN,
               "variables": MapOf(OneOf(TEXT, PART, code="invalid_content"))})

_TEXT_FORMAT = Tagged({
    "text": Obj({"type": TOKEN}),
    "json_object": Obj({"type": TOKEN}),
    "json_schema": Obj({"type": TOKEN, "name": TOKEN, "description": DATA, "schema": OPAQUE,
                        "strict": BOOL}),
})
_NAMED_TOOL = Obj({"type": TOKEN, "name": TOKEN})
_TOOL_CHOICE = Tagged({
    "function": _NAMED_TOOL,
    "custom": _NAMED_TOOL,
    "mcp": Obj({"type": TOKEN, "server_label": TOKEN, "name": TOKEN}),
    "allowed_tools": Obj({"type": TOKEN, "mode": TOKEN, "tools": ListOf(Opaque(dict))}),
    **{kind: Obj({"type": TOKEN}) for kind in (
        "file_search", "web_search", "web_search_preview", "computer", "computer_use_preview",
        "image_generation", "code_interpreter", "local_shell", "shell", "apply_patch",
        "programmatic_tool_calling")},
})

# Fields that shape the model's input: create, input_tokens and compact share them.
_INPUT_FIELDS = {
    "model": TOKEN,
    "input": INPUT,
    "instructions": INPUT,
    "previous_response_id": TOKEN,
    "conversation": OneOf(TOKEN, Obj({"id": TOKEN})),
    # Tool definitions: developer-written schemas and descriptions, needed byte for byte.
    "tools": ListOf(Opaque(dict)),
    "tool_choice": OneOf(TOKEN, _TOOL_CHOICE),
    "parallel_tool_calls": BOOL,
    # Output format (a developer's JSON schema, passed byte for byte) and verbosity.
    "text": Obj({"format": _TEXT_FORMAT, "verbosity": TOKEN}),
    "reasoning": Obj({"effort": TOKEN, "summary": TOKEN, "generate_summary": TOKEN,
                      "mode": TOKEN}),
    "truncation": TOKEN,
}

CREATE = Obj({
    **_INPUT_FIELDS,
    "stream": BOOL,
    "stream_options": Obj({"include_obfuscation": BOOL}),
    "store": BOOL,
    "background": BOOL,
    "background_options": Obj({"completion_window": TOKEN, "continuation_id": TOKEN}),
    "include": ListOf(TOKEN),
    "max_output_tokens": NUMBER,
    "max_tool_calls": NUMBER,
    "temperature": NUMBER,
    "top_p": NUMBER,
    "top_logprobs": NUMBER,
    "service_tier": TOKEN,
    "metadata": MapOf(TEXT),
    # Codex: session and turn ids, and a JSON string with the workspace's paths.
    "client_metadata": MapOf(TEXT),
    "user": TEXT,
    "safety_identifier": TOKEN,
    "prompt_cache_key": TOKEN,
    "prompt_cache_retention": TOKEN,
    "prompt_cache_options": Obj({"mode": TOKEN, "ttl": TOKEN, "prewarm": BOOL,
                                 "comparison_response_id": TOKEN}),
    "prompt": _PROMPT,
    "context_management": ListOf(Obj({"type": TOKEN, "compact_threshold": NUMBER})),
    "access_programs": Obj({"cyber": TOKEN}),
    "image": Obj({"context_compression": TOKEN}),
    "moderation": Obj({"model": TOKEN, "policy": Obj({"input": Obj({"mode": TOKEN}),
                                                      "output": Obj({"mode": TOKEN})})}),
})
"""``POST /v1/responses``: every field of the SDK's ``responses.create``."""

INPUT_TOKENS = Obj({**_INPUT_FIELDS, "personality": TOKEN})
"""``POST /v1/responses/input_tokens``."""

COMPACT = Obj({name: CREATE.fields[name] for name in (
    "model", "input", "instructions", "previous_response_id", "prompt_cache_key",
    "prompt_cache_options", "prompt_cache_retention", "service_tier", "image")})
"""``POST /v1/responses/compact``."""

CONVERSATION_CREATE = Obj({"items": ListOf(ITEM, code="invalid_input"), "metadata": MapOf(TEXT)})
"""``POST /v1/conversations``: its first items and metadata."""

CONVERSATION_ITEMS = Obj({"items": ListOf(ITEM, code="invalid_input")})
"""``POST /v1/conversations/{id}/items``."""

CONVERSATION_UPDATE = Obj({"metadata": MapOf(TEXT)})
"""``POST /v1/conversations/{id}``."""
