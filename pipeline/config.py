"""Reading pipeline YAML: environment substitution, typed key access and keyword/pattern files.

Every error names the YAML path it is about (``pipeline[2].patterns[1]: ...``), so a broken
config stops start-up with a message that says where to look.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_\-]*)(?::-([^}]*))?\}")


def load_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a config file and substitute ``${VAR}`` / ``${VAR:-default}`` in its strings."""
    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("", f"config file not found: {file}") from None
    except OSError as exc:
        raise ConfigError("", f"cannot read config file {file}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError("", f"{file}: {problem}{where}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("", f"{file}: the top level must be a mapping with a 'pipeline' list")
    return substitute_env(raw, "")


def substitute_env(value: Any, path: str) -> Any:
    """Replace environment references in every string of a parsed YAML tree."""
    if isinstance(value, str):
        return _substitute(value, path)
    if isinstance(value, list):
        return [substitute_env(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: substitute_env(v, join(path, str(k))) for k, v in value.items()}
    return value


def _substitute(text: str, path: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(path, f"environment variable {name} is not set")

    return _ENV_REF.sub(replace, text)


def join(path: str, key: str) -> str:
    """``pipeline[0]`` + ``name`` -> ``pipeline[0].name``."""
    return f"{path}.{key}" if path else key


def check_keys(raw: dict[str, Any], path: str, allowed: set[str]) -> None:
    """Reject unknown keys: a typo must not silently disable a detector."""
    for key in raw:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise ConfigError(join(path, str(key)), f"unknown key (expected one of: {known})")


def get_str(raw: dict[str, Any], key: str, path: str, default: str | None = None) -> str:
    """A required (or defaulted) non-empty string."""
    if key not in raw or raw[key] is None:
        if default is not None:
            return default
        raise ConfigError(join(path, key), "missing required key")
    value = raw[key]
    if not isinstance(value, str) or not value:
        raise ConfigError(join(path, key), f"expected a non-empty string, got {_kind(value)}")
    return value


def get_bool(raw: dict[str, Any], key: str, path: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(join(path, key), f"expected true or false, got {_kind(value)}")
    return value


def get_number(
    raw: dict[str, Any],
    key: str,
    path: str,
    default: float,
    *,
    integer: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    """A number within bounds; ``integer`` refuses 2.5 where a count is meant."""
    value = raw.get(key, default)
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        wanted = "an integer" if integer else "a number"
        raise ConfigError(join(path, key), f"expected {wanted}, got {_kind(value)}")
    if minimum is not None and value < minimum:
        raise ConfigError(join(path, key), f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(join(path, key), f"must be at most {maximum}, got {value}")
    return value


def get_str_list(raw: dict[str, Any], key: str, path: str) -> list[str]:
    """An optional list of strings (absent -> empty)."""
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(join(path, key), f"expected a list of strings, got {_kind(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(f"{join(path, key)}[{i}]", f"expected a string, got {_kind(item)}")
    return list(value)


def resolve_path(raw: dict[str, Any], key: str, path: str, base_dir: Path) -> Path | None:
    """An optional file path. A relative one is looked for in the config file's folder, then
    in the working directory, where anonymize-rs looks (``file: ./tests/config/fruits.txt``
    in its ``tests/config/config.yaml``), so its configs load as they are."""
    if raw.get(key) is None:
        return None
    file = Path(get_str(raw, key, path)).expanduser()
    if file.is_absolute():
        if not file.is_file():
            raise ConfigError(join(path, key), f"file not found: {file}")
        return file
    places = [Path(base_dir).absolute() / file]
    if places[0] != Path.cwd() / file:
        places.append(Path.cwd() / file)
    for place in places:
        if place.is_file():
            return place
    if len(places) == 1:
        raise ConfigError(join(path, key), f"file not found: {places[0]}")
    raise ConfigError(join(path, key), f"file not found: neither {places[0]} (beside the "
                                       f"config) nor {places[1]} (working directory)")


def read_lines(raw: dict[str, Any], key: str, path: str, base_dir: Path) -> list[tuple[str, str]]:
    """Entries of a one-per-line file as ``(yaml_path, line)``; blank and ``#`` lines skipped.

    Lines keep their inner and trailing spaces (they may matter in a regex); callers strip.
    """
    file = resolve_path(raw, key, path, base_dir)
    if file is None:
        return []
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(join(path, key), f"cannot read {file}: {exc}") from None
    entries = []
    for number, line in enumerate(lines, start=1):
        entry = line.rstrip("\r\n")
        if not entry.strip() or entry.lstrip().startswith("#"):
            continue
        entries.append((f"{join(path, key)}({file.name}:{number})", entry))
    return entries


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
