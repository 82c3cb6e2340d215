"""The parity suite runs where anonymize-rs's tests run: in its crate folder, rebuilt here."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.seed.seed_tree import write_seed_tree


@pytest.fixture
def crate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """anonymize-rs's crate folder (``tests/config/...``) as the working directory."""
    write_seed_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path
