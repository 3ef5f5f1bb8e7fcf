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
* LeaderWorkerSet (sigs.k8s.io/lws v0.7.0 api/leaderworkerset/v1): condition ``Available``.
* Deployment: ``availableReplicas`` reaching ``replicas``; condition ``Progressing`` false with
  reason ``ProgressDeadlineExceeded`` fails it (k8s.io/api v0.36.3 apps/v1). StatefulSet:
  ``availableReplicas`` reaching ``replicas``.
* Pod: ``status.phase``.
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


def _raycluster(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Observed:
    return Observed("Running" if status.get("state") == "ready" else "Pending")


def _available(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Observed:
    conditions = {str(c.get("type")): c for c in status.get("conditions") or () if isinstance(c, Mapping)}
    progressing = conditions.get("Progressing") or {}
    if progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Observed("Failed", _said(progressing, "ProgressDeadlineExceeded"))
    wanted = spec.get("replicas")
    wanted = 1 if wanted is None else _count(wanted)
    if _count(status.get("availableReplicas")) >= wanted:
        return Observed("Running")
    return Observed("Pending")


def _lws(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Observed:
    return Observed("Running" if "Available" in _conditions(status) else "Pending")


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
