"""Kubernetes quantity parsing, canonical formatting, normalisation and comparison.

The tables marked ``upstream`` are transcribed from Kubernetes v1.36.3,
``k8s.io/apimachinery@v0.36.3/pkg/api/resource/quantity_test.go``; each row id names the upstream
test and its input. Upstream writes expected values as ``decQuantity(mantissa, exponent, format)``;
here they are ``(mantissa, exponent, format)`` too. The properties at the end hold the parser and
the formatter to the upstream rules on generated input, against a small independent oracle.
"""

from __future__ import annotations

import re
import time
from decimal import ROUND_UP, Decimal, localcontext
from typing import Annotated, Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from computenet.api.fields import QuantitySpec
from computenet.quantity import (
    NON_NEGATIVE_QUANTITY_PATTERN,
    POSITIVE_QUANTITY_PATTERN,
    QUANTITY_PATTERN,
    QuantityError,
    QuantityFormat,
    QuantityOutOfRange,
    canonical_quantity,
    cpu_millis,
    format_amount,
    format_bytes,
    format_canonical,
    format_cpu,
    format_quantity,
    is_quantity,
    parse_quantity,
    parse_quantity_and_format,
    to_int_units,
)

NO_DEADLINE = settings(deadline=None)
"""Examples are cheap; on a loaded shared machine a slow one must not fail a test."""
GI = 2**30
DSI = QuantityFormat.DECIMAL_SI
BSI = QuantityFormat.BINARY_SI
DEX = QuantityFormat.DECIMAL_EXPONENT
MAX_INT64 = 2**63 - 1


def dec(mantissa: int, exponent: int) -> Decimal:
    """Upstream's ``dec(i, exponent)``: mantissa x 10^exponent."""
    return Decimal(mantissa).scaleb(exponent)


# ---- upstream: TestQuantityParse --------------------------------------------------------------

