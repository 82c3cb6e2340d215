"""The aiohttp application: state, middleware (ids, errors, metrics, logs), routes, lifecycle."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from pipeline import Pipeline
from proxy import conversation, health, routes_openai, routes_seed
from proxy.client_request import LOG_FIELDS, REQUEST_ID, request_id_for
from proxy.conversation import derive_master
from proxy.crypto import ItemCipher
from proxy.errors import ProxyError, internal_error, method_not_allowed, not_found, too_large
from proxy.formats.base import ERROR_FORMAT
from proxy.kv import KeyValue
from proxy.logs import log_event, log_request
from proxy.metrics import Metrics, placeholder_labeler
from proxy.settings import Settings
from proxy.state import STATE, ProxyState
from proxy.store import ItemStore, open_store
from proxy.upstream import Upstream

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(settings: Settings, *, pipeline: Pipeline | None = None,
               store: ItemStore | None = None) -> web.Application:
    """Build the app; the pipeline loads here, so a bad config fails before the port opens."""
    if pipeline is None:
        pipeline = Pipeline.from_dict(settings.pipeline_config,
                                      base_dir=settings.config_path.resolve().parent)
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
    if settings.conversations:
        conversation.install(state, KeyValue(store), derive_master(settings.encryption_key),
                             ItemCipher(settings.encryption_key) if settings.encryption_key
                             else None)

    # The body limit is enforced by read_body (413 in OpenAI's shape); aiohttp's own limit
    # sits just above it so it never answers first.
    app = web.Application(middlewares=[observe], client_max_size=settings.max_body_bytes + 1)
    app[STATE] = state
    app.add_routes(routes_openai.routes() + routes_seed.routes() + health.routes())
    app.on_startup.append(_startup)
    app.on_shutdown.append(_shutdown)
    app.on_cleanup.append(_cleanup)
    return app


async def _startup(app: web.Application) -> None:
    state = app[STATE]
    await state.upstream.start()
    if not state.store.encrypted:
        log_event("store_unencrypted", level=30,
                  hint="set ANONYMIZE_PROXY_KEY so stored item maps are encrypted")
    log_event("started", upstream=state.settings.upstream, stages=len(state.pipeline.stages),
              store=state.settings.redis_url.split("://", 1)[0])


async def _shutdown(app: web.Application) -> None:
    """SIGTERM: the listener is closed already; open requests get the grace period."""
    app[STATE].shutting_down = True
    log_event("shutting_down", grace_seconds=app[STATE].settings.shutdown_grace_seconds)


async def _cleanup(app: web.Application) -> None:
    state = app[STATE]
    await state.upstream.close()
    await state.store.close()
    state.pipeline.close()
    log_event("stopped")


def _route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, OpenAI-shaped errors, one metric sample and one log line per request."""
    state = request.app[STATE]
    request[REQUEST_ID] = request_id_for(request)
    request[LOG_FIELDS] = {}
    started = time.perf_counter()
    route = _route_of(request)
    try:
        response = await handler(request)
    except ProxyError as exc:
        fmt = request.get(ERROR_FORMAT)  # the route's API speaks its own error shape
        response = exc.response() if fmt is None else fmt.error_response(exc)
        request[LOG_FIELDS]["error"] = exc.code
    except web.HTTPRequestEntityTooLarge:
        response = too_large(state.settings.max_body_bytes).response()
    except web.HTTPNotFound:
        response = not_found().response()
    except web.HTTPMethodNotAllowed:
        response = method_not_allowed().response()
    except web.HTTPException as exc:
        response = ProxyError(exc.status, exc.reason, "invalid_request_error",
                              "http_error").response()
    except Exception as exc:  # never a traceback with a user's text in it
        log_event("unhandled_error", level=40, route=route, error_type=type(exc).__name__)
        response = internal_error().response()
    if not response.prepared:
        response.headers["X-Request-Id"] = request[REQUEST_ID]
        # Sent now, so the client does not wait for the metrics and the log line below
        # (aiohttp would send it after this middleware returns; then it has nothing left to do).
        try:
            await response.prepare(request)
            await response.write_eof()
        except ConnectionError:
            request[LOG_FIELDS]["client_gone"] = True
    elapsed = time.perf_counter() - started
    status = response.status
    state.metrics.request_done(route, request.method, status, elapsed)
    if route not in ("/metrics", "/healthz", "/readyz"):
        log_request(request_id=request[REQUEST_ID], method=request.method, route=route,
                    status=status, latency_ms=round(elapsed * 1000, 1), **request[LOG_FIELDS])
    return response
