"""Claude Code itself, as a user runs it, through the proxy against a scripted fake Anthropic.

``claude -p "summarize notes.txt"`` in a workspace whose notes hold a name, an e-mail address
and an API key. The fake provider first asks to read the file (a ``Read`` tool call), then
answers by quoting the tool result it got. The provider must never see the file's personal
data; Claude Code must print it restored.

Claude Code comes from npm (``@anthropic-ai/claude-code``, pinned below) into a cache folder
(``~/.cache/anonymize-proxy-clients``, or ``$ANONYMIZE_PROXY_CLIENTS_CACHE``), so reruns
are fast; the first run installs it. Skipped only when ``npm`` is missing.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.proxy.anthropic_fake import FakeAnthropic, text_of
from tests.proxy.conftest import ROOT, ProxyFactory, ServeFake

CLAUDE_CODE = "@anthropic-ai/claude-code@2.1.197"
NOTES = ("Meeting notes from Tuesday.\n"
         "Contact: Maria Gonzalez, maria.gonzalez@example.com\n"
         "Staging API key: sk-proj-4fQ9xT2mLp8RvZ3kW7nB1cY6hJ0dS5aE\n")
PERSONAL = ("Maria Gonzalez", "Gonzalez", "maria.gonzalez@example.com",
            "4fQ9xT2mLp8RvZ3kW7nB1cY6hJ0dS5aE")


def claude_binary() -> Path:
    """Claude Code from the cache folder, installed there with npm when missing."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: Claude Code cannot be installed from npm")
    cache = Path(os.environ.get("ANONYMIZE_PROXY_CLIENTS_CACHE")
                 or Path.home() / ".cache" / "anonymize-proxy-clients")
    folder = cache / ("claude-code-" + CLAUDE_CODE.rsplit("@", 1)[1])
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / "node_modules" / ".bin" / "claude"
    with open(folder / ".lock", "w") as lock:  # one install at a time (parallel runs)
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _runs(binary):
            subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder),
                            CLAUDE_CODE], check=True, capture_output=True, timeout=600)
    assert _runs(binary), "Claude Code installed from npm but does not start"
    return binary


def _runs(binary: Path) -> bool:
    if not binary.exists():
        return False
    done = subprocess.run([str(binary), "--version"], capture_output=True, timeout=60)
    return done.returncode == 0 and b"Claude Code" in done.stdout


def scripted(notes: Path):  # type: ignore[no-untyped-def]
    """The fake provider's two turns: read the file, then quote what the tool returned."""

    def answer(body: dict[str, Any]) -> list[dict[str, Any]]:
        last = body["messages"][-1]["content"]
        results = [b for b in last if b.get("type") == "tool_result"] \
            if isinstance(last, list) else []
        if results:
            return [{"type": "text", "text": "Summary of the notes:\n" + text_of(results)}]
        if not body.get("tools"):  # a side request (a title, a check): no tools to call
            return [{"type": "text", "text": "ok"}]
        return [{"type": "text", "text": "I'll read the file."},
                {"type": "tool_use", "id": "toolu_01", "name": "Read",
                 "input": {"file_path": str(notes)}}]

    return answer


@pytest.fixture
async def fake(serve_fake: ServeFake) -> FakeAnthropic:
    return await serve_fake(FakeAnthropic())


async def test_claude_code_summarizes_notes_through_the_proxy(
        start_proxy: ProxyFactory, fake: FakeAnthropic, tmp_path: Path) -> None:
    binary = await asyncio.to_thread(claude_binary)
    workspace, home = tmp_path / "workspace", tmp_path / "home"
    workspace.mkdir()
    home.mkdir()
    notes = workspace / "notes.txt"
    notes.write_text(NOTES)
    fake.script = scripted(notes)
    fake.cuts = [4, 9, 15, 22, 30, 41, 57, 70]  # deltas cut inside the placeholders
    proxy = await start_proxy(config=ROOT / "config" / "default.yaml",
                              flags={"anthropic_upstream": fake.url})
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "ANTHROPIC_BASE_URL": proxy.url, "ANTHROPIC_API_KEY": "sk-ant-test-key",
           "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1",
           "DISABLE_ERROR_REPORTING": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    process = await asyncio.create_subprocess_exec(
        str(binary), "-p", "summarize notes.txt", "--allowedTools", "Read",
        cwd=workspace, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = out.decode()
    assert process.returncode == 0, err.decode()[-2000:]

    # Claude Code read the file through its tool and printed the provider's quote, restored.
    assert "Maria Gonzalez" in output and "maria.gonzalez@example.com" in output
    assert "4fQ9xT2mLp8RvZ3kW7nB1cY6hJ0dS5aE" in output
    assert "PERSON" not in output and "EMAIL" not in output
    # Two turns went to the provider: the question, then the tool result; it saw none of
    # the file's personal data, in any request.
    turns = [e for e in fake.received if e["path"] == "/v1/messages"]
    assert any(isinstance(e["json"]["messages"][-1]["content"], list)
               and any(b.get("type") == "tool_result"
                       for b in e["json"]["messages"][-1]["content"]) for e in turns)
    seen = fake.all_received()
    for value in PERSONAL:
        assert value not in seen
    assert "PERSON0" in seen and "EMAIL0" in seen