UPSTREAM_PARSE: list[tuple[str, Decimal, QuantityFormat]] = [
    ("0", dec(0, 0), DSI),
    ("0n", dec(0, 0), DSI),
    ("0u", dec(0, 0), DSI),
    ("0m", dec(0, 0), DSI),
    ("0Ki", dec(0, 0), BSI),
    ("0k", dec(0, 0), DSI),
    ("0Mi", dec(0, 0), BSI),
    ("0M", dec(0, 0), DSI),
    ("0Gi", dec(0, 0), BSI),
    ("0G", dec(0, 0), DSI),
    ("0Ti", dec(0, 0), BSI),
    ("0T", dec(0, 0), DSI),
    # Quantity less numbers are allowed
    ("1", dec(1, 0), DSI),
    # Binary suffixes
    ("1Ki", dec(1024, 0), BSI),
    ("8Ki", dec(8 * 1024, 0), BSI),
    ("7Mi", dec(7 * 1024**2, 0), BSI),
    ("6Gi", dec(6 * 1024**3, 0), BSI),
    ("5Ti", dec(5 * 1024**4, 0), BSI),
    ("4Pi", dec(4 * 1024**5, 0), BSI),
    ("3Ei", dec(3 * 1024**6, 0), BSI),
    ("10Ti", dec(10 * 1024**4, 0), BSI),
    ("100Ti", dec(100 * 1024**4, 0), BSI),
    # Decimal suffixes
    ("5n", dec(5, -9), DSI),
    ("4u", dec(4, -6), DSI),
    ("3m", dec(3, -3), DSI),
    ("9", dec(9, 0), DSI),
    ("8k", dec(8, 3), DSI),
    ("50k", dec(5, 4), DSI),
    ("7M", dec(7, 6), DSI),
    ("6G", dec(6, 9), DSI),
    ("5T", dec(5, 12), DSI),
    ("40T", dec(4, 13), DSI),
    ("300T", dec(3, 14), DSI),
    ("2P", dec(2, 15), DSI),
    ("1E", dec(1, 18), DSI),
    # Decimal exponents
    ("1E-3", dec(1, -3), DEX),
    ("1e3", dec(1, 3), DEX),
    ("1E6", dec(1, 6), DEX),
    ("1e9", dec(1, 9), DEX),
    ("1E12", dec(1, 12), DEX),
    ("1e15", dec(1, 15), DEX),
    ("1E18", dec(1, 18), DEX),
    # Nonstandard but still parsable
    ("1e14", dec(1, 14), DEX),
    ("1e13", dec(1, 13), DEX),
    ("100.035k", dec(100035, 0), DSI),
    # Things that look like floating point
    ("0.001", dec(1, -3), DSI),
    ("0.0005k", dec(5, -1), DSI),
    ("0.005", dec(5, -3), DSI),
    ("0.05", dec(5, -2), DSI),
    ("0.5", dec(5, -1), DSI),
    ("0.00050k", dec(5, -1), DSI),
    ("0.00500", dec(5, -3), DSI),
    ("0.05000", dec(5, -2), DSI),
    ("0.50000", dec(5, -1), DSI),
    ("0.5e0", dec(5, -1), DEX),
    ("0.5e-1", dec(5, -2), DEX),
    ("0.5e-2", dec(5, -3), DEX),
    ("10.035M", dec(10035, 3), DSI),
    ("1.2e3", dec(12, 2), DEX),
    ("1.3E+6", dec(13, 5), DEX),
    ("1.40e9", dec(14, 8), DEX),
    ("1.53E12", dec(153, 10), DEX),
    ("1.6e15", dec(16, 14), DEX),
    ("1.7E18", dec(17, 17), DEX),
    ("9.01", dec(901, -2), DSI),
    ("8.1k", dec(81, 2), DSI),
    ("7.123456M", dec(7123456, 0), DSI),
    ("6.987654321G", dec(6987654321, 0), DSI),
    ("5.444T", dec(5444, 9), DSI),
    ("40.1T", dec(401, 11), DSI),
    ("300.2T", dec(3002, 11), DSI),
    ("2.5P", dec(25, 14), DSI),
    ("1.01E", dec(101, 16), DSI),
    # Things that saturate/round
    ("3.001n", dec(4, -9), DSI),
    ("1.1E-9", dec(2, -9), DEX),
    ("0.0000000001", dec(1, -9), DSI),
    ("0.0000000005", dec(1, -9), DSI),
    ("0.00000000050", dec(1, -9), DSI),
    ("0.5e-9", dec(1, -9), DEX),
    ("0.9n", dec(1, -9), DSI),
    ("0.00000012345", dec(124, -9), DSI),
    ("0.00000012354", dec(124, -9), DSI),
    ("9Ei", dec(MAX_INT64, 0), BSI),
    ("9223372036854775807Ki", dec(MAX_INT64, 0), BSI),
    ("12E", dec(12, 18), DSI),
    # We'll accept fractional binary stuff, too.
    ("100.035Ki", dec(10243584, -2), BSI),
    ("0.5Mi", dec(512 * 1024, 0), BSI),
    ("0.05Gi", dec(536870912, -1), BSI),
    ("0.025Ti", dec(274877906944, -1), BSI),
    # Things written by trolls
    ("0.000000000001Ki", dec(2, -9), DSI),  # rounds up, changes format
    (".001", dec(1, -3), DSI),
    (".0001k", dec(100, -3), DSI),
    ("1.", dec(1, 0), DSI),
    ("1.G", dec(1, 9), DSI),
]


@pytest.mark.parametrize(
    ("text", "value", "form"),
    [pytest.param(text, value, form, id=f"upstream TestQuantityParse {text}") for text, value, form in UPSTREAM_PARSE],
)
@pytest.mark.parametrize(
    "sign", [pytest.param("", id="as written"), pytest.param("+", id="plus"), pytest.param("-", id="minus")]
)
def test_parse_matches_upstream(text: str, value: Decimal, form: QuantityFormat, sign: str) -> None:
    """Value and format as upstream, and (as upstream checks) the same with an explicit + or -."""
    parsed = parse_quantity_and_format(sign + text)
    assert parsed.value == (-value if sign == "-" else value)
    assert parsed.format is form
    assert is_quantity(sign + text)


UPSTREAM_INVALID = ["1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-", " 1", "1 "]


@pytest.mark.parametrize(
    "text", [pytest.param(text, id=f"upstream TestQuantityParse invalid {text!r}") for text in UPSTREAM_INVALID]
)
def test_parse_refuses_what_upstream_refuses(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)
    assert not is_quantity(text)


def test_parse_refuses_the_empty_string_as_upstream() -> None:
    """upstream TestQuantityParse: ``ParseQuantity("")`` is an error."""
    with pytest.raises(QuantityError):
        parse_quantity("")


