"""The proxy's settings from four sources: CLI flag > environment > config file > default.

The config file is the pipeline's YAML; the proxy reads its own top-level sections
(``server``, ``upstream``, ``store``, ``auth``, ``logging``). Every error names where the bad
value came from: a YAML path (``upstream.total_timeout_seconds``) or an environment variable.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pipeline.config import (
    check_keys,
    get_bool,
    get_number,
    get_str,
    get_str_list,
    join,
    load_yaml,
)
from pipeline.errors import ConfigError
from pipeline.pipeline import PIPELINE_KEYS
from proxy.extra_fields import parse_extra_fields
from proxy.formats.extra import ExtraField

ENV_PREFIX = "ANONYMIZE_PROXY_"
DEFAULT_CONFIG = "config/default.yaml"
LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Option:
    """One setting: where it lives in YAML, its environment variable, its type and default."""

    name: str
    section: str
    key: str
    kind: str  # "str", "int", "float", "bool", "list", "choice", "fields"
    default: Any
    env: str = ""
    minimum: float | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""

    @property
    def yaml_path(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def env_name(self) -> str:
        return ENV_PREFIX + (self.env or self.name.upper())


MB = 1024 * 1024

OPTIONS: tuple[Option, ...] = (
    Option("host", "server", "host", "str", "127.0.0.1", doc="address to bind"),
    Option("port", "server", "port", "int", 8080, minimum=0, doc="port to bind"),
    Option("max_body_bytes", "server", "max_body_bytes", "int", 10 * MB, minimum=1,
           doc="larger request bodies get 413"),
    Option("shutdown_grace_seconds", "server", "shutdown_grace_seconds", "float", 30.0,
           minimum=0, doc="on SIGTERM, how long open requests and streams may finish"),
    Option("anonymize_timeout_seconds", "server", "anonymize_timeout_seconds", "float", 120.0,
           minimum=0.001, doc="time budget of one request's anonymization; past it: 503"),
    Option("max_anonymize_chars", "server", "max_anonymize_chars", "int", 1_000_000,
           minimum=1, doc="total characters of one request's texts; more: 413"),
    Option("max_anonymize_texts", "server", "max_anonymize_texts", "int", 10_000, minimum=1,
           doc="texts (messages, parts, arguments) of one request; more: 413"),
    Option("upstream", "upstream", "base_url", "str", "https://api.openai.com/v1",
           doc="the provider's OpenAI-compatible base URL"),
    Option("upstream_key", "upstream", "api_key", "str", None,
           doc="egress mode: the proxy's own provider key (needs client keys)"),
    Option("anthropic_upstream", "upstream", "anthropic_base_url", "str",
           "https://api.anthropic.com", doc="the Anthropic API's base URL (/v1/messages)"),
    Option("anthropic_upstream_key", "upstream", "anthropic_api_key", "str", None,
           doc="egress mode: the proxy's own Anthropic key (needs client keys)"),
    Option("connect_timeout_seconds", "upstream", "connect_timeout_seconds", "float", 10.0,
           minimum=0.001, doc="connecting to the provider"),
    Option("first_byte_timeout_seconds", "upstream", "first_byte_timeout_seconds", "float",
           120.0, minimum=0.001,
           doc="waiting for the answer's first byte, and between two stream chunks"),
    Option("total_timeout_seconds", "upstream", "total_timeout_seconds", "float", 600.0,
           minimum=0.001, doc="a whole upstream call, stream included"),
    Option("extra_fields", "upstream", "extra_fields", "fields", (),
           doc="request fields the upstream accepts beyond OpenAI's or Anthropic's, and what "
               "they hold (proxy/extra_fields.py); api.field=kind,... in the environment"),
    Option("redis_url", "store", "url", "str", "redis://127.0.0.1:6379/0",
           doc="redis://, rediss:// (TLS), unix://, or memory:// (one process only)"),
    Option("redis_cluster", "store", "cluster", "bool", False,
           doc="connect with Redis Cluster support"),
    Option("ttl_seconds", "store", "ttl_seconds", "int", 3600, minimum=1,
           doc="how long an item map is kept"),
    Option("key_prefix", "store", "key_prefix", "str", "anonymize-proxy:items:",
           doc="prefix of the item-map keys"),
    Option("encryption_key", "store", "encryption_key", "str", None, env="KEY",
           doc="AES-256-GCM key for stored maps, base64 of 32 bytes"),
    Option("conversations", "store", "conversations", "bool", True,
           doc="one mapping per conversation, earlier turns sent as before (docs/proxy.md)"),
    Option("client_keys", "auth", "client_keys", "list", (),
           doc="accepted client keys, comma-separated in the environment; egress mode"),
    Option("admin_token", "auth", "admin_token", "str", None,
           doc="enables POST /api/deanonymize by request_id"),
    Option("log_format", "logging", "format", "choice", "text", choices=LOG_FORMATS,
           doc="json: one JSON object a line"),
    Option("log_level", "logging", "level", "choice", "INFO", choices=LOG_LEVELS,
           doc="DEBUG, INFO, WARNING or ERROR"),
)
SECTIONS = {"server", "upstream", "store", "auth", "logging"}


@dataclass(frozen=True)
class Settings:
    """Everything the server needs; build with ``load_settings``."""

    config_path: Path
    pipeline_config: dict[str, Any] = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 10 * MB
    shutdown_grace_seconds: float = 30.0
    anonymize_timeout_seconds: float = 120.0
    max_anonymize_chars: int = 1_000_000
    max_anonymize_texts: int = 10_000
    upstream: str = "https://api.openai.com/v1"
    upstream_key: str | None = field(default=None, repr=False)
    anthropic_upstream: str = "https://api.anthropic.com"
    anthropic_upstream_key: str | None = field(default=None, repr=False)
    connect_timeout_seconds: float = 10.0
    first_byte_timeout_seconds: float = 120.0
    total_timeout_seconds: float = 600.0
    extra_fields: tuple[ExtraField, ...] = ()
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False
    ttl_seconds: int = 3600
    key_prefix: str = "anonymize-proxy:items:"
    encryption_key: bytes | None = field(default=None, repr=False)
    conversations: bool = True
    client_keys: tuple[str, ...] = field(default=(), repr=False)
    admin_token: str | None = field(default=None, repr=False)
    log_format: str = "text"
    log_level: str = "INFO"

    @property
    def egress_mode(self) -> bool:
        """Clients authenticate to the proxy; the proxy uses its own provider key."""
        return bool(self.client_keys)

    def replace(self, **changes: Any) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


def load_settings(
    config: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Read the config file and merge the sources; raise ``ConfigError`` on any bad value.

    ``overrides`` are CLI flags by option name; ``None`` values mean "not given".
    """
    env = os.environ if env is None else env
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    path = Path(config or env.get(ENV_PREFIX + "CONFIG") or DEFAULT_CONFIG)
    raw = load_yaml(path)
    check_keys(raw, "", PIPELINE_KEYS | SECTIONS)  # a top-level typo (auht:) is an error too
    sections = {name: _section(raw, name) for name in SECTIONS}
    for name, section in sections.items():
        check_keys(section, name, {o.key for o in OPTIONS if o.section == name})

    values: dict[str, Any] = {}
    for option in OPTIONS:
        if option.name in overrides:
            value = _check(option, {option.key: overrides[option.name]}, f"--{option.name}")
        elif (text := _env_value(option, env)) is not None:
            value = _check(option, {option.key: _from_env(option, text)}, option.env_name)
        else:
            value = _check(option, sections[option.section], option.section)
        values[option.name] = value

    where_key = ENV_PREFIX + "KEY" if env.get(ENV_PREFIX + "KEY") else "store.encryption_key"
    values["encryption_key"] = decode_key(values["encryption_key"], where_key)
    values["client_keys"] = tuple(values["client_keys"])
    settings = Settings(config_path=path, pipeline_config=raw, **values)
    _check_auth(settings)
    return settings


