"""Faster builds of the bundled weights: int8_compute and int8_weights find what the 4-bit
file finds; int8_weights is built once and cached, and refuses batching that would make
results depend on traffic."""

from __future__ import annotations

from pathlib import Path

import onnxruntime
import pytest

from pipeline import ConfigError, Pipeline
from pipeline.ner import requantize
from pipeline.ner.model import resolve_bundled_model

PERSONS = {"GIVEN_NAME": "PERSON", "SURNAME": "PERSON", "CITY": "LOCATION"}

SENTENCES = [
    "Please forward the contract to Maria Gonzalez before Friday.",
    "Dr. Kenji Watanabe will see you at the clinic in Osaka.",
    "Our new hire, Olivia Brown, starts Monday in Chicago.",
    "Ask Pierre Dubois whether the Lyon office is open.",
    "The parcel for Aisha Khan was left at 221 Baker Street, London.",
    "Tomasz Nowak called from Warsaw about the invoice.",
]


def ner_pipeline(**options: object) -> Pipeline:
    stage = {"kind": "ner", "model": "rampart", "labels": PERSONS, **options}
    return Pipeline.from_dict({"pipeline": [stage]})


def found(pipeline: Pipeline, text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.label) for s in pipeline.analyze(text)]


def test_int8_compute_finds_the_same_entities() -> None:
    with ner_pipeline(threshold=0.5) as plain, \
            ner_pipeline(threshold=0.5, int8_compute=True) as int8:
        for sentence in SENTENCES:
            expected = found(plain, sentence)
            assert any(label == "PERSON" for _, label in expected), sentence
            assert found(int8, sentence) == expected, sentence


def test_int8_weights_find_the_same_people_and_places() -> None:
    with ner_pipeline(threshold=0.5) as bundled, \
            ner_pipeline(threshold=0.5, int8_weights=True, batch_size=1) as int8:
        for sentence in SENTENCES:
            expected = found(bundled, sentence)
            assert any(label == "PERSON" for _, label in expected), sentence
            assert found(int8, sentence) == expected, sentence


def test_the_int8_build_is_cached_and_reused(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    source = resolve_bundled_model("rampart", "model").model
    first = requantize.int8_weights(source, cache_dir=tmp_path)
    cached = list(tmp_path.iterdir())
    assert [p.suffix for p in cached] == [".onnx"]
    assert cached[0].read_bytes() == first
    assert cached[0].stat().st_mode & 0o044 == 0o044  # readable by the service's user

    def no_rebuild(_: bytes) -> bytes:
        raise AssertionError("the cached build should have been used")

    monkeypatch.setattr(requantize, "_quantize_int8", no_rebuild)
    assert requantize.int8_weights(source, cache_dir=tmp_path) == first
    onnxruntime.InferenceSession(first, providers=["CPUExecutionProvider"])  # a valid model


def test_an_unwritable_cache_only_means_building_again(tmp_path: Path) -> None:
    source = resolve_bundled_model("rampart", "model").model
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x", encoding="utf-8")
    built = requantize.int8_weights(source, cache_dir=not_a_folder / "cache")
    onnxruntime.InferenceSession(built, providers=["CPUExecutionProvider"])
    assert list(tmp_path.iterdir()) == [not_a_folder]


def test_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setenv("ANONYMIZE_PROXY_CACHE_DIR", str(tmp_path / "models"))
    assert requantize.default_cache_dir() == tmp_path / "models"
    monkeypatch.delenv("ANONYMIZE_PROXY_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert requantize.default_cache_dir() == tmp_path / "anonymize-proxy"


@pytest.mark.parametrize(
    ("options", "path", "message"),
    [
        ({"int8_weights": True, "int8_compute": True}, "pipeline[0].int8_weights",
         "choose one"),
        ({"int8_weights": True, "batch_size": 8}, "pipeline[0].batch_size", "needs 1"),
        ({"int8_weights": "fast"}, "pipeline[0].int8_weights", "true or false"),
    ],
)
def test_build_config_errors_name_their_yaml_path(options: dict, path: str,
                                                  message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ner_pipeline(**options)
    assert caught.value.path == path
    assert message in str(caught.value)
