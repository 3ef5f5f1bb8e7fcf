from __future__ import annotations

import datetime as dt

import pytest

from computenet.conditions import Cond, merge
from computenet.placement.labels import Selector


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        pytest.param(Selector.of({"a": "1"}), {"a": "1", "b": "2"}, True, id="matchLabels subset matches"),
        pytest.param(Selector.of({"a": "1"}), {"a": "2"}, False, id="matchLabels value differs"),
        pytest.param(Selector.of(None, [("a", "In", ["1", "2"])]), {"a": "2"}, True, id="In matches a listed value"),
        pytest.param(Selector.of(None, [("a", "NotIn", ["1"])]), {}, True, id="NotIn holds for a missing key"),
        pytest.param(Selector.of(None, [("a", "Exists", [])]), {"b": "1"}, False, id="Exists needs the key"),
        pytest.param(Selector.of(None, [("a", "DoesNotExist", [])]), {"a": "x"}, False, id="DoesNotExist"),
        pytest.param(Selector(), {"any": "thing"}, True, id="empty selector matches everything"),
    ],
)
def test_selector_matching(selector: Selector, labels: dict[str, str], expected: bool) -> None:
    assert selector.matches(labels) is expected


def test_transition_time_moves_only_when_status_changes() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    t1 = t0 + dt.timedelta(minutes=5)
    first = merge([], [Cond("Ready", True, "Ready", "ok")], t0)
    same = merge(first, [Cond("Ready", True, "Ready", "still ok")], t1)
    flipped = merge(same, [Cond("Ready", False, "Unreachable", "down")], t1)
    assert same[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert same[0]["message"] == "still ok"
    assert flipped[0]["lastTransitionTime"] == "2026-01-01T00:05:00Z"
    assert flipped[0]["status"] == "False"
