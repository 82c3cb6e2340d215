"""``kind: regex``: regular expressions, each compiled once at load."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pipeline.config import check_keys, get_str, get_str_list, join, read_lines
from pipeline.errors import ConfigError
from pipeline.spans import Span
from pipeline.stages.base import Stage

_FLAGS = {
    "IGNORECASE": re.IGNORECASE,
    "MULTILINE": re.MULTILINE,
    "DOTALL": re.DOTALL,
    "VERBOSE": re.VERBOSE,
    "ASCII": re.ASCII,
}


def parse_flags(raw: dict[str, Any], path: str) -> int:
    """``flags: [IGNORECASE, MULTILINE]`` (or one string, or the one-letter ``i m s x a``)."""
    value = raw.get("flags")
    if value is None:
        return 0
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list):
        raise ConfigError(join(path, "flags"), "expected a list of flag names")
    letters = {name[0].lower(): flag for name, flag in _FLAGS.items()}
    flags = 0
    for i, name in enumerate(names):
        key = name.upper() if isinstance(name, str) else None
        if key in _FLAGS:
            flags |= _FLAGS[key]
        elif isinstance(name, str) and name.lower() in letters:
            flags |= letters[name.lower()]
        else:
            known = ", ".join(_FLAGS)
            raise ConfigError(f"{join(path, 'flags')}[{i}]", f"unknown flag (known: {known})")
    return flags


def compile_pattern(pattern: str, flags: int, path: str) -> re.Pattern[str]:
    """Compile, turning ``re.error`` into a ``ConfigError`` at the pattern's YAML path."""
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise ConfigError(path, f"{exc.msg} at position {exc.pos}") from None
    if compiled.fullmatch(""):
        raise ConfigError(path, "pattern matches the empty string")
    return compiled


class RegexStage(Stage):
    """Replaces every match of any of its patterns (the whole match)."""

    kind = "regex"

    def __init__(self, index: int, name: str, patterns: list[re.Pattern[str]]) -> None:
        super().__init__(index)
        self.name = name
        self.patterns = patterns

    @classmethod
    def from_config(cls, raw: dict[str, Any], path: str, base_dir: Path, index: int) -> Stage:
        check_keys(raw, path, {"kind", "name", "file", "patterns", "flags"})
        name = get_str(raw, "name", path)
        flags = parse_flags(raw, path)
        entries = [(f"{join(path, 'patterns')}[{i}]", p)
                   for i, p in enumerate(get_str_list(raw, "patterns", path))]
        entries += [(p, line.strip()) for p, line in read_lines(raw, "file", path, base_dir)]
        if not entries:
            raise ConfigError(path, "a regex stage needs 'patterns' or a 'file' with patterns")
        return cls(index, name, [compile_pattern(p, flags, where) for where, p in entries])

    def detect(self, text: str) -> list[Span]:
        return [
            Span(m.start(), m.end(), self.name, self.index)
            for pattern in self.patterns
            for m in pattern.finditer(text)
            if m.end() > m.start()
        ]
