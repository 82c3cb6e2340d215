"""Parquet in, Parquet out, one row group at a time: schema, types, nulls and order kept."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.batch.conftest import FRUITS


def write_table(path: Path, rows: int, group: int, bad_at: int | None = None) -> pa.Table:
    texts = [None if i % 7 == 3 else f"row {i}: apples and plums" for i in range(rows)]
    if bad_at is not None:
        texts[bad_at] = "already has FRUIT_FLASH0 and apples"  # cannot round-trip
    table = pa.table({
        "id": pa.array(range(rows), pa.int64()),
        "text": pa.array(texts, pa.string()),
        "kind": pa.array(["apples" if i % 2 else "bananas" for i in range(rows)]
                         ).dictionary_encode(),
        "score": pa.array([i / 4 for i in range(rows)], pa.float32()),
    }).replace_schema_metadata({"owner": "crm"})
    pq.write_table(table, path, row_group_size=group)
    return table


def test_row_groups_streamed_and_everything_but_the_columns_kept(tmp_path: Path,
                                                                 batch) -> None:
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    original = write_table(src, 50, 10)
    done = batch(src, "-o", out, "-c", FRUITS, "-f", "text", "-f", "kind", "--workers", "2",
                 "--chunk-rows", "4")
    assert done.code == 0, done.err
    result = pq.ParquetFile(out)
    assert result.num_row_groups == 5
    table = result.read()
    assert table.schema == original.schema  # types, dictionary column and metadata kept
    assert table.column("id").to_pylist() == list(range(50))
    assert table.column("score") == original.column("score")
    texts = table.column("text").to_pylist()
    assert texts[3] is None and texts[0] == "row 0: FRUIT_FLASH0 and FRUIT_REGEX0"
    assert set(table.column("kind").to_pylist()) == {"FRUIT_FLASH0", "FRUIT_FLASH1"}
    assert done.summary["rows"] == 50

    back = tmp_path / "back.parquet"
    assert batch(out, "-o", back, "--deanonymize", "--mapping", f"{out}.mapping", "-f", "text",
                 "-f", "kind", "--workers", "1").code == 0
    assert pq.read_table(back).equals(original)


def test_resume_after_a_stop_keeps_finished_row_groups(tmp_path: Path, batch) -> None:
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    write_table(src, 40, 10, bad_at=25)
    stopped = batch(src, "-o", out, "-c", FRUITS, "-f", "text", "--workers", "1")
    assert stopped.code == 1 and "in.parquet:26 column text" in stopped.err
    assert "FRUIT_FLASH0 and apples" not in stopped.err
    assert len(list(Path(f"{out}.parts").glob("*.parquet"))) == 2  # two row groups done
    resumed = batch(src, "-o", out, "-c", FRUITS, "-f", "text", "--workers", "1", "--resume",
                    "--on-error", "reject")
    assert resumed.code == 0, resumed.err
    # Only the two unfinished row groups were read again.
    assert resumed.summary["bytes"] < pq.ParquetFile(src).metadata.row_group(0).total_byte_size * 3
    ids = pq.read_table(out).column("id").to_pylist()
    assert ids == [i for i in range(40) if i != 25]
    reject = json.loads(Path(resumed.summary["rejects"]).read_text())
    assert reject["line"] == 26 and json.loads(reject["raw"])["id"] == 25


def test_a_chosen_column_that_is_not_text_stops_with_its_name(tmp_path: Path, batch) -> None:
    src = tmp_path / "in.parquet"
    write_table(src, 5, 5)
    done = batch(src, "-o", tmp_path / "out.parquet", "-c", FRUITS, "-f", "score",
                 "--workers", "1")
    assert done.code == 1 and "in.parquet column score: holds float, not text" in done.err
