"""Every (state, event) pair of a queue's status table has one outcome a reader can check.

Settlement computes a queue's status on every tick; the table says whether it is written (a change
of Active or generation urgently, other changes as they come, an unchanged one every minute so that
``spend.lastSettled`` stays recent) and what is announced (Active's transitions; a queue first
written by this process only when it does not admit).
"""

from __future__ import annotations

import datetime as dt

import pytest

from computenet.api.conditions import condition, set_conditions
from computenet.api.constants import ConditionType, Reason
from computenet.api.queue import ComputeQueueStatus, QueueSpend, QueueTasks
from computenet.statuses.queue_transitions import STATUS_REFRESH_S, QueueEvent, QueueRecord, essence, transition
from computenet.statuses.vocabulary import Emit, Observed, Written

from .shapes import assert_covers, assert_outcome, pairs

NOW = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)
REFRESH = dt.timedelta(seconds=STATUS_REFRESH_S)
MONTH = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def status(
    admitted: int = 1, spent: float = 10.0, over: str = "", settled: dt.datetime = NOW, generation: int = 1
) -> ComputeQueueStatus:
    if over:
        active = condition(ConditionType.ACTIVE, False, Reason.OVER_BUDGET, over)
    else:
        active = condition(ConditionType.ACTIVE, True, Reason.ADMITTING, "admitting tasks into pool gpus")
    return ComputeQueueStatus(
        observed_generation=generation,
        conditions=set_conditions((), [active], settled, generation),
        tasks=QueueTasks(admitted=admitted, waiting=0),
        spend=QueueSpend(amount=spent, currency="USD", period_start=MONTH, last_settled=settled),
    )


ADMITTING = status()
OVER = "spent 100.00 of 100 USD this month: admits nothing until the next"


def written(ago: dt.timedelta, what: ComputeQueueStatus = ADMITTING) -> QueueRecord:
    return QueueRecord("team-a", "uid-1").wrote(what, NOW - ago)


STATES: dict[str, QueueRecord] = {
    "never written": QueueRecord("team-a", "uid-1"),
    "written 10s ago": written(dt.timedelta(seconds=10)),
    "written a minute ago": written(REFRESH),
    "written over budget": written(dt.timedelta(seconds=10), status(spent=100.0, over=OVER)),
}

EVENTS: dict[str, QueueEvent] = {
    "Observed(same, settled later)": Observed(status(settled=NOW + dt.timedelta(seconds=10))),
    "Observed(a task admitted)": Observed(status(admitted=2)),
    "Observed(spend grew)": Observed(status(spent=12.5)),
    "Observed(over budget)": Observed(status(spent=100.0, over=OVER)),
    "Observed(spec edited)": Observed(status(generation=2)),
    "Written(admitting)": Written(ADMITTING),
    "Written(over budget)": Written(status(spent=100.0, over=OVER)),
}

OUTCOMES: dict[str, dict[str, str]] = {
    "Observed(same, settled later)": {
        "never written": "Write:URGENT",
        "written 10s ago": "-",
        "written a minute ago": "Write:REFRESH",
        "written over budget": "Write:URGENT",  # Active turned True again
    },
    "Observed(a task admitted)": {
        "never written": "Write:URGENT",
        "written 10s ago": "Write:CHANGED",
        "written a minute ago": "Write:CHANGED",
        "written over budget": "Write:URGENT",
    },
    "Observed(spend grew)": {
        "never written": "Write:URGENT",
        "written 10s ago": "Write:CHANGED",
        "written a minute ago": "Write:CHANGED",
        "written over budget": "Write:URGENT",
    },
    "Observed(over budget)": {**dict.fromkeys(STATES, "Write:URGENT"), "written over budget": "-"},
    "Observed(spec edited)": dict.fromkeys(STATES, "Write:URGENT"),
    "Written(admitting)": {
        "never written": "-",
        "written 10s ago": "-",
        "written a minute ago": "-",
        "written over budget": "Emit:Admitting",
    },
    "Written(over budget)": {**dict.fromkeys(STATES, "Emit:OverBudget!"), "written over budget": "-"},
}


def test_the_table_covers_every_pair() -> None:
    assert set(OUTCOMES) == set(EVENTS)
    assert_covers(OUTCOMES, STATES)


@pytest.mark.parametrize(("state", "event"), pairs(STATES, EVENTS))
def test_every_state_and_event_has_its_outcome(state: str, event: str) -> None:
    assert_outcome(transition(STATES[state], EVENTS[event], NOW), OUTCOMES[event][state])


def test_the_time_of_the_last_settlement_alone_is_no_change() -> None:
    assert essence(status(settled=NOW)) == essence(status(settled=NOW + dt.timedelta(hours=1)))
    assert essence(status(spent=1.0)) != essence(status(spent=2.0))


def test_going_over_budget_is_announced_with_what_was_spent() -> None:
    out = transition(STATES["written 10s ago"], Written(status(spent=100.0, over=OVER)), NOW)
    assert out.effects == (Emit(Reason.OVER_BUDGET, OVER, warning=True),)
