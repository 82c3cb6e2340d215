"""The Responses API routes: create (streamed or not) on the shared relay, and the stored
response's sub-resources, restored with the map stored under that response's id.

``GET``, ``DELETE`` and ``cancel`` send no user text upstream (an id in the path, a few
token-shaped query parameters), so they skip anonymization; their answers are restored with
the response's own map, or pass as they came when the proxy holds none (then they hold only
placeholders or what never went through the proxy: nothing is revealed). A confirmed
``DELETE`` deletes the response's map as well.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

from aiohttp import web

from proxy import relay
from proxy.errors import bad_request
from proxy.formats.base import ERROR_FORMAT, Exchange, RelayHook
from proxy.formats.extra import ExtraField, with_extra_fields
from proxy.formats.responses import ResponsesFormat
from proxy.response_maps import (
    CompactWithMaps,
    CreateWithMaps,
    ForgetOnDelete,
    InputTokensWithMaps,
    checked_id,
    load_map,
)
from proxy.restoring import Restorer
from proxy.state import state_of

CREATE = CreateWithMaps()
INPUT_TOKENS = InputTokensWithMaps()
COMPACT = CompactWithMaps()
READ = ResponsesFormat()

# Query parameters of the GET routes; values are ids, enums or numbers.
_QUERY_NAMES = frozenset({"include", "include[]", "stream", "starting_after",
                          "include_obfuscation", "after", "before", "limit", "order"})
_QUERY_VALUE = re.compile(r"[A-Za-z0-9_.\-]{1,200}")


def routes(extra_fields: Sequence[ExtraField] = ()) -> list[web.RouteDef]:
    """The routes; ``extra_fields`` (``upstream.extra_fields``) extend the formats' schemas."""
    create, input_tokens, compact = (with_extra_fields(fmt, "responses", extra_fields)
                                     for fmt in (CREATE, INPUT_TOKENS, COMPACT))
    return [
        relay.post("/v1/responses", create, "/responses"),
        relay.post("/v1/responses/input_tokens", input_tokens, "/responses/input_tokens"),
        relay.post("/v1/responses/compact", compact, "/responses/compact"),
        web.get("/v1/responses/{response_id}", retrieve),
        web.delete("/v1/responses/{response_id}", delete),
        web.get("/v1/responses/{response_id}/input_items", input_items),
        web.post("/v1/responses/{response_id}/cancel", cancel),
    ]


async def retrieve(request: web.Request) -> web.StreamResponse:
    """``GET /v1/responses/{id}`` (``?stream=true`` replays the events): restored."""
    return await _by_id(request, "GET", "")


async def input_items(request: web.Request) -> web.StreamResponse:
    """``GET /v1/responses/{id}/input_items``: a page of the response's input, restored."""
    return await _by_id(request, "GET", "/input_items")


async def cancel(request: web.Request) -> web.StreamResponse:
    """``POST /v1/responses/{id}/cancel`` (background responses): the response, restored."""
    return await _by_id(request, "POST", "/cancel")


async def delete(request: web.Request) -> web.StreamResponse:
    """``DELETE /v1/responses/{id}``: passed on; once the provider confirms, the stored map
    is deleted too (a later ``previous_response_id`` naming it is refused, as for any id the
    proxy holds no map for)."""
    return await _by_id(request, "DELETE", "", forget=True)


async def _by_id(request: web.Request, method: str, suffix: str,
                 forget: bool = False) -> web.StreamResponse:
    response_id = checked_id(request.match_info["response_id"], "the response id")
    hooks = (ForgetOnDelete("response", response_id),) if forget else ()
    return await read_restored(request, method, "response", response_id,
                               f"/responses/{quote(response_id, safe='')}{suffix}", hooks)


async def read_restored(request: web.Request, method: str, kind: str, object_id: str,
                        path: str, hooks: Sequence[RelayHook] = ()) -> web.StreamResponse:
    """A bodiless call for a stored object, answered restored with the map kept under
    ``kind``/``object_id`` for this client (as it came when the proxy holds none); ``hooks``
    see the answer (``answered``) before the client does."""
    request[ERROR_FORMAT] = READ
    state = state_of(request)
    upstream = state.upstream_for(READ.provider)
    upstream.provider.check_client(request, state.settings)
    query = _forwarded_query(request) if method == "GET" else None
    items = await load_map(state, request, kind, object_id) or {}
    answer = await relay.send(request, state, upstream, method, path, None, query)
    restorer = Restorer(items, state.label_of)
    exchange = Exchange(request, {}, items=items)
    try:
        if answer.status == 200 and answer.content_type == "text/event-stream":
            return await relay._relay_stream(request, state, answer, READ.stream(restorer),
                                             exchange, hooks)
        return await relay._relay_whole(READ, answer, restorer, exchange, hooks)
    finally:
        answer.close()
        relay._count_restored(state, restorer)


def _forwarded_query(request: web.Request) -> list[tuple[str, str]]:
    """Known parameters with token values only; anything else is refused, since a query
    string is text the provider reads."""
    out = []
    for name, value in request.query.items():
        if name not in _QUERY_NAMES or not _QUERY_VALUE.fullmatch(value):
            raise bad_request("a query parameter is not one this route knows, or its value "
                              "is not an id, an enum or a number", "invalid_query")
        out.append((name, value))
    return out
