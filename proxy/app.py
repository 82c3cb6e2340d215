"""The aiohttp application: state, middleware (ids, errors, metrics, logs), routes, lifecycle."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from pipeline import Pipeline
from proxy import (
    conversation,
    health,
    routes_anthropic,
    routes_conversations,
    routes_openai,
    routes_responses,
    routes_seed,
)
from proxy.client_request import LOG_FIELDS, MAP_ID, REQUEST_ID, request_ids
from proxy.conversation import derive_master
from proxy.crypto import ItemCipher
from proxy.errors import ProxyError, internal_error, method_not_allowed, not_found, too_large
from proxy.formats.base import ERROR_FORMAT
from proxy.kv import KeyValue
from proxy.logs import log_event, log_request
from proxy.metrics import Metrics, placeholder_labeler
from proxy.settings import SECTIONS, Settings
from proxy.state import STATE, ProxyState
from proxy.store import ItemStore, MemoryItemStore, StoreError, open_store
from proxy.upstream import Upstream, UpstreamReadError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_HEALTH_ROUTES = ("/metrics", "/healthz", "/readyz")


def create_app(settings: Settings, *, pipeline: Pipeline | None = None,
               store: ItemStore | None = None) -> web.Application:
    """Build the app; the pipeline loads here, so a bad config fails before the port opens."""
    if pipeline is None:
        pipeline = Pipeline.from_dict(settings.pipeline_config,
                                      base_dir=settings.config_path.resolve().parent,
                                      other_sections=SECTIONS)
    metrics = Metrics()
    metrics.instrument_pipeline(pipeline)
    if store is None:
        store = open_store(settings.redis_url, ttl_seconds=settings.ttl_seconds,
                           key_prefix=settings.key_prefix, key=settings.encryption_key,
                           cluster=settings.redis_cluster)
    upstream = Upstream(settings.upstream, connect=settings.connect_timeout_seconds,
                        first_byte=settings.first_byte_timeout_seconds,
                        total=settings.total_timeout_seconds, api_key=settings.upstream_key)
    state = ProxyState(settings=settings, pipeline=pipeline, store=store, upstream=upstream,
                       metrics=metrics, label_of=placeholder_labeler(pipeline))
    state.upstreams[routes_anthropic.ANTHROPIC.name] = Upstream(
        settings.anthropic_upstream, connect=settings.connect_timeout_seconds,
        first_byte=settings.first_byte_timeout_seconds, total=settings.total_timeout_seconds,
        api_key=settings.anthropic_upstream_key, provider=routes_anthropic.ANTHROPIC)
    if settings.conversations:
        conversation.install(state, KeyValue(store), derive_master(settings.encryption_key),
                             ItemCipher(settings.encryption_key) if settings.encryption_key
                             else None)

    # The body limit is enforced by read_body (413 in OpenAI's shape); aiohttp's own limit
    # sits just above it so it never answers first. read_body inflates gzip bodies itself,
    # counting inflated bytes, so aiohttp's inflating is off; a client that disconnects
    # cancels its handler, and with it the request's queued work.
    app = web.Application(middlewares=[observe], client_max_size=settings.max_body_bytes + 1,
                          handler_args={"auto_decompress": False,
                                        "handler_cancellation": True})
    app[STATE] = state
    extra = settings.extra_fields  # schemas extended once, here (upstream.extra_fields)
    app.add_routes(routes_openai.routes(extra) + routes_responses.routes(extra)
                   + routes_conversations.routes() + routes_anthropic.routes(extra)
                   + routes_seed.routes()
                   + health.routes())
    app.on_response_prepare.append(_id_headers)
    app.on_startup.append(_startup)
    app.on_shutdown.append(_shutdown)
    app.on_cleanup.append(_cleanup)
    return app


async def _startup(app: web.Application) -> None:
    state = app[STATE]
    await state.upstream.start()
    for other in state.upstreams.values():
        await other.start()
    # memory:// maps never leave the process, so a key would protect nothing there.
    if not state.store.encrypted and not isinstance(state.store, MemoryItemStore):
        log_event("store_unencrypted", level=logging.WARNING, store=state.store.address,
                  hint="set ANONYMIZE_PROXY_KEY so stored item maps are encrypted")
    log_event("started", upstream=state.settings.upstream, stages=len(state.pipeline.stages),
              store=state.store.address)
    await _check_store(state.store)


async def _check_store(store: ItemStore) -> None:
    """A store that does not answer at start-up is said so at once, not at the first 503."""
    try:
        await asyncio.wait_for(store.ping(), 5)
    except (StoreError, TimeoutError) as exc:
        log_event("store_unreachable", level=logging.WARNING, store=store.address,
                  error=str(exc) or type(exc).__name__,
                  hint="requests get 503 until the store answers")


async def _shutdown(app: web.Application) -> None:
    """The runner is stopping (``proxy.serve`` has drained it already, if it served)."""
    state = app[STATE]
    if not state.shutting_down:
        state.shutting_down = True
        log_event("shutting_down", grace_seconds=state.settings.shutdown_grace_seconds)


async def _cleanup(app: web.Application) -> None:
    state = app[STATE]
    await state.upstream.close()
    for other in state.upstreams.values():
        await other.close()
    await state.store.close()
    state.pipeline.close()
    log_event("stopped")


def _route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _error_response(request: web.Request, error: ProxyError) -> web.Response:
    """The error in the shape of the API the route speaks (OpenAI's unless it set one)."""
    fmt = request.get(ERROR_FORMAT)
    return fmt.error_response(error) if fmt is not None else error.response()


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, OpenAI-shaped errors, one metric sample and one log line per request."""
    state = request.app[STATE]
    request[REQUEST_ID], request[MAP_ID] = request_ids(request)
    request[LOG_FIELDS] = {}
    started = time.perf_counter()
    route = _route_of(request)
    watched = route not in _HEALTH_ROUTES
    if watched:
        state.in_flight += 1
    try:
        response = await handler(request)
    except asyncio.CancelledError:
        # The client hung up (aiohttp cancels its handler): its work was cancelled with it.
        request[LOG_FIELDS]["client_gone"] = True
        _account(request, route, 499, started)
        raise
    except ProxyError as exc:
        if isinstance(exc, UpstreamReadError):  # the answer's body broke off: upstream's
            state.metrics.child(state.metrics.upstream_errors, exc.code).inc()
        response = _error_response(request, exc)
        request[LOG_FIELDS]["error"] = exc.code
    except web.HTTPRequestEntityTooLarge:
        response = _error_response(request, too_large(state.settings.max_body_bytes))
    except web.HTTPNotFound:
        response = _error_response(request, not_found())
    except web.HTTPMethodNotAllowed:
        response = _error_response(request, method_not_allowed())
    except web.HTTPException as exc:
        response = _error_response(request, ProxyError(exc.status, exc.reason,
                                                       "invalid_request_error", "http_error"))
    except Exception as exc:  # never a traceback with a user's text in it
        log_event("unhandled_error", level=40, route=route, error_type=type(exc).__name__)
        response = _error_response(request, internal_error())
    finally:
        if watched:
            state.in_flight -= 1
    if not response.prepared:
        response.headers["X-Request-Id"] = request[REQUEST_ID]
        # Sent now, so the client does not wait for the metrics and the log line below
        # (aiohttp would send it after this middleware returns; then it has nothing left to do).
        try:
            await response.prepare(request)
            await response.write_eof()
        except ConnectionError:
            request[LOG_FIELDS]["client_gone"] = True
    _account(request, route, response.status, started)
    return response


def _account(request: web.Request, route: str, status: int, started: float) -> None:
    """The request's metric sample and its one log line."""
    elapsed = time.perf_counter() - started
    request.app[STATE].metrics.request_done(route, request.method, status, elapsed)
    if route not in _HEALTH_ROUTES:
        fields = request[LOG_FIELDS]
        if request[MAP_ID] != request[REQUEST_ID]:
            fields["proxy_request_id"] = request[MAP_ID]
        log_request(request_id=request[REQUEST_ID], method=request.method, route=route,
                    status=status, latency_ms=round(elapsed * 1000, 1), **fields)


async def _id_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer, streams included, names the id its item map is stored under."""
    map_id = request.get(MAP_ID)
    if map_id is not None:
        response.headers["X-Proxy-Request-Id"] = map_id
