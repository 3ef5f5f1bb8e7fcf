"""Every (state, event) pair of an identifier's status table has one outcome a reader can check.

`OUTCOMES` is the whole table, by hand: for each event, for each state the operator's record of an
identifier can be in, the effects (``-`` when there is nothing to do, and then a note says why). A
new event or state without rows fails `test_the_table_covers_every_pair`. The readiness rule that
makes the conditions, and the status it shapes, are checked row by row below.
"""

from __future__ import annotations

import datetime as dt

import pytest

from computenet.api.conditions import Cond
from computenet.api.constants import ConditionStatus, ConditionType, Reason
from computenet.api.identifier import ComputeIdentifierStatus, Pricing
from computenet.members.capacity import Capacity, ModelCapacity
from computenet.members.identifier_status import Link, Problem, identifier_status, readiness, unusable
from computenet.statuses.identifier_transitions import IdentifierEvent, IdentifierRecord, essence, transition
from computenet.statuses.vocabulary import Emit, Observed, Tick, Written

from .shapes import assert_covers, assert_outcome, pairs, shape

NOW = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)
REFRESH = dt.timedelta(seconds=300)
H100 = "NVIDIA-H100-80GB-HBM3"
LINK = Link(True, Reason.REACHABLE, "the member's API server answers", True, "listing", "", NOW, ("Job",))
DOWN = Link(False, Reason.UNREACHABLE, "dial tcp 127.0.0.1:1: connection refused", True, "listing", "", NOW)


def cap(free: int = 8) -> Capacity:
    gpus = ModelCapacity("nvidia.com/gpu", 8, 8, 8 - free, free, free, 1)
    return Capacity(
        nodes_total=2,
        nodes_ready=2,
        nodes_schedulable=1,
        capacity={"cpu": 64000, "nvidia.com/gpu": 8},
        allocatable={"cpu": 64000, "nvidia.com/gpu": 8},
        allocated={"cpu": 0, "nvidia.com/gpu": 8 - free},
        free={"cpu": 64000, "nvidia.com/gpu": free},
        accelerators={H100: gpus},
        devices_total=8,
        devices_free=free,
    )


def status(link: Link = LINK, free: int = 8, generation: int = 1, at: dt.datetime = NOW) -> ComputeIdentifierStatus:
    c = cap(free)
    return identifier_status(
        generation=generation, previous=(), told=readiness(None, link, c), cap=c, link=link, pricing=None, now=at
    )


READY = status()
LATER = status(at=NOW + dt.timedelta(seconds=1))
"""The same status read a second later: only its times differ."""


def written(at: dt.datetime, observed: ComputeIdentifierStatus = READY) -> IdentifierRecord:
    return IdentifierRecord(ID, REFRESH).wrote(READY, at).observe(observed)


ID = "member-1"
STATES: dict[str, IdentifierRecord] = {
    "never read": IdentifierRecord(ID, REFRESH),
    "read, never written": IdentifierRecord(ID, REFRESH).observe(READY),
    "written as read": written(NOW - dt.timedelta(seconds=10)),
    "written, counts changed since": written(NOW - dt.timedelta(seconds=10), status(free=4)),
    "written 5 minutes ago": written(NOW - REFRESH),
}

EVENTS: dict[str, IdentifierEvent] = {
    "Observed(same but for its times)": Observed(LATER),
    "Observed(counts changed)": Observed(status(free=4)),
    "Observed(member unreachable)": Observed(status(DOWN)),
    "Observed(spec edited)": Observed(status(generation=2)),
    "Tick": Tick(),
    "Written(Ready)": Written(READY),
    "Written(member unreachable)": Written(status(DOWN)),
}

_UNREACHABLE = "Emit:Unreachable!,Emit:Unreachable!"
OUTCOMES: dict[str, dict[str, str]] = {
    "Observed(same but for its times)": {
        "never read": "Write:URGENT",
        "read, never written": "Write:URGENT",
        "written as read": "-",
        "written, counts changed since": "-",  # the change went back before it was written
        "written 5 minutes ago": "Write:REFRESH",
    },
    "Observed(counts changed)": {
        "never read": "Write:URGENT",
        "read, never written": "Write:URGENT",
        "written as read": "Write:CHANGED",
        "written, counts changed since": "Write:CHANGED",
        "written 5 minutes ago": "Write:CHANGED",
    },
    "Observed(member unreachable)": dict.fromkeys(STATES, "Write:URGENT"),
    "Observed(spec edited)": dict.fromkeys(STATES, "Write:URGENT"),
    "Tick": {
        "never read": "-",
        "read, never written": "Write:URGENT",
        "written as read": "-",
        "written, counts changed since": "Write:CHANGED",
        "written 5 minutes ago": "Write:REFRESH",
    },
    "Written(Ready)": {
        "never read": "Emit:Ready,Emit:Reachable",
        "read, never written": "Emit:Ready,Emit:Reachable",
        "written as read": "-",
        "written, counts changed since": "-",
        "written 5 minutes ago": "-",
    },
    "Written(member unreachable)": dict.fromkeys(STATES, _UNREACHABLE),
}


def test_the_table_covers_every_pair() -> None:
    assert set(OUTCOMES) == set(EVENTS)
    assert_covers(OUTCOMES, STATES)


@pytest.mark.parametrize(("state", "event"), pairs(STATES, EVENTS))
def test_every_state_and_event_has_its_outcome(state: str, event: str) -> None:
    assert_outcome(transition(STATES[state], EVENTS[event], NOW), OUTCOMES[event][state])


# ---- the rules behind the rows ----


