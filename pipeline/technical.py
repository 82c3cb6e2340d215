"""Technical text left intact: numbers, ids, versions, hashes, regions, code and product names.

Agents send code, JSON, logs and configs, where a model trained on prose takes ``5432`` for a
house number, ``us-east-1`` for a place and ``PgBouncer`` for a person. None of that is
personal data, and masking it breaks the text (``{"id": GOV_ID0}`` is no longer JSON). These
rules drop such unvalidated spans; a span a checksum or a secret format confirmed is never
dropped. Turned on by the top-level ``technical:`` section of a config:

    technical:
      words_file: ./technical/words.txt   # product, protocol and tool names (tools/...)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import check_keys, join, read_lines
from pipeline.errors import ConfigError
from pipeline.spans import Span

# Labels whose spans are a shape a detector matched, never a model's guess about a word.
_PATTERN_LABELS = frozenset({"EMAIL", "SECRET", "IP_ADDRESS", "CREDIT_CARD", "IBAN"})
_LETTER = re.compile(r"[^\W\d_]")
_TOKEN = re.compile("|".join((
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",  # UUID
    r"(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}",                # hash, digest, commit
    r"v?\d+(?:\.\d+)+(?:[-+.][\w.]+)?",                               # version
    r"(?:[a-z]{2,3}-)?(?:north|south|east|west|central|gov)(?:north|south|east|west)?-\d[a-z]?"
    r"|[a-z]{2}-[a-z]+-\d[a-z]?",                                     # cloud region, zone
    r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+",                        # snake_case, CONSTANT_CASE
    r"[a-z]+(?:[A-Z][a-z0-9]*)+",                                     # camelCase: keyId, authToken
    r"[A-Za-z0-9+/]{24,}={0,2}",                                      # base64 (public keys)
    r"(?=[A-Za-z]*\d)(?=\w*[a-z])(?=\w*[A-Z])[A-Za-z0-9]{10,}",      # generated ids
    r"(?i:port|http|line|pid|status|error|code|exit)\W*\d+(?:\W+\d+)*",  # port 33447
    r"(?=[A-Z]*\d)(?=\d*[A-Z])[A-Z0-9]{6,}",                          # 054A044E, codes
    r"\d+(?:\.\d+)?(?:[KMGTP]i?B?|ms|s|%)(?:\s+\d+(?:\.\d+)?(?:[KMGTP]i?B?|ms|s|%))*",  # 61G
    r"https?|true|false|null|none|nil|True|False|None",
)))
# A postcode is a bare number that address context marks as one ("NE 68034", zip: ...).
_POSTCODE_BEFORE = re.compile(
    r"(?:zip|postcode|postal|post_code|post code|plz|cap|pin)\w*['\"]?\s*[:=,|]?\s*['\"]?$"
    r"|(?:zip|post) ?code\b[\w ]{0,8}$"
    r"|\s-\s$", re.IGNORECASE)
_STATE_BEFORE = re.compile(r"\b[A-Z]{2,3}['\"]?,?\s*['\"]?$")
_PLACE_BEFORE = re.compile(r"[A-Z][^\W\d_]+(?:,\s?|\s)$")
# A house number opening a line of an address block, quoted or not (">772 ul. Narewska 94"),
# not the first column of a CSV or SQL row ("1656,Jerry", "(2783, 'Elizabeth'").
_LINE_START = re.compile(r"(?:^|\n)[^\w\n(,]{0,4}$")
_STREET_AFTER = re.compile(r" [^\W\d_]")
_NOT_POSTCODE_BEFORE = re.compile(
    r"\b(?:port|status|code|error|line|pid|id|version|http|timeout|seats|count|total|page"
    r"|limit|order|invoice|build|step|retry|attempt|exit|uid|gid)\W{0,3}$", re.IGNORECASE)
# An unvalidated GOV_ID needs a word that announces an id close before it.
_ID_CONTEXT = re.compile(
    r"passport|licen[cs]e|\bdl\b|identity|\bid\b|national|ssn|social security|\btax|\btin\b"
    r"|nino|insurance|document|ausweis|dni|nie|steuer|bsn|pesel|nip|cpf|aadhaar|\bsin\b",
    re.IGNORECASE)
# Hosts and paths of services, APIs, docs and repositories: only a person's URL is personal.
_SERVICE_URL = re.compile(
    r"[a-z][a-z0-9+.-]*://(?:[^/\s]*@)?(?:(?:api|hooks|app|auth|dashboard|docs|status|registry"
    r"|npm|pypi|login|console|portal|admin|cdn|static|sentry|grafana|jira|ci|git)[.-]"
    r"|localhost|\d+\.\d+\.\d+\.\d+|\[|[^/\s]*\.(?:internal|local|svc|lan)(?:[:/]|$)"
    r"|(?:www\.)?(?:github|gitlab|bitbucket)\.(?:com|org)/[^/\s]+/[^/\s]+"
    r"|[^/\s]+/(?:.*/)?(?:v\d+|api|repos|docs?|problems|logs|settings|simple|graphql)(?:[/?#]|$))",
    re.IGNORECASE)
# "12521 Belgrád", "75001 Paris": a place name after the number (a log level is no place).
_POSTCODE_AFTER = re.compile(r" [A-Z](?=[^\W\d_]*[^\W\d_A-Z])[^\W\d_]{2,}\b(?![_:(])")
_NOT_PHONE_BEFORE = re.compile(r"(?:invoice|order|ticket|ref|reference|receipt|tracking|number)"
                               r"\b\W{0,12}$", re.IGNORECASE)
# "Phone number: (415) 555-0123", phone_number=, mobileNumber: a number named as a phone.
_PHONE_NAMED_BEFORE = re.compile(r"(?:phone|mobile|cell|tel|telephone|fax|contact|whatsapp|sms)"
                                 r"[ _-]?(?:number|no|nr|num)\b\W{0,12}$", re.IGNORECASE)
_NUMBERISH = re.compile(r"[\d\W_]+")
_CAPS = re.compile(r"[A-Z]{3,}")
_AMOUNT = re.compile(r"\d\.\d{1,2}(?!\d)")
# Shapes that are a place as often as a code (the B1242 road, CalgaryNEXT): not for places.
_CODE_SHAPE = re.compile(r"[A-Za-z]+[_\-]?\d+[A-Za-z]*|[A-Z]{2,}[a-z]+[A-Z]\w*"
                         r"|[A-Z][a-z]+[A-Z]{2,}\w*|[A-Z]{3,}")


@dataclass(frozen=True)
class TechnicalText:
    """Decides which unvalidated spans are technical text, to be left as written."""

    words: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, raw: Any, base_dir: Path) -> TechnicalText | None:
        """``technical: {words_file: ...}`` -> rules on, or ``None`` when the key is absent."""
        if raw is None:
            return None
        if raw is True:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError("technical", "expected a mapping (words_file) or true")
        check_keys(raw, "technical", {"words_file"})
        words = {line.strip() for _, line in read_lines(raw, "words_file", "technical", base_dir)}
        if "" in words:
            raise ConfigError(join("technical", "words_file"), "empty entry")
        return cls(frozenset(words) | frozenset(w.lower() for w in words))

    def keep(self, text: str, span: Span) -> bool:
        """False when ``span`` covers technical text only (and no validator confirmed it)."""
        if span.validated:
            return True
        value = text[span.start : span.end]
        if span.label not in _PATTERN_LABELS and span.label != "URL" and _fragment(
                text, span.start, span.end):
            return False
        if not _LETTER.search(value):
            if span.label == "PHONE":
                before = text[max(0, span.start - 24) : span.start]
                if (_NOT_PHONE_BEFORE.search(before) and not _PHONE_NAMED_BEFORE.search(before)
                        or "\n" in value or _AMOUNT.search(value)):
                    return False
                return _phone_like(value) or _prose_line(text, span.start)
            if span.label != "ADDRESS" or re.search(r"\d[.,]\d", value):
                return False  # a bare number, an amount or a version: no street or postcode
            if _NOT_POSTCODE_BEFORE.search(text[max(0, span.start - 24) : span.start]):
                return False  # "app id 119146", "order 5521": a number named as something else
            return _postcode(text, span.start, span.end, value) or _prose_line(text, span.start)
        if span.label == "URL":
            if "://" not in value:  # a model's URL without a scheme: a path to a person's page
                return ("/" in value and not _TOKEN.fullmatch(value)
                        and not _SERVICE_URL.match("https://" + value))
            return not _SERVICE_URL.match(value)
        if span.label == "EMAIL" and "@" not in value and "%40" not in value:
            return False  # a model's piece of a host name, not an address
        if span.label in _PATTERN_LABELS:
            return True
        if span.label == "USERNAME":  # @scope/package, @decorator
            line_start = text.rfind("\n", 0, span.start) + 1
            line_end = text.find("\n", span.end)
            rest = text[span.end : len(text) if line_end == -1 else line_end].strip()
            return not (text[span.end : span.end + 1] in "/.(" and span.end < len(text)
                        or (not text[line_start : span.start].strip() and not rest))
        if (span.label == "ADDRESS" and value.isalpha() and value.islower()
                and not _prose_line(text, span.start)):
            return False  # a column or key name ("city"), not a street
        if span.label == "GOV_ID" and not _ID_CONTEXT.search(
                text[max(0, span.start - 40) : span.start]):
            return False
        if value in self.words or value.lower() in self.words:
            return False
        if _TOKEN.fullmatch(value):
            return False
        if _CODE_SHAPE.fullmatch(value) and span.label not in ("LOCATION", "ADDRESS"):
            return False  # FATAL, SHA384, S3, JSONPath; an upper-case city stays masked
        # Code: a name called or dereferenced (Fatalf(, @pytest.fixture, self.client).
        after = text[span.end : span.end + 2]
        return not (after[:1] == "(" or (after[:1] == "." and after[1:2].isalnum())
                    or (span.start > 0 and text[span.start - 1] in "._$"))


_CODE_CHARS = re.compile(r"[{}\[\]=;<>|\\_/]|\w,\w|\w:\S|^\s*[\w.-]+:\s|\$ |[\"'`]\s*:"
                         r"|['\"],[ \t]*['\"]"  # quoted values in a row: ('Ortiz', 'NE')
                         r"|:[ \t]*\d+(?:\.\d+)?[ \t]*,?[ \t]*$"
                         r"|(?i:http|status|error|port|failed|code)\b")


def _prose_line(text: str, pos: int) -> bool:
    """The line around ``pos`` reads as prose or a postal address, not code, a log or CSV."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start : len(text) if end == -1 else end]
    return not _CODE_CHARS.search(line)


