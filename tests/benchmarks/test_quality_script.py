"""benchmarks/quality.py runs on a small sample of the dev set and prints sane figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import quality  # noqa: E402


def test_quality_script_prints_sane_figures_for_the_default_config() -> None:
    data = quality.default_data()
    if not data.is_file():
        pytest.skip(f"dev set not found at {data}")
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "quality.py"), "--sample", "30",
         "--concurrency", "4", "--json"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert report["texts"] == 30
    overall = report["overall"]
    assert overall["gold"] > 20
    assert 0.6 <= overall["recall"] <= 1 and 0.7 <= overall["precision"] <= 1
    assert 0 <= overall["leak"] <= 0.4
    assert report["texts_per_s"] > 0 and report["texts_per_s_concurrent"] > 0
    assert report["texts_differing_async"] == 0
    assert set(report["per_label"]) <= set(quality.IN_SCOPE) | {"BANK_ACCOUNT", "USERNAME"}


def test_scoring_follows_the_dataset_rules() -> None:
    from pipeline import Span

    row = {"text": "Ann met Bob in Rome at ACME.", "annotated_labels": ["PERSON", "LOCATION"],
           "spans": [{"start": 0, "end": 3, "label": "PERSON"},
                     {"start": 8, "end": 11, "label": "PERSON"},
                     {"start": 15, "end": 19, "label": "LOCATION"},
                     {"start": 23, "end": 27, "label": "ORGANIZATION"}]}
    found = [Span(0, 2, "PERSON"),  # 2 of 3 chars: counts as masked
             Span(15, 16, "LOCATION"),  # 1 of 4 chars: not masked, still right
             Span(23, 27, "PERSON"),  # overlaps the ORGANIZATION gold span: right
             Span(4, 7, "PERSON"),  # overlaps nothing: wrong
             Span(20, 22, "EMAIL")]  # a label this source does not annotate: ignored
    figures = quality.score([row], [found])["overall"]
    assert figures["recall"] == 1 / 3
    assert figures["precision"] == 3 / 4
    assert figures["leak"] == (1 + 3 + 3) / 10


def test_default_config_meets_the_quality_targets_on_the_whole_dev_set() -> None:
    """The targets (recall >= 0.92, precision >= 0.93) as a regression floor: a change
    to a list, a bar or the model build that costs detection quality fails here."""
    from pipeline import Pipeline

    data = quality.default_data()
    if not data.is_file():
        pytest.skip(f"dev set not found at {data}")
    rows = quality.load_rows(data, None, None, 0)
    with Pipeline.from_yaml(ROOT / "config" / "default.yaml") as pipeline:
        found = pipeline.analyze_many([row["text"] for row in rows])
    overall = quality.score(rows, found)["overall"]
    # Today 0.931 / 0.937 with AVX-512, 0.932 / 0.934 AVX2-only (docs/ner.md, "Figures that
    # move between CPUs": 0.2 and 0.3 points apart). Floors sit below by twice that or more,
    # so no correct build fails on any CPU, while a real regression (a lost gazetteer or
    # pattern stage, a bar moved, names back on the common-words list: recall -0.4 points or
    # more) still fails.
    assert overall["recall"] >= 0.925, overall
    assert overall["precision"] >= 0.925, overall


def tech_data() -> Path:
    return quality.default_data().with_name("tech-dev.jsonl")


def test_tech_scoring_counts_every_label_full_cover_and_over_masks() -> None:
    from pipeline import Span

    text = "key sk_live_abc ok 5432 Ann"
    row = {"id": 1, "source": "tech", "text": text, "annotated_labels": [],
           "spans": [{"start": 4, "end": 15, "label": "SECRET", "value": "sk_live_abc"},
                     {"start": 24, "end": 27, "label": "PERSON", "value": "Ann"}]}
    found = [Span(4, 12, "SECRET"), Span(19, 23, "ADDRESS"), Span(24, 27, "ORGANIZATION")]
    report = quality.score([row], [found])
    assert report["per_label"]["SECRET"]["recall"] == 1.0  # 8 of 11 characters
    assert report["per_label"]["SECRET"]["full"] == 0.0
    assert report["overall"]["precision"] == 2 / 3  # every predicted label counts here
    assert report["over_masks_per_10kb"] == 10_000 / len(text)
    assert report["secret_by_kind"]["stripe"] == {"gold": 1, "recall": 1.0, "full": 0.0}


def test_default_config_meets_the_technical_targets_on_the_tech_set() -> None:
    """Issue 14's targets on tech-dev.jsonl as a regression floor. Measured 2026-12-01 on the
    whole set: recall 0.972, precision 0.981, 1.55 over-masks per 10 kB, every SECRET fully
    covered, 45 of 45 JSON documents parse. The floors are the issue's targets, 2-3 points
    under those figures (NER scores move by a few hundredths between CPU builds, which flips a
    handful of the 2,497 spans); the JSON and secret floors depend on rules, not the model."""
    from pipeline import Pipeline

    data = tech_data()
    if not data.is_file():
        pytest.skip(f"tech set not found at {data}")
    rows = quality.load_rows(data, None, None, 0)
    with Pipeline.from_yaml(ROOT / "config" / "default.yaml") as pipeline:
        found = pipeline.analyze_many([row["text"] for row in rows])
        parsed, documents = quality.json_intact(pipeline, rows)
    report = quality.score(rows, found)
    overall = report["overall"]
    assert overall["recall"] >= 0.95, overall
    assert overall["precision"] >= 0.95, overall
    assert report["over_masks_per_10kb"] <= 3.0, report["over_masks_per_10kb"]
    assert report["per_label"]["SECRET"]["full"] >= 0.98, report["per_label"]["SECRET"]
    assert parsed == documents == 45
