"""One request's cost is bounded, and a request nobody waits for is not followed (issue 11,
items 5 and 6): the default pipeline (the real NER model), a fake provider that records."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest

from benchmarks.bounded_work import short_words
from pipeline.ner.batcher import WindowBatcher
from proxy.state import STATE
from tests.proxy.conftest import DEFAULT, FakeUpstream, ProxyFactory, RunningProxy


def batcher_of(proxy: RunningProxy) -> WindowBatcher:
    stage = next(s for s in proxy.app[STATE].pipeline.stages if s.kind == "ner")
    return stage.engine.batcher


async def batches_after(batcher: WindowBatcher, seconds: float) -> int:
    """Model runs made in the next ``seconds``."""
    before = batcher.batches_run
    await asyncio.sleep(seconds)
    return batcher.batches_run - before


def chat(text: str) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


async def test_a_request_past_its_time_budget_is_503_and_its_windows_are_dropped(
        start_proxy: ProxyFactory, upstream: FakeUpstream) -> None:
    proxy = await start_proxy(config=DEFAULT, anonymize_timeout_seconds=1.5)
    body = chat(short_words(150_000))  # about 850 windows: a minute of model time here
    async with aiohttp.ClientSession() as session:
        async with session.post(proxy.url + "/v1/chat/completions", json=body) as response:
            assert response.status == 503
            assert (await response.json())["error"]["code"] == "anonymization_timeout"
        # The queue it left behind is dropped, not run: at most the window in flight.
        assert await batches_after(batcher_of(proxy), 1.0) <= 2
        # The proxy still serves, with the same model.
        async with session.post(proxy.url + "/v1/chat/completions",
                                json=chat("Write to Alex Rivera.")) as response:
            assert response.status == 200
    assert len(upstream.received) == 1
    assert "Rivera" not in upstream.all_received()


async def test_a_client_that_hangs_up_is_not_followed(
        start_proxy: ProxyFactory, upstream: FakeUpstream,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    proxy = await start_proxy(config=DEFAULT)
    body = chat(short_words(150_000))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0)) as session:
        with pytest.raises(TimeoutError):
            async with session.post(proxy.url + "/v1/chat/completions", json=body) as response:
                await response.read()
    # The handler is cancelled with the connection, its queued windows with it...
    await asyncio.sleep(0.3)
    assert await batches_after(batcher_of(proxy), 1.0) <= 2
    assert proxy.app[STATE].in_flight == 0
    # ...and nothing ever goes upstream for it.
    await asyncio.sleep(0.5)
    assert upstream.received == []
    lines = [r for r in caplog.records if r.name == "anonymize_proxy.access"]
    assert any(getattr(r, "fields", {}).get("client_gone") for r in lines)


@pytest.mark.parametrize(("changes", "messages", "code"), [
    ({"max_anonymize_chars": 100}, [{"role": "user", "content": "apples " * 20}],
     "too_much_text"),
    ({"max_anonymize_texts": 2}, [{"role": "user", "content": "apples"}] * 3,
     "too_many_texts"),
])
async def test_more_text_than_allowed_is_413_before_any_work(
        start_proxy: ProxyFactory, upstream: FakeUpstream, changes: dict, messages: list,
        code: str) -> None:
    proxy = await start_proxy(**changes)
    async with aiohttp.ClientSession() as session, session.post(
            proxy.url + "/v1/chat/completions",
            json={"model": "m", "messages": messages}) as response:
        assert response.status == 413
        error = (await response.json())["error"]
    assert error["code"] == code
    assert "apples" not in json.dumps(error)
    assert upstream.received == []
