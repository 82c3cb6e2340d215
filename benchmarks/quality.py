"""Detection quality and speed of a pipeline config on a labelled JSONL set.

Scoring follows shared/data/README.md:
- recall: an in-scope gold span counts as masked when at least half of its characters are
  covered by detected spans of any label;
- precision: a detected span is right when it overlaps any gold span (any label); it is
  ignored when its label is a dataset label that the text's source does not annotate;
- leak: the share of in-scope gold characters left uncovered.

On the technical set (``source: tech``, shared/data/TECH.md) every label is in scope, SECRET
included, and every predicted span counts whatever its label; also reported there: "full"
(the share of gold spans with every character covered), over-masks per 10 kB (predicted spans
that overlap no gold span), the share of ``json_document`` texts whose anonymized text still
parses with ``json.loads``, and SECRET recall by kind of secret.

Usage:
    python benchmarks/quality.py [--config config/default.yaml] [--data pii-dev.jsonl]
                                 [--limit N | --sample N [--seed S]] [--half A|B]
                                 [--concurrency C] [--json]

``--half A`` keeps the texts whose id's SHA-1 is even, ``B`` the others: decide on A, check on B.

Speed: texts/s one call per text one after the other (``analyze``), and with ``C`` concurrent
async calls of one text each (``analyze_many_async``, how the proxy calls), after a warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import platform
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import Pipeline, Span  # noqa: E402

IN_SCOPE = ("PERSON", "EMAIL", "PHONE", "ADDRESS", "LOCATION", "CREDIT_CARD", "IBAN", "GOV_ID",
            "IP_ADDRESS", "URL")
DATASET_LABELS = set(IN_SCOPE) | {"ORGANIZATION", "DATE", "OTHER"}
TECH_IN_SCOPE = (*IN_SCOPE, "SECRET")
DATA_CANDIDATES = (ROOT.parent / "shared" / "data" / "pii-dev.jsonl",
                   Path("/work/shared/data/pii-dev.jsonl"))


def default_data() -> Path:
    """The dev set beside the repository (``../shared/data``), as laid out here and in CI."""
    for candidate in DATA_CANDIDATES:
        if candidate.is_file():
            return candidate
    return DATA_CANDIDATES[0]


def in_half(row: dict, half: str) -> bool:
    """Half A: ids whose SHA-1 (of the id as text) is even; half B: the others."""
    even = int(hashlib.sha1(str(row["id"]).encode()).hexdigest(), 16) % 2 == 0
    return even == (half.upper() == "A")


def load_rows(path: Path, limit: int | None, sample: int | None, seed: int,
              half: str | None = None) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    if half is not None:
        rows = [row for row in rows if in_half(row, half)]
    if sample is not None:
        rows = random.Random(seed).sample(rows, min(sample, len(rows)))
    if limit is not None:
        rows = rows[:limit]
    return rows


def is_tech(rows: Sequence[dict]) -> bool:
    """The technical set's rules apply (TECH.md): every label in scope, every span counts."""
    return bool(rows) and all(row.get("source") == "tech" for row in rows)


def score(rows: Sequence[dict], found: Sequence[Sequence[Span]]) -> dict[str, Any]:
    """Per-label and overall recall, precision, F1 and leak (see the module docstring)."""
    tech = is_tech(rows)
    in_scope = TECH_IN_SCOPE if tech else IN_SCOPE
    gold_n: dict[str, int] = defaultdict(int)
    gold_full: dict[str, int] = defaultdict(int)
    gold_hit: dict[str, int] = defaultdict(int)
    chars: dict[str, int] = defaultdict(int)
    leaked: dict[str, int] = defaultdict(int)
    det_n: dict[str, int] = defaultdict(int)
    det_ok: dict[str, int] = defaultdict(int)
    for row, spans in zip(rows, found, strict=True):
        covered = bytearray(len(row["text"]))
        for s in spans:
            covered[s.start : s.end] = b"\x01" * (s.end - s.start)
        for g in row["spans"]:
            if g["label"] not in in_scope:
                continue
            n = g["end"] - g["start"]
            hit = covered.count(1, g["start"], g["end"])
            gold_n[g["label"]] += 1
            gold_full[g["label"]] += hit == n
            gold_hit[g["label"]] += hit * 2 >= n
            chars[g["label"]] += n
            leaked[g["label"]] += n - hit
        annotated = set(row["annotated_labels"])
        for s in spans:
            if not tech and s.label in DATASET_LABELS and s.label not in annotated:
                continue
            det_n[s.label] += 1
            det_ok[s.label] += any(g["start"] < s.end and s.start < g["end"]
                                   for g in row["spans"])
    labels = sorted(set(gold_n) | set(det_n))
    per_label = {}
    for label in labels:
        per_label[label] = _figures(gold_hit[label], gold_n[label], det_ok[label],
                                    det_n[label], leaked[label], chars[label], gold_full[label])
    overall = _figures(sum(gold_hit.values()), sum(gold_n.values()), sum(det_ok.values()),
                       sum(det_n.values()), sum(leaked.values()), sum(chars.values()),
                       sum(gold_full.values()))
    report: dict[str, Any] = {"overall": overall, "per_label": per_label}
    if tech:
        size = sum(len(row["text"]) for row in rows)
        wrong = sum(det_n.values()) - sum(det_ok.values())
        report["over_masks_per_10kb"] = wrong * 10_000 / size if size else 0.0
        report["secret_by_kind"] = secret_kinds(rows, found)
    return report


