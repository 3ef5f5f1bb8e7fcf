"""A finished attempt's outputs in the task lifecycle: booked with its end, and their failure visible.

The compute succeeded but the results did not arrive: the task does not succeed. A store's refusal
fails it whatever the failover policy (a second run would meet the same refusal); anything else
follows the policy, like a lost attempt. Bytes and egress are metered with the status that books them.
"""

from __future__ import annotations

import datetime as dt

import pytest

from computenet.api.constants import ConditionStatus, ConditionType, Phase, Reason
from computenet.api.data import OutputStatus, TaskDataStatus
from computenet.api.task import ComputeTaskStatus, DispatchedResources, Placement, RemoteRef
from computenet.tasks import lifecycle as lc
from computenet.tasks.metering import Metered
from computenet.tasks.staging.transfers import Charge

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
EARLIER = NOW - dt.timedelta(seconds=40)
ID = "member-2"
REMOTE = RemoteRef(identifier=ID, namespace="computenet-workloads", name="t-0a1b2c3d-1", uid="u1")
PLACEMENT = Placement(
    identifier=ID, score=80.0, queue="team-a", resources=DispatchedResources(replicas=1, cpu="1", memory="1Gi")
)
RAN = Metered(40.0, 0.0, None, 40.0, 40.0, 0.2, "USD")
RUNNING = ComputeTaskStatus(phase=Phase.RUNNING, placement=PLACEMENT, attempt=1, remote=REMOTE, start_time=EARLIER)
REQUEUE = lc.TaskFacts(generation=2, failover="Requeue")
NEVER = lc.TaskFacts(generation=2, failover="Never")
WORDS = "output 0 (s3://cn-east-data/results/): store http://cn-east:8333 bucket cn-east-data: PutObject failed: X"


def _pushed(failure: str | None = None, refused: bool = False) -> lc.OutputsPushed:
    state = "Failed" if failure else "Succeeded"
    sent = None if failure else 2048
    output = OutputStatus(
        output=0, uri="s3://cn-east-data/results/", state=state, pods=int(sent is not None), bytes=sent,
        bytes_moved=sent, message=failure,
    )  # fmt: skip
    data = TaskDataStatus(identifier=ID, attempt=1, outputs=[output], bytes_moved=2048, cost=0.5, currency="USD")
    charges = () if failure else (Charge("west-cloud", 0.5, "USD"),)
    return lc.OutputsPushed(data, "west-cloud", 0 if failure else 2048, charges, failure, refused)


def _finished(outputs: lc.OutputsPushed, succeeded: bool = True) -> lc.JobFinished:
    return lc.JobFinished(REMOTE, 1, succeeded, EARLIER, NOW, None, RAN, outputs)


def _cond(status: ComputeTaskStatus, type_: str) -> tuple[str, str]:
    found = next(c for c in status.conditions or () if c.type == type_)
    return str(found.status), str(found.reason)


def test_outputs_that_arrived_are_booked_with_the_attempts_end_and_metered_once() -> None:
    out = lc.transition(RUNNING, _finished(_pushed()), NOW, REQUEUE)
    assert out.status.phase == Phase.SUCCEEDED
    assert out.status.data == _pushed().data
    assert _cond(out.status, ConditionType.OUTPUTS_UPLOADED) == (ConditionStatus.TRUE, Reason.OUTPUTS_UPLOADED)
    (meter,) = [e for e in out.effects if isinstance(e, lc.MeterData)]
    assert meter == lc.MeterData("west-cloud", "team-a", 2048, (Charge("west-cloud", 0.5, "USD"),))
    # The same end read again (a second watch event) books nothing: the task is finished.
    again = lc.transition(out.status, _finished(_pushed()), NOW, REQUEUE)
    assert again.status is out.status
    assert not [e for e in again.effects if isinstance(e, lc.MeterData)]


@pytest.mark.parametrize(
    ("facts", "refused", "phase", "avoided"),
    [
        pytest.param(REQUEUE, True, Phase.FAILED, False,
                     id="the store refused: the task fails whatever the policy, a second run would be refused too"),
        pytest.param(NEVER, False, Phase.FAILED, False, id="a push that may pass, under Never: the task fails"),
        pytest.param(REQUEUE, False, Phase.PENDING, True,
                     id="a push that may pass, under Requeue: a new attempt runs the work, elsewhere for a while"),
    ],
)  # fmt: skip
def test_a_workload_that_succeeded_without_its_outputs_arriving_does_not_succeed(
    facts: lc.TaskFacts, refused: bool, phase: Phase, avoided: bool
) -> None:
    out = lc.transition(RUNNING, _finished(_pushed(WORDS, refused)), NOW, facts)
    assert out.status.phase == phase
    uploaded = next(c for c in out.status.conditions or () if c.type == ConditionType.OUTPUTS_UPLOADED)
    assert (uploaded.status, uploaded.reason, uploaded.message) == (
        ConditionStatus.FALSE, Reason.OUTPUTS_UPLOAD_FAILED, WORDS
    )  # fmt: skip
    assert out.status.message is not None
    assert WORDS in out.status.message
    assert out.status.cost is not None
    assert out.status.cost.amount == pytest.approx(RAN.cost)  # the compute ran: it is the task's cost
    assert bool(out.status.avoided_identifiers) is avoided
    assert out.status.data is not None
    assert out.status.data.outputs is not None
    assert out.status.data.outputs[0].state == "Failed"
    emitted = [e for e in out.effects if isinstance(e, lc.Emit)]
    assert emitted[0].warning
    assert any(isinstance(e, lc.Release) for e in out.effects)


def test_a_failed_workload_keeps_its_own_failure_and_books_what_its_pods_pushed() -> None:
    out = lc.transition(RUNNING, _finished(_pushed(WORDS, refused=True), succeeded=False), NOW, REQUEUE)
    assert out.status.phase == Phase.FAILED
    assert out.status.message == "Job computenet-workloads/t-0a1b2c3d-1 failed"
    assert _cond(out.status, ConditionType.OUTPUTS_UPLOADED) == (ConditionStatus.FALSE, Reason.OUTPUTS_UPLOAD_FAILED)


def test_an_end_without_outputs_read_is_as_before() -> None:
    out = lc.transition(RUNNING, lc.JobFinished(REMOTE, 1, True, EARLIER, NOW, None, RAN), NOW, REQUEUE)
    assert out.status.phase == Phase.SUCCEEDED
    assert out.status.data is None
    assert not any(c.type == ConditionType.OUTPUTS_UPLOADED for c in out.status.conditions or ())
    assert not [e for e in out.effects if isinstance(e, lc.MeterData)]
