"""How the app is served: aiohttp's runner, with its own parser errors in OpenAI's shape.

aiohttp answers a request it cannot parse (a 64 KB header, a control character in a header)
itself, in text/plain, quoting the offending bytes back and logging them with a traceback.
Those bytes are the client's (a header may hold a key or a name), so the proxy answers with a
fixed message and logs only the status.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from proxy.errors import ProxyError
from proxy.logs import log_event


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