@pytest.mark.parametrize(
    "text",
    [
        # upstream TestParseQuantityString reads "." and "-." (and so "Gi", "e3", "+") as zero
        pytest.param(".", id="upstream TestParseQuantityString '.' is zero there, refused here"),
        pytest.param("-.", id="upstream TestParseQuantityString '-.' is zero there, refused here"),
        pytest.param("Gi", id="suffix without number"),
        pytest.param("e3", id="exponent without mantissa"),
        pytest.param("+", id="sign alone"),
        pytest.param("m", id="milli alone"),
    ],
)
def test_stricter_than_upstream_a_number_needs_a_digit(text: str) -> None:
    with pytest.raises(QuantityError, match="not a quantity"):
        parse_quantity(text)
    assert not is_quantity(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1e31", id="exponent above 30"),
        pytest.param("1e-31", id="exponent below -30"),
        pytest.param("1e4294967296", id="exponent that upstream wraps to int32 (reads as 1 there)"),
        pytest.param("1e24", id="10^24 base units"),
        pytest.param("-1e24", id="minus 10^24 base units"),
        pytest.param("1000000Ei", id="binary beyond 10^24 (upstream caps it at 2^63-1)"),
    ],
)
def test_stricter_than_upstream_out_of_range(text: str) -> None:
    with pytest.raises(QuantityOutOfRange):
        parse_quantity(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("1.5.5", id="two dots"),
        pytest.param("1KB", id="bytes suffix"),
        pytest.param("1ki", id="lowercase binary suffix"),
        pytest.param("1Gb", id="bit suffix"),
        pytest.param("1e", id="exponent without digits"),
        pytest.param("1e3m", id="exponent and suffix"),
        pytest.param("1e1.5", id="fractional exponent"),
        pytest.param("0x10", id="hexadecimal"),
        pytest.param("1_000", id="digit separator"),
        pytest.param("--1", id="double sign"),
        pytest.param("NaN", id="not a number"),
        pytest.param("Infinity", id="infinity as text"),
        pytest.param("\u0661\u0662", id="non-ASCII digits"),
        pytest.param("\u00b2", id="superscript digit"),
        pytest.param("1\n", id="trailing newline"),
        pytest.param("9" * 65, id="longer than any quantity"),
    ],
)
def test_parse_quantity_rejects(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)
    assert not is_quantity(text)


# ---- upstream: TestQuantityString and TestQuantityParseEmit ------------------------------------

UPSTREAM_STRING: list[tuple[Decimal, QuantityFormat, str, str]] = [
    (dec(1024**3, 0), BSI, "1Gi", "1024Mi"),
    (dec(300 * 1024**2, 0), BSI, "300Mi", "307200Ki"),
    (dec(6 * 1024, 0), BSI, "6Ki", ""),
    (dec(1001 * 1024**3, 0), BSI, "1001Gi", "1025024Mi"),
    (dec(1024**4, 0), BSI, "1Ti", "1024Gi"),
    (dec(5, 0), BSI, "5", "5000m"),
    (dec(500, -3), BSI, "500m", "0.5"),
    (dec(1, 9), DSI, "1G", "1000M"),
    (dec(1000, 6), DSI, "1G", "0.001T"),
    (dec(1000000, 3), DSI, "1G", ""),
    (dec(1000000000, 0), DSI, "1G", ""),
    (dec(1, -3), DSI, "1m", "1000u"),
    (dec(80, -3), DSI, "80m", ""),
    (dec(1080, -3), DSI, "1080m", "1.08"),
    (dec(108, -2), DSI, "1080m", "1080000000n"),
    (dec(10800, -4), DSI, "1080m", ""),
    (dec(300, 6), DSI, "300M", ""),
    (dec(1, 12), DSI, "1T", ""),
    (dec(1234567, 6), DSI, "1234567M", ""),
    (dec(1234567, -3), BSI, "1234567m", ""),
    (dec(3, 3), DSI, "3k", ""),
    (dec(1025, 0), BSI, "1025", ""),
    (dec(0, 0), DSI, "0", ""),
    (dec(0, 0), BSI, "0", ""),
    (dec(1, 9), DEX, "1e9", ".001e12"),
    (dec(1, -3), DEX, "1e-3", "0.001e0"),
    (dec(1, -9), DEX, "1e-9", "1000e-12"),
    (dec(80, -3), DEX, "80e-3", ""),
    (dec(300, 6), DEX, "300e6", ""),
    (dec(1, 12), DEX, "1e12", ""),
    (dec(1, 3), DEX, "1e3", ""),
    (dec(3, 3), DEX, "3e3", ""),
    (dec(0, 0), DEX, "0", "00"),
    (dec(1, -9), DSI, "1n", ""),
    (dec(80, -9), DSI, "80n", ""),
    (dec(1080, -9), DSI, "1080n", ""),
    (dec(108, -8), DSI, "1080n", ""),
    (dec(10800, -10), DSI, "1080n", ""),
    (dec(1, -6), DSI, "1u", ""),
    (dec(80, -6), DSI, "80u", ""),
    (dec(1080, -6), DSI, "1080u", ""),
]


