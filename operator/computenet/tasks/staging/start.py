"""The bound on a mover Job's start: a pod that is never created, finds no node, or cannot start. Pure.

A mover Job can be accepted by the member and still never run: its namespace's ResourceQuota or
LimitRange refuses its pod (the job controller records ``FailedCreate`` and retries for ever), the
member's scheduler finds no node for it, or its container cannot start (the operator's image cannot
be pulled, a Secret it mounts is missing). Its transfer would then stay ``Pending`` and the task
``Dispatching`` for ever. The mover is bounded as a workload's pods are: the same graces per kind of
signal, counted from the Job's creation (``tasks/lifecycle/startup.py``), and a pod the scheduler
cannot place for ``UNSCHEDULABLE_GRACE_S`` (the follower's bound on a workload's pods). Past them the
transfer fails in the member's words, which fails the attempt (``StagingFailed``) for the failover
policy to decide, the identifier avoided for a while.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from computenet.api.fields import parse_time
from computenet.members.facts import pod_facts
from computenet.tasks.lifecycle.startup import Stall, StartView, startup_stall
from computenet.tasks.staging.transfers import job_state

__all__ = ["UNSCHEDULABLE_GRACE_S", "mover_stall"]

UNSCHEDULABLE_GRACE_S = 120.0
"""A mover's pod the member's scheduler cannot place for this long fails its transfer (as for a workload's pods)."""


def mover_stall(job: Mapping[str, Any] | None, pods: Sequence[Mapping[str, Any]], now: dt.datetime) -> Stall | None:
    """Why a mover Job has not started within its bound, or None (not yet, it runs, or it ended).

    ``pods`` are the Job's pods (core/v1 JSON). A pod that ended (the Job retries after a failed run)
    is not a start problem; a Job without a creation time is not judged.
    """
    if job is None or job_state(job)[0] in ("Succeeded", "Failed"):
        return None
    try:
        created = parse_time((job.get("metadata") or {}).get("creationTimestamp"))
    except ValueError:
        return None
    live = [f for pod in pods if (f := pod_facts(pod)) is not None]
    if pods and not live:
        return None  # every pod ended: a retry is coming, the Job's own backoff and deadline bound it
    for facts in live:
        since = facts.unschedulable_since
        if since is not None and (now - since).total_seconds() > UNSCHEDULABLE_GRACE_S:
            waited = (now - since).total_seconds()
            return Stall(f"its pod found no node for {waited:.0f}s: {facts.unschedulable_message}")
    if any(f.node is not None and not f.waiting for f in live):
        return None  # a pod is on a node and starting normally
    stall = startup_stall(StartView(created, [f.waiting for f in live]), now)
    if stall is None:
        return None
    words = stall.message.replace("a pod did not start", "its pod did not start")
    return Stall(words.replace("no pod of the workload", "no pod for it"), stall.no_pods)
