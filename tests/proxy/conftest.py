"""Fixtures for the proxy: a fake OpenAI-compatible provider, the proxy on a free port, and a
Redis key prefix of its own per test (the real Redis on 127.0.0.1:6379)."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import openai
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from proxy.app import create_app
from proxy.serve import ProxyRunner
from proxy.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
FRUITS = ROOT / "config" / "fruits.yaml"
DEFAULT = ROOT / "config" / "default.yaml"  # the shipped pipeline (the NER model)
REDIS_URL = "redis://127.0.0.1:6379/0"
PLACEHOLDER = re.compile(r"FRUIT_(?:FLASH|REGEX)\d+")


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


@dataclass
class FakeUpstream:
    """An OpenAI-compatible provider that records what it receives and echoes it back.

    Chat answers are ``"You said: " + last user text``, so they hold the placeholders the
    provider saw. ``cuts`` splits a streamed answer (content or tool arguments) at those
    character positions; ``byte_pieces`` re-cuts the raw SSE bytes into pieces of that size.
    Tool-call arguments list the input's placeholders, as ``placeholder`` finds them.
    """

    received: list[dict[str, Any]] = field(default_factory=list)
    cuts: list[int] | None = None
    byte_pieces: int | None = None
    tool_answer: bool = False
    delay: float = 0.0
    chunk_delay: float = 0.0
    error: tuple[int, Any] | None = None
    break_after_events: int | None = None
    stream_events_sent: int = 0
    stream_finished: bool = False
    stream_aborted: bool = False
    url: str = ""
    placeholder: re.Pattern[str] = PLACEHOLDER

    # -- answers -----------------------------------------------------------------------------

    def answer_text(self, body: dict[str, Any]) -> str:
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        return "You said: " + (text_of(users[-1].get("content")) if users else "")

    def tool_arguments(self, body: dict[str, Any]) -> str:
        found = self.placeholder.findall(json.dumps(body.get("messages", [])))
        return json.dumps({"fruits": found, "note": "about " + " and ".join(found)})

    def pieces(self, text: str) -> list[str]:
        cuts = sorted({c for c in (self.cuts or []) if 0 < c < len(text)})
        bounds = [0, *cuts, len(text)]
        return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    # -- handlers ----------------------------------------------------------------------------

    async def record(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        entry = {"path": request.path, "method": request.method,
                 "query": request.query_string,
                 "headers": dict(request.headers), "raw": raw.decode("utf-8", "replace"),
                 "json": json.loads(raw) if raw else None}
        self.received.append(entry)
        if self.delay:
            await asyncio.sleep(self.delay)
        return entry

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = (await self.record(request))["json"]
        if self.error:
            return web.json_response(self.error[1], status=self.error[0])
        if body.get("stream"):
            return await self.stream_chat(request, body)
        message: dict[str, Any] = {"role": "assistant", "content": self.answer_text(body)}
        finish = "stop"
        if self.tool_answer:
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "lookup", "arguments": self.tool_arguments(body)}}]}
            finish = "tool_calls"
        return web.json_response({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": "fake",
            "choices": [{"index": 0, "message": message, "finish_reason": finish,
                         "logprobs": None}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

    async def stream_chat(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1,
                    "model": "fake", "choices": [{"index": 0, "delta": delta,
                                                  "finish_reason": finish}]}

        events: list[Any] = [chunk({"role": "assistant", "content": ""})]
        if self.tool_answer:
            events.append(chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                                 "function": {"name": "lookup",
                                                              "arguments": ""}}]}))
            for piece in self.pieces(self.tool_arguments(body)):
                events.append(chunk({"tool_calls": [{"index": 0,
                                                     "function": {"arguments": piece}}]}))
            events.append(chunk({}, "tool_calls"))
        else:
            events += [chunk({"content": p}) for p in self.pieces(self.answer_text(body))]
            events.append(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                           "created": 1, "model": "fake", "choices": [],
                           "usage": {"prompt_tokens": 1, "completion_tokens": 2,
                                     "total_tokens": 3}})
        return await self.send_events(request, events)

    async def send_events(self, request: web.Request, events: list[Any]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        raw = b"".join(b"data: " + json.dumps(e, ensure_ascii=False).encode() + b"\n\n"
                       for e in events) + b"data: [DONE]\n\n"
        blocks = [b"data: " + json.dumps(e, ensure_ascii=False).encode() + b"\n\n"
                  for e in events] + [b"data: [DONE]\n\n"]
        if self.byte_pieces:
            size = self.byte_pieces
            blocks = [raw[i:i + size] for i in range(0, len(raw), size)]
        try:
            for i, block in enumerate(blocks):
                if self.break_after_events is not None and i == self.break_after_events:
                    request.transport.close()  # the provider dies mid-stream
                    self.stream_aborted = True
                    return response
                await response.write(block)
                self.stream_events_sent += 1
                if self.chunk_delay:
                    await asyncio.sleep(self.chunk_delay)
            await response.write_eof()
            self.stream_finished = True
        except (ConnectionResetError, asyncio.CancelledError):
            self.stream_aborted = True
            raise
        return response

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body = (await self.record(request))["json"]
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        texts = ["Echo: " + p for p in prompts]
        if body.get("stream"):
            events = []
            for i, text in enumerate(texts):
                for piece in self.pieces(text):
                    events.append({"id": "cmpl-fake", "object": "text_completion", "created": 1,
                                   "model": "fake", "choices": [{"index": i, "text": piece,
                                                                 "finish_reason": None,
                                                                 "logprobs": None}]})
                events.append({"id": "cmpl-fake", "object": "text_completion", "created": 1,
                               "model": "fake", "choices": [{"index": i, "text": "",
                                                             "finish_reason": "stop",
                                                             "logprobs": None}]})
            return await self.send_events(request, events)
        return web.json_response({
            "id": "cmpl-fake", "object": "text_completion", "created": 1, "model": "fake",
            "choices": [{"index": i, "text": t, "finish_reason": "stop", "logprobs": None}
                        for i, t in enumerate(texts)]})

    async def embeddings(self, request: web.Request) -> web.Response:
        body = (await self.record(request))["json"]
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return web.json_response({
            "object": "list", "model": "fake",
            "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, float(i)]}
                     for i in range(len(inputs))],
            "usage": {"prompt_tokens": 1, "total_tokens": 1}})

    async def models(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.json_response({"object": "list", "data": [
            {"id": "fake-model", "object": "model", "created": 1, "owned_by": "test"}]},
            headers={"x-ratelimit-remaining-requests": "99", "x-request-id": "up-123"})

    async def anything(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.json_response({"unexpected": True}, status=418)

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes([web.post("/v1/chat/completions", self.chat),
                        web.post("/v1/completions", self.completions),
                        web.post("/v1/embeddings", self.embeddings),
                        web.get("/v1/models", self.models),
                        web.route("*", "/{tail:.*}", self.anything)])
        return app

    def all_received(self) -> str:
        return "\n".join(entry["raw"] for entry in self.received)


async def _serve(app: web.Application, runner_class: type[web.AppRunner] = web.AppRunner,
                 **kwargs: Any) -> tuple[web.AppRunner, str]:
    runner = runner_class(app, access_log=None, **kwargs)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def upstream(serve_fake: ServeFake) -> FakeUpstream:
    return await serve_fake(FakeUpstream())


class ServableFake(Protocol):
    url: str

    def app(self) -> web.Application: ...


Fake = TypeVar("Fake", bound=ServableFake)
ServeFake = Callable[[Fake], Awaitable[Fake]]


@pytest.fixture
async def serve_fake() -> AsyncIterator[ServeFake]:
    """``await serve_fake(FakeAnthropic())``: a fake provider on a free port (its ``url``
    set), stopped after the test."""
    runners: list[web.AppRunner] = []

    async def serve(fake: Fake) -> Fake:
        runner, fake.url = await _serve(fake.app())
        runners.append(runner)
        return fake

    yield serve
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"anonymize-proxy-test:{uuid.uuid4().hex}:"
    yield prefix
    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@dataclass
class RunningProxy:
    url: str
    app: web.Application
    settings: Settings

    def client(self, api_key: str = "sk-client-test", **kwargs: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.url + "/v1", api_key=api_key, max_retries=0,
                                  **kwargs)


ProxyFactory = Callable[..., Awaitable[RunningProxy]]


def config_file(folder: Path, yaml: str) -> Path:
    """A pipeline config of a test's own, written into ``folder``."""
    path = folder / "pipeline.yaml"
    path.write_text(yaml, encoding="utf-8")
    return path


