"""Pseudonym schemes: how a detected value becomes the same placeholder everywhere in a run.

- keyed: ``PERSON_7f3a9c1b2d4e``, an HMAC of the value under the user's key. No coordination:
  every worker, machine and later run computes the same pseudonym (the usual choice for shared
  datasets).
- numbered: ``PERSON0`` as the proxy writes them; an allocator hands out the indexes, one per
  value for the whole run: in-process, served to worker processes, or in Redis across machines.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from pipeline.errors import PipelineError
from pipeline.placeholders import PlaceholderFormat

Pair = tuple[str, str]  # (label, value)


class Scheme(Protocol):
    def names(self, pairs: Sequence[Pair]) -> list[str]:
        """One pseudonym per ``(label, value)``, in order."""
        ...


class KeyedScheme:
    """``{label}_{hex}``: HMAC-SHA256 of the value, truncated to ``digest_length`` hex digits.

    48 bits by default: a run with ten million distinct values of one label still collides
    with a chance below one in five; a collision stops the run (``PseudonymCollision``).
    """

    def __init__(self, key: bytes, digest_length: int = 12) -> None:
        if not 6 <= digest_length <= 64:
            raise ValueError("digest_length must be between 6 and 64 hex digits")
        self._key = key
        self.digest_length = digest_length

    def names(self, pairs: Sequence[Pair]) -> list[str]:
        return [f"{label}_{self.digest(value)}" for label, value in pairs]

    def digest(self, value: str) -> str:
        mac = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return mac.hexdigest()[: self.digest_length]


class PseudonymCollision(PipelineError):
    """Two different values got the same keyed pseudonym; restoring would be ambiguous."""

    def __init__(self, pseudonym_label: str) -> None:
        super().__init__(f"two values of label {pseudonym_label} got the same keyed pseudonym; "
                         "rerun with a longer --digest-length")


class Allocator(Protocol):
    def assign(self, pairs: Sequence[Pair]) -> list[tuple[str, int]]:
        """``(label, index)`` per pair; a value keeps the label and index it first got."""
        ...


class LocalAllocator:
    """Indexes for one machine. Thread-safe: a manager process serves it to every worker."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[str, int]] = {}
        self._next: dict[str, int] = {}
        if state:
            self.restore(state)

    def assign(self, pairs: Sequence[Pair]) -> list[tuple[str, int]]:
        out = []
        with self._lock:
            for label, value in pairs:
                got = self._values.get(value)
                if got is None:
                    index = self._next.get(label, 0)
                    self._next[label] = index + 1
                    got = self._values[value] = (label, index)
                out.append(got)
        return out

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps so a resumed run numbers on where it stopped."""
        with self._lock:
            return {"values": {v: list(li) for v, li in self._values.items()},
                    "next": dict(self._next)}

    def restore(self, state: dict[str, Any]) -> None:
        with self._lock:
            self._values = {v: (li[0], int(li[1])) for v, li in state["values"].items()}
            self._next = {k: int(n) for k, n in state["next"].items()}


# One round trip per chunk: get-or-assign every value atomically, whatever other machines do.
_ASSIGN = """
local out = {}
for i = 1, #ARGV, 2 do
  local got = redis.call('HGET', KEYS[1], ARGV[i])
  if not got then
    local n = redis.call('HINCRBY', KEYS[2], ARGV[i + 1], 1) - 1
    got = ARGV[i + 1] .. '\\t' .. n
    redis.call('HSET', KEYS[1], ARGV[i], got)
  end
  out[#out + 1] = got
end
return out
"""


class RedisAllocator:
    """Indexes shared by every machine of a run through Redis.

    Redis holds no personal data: values are stored as HMACs under the user's key, so only a
    machine with the key can ask for a value's index. Both keys share a hash tag (Cluster-safe).
    """

    def __init__(self, url: str, run_id: str, hmac_key: bytes,
                 prefix: str = "anonymize-proxy:batch:") -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._script = self._client.register_script(_ASSIGN)
        self._keys = [f"{prefix}{{{run_id}}}:values", f"{prefix}{{{run_id}}}:next"]
        self._hmac_key = hmac_key

    def assign(self, pairs: Sequence[Pair]) -> list[tuple[str, int]]:
        if not pairs:
            return []
        args: list[str] = []
        for label, value in pairs:
            args += [self._field(value), label]
        import redis

        try:
            answer = self._script(keys=self._keys, args=args)
        except redis.RedisError as exc:
            raise PipelineError(f"Redis for numbered placeholders failed: {type(exc).__name__}; "
                                "nothing of this chunk was written") from None
        out = []
        for raw in answer:
            label, index = raw.decode().rsplit("\t", 1)
            out.append((label, int(index)))
        return out

    def delete(self) -> None:
        """Forget the run's numbering (tests, or a run started over)."""
        self._client.delete(*self._keys)

    def _field(self, value: str) -> str:
        return hmac.new(self._hmac_key, value.encode("utf-8", "surrogatepass"),
                        hashlib.sha256).hexdigest()


class NumberedScheme:
    """``PERSON0``-style placeholders in the pipeline's format, indexes from an allocator."""

    def __init__(self, allocator: Allocator, fmt: PlaceholderFormat) -> None:
        self.allocator = allocator
        self.fmt = fmt

    def names(self, pairs: Sequence[Pair]) -> list[str]:
        return [self.fmt.render(label, index) for label, index in self.allocator.assign(pairs)]
