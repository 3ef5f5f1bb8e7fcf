"""How a dispatched workload's own status reads as the phase of its attempt (pure).

Each kind's controller reports progress in its own words; this module maps them onto the four
phases the task lifecycle follows: ``Pending`` (created, not yet running), ``Running``,
``Succeeded`` and ``Failed`` (with the controller's message). Serving kinds (Deployment,
StatefulSet, LeaderWorkerSet, RayCluster) never succeed: they are Running while available and end
when their task is deleted. Sources (field names and values):

* Job: conditions ``Complete`` / ``Failed`` (k8s.io/api v0.36.3 batch/v1); Running once a pod is
  ready or one has succeeded.
* JobSet (sigs.k8s.io/jobset v0.10.1 api/jobset/v1alpha2): conditions ``Completed`` / ``Failed``;
  ``replicatedJobsStatus[].ready|succeeded`` for Running.
* RayJob (ray-project/kuberay v1.5.0 ray-operator/apis/ray/v1): ``jobDeploymentStatus``
  ``Complete`` with ``jobStatus`` ``SUCCEEDED``, or ``Failed`` / ``ValidationFailed`` with
  ``message``; ``jobStatus`` ``RUNNING`` for Running. RayCluster: ``state`` ``ready``.
* LeaderWorkerSet (sigs.k8s.io/lws v0.7.0 api/leaderworkerset/v1): condition ``Available``
  (reason ``AllGroupsReady``); short of it, ``readyReplicas`` of ``replicas`` groups and the
  ``Progressing`` / ``UpdateInProgress`` conditions (pkg/controllers/leaderworkerset_controller.go,
  ``makeCondition``) are its words.
* Deployment: ``availableReplicas`` reaching ``replicas``; short of it, ``Available=False``
  (``MinimumReplicasUnavailable``), ``Progressing=False`` and ``ReplicaFailure=True`` are its words,
  and ``Progressing=False`` with reason ``ProgressDeadlineExceeded`` says the controller gave up
  (``stalled``; k8s.io/api v0.36.3 apps/v1, k8s.io/kubernetes v1.36.3
  pkg/controller/deployment/util/deployment_util.go). StatefulSet: ``availableReplicas`` reaching
  ``replicas`` (its controller sets no conditions: the counts are its words).
* Pod: ``status.phase``.

A serving kind short of availability reads ``Pending`` with the member's words in ``message``: the
unavailability bound (``tasks/lifecycle/serving.py``) quotes them when it ends the attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from computenet.workloads.kinds import Kind

Phase = Literal["Pending", "Running", "Succeeded", "Failed"]


@dataclass(frozen=True)
class Observed:
    phase: Phase
    message: str | None = None
    """Why it failed, or, for a serving kind not available, the member's words about it."""
    stalled: bool = False
    """A serving kind's controller itself gave up bringing it up (a Deployment past its
    ``progressDeadlineSeconds``): waiting longer cannot help."""


def _conditions(status: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        str(c.get("type")): c
        for c in status.get("conditions") or ()
        if isinstance(c, Mapping) and c.get("status") == "True"
    }


