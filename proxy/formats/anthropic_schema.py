"""Every field of Anthropic's Messages (and count_tokens) request, as schemas.

Text the provider reads is ``TEXT`` (anonymized): ``system``, message contents, text blocks,
every string and identifier-like integer of a ``tool_use.input``, tool results, text
documents and their titles, search results, citations' quoted text, thinking text (swapped
back to the signed original after anonymization when the proxy has it), stop sequences, a
web search's location. Tool definitions, JSON schemas and server configs are written by the
developer and the provider needs them byte for byte (``OPAQUE``, ``DESCRIPTION``); images,
base64 PDFs, URLs, file ids, signatures and ``redacted_thinking`` data are binary or signed
and pass untouched, held to their form (``BASE64``, ``URL``, ``TOKEN``) so no prose hides in
them. ``metadata.user_id`` is an identifier (``IDENTIFIER``: no spaces, no ``@``). Anything
not listed is refused (400).
"""

from __future__ import annotations

import re
from typing import Any

from proxy.formats.base import TextSlot
from proxy.formats.json_numbers import NumberSlot, number_text
from proxy.formats.schema import (
    BASE64,
    BOOL,
    NUMBER,
    OPAQUE,
    TEXT,
    TOKEN,
    URL,
    ListOf,
    Obj,
    OneOf,
    Opaque,
    Shape,
    Tagged,
    Text,
    Where,
    is_token,
)
from proxy.formats.value_names import NamedTextSlot, name_prefix

DESCRIPTION = Opaque(str)  # a tool's description: the developer's, not text
SECRET = Opaque(str)  # an MCP server's token: sent as given, never logged

_IDENTIFIER = re.compile(r"[A-Za-z0-9_{}\[\]\":,.+=/-]{1,1024}")


