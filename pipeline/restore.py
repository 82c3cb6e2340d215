"""Putting originals back: whole texts, and streams that arrive in arbitrary chunks."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping

# Sets of up to this many placeholders are compiled once: the same ones (NAME0, EMAIL0, ...)
# come back request after request, and compiling costs more than the replacement itself.
_CACHED_KEYS = 64


def placeholder_pattern(placeholders: Iterable[str]) -> re.Pattern[str]:
    """One alternation of the placeholders, longest first: at any position the longest
    placeholder wins, so ``X10`` is never ``X1`` + ``0``.

    A large set of ``NAME`` + digits placeholders (a long conversation's mapping) gets a
    matcher with the same matches that compiles in microseconds (``StemDigitsMatcher``).
    """
    keys = frozenset(placeholders)
    if len(keys) <= _CACHED_KEYS:
        return _cached_pattern(keys)
    if all(key[-1:].isdigit() and key.rstrip(_DIGITS) for key in keys):
        return StemDigitsMatcher(keys)  # type: ignore[return-value]
    return _compile(keys)


_DIGITS = "0123456789"


class _Match:
    __slots__ = ("_end", "_start", "_text")

    def __init__(self, text: str, start: int, end: int) -> None:
        self._text, self._start, self._end = text, start, end

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def span(self) -> tuple[int, int]:
        return self._start, self._end

    def group(self) -> str:
        return self._text[self._start : self._end]


class StemDigitsMatcher:
    """``re.Pattern``'s ``search``/``finditer``/``findall``/``sub`` for keys ``stem + digits``,
    with the alternation's semantics: the leftmost position where some key starts, and there
    the longest key. A small cached regex finds where a stem is followed by a digit; the keys
    that could start there (the stem plus each prefix of the digit run) are looked up."""

    def __init__(self, keys: frozenset[str]) -> None:
        self._keys = keys
        stems = frozenset(key.rstrip(_DIGITS) for key in keys)
        self._stems = sorted(stems, key=len, reverse=True)
        self._finder = _stem_finder(stems)

    def search(self, text: str, pos: int = 0) -> _Match | None:
        keys, size = self._keys, len(text)
        while True:
            found = self._finder.search(text, pos)
            if found is None:
                return None
            start = found.start()
            best = 0
            for stem in self._stems:
                if not text.startswith(stem, start):
                    continue
                end = digits_end = start + len(stem)
                while digits_end < size and text[digits_end] in _DIGITS:
                    digits_end += 1
                for stop in range(digits_end, end, -1):
                    if stop - start > best and text[start:stop] in keys:
                        best = stop - start
                        break
            if best:
                return _Match(text, start, start + best)
            pos = start + 1

    def finditer(self, text: str, pos: int = 0) -> Iterator[_Match]:
        while (match := self.search(text, pos)) is not None:
            yield match
            pos = match.end()

    def findall(self, text: str) -> list[str]:
        return [match.group() for match in self.finditer(text)]

    def sub(self, replace: Callable[[_Match], str], text: str) -> str:
        pieces, pos = [], 0
        for match in self.finditer(text):
            pieces.append(text[pos : match.start()])
            pieces.append(replace(match))
            pos = match.end()
        if not pieces:
            return text
        pieces.append(text[pos:])
        return "".join(pieces)


@functools.lru_cache(maxsize=256)
def _stem_finder(stems: frozenset[str]) -> re.Pattern[str]:
    ordered = sorted(stems, key=lambda k: (-len(k), k))
    return re.compile("(?:" + "|".join(map(re.escape, ordered)) + r")(?=\d)")


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
