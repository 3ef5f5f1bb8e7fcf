"""Which identifiers a requeued task avoids, and for how long: Kueue's requeuing backoff, per identifier."""

from __future__ import annotations

import datetime as dt

import pytest

from computenet.api.task import AvoidedIdentifier
from computenet.tasks.lifecycle.avoidance import KEPT, avoid, avoided_now, backoff_s

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [
        pytest.param(1, 60.0, id="the first failure: the base, 60 s"),
        pytest.param(2, 120.0, id="doubling"),
        pytest.param(6, 1920.0, id="still doubling"),
        pytest.param(7, 3600.0, id="capped at an hour"),
        pytest.param(40, 3600.0, id="and stays there"),
    ],
)
def test_the_backoff_doubles_up_to_an_hour(failures: int, seconds: float) -> None:
    assert backoff_s(failures) == seconds


def test_each_identifier_counts_its_own_failures() -> None:
    avoided = avoid(None, "a", "PodsNotStarted", NOW)
    avoided = avoid(avoided, "b", "Unschedulable", NOW)
    avoided = avoid(avoided, "a", "PodsNotStarted", NOW + dt.timedelta(minutes=2))
    assert {a.identifier: a.failures for a in avoided} == {"a": 2, "b": 1}


def test_only_identifiers_whose_time_has_not_passed_are_avoided_now() -> None:
    avoided = [
        AvoidedIdentifier(identifier="a", reason="PodsNotStarted", failures=1, until=NOW + dt.timedelta(seconds=1)),
        AvoidedIdentifier(identifier="b", reason="Unschedulable", failures=2, until=NOW),
    ]
    now = avoided_now(avoided, NOW)
    assert list(now) == ["a"]
    assert now["a"] == "PodsNotStarted there 1x, avoided until 12:00:01Z"
    assert avoided_now(None, NOW) == {}


def test_at_most_the_most_recent_failures_are_kept() -> None:
    avoided: list[AvoidedIdentifier] = []
    for i in range(KEPT + 5):
        avoided = avoid(avoided, f"m{i}", "Unschedulable", NOW + dt.timedelta(seconds=i))
    assert len(avoided) == KEPT
    assert avoided[-1].identifier == f"m{KEPT + 4}"
    assert "m0" not in {a.identifier for a in avoided}
