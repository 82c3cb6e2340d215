"""The console script, run as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXE = shutil.which("anonymize-proxy", path=str(Path(sys.executable).parent))


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    assert EXE, "the anonymize-proxy console script is not installed"
    return subprocess.run([EXE, *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_anonymize_then_deanonymize_round_trip(tmp_path: Path) -> None:
    text = "I like to eat apples and bananas and plums\n"
    done = run("anonymize", "--config", "config/fruits.yaml", stdin=text)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["text"] == "I like to eat FRUIT_FLASH0 and FRUIT_FLASH1 and FRUIT_REGEX0\n"
    items_file = tmp_path / "items.json"
    items_file.write_text(json.dumps(result["items"]))
    back = run("deanonymize", "--items", str(items_file), stdin=result["text"])
    assert back.returncode == 0, back.stderr
    assert back.stdout == text


def test_deanonymize_accepts_the_whole_anonymize_output(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    out.write_text(json.dumps({"text": "x", "items": {"FRUIT_FLASH0": "apples"}}))
    assert run("deanonymize", "-i", str(out), stdin="FRUIT_FLASH0!").stdout == "apples!"


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"A0": 5}'])
def test_deanonymize_with_bad_items_file_fails_clearly(tmp_path: Path, content: str) -> None:
    items = tmp_path / "items.json"
    items.write_text(content)
    done = run("deanonymize", "--items", str(items), stdin="A0")
    assert done.returncode == 2
    assert "items" in done.stderr and done.stdout == ""


def test_bad_config_exits_2_with_the_yaml_path_and_prints_no_text(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("pipeline:\n  - {kind: regex, name: R, patterns: ['(']}\n")
    done = run("anonymize", "-c", str(config), stdin="my secret 1234")
    assert done.returncode == 2
    assert "pipeline[0].patterns[0]: missing ), unterminated subpattern" in done.stderr
    assert "secret" not in done.stderr + done.stdout
