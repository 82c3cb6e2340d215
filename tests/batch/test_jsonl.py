"""JSONL in, JSONL out: chosen fields by name and dotted path, everything else untouched."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.batch.conftest import FRUITS

PLACEHOLDER = re.compile(r"FRUIT_(?:FLASH|REGEX)\d+")
FIELDS = ["-f", "text", "-f", "meta.note", "-f", "msgs.content", "-f", "tags"]

RECORDS = [
    {"id": 1, "text": "I like apples and plums", "meta": {"note": "bananas!", "n": 3.5},
     "tags": ["apples", None], "flag": True},
    {"id": 2, "text": "nothing to hide", "meta": {"note": None}, "big": 12345678901234567890},
    {"id": 3, "text": "apples again", "msgs": [{"content": "plums"},
                                                {"content": ["bananas", "kiwi"]}]},
]


def write_jsonl(path: Path, records: list, extra_lines: dict[int, str] | None = None) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    for at, line in sorted((extra_lines or {}).items()):
        lines.insert(at, line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_chosen_fields_anonymized_consistently_and_the_rest_kept(tmp_path: Path, batch) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, RECORDS)
    done = batch(src, "-o", out, "-c", FRUITS, *FIELDS, "--workers", "1", "--chunk-rows", "1")
    assert done.code == 0, done.err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    first, second, third = rows
    # The same value gets the same placeholder in every row, wherever it sits.
    assert first["text"] == "I like FRUIT_FLASH0 and FRUIT_REGEX0"
    assert first["tags"] == ["FRUIT_FLASH0", None]
    assert third["text"] == "FRUIT_FLASH0 again"
    assert third["msgs"][0]["content"] == "FRUIT_REGEX0"
    assert third["msgs"][1]["content"] == [first["meta"]["note"][:-1], "kiwi"]
    # Untouched: other fields, their types, key order, nulls; a row with nothing found stays
    # byte for byte as it was.
    assert list(first) == list(RECORDS[0]) and first["meta"]["n"] == 3.5 and first["flag"] is True
    assert out.read_text().splitlines()[1] == json.dumps(RECORDS[1])
    assert second["big"] == 12345678901234567890
    assert done.summary["rows"] == 3 and done.summary["rejected"] == 0
    assert done.summary["masked"] == {"FRUIT_FLASH": 5, "FRUIT_REGEX": 2}

    back = tmp_path / "back.jsonl"
    restored = batch(out, "-o", back, "--deanonymize", "--mapping", f"{out}.mapping", *FIELDS,
                     "--workers", "1")
    assert restored.code == 0, restored.err
    assert [json.loads(x) for x in back.read_text().splitlines()] == RECORDS


def test_bad_lines_go_to_the_reject_file_reported_without_their_values(tmp_path: Path,
                                                                       batch) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, RECORDS, {1: '{"id": "secret-apples", "text": ', 2: '{"text": 42}'})
    done = batch(src, "-o", out, "-c", FRUITS, *FIELDS, "--on-error", "reject")
    assert done.code == 0, done.err
    assert "in.jsonl:2: not a valid JSON line" in done.err
    assert "in.jsonl:3 column text: field text holds a number, not text" in done.err
    assert "secret" not in done.err and "42" not in done.err
    assert done.summary["rows"] == 3 and done.summary["rejected"] == 2
    rejects = [json.loads(x) for x in Path(done.summary["rejects"]).read_text().splitlines()]
    assert [(r["line"], r["column"]) for r in rejects] == [(2, None), (3, "text")]
    assert rejects[0]["raw"] == '{"id": "secret-apples", "text": \n'  # nothing is lost
    assert len(out.read_text().splitlines()) == 3


def test_stop_on_error_then_resume_without_redoing_finished_chunks(tmp_path: Path,
                                                                   batch) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    records = [{"n": i, "text": f"apples {i} plums"} for i in range(60)]
    write_jsonl(src, records, {40: "{broken"})
    stopped = batch(src, "-o", out, "-c", FRUITS, "-f", "text", "--chunk-rows", "10",
                    "--workers", "1")
    assert stopped.code == 1
    assert "in.jsonl:41: not a valid JSON line" in stopped.err
    assert Path(f"{out}.checkpoint").exists()
    refused = batch(src, "-o", out, "-c", FRUITS, "-f", "text")
    assert refused.code == 2 and "--resume" in refused.err

    resumed = batch(src, "-o", out, "-c", FRUITS, "-f", "text", "--chunk-rows", "10",
                    "--workers", "1", "--resume", "--on-error", "reject")
    assert resumed.code == 0, resumed.err
    assert resumed.summary["rows"] == 60 and resumed.summary["rejected"] == 1
    assert resumed.summary["bytes"] < src.stat().st_size * 0.5  # the first 40 rows not redone
    lines = out.read_text().splitlines()
    assert [json.loads(x)["n"] for x in lines] == list(range(60))
    assert {json.loads(x)["text"] for x in lines} == {f"FRUIT_FLASH0 {i} FRUIT_REGEX0"
                                                       for i in range(60)}
    assert not Path(f"{out}.checkpoint").exists()


def test_workers_share_one_numbering_across_files(tmp_path: Path, batch) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    fruits = ["apples", "bananas", "plum", "plums"]
    for n in range(3):
        write_jsonl(folder / f"part{n}.jsonl",
                    [{"text": f"{fruits[(n + i) % 4]} and {fruits[(n + i + 1) % 4]}"}
                     for i in range(12)])
    out = tmp_path / "out"
    done = batch(folder, "-o", out, "-c", FRUITS, "-f", "text", "--workers", "2",
                 "--chunk-rows", "3")
    assert done.code == 0, done.err
    seen: dict[str, set[str]] = {}
    for n in range(3):
        source = [json.loads(x)["text"] for x in (folder / f"part{n}.jsonl").read_text()
                  .splitlines()]
        masked = [json.loads(x)["text"] for x in (out / f"part{n}.jsonl").read_text()
                  .splitlines()]
        for a, b in zip(source, masked, strict=True):
            for value, placeholder in zip(a.split(" and "), b.split(" and "), strict=True):
                seen.setdefault(value, set()).add(placeholder)
    assert all(len(p) == 1 for p in seen.values())  # one value, one placeholder, everywhere
    placeholders = {p for ps in seen.values() for p in ps}
    assert len(placeholders) == 4 and all(PLACEHOLDER.fullmatch(p) for p in placeholders)


def test_the_mapping_needs_the_key(tmp_path: Path, batch, monkeypatch) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, RECORDS)
    assert batch(src, "-o", out, "-c", FRUITS, "-f", "text", "--workers", "1").code == 0
    assert b"apples" not in Path(f"{out}.mapping").read_bytes()
    monkeypatch.setenv("ANONYMIZE_PROXY_KEY", "A" * 43 + "=")
    done = batch(out, "-o", tmp_path / "back.jsonl", "--deanonymize", "--mapping",
                 f"{out}.mapping", "-f", "text", "--workers", "1")
    assert done.code == 1 and "does not decrypt with this key" in done.err


def test_input_strings_that_read_as_pseudonyms_are_reported(tmp_path: Path, batch) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, [{"text": "apples"}, {"text": "the code FRUIT_FLASH0 is no fruit"}])
    done = batch(src, "-o", out, "-c", FRUITS, "-f", "text", "--workers", "1")
    assert done.code == 0, done.err
    assert done.summary["restore_clashes"] == 1
    assert "1 strings of the input read as pseudonyms" in done.err
    write_jsonl(src, [{"text": "apples"}, {"text": "code 7 is no fruit"}])
    clean = batch(src, "-o", out, "-c", FRUITS, "-f", "text", "--workers", "1", "--overwrite")
    assert clean.summary["restore_clashes"] == 0
