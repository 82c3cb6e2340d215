"""A run stopped by Ctrl-C resumes from its last checkpoint and ends with the output an
uninterrupted run writes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.batch.conftest import FRUITS

EXE = shutil.which("anonymize-proxy", path=str(Path(sys.executable).parent))


def command(src: Path, out: Path, *extra: str) -> list[str]:
    assert EXE
    return [EXE, "batch", str(src), "-o", str(out), "-c", FRUITS, "-f", "text", "--workers",
            "1", "--chunk-rows", "100", "--progress", "none", "--checkpoint-seconds", "0.1",
            *extra]


def test_ctrl_c_then_resume(tmp_path: Path, key: bytes) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    with open(src, "w") as file:
        for i in range(60_000):
            file.write(json.dumps({"n": i, "text": f"apples, plums and row {i}"}) + "\n")
    run = subprocess.Popen(command(src, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=os.environ)
    checkpoint = Path(f"{out}.checkpoint")
    deadline = time.monotonic() + 60
    first: int | None = None
    # Interrupt once a checkpoint past the first (written before any work) is on disk.
    while time.monotonic() < deadline and run.poll() is None:
        if checkpoint.exists():
            stamp = checkpoint.stat().st_mtime_ns
            if first is None:
                first = stamp
            elif stamp != first:
                break
        time.sleep(0.02)
    assert run.poll() is None, "the run ended before it could be interrupted"
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130 and "--resume" in err
    assert checkpoint.exists()

    resumed = subprocess.run(command(src, out, "--resume"), capture_output=True, text=True,
                             env=os.environ, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["rows"] == 60_000
    assert summary["bytes"] < src.stat().st_size  # what was checkpointed was not redone
    with open(out) as file:
        for i, line in enumerate(file):
            assert json.loads(line) == {"n": i, "text": f"FRUIT_FLASH0, FRUIT_REGEX0 and row {i}"}
    assert i == 59_999
    assert not checkpoint.exists()

