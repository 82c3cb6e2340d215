"""Settings: CLI flag > environment > config file > default, and clear errors naming the source."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from pipeline import ConfigError
from proxy.settings import load_settings

FRUITS = Path(__file__).resolve().parents[2] / "config" / "fruits.yaml"


def config_with(tmp_path: Path, proxy_sections: str) -> Path:
    file = tmp_path / "proxy.yaml"
    file.write_text(FRUITS.read_text().replace("./fruits", str(FRUITS.parent / "fruits"))
                    + proxy_sections)
    return file


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(FRUITS, env={})
    assert (settings.host, settings.port, settings.ttl_seconds) == ("127.0.0.1", 8080, 3600)
    assert settings.max_body_bytes == 10 * 1024 * 1024
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.upstream == "https://api.openai.com/v1"
    assert settings.encryption_key is None and not settings.egress_mode


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    config = config_with(tmp_path, "server:\n  port: 7000\n  host: 0.0.0.0\n"
                                   "store:\n  url: redis://file:6379/0\n  ttl_seconds: 10\n")
    from_file = load_settings(config, env={})
    assert (from_file.port, from_file.host, from_file.ttl_seconds) == (7000, "0.0.0.0", 10)
    env = {"ANONYMIZE_PROXY_PORT": "7100", "REDIS_URL": "redis://plain-env:6379/0"}
    from_env = load_settings(config, env=env)
    assert from_env.port == 7100 and from_env.redis_url == "redis://plain-env:6379/0"
    env["ANONYMIZE_PROXY_REDIS_URL"] = "rediss://prefixed:6380/1"
    assert load_settings(config, env=env).redis_url == "rediss://prefixed:6380/1"
    flagged = load_settings(config, {"port": 7200, "redis_url": "memory://", "host": None},
                            env=env)
    assert (flagged.port, flagged.redis_url, flagged.host) == (7200, "memory://", "0.0.0.0")


def test_empty_optional_secrets_mean_unset(tmp_path: Path) -> None:
    config = config_with(tmp_path, "store:\n  encryption_key: ${NO_SUCH_VAR_X:-}\n"
                                   "auth:\n  admin_token: ''\n")
    settings = load_settings(config, env={})
    assert settings.encryption_key is None and settings.admin_token is None


def test_config_path_from_env(tmp_path: Path) -> None:
    config = config_with(tmp_path, "server:\n  port: 7300\n")
    assert load_settings(None, env={"ANONYMIZE_PROXY_CONFIG": str(config)}).port == 7300


@pytest.mark.parametrize(("sections", "env", "where"), [
    ("server:\n  port: eighty\n", {}, "server.port"),
    ("server:\n  prot: 80\n", {}, "server.prot"),
    ("upstream:\n  total_timeout_seconds: -1\n", {}, "upstream.total_timeout_seconds"),
    ("logging:\n  format: xml\n", {}, "logging.format"),
    ("store: [1]\n", {}, "store"),
    ("", {"ANONYMIZE_PROXY_TTL_SECONDS": "an hour"}, "ANONYMIZE_PROXY_TTL_SECONDS"),
    ("", {"ANONYMIZE_PROXY_KEY": "c2hvcnQ="}, "ANONYMIZE_PROXY_KEY"),
    ("", {"ANONYMIZE_PROXY_KEY": "not base64!"}, "ANONYMIZE_PROXY_KEY"),
    ("", {"ANONYMIZE_PROXY_REDIS_URL": "http://x"}, "store.url"),
    ("", {"ANONYMIZE_PROXY_CLIENT_KEYS": "a,b"}, "upstream.api_key"),
    ("", {"ANONYMIZE_PROXY_UPSTREAM_KEY": "sk"}, "auth.client_keys"),
])
def test_bad_values_name_their_source(tmp_path: Path, sections: str, env: dict[str, str],
                                      where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config_with(tmp_path, sections), env=env)
    assert caught.value.path == where


def test_env_types(tmp_path: Path) -> None:
    key = base64.b64encode(bytes(range(32))).decode()
    settings = load_settings(FRUITS, env={
        "ANONYMIZE_PROXY_KEY": key, "ANONYMIZE_PROXY_CLIENT_KEYS": " a , b ,",
        "ANONYMIZE_PROXY_UPSTREAM_KEY": "sk", "ANONYMIZE_PROXY_LOG_LEVEL": "debug",
        "ANONYMIZE_PROXY_FIRST_BYTE_TIMEOUT_SECONDS": "2.5",
        "ANONYMIZE_PROXY_REDIS_CLUSTER": "true"})
    assert settings.encryption_key == bytes(range(32))
    assert settings.client_keys == ("a", "b") and settings.egress_mode
    assert settings.log_level == "DEBUG" and settings.first_byte_timeout_seconds == 2.5
    assert settings.redis_cluster is True


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings("/nonexistent/proxy.yaml", env={})


def test_operations_doc_lists_every_environment_variable() -> None:
    from proxy.settings import OPTIONS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    for option in OPTIONS:
        assert f"`{option.env_name}`" in doc, option.env_name
        assert f"`{option.yaml_path}`" in doc, option.yaml_path


def test_a_top_level_typo_names_the_key_and_the_valid_ones(tmp_path: Path) -> None:
    config = config_with(tmp_path, "auht:\n  admin_token: x\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert caught.value.path == "auht"
    valid = str(caught.value).split("expected one of: ", 1)[1].rstrip(")").split(", ")
    assert {"allow", "auth", "logging", "pipeline", "placeholder", "server", "store",
            "upstream"} <= set(valid)
    assert valid == sorted(valid)


def test_the_library_accepts_exactly_the_proxy_sections() -> None:
    from pipeline.pipeline import PROXY_SECTIONS
    from proxy.settings import SECTIONS

    # The library loads a server config on its own (anonymize-proxy anonymize, notebooks):
    # a section the proxy reads must not be a typo there.
    assert SECTIONS == PROXY_SECTIONS
