"""Reading a client request: request id, body limit, JSON, and the client key in egress mode."""

from __future__ import annotations

import hmac
import json
import os
import re
from typing import Any

from aiohttp import web

from proxy import jsonio
from proxy.errors import bad_request, too_large, unauthorized
from proxy.settings import Settings

_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
# Fields a handler adds to the request's one log line (counts and codes, never text).
LOG_FIELDS: web.RequestKey[dict] = web.RequestKey("log_fields", dict)


def request_id_for(request: web.Request) -> str:
    """The client's ``X-Request-Id`` if it is a plain token (used as a Redis key and logged),
    else a new UUID."""
    given = request.headers.get("X-Request-Id")
    return given if given is not None and _SANE_ID.fullmatch(given) else new_request_id()


def new_request_id() -> str:
    """A random UUID, as ``str(uuid.uuid4())`` writes it, without building a ``UUID``."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` (chunked uploads too)."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    chunks, size = [], 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_object(request: web.Request, limit: int) -> dict[str, Any]:
    raw = await read_body(request, limit)
    try:
        body = jsonio.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad_request("the request body is not valid JSON", "invalid_json") from None
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object", "invalid_json")
    return body


def bearer(request: web.Request) -> str | None:
    value = request.headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def check_client(request: web.Request, settings: Settings) -> None:
    """Egress mode: the client must present one of the configured keys."""
    if not settings.egress_mode:
        return
    token = bearer(request) or request.headers.get("api-key")
    if not token or not any(hmac.compare_digest(token, key) for key in settings.client_keys):
        raise unauthorized()
