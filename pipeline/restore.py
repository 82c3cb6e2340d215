"""Putting originals back: whole texts, and streams that arrive in arbitrary chunks."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

# Sets of up to this many placeholders are compiled once: the same ones (NAME0, EMAIL0, ...)
# come back request after request, and compiling costs more than the replacement itself.
_CACHED_KEYS = 64


def placeholder_pattern(placeholders: Iterable[str]) -> re.Pattern[str]:
    """One alternation of the placeholders, longest first: at any position the longest
    placeholder wins, so ``X10`` is never ``X1`` + ``0``."""
    keys = frozenset(placeholders)
    if len(keys) <= _CACHED_KEYS:
        return _cached_pattern(keys)
    return _compile(keys)


def _compile(keys: frozenset[str]) -> re.Pattern[str]:
    """The alternation as a trie (``PERSON(?:1(?:0)?|2)``): the same longest-first matches as
    ``|``-joining the keys longest first, but a pattern a fraction as long, so a
    conversation's hundreds of placeholders compile and scan several times faster."""
    trie: dict[str, dict] = {}
    for key in keys:
        node = trie
        for char in key:
            node = node.setdefault(char, {})
        node[""] = {}
    return re.compile(_trie_pattern(trie))


def _trie_pattern(node: dict[str, dict]) -> str:
    ends_here = "" in node
    branches = [re.escape(char) + _trie_pattern(child)
                for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    if len(branches) == 1 and not ends_here:
        return branches[0]
    group = "(?:" + "|".join(branches) + ")"
    return group + "?" if ends_here else group  # greedy: the longer key is tried first


_cached_pattern = functools.lru_cache(maxsize=1024)(_compile)


def deanonymize(text: str, items: Mapping[str, str]) -> str:
    """Replace every placeholder of ``items`` in ``text`` by its original, in one pass.

    Text that merely looks like a placeholder but is not in ``items`` stays as it is.
    """
    if not items or not text:
        return text
    return placeholder_pattern(items).sub(lambda m: items[m.group()], text)


class StreamingDeanonymizer:
    """Restores a stream chunk by chunk with exactly the result of ``deanonymize`` on the whole.

    It holds back only a tail that could still grow into a placeholder (``FRUIT_`` waiting for
    ``FLASH0``), so text without placeholders flows through at once.
    """

    def __init__(self, items: Mapping[str, str]) -> None:
        self._items = dict(items)
        self._buffer = ""
        self._pattern = placeholder_pattern(self._items) if self._items else None
        self._prefixes = {key[:n] for key in self._items for n in range(1, len(key))}
        self._longest = max(map(len, self._items), default=0)

    def feed(self, chunk: str) -> str:
        """Add a chunk; return the text that is now final."""
        if self._pattern is None:
            return chunk
        self._buffer += chunk
        out: list[str] = []
        buffer, pos = self._buffer, 0
        hold = self._hold_from(buffer, pos)
        while True:
            # A match is final when it starts before the held tail: the longest placeholder at
            # its start is then already decided (it may still end inside the tail).
            match = self._pattern.search(buffer, pos)
            if match is None or match.start() >= hold:
                break
            out.append(buffer[pos : match.start()])
            out.append(self._items[match.group()])
            pos = match.end()
            if hold < pos:
                hold = self._hold_from(buffer, pos)
        out.append(buffer[pos:hold])
        self._buffer = buffer[hold:]
        return "".join(out)

    def finish(self) -> str:
        """End of stream: flush whatever was held back."""
        rest, self._buffer = self._buffer, ""
        return deanonymize(rest, self._items)

    @property
    def pending(self) -> str:
        """The tail held back for now (for diagnostics and tests)."""
        return self._buffer

    def _hold_from(self, buffer: str, pos: int) -> int:
        """Earliest position >= pos whose rest of the buffer is a proper prefix of a placeholder."""
        for start in range(max(pos, len(buffer) - self._longest + 1), len(buffer)):
            if buffer[start:] in self._prefixes:
                return start
        return len(buffer)
