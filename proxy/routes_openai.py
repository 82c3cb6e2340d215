"""The OpenAI-compatible routes: each one a wire format on the shared relay (``proxy/relay.py``).

The relay keeps the fail-closed order (read, check, find texts, anonymize, store, then send);
the formats in ``proxy/formats/openai_chat.py`` say which strings are text.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp
from aiohttp import web

from proxy import relay, routes_anthropic
from proxy.client_request import check_client
from proxy.formats.extra import ExtraField, with_extra_fields
from proxy.formats.openai_chat import CHAT_FORMAT, COMPLETIONS_FORMAT, EMBEDDINGS_FORMAT
from proxy.state import ProxyState, state_of
from proxy.upstream import path_segment, read_body, response_headers


def routes(extra_fields: Sequence[ExtraField] = ()) -> list[web.RouteDef]:
    """The routes; ``extra_fields`` (``upstream.extra_fields``) extend the formats' schemas."""
    chat = with_extra_fields(CHAT_FORMAT, "chat", extra_fields)
    completions = with_extra_fields(COMPLETIONS_FORMAT, "completions", extra_fields)
    embeddings = with_extra_fields(EMBEDDINGS_FORMAT, "embeddings", extra_fields)
    return [
        relay.post("/v1/chat/completions", chat, "/chat/completions"),
        relay.post("/v1/completions", completions, "/completions"),
        relay.post("/v1/embeddings", embeddings, "/embeddings"),
        web.get("/v1/models", models),
        web.get("/v1/models/{model}", models),
    ]


async def models(request: web.Request) -> web.StreamResponse:
    """Passed through: nothing personal goes up, nothing to restore."""
    if routes_anthropic.is_anthropic(request):  # the same path in Anthropic's API
        return await routes_anthropic.models(request)
    state = state_of(request)
    check_client(request, state.settings)
    model = request.match_info.get("model")
    path = "/models" + (f"/{path_segment(model)}" if model is not None else "")
    upstream = await _send(request, state, "GET", path, None)
    async with upstream:
        body = await read_body(upstream)
    return web.Response(body=body, status=upstream.status,
                        content_type=upstream.content_type or "application/json",
                        headers=response_headers(upstream.headers))


async def _send(request: web.Request, state: ProxyState, method: str, path: str,
                payload: bytes | None) -> aiohttp.ClientResponse:
    """No query parameter goes upstream: a query string is text the provider reads."""
    return await relay.send(request, state, state.upstream, method, path, payload)