def _said(cond: Mapping[str, Any], default: str) -> str:
    return f"{cond.get('reason') or default}: {cond.get('message') or ''}".rstrip(": ")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _job(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Observed:
    conditions = _conditions(status)
    if "Failed" in conditions:
        return Observed("Failed", _said(conditions["Failed"], "Failed"))
    if "Complete" in conditions:
        return Observed("Succeeded")
    if _count(status.get("ready")) > 0 or _count(status.get("succeeded")) > 0:
        return Observed("Running")
    return Observed("Pending")


def _jobset(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Observed:
    conditions = _conditions(status)
    if "Failed" in conditions:
        return Observed("Failed", _said(conditions["Failed"], "Failed"))
    if "Completed" in conditions:
        return Observed("Succeeded")
    jobs = [j for j in status.get("replicatedJobsStatus") or () if isinstance(j, Mapping)]
    if any(_count(j.get("ready")) > 0 or _count(j.get("succeeded")) > 0 for j in jobs):
        return Observed("Running")
    return Observed("Pending")


def _rayjob(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Observed:
    deployment = status.get("jobDeploymentStatus")
    job = status.get("jobStatus")
    message = status.get("message") or None
    if deployment in ("Failed", "ValidationFailed") or job in ("FAILED", "STOPPED"):
        return Observed("Failed", f"{deployment or job}: {message}" if message else str(deployment or job))
    if deployment == "Complete" or job == "SUCCEEDED":
        return Observed("Succeeded")
    if job == "RUNNING" or deployment == "Running":
        return Observed("Running")
    return Observed("Pending")


def _wanted(spec: Mapping[str, Any]) -> int:
    wanted = spec.get("replicas")
    return 1 if wanted is None else _count(wanted)


def _words(counts: str, status: Mapping[str, Any], telling: Mapping[str, str]) -> str:
    """``counts`` and, in the member's words, each condition whose type and status are in ``telling``."""
    said = []
    for c in status.get("conditions") or ():
        if isinstance(c, Mapping) and telling.get(str(c.get("type"))) == c.get("status"):
            head = f"{c.get('type')}={c.get('status')}" + (f" {c['reason']}" if c.get("reason") else "")
            said.append(f"{head}: {c['message']}" if c.get("message") else head)
    return "; ".join([counts, *said])


_DEPLOYMENT_WORDS = {"Available": "False", "Progressing": "False", "ReplicaFailure": "True"}
_LWS_WORDS = {"Progressing": "True", "UpdateInProgress": "True"}
"""Not ``Available=False``: the controller flips Available's status and keeps its words ("All replicas
are ready", lws v0.7.0 ``setCondition``)."""
_RAY_WORDS = {"HeadPodReady": "False", "RayClusterProvisioned": "False", "RayClusterReplicaFailure": "True"}


def _raycluster(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Observed:
    state = status.get("state")
    if state == "ready":
        return Observed("Running")
    reason = status.get("reason")
    counts = f"state {state or 'not reported'}" + (f" ({reason})" if reason else "")
    return Observed("Pending", _words(counts, status, _RAY_WORDS))


def _available(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Observed:
    wanted = _wanted(spec)
    available = _count(status.get("availableReplicas"))
    if available >= wanted:
        return Observed("Running")
    progressing = next(
        (c for c in status.get("conditions") or () if isinstance(c, Mapping) and c.get("type") == "Progressing"), {}
    )
    stalled = progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded"
    counts = f"{available}/{wanted} replicas available ({_count(status.get('readyReplicas'))} ready)"
    return Observed("Pending", _words(counts, status, _DEPLOYMENT_WORDS), stalled=stalled)


def _lws(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Observed:
    if "Available" in _conditions(status):
        return Observed("Running")
    counts = f"{_count(status.get('readyReplicas'))}/{_wanted(spec)} groups ready"
    return Observed("Pending", _words(counts, status, _LWS_WORDS))


def _pod(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Observed:
    phase = status.get("phase")
    if phase == "Failed":
        said = f"{status.get('reason') or 'Failed'}: {status.get('message') or ''}".rstrip(": ")
        return Observed("Failed", said)
    if phase in ("Running", "Succeeded"):
        return Observed(phase)
    return Observed("Pending")


_RULES = {
    "Job": _job,
    "JobSet": _jobset,
    "RayJob": _rayjob,
    "RayCluster": _raycluster,
    "LeaderWorkerSet": _lws,
    "Deployment": _available,
    "StatefulSet": _available,
    "Pod": _pod,
}


def observe(kind: Kind, obj: Mapping[str, Any]) -> Observed:
    """The phase of a remote object of ``kind`` (its whole JSON), by its kind's rule."""
    if kind.rules is not None:  # declared on the hub (computenet.workloads.declared)
        return kind.rules.observe(obj)
    spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else {}
    status = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
    return _RULES[kind.kind](spec or {}, status or {})
