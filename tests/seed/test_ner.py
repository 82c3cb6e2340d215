"""Parity with anonymize-rs/tests/integration_ner_anonymizer.rs (and its Ner example in
anonymize-py/README.md), with ``naming: seed``: each replaced word is named by its id2label
label plus an index per label, the same word keeps its placeholder.

anonymize-rs runs dslim/bert-base-NER and clarin-pl/FastPDN from ``examples/``; here tiny
token classifiers built by ``seed_tree.write_tiny_model`` tag the same words with the labels
those models give them, so what is checked is the replacing and the numbering.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import Pipeline, deanonymize
from tests.seed.seed_tree import (
    EN_LABELS,
    EN_TAGS,
    PL_LABELS,
    PL_TAGS,
    ner_config,
    words_of,
    write_tiny_model,
)

EN_CASES = [  # integration_ner_anonymizer.rs::test_ner_replace_en, test_cases
    ("My name is Sarah and I live in London", "My name is B-PER0 and I live in B-LOC0"),
    ("My name is Sarah and I live in London. I like London.",
     "My name is B-PER0 and I live in B-LOC0. I like B-LOC0."),
    ('{"content":"My name is Sarah and I live in London"}',
     '{"content":"My name is B-PER0 and I live in B-LOC0"}'),
]
PL_CASES = [  # integration_ner_anonymizer.rs::test_ner_replace_pl, test_cases
    ("Jan Kowalski i Anna Kowalska mieszka w Krakowie na ulicy Warszawskiej. Jan Kowalski jest "
     "programistą",
     "B-nam_liv_person0 I-nam_liv_person0 i B-nam_liv_person1 I-nam_liv_person1 mieszka w "
     "B-nam_loc_gpe_city0 na ulicy B-nam_fac_road0. B-nam_liv_person0 I-nam_liv_person0 jest "
     "programistą"),
    ('{"content": "Jan Kowalski i Anna Kowalska mieszka w Krakowie na ulicy Warszawskiej."}',
     '{"content": "B-nam_liv_person0 I-nam_liv_person0 i B-nam_liv_person1 I-nam_liv_person1 '
     'mieszka w B-nam_loc_gpe_city0 na ulicy B-nam_fac_road0."}'),
]


def en_config(crate: Path, naming: str = "seed") -> Path:
    """examples/dslim/ and tests/config/config_ner_en.yaml, paths from the crate folder."""
    write_tiny_model(crate / "examples" / "dslim", words_of(*(t for t, _ in EN_CASES)),
                     EN_LABELS, EN_TAGS)
    config = crate / "tests" / "config" / f"config_ner_en_{naming}.yaml"
    config.write_text(ner_config("dslim", [(label, label != "O") for label in EN_LABELS],
                                 naming=naming), encoding="utf-8")
    return config.relative_to(crate)


def pl_config(crate: Path, naming: str = "seed") -> Path:
    write_tiny_model(crate / "examples" / "clarin-pl", words_of(*(t for t, _ in PL_CASES)),
                     [label for label, _ in PL_LABELS], PL_TAGS)
    config = crate / "tests" / "config" / f"config_ner_pl_{naming}.yaml"
    config.write_text(ner_config("clarin-pl", PL_LABELS, naming=naming), encoding="utf-8")
    return config.relative_to(crate)


def test_config_ner(crate: Path) -> None:
    """integration_anonymizer.rs::test_config_ner: the NER config loads, one stage; its
    model_path and tokenizer_path are paths from the crate folder."""
    with Pipeline.from_yaml(en_config(crate)) as pipeline:
        assert len(pipeline.stages) == 1


@pytest.mark.parametrize(("text", "expected"), EN_CASES)
def test_ner_replace_en(crate: Path, text: str, expected: str) -> None:
    """integration_ner_anonymizer.rs::test_ner_replace_en."""
    with Pipeline.from_yaml(en_config(crate)) as pipeline:
        result = pipeline.anonymize(text)
    assert result.text == expected
    assert deanonymize(result.text, result.items) == text


@pytest.mark.parametrize(("text", "expected"), PL_CASES)
def test_ner_replace_pl(crate: Path, text: str, expected: str) -> None:
    """integration_ner_anonymizer.rs::test_ner_replace_pl: a two-word name is two
    placeholders, B- and I-, with the same index; the second person gets index 1."""
    with Pipeline.from_yaml(pl_config(crate)) as pipeline:
        result = pipeline.anonymize(text)
    assert result.text == expected
    assert result.items["B-nam_liv_person1"] == "Anna"
    assert result.items["I-nam_liv_person0"] == "Kowalski"
    assert deanonymize(result.text, result.items) == text


def test_python_ner_example(crate: Path) -> None:
    """anonymize-py/README.md, Python: ``Ner(...).anonymize("My name is Sarah and I live in
    London. I like London.")`` -> the text and its two items."""
    with Pipeline.from_yaml(en_config(crate)) as pipeline:
        result = pipeline.anonymize("My name is Sarah and I live in London. I like London.")
    assert (result.text, result.items) == (
        "My name is B-PER0 and I live in B-LOC0. I like B-LOC0.",
        {"B-PER0": "Sarah", "B-LOC0": "London"})


def test_our_default_naming_merges_a_name_into_one_entity(crate: Path) -> None:
    """Without ``naming: seed``: one placeholder per entity, named by its type (B-/I- merged),
    which reads better to an LLM than B-nam_liv_person0 I-nam_liv_person0."""
    with Pipeline.from_yaml(pl_config(crate, naming="entity")) as pipeline:
        result = pipeline.anonymize(PL_CASES[0][0])
    assert result.text.startswith("nam_liv_person0 i nam_liv_person1 mieszka w "
                                  "nam_loc_gpe_city0 na ulicy nam_fac_road0.")
    assert result.items["nam_liv_person0"] == "Jan Kowalski"


def test_an_unknown_naming_is_a_config_error(crate: Path) -> None:
    from pipeline import ConfigError

    config = en_config(crate)
    config.write_text(config.read_text().replace("naming: seed", "naming: rust"))
    with pytest.raises(ConfigError) as caught:
        Pipeline.from_yaml(config)
    assert caught.value.path == "pipeline[0].naming"
    assert "expected one of: entity, seed" in str(caught.value)