@pytest.mark.parametrize(
    ("value", "form", "expected", "alternate"),
    [
        pytest.param(value, form, expected, alternate, id=f"upstream TestQuantityString {expected} ({form.value})")
        for value, form, expected, alternate in UPSTREAM_STRING
    ],
)
def test_canonical_string_matches_upstream(value: Decimal, form: QuantityFormat, expected: str, alternate: str) -> None:
    """The canonical string of the amount, its negation, and of the alternate spelling (all upstream)."""
    assert format_canonical(value, form) == expected
    assert canonical_quantity(expected) == expected
    if value != 0:  # upstream: never "-0"
        assert format_canonical(-value, form) == f"-{expected}"
    if alternate:
        assert canonical_quantity(alternate) == expected


UPSTREAM_EMIT = [
    ("1Ki", "1Ki"),
    ("1Mi", "1Mi"),
    ("1Gi", "1Gi"),
    ("1024Mi", "1Gi"),
    ("1000M", "1G"),
    (".001Ki", "1024m"),
    (".000001Ki", "1024u"),
    (".000000001Ki", "1024n"),
    (".000000000001Ki", "2n"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(text, expected, id=f"upstream TestQuantityParseEmit {text}") for text, expected in UPSTREAM_EMIT],
)
def test_parse_then_emit_matches_upstream(text: str, expected: str) -> None:
    assert canonical_quantity(text) == expected
    assert canonical_quantity(f"-{text}") == f"-{expected}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("0", "0", id="upstream TestQuantityParseZero"),
        pytest.param("1.5Gi", "1536Mi", id="upstream Quantity doc: 1.5Gi is 1536Mi"),
        pytest.param("1.5", "1500m", id="upstream Quantity doc: 1.5 is 1500m"),
        pytest.param("9Ei", "9223372036854775807", id="capped binary has no binary suffix"),
        pytest.param("1.2e3", "1200", id="exponent form without fraction"),
        pytest.param("+1", "1", id="sign dropped (upstream String echoes '+1')"),
        pytest.param("1E3", "1e3", id="lowercase e (upstream String echoes '1E3')"),
        pytest.param("1000E", "1000E", id="beyond E keeps the suffix (upstream prints '1')"),
        pytest.param(0.5, "500m", id="float 0.5 is 500m"),
        pytest.param(1.5, "1500m", id="float 1.5 is 1500m"),
        pytest.param(0.1, "100m", id="float 0.1 is exactly 100m"),
        pytest.param(2, "2", id="int"),
        pytest.param(2.0, "2", id="whole float"),
        pytest.param(1e-07, "100e-9", id="float written with an exponent"),
    ],
)
def test_canonical_quantity(text: object, expected: str) -> None:
    assert canonical_quantity(text) == expected


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [
        pytest.param("50m", "100m", id="upstream TestQuantityCmp 50m < 100m"),
        pytest.param("100Gi", "10000T", id="upstream TestQuantityCmp 100Gi < 10000T"),
        pytest.param("1G", "1Gi", id="decimal giga below binary giga"),
        pytest.param("999m", "1", id="millicores below a core"),
        pytest.param("1e3", "1Ki", id="exponent below kibi"),
        pytest.param("-1", "0", id="negative below zero"),
        pytest.param("100Mi", "0.1Gi", id="a tenth of a gibi is more than 100Mi"),
    ],
)
def test_comparisons(smaller: str, larger: str) -> None:
    assert parse_quantity(smaller) < parse_quantity(larger)
    assert not parse_quantity(larger) <= parse_quantity(smaller)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("0", "0", id="upstream TestQuantityCmp 0 = 0"),
        pytest.param("1000m", "1", id="millicores equal cores"),
        pytest.param("1e3", "1k", id="exponent equals suffix"),
        pytest.param("1024", "1Ki", id="plain equals binary"),
        pytest.param("0.5Gi", "512Mi", id="fraction of binary"),
        pytest.param(0.5, "500m", id="float equals its string"),
        pytest.param(2, "2000m", id="int equals millicores"),
    ],
)
def test_equal_amounts_in_different_spellings(first: str, second: str) -> None:
    assert parse_quantity(first) == parse_quantity(second)


