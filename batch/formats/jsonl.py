"""JSON Lines: one record a line, fields by name or dotted path. A line whose chosen fields
did not change is written back byte for byte; a changed one is re-serialized with the same
key order and types."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from batch.fields import NotText, Slot, text_slots
from batch.formats.base import Chunk, ChunkResult, Format, Reject, Transform, Writer

CHUNK_BYTES = 4 << 20


class JsonlFormat(Format):
    name = "jsonl"

    def chunks(self, src: Path, rel: str, pos: dict[str, Any]) -> Iterator[Chunk]:
        offset, line = pos.get("offset", 0), pos.get("line", 0)
        with open(src, "rb") as file:
            file.seek(offset)
            lines: list[tuple[int, bytes]] = []
            size = 0
            for raw in file:
                line += 1
                offset += len(raw)
                size += len(raw)
                lines.append((line, raw))
                if len(lines) >= self.chunk_rows or size >= CHUNK_BYTES:
                    yield Chunk((rel, self.fields, lines), len(lines), size,
                                {"offset": offset, "line": line})
                    lines, size = [], 0
            if lines:
                yield Chunk((rel, self.fields, lines), len(lines), size,
                            {"offset": offset, "line": line})

    def open_writer(self, src: Path, dst: Path, pos: dict[str, Any]) -> Writer:
        return AppendWriter(dst, pos.get("out", 0))

    @staticmethod
    def work(payload: Any, transform: Transform) -> ChunkResult:
        rel, fields, lines = payload
        result = ChunkResult([])
        parsed: list[tuple[int, bytes, Any, list[tuple[str, Slot]]] | None] = []
        texts: list[str] = []
        for line, raw in lines:
            if not raw.strip():
                parsed.append(None)
                continue
            try:
                record = json.loads(raw)
                slots = [(f, slot) for f in fields for slot in text_slots(record, f)]
            except (ValueError, UnicodeDecodeError):
                result.rejects.append(Reject(rel, line, None, "not a valid JSON line",
                                             raw_bytes=raw))
                parsed.append(None)
                continue
            except NotText as exc:
                result.rejects.append(Reject(rel, line, exc.path, str(exc), raw_bytes=raw))
                parsed.append(None)
                continue
            parsed.append((line, raw, record, slots))
            texts += [slot.get() for _, slot in slots]
        done = transform(texts)
        result.items, result.counts = done.items, done.counts
        result.lookalikes = done.lookalikes
        at = 0
        for (line, raw), entry in zip(lines, parsed, strict=True):
            if entry is None:
                if not raw.strip():
                    result.out.append(raw)
                continue
            _, _, record, slots = entry
            new = done.texts[at : at + len(slots)]
            failed = [i for i in range(at, at + len(slots)) if i in done.errors]
            if failed:
                field_name = slots[failed[0] - at][0]
                result.rejects.append(Reject(rel, line, field_name, done.errors[failed[0]],
                                             raw_bytes=raw))
                at += len(slots)
                continue
            changed = False
            for (_, slot), text in zip(slots, new, strict=True):
                if text != slot.get():
                    slot.set(text)
                    changed = True
            at += len(slots)
            if changed:
                end = b"\n" if raw.endswith(b"\n") else b""
                result.out.append(json.dumps(record, ensure_ascii=False).encode() + end)
            else:
                result.out.append(raw)
        return result


class AppendWriter(Writer):
    """Bytes appended in order; on resume the file is cut back to the checkpointed size."""

    def __init__(self, dst: Path, size: int) -> None:
        dst.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(dst, "r+b" if size else "wb")  # noqa: SIM115 (closed in close())
        self.file.truncate(size)
        self.file.seek(size)

    def write(self, chunk: Chunk, result: ChunkResult) -> list[Reject]:
        self.file.writelines(result.out)
        return result.rejects

    def position(self) -> dict[str, Any]:
        self.file.flush()
        os.fsync(self.file.fileno())
        return {"out": self.file.tell()}

    def close(self) -> None:
        self.file.close()
