"""OpenAI's Chat Completions, Completions and Embeddings as wire formats.

Requests are walked against the schemas of ``openai_schema.py`` (any unknown value: 400);
answers restore each choice's message or text, streams each choice's deltas. Errors have
OpenAI's shape ``{"error": {"message", "type", "code", "param"}}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from proxy.errors import ProxyError, bad_request
from proxy.formats.base import StreamTranslator, TextSlot, WireFormat, restore_tree
from proxy.formats.json_string import JSON_FIELDS
from proxy.formats.openai_schema import CHAT, COMPLETIONS, EMBEDDINGS
from proxy.formats.openai_stream import OpenAIStream
from proxy.formats.schema import Obj, find_texts
from proxy.restoring import Restorer

# Azure OpenAI's one query parameter; a date, never text.
_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(?:-preview)?")


class OpenAIFormat(WireFormat):
    """What the OpenAI endpoints share: error shape, choices restoring, stream, query."""

    #: The request schema; a server with ``upstream.extra_fields`` uses an extended copy.
    schema: Obj

    def request_texts(self, body: dict[str, Any]) -> list[TextSlot]:
        return find_texts(self.schema, body)

    def restore_answer(self, body: Any, restorer: Restorer) -> Any:
        """Each choice's message (chat) or text (completions) restored, tool-call arguments
        with JSON-escaped originals; top-level ids, model names and usage stay as sent."""
        if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
            return body
        for choice in body["choices"]:
            if not isinstance(choice, dict):
                continue
            for key in ("message", "text", "delta"):
                if key in choice:
                    choice[key] = restore_tree(choice[key], restorer, JSON_FIELDS)
        return body

    def stream(self, restorer: Restorer) -> StreamTranslator:
        return OpenAIStream(restorer)

    def error_body(self, error: ProxyError) -> dict[str, Any]:
        return error.body()

    def forwarded_query(self, query: Mapping[str, str]) -> dict[str, str]:
        """Only Azure's ``api-version`` (a date); any other parameter stays behind."""
        version = query.get("api-version")
        return {"api-version": version} if version and _API_VERSION.fullmatch(version) else {}


class ChatCompletions(OpenAIFormat):
    """``POST /v1/chat/completions``."""

    name = "openai.chat"
    schema = CHAT

    def request_texts(self, body: dict[str, Any]) -> list[TextSlot]:
        if not isinstance(body.get("messages"), list):
            raise bad_request("'messages' must be a list", "invalid_messages")
        return super().request_texts(body)


class Completions(OpenAIFormat):
    """``POST /v1/completions`` (legacy text completions)."""

    name = "openai.completions"
    schema = COMPLETIONS


class Embeddings(OpenAIFormat):
    """``POST /v1/embeddings``: never streamed; the answer holds vectors, nothing to restore."""

    name = "openai.embeddings"
    schema = EMBEDDINGS

    def wants_stream(self, body: dict[str, Any]) -> bool:
        return False


CHAT_FORMAT = ChatCompletions()
COMPLETIONS_FORMAT = Completions()
EMBEDDINGS_FORMAT = Embeddings()
