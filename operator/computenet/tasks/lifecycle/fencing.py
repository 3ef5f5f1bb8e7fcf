"""Which Jobs of a task must go (fencing), and which tasks count as stuck."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from computenet.api.constants import ConditionType, Phase, Reason
from computenet.api.task import ComputeTaskStatus
from computenet.dispatch.naming import label_value
from computenet.tasks.lifecycle.vocabulary import WAITING, condition, phase_of

EXPECTED_BOUND_S: dict[Phase, float] = {Phase.DISPATCHING: 300.0, Phase.PENDING: 120.0}
"""How long a phase may last before the task counts as stuck: a dispatch is answered in seconds
(retries included, a task that keeps being refused is worth a look), and a Pending task says why
it waits within one scheduling pass. Running has no bound (a Job runs as long as it runs)."""


def stuck(status: ComputeTaskStatus, since: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a task sits in its phase past the phase's expected bound without a reason.

    A Pending task whose Placed condition says why it waits is waiting, not stuck; a Dispatching task
    whose data is being copied (``DataStaged`` with reason ``Staging``) is staging, which takes as long
    as its bytes take.
    """
    phase = phase_of(status) or Phase.PENDING
    bound = EXPECTED_BOUND_S.get(phase)
    if bound is None or since is None or (now - since).total_seconds() <= bound:
        return False
    if phase == Phase.DISPATCHING:
        staged = condition(status, ConditionType.DATA_STAGED)
        return staged is None or staged.reason != Reason.STAGING
    return not (phase == Phase.PENDING and condition(status, ConditionType.PLACED) is not None)


# ---- fencing ----


@dataclass(frozen=True)
class JobRef:
    identifier: str
    """The identifier label of the Job (the identifier's name as a label value)."""
    attempt: int


def is_stale(job: JobRef, status: ComputeTaskStatus, dispatching: bool = False) -> bool:
    """Whether a Job of the task must go: it is not the current attempt in the current identifier.

    A Job of the current attempt is kept while the task is active or finished normally; it goes
    when the attempt was abandoned (requeued, failed as lost, cancelled). ``dispatching`` is true
    while a create is in flight: nothing is judged then, because the status may not show the
    attempt yet.
    """
    if dispatching:
        return False
    phase = phase_of(status)
    placement = status.placement
    current = (
        placement is not None and label_value(placement.identifier) == job.identifier and status.attempt == job.attempt
    )
    if not current or phase in WAITING or phase is None or phase == Phase.CANCELLED:
        return True
    if phase == Phase.FAILED:
        cond = condition(status, ConditionType.DISPATCHED)
        return cond is not None and cond.reason in _ABANDONED
    return False


_ABANDONED = frozenset(
    {
        Reason.MEMBER_LOST,
        Reason.JOB_GONE,
        Reason.PREEMPTED,
        Reason.UNSCHEDULABLE,
        Reason.PODS_NOT_STARTED,
        Reason.IDENTIFIER_REMOVED,
        Reason.UNAVAILABLE,
    }
)
"""Reasons of a failed attempt whose Job must not stay behind: it never ran, ran where it must not, or
is a serving workload that stayed unavailable (it would hold its nodes for ever)."""
