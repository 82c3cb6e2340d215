"""``kind: identifier``: numbers with a shape and a checksum (cards, IBANs, national ids, IPs).

A loose pattern finds candidates; a validator from a well-kept library (python-stdnum's Luhn,
mod 97 and national checksums, the standard ``ipaddress`` module) keeps only real ones, so a
random run of digits (an order number, a timestamp) is not masked.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stdnum import iban, luhn, mac
from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import nip, pesel
from stdnum.us import itin, ssn

from pipeline.config import check_keys, get_str_list, join
from pipeline.errors import ConfigError
from pipeline.ner.labels import valid_name
from pipeline.spans import Span
from pipeline.stages.base import Stage

_EDGE_L = r"(?<![\w@./:-])"
_EDGE_R = r"(?![\w@/:]|[.-]\w)"


@dataclass(frozen=True)
class IdentifierType:
    """A candidate pattern, a validator of the matched text, and the default placeholder."""

    pattern: re.Pattern[str]
    is_valid: Callable[[str], bool]
    name: str
    #: A word that must stand close before the value: a 9 to 11 digit run passes these
    #: checksums one time in ten, as timestamps, invoice and account numbers do.
    context: re.Pattern[str] | None = None


_ID_WORDS = re.compile(
    r"(?:tax|steuer|idnr|identifikationsnummer|pesel|nip|bsn|burgerservicenummer|sofi|national"
    r"|\bid\b|_id\b|number|nummer|numer|ssn|personal|citizen|insurance)\W{0,20}$"
    r"|(?:tax|steuer|pesel|nip|bsn|national|citizen)", re.IGNORECASE)
CONTEXT_CHARS = 40

def _card(value: str) -> bool:
    digits = re.sub(r"[ -]", "", value)
    if not 13 <= len(digits) <= 19 or not luhn.is_valid(digits):
        return False
    # Issuer prefixes (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro): a
    # Luhn-valid number that no card network issues is more likely an account or order id.
    return bool(re.match(r"4|5[0-8]|2[2-7]|3[0457-9]|6", digits))


def _iban(value: str) -> bool:
    return iban.is_valid(value)


def _ip(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    if ":" in value and not any(c.isdigit() for c in value):
        return False  # "abc::def" parses, but is C++ or a label, not a host
    # "0.0.0.0", "::", 127.0.0.1 and ::1 name no host of anyone: nothing personal to mask.
    return not (address.is_unspecified or address.is_loopback)


_NINO = re.compile(r"(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]")


def _nino(value: str) -> bool:
    """UK National Insurance number: HMRC's prefix rules (python-stdnum has no module)."""
    return bool(_NINO.fullmatch(value.replace(" ", "").upper()))


def _mac(value: str) -> bool:
    compact = re.sub(r"[:-]", "", value).lower()
    return mac.is_valid(value) and compact not in ("000000000000", "ffffffffffff")


def _stdnum(module: Any) -> Callable[[str], bool]:
    return lambda value: bool(module.is_valid(value))


def _compile(body: str, flags: int = 0) -> re.Pattern[str]:
    """``body`` between token edges; grouped, so both edges bind every alternative of it (an
    ungrouped ``A|B`` left ``A`` unbounded on the right: a BSN inside a 10-digit number)."""
    return re.compile(_EDGE_L + "(?:" + body + ")" + _EDGE_R, flags)


_IPV4 = r"(?:\d{1,3}\.){3}\d{1,3}"


