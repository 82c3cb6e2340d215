"""Many keys in one round trip on the item store's backend: what conversations and the span
cache need beyond one map per request (``proxy/store.py`` keeps that part).

``get_many`` is one ``MGET``; ``write`` is one pipeline of ``SET key value EX ttl`` and
``EXPIRE key ttl`` (keeping the rest of a conversation alive as long as its newest turn).
Both count their round trips, so a benchmark can report store trips per turn.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from proxy.store import ItemStore, MemoryItemStore, RedisItemStore, StoreError


class KeyValue:
    """Batched reads and writes with the item store's connection and TTL."""

    def __init__(self, store: ItemStore) -> None:
        if not isinstance(store, RedisItemStore | MemoryItemStore):
            raise TypeError(f"no batched access for {type(store).__name__}")
        self.store = store
        self.ttl_seconds = store.ttl_seconds
        self.round_trips = 0

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        self.round_trips += 1
        store = self.store
        if isinstance(store, MemoryItemStore):
            return [await store._get(key) for key in keys]
        try:
            if isinstance(store.client, RedisCluster):
                return list(await store.client.mget_nonatomic(list(keys)))
            return list(await store.client.mget(list(keys)))
        except (RedisError, OSError) as exc:
            raise StoreError(f"redis MGET failed: {type(exc).__name__}") from None

    async def write(self, sets: Mapping[str, bytes], touch: Sequence[str] = ()) -> None:
        """Set ``sets`` and renew the TTL of ``touch``, in one round trip."""
        if not sets and not touch:
            return
        self.round_trips += 1
        store, ttl = self.store, self.ttl_seconds
        if isinstance(store, MemoryItemStore):
            for key, blob in sets.items():
                await store._set(key, blob, ttl)
            now = time.monotonic()
            for key in touch:
                entry = store._data.get(key)
                if entry is not None and entry[0] > now:
                    store._data[key] = (now + ttl, entry[1])
            return
        try:
            pipe = store.client.pipeline(transaction=False)
            for key, blob in sets.items():
                pipe.set(key, blob, ex=ttl)
            for key in touch:
                pipe.expire(key, ttl)
            await pipe.execute()
        except (RedisError, OSError) as exc:
            raise StoreError(f"redis pipeline failed: {type(exc).__name__}") from None