def test_what_is_written_is_the_status_observed_and_a_tick_writes_what_was_read() -> None:
    record = STATES["written, counts changed since"]
    assert transition(record, Observed(LATER), NOW).status is LATER
    assert transition(record, Tick(), NOW).status is record.observed


def test_announcements_say_again_after_a_loss_and_warn_while_lost() -> None:
    lost = IdentifierRecord(ID, REFRESH).wrote(status(DOWN), NOW)
    back = transition(lost, Written(READY), NOW).effects
    assert Emit(Reason.READY, "Ready again: 1/2 nodes schedulable") in back
    assert Emit(Reason.REACHABLE, "Reachable again: the member's API server answers") in back
    down = transition(STATES["written as read"], Written(status(DOWN)), NOW).effects
    assert Emit(Reason.UNREACHABLE, "Ready false: dial tcp 127.0.0.1:1: connection refused", warning=True) in down


def test_a_change_of_message_alone_is_urgent_but_not_announced() -> None:
    fewer = status(free=8).model_copy(
        update={
            "conditions": [c.model_copy(update={"message": "2/2 nodes schedulable"}) for c in READY.conditions or ()]
        }
    )
    assert shape(transition(STATES["written as read"], Observed(fewer), NOW)) == "Write:URGENT"
    assert shape(transition(STATES["written as read"], Written(fewer), NOW)) == "-"


def test_the_record_knows_whether_a_change_waits() -> None:
    assert not STATES["written as read"].pending
    assert STATES["written, counts changed since"].pending
    assert STATES["read, never written"].pending
    assert not STATES["never read"].pending


def test_essence_leaves_out_times_and_the_heartbeat() -> None:
    assert essence(READY) == essence(LATER)
    assert essence(READY).conditions == essence(status(free=4)).conditions
    assert essence(READY).counts != essence(status(free=4)).counts


# ---- readiness: the one rule for status, placement, pools, metrics and profiles ----

NOT_SYNCED = Link(True, Reason.REACHABLE, "answers", False, "listing the member's nodes and pods", "")
STALE = Link(True, Reason.REACHABLE, "answers", True, "", "the member's pods watch is not current (HTTP 403)")
BAD_SPEC = Problem(Reason.INVALID_SPEC, "spec.uri: bad")


@pytest.mark.parametrize(
    ("problem", "link", "schedulable", "reachable", "ready", "reason"),
    [
        pytest.param(BAD_SPEC, LINK, 1, None, False, Reason.INVALID_SPEC, id="an invalid spec: reachability unknown"),
        pytest.param(None, None, 1, None, False, Reason.SYNCING, id="no connection yet: waiting for the Secret"),
        pytest.param(None, DOWN, 1, False, False, Reason.UNREACHABLE, id="an unreachable member is not Ready"),
        pytest.param(None, NOT_SYNCED, 1, True, False, Reason.SYNCING, id="a member not listed yet is Syncing"),
        pytest.param(None, STALE, 1, True, False, Reason.WATCH_FAILING, id="a failing watch is not Ready"),
        pytest.param(None, LINK, 0, True, False, Reason.NO_SCHEDULABLE_NODES, id="no schedulable node: not Ready"),
        pytest.param(None, LINK, 1, True, True, Reason.READY, id="reachable, current, a schedulable node: Ready"),
    ],
)
def test_readiness(
    problem: Problem | None, link: Link | None, schedulable: int, reachable: bool | None, ready: bool, reason: str
) -> None:
    c = Capacity(nodes_total=2, nodes_schedulable=schedulable)
    got_reachable, got_ready = readiness(problem, link, c)
    assert (got_reachable.status, got_ready.status, got_ready.reason) == (reachable, ready, reason)
    refused = unusable(problem, link)
    assert (refused is None) == (reason in (Reason.READY, Reason.NO_SCHEDULABLE_NODES)), "usable needs no node walk"


def test_the_status_shape_formats_amounts_counts_devices_and_the_cheapest_price() -> None:
    c = cap(free=4)
    pricing = Pricing(currency="USD", per_accelerator_hour={H100: 2.5, "NVIDIA-L4": 0.8})
    said = identifier_status(
        generation=3,
        previous=(),
        told=(*readiness(None, LINK, c), Cond(ConditionType.DISPATCHABLE, True, Reason.DISPATCHED, "created")),
        cap=c,
        link=LINK,
        pricing=pricing,
        now=NOW,
    )
    assert said.observed_generation == 3
    assert [c.type for c in said.conditions or ()] == ["Dispatchable", "Reachable", "Ready"]
    assert all(c.last_transition_time == NOW and c.observed_generation == 3 for c in said.conditions or ())
    assert said.resources is not None
    assert said.resources.free == {"cpu": "64", "nvidia.com/gpu": "4"}
    assert said.accelerators is not None
    assert (said.accelerators[H100].free, said.accelerators[H100].resource) == (4, "nvidia.com/gpu")
    assert said.summary is not None
    assert (said.summary.gpus, said.summary.price) == ("4/8", "0.80 USD/h")
    assert said.workload_kinds == ["Job"]
    assert said.last_heartbeat_time == NOW
    again = identifier_status(
        generation=3,
        previous=said.conditions or (),
        told=readiness(None, LINK, c),
        cap=c,
        link=LINK,
        pricing=None,
        now=NOW + dt.timedelta(hours=1),
    )
    ready = next(x for x in again.conditions or () if x.type == ConditionType.READY)
    assert ready.last_transition_time == NOW, "a condition that did not change keeps its transition time"
    assert ready.status == ConditionStatus.TRUE
    assert again.summary is not None
    assert again.summary.price == "-"