TYPES: dict[str, IdentifierType] = {
    "credit_card": IdentifierType(_compile(r"\d(?:[ -]?\d){12,18}"), _card, "CREDIT_CARD"),
    "iban": IdentifierType(_compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}", re.IGNORECASE),
                           _iban, "IBAN"),
    # IPv4 (a ":port" after it is allowed and left out), IPv6 in every form the ipaddress
    # module accepts, embedded IPv4 included (::ffff:10.0.0.1). CIDR blocks are networks.
    "ip_address": IdentifierType(
        re.compile(r"(?<![\w.:])(?:" + _IPV4 + r"(?=:\d{1,5}(?![\w.:])|(?![\w:/]|\.\d))"
                   r"|(?:[0-9A-Fa-f]{0,4}:){2,7}(?:" + _IPV4 + r"|[0-9A-Fa-f]{1,4})?"
                   r"(?![\w:/]|\.\d))"),
        _ip, "IP_ADDRESS"),
    "mac_address": IdentifierType(
        _compile(r"[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}"), _mac,
        "MAC_ADDRESS"),
    # Separated form only: a bare 9-digit run is as often an order or account number.
    "us_ssn": IdentifierType(_compile(r"\d{3}([- ])\d{2}\1\d{4}"), _stdnum(ssn), "GOV_ID"),
    "us_itin": IdentifierType(_compile(r"9\d{2}([- ])\d{2}\1\d{4}"), _stdnum(itin), "GOV_ID"),
    # Lower-case and spaced forms too: python-stdnum accepts them (12345678z, 12345678 Z).
    "es_dni": IdentifierType(_compile(r"\d{8}[- ]?[A-Z]", re.IGNORECASE), _stdnum(dni),
                             "GOV_ID"),
    "es_nie": IdentifierType(_compile(r"[XYZ]-?\d{7}[- ]?[A-Z]", re.IGNORECASE), _stdnum(nie),
                             "GOV_ID"),
    # German Steuer-IdNr (11 digits, grouped 2-3-3-3 or not), Polish PESEL and NIP, Dutch BSN,
    # UK National Insurance number: python-stdnum's checksums and format rules.
    "de_idnr": IdentifierType(_compile(r"\d{2} ?\d{3} ?\d{3} ?\d{3}"), _stdnum(idnr), "GOV_ID",
                              _ID_WORDS),
    "pl_pesel": IdentifierType(_compile(r"\d{11}"), _stdnum(pesel), "GOV_ID", _ID_WORDS),
    "pl_nip": IdentifierType(_compile(r"\d{3}-?\d{3}-?\d{2}-?\d{2}|\d{3}-\d{2}-\d{2}-\d{3}"),
                             _stdnum(nip), "GOV_ID", _ID_WORDS),
    "nl_bsn": IdentifierType(_compile(r"\d{4}\.?\d{2}\.?\d{3}|\d{9}"), _stdnum(bsn), "GOV_ID",
                             _ID_WORDS),
    "gb_nino": IdentifierType(_compile(r"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]", re.IGNORECASE),
                              _nino, "GOV_ID"),
    "it_codicefiscale": IdentifierType(
        _compile(r"[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]", re.IGNORECASE),
        _stdnum(codicefiscale), "GOV_ID"),
    "fr_nir": IdentifierType(_compile(r"[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}"),
                             _stdnum(nir), "GOV_ID"),
    "br_cpf": IdentifierType(_compile(r"\d{3}\.\d{3}\.\d{3}-\d{2}"), _stdnum(cpf), "GOV_ID"),
    "in_aadhaar": IdentifierType(_compile(r"[2-9]\d{3}([ -])\d{4}\1\d{4}"), _stdnum(aadhaar),
                                 "GOV_ID"),
    "ca_sin": IdentifierType(_compile(r"\d{3}([- ])\d{3}\1\d{3}"), _stdnum(sin), "GOV_ID"),
}


class IdentifierStage(Stage):
    """Validated identifiers; ``types`` lists them, or maps each to its placeholder name."""

    kind = "identifier"

    def __init__(self, index: int, types: dict[str, str]) -> None:
        super().__init__(index)
        self.types = [(TYPES[t], name) for t, name in types.items()]

    @classmethod
    def from_config(cls, raw: dict[str, Any], path: str, base_dir: Path, index: int) -> Stage:
        check_keys(raw, path, {"kind", "types"})
        value = raw.get("types")
        known = ", ".join(TYPES)
        if value is None:
            raise ConfigError(join(path, "types"), f"missing; list some of: {known}")
        if isinstance(value, list):
            value = {t: None for t in get_str_list(raw, "types", path)}
        if not isinstance(value, dict) or not value:
            raise ConfigError(join(path, "types"),
                              "expected a list of types or a mapping type -> placeholder name")
        types = {}
        for key, name in value.items():
            where = join(join(path, "types"), str(key))
            if key not in TYPES:
                raise ConfigError(where, f"unknown identifier type (known: {known})")
            if name is not None and not (isinstance(name, str) and valid_name(name)):
                raise ConfigError(where, "expected a placeholder name such as GOV_ID")
            types[key] = name or TYPES[key].name
        return cls(index, types)

    def detect(self, text: str) -> list[Span]:
        spans = []
        for kind, name in self.types:
            for match in kind.pattern.finditer(text):
                span = _longest_valid(kind, match.group(), match.start())
                if span is not None and kind.context is not None and not kind.context.search(
                        text[max(0, span[0] - CONTEXT_CHARS) : span[0]]):
                    continue
                if span is not None:
                    spans.append(Span(span[0], span[1], name, self.index, validated=True))
        return spans


def _longest_valid(kind: IdentifierType, value: str, offset: int) -> tuple[int, int] | None:
    """The candidate itself, or its longest valid prefix ending at a group break.

    ``DE89 3704 0044 0532 0130 00 AB12`` matches the loose IBAN pattern past its end; cutting
    at spaces finds the real IBAN inside.
    """
    if kind.is_valid(value):
        return offset, offset + len(value)
    for cut in range(len(value) - 1, 0, -1):
        if value[cut] == " " and kind.is_valid(value[:cut]):
            return offset, offset + cut
    return None
