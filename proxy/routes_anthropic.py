"""The Anthropic routes: ``/v1/messages`` (streamed or not), ``count_tokens``, models, probes.

Requests go through the shared fail-closed relay in the Messages format; the Anthropic
upstream has its own base URL and, in egress mode, the proxy's own Anthropic key. Claude Code
probes its base URL with ``HEAD /`` before the first message: answered here, never forwarded.
Paths the proxy does not know (Claude Code's telemetry and account calls) get a 404 and go
nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiohttp import web

from proxy.errors import ProxyError
from proxy.formats.anthropic import COUNT_TOKENS, MESSAGES
from proxy.formats.base import ERROR_FORMAT
from proxy.formats.extra import ExtraField, with_extra_fields
from proxy.providers import Provider
from proxy.relay import post, send
from proxy.settings import Settings
from proxy.state import state_of
from proxy.upstream import path_segment, read_body, response_headers


class AnthropicProvider(Provider):
    """Anthropic's headers: ``x-api-key`` (or a Bearer token), ``anthropic-version`` and
    ``anthropic-beta`` passed on untouched; the proxy's own key goes in ``x-api-key``."""

    name = "anthropic"
    forward_headers = ("x-api-key", "authorization", "anthropic-version", "anthropic-beta",
                       "accept")
    auth_headers = ("x-api-key", "authorization")

    def client_key(self, headers: Mapping[str, str]) -> str | None:
        return headers.get("x-api-key") or super().client_key(headers)

    def own_key_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def check_client(self, request: web.Request, settings: Settings) -> None:
        super().check_client(request, settings)
        if settings.egress_mode and not settings.anthropic_upstream_key:
            # Forwarding the client's headers would hand the proxy's client key to Anthropic.
            raise ProxyError(403, "this proxy has no Anthropic key configured "
                                  "(upstream.anthropic_api_key)", "permission_error",
                             "provider_not_configured")


ANTHROPIC = AnthropicProvider()


def is_anthropic(request: web.Request) -> bool:
    """An Anthropic SDK call: every Anthropic client sends ``anthropic-version``."""
    return "anthropic-version" in request.headers


async def models(request: web.Request) -> web.StreamResponse:
    """``GET /v1/models[/{id}]`` of Anthropic: passed through (nothing personal, nothing to
    restore). Reached from the shared models route when ``is_anthropic(request)``."""
    request[ERROR_FORMAT] = MESSAGES
    state = state_of(request)
    upstream = state.upstream_for(ANTHROPIC.name)
    upstream.provider.check_client(request, state.settings)
    model = request.match_info.get("model")
    path = "/v1/models" + (f"/{path_segment(model)}" if model is not None else "")
    query = {k: v for k, v in request.query.items() if k in ("limit", "after_id", "before_id")}
    answer = await send(request, state, upstream, "GET", path, None, query)
    async with answer:
        body = await read_body(answer)
    return web.Response(body=body, status=answer.status,
                        content_type=answer.content_type or "application/json",
                        headers=response_headers(answer.headers))


async def probe(request: web.Request) -> web.Response:
    """``HEAD /`` and ``/api/hello``: Claude Code checks that its base URL answers."""
    return web.json_response({"status": "ok"})


def routes(extra_fields: Sequence[ExtraField] = ()) -> list[web.RouteDef]:
    """The routes; ``extra_fields`` (``upstream.extra_fields``) extend the Messages schema."""
    messages, count_tokens = (with_extra_fields(fmt, "messages", extra_fields)
                              for fmt in (MESSAGES, COUNT_TOKENS))
    return [
        post("/v1/messages", messages, "/v1/messages"),
        post("/v1/messages/count_tokens", count_tokens, "/v1/messages/count_tokens"),
        web.get("/", probe),
        web.get("/api/hello", probe),
    ]
