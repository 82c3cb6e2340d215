"""A folder of text files in, the same tree out; a file that is not UTF-8 is set aside."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.batch.conftest import FRUITS


def test_every_file_anonymized_with_one_mapping(tmp_path: Path, batch) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.txt").write_text("apples here\n")
    (docs / "sub" / "b.md").write_text("plums, then apples\n")
    (docs / "bad.txt").write_bytes(b"\xff\xfeapples")
    out = tmp_path / "out"
    done = batch(docs, "-o", out, "-c", FRUITS, "--on-error", "reject")
    assert done.code == 0, done.err
    assert (out / "a.txt").read_text() == "FRUIT_FLASH0 here\n"
    assert (out / "sub" / "b.md").read_text() == "FRUIT_REGEX0, then FRUIT_FLASH0\n"
    assert not (out / "bad.txt").exists()
    assert "bad.txt: not UTF-8 text (byte 0)" in done.err
    reject = json.loads(Path(done.summary["rejects"]).read_text())
    assert base64.b64decode(reject["raw_base64"]) == b"\xff\xfeapples"

    back = tmp_path / "back"
    assert batch(out, "-o", back, "--deanonymize", "--mapping", f"{out}.mapping").code == 0
    assert (back / "sub" / "b.md").read_text() == "plums, then apples\n"
