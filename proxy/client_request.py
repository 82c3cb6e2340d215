"""Reading a client request: request id, body limit, JSON, and the client key in egress mode."""

from __future__ import annotations

import hmac
import os
import re
import zlib
from typing import Any

from aiohttp import web

from proxy import jsonio
from proxy.errors import ProxyError, bad_request, too_large, unauthorized
from proxy.settings import Settings

_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
# The proxy's own id of the request: the key of its stored item map. A client's reused
# X-Request-Id must never reach another request's map, so this id is always made here.
MAP_ID: web.RequestKey[str] = web.RequestKey("map_id", str)
# Fields a handler adds to the request's one log line (counts and codes, never text).
LOG_FIELDS: web.RequestKey[dict] = web.RequestKey("log_fields", dict)


def request_ids(request: web.Request) -> tuple[str, str]:
    """``(correlation id, map id)``: the client's ``X-Request-Id`` (if sane) for logs and the
    response header, and a new id for the stored map; without a client id both are one id."""
    map_id = new_request_id()
    given = request.headers.get("X-Request-Id")
    if given is not None and _SANE_ID.fullmatch(given):
        return given, map_id
    return map_id, map_id


def new_request_id() -> str:
    """A random UUID, as ``str(uuid.uuid4())`` writes it, without building a ``UUID``."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` (chunked uploads too).

    A gzip or deflate body is inflated here, never more than ``limit + 1`` bytes of it (the
    app turns aiohttp's own inflating off): a small bomb costs what a plain body of the limit
    costs, and reading stops at the 413.
    """
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    inflater = _inflater(request.headers.get("Content-Encoding", ""))
    chunks, size = [], 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            break
        if inflater is not None:
            chunk = _inflate(inflater, chunk, limit + 1 - size)
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    if inflater is not None and not inflater.eof:
        raise bad_request("the compressed request body is incomplete", "invalid_body_encoding")
    return b"".join(chunks)


def _inflater(encoding: str) -> Any:
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return None
    if name in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(wbits=47)  # 32 + 15: a gzip or zlib header, told apart
    raise ProxyError(415, "unsupported Content-Encoding; send gzip, deflate or none",
                     "invalid_request_error", "unsupported_content_encoding")


def _inflate(inflater: Any, chunk: bytes, room: int) -> bytes:
    """At most ``room`` (>= 1) inflated bytes of ``chunk``: when they fill it, more was left
    (``unconsumed_tail``) and the caller's count passes the limit."""
    try:
        data = inflater.decompress(chunk, room)
    except zlib.error:
        raise bad_request("the compressed request body is not valid gzip or deflate",
                          "invalid_body_encoding") from None
    if inflater.unused_data:
        raise bad_request("the compressed request body has trailing bytes",
                          "invalid_body_encoding")
    return data


async def read_json_object(request: web.Request, limit: int) -> dict[str, Any]:
    raw = await read_body(request, limit)
    try:
        body = jsonio.loads_request(raw)
    except jsonio.InvalidRequestJSON:
        raise bad_request("the request body is not valid JSON", "invalid_json") from None
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object", "invalid_json")
    return body


def ensure_client_waiting(request: web.Request) -> None:
    """Called right before a request goes upstream: nobody waits for an answer when the
    client has hung up, so nothing is sent (and nobody pays for the tokens)."""
    transport = request.transport
    if transport is None or transport.is_closing():
        raise ProxyError(499, "the client closed the connection", "invalid_request_error",
                         "client_gone")


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
