"""The Conversations API (``/v1/conversations``), so ``conversation`` works in a response.

A conversation made through the proxy gets its map stored under its id (scoped by client
key); adding items or answering with ``conversation`` extends that map, so the same person
keeps one placeholder in the whole conversation. A conversation the proxy holds no map for
(made elsewhere or expired) cannot get items or turns through it: refused, never continued
with a fresh mapping. Reads are restored with the conversation's map.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from proxy import relay
from proxy.formats.base import Answer, Exchange, RelayHook
from proxy.formats.responses import ConversationFormat
from proxy.formats.responses_schema import (
    CONVERSATION_CREATE,
    CONVERSATION_ITEMS,
    CONVERSATION_UPDATE,
)
from proxy.response_maps import (
    ForgetOnDelete,
    checked_id,
    conversation_not_found,
    load_map,
    save_map,
)
from proxy.routes_responses import read_restored
from proxy.state import state_of

_KIND = "conversation"


class ConversationHooks(RelayHook):
    """Load the conversation's map (path id) before, store the extended map after."""

    async def known_mapping(self, exchange: Exchange) -> dict[str, str]:
        conversation = exchange.request.match_info.get("conversation_id")
        if conversation is None:
            return {}
        found = await load_map(state_of(exchange.request), exchange.request, _KIND,
                               checked_id(conversation, "the conversation id"))
        if found is None:
            raise conversation_not_found()
        return found

    async def answered(self, exchange: Exchange, answer: Answer) -> None:
        if answer.status >= 400:
            return
        conversation = exchange.request.match_info.get("conversation_id")
        if conversation is None and isinstance(answer.upstream, dict):
            conversation = answer.upstream.get("id")
        if isinstance(conversation, str):
            await save_map(state_of(exchange.request), exchange.request, _KIND,
                           checked_id(conversation, "the conversation id"), exchange.items)


class _Conversation(ConversationHooks, ConversationFormat):
    pass


CREATE = _Conversation(CONVERSATION_CREATE)
ADD_ITEMS = _Conversation(CONVERSATION_ITEMS)
UPDATE = _Conversation(CONVERSATION_UPDATE)


def routes() -> list[web.RouteDef]:
    return [
        relay.post("/v1/conversations", CREATE, "/conversations"),
        web.post("/v1/conversations/{conversation_id}", update),
        web.get("/v1/conversations/{conversation_id}", read),
        web.delete("/v1/conversations/{conversation_id}", delete),
        web.post("/v1/conversations/{conversation_id}/items", add_items),
        web.get("/v1/conversations/{conversation_id}/items", read),
        web.get("/v1/conversations/{conversation_id}/items/{item_id}", read),
        web.delete("/v1/conversations/{conversation_id}/items/{item_id}", read),
    ]


def _path(request: web.Request) -> tuple[str, str]:
    conversation = checked_id(request.match_info["conversation_id"], "the conversation id")
    path = f"/conversations/{quote(conversation, safe='')}"
    if request.path.rstrip("/").endswith("/items") or "item_id" in request.match_info:
        path += "/items"
    if "item_id" in request.match_info:
        path += "/" + quote(checked_id(request.match_info["item_id"], "the item id"), safe="")
    return conversation, path


async def update(request: web.Request) -> web.StreamResponse:
    """``POST /v1/conversations/{id}``: new metadata, anonymized with the conversation's map."""
    return await relay.relay(request, UPDATE, _path(request)[1])


async def add_items(request: web.Request) -> web.StreamResponse:
    """``POST /v1/conversations/{id}/items``."""
    return await relay.relay(request, ADD_ITEMS, _path(request)[1])


async def read(request: web.Request) -> web.StreamResponse:
    """``GET`` / ``DELETE`` of a conversation's items, ``GET`` of it: restored with its map."""
    conversation, path = _path(request)
    return await read_restored(request, request.method, _KIND, conversation, path)


async def delete(request: web.Request) -> web.StreamResponse:
    """``DELETE /v1/conversations/{id}``: passed on; once the provider confirms, the
    conversation's map is deleted too (later turns naming it are refused)."""
    conversation, path = _path(request)
    return await read_restored(request, "DELETE", _KIND, conversation, path,
                               (ForgetOnDelete(_KIND, conversation),))
