"""Kubernetes quantity parsing, normalisation, comparison and formatting."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from computenet.quantity import (
    QuantityError,
    cpu_millis,
    format_bytes,
    format_cpu,
    format_quantity,
    is_quantity,
    parse_quantity,
    to_int_units,
)

GI = 2**30


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("500m", Decimal("0.5"), id="millicores"),
        pytest.param("2", Decimal(2), id="plain integer"),
        pytest.param("1.5", Decimal("1.5"), id="decimal fraction"),
        pytest.param(".5", Decimal("0.5"), id="leading dot"),
        pytest.param("5.", Decimal(5), id="trailing dot"),
        pytest.param("+3", Decimal(3), id="explicit plus sign"),
        pytest.param("-1", Decimal(-1), id="negative is a quantity too"),
        pytest.param("64Gi", Decimal(64 * GI), id="binary giga"),
        pytest.param("1.5Gi", Decimal(1610612736), id="fractional binary"),
        pytest.param("263739388Ki", Decimal(263739388 * 1024), id="node memory as kubelet reports it"),
        pytest.param("1Ei", Decimal(2**60), id="binary exa"),
        pytest.param("100M", Decimal(100_000_000), id="decimal mega"),
        pytest.param("1k", Decimal(1000), id="decimal kilo"),
        pytest.param("1E", Decimal(10**18), id="capital E alone is exa"),
        pytest.param("1e3", Decimal(1000), id="exponent"),
        pytest.param("1E3", Decimal(1000), id="capital exponent"),
        pytest.param("1e-3", Decimal("0.001"), id="negative exponent"),
        pytest.param("100n", Decimal("1e-7"), id="nano"),
        pytest.param("10u", Decimal("1e-5"), id="micro"),
        pytest.param(7, Decimal(7), id="int passes through"),
        pytest.param(Decimal("2.5"), Decimal("2.5"), id="Decimal passes through"),
    ],
)
def test_parse_quantity(text: str | int | Decimal, expected: Decimal) -> None:
    assert parse_quantity(text) == expected
    assert is_quantity(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param(" 1", id="leading space"),
        pytest.param("1 ", id="trailing space"),
        pytest.param("1.5.5", id="two dots"),
        pytest.param("1KB", id="bytes suffix"),
        pytest.param("1ki", id="lowercase binary suffix"),
        pytest.param("1Gb", id="bit suffix"),
        pytest.param("Gi", id="suffix without number"),
        pytest.param("e3", id="exponent without mantissa"),
        pytest.param("1e", id="exponent without digits"),
        pytest.param("1e3m", id="exponent and suffix"),
        pytest.param("1e1.5", id="fractional exponent"),
        pytest.param("0x10", id="hexadecimal"),
        pytest.param("1_000", id="digit separator"),
        pytest.param("--1", id="double sign"),
        pytest.param("lots", id="word"),
        pytest.param("NaN", id="not a number"),
        pytest.param("1e31", id="exponent out of range"),
        pytest.param("1e24", id="absurdly large"),
        pytest.param("9" * 65, id="longer than any quantity"),
    ],
)
def test_parse_quantity_rejects(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)
    assert not is_quantity(text)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(1.5, id="float"),
        pytest.param(True, id="bool"),
        pytest.param(None, id="None"),
        pytest.param(["1"], id="list"),
    ],
)
def test_is_quantity_is_false_for_other_types(value: object) -> None:
    assert not is_quantity(value)


def test_parse_quantity_refuses_non_strings_with_type_error() -> None:
    with pytest.raises(TypeError):
        parse_quantity(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        pytest.param("500m", 500, id="millicores"),
        pytest.param("1", 1000, id="one core"),
        pytest.param("1.5", 1500, id="fractional cores"),
        pytest.param(64, 64000, id="int cores"),
        pytest.param("0.0001", 1, id="below a millicore rounds up"),
        pytest.param("100n", 1, id="nano rounds up"),
        pytest.param("1e-3", 1, id="exponent"),
        pytest.param("63999m", 63999, id="allocatable cpu"),
    ],
)
def test_cpu_millis(text: str | int, millis: int) -> None:
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
        pytest.param(-2000, "-2k", id="negative"),
        pytest.param(0, "0", id="zero"),
    ],
)
def test_format_quantity(value: int | Decimal, text: str) -> None:
    assert format_quantity(value) == text


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [
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
        pytest.param("1000m", "1", id="millicores equal cores"),
        pytest.param("1e3", "1k", id="exponent equals suffix"),
        pytest.param("1024", "1Ki", id="plain equals binary"),
        pytest.param("0.5Gi", "512Mi", id="fraction of binary"),
    ],
)
def test_equal_amounts_in_different_spellings(first: str, second: str) -> None:
    assert parse_quantity(first) == parse_quantity(second)


@given(st.integers(min_value=0, max_value=2**62))
def test_format_bytes_round_trips(count: int) -> None:
    assert to_int_units(format_bytes(count)) == count


@given(st.integers(min_value=0, max_value=10**9))
def test_format_cpu_round_trips(millis: int) -> None:
    assert cpu_millis(format_cpu(millis)) == millis


@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_format_quantity_round_trips_nanos(nanos: int) -> None:
    value = Decimal(nanos).scaleb(-9)
    assert parse_quantity(format_quantity(value)) == value


def test_parsing_fifty_thousand_distinct_node_values_is_fast() -> None:
    values = [f"{index}Ki" for index in range(50_000)]
    started = time.perf_counter()
    total = sum(to_int_units(value) for value in values)
    elapsed = time.perf_counter() - started
    assert total == 1024 * sum(range(50_000))
    assert elapsed < 5, f"parsing 50k quantities took {elapsed:.2f}s"