async def streamed_tool_arguments(client: openai.AsyncOpenAI, **create: Any) -> list[str]:
    """The argument pieces of a streamed chat answer's tool calls, as the SDK parsed them;
    the stream must end with ``finish_reason: tool_calls``."""
    stream = await client.chat.completions.create(stream=True, **create)
    chunks = [c async for c in stream]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    return [call.function.arguments or "" for c in chunks
            for call in (c.choices[0].delta.tool_calls or [])]


def make_settings(upstream_url: str, redis_prefix: str, env: dict[str, str] | None = None,
                  config: Path = FRUITS, **overrides: Any) -> Settings:
    base = {"upstream": upstream_url + "/v1", "redis_url": REDIS_URL, "port": 0}
    base.update(overrides.pop("flags", {}))
    settings = load_settings(config, base, env=env or {})
    return settings.replace(key_prefix=redis_prefix, **overrides)


@pytest.fixture
async def start_proxy(upstream: FakeUpstream, redis_prefix: str) -> AsyncIterator[ProxyFactory]:
    """``await start_proxy(**settings_changes)`` -> a proxy on a free port, stopped afterwards."""
    runners: list[web.AppRunner] = []

    async def start(settings: Settings | None = None, **changes: Any) -> RunningProxy:
        if settings is None:
            settings = make_settings(upstream.url, redis_prefix, **changes)
        app = create_app(settings)
        runner, url = await _serve(app, ProxyRunner, shutdown_timeout=1.0)
        runners.append(runner)
        return RunningProxy(url, app, settings)

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def proxy(start_proxy: ProxyFactory) -> RunningProxy:
    return await start_proxy()
