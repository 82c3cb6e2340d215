"""Item maps kept by the provider's response id, so a later turn or a ``GET`` restores right.

With ``previous_response_id`` the provider holds the earlier turns, anonymized with the map of
those turns; the new turn must extend that same map, or ``PERSON0`` would name someone else
in one conversation. Each response's map is stored under its id, scoped by a hash of the
client's key (another key cannot reach it); an id the proxy has no map for is refused, never
answered with a fresh mapping.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from aiohttp import web

from proxy.crypto import DecryptionError
from proxy.errors import ProxyError, bad_request, store_unavailable
from proxy.formats.base import Answer, Exchange, RelayHook
from proxy.formats.responses import CompactFormat, InputTokensFormat, ResponsesFormat
from proxy.providers import OPENAI
from proxy.state import ProxyState, state_of
from proxy.store import StoreError

# A provider id in a path or a body: one segment, no separators (resp_..., conv_...).
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,199}")


def checked_id(value: Any, what: str) -> str:
    """``value`` if it is a plain id, else 400 (it goes into a URL path and a store key)."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise bad_request(f"{what} is not a valid id", "invalid_id")
    return value


def client_scope(request: web.Request) -> str:
    """Who may reach a stored map: a hash of the key the client showed (its provider key, or
    its proxy key in egress mode); ``anonymous`` without one."""
    key = OPENAI.client_key(request.headers)
    if not key:
        return "anonymous"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _store_id(scope: str, kind: str, object_id: str) -> str:
    # '/' never appears in a request id (X-Request-Id), so no client can write these keys.
    return f"{kind}/{scope}/{object_id}"


async def load_map(state: ProxyState, request: web.Request, kind: str,
                   object_id: str) -> dict[str, str] | None:
    """The stored map of a response (``kind="response"``) or a conversation, or None."""
    try:
        return await state.store.get(_store_id(client_scope(request), kind, object_id))
    except StoreError as exc:
        state.store_failed("get", exc)
        raise store_unavailable() from None
    except DecryptionError:
        state.metrics.child(state.metrics.store_errors, "decrypt").inc()
        raise ProxyError(500, "the stored map cannot be decrypted with this proxy's key",
                         "server_error", "decryption_failed") from None


async def save_map(state: ProxyState, request: web.Request, kind: str, object_id: str,
                   items: dict[str, str]) -> None:
    try:
        await state.store.put(_store_id(client_scope(request), kind, object_id), items)
    except StoreError as exc:
        state.store_failed("put", exc)
        raise store_unavailable() from None


class ForgetOnDelete(RelayHook):
    """``DELETE`` of a response: once the provider confirms it (``"deleted": true``), the
    response's map is deleted too, rather than kept until its TTL. A store failure is counted
    and logged; the client still gets the provider's answer (the map then just expires)."""

    def __init__(self, kind: str, object_id: str) -> None:
        self.kind = kind
        self.object_id = object_id

    async def answered(self, exchange: Exchange, answer: Answer) -> None:
        body = answer.upstream
        if answer.status != 200 or not isinstance(body, dict) or body.get("deleted") is not True:
            return
        state = state_of(exchange.request)
        try:
            await state.store.delete(_store_id(client_scope(exchange.request), self.kind,
                                               self.object_id))
        except StoreError as exc:
            state.store_failed("delete", exc)


def previous_not_found() -> ProxyError:
    return bad_request("previous_response_id names a response this proxy holds no map for "
                       "(made elsewhere, by another key, deleted, or expired after "
                       "store.ttl_seconds); "
                       "its turns cannot be continued with the same placeholders, so nothing "
                       "was forwarded", "previous_response_not_found")


def conversation_not_found() -> ProxyError:
    return bad_request("conversation names a conversation this proxy holds no map for "
                       "(created elsewhere, by another key, or expired); nothing was forwarded",
                       "conversation_not_found")


def conversation_id(body: dict[str, Any]) -> str | None:
    value = body.get("conversation")
    if isinstance(value, dict):
        value = value.get("id")
    return None if value is None else checked_id(value, "conversation")


class ResponseMapsHooks(RelayHook):
    """Relay hooks of the Responses routes: the maps of earlier turns are loaded for
    ``previous_response_id`` / ``conversation`` and extended; the result is stored under the
    new response's id (and the conversation's)."""

    #: Whether the answer's map is stored (not for a token count or a compaction).
    stores: bool = True

    async def known_mapping(self, exchange: Exchange) -> dict[str, str]:
        state = state_of(exchange.request)
        body = exchange.body
        known: dict[str, str] = {}
        previous = body.get("previous_response_id")
        if previous is not None:
            found = await load_map(state, exchange.request, "response",
                                   checked_id(previous, "previous_response_id"))
            if found is None:
                raise previous_not_found()
            known.update(found)
        conversation = conversation_id(body)
        if conversation is not None:
            found = await load_map(state, exchange.request, "conversation", conversation)
            if found is None:
                raise conversation_not_found()
            known.update(found)
        return known

    async def answered(self, exchange: Exchange, answer: Answer) -> None:
        if not self.stores or answer.status >= 400:
            return
        if answer.stream is not None:
            response_id = getattr(answer.stream, "response_id", None)
        else:
            upstream = answer.upstream
            response_id = upstream.get("id") if isinstance(upstream, dict) else None
        state = state_of(exchange.request)
        conversation = conversation_id(exchange.body)
        if conversation is not None:
            await save_map(state, exchange.request, "conversation", conversation,
                           exchange.items)
        # With store: false the provider keeps nothing a later request could name.
        if exchange.body.get("store") is False or not isinstance(response_id, str):
            return
        if _ID.fullmatch(response_id):
            await save_map(state, exchange.request, "response", response_id, exchange.items)


class CreateWithMaps(ResponseMapsHooks, ResponsesFormat):
    """``POST /v1/responses``."""


class InputTokensWithMaps(ResponseMapsHooks, InputTokensFormat):
    """``POST /v1/responses/input_tokens``: counts with the earlier turns' placeholders."""

    stores = False


class CompactWithMaps(ResponseMapsHooks, CompactFormat):
    """``POST /v1/responses/compact``."""

    stores = False
