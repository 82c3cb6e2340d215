"""The two schemes: keyed pseudonyms need no coordination; numbered ones are coordinated
through Redis across separate runs (machines) of one dataset."""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from pathlib import Path

import redis

from batch.keys import derive
from batch.pseudonyms import RedisAllocator
from tests.batch.conftest import DEFAULT, FRUITS, REDIS_URL


def texts_of(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text().splitlines()]


def write(path: Path, texts: list[str]) -> None:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))


def test_keyed_pseudonyms_are_the_same_across_runs_and_workers_and_depend_on_the_key(
        tmp_path: Path, batch, monkeypatch) -> None:
    write(tmp_path / "a.jsonl", ["apples and plums", "bananas"])
    write(tmp_path / "b.jsonl", ["plums, bananas"])
    runs = []
    for name, workers in (("a", "1"), ("b", "2")):
        out = tmp_path / f"{name}.out.jsonl"
        done = batch(tmp_path / f"{name}.jsonl", "-o", out, "-c", FRUITS, "-f", "text",
                     "--scheme", "keyed", "--workers", workers)
        assert done.code == 0, done.err
        runs.append(texts_of(out))
    (apples, _, plums), (bananas,) = runs[0][0].partition(" and "), runs[0][1:]
    assert re.fullmatch(r"FRUIT_FLASH_[0-9a-f]{12}", apples)
    assert runs[1] == [f"{plums}, {bananas}"]  # another run, file and worker count: the same

    monkeypatch.setenv("ANONYMIZE_PROXY_KEY", base64.b64encode(os.urandom(32)).decode())
    other = tmp_path / "other.jsonl"
    assert batch(tmp_path / "b.jsonl", "-o", other, "-c", FRUITS, "-f", "text",
                 "--scheme", "keyed", "--workers", "1").code == 0
    assert texts_of(other) != runs[1]


def test_numbered_placeholders_coordinated_through_redis_across_machines(
        tmp_path: Path, batch, key: bytes) -> None:
    run_id = f"test-{uuid.uuid4().hex}"
    write(tmp_path / "m1.jsonl", ["apples and plums", "bananas"])
    write(tmp_path / "m2.jsonl", ["bananas, apple, apples"])
    try:
        for name in ("m1", "m2"):  # two machines of one run, one after the other
            done = batch(tmp_path / f"{name}.jsonl", "-o", tmp_path / f"{name}.out.jsonl",
                         "-c", FRUITS, "-f", "text", "--redis", REDIS_URL, "--run-id", run_id,
                         "--workers", "1")
            assert done.code == 0, done.err
        assert texts_of(tmp_path / "m1.out.jsonl") == ["FRUIT_FLASH0 and FRUIT_REGEX0",
                                                        "FRUIT_FLASH1"]
        assert texts_of(tmp_path / "m2.out.jsonl") == ["FRUIT_FLASH1, FRUIT_FLASH2, FRUIT_FLASH0"]
        client = redis.Redis.from_url(REDIS_URL)
        stored = b"".join(k + b"".join(client.hgetall(k).keys()) + b"".join(
            client.hgetall(k).values()) for k in client.scan_iter(f"*{run_id}*"))
        assert stored and b"apple" not in stored and b"banana" not in stored

        # Each machine's mapping restores its own output; together they restore both.
        back = tmp_path / "back.jsonl"
        assert batch(tmp_path / "m2.out.jsonl", "-o", back, "--deanonymize",
                     "--mapping", tmp_path / "m1.out.jsonl.mapping",
                     "--mapping", tmp_path / "m2.out.jsonl.mapping",
                     "-f", "text", "--workers", "1").code == 0
        assert texts_of(back) == ["bananas, apple, apples"]
    finally:
        RedisAllocator(REDIS_URL, run_id, derive(key).pseudonyms).delete()


def test_default_pipeline_with_workers_masks_names_and_emails(tmp_path: Path, batch) -> None:
    texts = ["Write to Margaret Stouffer at margaret.stouffer@example.com today.",
             "Margaret Stouffer called from Helsinki.", "The weather is fine."]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write(src, texts)
    done = batch(src, "-o", out, "-c", DEFAULT, "-f", "text", "--workers", "2",
                 "--chunk-rows", "1")
    assert done.code == 0, done.err
    masked = texts_of(out)
    assert "Margaret" not in " ".join(masked) and "@example.com" not in " ".join(masked)
    assert masked[2] == texts[2]
    # The name got one placeholder in both rows although two workers handled them.
    names = [set(re.findall(r"PERSON\d+", t)) for t in masked[:2]]
    assert names[0] and names[0] == names[1]
    assert done.summary["masked"]["EMAIL"] == 1


def test_redis_down_is_a_clear_error(tmp_path: Path, batch) -> None:
    write(tmp_path / "in.jsonl", ["apples"])
    done = batch(tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", "-c", FRUITS, "-f", "text",
                 "--redis", "redis://127.0.0.1:1/0", "--run-id", "nowhere", "--workers", "1")
    assert done.code == 1 and "Redis for numbered placeholders failed" in done.err
    assert "apples" not in done.err
