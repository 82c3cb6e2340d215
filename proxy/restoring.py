"""Putting originals back into answers while counting what was restored (for metrics).

Same semantics as ``pipeline.deanonymize`` (longest placeholder first, one pass); only the
counting is added, per placeholder label, never per value. Text inside a JSON string literal
(tool-call arguments, Anthropic's ``partial_json``) takes ``for_json()``: an original with a
quote, a backslash or a newline must not end the literal early.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping

from pipeline import StreamingDeanonymizer
from pipeline.restore import placeholder_pattern


class Restorer:
    """One request's ``{placeholder: original}`` map, applied to any number of answer texts."""

    def __init__(self, items: Mapping[str, str], label_of: Callable[[str], str]) -> None:
        self.items = dict(items)
        self._label_of = label_of
        self.restored: Counter[str] = Counter()
        self._pattern = placeholder_pattern(self.items) if self.items else None
        self._json: Restorer | None = None

    def text(self, text: str) -> str:
        """``text`` with every known placeholder replaced by its original."""
        if self._pattern is None or not text:
            return text

        def swap(match: re.Match[str]) -> str:
            self.restored[self._label_of(match.group())] += 1
            return self.items[match.group()]

        return self._pattern.sub(swap, text)

    def count(self, anonymized: str) -> None:
        """Count the placeholders of a text restored elsewhere (by a streaming deanonymizer)."""
        if self._pattern is not None:
            for match in self._pattern.finditer(anonymized):
                self.restored[self._label_of(match.group())] += 1

    def streaming(self) -> CountingStream:
        return CountingStream(self)

    def for_json(self) -> Restorer:
        """A restorer for text inside a JSON string literal: each original is inserted
        JSON-escaped, so the JSON stays valid however the provider cut it; counts go here."""
        if self._json is None:
            escaped = {p: json.dumps(v, ensure_ascii=False)[1:-1] for p, v in self.items.items()}
            self._json = Restorer(escaped, self._label_of)
            self._json.restored = self.restored
        return self._json


class CountingStream:
    """A ``StreamingDeanonymizer`` that reports its placeholders to the restorer at the end."""

    def __init__(self, restorer: Restorer) -> None:
        self._restorer = restorer
        self._inner = StreamingDeanonymizer(restorer.items)
        self._seen: list[str] = []

    def feed(self, chunk: str) -> str:
        if self._restorer.items:
            self._seen.append(chunk)
        return self._inner.feed(chunk)

    def finish(self) -> str:
        self._restorer.count("".join(self._seen))
        self._seen = []
        return self._inner.finish()
