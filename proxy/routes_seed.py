"""The anonymize-rs HTTP API, kept as it was, plus restore by request id for operators.

``GET /api/anonymize?text=``, ``POST /api/anonymize {"text"}`` -> ``{"text", "items"}``;
``POST /api/deanonymize {"text", "items"}`` -> ``{"text"}``. ``{"text", "request_id"}``
restores from the stored map; it reveals personal data, so it needs the admin token and is
off when none is configured.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiohttp import web

from proxy.client_request import LOG_FIELDS, bearer, check_client, read_json_object
from proxy.crypto import DecryptionError
from proxy.errors import ProxyError, bad_request, forbidden, store_unavailable, unauthorized
from proxy.logs import log_event
from proxy.restoring import Restorer
from proxy.state import state_of
from proxy.store import StoreError


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/anonymize", anonymize_query),
        web.post("/api/anonymize", anonymize_body),
        web.post("/api/deanonymize", deanonymize_body),
    ]


async def anonymize_query(request: web.Request) -> web.Response:
    state = state_of(request)
    check_client(request, state.settings)
    text = request.query.get("text")
    if text is None:
        raise bad_request("missing query parameter 'text'", "missing_text")
    return await _anonymize(request, text)


async def anonymize_body(request: web.Request) -> web.Response:
    state = state_of(request)
    check_client(request, state.settings)
    body = await read_json_object(request, state.settings.max_body_bytes)
    return await _anonymize(request, _text_field(body))


async def _anonymize(request: web.Request, text: str) -> web.Response:
    state = state_of(request)
    result = await state.anonymize([text], request[LOG_FIELDS])
    return web.json_response({"text": result.texts[0], "items": result.items},
                             dumps=_dumps)


async def deanonymize_body(request: web.Request) -> web.Response:
    state = state_of(request)
    settings = state.settings
    body = await read_json_object(request, settings.max_body_bytes)
    text = _text_field(body)
    if "request_id" in body:
        _check_admin(request, settings.admin_token)
        items = await _stored_items(request, body["request_id"])
    else:
        check_client(request, settings)  # the caller holds the map: no secret revealed
        items = body.get("items")
        if not isinstance(items, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in items.items()):
            raise bad_request("'items' must be an object of strings", "invalid_items")
    restorer = Restorer(items, state.label_of)
    return web.json_response({"text": restorer.text(text)}, dumps=_dumps)


def _check_admin(request: web.Request, admin_token: str | None) -> None:
    if not admin_token:
        raise forbidden("restoring by request_id is disabled: no admin token is configured")
    token = bearer(request)
    if token is None or not hmac.compare_digest(token, admin_token):
        raise unauthorized("restoring by request_id needs the admin token")


async def _stored_items(request: web.Request, request_id: Any) -> dict[str, str]:
    state = state_of(request)
    if not isinstance(request_id, str) or not request_id:
        raise bad_request("'request_id' must be a non-empty string", "invalid_request_id")
    try:
        items = await state.store.get(request_id)
    except StoreError as exc:
        state.metrics.child(state.metrics.store_errors, "get").inc()
        log_event("store_failed", level=logging.WARNING, operation="get",
                  store=state.store.address, error=str(exc))
        raise store_unavailable() from None
    except DecryptionError:
        state.metrics.child(state.metrics.store_errors, "decrypt").inc()
        raise ProxyError(500, "the stored map cannot be decrypted with this proxy's key",
                         "server_error", "decryption_failed") from None
    if items is None:
        raise ProxyError(404, "no stored map for this request_id (unknown or expired)",
                         "invalid_request_error", "request_id_not_found")
    return items


def _text_field(body: dict[str, Any]) -> str:
    text = body.get("text")
    if not isinstance(text, str):
        raise bad_request("'text' must be a string", "missing_text")
    return text


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
