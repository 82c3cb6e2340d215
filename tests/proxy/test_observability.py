"""Metrics and logs: useful counts, and never a piece of the user's text."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import aiohttp
import openai
import pytest

from pipeline import PipelineError
from proxy.logs import JsonFormatter, TextFormatter
from proxy.state import STATE
from tests.proxy.conftest import FakeUpstream, make_settings


@pytest.fixture
def secrets() -> list[str]:
    tag = uuid.uuid4().hex[:10]
    return [f"Quorvath{tag}", f"mail.{tag}@example.org"]


@pytest.fixture
def people_config(tmp_path: Path, secrets: list[str]) -> Path:
    file = tmp_path / "people.yaml"
    file.write_text(
        "pipeline:\n"
        "  - kind: flashText\n    name: PERSON\n    keywords: [" + secrets[0] + "]\n"
        "  - kind: regex\n    name: EMAIL\n    patterns: ['[a-z0-9.]+@[a-z0-9.]+\\.[a-z]+']\n")
    return file


async def test_no_personal_value_in_any_log_line_or_metric(
        start_proxy, upstream: FakeUpstream, redis_prefix: str, people_config: Path,
        secrets: list[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = make_settings(upstream.url, redis_prefix, config=people_config,
                             admin_token="adm")
    proxy = await start_proxy(settings)
    client = proxy.client()
    prompt = f"Write to {secrets[0]} at {secrets[1]}"
    messages = [{"role": "user", "content": prompt}]

    answer = await client.chat.completions.create(model="m", messages=messages)
    assert answer.choices[0].message.content == "You said: " + prompt
    upstream.cuts = list(range(1, 80, 3))
    stream = await client.chat.completions.create(model="m", messages=messages, stream=True)
    assert "".join([c.choices[0].delta.content or "" async for c in stream]).endswith(prompt)
    await client.embeddings.create(model="m", input=prompt)
    await client.completions.create(model="m", prompt=prompt)
    async with aiohttp.ClientSession() as session:
        await (await session.get(proxy.url + "/api/anonymize", params={"text": prompt})).read()
        await (await session.post(proxy.url + "/v1/chat/completions",
                                  data=f'{{"messages": "{prompt}')).read()  # bad JSON
        await (await session.get(proxy.url + f"/v1/{secrets[0]}")).read()  # unknown path
    upstream.error = (400, {"error": {"message": "cannot answer PERSON0", "code": "x"}})
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model="m", messages=messages)
    assert secrets[0] in caught.value.body["message"]  # restored for the client only
    upstream.error = None

    def broken(texts):
        raise PipelineError(f"crashed on {texts[0]}")

    proxy.app[STATE].pipeline.stages[0].detect_many = broken
    with pytest.raises(openai.InternalServerError):  # a new text: its conversation runs it
        await client.chat.completions.create(
            model="m", messages=[*messages, {"role": "user", "content": f"{secrets[0]}?"}])

    async with aiohttp.ClientSession() as session:
        metrics = await (await session.get(proxy.url + "/metrics")).text()

    lines = [fmt.format(r) for r in caplog.records for fmt in (JsonFormatter(), TextFormatter())]
    requests = [json.loads(JsonFormatter().format(r)) for r in caplog.records
                if r.name == "anonymize_proxy.access"]
    assert len(requests) >= 9
    for text in [*lines, metrics]:
        for secret in secrets:
            assert secret not in text
            assert secret.split("@")[0] not in text

    first = requests[0]
    assert first["route"] == "/v1/chat/completions" and first["status"] == 200
    assert first["entities"] == {"PERSON": 1, "EMAIL": 1}
    assert {"request_id", "latency_ms", "method"} <= set(first)
    assert 'anonymize_proxy_entities_masked_total{label="PERSON"}' in metrics
    assert 'anonymize_proxy_placeholders_restored_total{label="EMAIL"}' in metrics
    assert 'route="/v1/chat/completions",status="503"' in metrics
    assert 'anonymize_proxy_pipeline_latency_seconds_count{stage="0:flashText"}' in metrics
    assert 'anonymize_proxy_pipeline_latency_seconds_count{stage="all"}' in metrics
    assert 'anonymize_proxy_upstream_latency_seconds_count{route="/v1/chat/completions"}' \
        in metrics
    assert "anonymize_proxy_streams_open 0.0" in metrics
    assert 'route="unmatched",status="404"' in metrics


async def test_restored_and_store_error_counters(start_proxy, upstream: FakeUpstream) -> None:
    proxy = await start_proxy(redis_url="redis://127.0.0.1:1/0")
    with pytest.raises(openai.InternalServerError):
        await proxy.client().chat.completions.create(
            model="m", messages=[{"role": "user", "content": "apples"}])
    metrics = proxy.app[STATE].metrics
    # The conversation lookup is the request's first store operation.
    assert metrics.registry.get_sample_value("anonymize_proxy_store_errors_total",
                                             {"operation": "conversation_get"}) == 1


async def test_two_apps_have_separate_registries(start_proxy) -> None:
    first, second = await start_proxy(), await start_proxy()
    await first.client().models.list()
    get = "anonymize_proxy_requests_total"
    labels = {"route": "/v1/models", "method": "GET", "status": "200"}
    assert first.app[STATE].metrics.registry.get_sample_value(get, labels) == 1
    assert second.app[STATE].metrics.registry.get_sample_value(get, labels) is None
