"""What the agent must do to bring its member in line with its ComputeWork (pure).

Each pass compares the works the hub holds for this agent with the Jobs the agent created in its
member (both as watched) and returns actions:

* a work without its Job is created (unless the member refused it for good), unless the work says
  its Job existed before (a Job UID in its status): such a Job was deleted in the member, and
  creating it again would run the attempt twice, so once a direct read confirms it is gone the work
  is marked ``JobGone`` and the hub decides (as it does for a push Job gone);
* a Job whose status differs from what its work mirrors is mirrored (Applied=True, Created or
  Adopted: a Job found before its work said so was made by this agent before a restart);
* a Job whose work is gone is deleted: the hub removed an older attempt (fencing), a cancelled task's
  attempt, or an orphan. Only once both watches have listed, so a Job is never taken for an orphan
  because the works were not read yet.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from computenet.agent.kinds import work_kind
from computenet.api.constants import ConditionType, Reason
from computenet.workloads.kinds import JOB, Kind, WorkloadError

__all__ = [
    "WARNING",
    "Create",
    "Delete",
    "JobView",
    "MarkGone",
    "Mirror",
    "WorkView",
    "job_view",
    "plan",
    "podless",
    "work_view",
    "workload_view",
]


@dataclass(frozen=True)
class WorkView:
    """A ComputeWork as the agent reads it."""

    name: str
    manifest: Mapping[str, Any]
    job: Mapping[str, Any] | None
    """``status.job`` as last written (JSON)."""
    applied: str | None
    """``status`` of the Applied condition: "True", "False" or None."""
    applied_reason: str | None
    deleting: bool = False
    kind: Kind | None = JOB
    """The workload's kind (a declared one with the status rules the work carries); None when unreadable."""
    problem: str = ""
    """Why the kind is unreadable (``kind`` None)."""
    dependencies: Sequence[Mapping[str, Any]] = field(default=(), compare=False)
    """The ConfigMaps, Secrets and ResourceClaimTemplates to create with the workload (``spec.dependencies``)."""

    @property
    def job_key(self) -> str:
        meta = self.manifest.get("metadata") or {}
        return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


@dataclass(frozen=True)
class JobView:
    """A Job this agent created in its member, reduced to what the work mirrors."""

    namespace: str
    name: str
    mirror: Mapping[str, Any]
    """The ``status.job`` value (JSON) the work should hold for this Job."""
    deleting: bool
    kind: Kind = JOB


@dataclass(frozen=True)
class Create:
    work: WorkView


@dataclass(frozen=True)
class Mirror:
    work: WorkView
    job: Mapping[str, Any]
    reason: str


@dataclass(frozen=True)
class MarkGone:
    work: WorkView


@dataclass(frozen=True)
class Delete:
    namespace: str
    name: str
    kind: Kind = JOB


Action = Create | Mirror | MarkGone | Delete

_MIRRORED = ("active", "ready", "succeeded", "failed", "startTime", "completionTime")


