"""CSV in, CSV out: columns by name, the header and untouched rows byte for byte."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.batch.conftest import FRUITS

SOURCE = (
    'id,text,other\r\n'
    '1,"I like apples, and plums",keep apples\r\n'
    '2,"two lines:\r\nbananas",y\r\n'
    '3,too,many,cells\r\n'
    '4,nothing here,z\r\n'
    '5,,\r\n'
)


def test_columns_anonymized_rows_checked_and_everything_else_kept(tmp_path: Path,
                                                                  batch) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(SOURCE.encode())
    done = batch(src, "-o", out, "-c", FRUITS, "-f", "text", "--on-error", "reject",
                 "--workers", "1")
    assert done.code == 0, done.err
    assert "in.csv:5: 4 columns where the header has 3" in done.err
    assert "many" not in done.err
    text = out.read_bytes().decode()
    assert text.startswith("id,text,other\r\n")
    rows = list(csv.reader(text.splitlines(keepends=True)))
    assert rows[1] == ["1", "I like FRUIT_FLASH0, and FRUIT_REGEX0", "keep apples"]
    assert rows[2] == ["2", "two lines:\r\nFRUIT_FLASH1", "y"]
    assert "4,nothing here,z\r\n5,,\r\n" in text  # untouched rows, byte for byte
    assert done.summary["rows"] == 4 and done.summary["rejected"] == 1
    reject = json.loads(Path(done.summary["rejects"]).read_text())
    assert (reject["line"], reject["raw"]) == (5, "3,too,many,cells\r\n")

    back = tmp_path / "back.csv"
    assert batch(out, "-o", back, "--deanonymize", "--mapping", f"{out}.mapping", "-f", "text",
                 "--workers", "1").code == 0
    assert back.read_bytes().decode() == SOURCE.replace("3,too,many,cells\r\n", "")


def test_an_unknown_column_is_a_clear_error(tmp_path: Path, batch) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a,b\n1,2\n")
    done = batch(src, "-o", tmp_path / "out.csv", "-c", FRUITS, "-f", "notes", "--workers", "1")
    assert done.code == 2 and "no column 'notes'" in done.err
