"""proxy/jsonio.py reads and writes what the standard library does, on any input."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy import jsonio

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_json_values)
def test_round_trips_like_the_standard_library(value: object) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode()
    assert jsonio.loads(raw) == json.loads(raw)
    assert json.loads(jsonio.dumps(value)) == json.loads(raw)
    assert jsonio.dumps_str(value) == jsonio.dumps(value).decode()


_without_floats = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_without_floats)
def test_writes_the_standard_librarys_bytes(value: object) -> None:
    # Floats only differ in spelling (orjson: 5.9e-8, json: 5.9e-08), never in value.
    assert jsonio.dumps(value) == json.dumps(value, ensure_ascii=False,
                                             separators=(",", ":")).encode()


@pytest.mark.parametrize("raw", [
    b'{"seed": 123456789012345678901234567890}',   # beyond 64 bits: kept exact
    b'{"n": -9223372036854775809, "m": 18446744073709551616}',
    b'{"t": NaN, "u": Infinity, "v": -Infinity, "w": 1e400}',
    b'\xef\xbb\xbf{"a": 1}',                        # byte order mark
    '{"a": "é"}'.encode("utf-16"),
    b'{"a": "\\ud800"}',                            # lone surrogate
])
def test_what_orjson_reads_differently_gets_the_standard_librarys_result(raw: bytes) -> None:
    expected = json.loads(raw)
    got = jsonio.loads(raw)
    assert repr(got) == repr(expected)
    try:
        written = json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            jsonio.dumps(got)
        return
    assert jsonio.dumps(got) == written


def test_non_finite_numbers_are_written_as_json_writes_them_not_as_null() -> None:
    value = jsonio.loads(b'[NaN, Infinity, 1e999, 1.5]')
    assert math.isnan(value[0]) and value[1] == value[2] == math.inf
    assert jsonio.dumps(value) == b"[NaN,Infinity,Infinity,1.5]"


@pytest.mark.parametrize("raw", [b"", b"{", b'{"a": 1,}', b"\xff\xfe\xfa", b"[" * 5000])
def test_invalid_input_raises_what_json_raises(raw: bytes) -> None:
    with pytest.raises(Exception) as expected:
        json.loads(raw)
    with pytest.raises(type(expected.value)):
        jsonio.loads(raw)


@pytest.mark.parametrize("raw", [
    "12345678901234567890", "[-12345678901234567890]", '{"a":\n 12345678901234567890}',
    '{"a": [1, 12345678901234567890]}', '{"a":12345678901234567890.5}',
])
def test_a_long_integer_anywhere_a_number_can_start_is_read_exactly(raw: str) -> None:
    for form in (raw, raw.encode()):
        assert repr(jsonio.loads(form)) == repr(json.loads(raw))


def test_digits_inside_words_do_not_leave_the_fast_path() -> None:
    assert not jsonio._may_hold_long_integer(b'{"iban": "DE89370400440532013000"}')
    assert jsonio._may_hold_long_integer(b'{"text": "call 12345678901234567890"}')  # harmless