class Identifier(Shape):
    """An opaque id the client chose (``metadata.user_id``: Claude Code sends a small JSON of
    hex ids): forwarded as it is, so no spaces and no ``@`` (prose and e-mails refused)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        value = holder[key]
        if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
            raise self.refuse(where, "an identifier without spaces or @")


class JsonTexts(Shape):
    """Any JSON value whose every string is text (a tool call's ``input``), and every
    integer long enough to be an identifier (its digits; json_numbers.py); object keys are
    parameter names, forwarded as they are, so they must be identifiers."""

    code = "invalid_content"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        value = holder[key]
        if isinstance(value, str):
            prefix = name_prefix(key, value)
            out.append(NamedTextSlot(holder, key, prefix) if prefix else TextSlot(holder, key))
        elif number_text(value) is not None:
            out.append(NumberSlot(holder, key, value, name_prefix(key, str(value))))
        elif isinstance(value, dict):
            for name in value:
                if not isinstance(name, str) or not is_token(name):
                    raise self.refuse(where, "an object whose keys are identifiers")
                self.walk(value, name, (where, "(a value)"), out)
        elif isinstance(value, list):
            for i in range(len(value)):
                self.walk(value, i, (where, i), out)
        elif value is not None and not isinstance(value, bool | int | float):
            raise self.refuse(where, "JSON")


IDENTIFIER = Identifier()
INPUT = JsonTexts()
CACHE_CONTROL = Obj({"type": TOKEN, "ttl": TOKEN})
_ENABLED = Obj({"enabled": BOOL})

CITATION = Obj({
    "type": TOKEN, "cited_text": TEXT, "document_index": NUMBER, "document_title": TEXT,
    "start_char_index": NUMBER, "end_char_index": NUMBER, "start_page_number": NUMBER,
    "end_page_number": NUMBER, "start_block_index": NUMBER, "end_block_index": NUMBER,
    "file_id": TOKEN, "url": URL, "title": TEXT, "encrypted_index": BASE64, "source": TEXT,
    "search_result_index": NUMBER,
}, code="invalid_content")

TEXT_BLOCK = Obj({"type": TOKEN, "text": TEXT, "cache_control": CACHE_CONTROL,
                  "citations": ListOf(CITATION)}, code="invalid_content")
_BINARY_SOURCE = {
    "base64": Obj({"type": TOKEN, "media_type": TOKEN, "data": BASE64}),
    "url": Obj({"type": TOKEN, "url": URL}),
    "file": Obj({"type": TOKEN, "file_id": TOKEN}),
}
IMAGE_BLOCK = Obj({"type": TOKEN, "source": Tagged(_BINARY_SOURCE, code="invalid_content"),
                   "cache_control": CACHE_CONTROL}, code="invalid_content")

_DOCUMENT_SOURCE = Tagged({
    "text": Obj({"type": TOKEN, "media_type": TOKEN, "data": TEXT}),
    "content": Obj({"type": TOKEN, "content": OneOf(
        Text("invalid_content"),
        ListOf(Tagged({"text": TEXT_BLOCK, "image": IMAGE_BLOCK})))}),
    **_BINARY_SOURCE,  # PDFs: binary, untouched
}, code="invalid_content")

DOCUMENT_BLOCK = Obj({"type": TOKEN, "source": _DOCUMENT_SOURCE, "title": TEXT,
                      "context": TEXT, "citations": _ENABLED, "cache_control": CACHE_CONTROL},
                     code="invalid_content")
SEARCH_RESULT_BLOCK = Obj({"type": TOKEN, "source": TEXT, "title": TEXT,
                           "content": ListOf(Tagged({"text": TEXT_BLOCK})),
                           "citations": _ENABLED, "cache_control": CACHE_CONTROL},
                          code="invalid_content")

# What a tool result may hold besides a string.
_RESULT_PART = Tagged({"text": TEXT_BLOCK, "image": IMAGE_BLOCK, "document": DOCUMENT_BLOCK,
                       "search_result": SEARCH_RESULT_BLOCK,
                       "tool_reference": Obj({"type": TOKEN, "tool_name": TOKEN})},
                      code="invalid_content")
_RESULT_CONTENT = OneOf(Text("invalid_content"), ListOf(_RESULT_PART), code="invalid_content")

_TOOL_CALL = Obj({"type": TOKEN, "id": TOKEN, "name": TOKEN, "input": INPUT,
                  "cache_control": CACHE_CONTROL, "caller": OPAQUE}, code="invalid_content")
_WEB_RESULT = Obj({"type": TOKEN, "url": URL, "title": TEXT, "encrypted_content": BASE64,
                   "page_age": TEXT})

BLOCK = Tagged({
    "text": TEXT_BLOCK,
    "image": IMAGE_BLOCK,
    "document": DOCUMENT_BLOCK,
    "search_result": SEARCH_RESULT_BLOCK,
    "thinking": Obj({"type": TOKEN, "thinking": TEXT, "signature": BASE64,
                     "cache_control": CACHE_CONTROL}),
    "redacted_thinking": Obj({"type": TOKEN, "data": BASE64, "cache_control": CACHE_CONTROL}),
    "tool_use": _TOOL_CALL,
    "server_tool_use": _TOOL_CALL,
    "tool_result": Obj({"type": TOKEN, "tool_use_id": TOKEN, "content": _RESULT_CONTENT,
                        "is_error": BOOL, "cache_control": CACHE_CONTROL}),
    "web_search_tool_result": Obj({
        "type": TOKEN, "tool_use_id": TOKEN, "cache_control": CACHE_CONTROL,
        "content": OneOf(ListOf(_WEB_RESULT), Obj({"type": TOKEN, "error_code": TOKEN}))}),
    "mcp_tool_use": Obj({"type": TOKEN, "id": TOKEN, "name": TOKEN, "server_name": TOKEN,
                         "input": INPUT, "cache_control": CACHE_CONTROL}),
    "mcp_tool_result": Obj({"type": TOKEN, "tool_use_id": TOKEN, "is_error": BOOL,
                            "content": OneOf(Text("invalid_content"), ListOf(TEXT_BLOCK)),
                            "cache_control": CACHE_CONTROL}),
    "container_upload": Obj({"type": TOKEN, "file_id": TOKEN,
                             "cache_control": CACHE_CONTROL}),
}, code="invalid_content")

MESSAGE = Obj({"role": TOKEN,
               "content": OneOf(Text("invalid_content"), ListOf(BLOCK), code="invalid_content")},
              code="invalid_messages")
SYSTEM = OneOf(Text("invalid_system"), ListOf(Tagged({"text": TEXT_BLOCK})),
               code="invalid_system")


class _ToolShape(Shape):
    """A client tool (``name``, ``description``, ``input_schema``: the developer's, passed
    untouched) or a server tool (a dated ``type`` such as ``web_search_20250305``)."""

    _custom = Obj({"type": TOKEN, "name": TOKEN, "description": DESCRIPTION,
                   "input_schema": OPAQUE,
                   "cache_control": CACHE_CONTROL, "strict": BOOL, "input_examples": OPAQUE,
                   "defer_loading": BOOL, "allowed_callers": ListOf(TOKEN),
                   "eager_input_streaming": BOOL})
    _server = Obj({
        "type": TOKEN, "name": TOKEN, "cache_control": CACHE_CONTROL, "max_uses": NUMBER,
        "allowed_domains": ListOf(TOKEN), "blocked_domains": ListOf(TOKEN),
        "user_location": Obj({"type": TOKEN, "city": TEXT, "region": TEXT, "country": TEXT,
                              "timezone": TOKEN}),
        "display_width_px": NUMBER, "display_height_px": NUMBER, "display_number": NUMBER,
        "enable_zoom": BOOL, "max_characters": NUMBER, "max_content_tokens": NUMBER,
        "citations": _ENABLED, "defer_loading": BOOL, "allowed_callers": ListOf(TOKEN),
        "strict": BOOL})

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)

    def walk(self, holder: Any, key: Any, where: Where, out: list[TextSlot]) -> None:
        value = holder[key]
        kind = value.get("type", "custom") if isinstance(value, dict) else None
        shape = self._custom if kind == "custom" else self._server
        shape.walk(holder, key, where, out)


MESSAGES = Obj({
    "model": TOKEN,
    "messages": ListOf(MESSAGE, code="invalid_messages"),
    "system": SYSTEM,
    "max_tokens": NUMBER,
    "metadata": Obj({"user_id": IDENTIFIER}),
    "stop_sequences": ListOf(TEXT),
    "stream": BOOL,
    "temperature": NUMBER,
    "top_k": NUMBER,
    "top_p": NUMBER,
    "tools": ListOf(_ToolShape()),
    "tool_choice": Obj({"type": TOKEN, "name": TOKEN, "disable_parallel_tool_use": BOOL}),
    "thinking": Obj({"type": TOKEN, "budget_tokens": NUMBER, "display": TOKEN}),
    # Developer config: which old tool uses and thinking blocks the provider may drop.
    "context_management": OPAQUE,
    "output_config": Obj({"effort": TOKEN,
                          "format": Obj({"type": TOKEN, "schema": OPAQUE})}),
    "output_format": Obj({"type": TOKEN, "schema": OPAQUE}),
    "service_tier": TOKEN,
    "inference_geo": TOKEN,
    "speed": TOKEN,
    "cache_control": CACHE_CONTROL,  # top-level: marks the last cacheable block
    "diagnostics": Obj({"previous_message_id": TOKEN}),
    "user_profile_id": TOKEN,
    "workspace_id": TOKEN,
    "container": OneOf(TOKEN, Obj({"id": TOKEN, "skills": OPAQUE})),
    "mcp_servers": ListOf(Obj({"type": TOKEN, "url": URL, "name": TOKEN,
                               "authorization_token": SECRET,
                               "tool_configuration": Obj({"enabled": BOOL,
                                                          "allowed_tools": ListOf(TOKEN)})})),
}, code="invalid_field")
