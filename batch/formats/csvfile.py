"""CSV with a header row, columns by name. The header and every row whose chosen cells did not
change are copied byte for byte; a changed row is re-quoted the way Python's csv writes it,
with the file's own line ending."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from batch.formats.base import Chunk, ChunkResult, Format, Reject, Transform, Writer
from batch.formats.jsonl import CHUNK_BYTES, AppendWriter
from pipeline.errors import ConfigError

csv.field_size_limit(1 << 28)


class _Lines:
    """Feeds csv.reader line by line while counting bytes and lines, so a record's raw bytes
    and the offset after it are known (csv.reader reads no further than the record's end)."""

    def __init__(self, file: BinaryIO, offset: int, line: int) -> None:
        self.file, self.offset, self.line = file, offset, line
        self.raw: list[bytes] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = self.file.readline()
        if not raw:
            raise StopIteration
        self.offset += len(raw)
        self.line += 1
        self.raw.append(raw)
        return raw.decode("utf-8", "surrogateescape")

    def take(self) -> bytes:
        raw, self.raw = b"".join(self.raw), []
        return raw


class CsvFormat(Format):
    name = "csv"

    def header(self, src: Path) -> tuple[bytes, list[str]]:
        with open(src, "rb") as file:
            lines = _Lines(file, 0, 0)
            row = next(csv.reader(lines), None)
            if row is None:
                return b"", []
            return lines.take(), row

    def chunks(self, src: Path, rel: str, pos: dict[str, Any]) -> Iterator[Chunk]:
        raw_header, header = self.header(src)
        if not header:
            return
        missing = [f for f in self.fields if f not in header]
        if missing:
            raise ConfigError("--field", f"{rel} has no column {missing[0]!r} in its header")
        columns = [(header.index(f), f) for f in self.fields]
        ending = "\r\n" if raw_header.endswith(b"\r\n") else "\n"
        with open(src, "rb") as file:
            start = pos.get("offset", len(raw_header))
            file.seek(start)
            lines = _Lines(file, start, pos.get("line", 1))
            reader = csv.reader(lines)
            rows: list[tuple[int, bytes, list[str] | None]] = []
            size = 0
            while True:
                first = lines.line + 1
                try:
                    row: list[str] | None = next(reader)
                except StopIteration:
                    break
                except csv.Error:
                    row = None
                raw = lines.take()
                size += len(raw)
                rows.append((first, raw, row))
                if len(rows) >= self.chunk_rows or size >= CHUNK_BYTES:
                    yield Chunk((rel, len(header), columns, ending, rows), len(rows), size,
                                {"offset": lines.offset, "line": lines.line})
                    rows, size = [], 0
            if rows:
                yield Chunk((rel, len(header), columns, ending, rows), len(rows), size,
                            {"offset": lines.offset, "line": lines.line})

    def open_writer(self, src: Path, dst: Path, pos: dict[str, Any]) -> Writer:
        writer = AppendWriter(dst, pos.get("out", 0))
        if not pos:
            writer.file.write(self.header(src)[0])
        return writer

    @staticmethod
    def work(payload: Any, transform: Transform) -> ChunkResult:
        rel, width, columns, ending, rows = payload
        result = ChunkResult([])
        keep: list[tuple[int, bytes, list[str]]] = []
        texts: list[str] = []
        for line, raw, row in rows:
            if row is None:
                result.rejects.append(Reject(rel, line, None, "not a valid CSV row",
                                             raw_bytes=raw))
            elif not row and not raw.strip():
                result.out.append(raw)  # a blank line stays a blank line
            elif len(row) != width:
                result.rejects.append(Reject(
                    rel, line, None, f"{len(row)} columns where the header has {width}",
                    raw_bytes=raw))
            elif bad := next((name for i, name in columns if _undecodable(row[i])), None):
                result.rejects.append(Reject(rel, line, bad, "not valid UTF-8 text",
                                             raw_bytes=raw))
            else:
                keep.append((line, raw, row))
                texts += [row[i] for i, _ in columns]
        if not keep:
            return result
        done = transform(texts)
        result.items, result.counts = done.items, done.counts
        result.lookalikes = done.lookalikes
        for n, (line, raw, row) in enumerate(keep):
            base = n * len(columns)
            failed = [j for j in range(len(columns)) if base + j in done.errors]
            if failed:
                result.rejects.append(Reject(rel, line, columns[failed[0]][1],
                                             done.errors[base + failed[0]], raw_bytes=raw))
                continue
            new = list(row)
            for j, (i, _) in enumerate(columns):
                new[i] = done.texts[base + j]
            if new == row:
                result.out.append(raw)
                continue
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator=ending).writerow(new)
            result.out.append(buffer.getvalue().encode())
        return result


def _undecodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


