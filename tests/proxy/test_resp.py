"""The pipelined SET connection (proxy/resp.py): against the real Redis, and against small fake
servers for the failures a real one will not produce on demand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from proxy.resp import PipelinedSet, RespError, pack
from proxy.store import RedisItemStore, StoreError, open_store


async def test_set_stores_the_value_with_its_ttl(redis_client: aioredis.Redis,
                                                 redis_prefix: str) -> None:
    writer = PipelinedSet(host="127.0.0.1", port=6379)
    try:
        await writer.set((redis_prefix + "one").encode(), b"\x00blob\r\n$3\r\n", 60)
    finally:
        await writer.close()
    assert await redis_client.get(redis_prefix + "one") == b"\x00blob\r\n$3\r\n"
    assert 0 < await redis_client.ttl(redis_prefix + "one") <= 60


async def test_concurrent_sets_share_one_connection_and_all_land(
        redis_client: aioredis.Redis, redis_prefix: str) -> None:
    writer = PipelinedSet(host="127.0.0.1", port=6379)
    try:
        await asyncio.gather(*(writer.set(f"{redis_prefix}{i}".encode(), b"v%d" % i, 60)
                               for i in range(200)))
        connection = writer._replies
        await writer.set(f"{redis_prefix}last".encode(), b"x", 60)
        assert writer._replies is connection
    finally:
        await writer.close()
    values = await redis_client.mget([f"{redis_prefix}{i}" for i in range(200)])
    assert values == [b"v%d" % i for i in range(200)]


async def test_a_database_from_the_url_is_selected(redis_prefix: str) -> None:
    store = open_store("redis://127.0.0.1:6379/14", ttl_seconds=30, key_prefix=redis_prefix,
                       key=None)
    assert isinstance(store, RedisItemStore) and store.writer is not None
    other = aioredis.from_url("redis://127.0.0.1:6379/14")
    try:
        await store.put("r1", {"NAME0": "x"})
        assert await other.get(redis_prefix + "r1") == b'{"NAME0":"x"}'
        assert await store.get("r1") == {"NAME0": "x"}
    finally:
        await other.delete(redis_prefix + "r1")
        await other.aclose()
        await store.close()


def test_only_plain_tcp_and_unix_sockets_take_the_pipelined_path() -> None:
    def writer_of(url: str, **options: bool) -> PipelinedSet | None:
        store = open_store(url, ttl_seconds=1, key_prefix="p:", key=None, **options)
        assert isinstance(store, RedisItemStore)
        return store.writer

    assert writer_of("redis://127.0.0.1:6379/0") is not None
    assert writer_of("unix:///run/redis.sock?db=2") is not None
    assert writer_of("rediss://cache.example.com:6380/0") is None


async def test_a_broken_connection_is_replaced_and_the_write_retried(
        redis_client: aioredis.Redis, redis_prefix: str) -> None:
    writer = PipelinedSet(host="127.0.0.1", port=6379)
    try:
        await writer.set((redis_prefix + "a").encode(), b"1", 60)
        assert writer._replies is not None and writer._replies.transport is not None
        writer._replies.transport.abort()  # as if Redis restarted
        await writer.set((redis_prefix + "b").encode(), b"2", 60)
    finally:
        await writer.close()
    assert await redis_client.get(redis_prefix + "b") == b"2"


async def test_an_idle_connection_is_replaced_before_use(redis_client: aioredis.Redis,
                                                         redis_prefix: str) -> None:
    writer = PipelinedSet(host="127.0.0.1", port=6379, idle_seconds=0.5)
    try:
        await writer.set((redis_prefix + "a").encode(), b"1", 60)
        first = writer._replies
        await writer.set((redis_prefix + "b").encode(), b"2", 60)
        assert writer._replies is first  # busy: kept
        await asyncio.sleep(0.6)
        await writer.set((redis_prefix + "c").encode(), b"3", 60)
        assert writer._replies is not first and first is not None and first.lost
    finally:
        await writer.close()
    assert await redis_client.get(redis_prefix + "c") == b"3"


# -- fake servers --------------------------------------------------------------------------

Reply = Callable[[bytes], bytes | None]


@pytest.fixture
async def fake_redis() -> AsyncIterator[Callable[[Reply], Awaitable[tuple[int, list[bytes]]]]]:
    """``await fake_redis(reply)`` -> (port, received): a server that answers each command
    with ``reply(command)`` (None: never answers)."""
    servers: list[asyncio.Server] = []

    async def start(reply: Reply) -> tuple[int, list[bytes]]:
        received: list[bytes] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    command = await _read_command(reader)
                    received.append(command)
                    answer = reply(command)
                    if answer is not None:
                        writer.write(answer)
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        servers.append(server)
        return server.sockets[0].getsockname()[1], received

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def _read_command(reader: asyncio.StreamReader) -> bytes:
    """One RESP array of bulk strings, as ``b"SET key value EX 60"`` (space-joined)."""
    count = int((await reader.readline())[1:])
    parts = []
    for _ in range(count):
        size = int((await reader.readline())[1:])
        parts.append((await reader.readexactly(size + 2))[:-2])
    return b" ".join(parts)


async def test_auth_and_select_go_first_and_a_refused_password_is_named_not_shown(
        fake_redis) -> None:
    port, received = await fake_redis(lambda c: b"+OK\r\n")
    writer = PipelinedSet(host="127.0.0.1", port=port, db=3, username="app", password="s3cret")
    await writer.set(b"k", b"v", 5)
    await writer.close()
    assert received == [b"AUTH app s3cret", b"SELECT 3", b"SET k v EX 5"]

    port, _ = await fake_redis(lambda c: b"-WRONGPASS invalid username-password pair\r\n"
                               if c.startswith(b"AUTH") else b"+OK\r\n")
    writer = PipelinedSet(host="127.0.0.1", port=port, password="s3cret")
    with pytest.raises(RespError) as caught:
        await writer.set(b"k", b"v", 5)
    assert str(caught.value) == "redis handshake failed: WRONGPASS"
    await writer.close()


async def test_an_error_reply_fails_with_its_code_only(fake_redis) -> None:
    port, _ = await fake_redis(lambda c: b"-OOM command not allowed when used memory\r\n")
    writer = PipelinedSet(host="127.0.0.1", port=port)
    with pytest.raises(RespError) as caught:
        await writer.set(b"key", b"Alex Rivera", 5)
    assert str(caught.value) == "redis SET failed: OOM"
    await writer.close()


async def test_a_silent_server_times_out_after_the_retries(fake_redis) -> None:
    port, received = await fake_redis(lambda c: None)
    writer = PipelinedSet(host="127.0.0.1", port=port, timeout=0.1)
    started = time.monotonic()
    with pytest.raises(RespError) as caught:
        await writer.set(b"k", b"v", 5)
    assert str(caught.value) == "redis SET failed: TimeoutError"
    assert time.monotonic() - started < 2
    assert received == [b"SET k v EX 5"] * 3  # one try and two retries, each on a new socket
    await writer.close()


async def test_replies_out_of_step_drop_the_connection(fake_redis) -> None:
    port, _ = await fake_redis(lambda c: b"$5\r\nhello\r\n")
    writer = PipelinedSet(host="127.0.0.1", port=port, timeout=0.5)
    with pytest.raises(RespError):
        await writer.set(b"k", b"v", 5)
    await writer.close()


async def test_nothing_listening_fails_fast_as_a_store_error() -> None:
    store = open_store("redis://127.0.0.1:1/0", ttl_seconds=5, key_prefix="p:", key=None)
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        await store.put("r", {"NAME0": "Alex Rivera"})
    assert time.monotonic() - started < 1
    assert "Alex" not in str(caught.value)
    await store.close()


def test_pack_is_resp() -> None:
    assert pack(b"SET", b"k", b"") == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
