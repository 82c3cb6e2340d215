"""How the app is served: aiohttp's runner with its parser errors in OpenAI's shape, and the
SIGTERM drain (``serve``), which ``web.run_app`` cannot do: it closes the port first.

aiohttp answers a request it cannot parse (a 64 KB header, a control character in a header)
itself, in text/plain, quoting the offending bytes back and logging them with a traceback.
Those bytes are the client's (a header may hold a key or a name), so the proxy answers with a
fixed message and logs only the status.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from proxy.errors import ProxyError, shutting_down
from proxy.logs import log_event
from proxy.state import STATE, ProxyState


class _ProxyRequestHandler(RequestHandler):
    __slots__ = ()

    def handle_error(self, request: BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """Parser and protocol errors: a fixed OpenAI-shaped answer; nothing of the request in
        the answer or the log."""
        log_event("bad_http_request", level=30, status=status,
                  error_type=type(exc).__name__ if exc is not None else None)
        if request.writer.output_size > 0:  # an answer is under way: only closing is left
            raise ConnectionError("the response was already started")
        if status >= 500:
            error = ProxyError(500, "internal error in the proxy", "server_error",
                               "internal_error")
        else:
            error = ProxyError(status, "the request is not valid HTTP (bad request line or "
                                       "headers, or headers too large)",
                               "invalid_request_error", "invalid_http")
        response = error.response()
        response.force_close()
        return response


class _ProxyServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _ProxyRequestHandler(self, loop=self._loop, **self._kwargs)


class ProxyRunner(web.AppRunner):
    """``web.AppRunner`` whose connections answer parser errors in OpenAI's shape."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        kwargs.setdefault("access_log", None)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # aiohttp builds its Server itself; this subclass only changes which protocol class
        # each new connection gets (same state, no new attributes).
        server.__class__ = _ProxyServer
        return server


async def serve(app: web.Application, host: str, port: int, grace: float,
                on_listening: Callable[[], None] | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then drain within ``grace`` seconds and return;
    ``on_listening`` is called once the socket is bound."""
    runner = ProxyRunner(app, handle_signals=False, shutdown_timeout=_FINAL_SECONDS)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        if on_listening is not None:
            on_listening()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await drain(app[STATE], grace)
    finally:
        await runner.cleanup()


# What is left of the grace when the open work is ended, and what the runner then gets.
_END_SECONDS = 1.0
_FINAL_SECONDS = 0.5


async def drain(state: ProxyState, grace: float) -> None:
    """The shutdown grace: the port stays open and ``/readyz`` answers 503 (so a load balancer
    moves traffic away) while open requests and streams finish. Near its end whatever is
    still open is ended: queued NER windows fail at once (never run first), upstream answers
    being relayed are cut, so a stream's last event is a ``shutting_down`` error and a
    waiting request gets 503. The process exits within the grace, whatever was queued."""
    state.shutting_down = True
    log_event("shutting_down", grace_seconds=grace, open_requests=state.in_flight)
    loop = asyncio.get_running_loop()
    end = loop.time() + grace
    end_work_at = end - min(_END_SECONDS + _FINAL_SECONDS, grace / 2)
    while state.in_flight and loop.time() < end_work_at:
        await asyncio.sleep(0.05)
    if not state.in_flight:
        return
    log_event("grace_over", level=30, open_requests=state.in_flight)
    await asyncio.to_thread(state.pipeline.close)
    state.upstream.abort_open(shutting_down())
    while state.in_flight and loop.time() < end - _FINAL_SECONDS:
        await asyncio.sleep(0.02)