# ---- numbers and other Python values ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(0.5, Decimal("0.5"), id="YAML cpu: 0.5"),
        pytest.param(1.5, Decimal("1.5"), id="YAML cpu: 1.5"),
        pytest.param(0.1, Decimal("0.1"), id="0.1 is exact, not its binary float"),
        pytest.param(0.3, Decimal("0.3"), id="0.3 is exact"),
        pytest.param(1e-10, Decimal("1e-9"), id="tiny float rounds up to a nano"),
        pytest.param(-0.0, Decimal(0), id="negative zero is zero"),
        pytest.param(1e16, Decimal(10**16), id="large float"),
        pytest.param(7, Decimal(7), id="int"),
        pytest.param(-1, Decimal(-1), id="negative int"),
        pytest.param(Decimal("2.5"), Decimal("2.5"), id="Decimal"),
        pytest.param(Decimal("1E+3"), Decimal(1000), id="Decimal with an exponent"),
    ],
)
def test_parse_numbers(value: Any, expected: Decimal) -> None:
    assert parse_quantity(value) == expected
    assert is_quantity(value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(True, id="bool"),
        pytest.param(False, id="false"),
        pytest.param(None, id="None"),
        pytest.param(["1"], id="list"),
        pytest.param({"cpu": 1}, id="dict"),
        pytest.param(b"1", id="bytes"),
        pytest.param(float("nan"), id="NaN"),
        pytest.param(float("inf"), id="infinity"),
        pytest.param(float("-inf"), id="minus infinity"),
        pytest.param(1e300, id="huge float"),
        pytest.param(10**24, id="int of 10^24"),
        pytest.param(10**5000, id="int too long to print"),
        pytest.param(Decimal("NaN"), id="Decimal NaN"),
        pytest.param(Decimal("sNaN"), id="Decimal signalling NaN"),
        pytest.param(Decimal("Infinity"), id="Decimal infinity"),
        pytest.param(Decimal("1e999999"), id="Decimal beyond range"),
        pytest.param(object(), id="object"),
    ],
)
def test_other_values_raise_quantity_error_only(value: object) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(value)
    assert not is_quantity(value)


# ---- normalisation and the project's formatters --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        pytest.param("500m", 500, id="millicores"),
        pytest.param("1", 1000, id="one core"),
        pytest.param("1.5", 1500, id="fractional cores"),
        pytest.param(64, 64000, id="int cores"),
        pytest.param(0.5, 500, id="float cores"),
        pytest.param("0.0001", 1, id="below a millicore rounds up"),
        pytest.param("100n", 1, id="nano rounds up"),
        pytest.param("1e-3", 1, id="exponent"),
        pytest.param("63999m", 63999, id="allocatable cpu"),
    ],
)
def test_cpu_millis(text: str | int | float, millis: int) -> None:
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("text", "units"),
    [
        pytest.param("64Gi", 64 * GI, id="binary memory"),
        pytest.param("1G", 10**9, id="decimal memory"),
        pytest.param("1.5", 2, id="fraction rounds up"),
        pytest.param("500m", 1, id="milli rounds up"),
        pytest.param("8", 8, id="gpus"),
        pytest.param("0", 0, id="zero"),
    ],
)
def test_to_int_units(text: str, units: int) -> None:
    assert to_int_units(text) == units


@pytest.mark.parametrize(
    ("count", "text"),
    [
        pytest.param(0, "0", id="zero"),
        pytest.param(1024, "1Ki", id="kibi"),
        pytest.param(64 * GI, "64Gi", id="gibi"),
        pytest.param(2**60, "1Ei", id="exbi"),
        pytest.param(1536, "1536", id="not a multiple of 1024 or 1000"),
        pytest.param(1_500_000, "1500k", id="decimal when binary does not divide"),
        pytest.param(10**9, "1G", id="decimal giga"),
    ],
)
def test_format_bytes(count: int, text: str) -> None:
    assert format_bytes(count) == text


