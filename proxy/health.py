"""Liveness, readiness and metrics: what an orchestrator and Prometheus poll."""

from __future__ import annotations

from aiohttp import web

from proxy.state import state_of
from proxy.store import StoreError


def routes() -> list[web.RouteDef]:
    return [
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.get("/metrics", metrics),
    ]


async def healthz(request: web.Request) -> web.Response:
    """The process serves requests (nothing else is checked)."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the pipeline is loaded, the store answers and no shutdown is under way."""
    state = state_of(request)
    checks = {"pipeline": bool(state.pipeline.stages), "store": True,
              "accepting": not state.shutting_down}
    try:
        await state.store.ping()
    except StoreError:
        state.metrics.child(state.metrics.store_errors, "ping").inc()
        checks["store"] = False
    ready = all(checks.values())
    return web.json_response({"status": "ready" if ready else "not ready", "checks": checks},
                             status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    state = state_of(request)
    return web.Response(body=state.metrics.render(),
                        headers={"Content-Type": state.metrics.content_type})
