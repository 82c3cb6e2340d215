"""The OpenAI-compatible routes: anonymize the request, remember the map, relay, restore.

Order matters for fail-closed behaviour: the body is read and checked, every text is
anonymized, and the map is stored, all before the first byte goes upstream.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from proxy import jsonio
from proxy.client_request import (
    LOG_FIELDS,
    MAP_ID,
    REQUEST_ID,
    check_client,
    ensure_client_waiting,
    read_json_object,
)
from proxy.errors import ProxyError, sse_error_event, upstream_bad_response
from proxy.logs import log_event
from proxy.openai_format import (
    TextSlot,
    chat_slots,
    completion_slots,
    embedding_slots,
    restore_answer,
    restore_error,
)
from proxy.restoring import Restorer
from proxy.state import ProxyState, state_of
from proxy.streaming import SSEDecoder, SSEEvent, StreamRestorer, data_event
from proxy.upstream import is_upstream_failure, path_segment, read_body, response_headers

SlotFinder = Callable[[dict[str, Any]], list[TextSlot]]


def routes() -> list[web.RouteDef]:
    return [
        web.post("/v1/chat/completions", chat_completions),
        web.post("/v1/completions", completions),
        web.post("/v1/embeddings", embeddings),
        web.get("/v1/models", models),
        web.get("/v1/models/{model}", models),
    ]


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await _relay(request, "/chat/completions", chat_slots, streams=True)


async def completions(request: web.Request) -> web.StreamResponse:
    return await _relay(request, "/completions", completion_slots, streams=True)


async def embeddings(request: web.Request) -> web.StreamResponse:
    return await _relay(request, "/embeddings", embedding_slots, streams=False)


async def models(request: web.Request) -> web.StreamResponse:
    """Passed through: nothing personal goes up, nothing to restore."""
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


async def _relay(request: web.Request, path: str, find_slots: SlotFinder,
                 streams: bool) -> web.StreamResponse:
    state = state_of(request)
    check_client(request, state.settings)
    body = await read_json_object(request, state.settings.max_body_bytes)
    slots = find_slots(body)
    result = await state.anonymize([slot.get() for slot in slots], request[LOG_FIELDS])
    for slot, text in zip(slots, result.texts, strict=True):
        slot.set(text)
    await state.remember(request[MAP_ID], result.items)

    payload = jsonio.dumps(body)
    upstream = await _send(request, state, "POST", path, payload)
    restorer = Restorer(result.items, state.label_of)
    try:
        wants_stream = streams and body.get("stream") is True
        if wants_stream and upstream.status == 200 and _is_sse(upstream):
            return await _relay_stream(request, state, upstream, restorer)
        return await _relay_whole(upstream, restorer)
    finally:
        upstream.close()  # no-op once read; drops the connection when the client left
        _count_restored(state, restorer)


async def _send(request: web.Request, state: ProxyState, method: str, path: str,
                payload: bytes | None) -> aiohttp.ClientResponse:
    ensure_client_waiting(request)
    started = time.perf_counter()
    metrics = state.metrics
    try:
        upstream = await state.upstream.send(
            method, path, headers=state.upstream.headers(request.headers),
            query=request.query or None, body=payload)
    except ProxyError as exc:
        metrics.child(metrics.upstream_errors, exc.code).inc()
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        metrics.child(metrics.upstream_seconds, route).observe(time.perf_counter() - started)
    request[LOG_FIELDS]["upstream_status"] = upstream.status
    return upstream


def _is_sse(upstream: aiohttp.ClientResponse) -> bool:
    return upstream.content_type == "text/event-stream"


async def _relay_whole(upstream: aiohttp.ClientResponse, restorer: Restorer) -> web.Response:
    """A JSON answer (or error) restored as a whole; upstream status kept."""
    raw = await read_body(upstream)
    headers = response_headers(upstream.headers)
    try:
        parsed = jsonio.loads(raw) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        if upstream.status < 400:
            raise upstream_bad_response() from None
        # A plain-text error page (a gateway's 502): restore it as text.
        text = restorer.text(raw.decode("utf-8", errors="replace"))
        return web.Response(text=text, status=upstream.status, headers=headers)
    restored = (restore_answer if upstream.status < 400 else restore_error)(parsed,
                                                                            restorer.text)
    return web.Response(body=jsonio.dumps(restored), status=upstream.status, headers=headers,
                        content_type="application/json", charset="utf-8")


async def _relay_stream(request: web.Request, state: ProxyState,
                        upstream: aiohttp.ClientResponse,
                        restorer: Restorer) -> web.StreamResponse:
    """Relay SSE event by event: no buffering beyond one event and a placeholder prefix."""
    response = web.StreamResponse(status=200, headers={
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
        "X-Request-Id": request[REQUEST_ID],
        **response_headers(upstream.headers),
    })
    await response.prepare(request)
    request[LOG_FIELDS]["stream"] = True
    decoder = SSEDecoder()
    chunks = StreamRestorer(restorer)
    state.metrics.streams_open.inc()
    try:
        try:
            done = False
            async for piece in upstream.content.iter_any():
                for event in decoder.feed(piece):
                    done = await _write(response, _translate(event, chunks)) or done
            for event in decoder.finish():
                done = await _write(response, _translate(event, chunks)) or done
            if not done:  # ended without [DONE]: still hand over what was held back
                await _write(response, [data_event(c) for c in chunks.end()])
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            # The client went away: closing the upstream response (finally of _relay) stops
            # the provider's generation on its side too.
            request[LOG_FIELDS]["client_gone"] = True
            return response
        except Exception as exc:
            failure = is_upstream_failure(exc)
            if failure is None:
                log_event("stream_failed", error_type=type(exc).__name__)
                failure = ProxyError(500, "the stream failed in the proxy", "server_error",
                                     "stream_failed")
            state.metrics.child(state.metrics.upstream_errors, f"stream_{failure.code}").inc()
            request[LOG_FIELDS]["stream_error"] = failure.code
            try:
                await response.write(sse_error_event(failure.message, failure.type,
                                                     failure.code))
            except (ConnectionResetError, aiohttp.ClientConnectionResetError):
                return response
        await response.write_eof()
        return response
    finally:
        state.metrics.streams_open.dec()


def _translate(event: SSEEvent, chunks: StreamRestorer) -> list[bytes]:
    """One upstream event -> the bytes to send (restored chunks, held tails before [DONE])."""
    if event.data is None:
        return [event.encode()]  # comments and keep-alives
    if event.data.strip() == "[DONE]":
        return [*(data_event(c) for c in chunks.end()), event.encode()]
    try:
        payload = jsonio.loads(event.data)
    except json.JSONDecodeError:
        return [SSEEvent(event.other_lines, chunks.restore_text(event.data)).encode()]
    out = []
    for chunk in chunks.chunk(payload):
        out.append(SSEEvent(event.other_lines, jsonio.dumps_str(chunk)).encode())
    return out


async def _write(response: web.StreamResponse, pieces: list[bytes]) -> bool:
    """Write pieces; True when the stream's ``[DONE]`` went out."""
    done = False
    for piece in pieces:
        await response.write(piece)
        done = done or piece.startswith(b"data: [DONE]")
    return done


def _count_restored(state: ProxyState, restorer: Restorer) -> None:
    metrics = state.metrics
    for label, count in restorer.restored.items():
        metrics.child(metrics.restored, label).inc(count)
