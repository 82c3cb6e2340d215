"""The detection cache: a text analyzed once is not analyzed again; entries hold no text."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import Pipeline, Span
from pipeline.span_cache import MemorySpanStore, SpanCache
from pipeline.stages.base import Stage

FRUITS = {"kind": "flashText", "name": "FRUIT", "keywords": ["apple", "banana", "kiwi"]}
SECRET = b"s" * 32


class CountingStage(Stage):
    """A real keyword detector that counts the characters it was asked to look at."""

    kind = "counting"

    def __init__(self) -> None:
        super().__init__(0)
        self.chars = 0

    @classmethod
    def from_config(cls, raw: dict, path: str, base_dir: Path, index: int) -> Stage:
        raise NotImplementedError

    def detect(self, text: str) -> list[Span]:
        self.chars += len(text)
        start = text.find("apple")
        return [] if start < 0 else [Span(start, start + 5, "FRUIT", 0)]


def history(turns: int) -> list[str]:
    return [f"turn {i}: I would like an apple with message number {i}" for i in range(turns)]


async def test_a_growing_conversation_detects_only_the_new_texts() -> None:
    stage = CountingStage()
    pipeline = Pipeline([stage])
    cache = SpanCache(MemorySpanStore(), SECRET, pipeline.identity)
    texts = history(10)
    first = await pipeline.anonymize_many_async(texts[:9], cache=cache)
    after_nine = stage.chars
    second = await pipeline.anonymize_many_async(texts, cache=cache)
    assert stage.chars - after_nine == len(texts[9])  # only the tenth text was analyzed
    assert second.texts[:9] == first.texts
    assert second == await Pipeline([CountingStage()]).anonymize_many_async(texts)


async def test_entries_hold_spans_not_text_and_keys_reveal_nothing() -> None:
    store = MemorySpanStore()
    pipeline = Pipeline.from_dict({"pipeline": [FRUITS]})
    text = "my secret friend likes apple and kiwi"
    await pipeline.anonymize_many_async([text], cache=SpanCache(store, SECRET,
                                                                pipeline.identity))
    (key, blob), = store._data.items()
    assert b"apple" not in blob and b"secret" not in blob
    assert "apple" not in key and len(key) == 64


async def test_another_secret_or_config_never_reuses_an_entry() -> None:
    store = MemorySpanStore()
    stage = CountingStage()
    pipeline = Pipeline([stage])
    text = "an apple a day keeps the doctor away"
    await pipeline.analyze_many_async([text], SpanCache(store, SECRET, pipeline.identity))
    await pipeline.analyze_many_async([text], SpanCache(store, b"t" * 32, pipeline.identity))
    await pipeline.analyze_many_async([text], SpanCache(store, SECRET, "other-config"))
    assert stage.chars == 3 * len(text)
    await pipeline.analyze_many_async([text], SpanCache(store, SECRET, pipeline.identity))
    assert stage.chars == 3 * len(text)


async def test_a_malformed_or_misfitting_entry_is_a_miss() -> None:
    store = MemorySpanStore()
    stage = CountingStage()
    pipeline = Pipeline([stage])
    cache = SpanCache(store, SECRET, pipeline.identity)
    text = "an apple a day keeps the doctor away"
    await store.put_many({cache.key(text): b"not json"})
    assert [s.start for s in (await pipeline.analyze_many_async([text], cache))[0]] == [3]
    await store.put_many({cache.key(text): b"[[0, 999, \"FRUIT\", 0, 1.0]]"})
    assert [s.start for s in (await pipeline.analyze_many_async([text], cache))[0]] == [3]
    assert stage.chars == 2 * len(text)


def test_the_identity_follows_the_config_and_its_files(tmp_path: Path) -> None:
    words = tmp_path / "fruits.txt"
    words.write_text("apple\n", encoding="utf-8")
    config = {"pipeline": [{"kind": "flashText", "name": "FRUIT", "file": "fruits.txt"}]}
    first = Pipeline.from_dict(config, base_dir=tmp_path).identity
    assert Pipeline.from_dict(config, base_dir=tmp_path).identity == first
    words.write_text("apple\nkiwi\n", encoding="utf-8")
    assert Pipeline.from_dict(config, base_dir=tmp_path).identity != first
    assert Pipeline.from_dict({**config, "placeholder": "[{name}{index}]"},
                              base_dir=tmp_path).identity not in (first,)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        SpanCache(MemorySpanStore(), b"short", "x")


async def test_the_memory_store_is_bounded() -> None:
    store = MemorySpanStore(max_entries=3)
    await store.put_many({str(i): b"[]" for i in range(5)})
    assert await store.get_many(["0", "1", "2", "3", "4"]) == [None, None, b"[]", b"[]", b"[]"]
