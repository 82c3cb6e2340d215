"""Restoring originals: whole texts and streams split anywhere give the same result."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import Pipeline, StreamingDeanonymizer, deanonymize

ITEMS = {f"X{i}": f"value-{i}" for i in range(12)} | {"FRUIT_FLASH0": "apple",
                                                      "FRUIT_REGEX0": "plum"}


def stream(items: dict[str, str], chunks: list[str]) -> str:
    restorer = StreamingDeanonymizer(items)
    return "".join(restorer.feed(chunk) for chunk in chunks) + restorer.finish()


def test_longest_placeholder_first() -> None:
    assert deanonymize("X10 X1 X1 0 X100", ITEMS) == "value-10 value-1 value-1 0 value-100"


def test_text_that_only_looks_like_a_placeholder_stays() -> None:
    assert deanonymize("X99? FRUIT_FLASH1 and FRUIT_FLASH0", ITEMS) == (
        "value-99? FRUIT_FLASH1 and apple")


def test_empty_items_and_empty_text() -> None:
    assert deanonymize("X1", {}) == "X1"
    assert deanonymize("", ITEMS) == ""
    assert stream({}, ["X", "1"]) == "X1"


def test_placeholder_split_over_chunks_comes_back_whole() -> None:
    chunks = ["I ate FRUIT_", "FLASH0 and FRUIT_REG", "EX0."]
    assert stream(ITEMS, chunks) == "I ate apple and plum."


def test_stream_holds_back_only_a_possible_placeholder_prefix() -> None:
    restorer = StreamingDeanonymizer(ITEMS)
    assert restorer.feed("plain text, no placeholder here ") == "plain text, no placeholder here "
    assert restorer.feed("then FRUIT_") == "then "
    assert restorer.pending == "FRUIT_"
    assert restorer.feed("FLASH0 ok") == "apple ok"
    assert restorer.pending == ""


def test_stream_waits_while_a_longer_placeholder_is_still_possible() -> None:
    restorer = StreamingDeanonymizer(ITEMS)
    assert restorer.feed("see X1") == "see "  # could still become X10 or X11
    assert restorer.feed("0!") == "value-10!"
    assert restorer.feed("X1") == ""
    assert restorer.finish() == "value-1"


def test_every_split_point_of_a_known_answer() -> None:
    answer = "FRUIT_FLASH0 X10X1 X11FRUIT_REGEX0 done X"
    expected = deanonymize(answer, ITEMS)
    for cut in range(len(answer) + 1):
        for second in range(cut, len(answer) + 1):
            assert stream(ITEMS, [answer[:cut], answer[cut:second], answer[second:]]) == expected


# Text drawn from pieces that collide: placeholders, their prefixes, digits and fillers.
PIECES = st.sampled_from(list(ITEMS) + ["X", "FRUIT_", "FLASH", "0", "1", "10", " ", "a",
                                        "é", "😀", "FRUIT_FLASH", "REGEX"])
TEXTS = st.lists(PIECES, max_size=40).map("".join) | st.text(max_size=60)


@settings(max_examples=400, deadline=None)
@given(text=TEXTS, data=st.data())
def test_streaming_equals_whole_text_for_any_split(text: str, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=8)))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert stream(ITEMS, chunks) == deanonymize(text, ITEMS)


FRUIT_PIPELINE = Pipeline.from_dict({"pipeline": [
    {"kind": "flashText", "name": "FRUIT_FLASH", "keywords": ["apple", "banana", "kiwi"]},
    {"kind": "regex", "name": "FRUIT_REGEX", "patterns": [r"plum\w*", r"\d{3}"]},
    {"kind": "regex", "name": "X", "patterns": [r"\bq+\b"]},
]})
WORDS = st.sampled_from(["apple", "banana", "kiwi", "plum", "plums", "123", "4567", "q", "qq",
                         "FRUIT_FLASH0", "FRUIT_FLASH1", "FRUIT_REGEX0", "X0", "X1", "X10",
                         "0", "1", " ", ",", "é", "İ", "😀", "\u0301", "FRUIT_", "X"])


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.lists(WORDS, max_size=30).map("".join), min_size=1, max_size=4))
def test_round_trip_is_exact_for_any_text(parts: list[str]) -> None:
    result = FRUIT_PIPELINE.anonymize_many(parts)
    assert [deanonymize(t, result.items) for t in result.texts] == parts
    for original, anonymized in zip(parts, result.texts, strict=True):
        assert stream(result.items, [anonymized[: len(anonymized) // 2],
                                     anonymized[len(anonymized) // 2 :]]) == original


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_round_trip_on_arbitrary_unicode(text: str) -> None:
    result = FRUIT_PIPELINE.anonymize(text)
    assert deanonymize(result.text, result.items) == text


def test_the_trie_pattern_matches_like_a_longest_first_alternation() -> None:
    import random
    import re as regex

    from pipeline.restore import placeholder_pattern

    rng = random.Random(4)
    names = ["A", "A1", "PERSON", "PERSON_", "EMAIL", "X"]
    keys = {f"{rng.choice(names)}{rng.randrange(300)}" for _ in range(400)} | {"A", "A10"}
    plain = regex.compile("|".join(map(regex.escape, sorted(keys, key=lambda k: (-len(k), k)))))
    text = "".join(rng.choice([*keys, "0", "1", " ", "A", "PERSON", "_"]) for _ in range(5000))
    assert ([m.span() for m in placeholder_pattern(keys).finditer(text)]
            == [m.span() for m in plain.finditer(text)])
    # All keys NAME + digits: the stem matcher; the same matches again.
    digits = {key for key in keys if key[-1].isdigit() and key.rstrip("0123456789")}
    assert type(placeholder_pattern(digits)).__name__ == "StemDigitsMatcher"
    plain = regex.compile("|".join(map(regex.escape, sorted(digits,
                                                             key=lambda k: (-len(k), k)))))
    assert ([m.span() for m in placeholder_pattern(digits).finditer(text)]
            == [m.span() for m in plain.finditer(text)])
    # Keys with a suffix take the trie regex; the same matches again.
    bracketed = {f"[{key}]" for key in keys}
    plain = regex.compile("|".join(map(regex.escape, sorted(bracketed,
                                                             key=lambda k: (-len(k), k)))))
    text = "".join(rng.choice([*bracketed, "[A1", "0]", " "]) for _ in range(3000))
    assert ([m.span() for m in placeholder_pattern(bracketed).finditer(text)]
            == [m.span() for m in plain.finditer(text)])


def test_a_large_mapping_restores_and_streams_like_a_small_one() -> None:
    from pipeline import StreamingDeanonymizer

    items = {f"PERSON{i}": f"name {i}" for i in range(300)} | {"EMAIL7": "e@x.org"}
    text = "PERSON12 met PERSON1 and PERSON120, PERSON3000 wrote EMAIL7 and EMAIL70."
    whole = deanonymize(text, items)
    assert whole == ("name 12 met name 1 and name 120, name 3000 wrote e@x.org and "
                     "e@x.org0.")
    stream = StreamingDeanonymizer(items)
    assert "".join(stream.feed(text[i:i + 3]) for i in range(0, len(text), 3)) \
        + stream.finish() == whole
