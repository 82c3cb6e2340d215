"""Completions, embeddings, models and the anonymize-rs API."""

from __future__ import annotations

import aiohttp

from tests.proxy.conftest import PLACEHOLDER, FakeUpstream, RunningProxy


async def test_completions_prompt_string_and_list(proxy: RunningProxy,
                                                  upstream: FakeUpstream) -> None:
    client = proxy.client()
    one = await client.completions.create(model="m", prompt="apples please")
    assert one.choices[0].text == "Echo: apples please"
    many = await client.completions.create(model="m", prompt=["apples", "plums and apples"])
    assert [c.text for c in many.choices] == ["Echo: apples", "Echo: plums and apples"]
    # One mapping across the list: the same value, the same placeholder.
    assert upstream.received[1]["json"]["prompt"] == ["FRUIT_FLASH0",
                                                      "FRUIT_REGEX0 and FRUIT_FLASH0"]
    assert "apples" not in upstream.all_received()


async def test_streamed_completions_cut_everywhere(proxy: RunningProxy,
                                                   upstream: FakeUpstream) -> None:
    client = proxy.client()
    for cut in range(1, len("Echo: FRUIT_FLASH0 FRUIT_REGEX0")):
        upstream.cuts = [cut]
        stream = await client.completions.create(model="m", prompt="apples plums", stream=True)
        text = "".join([c.choices[0].text async for c in stream])
        assert text == "Echo: apples plums", f"cut at {cut}"


async def test_embeddings_input_is_anonymized(proxy: RunningProxy,
                                              upstream: FakeUpstream) -> None:
    result = await proxy.client().embeddings.create(model="m", input=["apples", "bananas"])
    assert len(result.data) == 2
    assert upstream.received[0]["json"]["input"] == ["FRUIT_FLASH0", "FRUIT_FLASH1"]
    await proxy.client().embeddings.create(model="m", input=[[1, 2, 3]])  # token ids pass
    assert upstream.received[1]["json"]["input"] == [[1, 2, 3]]


async def test_models_are_passed_through_with_rate_limit_headers(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    raw = await proxy.client().models.with_raw_response.list()
    assert [m.id for m in raw.parse().data] == ["fake-model"]
    assert raw.headers["x-ratelimit-remaining-requests"] == "99"
    assert raw.headers["x-upstream-request-id"] == "up-123"
    assert raw.headers["x-request-id"] != "up-123"


async def test_seed_api_round_trip(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(proxy.url + "/api/anonymize",
                               params={"text": "I like to eat apples and bananas and plums"}) as r:
            got = await r.json()
        assert got == {"text": "I like to eat FRUIT_FLASH0 and FRUIT_FLASH1 and FRUIT_REGEX0",
                       "items": {"FRUIT_FLASH0": "apples", "FRUIT_FLASH1": "bananas",
                                 "FRUIT_REGEX0": "plums"}}
        async with session.post(proxy.url + "/api/anonymize", json={"text": "bananas"}) as r:
            assert await r.json() == {"text": "FRUIT_FLASH0",
                                      "items": {"FRUIT_FLASH0": "bananas"}}
        async with session.post(proxy.url + "/api/deanonymize", json=got) as r:
            assert await r.json() == {"text": "I like to eat apples and bananas and plums"}
        async with session.post(proxy.url + "/api/deanonymize", json={"text": "x"}) as r:
            assert r.status == 400
        async with session.get(proxy.url + "/api/anonymize") as r:
            assert r.status == 400
    assert upstream.received == []


async def restore_by_id(proxy: RunningProxy, request_id: str,
                        token: str | None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session, session.post(
            proxy.url + "/api/deanonymize", headers=headers,
            json={"text": "FRUIT_FLASH0 then FRUIT_REGEX0", "request_id": request_id}) as r:
        return r.status, await r.json()


async def test_restore_by_request_id_needs_the_admin_token(start_proxy) -> None:
    closed = await start_proxy()
    await closed.client().chat.completions.create(
        model="m", messages=[{"role": "user", "content": "apples, plums"}],
        extra_headers={"X-Request-Id": "req-a"})
    status, body = await restore_by_id(closed, "req-a", "anything")
    assert status == 403  # off without a configured token

    proxy = await start_proxy(admin_token="admin-secret", encryption_key=b"z" * 32)
    raw = await proxy.client().chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "apples, plums"}],
        extra_headers={"X-Request-Id": "req-b"})
    map_id = raw.headers["X-Proxy-Request-Id"]
    assert (await restore_by_id(proxy, map_id, None))[0] == 401
    assert (await restore_by_id(proxy, map_id, "wrong"))[0] == 401
    status, body = await restore_by_id(proxy, map_id, "admin-secret")
    assert (status, body) == (200, {"text": "apples then plums"})
    status, body = await restore_by_id(proxy, "never-seen", "admin-secret")
    assert status == 404 and not PLACEHOLDER.search(body["error"]["message"])


async def test_memory_store_keeps_maps_with_a_ttl(start_proxy) -> None:
    proxy = await start_proxy(redis_url="memory://", admin_token="t", ttl_seconds=60)
    raw = await proxy.client().chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "apples"}])
    from proxy.state import STATE

    map_id = raw.headers["X-Request-Id"]  # no client id: one id for both
    assert raw.headers["X-Proxy-Request-Id"] == map_id
    store = proxy.app[STATE].store
    assert 59 < store.ttl_of(map_id) <= 60
    status, body = await restore_by_id(proxy, map_id, "t")
    assert body == {"text": "apples then FRUIT_REGEX0"}


async def test_health_and_readiness(proxy: RunningProxy) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(proxy.url + "/healthz") as r:
            assert r.status == 200
        async with session.get(proxy.url + "/readyz") as r:
            assert r.status == 200 and (await r.json())["checks"]["store"] is True
