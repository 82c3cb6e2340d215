"""Progress: a bar with rows/s and ETA on a terminal, plain lines in a pipe."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from batch.progress import Progress
from tests.batch.conftest import FRUITS


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_with_rate_and_eta() -> None:
    screen = Terminal()
    progress = Progress(1000, stream=screen, every=0)
    progress.update(100, 250)
    progress.finish()
    text = screen.getvalue()
    assert text.startswith("\r[######") and "25.0%" in text and "rows/s" in text
    assert "ETA" in text and text.endswith("\n")


def test_the_command_in_a_pipe_writes_quiet_lines(tmp_path: Path, key: bytes) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps({"text": f"apples {i}"}) + "\n" for i in range(500)))
    exe = shutil.which("anonymize-proxy", path=str(Path(sys.executable).parent))
    assert exe
    done = subprocess.run([exe, "batch", str(src), "-o", str(out), "-c", FRUITS, "-f", "text",
                           "--chunk-rows", "50"], capture_output=True, text=True, timeout=120,
                          env=os.environ)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr
    assert "batch: 100.0% 500 rows" in done.stderr
    assert "500 rows processed, 0 rejected, masked: FRUIT_FLASH 500" in done.stderr
    assert json.loads(done.stdout)["rows"] == 500
