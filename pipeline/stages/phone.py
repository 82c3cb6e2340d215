"""``kind: phone``: phone numbers in international and national formats (``phonenumbers``).

Google's libphonenumber knows each country's numbering plan, so ``+44 20 7946 0958`` and a
US ``(415) 555-0134`` are found while dates, amounts and order numbers are not.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from pipeline.config import check_keys, get_str, get_str_list, join
from pipeline.errors import ConfigError
from pipeline.spans import Span
from pipeline.stages.base import Stage

LENIENCY = {
    "possible": Leniency.POSSIBLE,
    "valid": Leniency.VALID,
    "strict": Leniency.STRICT_GROUPING,
    "exact": Leniency.EXACT_GROUPING,
}
# No phone number has fewer digits than this; texts with fewer skip the (pure Python) matcher.
MIN_DIGITS = 7
_DIGIT = re.compile(r"\d")
# A bare run of digits (no +, spaces, dashes or brackets) is as often an order or account
# number; it counts as a phone number only after one of these words.
_BARE = re.compile(r"\d+")
# Runs of digits with the separators phone numbers use (one line, at most 30 characters).
_CANDIDATE = re.compile(r"(?<![\w.+])[+(]?\d[\d \t().\-/]{4,28}\d"
                        r"(?:[ \t]*(?:x|ext\.?|#)[ \t]*\d{1,6})?(?![\w])", re.IGNORECASE)
_CONTEXT = re.compile(r"(?:phone|call|tel|mobile|cell|fax|contact|text|reach|whatsapp|sms|dial|"
                      r"number|no\.?|#)\W{0,3}$", re.IGNORECASE)
CONTEXT_CHARS = 24
# National numbers with fewer than two group breaks that begin with neither a trunk 0 nor a
# bracket ("2025-208546", an invoice number) also need the context; amounts never count.
_LOOSE_NATIONAL = re.compile(r"[1-9]\d*(?:[ .\-/]\d+)?")
_AMOUNT = re.compile(r"\d\.\d{1,2}(?!\d)|\.\s|(?:19|20)\d\d([-/.])\d{1,2}\1\d{1,2}"
                     r"|\d{1,2}([-/.])\d{1,2}\2(?:19|20)\d\d")  # amounts, dates


class PhoneStage(Stage):
    """Finds numbers valid in one of ``regions`` (national format) or anywhere (``+`` form)."""

    kind = "phone"

    def __init__(self, index: int, name: str, regions: list[str], leniency: Any) -> None:
        super().__init__(index)
        self.name = name
        self.regions = regions
        self.leniency = leniency

    @classmethod
    def from_config(cls, raw: dict[str, Any], path: str, base_dir: Path, index: int) -> Stage:
        check_keys(raw, path, {"kind", "name", "regions", "leniency"})
        name = get_str(raw, "name", path, "PHONE")
        regions = get_str_list(raw, "regions", path) or ["US"]
        supported = phonenumbers.SUPPORTED_REGIONS
        for i, region in enumerate(regions):
            if region.upper() not in supported:
                raise ConfigError(f"{join(path, 'regions')}[{i}]",
                                  f"unknown region {region!r} (use ISO codes such as US, GB, DE)")
        leniency = get_str(raw, "leniency", path, "valid")
        if leniency not in LENIENCY:
            raise ConfigError(join(path, "leniency"),
                              f"expected one of: {', '.join(LENIENCY)}")
        return cls(index, name, [r.upper() for r in regions], LENIENCY[leniency])

    def detect(self, text: str) -> list[Span]:
        if len(_DIGIT.findall(text)) < MIN_DIGITS:
            return []
        found: dict[tuple[int, int], Span] = {}
        # The (pure Python) matcher runs on each run of digits and separators, not on the whole
        # text once per region: with the EU's regions that is what keeps this stage cheap.
        for candidate in _CANDIDATE.finditer(text):
            piece = candidate.group()
            if len(_DIGIT.findall(piece)) < MIN_DIGITS:
                continue
            if _AMOUNT.search(piece) or ((_BARE.fullmatch(piece) or _LOOSE_NATIONAL.fullmatch(
                    piece)) and not self._plausible(text, candidate.start(), piece)):
                continue  # nothing in it could pass: skip the matcher's work for every region
            # An international number reads the same in every region: one pass is enough.
            regions = self.regions[:1] if piece.startswith("+") else self.regions
            for region in regions:
                whole = False
                for match in PhoneNumberMatcher(piece, region, leniency=self.leniency):
                    start, end = candidate.start() + match.start, candidate.start() + match.end
                    if self._plausible(text, start, match.raw_string):
                        found.setdefault((start, end), Span(start, end, self.name, self.index))
                        whole = whole or match.end - match.start == len(piece)
                if whole:
                    break
        return list(found.values())

    @staticmethod
    def _plausible(text: str, start: int, raw: str) -> bool:
        """Not an amount or a date; a bare or loosely grouped national number needs context."""
        if _AMOUNT.search(raw):
            return False
        if _BARE.fullmatch(raw) or _LOOSE_NATIONAL.fullmatch(raw):
            return bool(_CONTEXT.search(text[max(0, start - CONTEXT_CHARS) : start].rstrip()))
        return True
