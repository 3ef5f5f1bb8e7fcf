"""Which pod's log a request means: the task's Job of one attempt, one replica, in its member.

Pure choice over pod objects as the member lists them: the pods of the attempt (origin labels),
the replica by its completion index (``batch.kubernetes.io/job-completion-index``, set on every
pod of an Indexed Job, k8s.io/api v0.36.3 ``batch/v1/types.go``), and among retries of that
index the newest pod.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from computenet.api.constants import ATTEMPT_LABEL, TASK_UID_LABEL
from computenet.dispatch.naming import label_value

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"


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


def choose_pod(pods: Sequence[Mapping[str, Any]], replica: int) -> PodRef | None:
    """The newest pod of `replica` (a pod without an index is replica 0), or None."""
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
