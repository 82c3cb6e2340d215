"""The run's ``{pseudonym: original}`` mapping, stored AES-GCM encrypted: without the key the
output is pseudonymized, with the key and this file it is re-identifiable."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from batch.keys import BatchKeys
from pipeline.errors import PipelineError
from proxy.crypto import DecryptionError

CONTEXT = "anonymize-proxy batch mapping v1"


class MappingError(PipelineError):
    """The mapping file is missing, damaged or does not decrypt with this key."""


def write_mapping(path: str | os.PathLike[str], items: Mapping[str, str], keys: BatchKeys,
                  meta: Mapping[str, object] | None = None) -> None:
    """Atomically (temp file + rename): a crash never leaves half a mapping behind."""
    plain = json.dumps({"meta": dict(meta or {}), "items": dict(items)},
                       ensure_ascii=False).encode()
    write_atomic(Path(path), keys.cipher().encrypt(plain, CONTEXT))


def read_mapping(paths: Iterable[str | os.PathLike[str]], keys: BatchKeys) -> dict[str, str]:
    """The union of one or more mapping files (one per machine of a multi-machine run)."""
    items: dict[str, str] = {}
    for path in paths:
        try:
            blob = Path(path).read_bytes()
        except OSError as exc:
            raise MappingError(f"cannot read mapping {path}: {exc.strerror}") from None
        try:
            data = json.loads(keys.cipher().decrypt(blob, CONTEXT))
        except DecryptionError:
            raise MappingError(f"mapping {path} does not decrypt with this key") from None
        items.update(data["items"])
    return items


def write_atomic(path: Path, blob: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as file:
        file.write(blob)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)
