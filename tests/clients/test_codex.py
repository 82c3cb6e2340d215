"""The Codex CLI through the proxy, as a user runs it: ``codex exec "summarize notes.txt"``.

Codex comes from npm (``@openai/codex``, cached under ~/.cache/anonymize-proxy-clients so
reruns are fast; installed from scratch when missing) and is pointed at the proxy by a
``config.toml`` provider with ``wire_api = "responses"``. A scripted fake provider first calls
Codex's shell tool to read the file, then answers quoting the tool output it got. The file
holds a name, an e-mail and an API key: the provider must never see them, and Codex's
output must show them restored. Skipped only when npm is missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline import Pipeline
from proxy.app import create_app
from tests.proxy.conftest import ROOT, _serve, make_settings
from tests.proxy.responses_upstream import FakeResponses, last_turn

CODEX_VERSION = "0.171.0"
CACHE = Path(os.environ.get("ANONYMIZE_PROXY_CLIENTS_CACHE",
                            Path.home() / ".cache" / "anonymize-proxy-clients"))
NAME, EMAIL, KEY = "Alex Rivera", "alex.rivera@example.com", "sk-proj-7Qm2Xv9Lk4Tz8Rw1Hn6Bc3Pd"
NOTES = (f"Meeting notes, 3 March.\nOwner: {NAME} ({EMAIL}).\n"
         f"Deploy key for staging: {KEY}\n")


def codex_binary() -> Path:
    """``codex`` of the pinned version, installed with npm into the cache folder if needed."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the Codex CLI test installs @openai/codex with npm")
    folder = CACHE / f"codex-{CODEX_VERSION}"
    binary = folder / "node_modules" / ".bin" / "codex"
    if not binary.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund",
                        "--loglevel=error", f"@openai/codex@{CODEX_VERSION}"],
                       check=True, timeout=600)
    return binary


class ScriptedCodexProvider(FakeResponses):
    """Turn 1: call ``exec_command`` to read notes.txt; turn 2: quote the tool output."""

    def output_for(self, body: dict[str, Any], response_id: str) -> list[dict[str, Any]]:
        kind, said = last_turn(body)
        if kind == "user":
            return [{"type": "function_call", "id": f"fc_{response_id}",
                     "call_id": f"call_{response_id}", "name": "exec_command",
                     "arguments": json.dumps({"cmd": "cat notes.txt"}), "status": "completed"}]
        quoted = said.split("Output:", 1)[-1].strip()
        return [{"type": "message", "id": f"msg_{response_id}", "role": "assistant",
                 "status": "completed", "content": [{"type": "output_text", "annotations": [],
                                                     "text": "Summary of notes.txt:\n" + quoted}]}]


def default_pipeline_with_keys() -> Pipeline:
    """The default pipeline plus one regex for provider API keys (``sk-...``)."""
    config = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())
    config["pipeline"].append({"kind": "regex", "name": "SECRET",
                               "patterns": [r"\bsk-[A-Za-z0-9_\-]{16,}"]})
    return Pipeline.from_dict(config, base_dir=ROOT / "config")


@pytest.fixture
async def codex_proxy(redis_prefix: str) -> AsyncIterator[tuple[str, ScriptedCodexProvider]]:
    fake = ScriptedCodexProvider()
    fake.cuts = list(range(5, 400, 7))  # stream the answer in small deltas
    fake_runner, fake.url = await _serve(fake.app())
    settings = make_settings(fake.url, redis_prefix)
    app = create_app(settings, pipeline=default_pipeline_with_keys())
    runner, url = await _serve(app, shutdown_timeout=1.0)
    yield url, fake
    await runner.cleanup()
    await fake_runner.cleanup()


async def test_codex_exec_reads_a_file_through_the_proxy(
        codex_proxy: tuple[str, ScriptedCodexProvider], tmp_path: Path) -> None:
    binary = codex_binary()
    proxy_url, fake = codex_proxy
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text(
        'model = "gpt-5"\nmodel_provider = "anonymizer"\n\n'
        "[model_providers.anonymizer]\n"
        'name = "anonymize-proxy"\n'
        f'base_url = "{proxy_url}/v1"\n'
        'env_key = "ANONYMIZER_TEST_KEY"\n'
        'wire_api = "responses"\n')
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "notes.txt").write_text(NOTES)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "CODEX_HOME": str(home),
           "ANONYMIZER_TEST_KEY": "sk-client-test", "NO_COLOR": "1"}
    process = await asyncio.create_subprocess_exec(
        str(binary), "exec", "--skip-git-repo-check", "-s", "danger-full-access",
        "summarize notes.txt", cwd=workspace, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    except TimeoutError:
        process.kill()
        raise
    assert process.returncode == 0, err.decode()[-2000:]

    posts = [e for e in fake.received if e["path"] == "/v1/responses"]
    assert len(posts) == 2, [e["path"] for e in fake.received]
    tool_output = posts[1]["json"]["input"][-1]
    assert tool_output["type"] == "function_call_output"
    # The provider read the file's contents, with placeholders in place of the data.
    assert "Deploy key for staging:" in tool_output["output"]
    seen = fake.all_received()
    for value in (NAME, "Rivera", EMAIL, KEY):
        assert value not in seen, value
    # Codex shows the provider's answer with the originals put back.
    shown = out.decode()
    assert "Summary of notes.txt:" in shown
    for value in (NAME, EMAIL, KEY):
        assert value in shown, value
