"""Readers for the deployment files, so the tests can check them without a Docker engine.

Small on purpose: each reads just enough of its format (Compose YAML with its ``!reset``
tag, Dockerfile instructions, ``.env`` lines, ``.dockerignore`` patterns, nginx directives)
for the checks in this folder.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


# ---- Compose ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reset:
    """Compose's ``!reset`` tag: the override file drops the base file's value."""

    value: Any


class ComposeLoader(yaml.SafeLoader):
    """PyYAML's safe loader plus the tags Compose adds (``!reset``, ``!override``)."""


def _reset(loader: yaml.SafeLoader, node: yaml.Node) -> Reset:
    if isinstance(node, yaml.SequenceNode):
        return Reset(loader.construct_sequence(node))
    if isinstance(node, yaml.MappingNode):
        return Reset(loader.construct_mapping(node))
    return Reset(loader.construct_scalar(node))


ComposeLoader.add_constructor("!reset", _reset)
ComposeLoader.add_constructor("!override", _reset)


def load_compose(name: str) -> dict[str, Any]:
    with open(REPO / name, encoding="utf-8") as file:
        return yaml.load(file, Loader=ComposeLoader)  # noqa: S506 - a SafeLoader subclass


VAR_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


def variable_refs(text: str) -> dict[str, str]:
    """``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}`` -> {VAR: operator}."""
    return {m.group(1): m.group(2) or "" for m in VAR_REF.finditer(text.replace("$$", ""))}


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) of each bind mount, short or long syntax."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            parts = volume.split(":")
            if parts[0].startswith((".", "/")):
                mounts.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2]))
        elif volume.get("type") == "bind":
            mounts.append((volume["source"], volume["target"], bool(volume.get("read_only"))))
    return mounts


def named_volumes(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(volume name, target) of each named-volume mount, short or long syntax."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
            if not source.startswith((".", "/")):
                mounts.append((source, target))
        elif volume.get("type") == "volume":
            mounts.append((volume["source"], volume["target"]))
    return mounts


def container_ports(service: dict[str, Any]) -> list[int]:
    """The container side of each ``ports`` entry (``host_ip:host:container``)."""
    ports = service.get("ports", [])
    if isinstance(ports, Reset):
        ports = ports.value
    result = []
    for entry in ports:
        text = entry if isinstance(entry, str) else str(entry["target"])
        result.append(int(text.rsplit(":", 1)[-1].split("/")[0]))
    return result


def duration_seconds(text: str) -> float:
    """Compose durations: ``30s``, ``1m30s``, ``500ms``."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a compose duration: {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


# ---- Dockerfile ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    name: str  # upper case: FROM, RUN, COPY, ...
    args: str  # the rest of the line, flags included
    line: int

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK CMD, or None (shell form)."""
        text = self.args
        if self.name == "HEALTHCHECK":
            text = text.split(" CMD ", 1)[1] if " CMD " in f" {text}" else ""
        text = text.strip()
        if not text.startswith("["):
            return None
        value = json.loads(text)
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ValueError(f"line {self.line}: exec form must be a JSON array of strings")
        return value

    def flags(self) -> dict[str, str]:
        """Leading ``--name=value`` options (COPY --from, HEALTHCHECK --interval, ...)."""
        result = {}
        for word in self.args.split():
            if not word.startswith("--"):
                break
            name, _, value = word[2:].partition("=")
            result[name] = value
        return result

    def words(self) -> list[str]:
        """The arguments after the flags, shell-split (COPY sources and destination, ...)."""
        words = shlex.split(self.args)
        while words and words[0].startswith("--"):
            words.pop(0)
        return words


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, name: str) -> list[Instruction]:
        return [i for i in self.instructions if i.name == name]


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions in order; comments, blank lines and ``\\`` continuations handled."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue  # comments (and parser directives) never join a continuation
        if not pending:
            start = number
        continued = stripped.endswith("\\")
        pending.append(stripped[:-1].strip() if continued else stripped)
        if continued:
            continue
        line = " ".join(part for part in pending if part)
        pending = []
        name, _, args = line.partition(" ")
        instructions.append(Instruction(name.upper(), args.strip(), start))
    if pending:
        raise ValueError(f"line {start}: the file ends inside a continued instruction")
    return instructions


