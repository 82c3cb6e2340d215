"""Fixtures for the batch tests: a key, the fruits pipeline, and the command run as a user
runs it (``anonymize-proxy batch ...``, in this process so the suite stays fast)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from proxy.cli import main

ROOT = Path(__file__).resolve().parents[2]
FRUITS = str(ROOT / "config" / "fruits.yaml")
DEFAULT = str(ROOT / "config" / "default.yaml")
REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class Done:
    code: int
    out: str
    err: str

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads(self.out.strip().splitlines()[-1])


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    raw = os.urandom(32)
    monkeypatch.setenv("ANONYMIZE_PROXY_KEY", base64.b64encode(raw).decode())
    return raw


@pytest.fixture
def batch(key: bytes, capsys: pytest.CaptureFixture[str]) -> Callable[..., Done]:
    def run(*args: str | Path) -> Done:
        capsys.readouterr()
        code = main(["batch", *map(str, args), "--progress", "lines"])
        captured = capsys.readouterr()
        return Done(code, captured.out, captured.err)

    return run
