"""``anonymize-proxy batch``: anonymize (or restore) a JSONL, CSV or Parquet file, a folder of
them, or a folder of text files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from batch.keys import load_keys
from batch.run import BatchOptions, Run


def add_batch_command(commands: Any) -> None:
    p = commands.add_parser(
        "batch", help="anonymize a dataset: JSONL, CSV, Parquet or a folder of texts",
        description="Anonymize chosen fields of a dataset with pseudonyms that hold across the "
                    "whole run; the mapping goes to an encrypted file (key: "
                    "$ANONYMIZE_PROXY_KEY or --key-file).")
    p.add_argument("input", type=Path, help="a file, or a folder of files of one format")
    p.add_argument("-o", "--output", type=Path, required=True, help="output file or folder")
    p.add_argument("-c", "--config", help="pipeline YAML file (not needed with --deanonymize)")
    p.add_argument("-f", "--field", action="append", default=[], dest="fields",
                   help="field (JSONL: name or dotted path) or column to anonymize; repeatable")
    p.add_argument("--format", default="auto", choices=["auto", "jsonl", "csv", "parquet", "text"])
    p.add_argument("--scheme", default="numbered", choices=["numbered", "keyed"],
                   help="numbered: PERSON0 (coordinated); keyed: PERSON_<HMAC> (no coordination)")
    p.add_argument("--digest-length", type=int, default=12, help="hex digits of keyed pseudonyms")
    p.add_argument("--redis", dest="redis_url",
                   help="coordinate numbered placeholders across machines through this Redis")
    p.add_argument("--run-id", help="name of the run shared by every machine (with --redis)")
    p.add_argument("--mapping", type=Path, action="append", default=[],
                   help="encrypted mapping file (default OUTPUT.mapping); with --deanonymize, "
                        "the file(s) to restore from")
    p.add_argument("--key-file", help="file with the base64 key instead of $ANONYMIZE_PROXY_KEY")
    p.add_argument("--deanonymize", action="store_true",
                   help="restore a processed dataset with its mapping file")
    p.add_argument("--workers", type=int, default=0, help="worker processes (default: CPU count)")
    p.add_argument("--chunk-rows", type=int, default=256, help="records per chunk of work")
    p.add_argument("--on-error", default="stop", choices=["stop", "reject"],
                   help="a bad record stops the run, or goes to the reject file")
    p.add_argument("--rejects", type=Path, help="reject file (default OUTPUT.rejects.jsonl)")
    p.add_argument("--resume", action="store_true", help="carry on an interrupted run")
    p.add_argument("--checkpoint-seconds", type=float, default=2.0,
                   help="how often to checkpoint for --resume (at a chunk boundary)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--progress", default="auto", choices=["auto", "bar", "lines", "none"])
    p.set_defaults(run=run_batch_command)


def run_batch_command(args: argparse.Namespace) -> int:
    if args.deanonymize and not args.mapping:
        print("anonymize-proxy: --deanonymize needs --mapping", file=sys.stderr)
        return 2
    opts = BatchOptions(
        input=args.input, output=args.output, fields=args.fields, config=args.config,
        fmt=args.format, scheme=args.scheme, digest_length=args.digest_length,
        redis_url=args.redis_url, run_id=args.run_id,
        mapping=None if args.deanonymize or not args.mapping else args.mapping[0],
        restore_from=args.mapping if args.deanonymize else [], deanonymize=args.deanonymize,
        workers=args.workers, chunk_rows=args.chunk_rows, on_error=args.on_error,
        rejects=args.rejects, resume=args.resume, overwrite=args.overwrite,
        progress=args.progress, checkpoint_seconds=args.checkpoint_seconds)
    try:
        summary = Run(opts, load_keys(args.key_file)).run()
    except KeyboardInterrupt:
        print("anonymize-proxy: interrupted; run again with --resume to carry on",
              file=sys.stderr)
        return 130
    masked = ", ".join(f"{label} {n:,}" for label, n in sorted(summary.masked.items()))
    print(f"batch: {summary.rows:,} rows processed, {summary.rejected:,} rejected, "
          f"masked: {masked or 'nothing'}", file=sys.stderr)
    json.dump(summary.as_dict(), sys.stdout)
    sys.stdout.write("\n")
    return 1 if summary.rejected and args.on_error == "stop" else 0
