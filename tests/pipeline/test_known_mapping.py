"""Extending an earlier mapping: a later turn keeps the placeholders of the turns before it."""

from __future__ import annotations

import pytest

from pipeline import Pipeline, PipelineError, deanonymize

FRUITS = {"kind": "flashText", "name": "FRUIT", "keywords": ["apple", "banana", "kiwi"]}
PEOPLE = {"kind": "flashText", "name": "PERSON", "keywords": ["Alice", "Bob"]}


def make(*stages: dict, placeholder: str | None = None) -> Pipeline:
    config: dict = {"pipeline": list(stages)}
    if placeholder is not None:
        config["placeholder"] = placeholder
    return Pipeline.from_dict(config)


def test_a_known_value_keeps_its_placeholder_and_new_ones_come_after() -> None:
    pipeline = make(FRUITS)
    first = pipeline.anonymize_many(["apple and banana"])
    later = pipeline.anonymize_many(["kiwi, then banana"], known=first.items)
    assert later.texts == ["FRUIT2, then FRUIT1"]
    assert later.items == {"FRUIT0": "apple", "FRUIT1": "banana", "FRUIT2": "kiwi"}


def test_an_index_taken_in_known_is_never_reused_even_past_a_gap() -> None:
    # FRUIT1 is free, but a conversation's numbering only grows: a new value gets FRUIT6.
    known = {"FRUIT0": "apple", "FRUIT5": "banana", "PERSON0": "Alice"}
    result = make(FRUITS, PEOPLE).anonymize_many(["kiwi and Bob"], known=known)
    assert result.texts == ["FRUIT6 and PERSON1"]
    assert result.items == {**known, "FRUIT6": "kiwi", "PERSON1": "Bob"}


def test_known_works_on_every_entry_point_alike() -> None:
    pipeline = make(FRUITS)
    known = {"FRUIT3": "kiwi"}
    single = pipeline.anonymize("kiwi apple", known=known)
    assert single.text == "FRUIT3 FRUIT4"
    assert single.items == {"FRUIT3": "kiwi", "FRUIT4": "apple"}


async def test_known_works_on_the_async_entry_points() -> None:
    pipeline = make(FRUITS)
    known = {"FRUIT3": "kiwi"}
    many = await pipeline.anonymize_many_async(["kiwi apple", "apple"], known=known)
    assert many.texts == ["FRUIT3 FRUIT4", "FRUIT4"]
    assert pipeline.anonymize_many(["kiwi apple", "apple"], known=known) == many
    single = await pipeline.anonymize_async("apple", known=known)
    assert single.text == "FRUIT4"
    assert single.items == {"FRUIT3": "kiwi", "FRUIT4": "apple"}


def test_known_is_not_modified() -> None:
    known = {"FRUIT0": "apple"}
    make(FRUITS).anonymize_many(["banana"], known=known)
    assert known == {"FRUIT0": "apple"}


def test_a_literal_placeholder_in_the_text_still_skips_its_index() -> None:
    result = make(FRUITS).anonymize_many(["FRUIT1 is not a fruit, kiwi is"],
                                         known={"FRUIT0": "apple"})
    assert result.texts == ["FRUIT1 is not a fruit, FRUIT2 is"]
    assert deanonymize(result.texts[0], result.items) == "FRUIT1 is not a fruit, kiwi is"


def test_digits_after_a_known_value_block_the_longer_placeholder() -> None:
    # "banana" is FRUIT1; "banana0" becomes "FRUIT10", so no new value may be FRUIT10.
    pipeline = make({"kind": "regex", "name": "FRUIT", "patterns": ["banana", "kiwi"]})
    known = {"FRUIT1": "banana", **{f"FRUIT{i}": f"v{i}" for i in (0, *range(2, 10))}}
    result = pipeline.anonymize_many(["banana0 and kiwi"], known=known)
    assert result.texts == ["FRUIT10 and FRUIT11"]
    assert deanonymize(result.texts[0], result.items) == "banana0 and kiwi"


def test_known_with_a_custom_placeholder_format() -> None:
    pipeline = make(FRUITS, placeholder="[{name}_{index}]")
    result = pipeline.anonymize_many(["kiwi apple"], known={"[FRUIT_7]": "apple"})
    assert result.texts == ["[FRUIT_8] [FRUIT_7]"]


def test_a_literal_known_placeholder_in_new_text_is_refused_not_mangled() -> None:
    # The text says "FRUIT0" itself; restoring would turn it into "apple": refuse instead.
    with pytest.raises(PipelineError):
        make(FRUITS).anonymize_many(["apple or FRUIT0"], known={"FRUIT0": "apple"})


@pytest.mark.parametrize("known", [{"FRUIT0": 1}, {"": "apple"}, ["FRUIT0"]])
def test_a_malformed_known_map_is_a_clear_type_error(known: object) -> None:
    with pytest.raises(TypeError, match="known"):
        make(FRUITS).anonymize_many(["apple"], known=known)  # type: ignore[arg-type]


def test_one_value_with_two_placeholders_is_refused() -> None:
    with pytest.raises(ValueError, match="two placeholders"):
        make(FRUITS).anonymize_many(["apple"], known={"FRUIT0": "apple", "FRUIT1": "apple"})
