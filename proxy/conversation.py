"""One mapping per conversation, found with no client change: the already-seen message prefix.

Chat clients resend the whole history each turn. Each text of a request (in the order the
format lists them) is a node of a hash chain, ``node_i = HMAC(scope, node_{i-1} || text_i)``,
where ``scope`` is a secret derived from the proxy's key and the client's key. A node is
stored (encrypted, with the TTL) when its text is first sent upstream, holding what the
provider got for it (its anonymized form) and how many values the conversation knew after it;
a request's last node also holds the mapping. The next turn recomputes the chain, fetches all
its nodes in one ``MGET`` and finds the longest stored prefix: those texts are sent exactly as
before (stable prefix: the provider's prompt cache keeps hitting, and a value first detected
later does not re-mask them), the mapping is that of the prefix, and only the texts after it
are anonymized, extending the mapping (same value, same placeholder; values known from earlier
turns masked wherever they recur).

A conversation is only ever a prefix of the request itself: two conversations that share their
first texts share those texts' nodes and nothing else (a fork takes the mapping as it was after
the shared texts), so an answer is restored only with values of its own conversation. An
optional ``X-Conversation-Id`` header names a conversation explicitly: its chain starts from the
id, and its latest mapping is kept under the id too, so values stay known when the client
rewrites its history (an agent compacting its context). Threat model: docs/proxy.md.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from pipeline.restore import placeholder_pattern
from pipeline.span_cache import SpanCache, SpanStore
from proxy import jsonio
from proxy.client_request import LOG_FIELDS
from proxy.crypto import DecryptionError, ItemCipher
from proxy.errors import bad_request, store_unavailable
from proxy.formats.base import Exchange, RelayHook
from proxy.kv import KeyValue
from proxy.logs import log_event
from proxy.metrics import Metrics
from proxy.store import StoreError

HEADER = "X-Conversation-Id"
_SANE_ID = re.compile(r"[\x21-\x7e]{1,256}")
# Headers whose values say which client (and so which tenant) is asking.
_CLIENT_HEADERS = ("authorization", "api-key", "x-api-key")
SCRATCH = "conversation"


def derive_master(encryption_key: bytes | None) -> bytes:
    """The conversations' HMAC secret: from the store key (all replicas agree), else random
    (conversations then live in one process only)."""
    if encryption_key is None:
        return os.urandom(32)
    return hmac.new(encryption_key, b"anonymize-proxy conversations v1", hashlib.sha256).digest()


def client_scope(master: bytes, headers: Mapping[str, str]) -> bytes:
    """A secret per client key: nothing derived from it is reachable with another key."""
    mac = hmac.new(master, b"scope", hashlib.sha256)
    for name in _CLIENT_HEADERS:
        value = headers.get(name, "")
        mac.update(b"\0" + name.encode() + b"\0" + value.encode("utf-8", "surrogateescape"))
    return mac.digest()


def prefix_chain(scope: bytes, texts: Sequence[str], conversation_id: str | None) -> list[bytes]:
    """The chain's node ids, one per text; equal prefixes give equal ids, nothing else does."""
    root = (b"id\0" + conversation_id.encode()) if conversation_id else b"chain"
    node = hmac.new(scope, b"root\0" + root, hashlib.sha256).digest()
    chain = []
    for text in texts:
        mac = hmac.new(scope, node, hashlib.sha256)
        mac.update(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
        node = mac.digest()
        chain.append(node)
    return chain


@dataclass
class Turn:
    """What ``known_mapping`` found, for ``anonymized`` to extend and store."""

    chain: list[bytes]
    keys: list[str]
    prefix: int
    known: list[tuple[str, str]]
    record_key: str | None
    pending: dict[str, bytes] = field(default_factory=dict)


class StoreSpans(SpanStore):
    """The span cache on the item store; writes wait for the conversation's one write."""

    def __init__(self, kv: KeyValue, prefix: str, pending: dict[str, bytes]) -> None:
        self.kv = kv
        self.prefix = prefix
        self.pending = pending

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return await self.kv.get_many([self.prefix + key for key in keys])

    async def put_many(self, entries: Mapping[str, bytes]) -> None:
        self.pending.update({self.prefix + key: blob for key, blob in entries.items()})


class Conversations(RelayHook):
    """The relay hook: known mapping and frozen prefix before anonymization, store after."""

    def __init__(self, kv: KeyValue, master: bytes, cipher: ItemCipher | None,
                 key_prefix: str, identity: str, metrics: Metrics | None = None) -> None:
        self.kv = kv
        self._metrics = metrics
        self._master = master
        self._cipher = cipher
        # "~" never occurs in a request id (client_request._SANE_ID): no id can name these.
        self._nodes = key_prefix + "~conv~n~"
        self._records = key_prefix + "~conv~r~"
        self._spans = key_prefix + "~spans~"
        self._identity = identity

    # -- before anonymization ------------------------------------------------------------

    async def known_mapping(self, exchange: Exchange) -> Mapping[str, str]:
        if exchange.known:
            # The format found the conversation itself (Responses' previous_response_id): two
            # mappings for one request could give one placeholder two values. Step aside.
            return {}
        headers = exchange.request.headers
        conversation_id = headers.get(HEADER)
        if conversation_id is not None and not _SANE_ID.fullmatch(conversation_id):
            raise bad_request(f"{HEADER} must be 1 to 256 printable ASCII characters",
                              "invalid_conversation_id")
        scope = client_scope(self._master, headers)
        texts = [slot.get() for slot in exchange.slots]
        chain = prefix_chain(scope, texts, conversation_id)
        keys = [self._nodes + node.hex() for node in chain]
        record_key = None
        if conversation_id is not None:
            record_key = self._records + hmac.new(scope, b"record\0" + conversation_id.encode(),
                                                  hashlib.sha256).hexdigest()
        try:
            blobs = await self.kv.get_many(keys + ([record_key] if record_key else []))
            record = self._open(record_key, blobs.pop()) if record_key else None
            opened: list[dict[str, Any] | None] = []
            prefix, known = await self._longest_prefix(keys, blobs, opened)
        except StoreError as exc:
            self._store_failed("conversation_get", exc)
        if record is not None:
            known = _merge(known, _pairs(record.get("m")))
        frozen: dict[int, str] = {}
        for i in range(prefix):
            node = opened[i] if i < len(opened) else self._open(keys[i], blobs[i])
            text = node.get("a") if node else None
            if not isinstance(text, str):  # unreadable: nothing of this prefix is trusted
                prefix, frozen = 0, {}
                break
            frozen[i] = text
        exchange.frozen = frozen
        turn = Turn(chain, keys, prefix, known, record_key)
        exchange.scratch[SCRATCH] = turn
        spans_secret = hmac.new(scope, b"spans", hashlib.sha256).digest()
        exchange.span_cache = SpanCache(StoreSpans(self.kv, self._spans, turn.pending),
                                        spans_secret, self._identity)
        exchange.request[LOG_FIELDS]["conversation"] = {"texts": len(texts), "known": prefix}
        return dict(known)

    async def _longest_prefix(self, keys: list[str], blobs: list[bytes | None],
                              opened: list[dict[str, Any] | None],
                              ) -> tuple[int, list[tuple[str, str]]]:
        """How many leading texts were sent before, and the mapping after them; ``opened``
        gets the decrypted nodes of the stored prefix."""
        prefix = 0
        while prefix < len(blobs) and blobs[prefix] is not None:
            prefix += 1
        opened.extend(self._open(keys[i], blobs[i]) for i in range(prefix))
        while prefix > 0:
            node = opened[prefix - 1]
            if node is not None:
                items = _pairs(node.get("m")) if "m" in node else None
                if items is None:
                    snapshot_key = self._nodes + str(node.get("s", ""))
                    (blob,) = await self.kv.get_many([snapshot_key])
                    snapshot = self._open(snapshot_key, blob)
                    items = _pairs(snapshot.get("m")) if snapshot else None
                count = node.get("n")
                if items is not None and isinstance(count, int) and 0 <= count <= len(items):
                    return prefix, items[:count]
            prefix -= 1  # a node we cannot use: trust the prefix before it only
        return 0, []

    # -- after anonymization -------------------------------------------------------------

    async def anonymized(self, exchange: Exchange) -> None:
        turn: Turn | None = exchange.scratch.get(SCRATCH)
        if turn is None:
            return
        items = list(exchange.items.items())
        known_count = len(turn.known)
        new = [placeholder for placeholder, _ in items[known_count:]]
        pattern = placeholder_pattern(new) if new else None
        sets: dict[str, bytes] = dict(turn.pending)
        seen: set[str] = set()
        last = len(turn.chain) - 1
        for i in range(turn.prefix, len(turn.chain)):
            anonymized = exchange.slots[i].get()
            if pattern is not None:
                seen.update(pattern.findall(anonymized))
            node: dict[str, Any] = {"a": anonymized, "n": known_count + len(seen),
                                    "s": turn.chain[last].hex()}
            if i == last:
                node = {**node, "n": len(items), "m": items}
            sets[turn.keys[i]] = self._seal(turn.keys[i], node)
        touch = turn.keys[: turn.prefix]
        if turn.record_key is not None:
            sets[turn.record_key] = self._seal(turn.record_key, {"m": items})
        try:
            await self.kv.write(sets, touch)
        except StoreError as exc:
            self._store_failed("conversation_put", exc)

    def _store_failed(self, operation: str, exc: StoreError) -> NoReturn:
        """Fail closed: without the conversation nothing is sent (503), as for the map."""
        if self._metrics is not None:
            self._metrics.child(self._metrics.store_errors, operation).inc()
        log_event("store_failed", level=logging.WARNING, operation=operation,
                  store=self.kv.store.address, error=str(exc))
        raise store_unavailable() from None

    # -- sealed values ---------------------------------------------------------------------

    def _seal(self, key: str, value: dict[str, Any]) -> bytes:
        plain = jsonio.dumps(value)
        return self._cipher.encrypt(plain, key) if self._cipher else plain

    def _open(self, key: str | None, blob: bytes | None) -> dict[str, Any] | None:
        """A stored value, or None when it is missing, foreign or does not decrypt."""
        if key is None or blob is None:
            return None
        try:
            plain = self._cipher.decrypt(blob, key) if self._cipher else blob
            value = jsonio.loads(plain)
        except (DecryptionError, ValueError):
            log_event("conversation_unreadable", level=30)
            return None
        return value if isinstance(value, dict) else None


def _pairs(raw: Any) -> list[tuple[str, str]] | None:
    if not isinstance(raw, list):
        return None
    out = []
    for pair in raw:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str)
                                                                   for x in pair)):
            return None
        out.append((pair[0], pair[1]))
    return out


def _merge(first: list[tuple[str, str]],
           more: list[tuple[str, str]] | None) -> list[tuple[str, str]]:
    """``first`` plus the pairs of ``more`` whose placeholder and value are both new to it
    (the branch the request continues wins over the conversation's latest record)."""
    if not more:
        return first
    placeholders = {p for p, _ in first}
    values = {v for _, v in first}
    out = list(first)
    for placeholder, value in more:
        if placeholder not in placeholders and value not in values:
            out.append((placeholder, value))
            placeholders.add(placeholder)
            values.add(value)
    return out


def install(app_state: Any, kv: KeyValue, master: bytes, cipher: ItemCipher | None) -> None:
    """Add the conversation layer to a proxy state's relay hooks."""
    app_state.relay_hooks.append(Conversations(kv, master, cipher, app_state.settings.key_prefix,
                                               app_state.pipeline.identity, app_state.metrics))
