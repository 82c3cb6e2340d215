"""Where item maps live between the request and a later restore: Redis, or memory for a laptop.

Each proxied request's ``{placeholder: original}`` map is written under its request id with a
TTL, in one round trip (``SET key value EX ttl``), before anything goes upstream. With a key
configured the stored value is AES-GCM encrypted.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from proxy import jsonio
from proxy.crypto import ItemCipher
from proxy.resp import PipelinedSet, RespError


class StoreError(Exception):
    """The store could not be reached or answered wrongly; callers fail closed."""


def store_address(url: str) -> str:
    """Where the store is, for logs: scheme, host, port and database, never the password.

    ``redis://:secret@cache.internal/2?password=x`` -> ``redis://cache.internal:6379/2``.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(unparsable store URL)"
    if parts.scheme == "memory":
        return "memory://"
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}:{port or 6379}{parts.path or '/0'}"


class ItemStore(ABC):
    """Item maps by request id, each with a time to live."""

    #: Where the store is (``store_address``): logged at start-up and with every failure.
    address: str = "memory://"

    def __init__(self, ttl_seconds: int, key_prefix: str, key: bytes | None) -> None:
        self.ttl_seconds = ttl_seconds
        self.key_prefix = key_prefix
        self._cipher = ItemCipher(key) if key else None

    @property
    def encrypted(self) -> bool:
        return self._cipher is not None

    def key_for(self, request_id: str) -> str:
        return self.key_prefix + request_id

    async def put(self, request_id: str, items: dict[str, str]) -> None:
        key = self.key_for(request_id)
        await self._set(key, self._seal(key, items), self.ttl_seconds)

    async def get(self, request_id: str) -> dict[str, str] | None:
        """The stored map, or None when it never existed or has expired."""
        key = self.key_for(request_id)
        blob = await self._get(key)
        return None if blob is None else self._open(key, blob)

    async def delete(self, request_id: str) -> None:
        """Forget a map now (what it restores was deleted), not at the end of its TTL."""
        await self._delete(self.key_for(request_id))

    def _seal(self, key: str, items: dict[str, str]) -> bytes:
        plain = jsonio.dumps(items)
        return self._cipher.encrypt(plain, key) if self._cipher else plain

    def _open(self, key: str, blob: bytes) -> dict[str, str]:
        plain = self._cipher.decrypt(blob, key) if self._cipher else blob
        items = jsonio.loads(plain)
        if not isinstance(items, dict):
            raise StoreError("stored item map has the wrong shape")
        return items

    @abstractmethod
    async def _set(self, key: str, blob: bytes, ttl: int) -> None: ...

    @abstractmethod
    async def _get(self, key: str) -> bytes | None: ...

    @abstractmethod
    async def _delete(self, key: str) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise ``StoreError`` when the store does not answer."""

    async def close(self) -> None:
        return None


class RedisItemStore(ItemStore):
    """Redis (standalone, TLS, unix socket or cluster) through one connection pool.

    With ``writer`` (plain TCP or unix socket) the per-request ``SET`` goes through it, one
    pipelined connection (``proxy/resp.py``); reads and pings always use the pool.
    """

    def __init__(self, client: Any, ttl_seconds: int, key_prefix: str,
                 key: bytes | None, writer: PipelinedSet | None = None) -> None:
        super().__init__(ttl_seconds, key_prefix, key)
        self.client = client
        self.writer = writer

    async def _set(self, key: str, blob: bytes, ttl: int) -> None:
        if self.writer is not None:
            try:
                await self.writer.set(key.encode(), blob, ttl)
            except RespError as exc:
                raise StoreError(str(exc)) from None
            return
        try:
            await self.client.set(key, blob, ex=ttl)
        except (RedisError, OSError) as exc:
            raise StoreError(f"redis SET failed: {type(exc).__name__}") from None

    async def _get(self, key: str) -> bytes | None:
        try:
            return await self.client.get(key)
        except (RedisError, OSError) as exc:
            raise StoreError(f"redis GET failed: {type(exc).__name__}") from None

    async def _delete(self, key: str) -> None:
        try:
            await self.client.delete(key)
        except (RedisError, OSError) as exc:
            raise StoreError(f"redis DEL failed: {type(exc).__name__}") from None

    async def ping(self) -> None:
        """A write, the way requests write: a Redis that answers PING but refuses writes
        (``-OOM`` under ``maxmemory``, a read-only replica) fails every request, so it is not
        ready either."""
        try:
            await self.client.ping()
        except (RedisError, OSError) as exc:
            raise StoreError(f"redis PING failed: {type(exc).__name__}") from None
        await self._set(self.key_prefix + "readyz-probe", b"1", 10)

    async def close(self) -> None:
        if self.writer is not None:
            await self.writer.close()
        await self.client.aclose()


class MemoryItemStore(ItemStore):
    """One process only (``memory://``): same TTL semantics, nothing shared or persisted."""

    def __init__(self, ttl_seconds: int, key_prefix: str, key: bytes | None) -> None:
        super().__init__(ttl_seconds, key_prefix, key)
        self._data: dict[str, tuple[float, bytes]] = {}
        self._writes = 0

    async def _set(self, key: str, blob: bytes, ttl: int) -> None:
        now = time.monotonic()
        self._data[key] = (now + ttl, blob)
        self._writes += 1
        if self._writes % 1024 == 0:  # sweep now and then so expired maps do not pile up
            self._data = {k: v for k, v in self._data.items() if v[0] > now}

    async def _get(self, key: str) -> bytes | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._data[key]
            return None
        return entry[1]

    async def _delete(self, key: str) -> None:
        self._data.pop(key, None)

    def ttl_of(self, request_id: str) -> float | None:
        """Seconds left for a map (tests and diagnostics)."""
        entry = self._data.get(self.key_for(request_id))
        return None if entry is None else max(0.0, entry[0] - time.monotonic())

    async def ping(self) -> None:
        return None


def open_store(url: str, *, ttl_seconds: int, key_prefix: str, key: bytes | None,
               cluster: bool = False, timeout_seconds: float = 2.0) -> ItemStore:
    """A store for ``url``. Connections open lazily: a down Redis fails requests, not start-up."""
    if url.startswith("memory://"):
        return MemoryItemStore(ttl_seconds, key_prefix, key)
    store = _open_redis(url, ttl_seconds, key_prefix, key, cluster, timeout_seconds)
    store.address = store_address(url)
    return store


def _open_redis(url: str, ttl_seconds: int, key_prefix: str, key: bytes | None,
                cluster: bool, timeout_seconds: float) -> RedisItemStore:
    options: dict[str, Any] = {
        "socket_connect_timeout": timeout_seconds,
        "socket_timeout": timeout_seconds,
        # A blip is retried quickly; a Redis that is down fails the request within ~0.1 s.
        "retry": Retry(ExponentialBackoff(cap=0.05, base=0.01), retries=2),
    }
    if cluster:
        client = RedisCluster.from_url(url, **options)
        return RedisItemStore(client, ttl_seconds, key_prefix, key)
    client = aioredis.from_url(url, health_check_interval=30, **options)
    return RedisItemStore(client, ttl_seconds, key_prefix, key,
                          writer=_pipelined_writer(client, timeout_seconds))


def _pipelined_writer(client: aioredis.Redis, timeout: float) -> PipelinedSet | None:
    """The fast ``SET`` connection for the URL redis-py parsed, if it is plain TCP or a unix
    socket with at most a password and a database (TLS and custom connections: None)."""
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    if pool.connection_class not in (aioredis.Connection, aioredis.UnixDomainSocketConnection):
        return None
    if kwargs.get("credential_provider") is not None:
        return None
    return PipelinedSet(host=kwargs.get("host", "localhost"), port=int(kwargs.get("port", 6379)),
                        path=kwargs.get("path"), db=int(kwargs.get("db", 0)),
                        username=kwargs.get("username"), password=kwargs.get("password"),
                        timeout=timeout)
