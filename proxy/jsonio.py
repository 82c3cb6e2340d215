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


# How deep a request may nest: what orjson writes (it refuses 255 levels), so every request
# that passes is re-serialized by orjson and every recursive walk stays far from Python's
# recursion limit. Real chat bodies nest about ten levels.
MAX_REQUEST_DEPTH = 254


class InvalidRequestJSON(ValueError):
    """A request body that is not plain JSON: the client's error (400), never a 5xx."""


def loads_request(raw: bytes) -> Any:
    """A client's JSON, strictly: ``NaN``/``Infinity``, numbers beyond a float, lone
    surrogates, invalid UTF-8 and nesting deeper than ``MAX_REQUEST_DEPTH`` raise
    ``InvalidRequestJSON`` (``loads`` reads them, as answers may need)."""
    if not _may_hold_long_integer(raw):
        try:
            value = orjson.loads(raw)
            orjson.dumps(value)  # raises only for nesting beyond MAX_REQUEST_DEPTH
        except (orjson.JSONDecodeError, TypeError):
            raise InvalidRequestJSON from None
        return value
    try:  # integers beyond 64 bits: the standard library, with orjson's refusals
        value = json.loads(raw, parse_constant=_refuse, parse_float=_finite)
        json.dumps(value, ensure_ascii=False).encode()  # lone surrogates
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeError included
        raise InvalidRequestJSON from None
    if _depth(value) > MAX_REQUEST_DEPTH:
        raise InvalidRequestJSON
    return value


def _refuse(text: str) -> float:
    raise ValueError("non-finite number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("non-finite number")
    return value


def _depth(value: Any) -> int:
    """Nesting depth of a parsed document, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest
