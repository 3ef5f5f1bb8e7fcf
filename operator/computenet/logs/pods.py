"""Which pod's log a request means: the task's workload of one attempt, one replica, in its member.

Pure choice over pod objects as the member lists them: the pods of the attempt (origin labels),
the replica by its completion index (``batch.kubernetes.io/job-completion-index``, set on every
pod of an Indexed Job, k8s.io/api v0.36.3 ``batch/v1/types.go``), and among retries of that
index the newest pod.

A workload of several roles (a JobSet, a LeaderWorkerSet, Ray) labels each role's pods with
``computenet.io/role``; with a role, the replicas are that role's pods, numbered in the order their
controllers give them: a JobSet's child Job index (``jobset.sigs.k8s.io/job-index``) then the
completion index, a LeaderWorkerSet's group (``leaderworkerset.sigs.k8s.io/group-index``) then
worker index (``leaderworkerset.sigs.k8s.io/worker-index``), and otherwise the pod's name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from computenet.api.constants import ATTEMPT_LABEL, ROLE_LABEL, TASK_UID_LABEL
from computenet.dispatch.naming import label_value

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
ORDER_LABELS = (
    "jobset.sigs.k8s.io/job-index",
    COMPLETION_INDEX,
    "leaderworkerset.sigs.k8s.io/group-index",
    "leaderworkerset.sigs.k8s.io/worker-index",
)
"""The labels that number a role's pods, most significant first (see the module)."""


@dataclass(frozen=True)
class PodRef:
    namespace: str
    name: str
    phase: str
    created: str


def pods_selector(task_uid: str, attempt: int) -> str:
    return f"{TASK_UID_LABEL}={label_value(task_uid)},{ATTEMPT_LABEL}={label_value(str(attempt))}"


def _index(meta: Mapping[str, Any]) -> int | None:
    for source in (meta.get("labels") or {}, meta.get("annotations") or {}):
        value = source.get(COMPLETION_INDEX)
        if value is not None and str(value).isdigit():
            return int(value)
    return None


def _slot(meta: Mapping[str, Any]) -> tuple[Any, ...]:
    """Where a pod of a role stands among its replicas (retries of one replica share it)."""
    labels = meta.get("labels") or {}
    numbers = tuple(int(v) if str(v := labels.get(k, "")).isdigit() else -1 for k in ORDER_LABELS)
    return (*numbers, "" if any(n >= 0 for n in numbers) else str(meta.get("name") or ""))


def roles_of(pods: Sequence[Mapping[str, Any]]) -> list[str]:
    """The roles the pods are labelled with, sorted (none for a Job's, Deployment's or StatefulSet's)."""
    return sorted({str(r) for p in pods if (r := ((p.get("metadata") or {}).get("labels") or {}).get(ROLE_LABEL))})


def choose_pod(pods: Sequence[Mapping[str, Any]], replica: int, role: str | None = None) -> PodRef | None:
    """The newest pod of `replica` (a pod without an index is replica 0), or None.

    With `role`, among that role's pods only, the replica counted in the role's own order (module).
    """
    if role is not None:
        of_role = [p for p in pods if ((p.get("metadata") or {}).get("labels") or {}).get(ROLE_LABEL) == role]
        slots = sorted({_slot(p.get("metadata") or {}) for p in of_role})
        if replica >= len(slots):
            return None
        mine = [p for p in of_role if _slot(p.get("metadata") or {}) == slots[replica]]
    else:
        mine = [p for p in pods if (_index(p.get("metadata") or {}) or 0) == replica]
    if not mine:
        return None
    newest = max(mine, key=lambda p: (str(p["metadata"].get("creationTimestamp") or ""), p["metadata"]["name"]))
    meta = newest["metadata"]
    return PodRef(
        meta.get("namespace") or "",
        meta["name"],
        str((newest.get("status") or {}).get("phase") or ""),
        str(meta.get("creationTimestamp") or ""),
    )
