"""The one way times are written and read: metav1.Time to the second, metav1.MicroTime to the microsecond."""

from __future__ import annotations

import datetime as dt

import pytest

from computenet.api.fields import format_micro_time, format_time, parse_time

UTC = dt.UTC
CST = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        pytest.param(dt.datetime(2025, 1, 31, 12, 0, 0, tzinfo=UTC), "2025-01-31T12:00:00Z", id="utc as is"),
        pytest.param(dt.datetime(2025, 1, 31, 20, 0, 0, tzinfo=CST), "2025-01-31T12:00:00Z", id="other zones in utc"),
        pytest.param(
            dt.datetime(2025, 1, 31, 12, 0, 0, 999_999, tzinfo=UTC), "2025-01-31T12:00:00Z", id="to the second"
        ),
        pytest.param(dt.datetime(2025, 1, 31, 12, 0, 0), "2025-01-31T12:00:00Z", id="naive taken as utc"),
    ],
)
def test_a_time_is_written_as_kubernetes_writes_it(value: dt.datetime, written: str) -> None:
    assert format_time(value) == written


def test_a_micro_time_keeps_its_microseconds() -> None:
    assert format_micro_time(dt.datetime(2025, 1, 31, 12, 0, 0, 5, tzinfo=UTC)) == "2025-01-31T12:00:00.000005Z"


def test_a_written_time_reads_back_as_the_same_aware_instant() -> None:
    value = dt.datetime(2025, 1, 31, 20, 0, 0, tzinfo=CST)
    assert parse_time(format_time(value)) == value
    assert parse_time("2025-01-31T12:00:00Z").tzinfo is UTC


@pytest.mark.parametrize("raw", ["", "2025-01-31", "2025-01-31T12:00:00+08:00", None, "yesterday"])
def test_anything_else_is_refused(raw: object) -> None:
    with pytest.raises(ValueError, match="does not match format"):
        parse_time(raw)
