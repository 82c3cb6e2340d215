"""Restoring Responses API objects: a response, its output items, an input-items page, an event.

Every string is restored except those that are ids, kinds or opaque data (a placeholder can
only come back where the provider writes text, but an id or a base64 blob must never be
touched, even if it happens to contain one). ``arguments`` (function and MCP calls) hold
JSON: their originals go in JSON-escaped.
"""

from __future__ import annotations

from typing import Any

from proxy.formats.json_string import JSON_FIELDS
from proxy.restoring import Restorer

# Keys whose string values are ids, kinds or opaque data: never restored.
_KEEP_KEYS = frozenset({"id", "object", "type", "status", "call_id", "item_id", "response_id",
                        "previous_response_id", "model", "encrypted_content", "result",
                        "partial_image_b64", "file_id", "container_id", "image_url",
                        "file_data", "obfuscation", "first_id", "last_id", "role"})


def restore_object(value: Any, restorer: Restorer) -> Any:
    """``value`` with every text string restored, ids and opaque data kept (in place);
    ``arguments`` strings with JSON-escaped originals."""
    if isinstance(value, str):
        return restorer.text(value)
    if isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = restore_object(item, restorer)
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            if key in JSON_FIELDS and isinstance(item, str):
                value[key] = restorer.for_json().text(item)
            elif not (key in _KEEP_KEYS and isinstance(item, str)):
                value[key] = restore_object(item, restorer)
        return value
    return value