@pytest.mark.parametrize(
    ("millis", "text"),
    [
        pytest.param(2000, "2", id="whole cores"),
        pytest.param(1500, "1500m", id="fractional cores"),
        pytest.param(250, "250m", id="millicores"),
        pytest.param(0, "0", id="zero"),
    ],
)
def test_format_cpu(millis: int, text: str) -> None:
    assert format_cpu(millis) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(2000, "2k", id="kilo"),
        pytest.param(1500, "1500", id="no exact suffix"),
        pytest.param(Decimal("0.5"), "500m", id="milli"),
        pytest.param(Decimal("1.5"), "1500m", id="fraction above one"),
        pytest.param(Decimal("0.0000005"), "500n", id="nano"),
        pytest.param(Decimal("1e-10"), "1n", id="below nano rounds up"),
        pytest.param(Decimal("-1e-10"), "-1n", id="below nano rounds away from zero"),
        pytest.param(-2000, "-2k", id="negative"),
        pytest.param(10**21, "1000E", id="beyond exa keeps E"),
        pytest.param(0, "0", id="zero"),
    ],
)
def test_format_quantity(value: int | Decimal, text: str) -> None:
    assert format_quantity(value) == text


def test_format_refuses_non_finite_amounts() -> None:
    with pytest.raises(QuantityError):
        format_quantity(Decimal("NaN"))


# ---- properties against the upstream rules ---------------------------------------------------------

_BINARY_POWER = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_EXPONENT = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


@st.composite
def quantity_texts(draw: st.DrawFn) -> tuple[str, Decimal, QuantityFormat]:
    """A quantity string from upstream's grammar, with its value and format by upstream's rules.

    The oracle is written from quantity.go's comments, not from the module under test: the exact
    value of number x suffix, rounded up (away from zero) to nano units, a binary amount capped at
    2^63-1, a binary amount below one written as DecimalSI.
    """
    with localcontext(prec=100):
        return _quantity_text(draw)


def _quantity_text(draw: st.DrawFn) -> tuple[str, Decimal, QuantityFormat]:
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.text("0123456789", max_size=8))
    fraction = draw(st.none() | st.text("0123456789", max_size=10))
    if not whole and not fraction:
        whole = "0"
    number = whole + ("" if fraction is None else "." + fraction)
    kind = draw(st.sampled_from(["binary", "decimal", "exponent"]))
    exact = Decimal(sign + (whole or "0") + "." + (fraction or "0"))
    if kind == "binary":
        suffix = draw(st.sampled_from(sorted(_BINARY_POWER)))
        exact *= 2 ** _BINARY_POWER[suffix]
        form = BSI
    elif kind == "decimal":
        suffix = draw(st.sampled_from(sorted(_DECIMAL_EXPONENT)))
        exact = exact.scaleb(_DECIMAL_EXPONENT[suffix])
        form = DSI
    else:
        exponent = draw(st.integers(-12, 12))
        suffix = draw(st.sampled_from(["e", "E"])) + draw(st.sampled_from(["", "+"] if exponent >= 0 else [""]))
        suffix += str(exponent)
        exact = exact.scaleb(exponent)
        form = DEX
    assume(abs(exact) < Decimal(10) ** 24)  # beyond is refused on purpose (see the stricter rows)
    value = exact if exact == 0 else exact.quantize(Decimal("1e-9"), rounding=ROUND_UP)
    if form is BSI:
        if abs(value) > MAX_INT64:
            value = Decimal(MAX_INT64).copy_sign(value)
        if 0 < abs(value) < 1:
            form = DSI
    return sign + number + suffix, value, form


@NO_DEADLINE
@given(quantity_texts())
def test_property_parse_follows_the_upstream_rules(case: tuple[str, Decimal, QuantityFormat]) -> None:
    text, value, form = case
    parsed = parse_quantity_and_format(text)
    assert parsed.value == value
    assert parsed.format is form or value == 0  # "0Ki" keeps BinarySI; zero is zero in any format


@NO_DEADLINE
@given(quantity_texts())
def test_property_canonical_form_round_trips_and_is_a_fixed_point(case: tuple[str, Decimal, QuantityFormat]) -> None:
    text, value, _ = case
    canonical = canonical_quantity(text)
    assert parse_quantity(canonical) == value  # format(parse(x)) parses to the same value
    assert canonical_quantity(canonical) == canonical  # the canonical form is a fixed point
    assert_canonical_shape(canonical)


def assert_canonical_shape(canonical: str) -> None:
    """Upstream's canonical form: no decimal point and no explicit plus sign."""
    assert "." not in canonical
    assert not canonical.startswith("+")


