"""What the operator follows of a dispatched workload (a Job, or another kind), read from the member's watch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from computenet.api.constants import ATTEMPT_LABEL, IDENTIFIER_LABEL, ORIGIN_ANNOTATION, TASK_UID_LABEL
from computenet.api.fields import parse_time
from computenet.api.task import RemoteRef
from computenet.workloads.kinds import JOB, Kind
from computenet.workloads.status import observe


@dataclass(frozen=True, slots=True)
class JobFacts:
    namespace: str
    name: str
    uid: str
    task_uid: str
    attempt: int
    identifier: str
    phase: str  # Pending, Running, Succeeded, Failed
    start_time: dt.datetime | None
    completion_time: dt.datetime | None
    message: str | None
    deleting: bool
    origin: str
    """`<namespace>/<name>` of the ComputeTask on the hub, from the origin annotation."""
    has_pods: bool = False
    """Whether the job controller has made any pod of it (``active + succeeded + failed > 0``)."""
    kind: Kind = JOB
    """The workload's kind (``computenet.workloads.kinds``)."""
    stalled: bool = False
    """A serving workload its own controller gave up bringing up (``workloads.status.Observed.stalled``)."""

    def ref(self, identifier: str) -> RemoteRef:
        """The task status's reference to this workload, dispatched through ``identifier``."""
        return RemoteRef(
            identifier=identifier,
            api_version=self.kind.api_version,
            kind=self.kind.kind,
            namespace=self.namespace,
            name=self.name,
            uid=self.uid or None,
        )

    @property
    def namespace_on_hub(self) -> str:
        return self.origin.partition("/")[0]

    @property
    def task_name(self) -> str:
        return self.origin.partition("/")[2]


def _time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    return parse_time(value)


def job_facts(obj: Mapping[str, Any]) -> JobFacts | None:
    """The facts of a dispatched batch/v1 Job (the Jobs watch's transform)."""
    return workload_facts(JOB, obj)


def workload_facts(kind: Kind, obj: Mapping[str, Any]) -> JobFacts | None:
    """The facts of a dispatched workload of ``kind``, its phase by the kind's rule; None when not ours.

    A Job says when it started and completed, and whether its controller made pods; the other kinds
    carry no such times (the follower takes the time it saw them run) and have pods once they have replicas
    (a JobSet once a replicated Job has pods, a Pod once it is bound).

    What a controller made is never a workload of its own, whatever its kind: a workload's
    controllers copy its labels onto what they create (a Job's pods, a JobSet's Jobs, a
    LeaderWorkerSet's StatefulSets), and what the operator creates has no controller owner.
    """
    meta = obj["metadata"]
    labels = meta.get("labels") or {}
    task_uid = labels.get(TASK_UID_LABEL)
    owners = meta.get("ownerReferences") or ()
    if not task_uid or any(isinstance(o, Mapping) and o.get("controller") for o in owners):
        return None
    observed = observe(kind, obj)
    status = obj.get("status") or {}
    try:
        attempt = int(labels.get(ATTEMPT_LABEL, "0"))
    except ValueError:
        attempt = 0
    start = completion = None
    if kind is JOB:
        failed: Mapping[str, Any] = next(
            (c for c in status.get("conditions") or () if c.get("type") == "Failed" and c.get("status") == "True"), {}
        )
        start = _time(status.get("startTime"))
        completion = _time(status.get("completionTime")) or _time(failed.get("lastTransitionTime"))
        has_pods = any((status.get(k) or 0) > 0 for k in ("active", "succeeded", "failed"))
    elif kind.rules is not None:
        # Declared on the hub: its pods are visible only where a role's template carries the origin
        # labels, so its start is judged by those pods (if any), never by an absence of pods.
        has_pods = True
    elif kind.kind == "Pod":
        has_pods = bool((obj.get("spec") or {}).get("nodeName"))
    elif kind.kind == "JobSet":
        has_pods = any(
            (j.get(k) or 0) > 0
            for j in status.get("replicatedJobsStatus") or ()
            for k in ("active", "ready", "succeeded")
        )
    else:
        has_pods = (status.get("replicas") or 0) > 0
    return JobFacts(
        namespace=meta.get("namespace", ""),
        name=meta["name"],
        uid=meta.get("uid", ""),
        task_uid=task_uid,
        attempt=attempt,
        identifier=labels.get(IDENTIFIER_LABEL, ""),
        phase=observed.phase,
        start_time=start,
        completion_time=completion,
        message=observed.message,
        deleting=bool(meta.get("deletionTimestamp")),
        origin=(meta.get("annotations") or {}).get(ORIGIN_ANNOTATION, ""),
        has_pods=has_pods,
        kind=kind,
        stalled=observed.stalled,
    )