def _figures(hit: int, gold: int, ok: int, det: int, leak: int, chars: int,
             full: int = 0) -> dict[str, Any]:
    recall = hit / gold if gold else None
    precision = ok / det if det else None
    f1 = (2 * recall * precision / (recall + precision)
          if recall is not None and precision is not None and recall + precision else None)
    return {"recall": recall, "precision": precision, "f1": f1,
            "leak": leak / chars if chars else None, "gold": gold, "detected": det,
            "full": full / gold if gold else None}


_SECRET_KINDS = (  # (kind, how the value starts or looks), first match wins
    ("pem", re.compile(r"-----BEGIN")), ("jwt", re.compile(r"eyJ[\w-]+\.eyJ")),
    ("aws_key_id", re.compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}$")),
    ("github", re.compile(r"gh[pousr]_|github_pat_")), ("gitlab", re.compile(r"glpat-")),
    ("openai", re.compile(r"sk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}")),
    ("anthropic", re.compile(r"sk-ant-")), ("slack", re.compile(r"xox[abpr]-|https://hooks")),
    ("stripe", re.compile(r"(?:sk|rk)_(?:live|test)_|whsec_")), ("google", re.compile(r"AIza")),
    ("sendgrid", re.compile(r"SG\.")), ("npm", re.compile(r"npm_")),
    ("huggingface", re.compile(r"hf_")), ("pypi", re.compile(r"pypi-")),
)


def secret_kind(value: str) -> str:
    """A SECRET gold value's kind, read off its shape (TECH.md: by kind of secret)."""
    for kind, pattern in _SECRET_KINDS:
        if pattern.match(value):
            return kind
    if re.fullmatch(r"[A-Za-z0-9+/]{40}", value):
        return "aws_secret_or_40"
    if len(value) < 24:
        return "password"
    return "other_token"


def secret_kinds(rows: Sequence[dict], found: Sequence[Sequence[Span]]) -> dict[str, Any]:
    """SECRET gold spans by kind: count, recall (half covered) and full coverage."""
    out: dict[str, dict[str, float]] = {}
    for row, spans in zip(rows, found, strict=True):
        covered = bytearray(len(row["text"]))
        for s in spans:
            covered[s.start : s.end] = b"\x01" * (s.end - s.start)
        for g in row["spans"]:
            if g["label"] != "SECRET":
                continue
            n = g["end"] - g["start"]
            hit = covered.count(1, g["start"], g["end"])
            f = out.setdefault(secret_kind(g["value"]), {"gold": 0, "recall": 0, "full": 0})
            f["gold"] += 1
            f["recall"] += hit * 2 >= n
            f["full"] += hit == n
    for f in out.values():
        f["recall"] /= f["gold"]
        f["full"] /= f["gold"]
    return dict(sorted(out.items()))


def json_intact(pipeline: Pipeline, rows: Sequence[dict]) -> tuple[int, int]:
    """(documents that still parse after anonymization, ``json_document`` texts)."""
    docs = [row["text"] for row in rows if row.get("meta", {}).get("json_document")]
    ok = 0
    for text in docs:
        try:
            json.loads(pipeline.anonymize(text).text)
        except ValueError:
            continue
        ok += 1
    return ok, len(docs)


