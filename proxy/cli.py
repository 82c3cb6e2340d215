"""The ``anonymize-proxy`` command: ``anonymize``, ``deanonymize``, ``server`` and ``batch``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from batch.cli import add_batch_command
from pipeline import ConfigError, Pipeline, PipelineError, deanonymize
from proxy.server_cli import add_server_command


def _anonymize(args: argparse.Namespace) -> int:
    with Pipeline.from_yaml(args.config) as pipeline:
        result = pipeline.anonymize(sys.stdin.read())
    json.dump({"text": result.text, "items": result.items}, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def _deanonymize(args: argparse.Namespace) -> int:
    try:
        with open(args.items, encoding="utf-8") as file:
            items = json.load(file)
    except (OSError, json.JSONDecodeError) as exc:
        print(f"anonymize-proxy: cannot read items from {args.items}: {exc}", file=sys.stderr)
        return 2
    if isinstance(items, dict) and isinstance(items.get("items"), dict):
        items = items["items"]  # the whole output of `anonymize` works too
    if not isinstance(items, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in items.items()
    ):
        print("anonymize-proxy: items must be a JSON object of strings", file=sys.stderr)
        return 2
    sys.stdout.write(deanonymize(sys.stdin.read(), items))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anonymize-proxy",
        description="Replace personal data with placeholders before it reaches an LLM provider.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    anonymize = commands.add_parser("anonymize", help="anonymize stdin, print {text, items} JSON")
    anonymize.add_argument("-c", "--config", required=True, help="pipeline YAML file")
    anonymize.set_defaults(run=_anonymize)

    restore = commands.add_parser("deanonymize", help="restore stdin with an items JSON file")
    restore.add_argument("-i", "--items", required=True,
                         help="JSON file: {placeholder: original} or the output of anonymize")
    restore.set_defaults(run=_deanonymize)

    add_server_command(commands)
    add_batch_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as exc:
        print(f"anonymize-proxy: bad config: {exc}", file=sys.stderr)
        return 2
    except PipelineError as exc:
        print(f"anonymize-proxy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
