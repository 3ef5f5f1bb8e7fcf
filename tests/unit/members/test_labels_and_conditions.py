from __future__ import annotations

import datetime as dt

import pytest

from computenet.api.conditions import Cond, read_conditions, set_conditions, to_json
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
    first = set_conditions([], [Cond("Ready", True, "Ready", "ok").as_condition()], t0)
    same = to_json(set_conditions(first, [Cond("Ready", True, "Ready", "still ok").as_condition()], t1))
    flipped = to_json(
        set_conditions(
            read_conditions({"conditions": same}), [Cond("Ready", False, "Unreachable", "down").as_condition()], t1
        )
    )
    assert same[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert same[0]["message"] == "still ok"
    assert flipped[0]["lastTransitionTime"] == "2026-01-01T00:05:00Z"
    assert flipped[0]["status"] == "False"


def test_other_types_are_kept_and_the_generation_is_recorded_on_the_updated_ones() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    first = set_conditions([], [Cond("Reachable", True, "Reachable", "ok").as_condition()], t0)
    both = set_conditions(first, [Cond("Ready", None, "Connecting", "...").as_condition()], t0, generation=4)
    assert [(c.type, c.status, c.observed_generation) for c in both] == [
        ("Reachable", "True", None),
        ("Ready", "Unknown", 4),
    ]


def test_conditions_the_hub_holds_that_do_not_read_are_left_out() -> None:
    read = read_conditions(
        {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Ready", "status": "Maybe"}, 7]}
    )
    assert [(c.type, c.status) for c in read] == [("Ready", "True")]
    assert read_conditions(None) == []
    assert read_conditions({"conditions": "nope"}) == []
