"""A folder of text files: each file is one text, written to the same relative path under the
output folder. A file that is not UTF-8 is rejected, never guessed at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from batch.formats.base import Chunk, ChunkResult, Format, Reject, Transform, Writer

CHUNK_BYTES = 8 << 20


def text_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


class TextFolderFormat(Format):
    name = "text"

    def chunks(self, src: Path, rel: str, pos: dict[str, Any]) -> Iterator[Chunk]:
        files = text_files(src)
        done = pos.get("files", 0)
        batch: list[tuple[str, bytes]] = []
        size = 0
        for index in range(done, len(files)):
            data = files[index].read_bytes()
            batch.append((files[index].relative_to(src).as_posix(), data))
            size += len(data)
            if len(batch) >= self.chunk_rows or size >= CHUNK_BYTES or index == len(files) - 1:
                yield Chunk((rel, batch), len(batch), size, {"files": index + 1})
                batch, size = [], 0

    def open_writer(self, src: Path, dst: Path, pos: dict[str, Any]) -> Writer:
        return FolderWriter(dst)

    def size(self, src: Path) -> int:
        return sum(p.stat().st_size for p in text_files(src))

    @staticmethod
    def work(payload: Any, transform: Transform) -> ChunkResult:
        rel, files = payload
        result = ChunkResult([])
        names, texts = [], []
        for name, data in files:
            try:
                texts.append(data.decode("utf-8"))
                names.append(name)
            except UnicodeDecodeError as exc:
                result.rejects.append(Reject(_join(rel, name), None, None,
                                             f"not UTF-8 text (byte {exc.start})",
                                             raw_bytes=data))
        done = transform(texts)
        result.items, result.counts = done.items, done.counts
        result.lookalikes = done.lookalikes
        for i, name in enumerate(names):
            if i in done.errors:
                result.rejects.append(Reject(_join(rel, name), None, None, done.errors[i],
                                             raw=texts[i]))
            else:
                result.out.append((name, done.texts[i]))
        return result


def _join(rel: str, name: str) -> str:
    return name if rel in ("", ".") else f"{rel}/{name}"


class FolderWriter(Writer):
    def __init__(self, dst: Path) -> None:
        self.dst = dst
        dst.mkdir(parents=True, exist_ok=True)

    def write(self, chunk: Chunk, result: ChunkResult) -> list[Reject]:
        for name, text in result.out:
            path = self.dst / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
        return result.rejects

    def close(self) -> None:
        return None
