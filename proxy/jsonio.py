"""JSON of requests, answers and stored maps: orjson where it reads and writes what the standard
library does, the standard library where it would not.

orjson parses a chat request 4x and serializes it 20x faster than ``json``, which mattered
(7% of a rules request's CPU). It differs from ``json`` on input that is not plain JSON, so
that input takes ``json``'s path and gets exactly its result:

- integers beyond 64 bits (orjson would read a float): a run of 19 digits that could be a
  number sends the document to ``json``;
- ``NaN``, ``Infinity`` and numbers too large for a float, non-UTF-8 bytes, byte order marks,
  lone surrogates, nesting deeper than 1024: orjson refuses them, ``json`` reads them;
- such non-finite floats are read as ``_Unusual`` floats, which orjson does not write, so
  ``dumps`` writes them as ``json`` does (``NaN``) rather than as orjson's ``null``.

Output is compact (``{"a":1}``); otherwise the bytes ``json.dumps(ensure_ascii=False)`` gives,
except that a float's exponent may be spelled shorter (``5.9e-8``, ``json``: ``5.9e-08``).
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

# A JSON number starts after one of ``[,:`` or whitespace (``-`` is its sign). Mapping those
# bytes to " " and digits to "0" finds a 19-digit run that could be a number with one C-speed
# ``in`` (a regex costs 6x more); digits inside words (an IBAN) do not count.
_NUMBER_CLASSES = bytes(
    0x30 if 0x30 <= i <= 0x39 else 0x20 if i in b"[,:-\t\n\r " else 0x61 for i in range(256))
_LONG_NUMBER = b" " + b"0" * 19


class _Unusual(float):
    """A float ``json`` reads and orjson would write differently (NaN, +-Infinity)."""


def _constant(text: str) -> float:
    return _Unusual(text)


def _float(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else _Unusual(value)


def loads(raw: bytes | str) -> Any:
    """``json.loads(raw)``, the same value and the same exceptions."""
    if not _may_hold_long_integer(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw, parse_constant=_constant, parse_float=_float)


def _may_hold_long_integer(raw: bytes | str) -> bool:
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    classes = data.translate(_NUMBER_CLASSES)
    return _LONG_NUMBER in classes or classes.startswith(_LONG_NUMBER[1:])


def dumps(value: Any) -> bytes:
    """UTF-8 JSON of ``value``, compact, with the values ``json.dumps(value, ensure_ascii=False)``
    writes (and raising what it raises), for values read by ``loads`` (a non-finite float
    made elsewhere would come out as orjson's ``null``)."""
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits, _Unusual floats, surrogates, other types
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def dumps_str(value: Any) -> str:
    """``dumps`` as text (SSE events are built as text)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