def measure(pipeline: Pipeline, texts: Sequence[str], concurrency: int) -> dict[str, Any]:
    """Detect every text; time one-at-a-time calls and ``concurrency`` concurrent async calls."""
    pipeline.analyze_many(list(texts[:8]))  # warm-up: first runs allocate
    start = time.perf_counter()
    found = [pipeline.analyze(text) for text in texts]
    sequential = len(texts) / (time.perf_counter() - start)

    async def run_concurrently() -> tuple[list[list[Span]], float]:
        results: list[list[Span]] = [[] for _ in texts]
        queue = list(enumerate(texts))

        async def worker() -> None:
            while queue:
                i, text = queue.pop()
                results[i] = (await pipeline.analyze_many_async([text]))[0]

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return results, len(texts) / (time.perf_counter() - begin)

    found_async, concurrent = asyncio.run(run_concurrently())
    differing = sum(_key(a) != _key(b) for a, b in zip(found, found_async, strict=True))
    return {"found": found, "texts_per_s": sequential, "texts_per_s_concurrent": concurrent,
            "concurrency": concurrency, "texts_differing_async": differing}


def _key(spans: Sequence[Span]) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.label) for s in spans]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(ROOT / "config" / "default.yaml"))
    parser.add_argument("--data", default=None, help="JSONL set (default: the dev set)")
    parser.add_argument("--limit", type=int, default=None, help="first N texts only")
    parser.add_argument("--sample", type=int, default=None, help="N random texts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--half", choices=["A", "B"], default=None,
                        help="half A (ids whose SHA-1 is even) or half B of the set")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="print figures as JSON")
    parser.add_argument("--every-occurrence", action="store_true",
                        help="also score the spans after every-occurrence spreading "
                             "(Pipeline.every_occurrence, one text a call)")
    args = parser.parse_args(argv)
    data = Path(args.data) if args.data else default_data()
    if not data.is_file():
        parser.error(f"data file not found: {data}")
    rows = load_rows(data, args.limit, args.sample, args.seed, args.half)
    if not rows:
        parser.error("no texts to score")
    with Pipeline.from_yaml(args.config) as pipeline:
        run = measure(pipeline, [row["text"] for row in rows], args.concurrency)
        found = run.pop("found")
        spread = ([pipeline.every_occurrence([row["text"]], [spans])[0]
                   for row, spans in zip(rows, found, strict=True)]
                  if args.every_occurrence else None)
        if is_tech(rows):
            parsed, docs = json_intact(pipeline, rows)
            run["json_intact"] = {"parse": parsed, "documents": docs}
    figures = score(rows, found)
    if spread is not None:
        figures["every_occurrence"] = score(rows, spread)
    report = {"config": args.config, "data": str(data), "texts": len(rows),
              "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
              **run, **figures}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render(report))
    return 0


def render(report: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "   -  " if value is None else f"{value:6.3f}"

    lines = [f"config {report['config']}  data {report['data']}  texts {report['texts']}",
             f"{'label':<14}{'gold':>6}{'found':>7}{'recall':>8}{'prec.':>8}{'F1':>8}"
             f"{'leak':>8}{'full':>8}"]
    rows = [*report["per_label"].items(), ("ALL", report["overall"])]
    for label, f in rows:
        lines.append(f"{label:<14}{f['gold']:>6}{f['detected']:>7}  {pct(f['recall'])}  "
                     f"{pct(f['precision'])}  {pct(f['f1'])}  {pct(f['leak'])}  "
                     f"{pct(f['full'])}")
    if "over_masks_per_10kb" in report:
        intact = report["json_intact"]
        lines.append(f"over-masks per 10 kB: {report['over_masks_per_10kb']:.2f}; JSON documents "
                     f"that still parse: {intact['parse']} of {intact['documents']}")
        for kind, f in report["secret_by_kind"].items():
            lines.append(f"  SECRET {kind:<18}{f['gold']:>5}  recall {f['recall']:.3f}  "
                         f"full {f['full']:.3f}")
    lines.append(f"speed: {report['texts_per_s']:.1f} texts/s one at a time, "
                 f"{report['texts_per_s_concurrent']:.1f} texts/s with "
                 f"{report['concurrency']} concurrent calls")
    if "every_occurrence" in report:
        spread = report["every_occurrence"]["overall"]
        lines.append(f"every occurrence: found {spread['detected']}  recall "
                     f"{pct(spread['recall'])}  prec. {pct(spread['precision'])}  F1 "
                     f"{pct(spread['f1'])}  leak {pct(spread['leak'])}")
        for label, f in report["every_occurrence"]["per_label"].items():
            lines.append(f"  {label:<12}{f['gold']:>6}{f['detected']:>7}  {pct(f['recall'])}  "
                         f"{pct(f['precision'])}  {pct(f['f1'])}  {pct(f['leak'])}")
    if report["texts_differing_async"]:
        lines.append(f"WARNING: {report['texts_differing_async']} texts got other spans with "
                     "concurrent calls than one at a time")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