def job_view(obj: Mapping[str, Any]) -> JobView:
    """A member Job as the agent keeps it (its watch's extract)."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    mirror: dict[str, Any] = {"namespace": meta.get("namespace", ""), "name": meta["name"], "uid": meta.get("uid")}
    for key in _MIRRORED:
        if status.get(key) is not None:
            mirror[key] = status[key]
    conditions = [
        {k: c[k] for k in ("type", "status", "reason", "message", "lastTransitionTime") if c.get(k) is not None}
        for c in status.get("conditions") or ()
        if isinstance(c, Mapping)
    ]
    if conditions:
        mirror["conditions"] = conditions
    return JobView(meta.get("namespace", ""), meta["name"], mirror, bool(meta.get("deletionTimestamp")))


def workload_view(kind: Kind, obj: Mapping[str, Any]) -> JobView:
    """A member workload of `kind` as the agent keeps it (its watch's extract).

    A Job by :func:`job_view`; another kind with its apiVersion, kind and whole status, which the hub
    reads by the kind's rule.
    """
    if kind is JOB:
        return job_view(obj)
    meta = obj.get("metadata") or {}
    mirror: dict[str, Any] = {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
        "uid": meta.get("uid"),
        "status": dict(obj.get("status") or {}),
    }
    return JobView(meta.get("namespace", ""), meta["name"], mirror, bool(meta.get("deletionTimestamp")), kind)


def work_view(obj: Mapping[str, Any]) -> WorkView:
    """A ComputeWork as the agent keeps it (its watch's extract)."""
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    try:
        kind: Kind | None = work_kind(spec)
        problem = ""
    except WorkloadError as e:
        kind, problem = None, str(e)
    applied = next(
        (
            c
            for c in status.get("conditions") or ()
            if isinstance(c, Mapping) and c.get("type") == ConditionType.APPLIED
        ),
        {},
    )
    return WorkView(
        name=obj["metadata"]["name"],
        manifest=spec.get("manifest") or {},
        job=status.get("job"),
        applied=applied.get("status"),
        applied_reason=applied.get("reason"),
        deleting=bool(obj["metadata"].get("deletionTimestamp")),
        kind=kind,
        problem=problem,
        dependencies=tuple(d for d in spec.get("dependencies") or () if isinstance(d, Mapping)),
    )


WARNING = "warning"  # MemberJob.warning (api/work.py)
"""The key of ``status.job`` where the agent puts the member's newest Warning event about a Job that
has no pod (a quota refusing them, say): the hub ends such an attempt with these words."""


def _same(mirrored: Mapping[str, Any] | None, job: Mapping[str, Any]) -> bool:
    if mirrored is None:
        return False
    keys = (set(job) | set(mirrored)) - {WARNING}
    return all(mirrored.get(k) == job.get(k) for k in keys)


def podless(job: JobView, kind: Kind | None = None) -> bool:
    """Whether the workload's controller has made no pod yet (then the member's Warning events are worth reading).

    A Job: ``active + succeeded + failed == 0``; a declared ``kind``: none of its status rules holds
    yet (it is Pending); another kind: no replica in its status.
    """
    if kind is not None and kind.rules is not None:
        return kind.rules.observe({"status": job.mirror.get("status") or {}}).phase == "Pending"
    if job.kind is not JOB:
        return not (job.mirror.get("status") or {}).get("replicas")
    return not any((job.mirror.get(k) or 0) > 0 for k in ("active", "succeeded", "failed"))


def plan(
    works: Mapping[str, WorkView],
    jobs: Mapping[str, JobView],
    synced: bool,
    waiting: Collection[str] = frozenset(),
) -> list[Action]:
    """The actions of one pass. ``works`` by name, ``jobs`` by ``namespace/name``; pure.

    ``synced``: the works and the built-in kinds' workloads are listed. ``waiting``: the group resources
    (``Kind.group_resource``) of declared kinds whose watch has not listed yet: their works are not
    created (the object may exist unlisted) nor their objects taken for orphans, while the other
    kinds go on.
    """
    actions: list[Action] = []
    wanted: set[str] = set()
    for work in works.values():
        if work.deleting:
            continue
        wanted.add(work.job_key)
        job = jobs.get(work.job_key)
        if job is not None:
            if work.applied != "True":
                actions.append(Mirror(work, job.mirror, Reason.ADOPTED))
            elif not _same(work.job, job.mirror):
                actions.append(Mirror(work, job.mirror, work.applied_reason or Reason.CREATED))
            continue
        if not synced or (work.kind is not None and work.kind.group_resource in waiting):
            continue  # the Job may exist and not be listed yet: creating now could only answer 409
        if work.applied == "False" and work.applied_reason == Reason.INVALID_SPEC:
            continue  # the member refused this Job for good; the hub has ended the attempt
        if work.job is not None and work.job.get("uid"):
            if work.applied_reason != Reason.JOB_GONE:
                actions.append(MarkGone(work))
            continue
        actions.append(Create(work))
    if synced:
        for key, job in jobs.items():
            if key not in wanted and not job.deleting and job.kind.group_resource not in waiting:
                actions.append(Delete(job.namespace, job.name, job.kind))
    return actions
