"""What a worker does to a chunk of texts: anonymize them with the run's scheme, or restore them.

Every text is checked to round-trip (restoring the output with its own pseudonyms gives the
input back); one that would not, because it already contains a string that reads as one of its
pseudonyms, is refused as a whole rather than returned lossy.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from batch.pseudonyms import PseudonymCollision, Scheme
from pipeline import Pipeline, deanonymize

AMBIGUOUS = "the text already contains a string that reads as one of its pseudonyms"

# Every pseudonym holds a digit and no space: only such runs of the input could be read as one
# by a later --deanonymize (a text that contained "PERSON3" before any value got PERSON3).
LOOKALIKE = re.compile(r"\S*\d\S*")


@dataclass
class Transformed:
    """Per text: the new text, or ``None`` and a reason in ``errors`` (never the value)."""

    texts: list[str | None]
    errors: dict[int, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    #: Runs of the original texts that could read as a pseudonym (see ``LOOKALIKE``).
    lookalikes: set[str] = field(default_factory=set)


class Anonymizer:
    def __init__(self, pipeline: Pipeline, scheme: Scheme) -> None:
        self.pipeline = pipeline
        self.scheme = scheme

    def __call__(self, texts: Sequence[str]) -> Transformed:
        all_spans = self.pipeline.analyze_many(list(texts))
        first_label: dict[str, str] = {}
        for text, spans in zip(texts, all_spans, strict=True):
            for span in spans:
                first_label.setdefault(text[span.start : span.end], span.label)
        values = list(first_label)
        names = self.scheme.names([(first_label[v], v) for v in values])
        by_value = dict(zip(values, names, strict=True))
        out = Transformed([])
        for i, (text, spans) in enumerate(zip(texts, all_spans, strict=True)):
            pieces, pos, used = [], 0, {}
            for span in spans:
                value = text[span.start : span.end]
                pieces += [text[pos : span.start], by_value[value]]
                used[by_value[value]] = value
                pos = span.end
            pieces.append(text[pos:])
            new = "".join(pieces)
            if used and deanonymize(new, used) != text:
                out.texts.append(None)
                out.errors[i] = AMBIGUOUS
                continue
            out.texts.append(new)
            out.lookalikes.update(LOOKALIKE.findall(text))
            for name, value in used.items():
                if out.items.setdefault(name, value) != value:
                    raise PseudonymCollision(name.rsplit("_", 1)[0])
            out.counts.update(span.label for span in spans)
        return out


class Restorer:
    """``--deanonymize``: puts the originals of a mapping back."""

    def __init__(self, items: Mapping[str, str]) -> None:
        self.items = dict(items)

    def __call__(self, texts: Sequence[str]) -> Transformed:
        return Transformed([deanonymize(t, self.items) for t in texts])


def merge_items(into: dict[str, str], new: Mapping[str, str]) -> None:
    """Add a chunk's pseudonyms to the run's mapping; one pseudonym, one value."""
    for name, value in new.items():
        if into.setdefault(name, value) != value:
            raise PseudonymCollision(name.rsplit("_", 1)[0])
