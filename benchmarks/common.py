"""What every benchmark shares: interleaved rounds, medians and tails, tables, JSON, processes.

The machines are shared and noisy, so a single figure means little. Every benchmark measures
the variants it compares in the same run, round by round (A B C, B C A, ...), and reports
ratios of their medians: noise that hits one round hits every variant in it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

T = TypeVar("T")


# -- statistics -------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), linear between closest ranks (numpy's default)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """Median and tails of ``samples`` (n, p50, p95, p99, mean, min, max)."""
    return {
        "n": len(samples),
        "p50": percentile(samples, 50),
        "p95": percentile(samples, 95),
        "p99": percentile(samples, 99),
        "mean": statistics.fmean(samples),
        "min": float(min(samples)),
        "max": float(max(samples)),
    }


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; infinity when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else math.inf


# -- interleaving ------------------------------------------------------------------------------


def rotations(names: Sequence[str], rounds: int) -> Iterator[list[str]]:
    """Round ``r`` runs the variants rotated by ``r`` (A B C, B C A, C A B, ...).

    Rotation keeps the interleaving of A B A B and also removes the bias of always going first
    (a warm cache, or a machine neighbour who starts up just after).
    """
    for r in range(rounds):
        k = r % len(names)
        yield list(names[k:]) + list(names[:k])


def interleave(variants: Mapping[str, Callable[[], T]], rounds: int) -> dict[str, list[T]]:
    """Call each variant once per round, rotated; return every variant's results in order."""
    results: dict[str, list[T]] = {name: [] for name in variants}
    for order in rotations(list(variants), rounds):
        for name in order:
            results[name].append(variants[name]())
    return results


# -- output ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """The facts a reader needs to compare a figure with theirs."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_1min": os.getloadavg()[0],
    }


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; floats get 3 significant decimals."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            if math.isinf(value):
                return "inf"
            return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def parser(description: str) -> argparse.ArgumentParser:
    """The flags every benchmark takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a smoke run of seconds (used by CI)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    return p


def proxy_parser(description: str, default_config: Path) -> argparse.ArgumentParser:
    """``parser`` plus the flags of the benchmarks that start the NER-config proxy."""
    p = parser(description)
    p.add_argument("--no-ner", action="store_true", help="skip the NER config")
    p.add_argument("--ner-config", type=Path, default=default_config,
                   help="the config of the 'ner' target (default: config/default.yaml)")
    return p


def targets_met(result: dict[str, Any]) -> str:
    """The table of targets met, and which compared servers could not run."""
    text = format_table(["target", "met"], list(result["targets"].items()))
    if result["missing"]:
        text += "\n\nmissing: " + "; ".join(f"{k}: {v}" for k, v in result["missing"].items())
    return text


def emit(name: str, args: argparse.Namespace, result: dict[str, Any], table: str) -> None:
    """Print the table and write ``{"benchmark", "quick", "machine", ...result}`` if asked."""
    print(table)
    if args.json:
        payload = {"benchmark": name, "quick": bool(args.quick), "machine": machine(), **result}
        Path(args.json).write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isinf(value):
        return None
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# -- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Block until ``127.0.0.1:port`` accepts connections; fail if ``proc`` dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before listening")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} after {timeout} s: {proc.args!r}")


@contextlib.contextmanager
def server_process(
    argv: Sequence[str], port: int, env: Mapping[str, str] | None = None, timeout: float = 90.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` as a subprocess until the ``with`` ends; yield once it listens on ``port``.

    ``env`` replaces the environment (default: this one); the repository is on PYTHONPATH.
    """
    full_env = {**(os.environ if env is None else env), "PYTHONPATH": str(REPO)}
    # A file, not a pipe: a chatty server would block once a pipe's buffer is full.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(list(argv), cwd=REPO, env=full_env, stdout=log, stderr=log)
    try:
        try:
            wait_for_port(port, proc, timeout)
        except (RuntimeError, TimeoutError) as exc:
            proc.kill()
            proc.wait()
            log.seek(0)
            tail = log.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{exc}\n{tail}") from None
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
