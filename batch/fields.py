"""Chosen fields of a JSON record by name or dotted path (``user.notes``); lists on the way,
nested ones included, are walked element by element (``messages.content`` reaches the
``content`` of every message)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class NotText(Exception):
    """A chosen field holds a number, boolean or object: it cannot be anonymized as text."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(f"field {path} holds a {kind}, not text")
        self.path = path


@dataclass(frozen=True)
class Slot:
    """Where one string sits: ``container[key]``."""

    container: Any
    key: Any

    def get(self) -> str:
        return self.container[self.key]

    def set(self, value: str) -> None:
        self.container[self.key] = value


def text_slots(record: Any, path: str) -> Iterator[Slot]:
    """Every string at ``path`` in ``record``; a missing field or a null is skipped."""
    yield from _walk(record, path.split("."), path)


def _walk(node: Any, parts: list[str], path: str) -> Iterator[Slot]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, parts, path)
        return
    if not isinstance(node, dict) or parts[0] not in node:
        return
    if len(parts) > 1:
        yield from _walk(node[parts[0]], parts[1:], path)
        return
    yield from _leaves(node, parts[0], path)


def _leaves(container: Any, key: Any, path: str) -> Iterator[Slot]:
    value = container[key]
    if isinstance(value, str):
        yield Slot(container, key)
    elif isinstance(value, list):
        for index in range(len(value)):
            yield from _leaves(value, index, path)
    elif value is not None:
        kind = "object" if isinstance(value, dict) else type(value).__name__
        raise NotText(path, {"int": "number", "float": "number", "bool": "boolean"}.get(kind, kind))
