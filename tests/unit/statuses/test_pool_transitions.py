"""Every (state, event) pair of a pool's status table has one outcome a reader can check.

As for identifiers (``test_identifier_transitions``), with the pools' own budget: counts alone wait
for ``COUNTS_INTERVAL_S`` after the pool's last write; and only a change of Ready's status is
announced.
"""

from __future__ import annotations

import datetime as dt

import pytest

from computenet.api.conditions import condition, set_conditions
from computenet.api.constants import ConditionType, Reason
from computenet.api.pool import ComputePoolStatus, MemberCounts, TaskCounts
from computenet.statuses.budget import Kind
from computenet.statuses.pool_transitions import COUNTS_INTERVAL_S, PoolEvent, PoolRecord, transition
from computenet.statuses.vocabulary import Emit, HoldUntil, Observed, Write, Written

from .shapes import assert_covers, assert_outcome, pairs

NOW = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)
REFRESH = dt.timedelta(seconds=300)
INTERVAL = dt.timedelta(seconds=COUNTS_INTERVAL_S)


def status(ready: int = 2, total: int = 2, queued: int = 0, generation: int = 1) -> ComputePoolStatus:
    if ready:
        cond = condition(ConditionType.READY, True, Reason.READY, f"{ready}/{total} members Ready")
    else:
        cond = condition(ConditionType.READY, False, Reason.NO_READY_MEMBERS, f"none of {total} members is Ready")
    return ComputePoolStatus(
        members=MemberCounts(ready=ready, total=total),
        tasks=TaskCounts(queued=queued),
        conditions=set_conditions((), [cond], NOW, generation),
        observed_generation=generation,
    )


READY = status()


def written(ago: dt.timedelta) -> PoolRecord:
    return PoolRecord("gpus", REFRESH).wrote(READY, NOW - ago)


STATES: dict[str, PoolRecord] = {
    "first seen, its object said nothing": PoolRecord("gpus", REFRESH),
    "first seen, its object said Ready": PoolRecord("gpus", REFRESH, tuple(READY.conditions or ())),
    "written 1s ago": written(dt.timedelta(seconds=1)),
    "written 10s ago": written(INTERVAL),
    "written 5 minutes ago": written(REFRESH),
}

EVENTS: dict[str, PoolEvent] = {
    "Observed(same)": Observed(status()),
    "Observed(a task queued)": Observed(status(queued=1)),
    "Observed(a member not Ready)": Observed(status(ready=1)),
    "Observed(no member Ready)": Observed(status(ready=0)),
    "Observed(spec edited)": Observed(status(generation=2)),
    "Written(Ready)": Written(READY),
    "Written(no member Ready)": Written(status(ready=0)),
}

_COUNTS = {
    "first seen, its object said nothing": "Write:URGENT",
    "first seen, its object said Ready": "Write:URGENT",
    "written 1s ago": "HoldUntil",
    "written 10s ago": "Write:CHANGED",
    "written 5 minutes ago": "Write:CHANGED",
}
OUTCOMES: dict[str, dict[str, str]] = {
    "Observed(same)": {
        "first seen, its object said nothing": "Write:URGENT",
        "first seen, its object said Ready": "Write:URGENT",
        "written 1s ago": "-",
        "written 10s ago": "-",
        "written 5 minutes ago": "Write:REFRESH",
    },
    "Observed(a task queued)": _COUNTS,
    "Observed(a member not Ready)": dict.fromkeys(STATES, "Write:URGENT"),  # Ready's message changed
    "Observed(no member Ready)": dict.fromkeys(STATES, "Write:URGENT"),
    "Observed(spec edited)": dict.fromkeys(STATES, "Write:URGENT"),
    "Written(Ready)": {**dict.fromkeys(STATES, "-"), "first seen, its object said nothing": "Emit:Ready"},
    "Written(no member Ready)": dict.fromkeys(STATES, "Emit:NoReadyMembers!"),
}


def test_the_table_covers_every_pair() -> None:
    assert set(OUTCOMES) == set(EVENTS)
    assert_covers(OUTCOMES, STATES)


@pytest.mark.parametrize(("state", "event"), pairs(STATES, EVENTS))
def test_every_state_and_event_has_its_outcome(state: str, event: str) -> None:
    assert_outcome(transition(STATES[state], EVENTS[event], NOW), OUTCOMES[event][state])


def test_counts_held_back_come_due_at_the_end_of_the_pools_interval() -> None:
    record = STATES["written 1s ago"]
    held = transition(record, Observed(status(queued=1)), NOW)
    assert held.effects == (HoldUntil(NOW - dt.timedelta(seconds=1) + INTERVAL),)
    assert transition(record, Observed(status(queued=1)), NOW + INTERVAL).effects == (Write(Kind.CHANGED),)


def test_a_pool_that_lost_its_members_warns_with_its_message() -> None:
    out = transition(STATES["written 10s ago"], Written(status(ready=0, total=3)), NOW)
    assert out.effects == (Emit(Reason.NO_READY_MEMBERS, "none of 3 members is Ready", warning=True),)
