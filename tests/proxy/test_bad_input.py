"""Hostile or broken requests are the client's error: a fixed 4xx in OpenAI's shape, nothing
forwarded, nothing of the request quoted back (issue 11, items 3, 8, 9, 10)."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import zlib

import aiohttp
import pytest

from proxy.upstream import Upstream
from tests.proxy.conftest import FakeUpstream, RunningProxy

CANARY = "apples"


async def raw_post(url: str, data: bytes, headers: dict[str, str] | None = None,
                   ) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as session, session.post(
            url, data=data, headers={"Content-Type": "application/json", **(headers or {})},
            ) as response:
        return response.status, response.content_type, await response.read()


def error_code(body: bytes) -> str:
    return json.loads(body)["error"]["code"]


# -- item 3: path parameters -----------------------------------------------------------------

@pytest.mark.parametrize("model", ["..%2ffiles", "..%2F..%2Fv1%2Ffiles", "a%2f..%2f..%2ffiles",
                                   "..%5cfiles", "%2e%2e%2ffiles", "x%3F"])
async def test_a_model_id_cannot_walk_to_another_upstream_path(
        proxy: RunningProxy, upstream: FakeUpstream, model: str) -> None:
    async with aiohttp.ClientSession() as session, session.get(
            proxy.url + "/v1/models/" + model,
            headers={"Authorization": "Bearer sk-client"}) as response:
        body = await response.read()
        assert response.status in (400, 404), body
        assert response.content_type == "application/json"
    assert upstream.received == []


async def test_a_plain_model_id_is_still_forwarded(proxy: RunningProxy,
                                                   upstream: FakeUpstream) -> None:
    async with aiohttp.ClientSession() as session, session.get(
            proxy.url + "/v1/models/ft:gpt-4o-mini:acme:x1") as response:
        await response.read()
    assert [r["path"] for r in upstream.received] == ["/v1/models/ft:gpt-4o-mini:acme:x1"]


@pytest.mark.parametrize("path", ["/models/../files", "/models/..%2ffiles", "/a//b",
                                  "/models/%2e%2e", "/x%5c..", "files"])
def test_no_upstream_url_leaves_the_base_path(path: str) -> None:
    upstream = Upstream("https://api.example.com/v1", connect=1, first_byte=1, total=1)
    assert str(upstream.url("/chat/completions")) == \
        "https://api.example.com/v1/chat/completions"
    with pytest.raises(Exception) as caught:
        upstream.url(path)
    assert getattr(caught.value, "status", None) == 400


# -- item 8: JSON that is not plain JSON ------------------------------------------------------

@pytest.mark.parametrize("body", [
    b'{"model": "m", "messages": [{"role": "user", "content": "apples \\ud800"}]}',
    b'{"model": "m", "messages": [{"role": "user", "content": "apples"}], "x": ["\\udfff"]}',
    b'{"model": "m", "messages": [{"role": "user", "content": "apples"}], "temperature": NaN}',
    b'{"model": "m", "messages": [{"role": "user", "content": "apples"}], "top_p": Infinity}',
    b'{"model": "m", "messages": [{"role": "user", "content": "apples"}], "n": 1e400}',
    b'{"model": "m", "seed": 123456789012345678901234, "x": "\\ud800", "messages": []}',
    b'{"model": "m", "messages": [], "x": ' + b"[" * 1100 + b"]" * 1100 + b"}",
    b'{"model": "m", "messages": [], "x": ' + b'{"a":' * 600 + b"1" + b"}" * 600 + b"}",
    b'{"model": "m", "seed": 123456789012345678901234, "messages": [], "x": '
    + b"[" * 1100 + b"]" * 1100 + b"}",
])
async def test_json_that_is_not_plain_json_is_400_invalid_json(
        proxy: RunningProxy, upstream: FakeUpstream, body: bytes) -> None:
    status, kind, answer = await raw_post(proxy.url + "/v1/chat/completions", body)
    assert (status, kind) == (400, "application/json"), answer[:300]
    assert error_code(answer) == "invalid_json"
    assert CANARY.encode() not in answer
    assert upstream.received == []


async def test_a_valid_surrogate_pair_and_long_integers_still_pass(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    body = (b'{"model": "m", "seed": 123456789012345678901234, "messages": '
            b'[{"role": "user", "content": "apples \\ud83d\\ude00"}]}')
    status, _, answer = await raw_post(proxy.url + "/v1/chat/completions", body)
    assert status == 200, answer
    assert json.loads(answer)["choices"][0]["message"]["content"] == "You said: apples \U0001f600"
    assert upstream.received[0]["json"]["seed"] == 123456789012345678901234
    assert CANARY not in upstream.all_received()


# -- item 9: what aiohttp's parser refuses ----------------------------------------------------

async def raw_exchange(proxy: RunningProxy, request: bytes) -> bytes:
    host, port = proxy.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


@pytest.mark.parametrize("header", [
    b"X-Note: " + CANARY.encode() * 11_000,          # 64 KB, over aiohttp's 8 KB line limit
    b"X-Note: " + CANARY.encode() + b"\x01rest",     # a control character
    b"X-Note\x7f" + CANARY.encode() + b": 1",          # a bad header name
])
async def test_http_parser_errors_answer_in_openai_shape_without_quoting(
        proxy: RunningProxy, upstream: FakeUpstream, header: bytes,
        caplog: pytest.LogCaptureFixture) -> None:
    answer = await raw_exchange(proxy, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                       + header + b"\r\nContent-Length: 2\r\n\r\n{}")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") or head.startswith(b"HTTP/1.0 400"), head
    assert b"application/json" in head
    assert error_code(body) == "invalid_http"
    assert CANARY.encode() not in answer
    assert CANARY not in caplog.text
    assert upstream.received == []


# -- item 10: compressed bodies ----------------------------------------------------------------

def gzip_bomb(inflated_mib: int) -> bytes:
    """A gzip chat body that inflates to ``inflated_mib`` MiB, built in milliseconds: after a
    full flush every 1 MiB block of the same bytes compresses to the same bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = c.compress(b'{"model": "m", "messages": [{"role": "user", "content": "apples ')
    head += c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(b"a" * (1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    return head + block * inflated_mib + c.compress(b'"}]}') + c.flush()


async def test_a_gzip_body_is_read_inflated_and_anonymized(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "apples"}]})
    for encoding, data in (("gzip", gzip.compress(body.encode())),
                           ("deflate", zlib.compress(body.encode()))):
        status, _, answer = await raw_post(proxy.url + "/v1/chat/completions", data,
                                           {"Content-Encoding": encoding})
        assert status == 200, answer
        assert json.loads(answer)["choices"][0]["message"]["content"] == "You said: apples"
    assert len(upstream.received) == 2 and CANARY not in upstream.all_received()