def _phone_like(value: str) -> bool:
    """A model's digits-only PHONE: one line, 7 to 15 digits, no amount (``2094.42``)."""
    digits = sum(c.isdigit() for c in value)
    return 7 <= digits <= 15 and "  " not in value


def _fragment(text: str, start: int, end: int) -> bool:
    """The span is a piece of a longer token (part of a UUID, a hash, an identifier)."""
    has_digit = any(c.isdigit() for c in text[start:end])

    def glued(i: int, step: int) -> bool:
        if not 0 <= i < len(text):
            return False
        c = text[i]
        if c.isalnum():
            return True
        j = i + step
        if c not in "-_." or not (0 <= j < len(text) and text[j].isalnum()):
            return False
        # "ex-Zombie Seppinen" is prose; "f379-45e3", "v2.14", "from_Earth" are tokens.
        return c == "_" or has_digit or text[j].isdigit()
    return glued(start - 1, -1) or glued(end, 1)


def _postcode(text: str, start: int, end: int, value: str) -> bool:
    """A bare number that is a postcode: 4 to 6 digits (one group break) in address context."""
    digits = sum(c.isdigit() for c in value)
    if not (3 <= digits <= 8 and _NUMBERISH.fullmatch(value)) or "." in value:
        return False
    before = text[max(0, start - 24) : start]
    return bool(_POSTCODE_BEFORE.search(before) or _PLACE_BEFORE.search(before)
                or _STATE_BEFORE.search(before)
                or (_LINE_START.search(before) and _STREET_AFTER.match(text, end))
                or _POSTCODE_AFTER.match(text, end))
