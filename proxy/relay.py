"""The one relay every wire format goes through: read, check, find texts, anonymize, store, send.

The fail-closed order (see ``proxy/formats/base.py`` for the steps and hooks) lives here only:
a format says which strings are text and how answers are restored, and cannot reorder it.
Nothing is sent upstream before every text of the body was anonymized and the request's map
was stored; any failure before the send answers with an error in the format's shape and sends
nothing.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Mapping, Sequence

import aiohttp
from aiohttp import web

from proxy import jsonio
from proxy.client_request import (
    LOG_FIELDS,
    MAP_ID,
    REQUEST_ID,
    ensure_client_waiting,
    read_json_object,
)
from proxy.errors import ProxyError, internal_error, upstream_bad_response
from proxy.formats.base import (
    ERROR_FORMAT,
    Answer,
    Exchange,
    RelayHook,
    StreamTranslator,
    WireFormat,
    write_texts,
)
from proxy.logs import log_event
from proxy.restoring import Restorer
from proxy.state import ProxyState, state_of
from proxy.streaming import SSEDecoder
from proxy.upstream import Upstream, is_upstream_failure, read_body, response_headers


def post(client_path: str, fmt: WireFormat, upstream_path: str) -> web.RouteDef:
    """``POST client_path`` relayed in ``fmt`` to ``upstream_path`` of the format's provider."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return await relay(request, fmt, upstream_path)

    return web.post(client_path, handler)


async def relay(request: web.Request, fmt: WireFormat, upstream_path: str) -> web.StreamResponse:
    """One request through the fail-closed order, answered restored."""
    request[ERROR_FORMAT] = fmt
    state = state_of(request)
    upstream = state.upstream_for(fmt.provider)
    upstream.provider.check_client(request, state.settings)
    body = await read_json_object(request, state.settings.max_body_bytes)
    exchange = Exchange(request, body)
    exchange.slots = fmt.request_texts(body)
    hooks: Sequence[RelayHook] = (fmt, *state.relay_hooks)
    for hook in hooks:
        _merge_known(exchange.known, await hook.known_mapping(exchange))
    # Frozen slots go as the provider already has them; only the others are anonymized.
    fresh = [slot for i, slot in enumerate(exchange.slots) if i not in exchange.frozen]
    result = await state.anonymize([slot.get() for slot in fresh], request[LOG_FIELDS],
                                   known=exchange.known, cache=exchange.span_cache,
                                   context=list(exchange.frozen.values()))
    write_texts([*fresh, *(exchange.slots[i] for i in exchange.frozen)],
                [*result.texts, *exchange.frozen.values()])
    exchange.items = {**exchange.known, **result.items}
    for hook in hooks:
        await hook.anonymized(exchange)
    await state.remember(request[MAP_ID], exchange.items)

    answer = await send(request, state, upstream, "POST", upstream_path, jsonio.dumps(body),
                        fmt.forwarded_query(request.query))
    restorer = Restorer(exchange.items, state.label_of)
    try:
        if fmt.wants_stream(body) and answer.status == 200 and _is_sse(answer):
            return await _relay_stream(request, state, answer, fmt.stream(restorer), exchange,
                                       hooks)
        return await _relay_whole(fmt, answer, restorer, exchange, hooks)
    finally:
        answer.close()  # no-op once read; drops the connection when the client left
        _count_restored(state, restorer)


async def send(request: web.Request, state: ProxyState, upstream: Upstream, method: str,
               path: str, payload: bytes | None,
               query: Mapping[str, str] | None = None) -> aiohttp.ClientResponse:
    """Open the upstream response (headers read), timed and counted per route."""
    ensure_client_waiting(request)
    started = time.perf_counter()
    metrics = state.metrics
    try:
        response = await upstream.send(method, path, headers=upstream.headers(request.headers),
                                       query=query or None, body=payload)
    except ProxyError as exc:
        metrics.child(metrics.upstream_errors, exc.code).inc()
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        metrics.child(metrics.upstream_seconds, route).observe(time.perf_counter() - started)
    request[LOG_FIELDS]["upstream_status"] = response.status
    return response


def _merge_known(into: dict[str, str], more: Mapping[str, str]) -> None:
    """Mappings of several hooks in one; one placeholder meaning two values is a bug (500):
    restoring with either would show one person's value in another's place."""
    for placeholder, original in more.items():
        if into.setdefault(placeholder, original) != original:
            log_event("known_mapping_conflict", level=40)
            raise internal_error()


def _overrides(hook: RelayHook, method: str) -> bool:
    return getattr(type(hook), method) is not getattr(RelayHook, method)


def _is_sse(upstream: aiohttp.ClientResponse) -> bool:
    return upstream.content_type == "text/event-stream"


async def _relay_whole(fmt: WireFormat, upstream: aiohttp.ClientResponse, restorer: Restorer,
                       exchange: Exchange, hooks: Sequence[RelayHook]) -> web.Response:
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
    listening = [hook for hook in hooks if _overrides(hook, "answered")]
    # Formats restore in place: hooks get the provider's body as it came, in a copy.
    as_sent = copy.deepcopy(parsed) if listening else None
    restore = fmt.restore_answer if upstream.status < 400 else fmt.restore_error
    restored = restore(parsed, restorer)
    for hook in listening:
        await hook.answered(exchange, Answer(upstream.status, as_sent, restored))
    return web.Response(body=jsonio.dumps(restored), status=upstream.status, headers=headers,
                        content_type="application/json", charset="utf-8")


async def _relay_stream(request: web.Request, state: ProxyState,
                        upstream: aiohttp.ClientResponse, translator: StreamTranslator,
                        exchange: Exchange, hooks: Sequence[RelayHook]) -> web.StreamResponse:
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
    answered = False

    async def write(pieces: list[bytes], last: bool = False) -> None:
        nonlocal answered
        if (last or translator.finished) and not answered:
            answered = True  # hooks store before the client can send its next turn
            for hook in hooks:
                await hook.answered(exchange, Answer(200, stream=translator))
        for piece in pieces:
            await response.write(piece)

    state.metrics.streams_open.inc()
    try:
        try:
            async for piece in upstream.content.iter_any():
                for event in decoder.feed(piece):
                    await write(translator.feed(event))
            for event in decoder.finish():
                await write(translator.feed(event))
            await write(translator.end(), last=True)
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            # The client went away: closing the upstream response (finally of relay) stops
            # the provider's generation on its side too.
            request[LOG_FIELDS]["client_gone"] = True
            return response
        except Exception as exc:
            failure = is_upstream_failure(exc)
            if failure is None:
                failure = exc if isinstance(exc, ProxyError) else None
            if failure is None:
                log_event("stream_failed", error_type=type(exc).__name__)
                failure = ProxyError(500, "the stream failed in the proxy", "server_error",
                                     "stream_failed")
            state.metrics.child(state.metrics.upstream_errors, f"stream_{failure.code}").inc()
            request[LOG_FIELDS]["stream_error"] = failure.code
            try:
                await response.write(translator.error_event(failure))
            except (ConnectionResetError, aiohttp.ClientConnectionResetError):
                return response
        await response.write_eof()
        return response
    finally:
        state.metrics.streams_open.dec()


def _count_restored(state: ProxyState, restorer: Restorer) -> None:
    metrics = state.metrics
    for label, count in restorer.restored.items():
        metrics.child(metrics.restored, label).inc(count)
