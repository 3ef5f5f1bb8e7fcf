"""The bound on a serving workload's unavailability (``tasks/lifecycle/serving.py``): when it ends the attempt."""

from __future__ import annotations

import datetime as dt

import pytest

from computenet.api.common import Condition
from computenet.api.constants import ConditionStatus, Phase
from computenet.api.task import ComputeTaskStatus
from computenet.tasks.lifecycle.serving import ServingView, unavailable_since, unavailable_too_long

NOW = dt.datetime(2026, 12, 7, 12, 0, 0, tzinfo=dt.UTC)
BOUND = 600.0
WORDS = "Deployment ns/web: 0/2 replicas available (0 ready); Available=False MinimumReplicasUnavailable: ..."
PDE = "Deployment ns/web: 0/2 replicas available; Progressing=False ProgressDeadlineExceeded: ..."
STS = "StatefulSet ns/db: 0/3 replicas available (0 ready)"


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        pytest.param(ServingView(ago(BOUND), False, WORDS), None, id="never available, at the bound: still waiting"),
        pytest.param(
            ServingView(ago(BOUND + 1), False, WORDS),
            f"replicas not all available 601s after dispatch (spec.failover.unavailableSeconds: 600): {WORDS}",
            id="never available past the bound after dispatch: ends, quoting the member",
        ),
        pytest.param(
            ServingView(ago(BOUND + 1), False, STS),
            f"replicas not all available 601s after dispatch (spec.failover.unavailableSeconds: 600): {STS}",
            id="a StatefulSet whose first pod never becomes Ready does not wait for ever",
        ),
        pytest.param(ServingView(ago(30), True, WORDS), None, id="a Running task that lost replicas within the bound"),
        pytest.param(
            ServingView(ago(BOUND + 5), True, WORDS),
            f"replicas unavailable for 605s (spec.failover.unavailableSeconds: 600): {WORDS}",
            id="a Running task unavailable past the bound: ends, counted from when it was seen unavailable",
        ),
        pytest.param(
            ServingView(ago(5), False, PDE, stalled=True),
            f"its controller gave up bringing the replicas up (5s after dispatch): {PDE}",
            id="a Deployment past its progress deadline ends at once, whatever the bound",
        ),
        pytest.param(
            ServingView(NOW + dt.timedelta(seconds=3), False, WORDS),
            None,
            id="a transition time ahead of the operator's clock waits",
        ),
    ],
)
def test_unavailable_too_long(view: ServingView, expected: str | None) -> None:
    assert unavailable_too_long(view, NOW, BOUND) == expected


def _cond(type_: str, status: ConditionStatus, at: dt.datetime | None) -> Condition:
    return Condition(type=type_, status=status, reason="R", message="m", last_transition_time=at)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(
            ComputeTaskStatus(phase=Phase.DISPATCHING, conditions=[_cond("Dispatched", ConditionStatus.TRUE, ago(9))]),
            (ago(9), False),
            id="dispatching: counted from the workload's creation in the member",
        ),
        pytest.param(
            ComputeTaskStatus(
                phase=Phase.DISPATCHING, conditions=[_cond("Dispatched", ConditionStatus.UNKNOWN, ago(9))]
            ),
            None,
            id="dispatching, the create not answered yet: nothing to count",
        ),
        pytest.param(
            ComputeTaskStatus(
                phase=Phase.RUNNING,
                conditions=[
                    _cond("Dispatched", ConditionStatus.TRUE, ago(900)),
                    _cond("Available", ConditionStatus.FALSE, ago(40)),
                ],
            ),
            (ago(40), True),
            id="running and seen unavailable: counted from then",
        ),
        pytest.param(
            ComputeTaskStatus(
                phase=Phase.RUNNING,
                conditions=[
                    _cond("Dispatched", ConditionStatus.TRUE, ago(900)),
                    _cond("Available", ConditionStatus.TRUE, ago(40)),
                ],
            ),
            None,
            id="running and available again: nothing to count",
        ),
        pytest.param(
            ComputeTaskStatus(phase=Phase.RUNNING, conditions=[_cond("Dispatched", ConditionStatus.TRUE, ago(900))]),
            None,
            id="running, never seen unavailable (the watch has not told it yet): nothing to count",
        ),
        pytest.param(
            ComputeTaskStatus(phase=Phase.FAILED, conditions=[_cond("Available", ConditionStatus.FALSE, ago(40))]),
            None,
            id="finished: nothing waits",
        ),
    ],
)
def test_unavailable_since(status: ComputeTaskStatus, expected: tuple[dt.datetime, bool] | None) -> None:
    assert unavailable_since(status) == expected
