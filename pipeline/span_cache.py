"""Detector results of texts already analyzed, so a conversation's turn N detects only new text.

An entry is keyed by an HMAC of the text and the pipeline's identity (its config and files),
under a secret the caller holds, and holds spans only (offsets, labels, stage, score), never
text: whoever reads the store learns neither the text nor, without the secret, which text an
entry belongs to. Where entries live is pluggable (``SpanStore``): a bounded dict here, Redis
in the proxy (so any replica can use them).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from pipeline.spans import Span

# Texts shorter than this cost less to detect again than to look up.
MIN_CACHED_CHARS = 16


class SpanStore(ABC):
    """Where cache entries live: opaque keys to opaque bytes."""

    @abstractmethod
    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The entries of ``keys`` (None where missing), in one round trip."""

    @abstractmethod
    async def put_many(self, entries: Mapping[str, bytes]) -> None:
        """Store entries (with the store's time to live)."""


class MemorySpanStore(SpanStore):
    """One process: the ``max_entries`` most recently used entries."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, bytes] = OrderedDict()

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        out = []
        for key in keys:
            blob = self._data.get(key)
            if blob is not None:
                self._data.move_to_end(key)
            out.append(blob)
        return out

    async def put_many(self, entries: Mapping[str, bytes]) -> None:
        self._data.update(entries)
        for key in entries:
            self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)


class SpanCache:
    """Looks up and saves the settled spans of texts for one pipeline identity.

    ``secret`` keys the HMAC; a caller that serves several tenants gives each its own secret
    (the proxy derives one per client key), so one tenant's entries never answer another's.
    """

    def __init__(self, store: SpanStore, secret: bytes, identity: str) -> None:
        if len(secret) < 16:
            raise ValueError("the span cache secret must be at least 16 bytes")
        self.store = store
        self._secret = secret
        self._identity = identity.encode()
        self.hits = 0
        self.misses = 0

    def key(self, text: str) -> str:
        mac = hmac.new(self._secret, self._identity + b"\0", hashlib.sha256)
        mac.update(text.encode("utf-8", "surrogatepass"))
        return mac.hexdigest()

    async def lookup(self, texts: Sequence[str]) -> list[list[Span] | None]:
        """Spans of each text, or None where they are not cached (or the text is short)."""
        wanted = [i for i, text in enumerate(texts) if len(text) >= MIN_CACHED_CHARS]
        out: list[list[Span] | None] = [None] * len(texts)
        if not wanted:
            return out
        blobs = await self.store.get_many([self.key(texts[i]) for i in wanted])
        for i, blob in zip(wanted, blobs, strict=True):
            spans = decode_spans(blob, len(texts[i])) if blob is not None else None
            out[i] = spans
            if spans is None:
                self.misses += 1
            else:
                self.hits += 1
        return out

    async def save(self, texts: Sequence[str], spans: Sequence[list[Span]]) -> None:
        entries = {self.key(text): encode_spans(found)
                   for text, found in zip(texts, spans, strict=True)
                   if len(text) >= MIN_CACHED_CHARS}
        if entries:
            await self.store.put_many(entries)


def encode_spans(spans: Sequence[Span]) -> bytes:
    return json.dumps([[s.start, s.end, s.label, s.stage, s.score] for s in spans],
                      separators=(",", ":")).encode()


def decode_spans(blob: bytes, text_length: int) -> list[Span] | None:
    """The spans of an entry; None (a miss) when it is malformed or does not fit the text."""
    try:
        raw = json.loads(blob)
        spans = [Span(int(a), int(b), str(label), int(stage), float(score))
                 for a, b, label, stage, score in raw]
    except (ValueError, TypeError):
        return None
    if any(not 0 <= s.start < s.end <= text_length for s in spans):
        return None
    return spans
