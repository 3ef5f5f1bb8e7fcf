"""The bound on a serving workload's unavailability (pure).

A serving kind (Deployment, StatefulSet, LeaderWorkerSet, RayCluster) never ends by itself: it
is Running while every replica is available (``workloads/status.py``). Its pods may start and
still never become ready (a readiness probe that never passes, a model that never loads), or a
Running one may lose its replicas for good; the pod-start bound (``startup.py``) sees neither,
since its containers run. Without a bound such a task would hold its capacity and its quota,
metered, for ever, and a StatefulSet whose first pod never becomes Ready (OrderedReady creates
the next one only then) would wait for ever. So the attempt ends after
``spec.failover.unavailableSeconds`` and the failover policy applies, quoting the member's own words.

The count starts at dispatch (``Dispatched=True``) until the replicas first are all available,
and from the moment a Running task's replicas were seen unavailable (``Available=False``, which
``ReplicasUnavailable`` writes) afterwards; both are times in the task's status, so an operator
restart neither resets nor lengthens the wait. A Deployment past its ``progressDeadlineSeconds``
(``Progressing=False``, ``ProgressDeadlineExceeded``) is its controller's own verdict that it will
not progress: the attempt ends at once. Peers: Kueue's ``waitForPodsReady`` also counts
``recoveryTimeout`` for a workload that was ready and lost it (kubernetes-sigs/kueue
``apis/config/v1beta1/configuration_types.go``, ``WaitForPodsReady.RecoveryTimeout``).

Pure: the follower gathers the view and delivers the verdict as ``UnavailableTooLong``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from computenet.api.constants import ConditionStatus, ConditionType, Phase
from computenet.api.task import ComputeTaskStatus
from computenet.tasks.lifecycle.vocabulary import condition, phase_of


@dataclass(frozen=True)
class ServingView:
    """What the task and its member show of a serving attempt that is not available.

    ``since``: when the wait began (see :func:`unavailable_since`); ``ran``: whether the attempt was
    Running (available once) when it began; ``words``: the member's words
    (``workloads.status.Observed.message``); ``stalled``: its controller gave up.
    """

    since: dt.datetime
    ran: bool
    words: str
    stalled: bool = False


def unavailable_since(status: ComputeTaskStatus) -> tuple[dt.datetime, bool] | None:
    """When the current attempt's wait for availability began, and whether it had been available.

    Dispatching: the ``Dispatched=True`` transition (the workload created in the member); Running:
    the ``Available=False`` transition. None when nothing is waited for (Running and available,
    not dispatched yet, or finished).
    """
    phase = phase_of(status)
    if phase == Phase.DISPATCHING:
        dispatched = condition(status, ConditionType.DISPATCHED)
        if dispatched is None or dispatched.status != ConditionStatus.TRUE or dispatched.last_transition_time is None:
            return None
        return dispatched.last_transition_time, False
    if phase == Phase.RUNNING:
        available = condition(status, ConditionType.AVAILABLE)
        if available is None or available.status != ConditionStatus.FALSE or available.last_transition_time is None:
            return None
        return available.last_transition_time, True
    return None


def unavailable_too_long(view: ServingView, now: dt.datetime, bound_s: float) -> str | None:
    """Why the attempt ends (the member's words quoted), or None while it is within its bound."""
    waited = max((now - view.since).total_seconds(), 0.0)
    if view.stalled:
        return f"its controller gave up bringing the replicas up ({waited:.0f}s after dispatch): {view.words}"
    if waited <= bound_s:
        return None
    if view.ran:
        return f"replicas unavailable for {waited:.0f}s (spec.failover.unavailableSeconds: {bound_s:.0f}): {view.words}"
    return (
        f"replicas not all available {waited:.0f}s after dispatch "
        f"(spec.failover.unavailableSeconds: {bound_s:.0f}): {view.words}"
    )
