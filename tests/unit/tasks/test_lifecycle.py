"""Every (phase, event) pair of the task lifecycle has one outcome a reader can check.

`OUTCOMES` is the whole table, written by hand: for each event, for each state a task can be in,
the phase it ends in (or `same` when the status is left untouched) and the effects, sorted. A
new event or state without rows fails `test_the_table_covers_every_pair`, so nothing is ever
"ignored" by accident.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from computenet.api.common import Condition
from computenet.api.constants import ConditionStatus, ConditionType, FailoverPolicy, Phase, Reason
from computenet.api.data import TaskDataStatus
from computenet.api.task import ComputeTaskSpec, ComputeTaskStatus, DispatchedResources, Offer, Placement, RemoteRef
from computenet.tasks import lifecycle as lc
from computenet.tasks.metering import Metered

NOW = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.UTC)
EARLIER = NOW - dt.timedelta(seconds=30)
ID = "member-1"
REMOTE = RemoteRef(identifier=ID, namespace="computenet-workloads", name="t-0a1b2c3d-1", uid="u1")
PLACEMENT = Placement(
    identifier=ID,
    score=80.0,
    resources=DispatchedResources(replicas=2, cpu="1", memory="1Gi", accelerators=1),
    accelerator_model="NVIDIA-L4",
)
RAN = Metered(30.0, 60.0, "NVIDIA-L4", 60.0, 60.0, 0.5, "USD")
DATA = TaskDataStatus(identifier=ID, attempt=1, bytes_moved=100)
FACTS = lc.TaskFacts(generation=3, failover="Requeue", grace_period_s=10)
NEVER = lc.TaskFacts(generation=3, failover="Never", grace_period_s=10)


def _valid() -> Condition:
    return Condition(type="Valid", status=ConditionStatus.TRUE, reason="Valid", message="spec is valid")


STATES: dict[str, ComputeTaskStatus] = {
    "new": ComputeTaskStatus(),
    "Pending": ComputeTaskStatus(phase=Phase.PENDING, conditions=[_valid()]),
    "Offered": ComputeTaskStatus(phase=Phase.OFFERED, conditions=[_valid()]),
    "Dispatching": ComputeTaskStatus(phase=Phase.DISPATCHING, placement=PLACEMENT, attempt=1),
    "Dispatching+remote": ComputeTaskStatus(phase=Phase.DISPATCHING, placement=PLACEMENT, attempt=1, remote=REMOTE),
    "Running": ComputeTaskStatus(
        phase=Phase.RUNNING, placement=PLACEMENT, attempt=1, remote=REMOTE, start_time=EARLIER
    ),
    "Succeeded": ComputeTaskStatus(phase=Phase.SUCCEEDED, placement=PLACEMENT, attempt=1, remote=REMOTE),
    "Failed": ComputeTaskStatus(phase=Phase.FAILED, placement=PLACEMENT, attempt=1, remote=REMOTE),
    "Cancelled": ComputeTaskStatus(phase=Phase.CANCELLED, placement=PLACEMENT, attempt=1),
}

EVENTS: dict[str, lc.Event] = {
    "Admitted": lc.Admitted(),
    "SpecInvalid": lc.SpecInvalid("spec.resources.cpu: is required"),
    "PoolMissing": lc.PoolMissing("pool 'x' does not exist"),
    "NoFit": lc.NoFit("0/3 identifiers fit"),
    "OffersFound": lc.OffersFound((Offer(identifier=ID, score=80.0),), "1 offers"),
    "Placed": lc.Placed(PLACEMENT, f"{ID} (score 80.0)"),
    "DispatchCreated": lc.DispatchCreated(REMOTE, adopted=False),
    "DispatchRetryable": lc.DispatchRetryable(Reason.FORBIDDEN, "HTTP 403: jobs.batch is forbidden", 1),
    "DispatchRefused": lc.DispatchRefused(Reason.DISPATCH_FAILED, "HTTP 422: Job is invalid"),
    "RetryDue": lc.RetryDue(),
    "JobRunning": lc.JobRunning(REMOTE, 1, EARLIER),
    "JobFinished": lc.JobFinished(REMOTE, 1, True, EARLIER, NOW, None, RAN),
    "JobGone": lc.JobGone(ID, 1, "Job was deleted in the member", RAN),
    "PodsUnschedulable": lc.PodsUnschedulable(ID, 1, "a pod found no node for 130s: 0/10 nodes are available"),
    "MemberLost(in grace)": lc.MemberLost(ID, NOW - dt.timedelta(seconds=5), "unreachable", RAN),
    "MemberLost(past grace)": lc.MemberLost(ID, NOW - dt.timedelta(seconds=60), "unreachable", RAN),
    "StartFailed": lc.StartFailed(ID, 1, "the member created no pod of the workload in 61s: FailedCreate: ..."),
    "ReplicasUnavailable": lc.ReplicasUnavailable(ID, 1, "Deployment ns/web: 1/2 replicas available (1 ready)"),
    "UnavailableTooLong": lc.UnavailableTooLong(
        ID, 1, "replicas unavailable for 601s (spec.failover.unavailableSeconds: 600): Deployment ns/web: ...", RAN
    ),
    "Drained": lc.Drained(ID, 1, f"identifier {ID} was deleted; removed from its member: ns/job", RAN),
    "MemberBack": lc.MemberBack(ID),
    "Deleted": lc.Deleted(),
    "Preempted": lc.Preempted("team-a/urgent", RAN),
    "SuspendRequested": lc.SuspendRequested(RAN),
    "WorkloadEdited": lc.WorkloadEdited(("template",), RAN),
    "Staging": lc.Staging(ID, 1, DATA, "0/1 copies done, 40% of 100 bytes"),
    "Staging(done)": lc.Staging(ID, 1, DATA, "1 copies done, 100 bytes moved", done=True),
    "StagingFailed": lc.StagingFailed(ID, 1, DATA, "input 0 (s3://b/k): store http://s:8333 bucket b: AccessDenied"),
}

_STALE = "same"
_WAITING_ONLY = {
    "new": "Pending|Emit",
    "Pending": "Pending|Emit",
    "Offered": "Pending|Emit",
    **dict.fromkeys(("Dispatching", "Dispatching+remote", "Running", "Succeeded", "Failed", "Cancelled"), _STALE),
}
_ACTIVE_ONLY_SAME = dict.fromkeys(("new", "Pending", "Offered", "Succeeded", "Failed", "Cancelled"), "same")
_REQUEUE = "Pending|CountFailover,Emit,Fence,Release"
_SUSPENDED = "Offered|Emit,Fence,Release"
_EDITED = "Pending|Emit,Fence,Release"

OUTCOMES: dict[str, dict[str, str]] = {
    "Admitted": {
        "new": "Pending|Wake",
        "Pending": "same|Wake",
        "Offered": "same|Wake",
        "Dispatching": "same|Dispatch",
        "Dispatching+remote": "same|Fence",
        "Running": "same|Fence",
        "Succeeded": "same",
        "Failed": "same",
        "Cancelled": "same",
    },
    "SpecInvalid": {
        "new": "Pending|Emit",
        "Pending": "Pending|Emit",
        "Offered": "Pending|Emit",
        "Dispatching": "Dispatching|Emit",
        "Dispatching+remote": "Dispatching|Emit",
        "Running": "Running|Emit",
        "Succeeded": "same",
        "Failed": "same",
        "Cancelled": "same",
    },
    "PoolMissing": _WAITING_ONLY,
    "NoFit": _WAITING_ONLY,
    "OffersFound": {**_WAITING_ONLY, "new": "Offered|Emit", "Pending": "Offered|Emit", "Offered": "Offered|Emit"},
    "Placed": {
        **_WAITING_ONLY,
        "new": "Dispatching|Dispatch",
        "Pending": "Dispatching|Dispatch",
        "Offered": "Dispatching|Dispatch",
    },
    "DispatchCreated": {
        **dict.fromkeys(("new", "Pending", "Offered", "Succeeded", "Failed", "Cancelled"), "same|Fence"),
        "Dispatching": "Dispatching|CountDispatched,Emit",
        "Dispatching+remote": "same",
        "Running": "same",
    },
    "DispatchRetryable": {
        **dict.fromkeys(STATES, "same"),
        "Dispatching": "Dispatching|Emit,RetryAt",
    },
    "DispatchRefused": {
        **dict.fromkeys(STATES, "same"),
        "Dispatching": "Failed|CountFinished,Emit,Fence,Release",
    },
    "RetryDue": {**dict.fromkeys(STATES, "same"), "Dispatching": "same|Dispatch"},
    "JobRunning": {
        **_ACTIVE_ONLY_SAME,
        "Dispatching": "Running|Emit",
        "Dispatching+remote": "Running",
        "Running": "same",
    },
    "JobFinished": {
        **_ACTIVE_ONLY_SAME,
        "Dispatching": "Succeeded|CountFinished,Emit,Release",
        "Dispatching+remote": "Succeeded|CountFinished,Emit,Release",
        "Running": "Succeeded|CountFinished,Emit,Release",
    },
    "JobGone": {
        **_ACTIVE_ONLY_SAME,
        "Dispatching": _REQUEUE,
        "Dispatching+remote": _REQUEUE,
        "Running": _REQUEUE,
    },
    "PodsUnschedulable": {
        **_ACTIVE_ONLY_SAME,
        "Dispatching": _REQUEUE,
        "Dispatching+remote": _REQUEUE,
        "Running": _REQUEUE,
    },
    "StartFailed": {
        **_ACTIVE_ONLY_SAME,
        "Dispatching": _REQUEUE,
        "Dispatching+remote": _REQUEUE,
        "Running": "same",  # it started after all: the bound no longer applies
    },
    "ReplicasUnavailable": {
        **_ACTIVE_ONLY_SAME,
        "Dispatching": "same",  # not run yet: the bound counts from dispatch, nothing to write
        "Dispatching+remote": "same",
        "Running": "Running|Emit",
    },
    "UnavailableTooLong": {
        **_ACTIVE_ONLY_SAME,
        "Dispatching": _REQUEUE,
        "Dispatching+remote": _REQUEUE,
        "Running": _REQUEUE,
    },
    "Drained": {
        **_ACTIVE_ONLY_SAME,
        "Dispatching": _REQUEUE,
        "Dispatching+remote": _REQUEUE,
        "Running": _REQUEUE,
    },
    "MemberLost(in grace)": {
        **_ACTIVE_ONLY_SAME,
        "Dispatching": "Dispatching|RecheckAt",
        "Dispatching+remote": "Dispatching|RecheckAt",
        "Running": "Running|RecheckAt",
    },
    "MemberLost(past grace)": {
        **_ACTIVE_ONLY_SAME,
        "Dispatching": _REQUEUE,
        "Dispatching+remote": _REQUEUE,
        "Running": _REQUEUE,
    },
    "MemberBack": dict.fromkeys(STATES, "same"),  # nothing was waiting for it (see the grace tests below)
    "Deleted": {
        **dict.fromkeys(("new", "Pending", "Offered", "Dispatching", "Dispatching+remote", "Running"), ""),
        "new": "Cancelled|CountFinished,Emit,Release",
        "Pending": "Cancelled|CountFinished,Emit,Release",
        "Offered": "Cancelled|CountFinished,Emit,Release",
        "Dispatching": "Cancelled|CountFinished,Emit,Release",
        "Dispatching+remote": "Cancelled|CountFinished,Emit,Release",
        "Running": "Cancelled|CountFinished,Emit,Release",
        "Succeeded": "same|Release",
        "Failed": "same|Release",
        "Cancelled": "same|Release",
    },
    "Preempted": {
        **_ACTIVE_ONLY_SAME,
        "Dispatching": _REQUEUE,
        "Dispatching+remote": _REQUEUE,
        "Running": _REQUEUE,
    },
    "SuspendRequested": {
        **_ACTIVE_ONLY_SAME,
        "Dispatching": _SUSPENDED,
        "Dispatching+remote": _SUSPENDED,
        "Running": _SUSPENDED,
    },
    "WorkloadEdited": {
        **_ACTIVE_ONLY_SAME,
        "Dispatching": _EDITED,
        "Dispatching+remote": _EDITED,
        "Running": _EDITED,
    },
    "Staging": {**dict.fromkeys(STATES, "same"), "Dispatching": "Dispatching|Emit,RetryAt"},
    "Staging(done)": {**dict.fromkeys(STATES, "same"), "Dispatching": "Dispatching|Emit"},
    "StagingFailed": {**dict.fromkeys(STATES, "same"), "Dispatching": _REQUEUE},
}


def _shape(outcome: lc.Outcome, before: ComputeTaskStatus) -> str:
    head = "same" if outcome.status is before else str(outcome.status.phase)
    effects = ",".join(sorted(type(e).__name__ for e in outcome.effects))
    return f"{head}|{effects}" if effects else head


def test_the_table_covers_every_pair() -> None:
    assert {type(e) for e in EVENTS.values()} == set(lc.EVENT_TYPES)
    for event in EVENTS:
        assert set(OUTCOMES[event]) == set(STATES), event


@pytest.mark.parametrize(
    ("state", "event"),
    [pytest.param(s, e, id=f"{s} + {e}") for e in EVENTS for s in STATES],
)
def test_every_phase_and_event_has_its_outcome(state: str, event: str) -> None:
    before = STATES[state]
    outcome = lc.transition(before, EVENTS[event], NOW, FACTS)
    assert _shape(outcome, before) == OUTCOMES[event][state]
    if outcome.status is before:
        assert outcome.note, "an outcome that changes nothing says why"
    else:
        assert outcome.status.observed_generation == 3


# ---- the rules behind the rows ----


def _cond(status: ComputeTaskStatus, type_: str) -> Condition:
    found = lc.condition(status, ConditionType(type_))
    assert found is not None, type_
    return found


def test_a_placement_starts_the_next_attempt_and_records_what_it_dispatches() -> None:
    out = lc.transition(STATES["Pending"], EVENTS["Placed"], NOW, FACTS)
    assert out.status.attempt == 1
    assert out.status.placement == PLACEMENT
    assert _cond(out.status, "Placed").status == ConditionStatus.TRUE
    again = lc.transition(
        STATES["Running"].model_copy(update={"phase": Phase.PENDING, "placement": None}), EVENTS["Placed"], NOW, FACTS
    )
    assert again.status.attempt == 2
    assert lc.Dispatch(2) in again.effects


def test_a_forbidden_create_keeps_dispatching_names_the_answer_and_backs_off() -> None:
    out = lc.transition(STATES["Dispatching"], EVENTS["DispatchRetryable"], NOW, FACTS)
    cond = _cond(out.status, "Dispatched")
    assert (cond.status, cond.reason) == (ConditionStatus.FALSE, "Forbidden")
    assert "HTTP 403" in (cond.message or "")
    assert "next try at 2026-11-30T12:00:02Z" in (cond.message or "")
    assert lc.RetryAt(NOW + dt.timedelta(seconds=2)) in out.effects
    # The same answer again: no second Event, a longer wait.
    again = lc.transition(out.status, lc.DispatchRetryable(Reason.FORBIDDEN, "HTTP 403: forbidden", 4), NOW, FACTS)
    assert not any(isinstance(e, lc.Emit) for e in again.effects)
    assert lc.RetryAt(NOW + dt.timedelta(seconds=16)) in again.effects


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [
        pytest.param(1, 2, id="first retry after 2s"),
        pytest.param(3, 8, id="doubles"),
        pytest.param(5, 30, id="capped at 30s"),
        pytest.param(50, 30, id="stays capped"),
    ],
)
def test_backoff(failures: int, seconds: float) -> None:
    assert lc.backoff(failures) == seconds


def test_a_huge_refusal_fails_the_task_within_the_api_limits() -> None:
    refusal = "spec.template.spec.containers[0].resources.requests[bogus]: Invalid value " * 200
    out = lc.transition(STATES["Dispatching"], lc.DispatchRefused(Reason.DISPATCH_FAILED, refusal), NOW, FACTS)
    assert out.status.phase == Phase.FAILED
    message = out.status.message or ""
    assert len(message) <= lc.MESSAGE_LIMIT
    assert message.startswith(f"{ID} refused the Job: ")
    assert "more characters cut]" in message
    assert _cond(out.status, "Dispatched").reason == "DispatchFailed"
    emitted = [e for e in out.effects if isinstance(e, lc.Emit)]
    assert all(len(e.message) <= lc.EVENT_MESSAGE_LIMIT for e in emitted)
    ComputeTaskStatus.model_validate(out.status.model_dump(by_alias=True))  # the hub would take it


def test_a_vanished_job_with_policy_never_fails_and_says_so() -> None:
    out = lc.transition(STATES["Running"], EVENTS["JobGone"], NOW, NEVER)
    assert out.status.phase == Phase.FAILED
    assert "deleted in the member" in (out.status.message or "")
    assert _cond(out.status, "Dispatched").reason == "JobGone"


def test_a_lost_member_waits_out_the_grace_period_then_requeues_keeping_usage() -> None:
    running = STATES["Running"]
    waiting = lc.transition(running, EVENTS["MemberLost(in grace)"], NOW, FACTS)
    cond = _cond(waiting.status, "Dispatched")
    assert (cond.status, cond.reason) == (ConditionStatus.UNKNOWN, "MemberLost")
    assert lc.RecheckAt(NOW + dt.timedelta(seconds=5)) in waiting.effects
    same = lc.transition(waiting.status, EVENTS["MemberLost(in grace)"], NOW, FACTS)
    assert same.status is waiting.status  # no write per check
    back = lc.transition(waiting.status, lc.MemberBack(ID), NOW, FACTS)
    assert _cond(back.status, "Dispatched").status == ConditionStatus.TRUE
    lost = lc.transition(waiting.status, EVENTS["MemberLost(past grace)"], NOW, FACTS)
    assert lost.status.phase == Phase.PENDING
    assert lost.status.placement is None
    assert lost.status.remote is None
    assert lost.status.usage is not None
    assert lost.status.usage.gpu_seconds == 60.0
    assert lost.status.cost is not None
    assert lost.status.cost.amount == 0.5


def test_a_lost_member_with_policy_never_fails_with_reason_member_lost() -> None:
    out = lc.transition(STATES["Running"], EVENTS["MemberLost(past grace)"], NOW, NEVER)
    assert out.status.phase == Phase.FAILED
    assert _cond(out.status, "Dispatched").reason == "MemberLost"


@pytest.mark.parametrize(
    "event",
    ["JobGone", "MemberLost(past grace)"],
    ids=["a Job vanished", "a member lost past its grace"],
)
def test_an_attempt_failed_under_policy_never_keeps_what_it_ran_up(event: str) -> None:
    """Failing the task does not forget the attempt: its usage and cost are charged as on a requeue."""
    out = lc.transition(STATES["Running"], EVENTS[event], NOW, NEVER)
    assert out.status.phase == Phase.FAILED
    assert out.status.usage is not None
    assert out.status.usage.gpu_seconds == 60.0
    assert out.status.cost is not None
    assert out.status.cost.amount == 0.5
    (finished,) = [e for e in out.effects if isinstance(e, lc.CountFinished)]
    assert finished.ran == RAN


def test_usage_sums_over_attempts() -> None:
    requeued = lc.transition(STATES["Running"], EVENTS["JobGone"], NOW, FACTS).status
    placed = lc.transition(requeued, EVENTS["Placed"], NOW, FACTS).status
    remote2 = REMOTE.model_copy(update={"name": "t-0a1b2c3d-2"})
    done = lc.transition(placed, lc.JobFinished(remote2, 2, True, EARLIER, NOW, None, RAN), NOW, FACTS).status
    assert done.phase == Phase.SUCCEEDED
    assert done.usage is not None
    assert done.usage.gpu_seconds == 120.0
    assert done.usage.gpu_seconds_by_model == {"NVIDIA-L4": 120.0}
    assert done.cost is not None
    assert done.cost.amount == 1.0


@pytest.mark.parametrize("facts", [FACTS, NEVER], ids=["failover Requeue", "failover Never"])
def test_suspending_a_running_task_ends_its_attempt_keeps_its_usage_and_offers_it(facts: lc.TaskFacts) -> None:
    out = lc.transition(STATES["Running"], EVENTS["SuspendRequested"], NOW, facts)
    status = out.status
    assert status.phase == Phase.OFFERED, "the user asked for the stop: no failover policy applies"
    assert (status.placement, status.remote, status.start_time, status.offers) == (None, None, None, None)
    assert status.attempt == 1, "the next placement starts attempt 2"
    assert status.usage is not None
    assert status.usage.gpu_seconds == 60.0
    assert status.cost is not None
    assert status.cost.amount == 0.5
    placed, dispatched = _cond(status, "Placed"), _cond(status, "Dispatched")
    assert (placed.status, placed.reason) == (ConditionStatus.FALSE, "Suspended")
    assert "attempt 1 on member-1 stopped" in (placed.message or "")
    assert "set spec.suspend to false" in (placed.message or "")
    assert (dispatched.status, dispatched.reason) == (ConditionStatus.FALSE, "Suspended")
    assert lc.Emit("Suspended", "spec.suspend is true: attempt 1 on member-1 stopped") in out.effects
    assert status.message == "attempt 1 on member-1 stopped: spec.suspend is true"
    assert lc.is_stale(lc.JobRef(ID, 1), status), "its Job goes"
    ComputeTaskStatus.model_validate(status.model_dump(by_alias=True))  # the hub would take it


def test_a_suspended_task_gets_offers_and_runs_a_new_attempt_when_resumed() -> None:
    suspended = lc.transition(STATES["Running"], EVENTS["SuspendRequested"], NOW, FACTS).status
    offered = lc.transition(suspended, EVENTS["OffersFound"], NOW, FACTS).status
    assert offered.phase == Phase.OFFERED
    assert offered.offers
    assert _cond(offered, "Placed").reason == "OffersReady"
    resumed = lc.transition(offered, EVENTS["Placed"], NOW, FACTS)
    assert resumed.status.phase == Phase.DISPATCHING
    assert resumed.status.attempt == 2
    assert lc.Dispatch(2) in resumed.effects
    assert resumed.status.usage == suspended.usage, "the stopped attempt's usage stays"
    late = lc.JobFinished(REMOTE, 1, True, EARLIER, NOW, None, RAN)
    assert lc.transition(offered, late, NOW, FACTS).status is offered, "the stopped attempt's end changes nothing"


def test_suspending_a_task_whose_job_never_started_keeps_no_usage() -> None:
    out = lc.transition(STATES["Dispatching"], lc.SuspendRequested(None), NOW, FACTS)
    assert out.status.phase == Phase.OFFERED
    assert (out.status.usage, out.status.cost) == (None, None)
    assert lc.Fence() in out.effects, "a create still in flight is fenced when it answers"


@pytest.mark.parametrize("facts", [FACTS, NEVER], ids=["failover Requeue", "failover Never"])
def test_an_edit_of_what_runs_that_reached_a_running_task_runs_as_a_new_attempt(facts: lc.TaskFacts) -> None:
    out = lc.transition(STATES["Running"], lc.WorkloadEdited(("replicas", "template"), RAN), NOW, facts)
    status = out.status
    assert status.phase == Phase.PENDING, "spec and what runs must not diverge, whatever the failover policy"
    assert (status.placement, status.remote, status.start_time) == (None, None, None)
    assert status.attempt == 1
    assert status.usage is not None
    assert status.usage.gpu_seconds == 60.0
    placed = _cond(status, "Placed")
    assert placed.reason == "SpecChanged"
    assert placed.message == (
        "spec.replicas, spec.template changed after attempt 1 on member-1 was dispatched; "
        "placing attempt 2 with the edited spec"
    )
    assert any(isinstance(e, lc.Emit) and e.warning and e.reason == "SpecChanged" for e in out.effects)
    assert status.message == "attempt 1 on member-1 abandoned: spec.replicas, spec.template changed after dispatch"
    assert lc.is_stale(lc.JobRef(ID, 1), status), "its Job goes"
    assert lc.transition(status, EVENTS["Placed"], NOW, facts).status.attempt == 2


def _spec(**changes: object) -> tuple[ComputeTaskSpec, dict[str, Any]]:
    container: dict[str, object] = {"name": "main", "image": "busybox", "command": ["sleep", "1"]}
    raw: dict[str, object] = {
        "resources": {"cpu": "1", "memory": "1Gi"},
        "template": {"spec": {"template": {"spec": {"containers": [container]}}}},
    }
    if "args" in changes:
        container.pop("command")
        container["args"] = changes.pop("args")
    raw.update(changes)
    spec = ComputeTaskSpec.model_validate(raw)
    return spec, {"template": raw["template"]}


@pytest.mark.parametrize(
    ("changes", "edited"),
    [
        pytest.param({}, (), id="the same spec"),
        pytest.param({"priority": 9, "suspend": True}, (), id="fields that are carried out"),
        pytest.param({"constraints": {"regions": {"preferred": ["cn-west"]}}}, (), id="a relaxed constraint"),
        pytest.param({"identifier": "member-2"}, (), id="a pin, which the API server judges"),
        pytest.param({"args": ["sleep", "1"]}, ("template",), id="command replaced by args, which CEL cannot see"),
        pytest.param({"replicas": 2, "pool": "other"}, ("pool", "replicas"), id="several, in the spec's order"),
        pytest.param({"resources": {"cpu": "2", "memory": "1Gi"}}, ("resources",), id="resources"),
        pytest.param({"data": {"region": "cn-west"}, "queueName": "q"}, ("data", "queueName"), id="data and queue"),
    ],
)
def test_workload_edits(changes: dict[str, object], edited: tuple[str, ...]) -> None:
    old, old_written = _spec()
    new, new_written = _spec(**changes)
    assert lc.workload_edits(old, old_written, new, new_written) == edited


def test_a_workload_object_is_compared_as_written() -> None:
    spec, _ = _spec()
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {"containers": []}}}}
    moved = {**deployment, "kind": "StatefulSet"}
    assert lc.workload_edits(spec, {"workload": deployment}, spec, {"workload": moved}) == ("workload",)
    assert lc.workload_edits(spec, {"workload": deployment}, spec, {"workload": dict(deployment)}) == ()


def test_observations_of_another_attempt_change_nothing() -> None:
    old = lc.JobFinished(REMOTE, 0, False, EARLIER, NOW, "boom", RAN)
    out = lc.transition(STATES["Running"], old, NOW, FACTS)
    assert out.status is STATES["Running"]


def test_the_same_wait_reason_is_not_written_twice() -> None:
    first = lc.transition(STATES["Pending"], EVENTS["NoFit"], NOW, FACTS)
    second = lc.transition(first.status, EVENTS["NoFit"], NOW, FACTS)
    assert second.status is first.status
    assert second.effects == ()


def test_conditions_keep_their_transition_time_while_their_status_holds() -> None:
    first = lc.transition(STATES["Dispatching"], EVENTS["DispatchRetryable"], EARLIER, FACTS).status
    second = lc.transition(first, lc.DispatchRetryable(Reason.THROTTLED, "HTTP 429: slow down", 2), NOW, FACTS).status
    assert _cond(second, "Dispatched").last_transition_time == EARLIER
    assert _cond(second, "Dispatched").reason == "Throttled"


@pytest.mark.parametrize(
    ("status", "job", "stale"),
    [
        pytest.param(STATES["Running"], lc.JobRef(ID, 1), False, id="the current attempt stays"),
        pytest.param(STATES["Running"], lc.JobRef(ID, 0), True, id="an older attempt goes"),
        pytest.param(STATES["Running"], lc.JobRef("member-2", 1), True, id="another identifier goes"),
        pytest.param(STATES["Pending"], lc.JobRef(ID, 1), True, id="a requeued task keeps no Job"),
        pytest.param(STATES["Succeeded"], lc.JobRef(ID, 1), False, id="a finished Job stays for its logs"),
        pytest.param(STATES["Cancelled"], lc.JobRef(ID, 1), True, id="a cancelled task keeps no Job"),
        pytest.param(
            lc.transition(STATES["Running"], EVENTS["SuspendRequested"], NOW, FACTS).status,
            lc.JobRef(ID, 1),
            True,
            id="a suspended task keeps no Job",
        ),
        pytest.param(
            lc.transition(STATES["Running"], EVENTS["MemberLost(past grace)"], NOW, NEVER).status,
            lc.JobRef(ID, 1),
            True,
            id="an attempt abandoned with its member goes when the member returns",
        ),
        pytest.param(
            lc.transition(STATES["Dispatching+remote"], EVENTS["StartFailed"], NOW, NEVER).status,
            lc.JobRef(ID, 1),
            True,
            id="a workload whose pods never started goes when its task fails",
        ),
        pytest.param(
            lc.transition(STATES["Running"], EVENTS["Drained"], NOW, NEVER).status,
            lc.JobRef(ID, 1),
            True,
            id="a drained attempt keeps no Job",
        ),
        pytest.param(
            lc.transition(STATES["Running"], EVENTS["UnavailableTooLong"], NOW, NEVER).status,
            lc.JobRef(ID, 1),
            True,
            id="a serving workload unavailable past its bound goes when its task fails",
        ),
        pytest.param(
            lc.transition(STATES["Dispatching"], EVENTS["DispatchRefused"], NOW, NEVER).status,
            lc.JobRef(ID, 1),
            False,
            id="a refused create left nothing to fence",
        ),
    ],
)
def test_fencing(status: ComputeTaskStatus, job: lc.JobRef, stale: bool) -> None:
    assert lc.is_stale(job, status) is stale
    assert lc.is_stale(job, status, dispatching=True) is False


def test_a_long_identifier_name_is_compared_as_its_label_value() -> None:
    name = "provider-" + "x" * 200
    status = STATES["Running"].model_copy(update={"placement": PLACEMENT.model_copy(update={"identifier": name})})
    from computenet.dispatch.naming import label_value

    assert lc.is_stale(lc.JobRef(label_value(name), 1), status) is False


@pytest.mark.parametrize(
    ("status", "since_s", "stuck"),
    [
        pytest.param(STATES["Dispatching"], 301, True, id="dispatching for over five minutes"),
        pytest.param(STATES["Dispatching"], 10, False, id="dispatching for seconds"),
        pytest.param(STATES["Running"], 86_400, False, id="running has no bound"),
        pytest.param(STATES["Pending"], 121, True, id="pending without a reason"),
        pytest.param(
            lc.transition(STATES["Pending"], EVENTS["NoFit"], NOW, FACTS).status, 9_999, False, id="waiting says why"
        ),
        pytest.param(
            lc.transition(STATES["Dispatching"], EVENTS["Staging"], NOW, FACTS).status,
            9_999,
            False,
            id="copying its data takes as long as the bytes take",
        ),
        pytest.param(
            lc.transition(STATES["Dispatching"], EVENTS["Staging(done)"], NOW, FACTS).status,
            301,
            True,
            id="staged but not dispatched for over five minutes",
        ),
    ],
)
def test_stuck(status: ComputeTaskStatus, since_s: float, stuck: bool) -> None:
    assert lc.stuck(status, NOW - dt.timedelta(seconds=since_s), NOW) is stuck


def test_clip_marks_what_it_cut() -> None:
    assert lc.clip("short", 10) == "short"
    clipped = lc.clip("x" * 5000, 100)
    assert len(clipped) == 100
    assert clipped.endswith("[4931 more characters cut]")
    assert clipped.count("x") + 4931 == 5000


def test_a_start_that_failed_under_policy_never_fails_the_task_with_the_members_words() -> None:
    words = 'FailedCreate: pods "x" is forbidden: failed quota: q: must specify limits.memory'
    outcome = lc.transition(
        STATES["Dispatching+remote"],
        lc.StartFailed(ID, 1, f"the member created no pod of the workload in 61s: {words}"),
        NOW,
        lc.TaskFacts(failover=FailoverPolicy.NEVER),
    )
    assert outcome.status.phase == Phase.FAILED
    dispatched = lc.condition(outcome.status, ConditionType.DISPATCHED)
    assert dispatched is not None
    assert dispatched.reason == Reason.PODS_NOT_STARTED
    assert outcome.status.message is not None
    assert words in outcome.status.message


def test_a_drained_attempt_keeps_its_usage_and_places_the_next_attempt() -> None:
    outcome = lc.transition(STATES["Running"], EVENTS["Drained"], NOW, lc.TaskFacts())
    assert outcome.status.phase == Phase.PENDING
    placed = lc.condition(outcome.status, ConditionType.PLACED)
    assert placed is not None
    assert placed.reason == Reason.IDENTIFIER_REMOVED
    assert "placing attempt 2" in placed.message
    assert outcome.status.usage is not None
    assert outcome.status.usage.core_seconds == RAN.core_seconds


def test_a_stale_start_verdict_for_another_attempt_changes_nothing() -> None:
    outcome = lc.transition(STATES["Dispatching+remote"], lc.StartFailed(ID, 2, "late"), NOW, lc.TaskFacts())
    assert outcome.status is STATES["Dispatching+remote"]


def test_a_task_its_queue_can_never_hold_says_so_in_its_reason() -> None:
    event = lc.NoFit("needs 16 GPUs but queue q can never hold more than 8", reason=Reason.EXCEEDS_MAX_QUOTA)
    outcome = lc.transition(STATES["Pending"], event, NOW, FACTS)
    placed = lc.condition(outcome.status, ConditionType.PLACED)
    assert placed is not None
    assert (placed.reason, placed.status) == ("ExceedsMaxQuota", "False")


def test_a_start_that_failed_makes_the_next_attempts_avoid_that_identifier_a_doubling_while() -> None:
    failed = lc.StartFailed(ID, 1, "the member created no pod of the workload in 61s: FailedCreate: ...")
    first = lc.transition(STATES["Dispatching+remote"], failed, NOW, FACTS).status
    assert first.phase == Phase.PENDING
    assert [(a.identifier, a.reason, a.failures, a.until) for a in first.avoided_identifiers or ()] == [
        (ID, Reason.PODS_NOT_STARTED, 1, NOW + dt.timedelta(seconds=60))
    ]
    # Placed there again once its time passed, and failed again: avoided twice as long.
    later = NOW + dt.timedelta(minutes=5)
    placed = first.model_copy(update={"phase": Phase.DISPATCHING, "placement": PLACEMENT, "attempt": 2})
    second = lc.transition(placed, lc.StartFailed(ID, 2, "ImagePullBackOff"), later, FACTS).status
    (entry,) = second.avoided_identifiers or ()
    assert (entry.failures, entry.until) == (2, later + dt.timedelta(seconds=120))


def test_an_attempt_lost_with_its_member_avoids_nothing() -> None:
    out = lc.transition(STATES["Running"], EVENTS["Drained"], NOW, FACTS)
    assert out.status.phase == Phase.PENDING
    assert out.status.avoided_identifiers is None


# ---- serving workloads that lose availability (lifecycle/serving.py has the bound) ----

WORDS = "Deployment ns/web: 1/2 replicas available (1 ready); Available=False MinimumReplicasUnavailable: ..."


def _unavailable(status: ComputeTaskStatus, at: dt.datetime, words: str = WORDS) -> ComputeTaskStatus:
    return lc.transition(status, lc.ReplicasUnavailable(ID, 1, words), at, FACTS).status


def test_a_running_serving_task_that_loses_replicas_says_so_in_the_members_words_and_when_failover_applies() -> None:
    out = lc.transition(STATES["Running"], lc.ReplicasUnavailable(ID, 1, WORDS), NOW, FACTS)
    assert out.status.phase == Phase.RUNNING
    available = _cond(out.status, "Available")
    assert (available.status, available.reason, available.last_transition_time) == ("False", "Unavailable", NOW)
    assert available.message.startswith(f"{ID}: {WORDS}; failover policy Requeue applies at 2026-11-30T12:10:00Z")
    assert [(type(e).__name__, getattr(e, "warning", None)) for e in out.effects] == [("Emit", True)]


def test_new_words_while_still_unavailable_keep_the_time_the_bound_counts_from_and_warn_once() -> None:
    first = _unavailable(STATES["Running"], EARLIER)
    out = lc.transition(first, lc.ReplicasUnavailable(ID, 1, "Deployment ns/web: 0/2 replicas available"), NOW, FACTS)
    available = _cond(out.status, "Available")
    assert available.last_transition_time == EARLIER
    assert "0/2 replicas available" in available.message
    assert "applies at 2026-11-30T12:09:30Z" in available.message
    assert out.effects == ()
    same = lc.transition(first, lc.ReplicasUnavailable(ID, 1, WORDS), NOW, FACTS)
    assert same.status is first
    assert same.note


def test_a_serving_task_available_again_says_so_and_one_that_always_was_gets_no_condition() -> None:
    down = _unavailable(STATES["Running"], EARLIER)
    back = lc.transition(down, EVENTS["JobRunning"], NOW, FACTS).status
    available = _cond(back, "Available")
    assert (available.status, available.reason, available.last_transition_time) == ("True", "Available", NOW)
    assert lc.transition(back, EVENTS["JobRunning"], NOW, FACTS).status is back
    first_run = lc.transition(STATES["Dispatching+remote"], EVENTS["JobRunning"], NOW, FACTS).status
    assert lc.condition(first_run, ConditionType.AVAILABLE) is None


def test_the_next_attempt_running_clears_the_unavailability_of_the_one_before() -> None:
    down = _unavailable(STATES["Running"], EARLIER)
    requeued = lc.transition(down, EVENTS["UnavailableTooLong"], NOW, FACTS).status
    assert _cond(requeued, "Available").status == "False"
    placed = lc.transition(requeued, lc.Placed(PLACEMENT, ID), NOW, FACTS).status
    remote = REMOTE.model_copy(update={"name": "t-0a1b2c3d-2"})
    running = lc.transition(placed, lc.JobRunning(remote, 2, NOW), NOW, FACTS).status
    assert running.phase == Phase.RUNNING
    available = _cond(running, "Available")
    assert (available.status, available.message) == ("True", "every replica of attempt 2 is available")


def test_replicas_unavailable_past_the_bound_end_the_attempt_quoting_the_member_and_avoid_the_identifier() -> None:
    down = _unavailable(STATES["Running"], EARLIER)
    out = lc.transition(down, EVENTS["UnavailableTooLong"], NOW, FACTS)
    assert out.status.phase == Phase.PENDING
    placed = _cond(out.status, "Placed")
    assert placed.reason == Reason.UNAVAILABLE
    assert "replicas unavailable for 601s" in placed.message
    assert "Deployment ns/web" in placed.message
    assert [(a.identifier, a.reason) for a in out.status.avoided_identifiers or ()] == [(ID, Reason.UNAVAILABLE)]
    assert out.status.usage is not None
    assert out.status.usage.core_seconds == RAN.core_seconds
    never = lc.transition(down, EVENTS["UnavailableTooLong"], NOW, NEVER).status
    assert never.phase == Phase.FAILED
    assert never.message is not None
    assert "Deployment ns/web" in never.message
    assert "failover policy is Never" in never.message


def test_a_late_unavailability_verdict_for_another_attempt_changes_nothing() -> None:
    outcome = lc.transition(STATES["Running"], lc.UnavailableTooLong(ID, 2, "late"), NOW, FACTS)
    assert outcome.status is STATES["Running"]
    outcome = lc.transition(STATES["Running"], lc.ReplicasUnavailable("member-2", 1, WORDS), NOW, FACTS)
    assert outcome.status is STATES["Running"]


# ---- staging ----


def test_staging_progress_is_written_and_polled_until_done_without_rewriting_the_same_news() -> None:
    running = lc.transition(STATES["Dispatching"], EVENTS["Staging"], NOW, FACTS)
    assert running.status.data == DATA
    staged = _cond(running.status, "DataStaged")
    assert (staged.status, staged.reason) == (ConditionStatus.FALSE, "Staging")
    assert any(
        isinstance(e, lc.RetryAt) and e.at == NOW + dt.timedelta(seconds=lc.STAGING_POLL_S) for e in running.effects
    )
    again = lc.transition(running.status, EVENTS["Staging"], NOW, FACTS)
    assert again.status is running.status
    assert [type(e) for e in again.effects] == [lc.RetryAt]
    done = lc.transition(running.status, EVENTS["Staging(done)"], NOW, FACTS)
    assert _cond(done.status, "DataStaged").status == ConditionStatus.TRUE
    assert not any(isinstance(e, lc.RetryAt) for e in done.effects)


def test_a_failed_transfer_under_policy_never_fails_the_task_in_the_stores_words() -> None:
    outcome = lc.transition(STATES["Dispatching"], EVENTS["StagingFailed"], NOW, NEVER)
    assert outcome.status.phase == Phase.FAILED
    assert "store http://s:8333 bucket b: AccessDenied" in (outcome.status.message or "")
    staged = _cond(outcome.status, "DataStaged")
    assert (staged.status, staged.reason) == (ConditionStatus.FALSE, "StagingFailed")
    assert outcome.status.data == DATA


def test_a_failed_transfer_under_requeue_places_again_avoiding_that_identifier() -> None:
    outcome = lc.transition(STATES["Dispatching"], EVENTS["StagingFailed"], NOW, FACTS)
    assert outcome.status.phase == Phase.PENDING
    assert [a.identifier for a in outcome.status.avoided_identifiers or ()] == [ID]


def test_staging_news_of_another_attempt_changes_nothing() -> None:
    stale = lc.Staging(ID, 2, DATA, "late")
    assert lc.transition(STATES["Dispatching"], stale, NOW, FACTS).status is STATES["Dispatching"]
