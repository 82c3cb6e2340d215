"""The compose files, .env.example and nginx.conf, checked by parsing (no Docker engine here).

Each test states what an operator would hit if it broke: a container that cannot start, a
mount of a missing file, a port nobody listens on, a stream that nginx buffers.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys

import pytest

from proxy.settings import OPTIONS, decode_key
from tests.deploy.deploy_parsers import (
    REPO,
    Directive,
    Reset,
    bind_mounts,
    container_ports,
    duration_seconds,
    load_compose,
    named_volumes,
    nginx_seconds,
    nginx_size_bytes,
    parse_dockerfile,
    parse_env_file,
    parse_nginx,
    variable_refs,
)

MAIN = "docker-compose.yml"
SCALE = "docker-compose.scale.yml"
COMPOSE_FILES = (MAIN, SCALE)
DEFAULTS = {option.name: option.default for option in OPTIONS}
DOCKER_ONLY_VARS = {  # read by compose itself, not by the proxy
    "ANONYMIZE_PROXY_BIND", "ANONYMIZE_PROXY_PUBLISH_PORT", "ANONYMIZE_PROXY_REPLICAS",
    "ANONYMIZE_PROXY_IMAGE_TAG",
}


@pytest.fixture(scope="module")
def main() -> dict:
    return load_compose(MAIN)


@pytest.fixture(scope="module")
def scale() -> dict:
    return load_compose(SCALE)


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return parse_env_file((REPO / ".env.example").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def nginx() -> Directive:
    return parse_nginx((REPO / "deploy" / "nginx.conf").read_text(encoding="utf-8"))


def _proxy_location(nginx: Directive) -> Directive:
    """The location block that passes requests to the proxies."""
    locations = [loc for loc in nginx.find("location") if loc.find("proxy_pass")]
    assert len(locations) == 1, "expected one location with proxy_pass"
    return locations[0]


def _one(block: Directive, name: str) -> list[str]:
    found = block.find(name)
    assert len(found) == 1, f"expected one {name} directive, found {len(found)}"
    return found[0].args


# ---- services ------------------------------------------------------------------------------

def test_main_file_runs_the_proxy_and_an_official_redis(main):
    assert set(main["services"]) == {"proxy", "redis"}
    assert re.fullmatch(r"redis:7(\.\d+)*-alpine", main["services"]["redis"]["image"])


def test_scale_file_adds_an_official_nginx_and_replicates_the_proxy(scale):
    assert set(scale["services"]) == {"proxy", "lb"}
    image = scale["services"]["lb"]["image"]
    assert re.fullmatch(r"nginx:1\.(2[89]|[3-9]\d)(\.\d+)*-alpine", image), \
        "nginx >= 1.28 is needed for `resolve` in the upstream block"
    assert scale["services"]["proxy"]["deploy"]["replicas"] == "${ANONYMIZE_PROXY_REPLICAS:-3}"


def test_proxy_is_built_from_the_repo_dockerfile(main):
    build = main["services"]["proxy"]["build"]
    context = REPO / build["context"]
    assert context.resolve() == REPO
    assert (context / build.get("dockerfile", "Dockerfile")).is_file()


def test_redis_persists_to_a_named_volume_with_appendonly(main):
    redis = main["services"]["redis"]
    command = redis["command"]
    words = command if isinstance(command, list) else command.split()
    assert words[0] == "redis-server"
    assert words[words.index("--appendonly") + 1] == "yes"
    mounts = named_volumes(redis)
    assert ("redis-data", "/data") in mounts
    assert "redis-data" in main["volumes"], "the named volume must be declared at top level"
    assert "ports" not in redis, "Redis must not be published outside the compose network"


def test_redis_healthcheck_pings_it(main):
    test = main["services"]["redis"]["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL")
    assert "redis-cli" in " ".join(test) and "ping" in " ".join(test)


def test_dependencies_wait_for_health(main, scale):
    assert main["services"]["proxy"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert scale["services"]["lb"]["depends_on"]["proxy"]["condition"] == "service_healthy"


def test_lb_healthcheck_asks_the_proxies_for_readiness(scale):
    test = scale["services"]["lb"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert test[-1].endswith("/readyz")


def test_proxy_reads_secrets_from_a_required_env_file(main):
    env_file = main["services"]["proxy"]["env_file"]
    entries = [e if isinstance(e, dict) else {"path": e} for e in env_file]
    assert [e["path"] for e in entries] == [".env"]
    assert entries[0].get("required", True) is True
    environment = main["services"]["proxy"]["environment"]
    for secret in ("ANONYMIZE_PROXY_UPSTREAM_KEY", "ANONYMIZE_PROXY_ADMIN_TOKEN",
                   "ANONYMIZE_PROXY_CLIENT_KEYS"):
        assert secret not in environment, f"{secret} must come from .env, not the compose file"
    assert environment["ANONYMIZE_PROXY_KEY"].startswith("${ANONYMIZE_PROXY_KEY:?"), \
        "compose must refuse to start without the encryption key"


def test_proxy_runs_with_an_init_and_no_privileges(main):
    proxy = main["services"]["proxy"]
    assert proxy["init"] is True, "tini forwards SIGTERM so the proxy can drain its streams"
    assert proxy["read_only"] is True
    assert proxy["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in proxy["security_opt"]


def test_stop_grace_period_outlasts_the_proxy_drain(main, scale):
    proxy = main["services"]["proxy"]
    grace = float(proxy["environment"]["ANONYMIZE_PROXY_SHUTDOWN_GRACE_SECONDS"])
    stop = duration_seconds(proxy["stop_grace_period"])
    assert grace + 2 <= stop, "Docker would SIGKILL the proxy while streams still drain"
    assert duration_seconds(scale["services"]["lb"]["stop_grace_period"]) >= stop


# ---- files the compose files use -----------------------------------------------------------

@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_bind_mount_source_exists(name):
    compose = load_compose(name)
    for service_name, service in compose["services"].items():
        for source, target, _ in bind_mounts(service):
            assert (REPO / source).exists(), f"{name}: {service_name} mounts missing {source}"
            assert target.startswith("/")


def test_config_is_mounted_read_only_and_holds_the_configured_file(main):
    proxy = main["services"]["proxy"]
    mounts = {target: (source, read_only) for source, target, read_only in bind_mounts(proxy)}
    source, read_only = mounts["/app/config"]
    assert (REPO / source).resolve() == REPO / "config"
    assert read_only
    config = proxy["environment"]["ANONYMIZE_PROXY_CONFIG"]
    assert config.startswith("/app/config/")
    assert (REPO / "config" / config.removeprefix("/app/config/")).is_file(), \
        f"the proxy would start with a missing {config}"


def test_nginx_conf_is_mounted_as_the_main_config(scale):
    mounts = {target: (source, ro) for source, target, ro in bind_mounts(scale["services"]["lb"])}
    source, read_only = mounts["/etc/nginx/nginx.conf"]
    assert (REPO / source).resolve() == REPO / "deploy" / "nginx.conf"
    assert read_only


# ---- ports ---------------------------------------------------------------------------------

def test_ports_agree_across_compose_dockerfile_and_nginx(main, scale, nginx):
    proxy = main["services"]["proxy"]
    port = int(proxy["environment"]["ANONYMIZE_PROXY_PORT"])
    assert proxy["environment"]["ANONYMIZE_PROXY_HOST"] == "0.0.0.0"
    assert container_ports(proxy) == [port]

    exposed = [i for i in parse_dockerfile((REPO / "Dockerfile").read_text()) if i.name == "EXPOSE"]
    assert [int(w) for i in exposed for w in i.args.split()] == [port]

    upstream = next(u for u in nginx.find("upstream") if u.args == ["anonymize_proxy"])
    servers = [d.args[0] for d in upstream.children if d.name == "server"]
    assert servers == [f"proxy:{port}"], "nginx must reach the proxy service on its port"
    assert "proxy" in main["services"]

    listen = [int(d.args[0]) for d in nginx.find("listen")]
    assert container_ports(scale["services"]["lb"]) == listen


def test_scale_file_unpublishes_the_proxy_and_publishes_the_lb_instead(main, scale):
    assert scale["services"]["proxy"]["ports"] == Reset([]), \
        "N replicas cannot share one host port: the override must drop the proxy's ports"
    assert scale["services"]["lb"]["ports"] == main["services"]["proxy"]["ports"], \
        "clients keep the same address when the setup is scaled out"


# ---- variables and .env.example ------------------------------------------------------------

@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_env_example_defines_every_variable_the_compose_file_uses(name, env_example):
    refs = variable_refs((REPO / name).read_text(encoding="utf-8"))
    assert refs, f"{name} is expected to use variables from .env"
    missing = sorted(set(refs) - set(env_example))
    assert not missing, f".env.example lacks {missing} used in {name}"


def test_env_example_names_only_settings_the_proxy_reads(env_example):
    known = {option.env_name for option in OPTIONS} | DOCKER_ONLY_VARS
    unknown = sorted(set(env_example) - known)
    assert not unknown, f"typos or settings the proxy does not read: {unknown}"
    for name in ("ANONYMIZE_PROXY_KEY", "ANONYMIZE_PROXY_UPSTREAM",
                 "ANONYMIZE_PROXY_UPSTREAM_KEY", "ANONYMIZE_PROXY_CLIENT_KEYS",
                 "ANONYMIZE_PROXY_ADMIN_TOKEN", "ANONYMIZE_PROXY_REDIS_URL"):
        assert name in env_example


SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD")
SECRET_LOOKING = (
    re.compile(r"sk-[A-Za-z0-9_\-]{16,}"),  # provider API keys
    re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}=(?![A-Za-z0-9+/=])"),  # base64 of 32 bytes
    re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32,}(?![0-9a-fA-F])"),  # hex keys
    re.compile(r"://[^/\s:@]*:(?![A-Z_]+@)[^@\s]{6,}@"),  # a password in a URL (not PASSWORD)
)


def test_env_example_holds_no_secret(env_example):
    for name, value in env_example.items():
        if SECRET_NAME.search(name.removeprefix("ANONYMIZE_PROXY_")):
            assert value == "", f"{name} must be empty in .env.example"
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    for pattern in SECRET_LOOKING:
        assert not pattern.search(text), f".env.example holds something like a secret: {pattern}"


def test_secret_scan_catches_a_real_key():
    """The scan above can fail: a generated key and an API key are both caught."""
    key = base64.b64encode(bytes(range(32))).decode()
    assert any(p.search(f"ANONYMIZE_PROXY_KEY={key}") for p in SECRET_LOOKING)
    assert any(p.search("X=sk-proj-abcdefghijklmnop1234") for p in SECRET_LOOKING)
    assert any(p.search("X=rediss://default:hunter22@cache.example:6380") for p in SECRET_LOOKING)


def test_documented_key_command_makes_a_key_the_proxy_accepts():
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    match = re.search(r'python -c "([^"]+)"', text)
    assert match, ".env.example must show how to generate ANONYMIZE_PROXY_KEY"
    out = subprocess.run([sys.executable, "-c", match.group(1)], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    assert len(decode_key(out.strip(), "ANONYMIZE_PROXY_KEY")) == 32


def test_env_file_is_git_ignored():
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored


# ---- nginx ---------------------------------------------------------------------------------

def test_nginx_passes_streams_through_unbuffered(nginx):
    location = _proxy_location(nginx)
    assert _one(location, "proxy_buffering") == ["off"]
    assert _one(location, "proxy_request_buffering") == ["off"]
    assert _one(location, "proxy_http_version") == ["1.1"]
    headers = {tuple(d.args) for d in location.find("proxy_set_header")}
    assert ("Connection", "") in headers, "keepalive to the upstream needs Connection cleared"


def test_nginx_waits_longer_than_the_proxy_does_for_the_provider(nginx):
    location = _proxy_location(nginx)
    read = nginx_seconds(_one(location, "proxy_read_timeout")[0])
    assert read > DEFAULTS["first_byte_timeout_seconds"]
    assert read >= DEFAULTS["total_timeout_seconds"], \
        "nginx would cut a long stream before the proxy's own timeout"
    assert nginx_seconds(_one(location, "proxy_send_timeout")[0]) >= read


def test_nginx_lets_the_proxy_enforce_its_own_body_limit(nginx):
    limit = nginx_size_bytes(_one(nginx, "client_max_body_size")[0])
    assert limit > DEFAULTS["max_body_bytes"]


def test_nginx_re_resolves_the_replicas(nginx):
    http = nginx.first("http")
    assert http.first("resolver").args[0] == "127.0.0.11", "Docker's embedded DNS"
    upstream = next(u for u in nginx.find("upstream") if u.args == ["anonymize_proxy"])
    assert upstream.first("zone"), "`resolve` needs a shared memory zone"
    server = upstream.first("server")
    assert "resolve" in server.args
    assert _proxy_location(nginx).first("proxy_pass").args == ["http://anonymize_proxy"]


def test_nginx_logs_no_query_string(nginx):
    formats = {d.args[0]: " ".join(d.args[1:]) for d in nginx.find("log_format")}
    for access_log in nginx.find("access_log"):
        assert access_log.args[0] == "off" or len(access_log.args) > 1, \
            "the default format logs $request, query string included"
        if access_log.args[0] != "off":
            fmt = formats[access_log.args[1]]
            for variable in ("$request ", "$request_uri", "$args", "$query_string",
                             "$arg_", "$request_body"):
                assert variable not in fmt + " ", f"{variable} can carry personal data"
