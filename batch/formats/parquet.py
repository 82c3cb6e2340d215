"""Parquet, streamed one row group at a time so a file larger than memory works. Chosen
columns must hold text (string, large_string, or dictionary of strings); every other column,
the schema, its metadata and the nulls are copied as they are.

Each finished row group is written as a part file beside the output, so an interrupted run
resumes at the next row group; the parts are joined into the output at the end.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from batch.formats.base import Chunk, ChunkResult, Format, Reject, Transform, Writer
from pipeline.errors import ConfigError, PipelineError


class NotTextColumn(PipelineError):
    def __init__(self, rel: str, column: str, kind: str) -> None:
        super().__init__(f"{rel} column {column}: holds {kind}, not text")


def _is_text(kind: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind)
                or getattr(pa.types, "is_string_view", lambda _: False)(kind))


class ParquetFormat(Format):
    name = "parquet"

    def chunks(self, src: Path, rel: str, pos: dict[str, Any]) -> Iterator[Chunk]:
        import pyarrow.parquet as pq

        file = pq.ParquetFile(src)
        schema = file.schema_arrow
        for name in self.fields:
            if schema.get_field_index(name) < 0:
                raise ConfigError("--field", f"{rel} has no column {name!r}")
            if not _is_text(schema.field(name).type):
                raise NotTextColumn(rel, name, str(schema.field(name).type))
        first_row = sum(file.metadata.row_group(i).num_rows
                        for i in range(pos.get("row_groups", 0)))
        for group in range(pos.get("row_groups", 0), file.num_row_groups):
            table = file.read_row_group(group)
            nbytes = file.metadata.row_group(group).total_byte_size
            starts = range(0, max(table.num_rows, 1), self.chunk_rows)
            for n, start in enumerate(starts):
                piece = table.slice(start, self.chunk_rows)
                values = {name: piece.column(name).to_pylist() for name in self.fields}
                last = n == len(starts) - 1
                yield Chunk((rel, first_row + start, values), piece.num_rows,
                            nbytes // len(starts), {"row_groups": group + 1} if last else None,
                            local=(table, group, start))
            first_row += table.num_rows

    def open_writer(self, src: Path, dst: Path, pos: dict[str, Any]) -> Writer:
        import pyarrow.parquet as pq

        return PartsWriter(dst, self.fields, pos.get("row_groups", 0), pq.read_schema(src))

    def size(self, src: Path) -> int:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(src).metadata
        return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))

    @staticmethod
    def work(payload: Any, transform: Transform) -> ChunkResult:
        rel, first_row, values = payload
        names = list(values)
        where: list[tuple[str, int]] = []
        texts: list[str] = []
        for name in names:
            for row, value in enumerate(values[name]):
                if value is not None:
                    where.append((name, row))
                    texts.append(value)
        done = transform(texts)
        out = {name: list(column) for name, column in values.items()}
        result = ChunkResult(out, items=done.items, counts=done.counts,
                             lookalikes=done.lookalikes)
        bad: set[int] = set()
        for i, (name, row) in enumerate(where):
            if i in done.errors:
                if row not in bad:
                    result.rejects.append(Reject(rel, first_row + row + 1, name,
                                                 done.errors[i], row=row))
                bad.add(row)
            else:
                out[name][row] = done.texts[i]
        return result


class PartsWriter(Writer):
    """One part file per finished row group; ``close`` joins them into the output."""

    def __init__(self, dst: Path, fields: list[str], done_groups: int, schema: Any) -> None:
        self.dst = dst
        self.schema = schema
        self.fields = fields
        self.parts = dst.with_name(dst.name + ".parts")
        self.parts.mkdir(parents=True, exist_ok=True)
        for stale in self.parts.glob("*.parquet"):
            if int(stale.stem) >= done_groups:
                stale.unlink()
        self.pending: list[tuple[int, dict[str, list[Any]], set[int]]] = []

    def write(self, chunk: Chunk, result: ChunkResult) -> list[Reject]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table, group, start = chunk.local
        for reject in result.rejects:
            row = table.slice(start + (reject.row or 0), 1).to_pylist()[0]
            reject.raw = json.dumps(row, ensure_ascii=False, default=str)
        self.pending.append((start, result.out, {r.row for r in result.rejects}))
        if chunk.pos is None:
            return result.rejects
        keep: list[bool] = []
        columns: dict[str, list[Any]] = {name: [] for name in self.fields}
        for _, out, bad in self.pending:
            rows = len(next(iter(out.values()))) if out else 0
            keep += [i not in bad for i in range(rows)]
            for name in self.fields:
                columns[name] += out[name]
        for name in self.fields:
            kind = table.schema.field(name).type
            array = pa.array(columns[name], type=pa.large_string()).cast(kind)
            table = table.set_column(table.schema.get_field_index(name),
                                     table.schema.field(name), array)
        if not all(keep):
            table = table.filter(pa.array(keep))
        pq.write_table(table, self.parts / f"{group:08d}.parquet",
                       row_group_size=max(table.num_rows, 1))
        self.pending = []
        return result.rejects

    def close(self) -> None:
        import pyarrow.parquet as pq

        parts = sorted(self.parts.glob("*.parquet"))
        tmp = self.dst.with_name(self.dst.name + ".tmp")
        writer = None
        for part in parts:
            table = pq.read_table(part)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=max(table.num_rows, 1))
        if writer is None:
            pq.write_table(self.schema.empty_table(), tmp)
        else:
            writer.close()
        tmp.replace(self.dst)
        shutil.rmtree(self.parts)

    def abort(self) -> None:
        self.pending = []
