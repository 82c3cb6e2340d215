"""The OpenAI-compatible routes: each one a wire format on the shared relay (``proxy/relay.py``).

The relay keeps the fail-closed order (read, check, find texts, anonymize, store, then send);
the formats in ``proxy/formats/openai_chat.py`` say which strings are text.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

from proxy import relay
from proxy.client_request import check_client
from proxy.formats.openai_chat import CHAT_FORMAT, COMPLETIONS_FORMAT, EMBEDDINGS_FORMAT
from proxy.state import ProxyState, state_of
from proxy.upstream import read_body, response_headers


def routes() -> list[web.RouteDef]:
    return [
        relay.post("/v1/chat/completions", CHAT_FORMAT, "/chat/completions"),
        relay.post("/v1/completions", COMPLETIONS_FORMAT, "/completions"),
        relay.post("/v1/embeddings", EMBEDDINGS_FORMAT, "/embeddings"),
        web.get("/v1/models", models),
        web.get("/v1/models/{model}", models),
    ]


async def models(request: web.Request) -> web.StreamResponse:
    """Passed through: nothing personal goes up, nothing to restore."""
    state = state_of(request)
    check_client(request, state.settings)
    path = "/models" + (f"/{request.match_info['model']}" if "model" in request.match_info
                        else "")
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