async def test_a_gzip_bomb_is_413_after_inflating_no_more_than_the_limit(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    bomb = gzip_bomb(1024)  # 1 MB on the wire, 1 GiB inflated; the limit is 10 MiB
    assert len(bomb) < 2 * 1024 * 1024
    cpu = time.process_time()  # the proxy runs in this process
    status, kind, answer = await raw_post(proxy.url + "/v1/chat/completions", bomb,
                                          {"Content-Encoding": "gzip"})
    await asyncio.sleep(0.5)  # whatever aiohttp still does with the rest of the body
    spent = time.process_time() - cpu
    assert (status, kind) == (413, "application/json")
    assert error_code(answer) == "request_too_large"
    # Inflating 1 GiB costs seconds of CPU anywhere; 10 MiB (the limit) costs milliseconds.
    assert spent < 1.0, f"{spent:.2f} s of CPU: the body was inflated past the limit"
    assert upstream.received == []


@pytest.mark.parametrize(("encoding", "data", "status", "code"), [
    ("gzip", b"\x1f\x8b not gzip", 400, "invalid_body_encoding"),
    ("gzip", gzip.compress(b'{"model": "m", "messages": []}')[:-12], 400,
     "invalid_body_encoding"),
    ("br", b"{}", 415, "unsupported_content_encoding"),
])
async def test_a_broken_or_unknown_encoding_is_refused(
        proxy: RunningProxy, upstream: FakeUpstream, encoding: str, data: bytes, status: int,
        code: str) -> None:
    got, _, answer = await raw_post(proxy.url + "/v1/chat/completions", data,
                                    {"Content-Encoding": encoding})
    assert (got, error_code(answer)) == (status, code)
    assert upstream.received == []
