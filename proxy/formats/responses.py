"""OpenAI's Responses API as a wire format: ``/v1/responses`` and its sub-resources.

Requests are walked against ``responses_schema.py`` (any unknown value: 400); answers are
response objects (``output[]`` items, ``output_text``, the echoed ``instructions``), pages
of input items, or typed SSE events (``responses_stream.py``). Errors have OpenAI's shape
``{"error": {"message", "type", "code", "param"}}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from proxy.errors import ProxyError
from proxy.formats.base import StreamTranslator, TextSlot, WireFormat
from proxy.formats.responses_restore import restore_object
from proxy.formats.responses_schema import COMPACT, CREATE, INPUT_TOKENS
from proxy.formats.responses_stream import ResponsesStream
from proxy.formats.schema import Obj, find_texts
from proxy.restoring import Restorer


class ResponsesFormat(WireFormat):
    """``POST /v1/responses`` (streamed or not) and, with another schema, its siblings."""

    name: ClassVar[str] = "openai.responses"
    #: The request schema; a server with ``upstream.extra_fields`` uses an extended copy.
    schema: Obj = CREATE

    def request_texts(self, body: dict[str, Any]) -> list[TextSlot]:
        return find_texts(self.schema, body)

    def restore_answer(self, body: Any, restorer: Restorer) -> Any:
        """A response object, a page of input items, a compacted response: every text
        restored, ids, kinds and encrypted content kept."""
        return restore_object(body, restorer)

    def restore_error(self, body: Any, restorer: Restorer) -> Any:
        return restore_object(body, restorer)

    def stream(self, restorer: Restorer) -> StreamTranslator:
        return ResponsesStream(restorer)

    def error_body(self, error: ProxyError) -> dict[str, Any]:
        return error.body()


class InputTokensFormat(ResponsesFormat):
    """``POST /v1/responses/input_tokens``: the input is anonymized as for a response, so
    the count is the count of what the provider would read; nothing to restore."""

    name = "openai.responses.input_tokens"
    schema = INPUT_TOKENS

    def wants_stream(self, body: dict[str, Any]) -> bool:
        return False


class CompactFormat(ResponsesFormat):
    """``POST /v1/responses/compact``: a history in, a compacted one (opaque) out."""

    name = "openai.responses.compact"
    schema = COMPACT

    def wants_stream(self, body: dict[str, Any]) -> bool:
        return False


class ConversationFormat(ResponsesFormat):
    """The Conversations API (``/v1/conversations``): items as in a response's input."""

    name = "openai.conversations"

    def __init__(self, schema: Obj) -> None:
        self.schema = schema

    def wants_stream(self, body: dict[str, Any]) -> bool:
        return False