def decode_key(text: str | None, where: str) -> bytes | None:
    """Base64 (standard or URL-safe) of exactly 32 bytes -> the AES-256 key."""
    if text is None:
        return None
    try:
        key = base64.b64decode(text.strip(), altchars=b"-_" if ("-" in text or "_" in text)
                               else None, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(where, "not valid base64 (generate one with: "
                                 "python -c \"import os,base64;"
                                 "print(base64.b64encode(os.urandom(32)).decode())\")") from None
    if len(key) != 32:
        raise ConfigError(where, f"must decode to 32 bytes, got {len(key)}")
    return key


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(name, "expected a mapping")
    return value


def _env_value(option: Option, env: Mapping[str, str]) -> str | None:
    value = env.get(option.env_name)
    if value is None and option.name == "redis_url":
        value = env.get("REDIS_URL")
    return value if value not in (None, "") else None


def _from_env(option: Option, text: str) -> Any:
    """Environment strings -> the option's type; bad text is left for ``_check`` to refuse."""
    try:
        if option.kind == "int":
            return int(text)
        if option.kind == "float":
            return float(text)
    except ValueError:
        return text
    if option.kind == "bool":
        lowered = text.strip().lower()
        return {"1": True, "true": True, "yes": True, "0": False, "false": False,
                "no": False}.get(lowered, text)
    if option.kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    if option.kind == "choice" and option.name == "log_level":
        return text.upper()
    return text


def _check(option: Option, raw: dict[str, Any], path: str) -> Any:
    """Validate one value with the pipeline's typed getters, so messages read the same."""
    # For flags and env vars the "path" is the flag or variable; for YAML it is the section.
    key = option.key
    where = path if path.startswith(("--", ENV_PREFIX)) else None
    if option.kind == "fields":  # a mapping: errors name the place inside it themselves
        return parse_extra_fields(raw.get(key), join(path, key) if where is None else where)
    try:
        if option.kind == "str":
            # ``${VAR:-}`` in YAML yields "": an optional secret left empty means "not set".
            if raw.get(key) is None or (raw.get(key) == "" and option.default is None):
                return option.default
            return get_str(raw, key, path if where is None else "")
        if option.kind in ("int", "float"):
            return get_number(raw, key, path if where is None else "", option.default,
                              integer=option.kind == "int", minimum=option.minimum)
        if option.kind == "bool":
            return get_bool(raw, key, path if where is None else "", option.default)
        if option.kind == "list":
            return get_str_list(raw, key, path if where is None else "") or option.default
        value = raw.get(key, option.default)
        if option.name == "log_level" and isinstance(value, str):
            value = value.upper()
        if value not in option.choices:
            raise ConfigError(f"{path}.{key}" if where is None else key,
                              f"expected one of {', '.join(option.choices)}")
        return value
    except ConfigError as exc:
        if where is None:
            raise
        # Re-label "key: message" as "ANONYMIZE_PROXY_X: message" (or "--flag: message").
        raise ConfigError(where, exc.reason) from None


def _check_auth(settings: Settings) -> None:
    if settings.client_keys and not (settings.upstream_key or settings.anthropic_upstream_key):
        raise ConfigError("upstream.api_key", "egress mode (auth.client_keys) needs the proxy's "
                                              "own upstream key (ANONYMIZE_PROXY_UPSTREAM_KEY "
                                              "or ANONYMIZE_PROXY_ANTHROPIC_UPSTREAM_KEY)")
    for key, path in ((settings.upstream_key, "upstream.api_key"),
                      (settings.anthropic_upstream_key, "upstream.anthropic_api_key")):
        if key and not settings.client_keys:
            raise ConfigError("auth.client_keys", f"{path} is set but no client keys: "
                                                  "anyone reaching the proxy would spend that key")
    for url, path in ((settings.upstream, "upstream.base_url"),
                      (settings.anthropic_upstream, "upstream.anthropic_base_url")):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(path, "must start with http:// or https://")
    scheme = settings.redis_url.split("://", 1)[0] if "://" in settings.redis_url else ""
    if scheme not in ("redis", "rediss", "unix", "memory"):
        raise ConfigError("store.url", "must start with redis://, rediss://, unix:// or memory://")