@NO_DEADLINE
@given(quantity_texts(), quantity_texts())
def test_property_ordering_agrees_with_decimal(
    first: tuple[str, Decimal, QuantityFormat], second: tuple[str, Decimal, QuantityFormat]
) -> None:
    a, b = parse_quantity(first[0]), parse_quantity(second[0])
    assert (a < b) == (first[1] < second[1])
    assert (a == b) == (first[1] == second[1])
    assert (parse_quantity(canonical_quantity(first[0])) < parse_quantity(canonical_quantity(second[0]))) == (a < b)


@NO_DEADLINE
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e23, max_value=1e23))
def test_property_a_float_is_its_shortest_decimal_text(number: float) -> None:
    expected = Decimal(repr(number))
    if expected != 0:
        with localcontext(prec=100):
            expected = expected.quantize(Decimal("1e-9"), rounding=ROUND_UP)
    assert parse_quantity(number) == expected
    assert parse_quantity(canonical_quantity(number)) == expected


@NO_DEADLINE
@given(st.integers(min_value=-(10**24) + 1, max_value=10**24 - 1))
def test_property_integers_are_exact(number: int) -> None:
    assert parse_quantity(number) == number
    assert canonical_quantity(number) == canonical_quantity(str(number))


ANY_VALUE = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="0123456789.+-eEinumkKMGTP", max_size=20),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.booleans(),
    st.none(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


@NO_DEADLINE
@given(ANY_VALUE)
def test_property_any_python_value_is_a_quantity_or_a_quantity_error(value: object) -> None:
    try:
        amount = parse_quantity(value)
    except QuantityError:
        assert not is_quantity(value)
        return
    assert is_quantity(value)
    assert abs(amount) < Decimal(10) ** 24
    assert parse_quantity(canonical_quantity(value)) == amount


@NO_DEADLINE
@given(st.text(alphabet="0123456789.+-eEinumkKMGTPx ", max_size=12))
def test_property_the_crd_pattern_accepts_exactly_the_well_formed_strings(text: str) -> None:
    """QUANTITY_PATTERN (the CRD's syntax check) agrees with the parser on everything but range."""

    matches = re.fullmatch(QUANTITY_PATTERN, text) is not None
    try:
        parse_quantity(text)
        parsed = True
    except QuantityOutOfRange:
        parsed = matches  # range is the CRD's bounds rule's business
    except QuantityError:
        parsed = False
    assert matches == parsed


@NO_DEADLINE
@given(st.integers(min_value=0, max_value=2**62))
def test_format_bytes_round_trips(count: int) -> None:
    assert to_int_units(format_bytes(count)) == count


@NO_DEADLINE
@given(st.integers(min_value=0, max_value=10**9))
def test_format_cpu_round_trips(millis: int) -> None:
    assert cpu_millis(format_cpu(millis)) == millis


@NO_DEADLINE
@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_format_quantity_round_trips_nanos(nanos: int) -> None:
    value = Decimal(nanos).scaleb(-9)
    assert parse_quantity(format_quantity(value)) == value


def test_parsing_fifty_thousand_distinct_node_values_is_fast() -> None:
    values = [f"{index}Ki" for index in range(50_000)]
    started = time.process_time()  # CPU time: other processes on the machine do not count
    total = sum(to_int_units(value) for value in values)
    elapsed = time.process_time() - started
    assert total == 1024 * sum(range(50_000))
    assert elapsed < 5, f"parsing 50k quantities took {elapsed:.2f}s"


# ---- the CRD side: sign-restricted patterns and QuantitySpec ----------------------------------------


@NO_DEADLINE
@given(st.text(alphabet="0123456789.+-eEinumkKMGTP", max_size=12))
def test_property_sign_restricted_patterns_agree_with_the_parser(text: str) -> None:
    """POSITIVE_QUANTITY_PATTERN matches exactly the well-formed strings without '-' whose value is above 0."""
    try:
        amount: Decimal | None = parse_quantity(text)
    except QuantityOutOfRange:
        return  # the syntax holds; range is the bounds' business
    except QuantityError:
        amount = None
    unsigned = not text.startswith("-")
    assert (re.fullmatch(POSITIVE_QUANTITY_PATTERN, text) is not None) == (
        amount is not None and unsigned and amount > 0
    )
    assert (re.fullmatch(NON_NEGATIVE_QUANTITY_PATTERN, text) is not None) == (amount is not None and unsigned)


class _Numbers(BaseModel):
    cpu: Annotated[str, QuantitySpec(maximum="4096", numbers=True)]
    size: Annotated[str | None, QuantitySpec(maximum=None, allow_zero=True, numbers=True)] = None


class _IntOrString(BaseModel):
    cpu: Annotated[str, QuantitySpec(maximum="4096")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(0.5, "500m", id="cpu: 0.5 becomes 500m"),
        pytest.param(2, "2", id="cpu: 2"),
        pytest.param("500m", "500m", id="a string is kept as written"),
        pytest.param(1.5, "1500m", id="cpu: 1.5"),
        pytest.param(4096, "4096", id="at the maximum"),
    ],
)
def test_quantity_spec_with_numbers_accepts_yaml_numbers(value: object, expected: str) -> None:
    assert _Numbers.model_validate({"cpu": value}).cpu == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("abc", "Kubernetes quantity", id="cpu: abc"),
        pytest.param(-1, "greater than 0", id="cpu: -1"),
        pytest.param(0, "greater than 0", id="cpu: 0"),
        pytest.param(True, "not bool", id="cpu: true"),
        pytest.param(None, "not NoneType", id="cpu: null"),
        pytest.param([1], "not list", id="cpu: [1]"),
        pytest.param(4097, "at most 4096", id="above the maximum"),
        pytest.param("5000", "at most 4096", id="a string above the maximum"),
        pytest.param(float("nan"), "Kubernetes quantity", id="NaN"),
    ],
)
def test_quantity_spec_refuses_naming_the_field(value: object, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        _Numbers.model_validate({"cpu": value})
    (detail,) = error.value.errors()
    assert detail["loc"] == ("cpu",)
    assert message in detail["msg"]


def test_quantity_spec_without_maximum_bounds_only_below() -> None:
    assert _Numbers.model_validate({"cpu": 1, "size": "100Ei"}).size == "100Ei"
    assert _Numbers.model_validate({"cpu": 1, "size": 0}).size == "0"
    with pytest.raises(ValidationError, match="at least 0"):
        _Numbers.model_validate({"cpu": 1, "size": "-1"})


def test_quantity_spec_schemas() -> None:
    numbers = _Numbers.model_json_schema()["properties"]["cpu"]
    assert numbers["x-kubernetes-preserve-unknown-fields"] is True
    assert "type" not in numbers
    assert "x-kubernetes-validations" not in numbers
    assert (numbers["minimum"], numbers["exclusiveMinimum"], numbers["maximum"]) == (0, True, 4096)
    assert numbers["pattern"] == POSITIVE_QUANTITY_PATTERN
    # no object and no list can meet these (the API server refuses both naming the field)
    assert (numbers["minProperties"], numbers["maxProperties"], numbers["minItems"], numbers["maxItems"]) == (
        1,
        0,
        1,
        0,
    )
    int_or_string = _IntOrString.model_json_schema()["properties"]["cpu"]
    assert int_or_string["x-kubernetes-int-or-string"] is True
    assert [rule["message"] for rule in int_or_string["x-kubernetes-validations"]] == [
        "must be a Kubernetes quantity such as 500m, 2, 1.5Gi or 1e3",
        "must be greater than 0 and at most 4096",
    ]


def test_quantity_spec_int_or_string_refuses_floats_as_its_schema_does() -> None:
    """The int-or-string schema refuses 0.5 at the API server; Python agrees instead of reading it."""
    with pytest.raises(ValidationError, match="a string or an integer"):
        _IntOrString.model_validate({"cpu": 0.5})
    assert _IntOrString.model_validate({"cpu": 2}).cpu == "2"


@pytest.mark.parametrize(
    ("resource", "units", "written"),
    [
        pytest.param("cpu", 1500, "1500m", id="cpu from millicores"),
        pytest.param("cpu", 2000, "2", id="whole cores"),
        pytest.param("memory", 64 * 2**30, "64Gi", id="memory in binary suffixes"),
        pytest.param("ephemeral-storage", 2**20, "1Mi", id="ephemeral storage is bytes too"),
        pytest.param("hugepages-2Mi", 4 * 2**20, "4Mi", id="hugepages are bytes"),
        pytest.param("nvidia.com/gpu", 8, "8", id="a device count"),
        pytest.param("pods", 110, "110", id="pods"),
        pytest.param("example.com/widgets", 2000, "2k", id="other counts in DecimalSI, as Kubernetes prints them"),
    ],
)
def test_one_formatter_for_every_amount(resource: str, units: int, written: str) -> None:
    assert format_amount(resource, units) == written
    assert parse_quantity(written) == (Decimal(units) / 1000 if resource == "cpu" else units)
