"""One module per input format: how the parent cuts a file into chunks, what a worker does to a
chunk, and how the parent writes the results back in order. A new format is one new module."""

from __future__ import annotations

from batch.formats.base import Chunk, ChunkResult, Format, Reject
from batch.formats.csvfile import CsvFormat
from batch.formats.jsonl import JsonlFormat
from batch.formats.parquet import ParquetFormat
from batch.formats.textdir import TextFolderFormat

FORMATS: dict[str, type[Format]] = {
    JsonlFormat.name: JsonlFormat,
    CsvFormat.name: CsvFormat,
    ParquetFormat.name: ParquetFormat,
    TextFolderFormat.name: TextFolderFormat,
}
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}

__all__ = ["EXTENSIONS", "FORMATS", "Chunk", "ChunkResult", "Format", "Reject"]