def stages(instructions: list[Instruction]) -> list[Stage]:
    """Split at FROM: ``FROM image [AS name]``."""
    result: list[Stage] = []
    for instruction in instructions:
        if instruction.name == "FROM":
            words = instruction.words()
            name = words[2] if len(words) == 3 and words[1].lower() == "as" else None
            result.append(Stage(words[0], name))
        elif not result:
            if instruction.name != "ARG":
                raise ValueError(f"line {instruction.line}: {instruction.name} before FROM")
        else:
            result[-1].instructions.append(instruction)
    return result


# ---- .env ---------------------------------------------------------------------------------

def parse_env_file(text: str) -> dict[str, str]:
    """``NAME=value`` lines; comments and blank lines skipped; a bad line raises."""
    values = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f".env line {number}: expected NAME=value")
        values[name] = value
    return values


# ---- .dockerignore ------------------------------------------------------------------------

def _ignore_regex(pattern: str) -> re.Pattern[str]:
    """Docker's patterns: ``*`` and ``?`` stay within one path part, ``**`` crosses parts."""
    parts = []
    for piece in re.split(r"(\*\*/?)", pattern):
        if piece.startswith("**"):
            parts.append("(?:.*/)?" if piece.endswith("/") else ".*")
        else:
            parts.append(fnmatch.translate(piece)[4:-3].replace(".*", "[^/]*"))
    return re.compile("".join(parts))


def dockerignore_excludes(patterns_text: str, path: str) -> bool:
    """Whether ``path`` (relative, with ``/``) stays out of the build context.

    The last pattern that matches the path or one of its parent folders decides, as in Docker.
    """
    excluded = False
    parents = path.split("/")
    candidates = ["/".join(parents[:i]) for i in range(1, len(parents) + 1)]
    for raw in patterns_text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        regex = _ignore_regex(pattern.strip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not negate
    return excluded


# ---- nginx --------------------------------------------------------------------------------

@dataclass
class Directive:
    name: str
    args: list[str]
    children: list[Directive] = field(default_factory=list)

    def find(self, name: str) -> list[Directive]:
        """Every directive of that name in this block and the blocks inside it."""
        found = []
        for child in self.children:
            if child.name == name:
                found.append(child)
            found.extend(child.find(name))
        return found

    def first(self, name: str) -> Directive:
        found = [c for c in self.children if c.name == name]
        if len(found) != 1:
            raise LookupError(f"{self.name}: expected one {name}, found {len(found)}")
        return found[0]


_NGINX_TOKEN = re.compile(
    r"""\s*(?:(#[^\n]*)"""  # a comment
    r"""|("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')"""  # a quoted word
    r"""|([{};])"""  # block or statement end
    r"""|([^\s{};"']+))"""  # a plain word
)


def parse_nginx(text: str) -> Directive:
    """nginx.conf -> a tree of directives; unbalanced braces or a missing ``;`` raise."""
    root = Directive("main", [])
    stack = [root]
    words: list[str] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _NGINX_TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ValueError(f"nginx.conf: cannot read at offset {position}")
        position = match.end()
        comment, quoted, punct, word = match.groups()
        if comment:
            continue
        if quoted is not None:
            words.append(quoted[1:-1])
        elif word is not None:
            words.append(word)
        elif punct == ";":
            if not words:
                raise ValueError("nginx.conf: empty directive")
            stack[-1].children.append(Directive(words[0], words[1:]))
            words = []
        elif punct == "{":
            block = Directive(words[0], words[1:])
            stack[-1].children.append(block)
            stack.append(block)
            words = []
        else:  # "}"
            if words or len(stack) == 1:
                raise ValueError("nginx.conf: '}' without its block or after a missing ';'")
            stack.pop()
    if words or len(stack) != 1:
        raise ValueError("nginx.conf: unclosed block or missing ';' at the end")
    return root


def nginx_size_bytes(text: str) -> int:
    """``64m`` -> 67108864 (nginx size units k, m, g)."""
    match = re.fullmatch(r"(\d+)([kmgKMG]?)", text)
    if not match:
        raise ValueError(f"not an nginx size: {text!r}")
    return int(match.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[
        match.group(2).lower()]


def nginx_seconds(text: str) -> float:
    """``660s``, ``11m``, ``60`` (seconds) -> seconds."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h)?", text)
    if not match:
        raise ValueError(f"not an nginx time: {text!r}")
    return int(match.group(1)) * {None: 1, "s": 1, "ms": 0.001, "m": 60, "h": 3600}[
        match.group(2)]
