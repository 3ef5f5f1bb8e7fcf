"""The hub side of a pull member's Jobs: ComputeWork objects in the provider's namespace.

:class:`WorkClient` has the contract of :class:`~computenet.dispatch.remote.RemoteJobs` (create or
adopt, read, delete; every failure a :class:`~computenet.dispatch.remote.MemberAnswer`), so the
dispatcher, the follower, cancellation and the orphan sweep treat a pull member as they treat a
push member; only the object they write is a ComputeWork on the hub instead of a Job in the member.

:func:`work_facts` reads a ComputeWork into the same :class:`~computenet.dispatch.jobs.JobFacts`
the push watch produces, by the same rule (:func:`~computenet.dispatch.jobs.job_facts`) applied to
the Job the agent mirrored into the work's status.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import aiohttp
from kubernetes.aio.client import ApiClient, CustomObjectsApi
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.constants import (
    AGENT_LABEL,
    ATTEMPT_LABEL,
    GROUP,
    IDENTIFIER_LABEL,
    TASK_UID_LABEL,
    VERSION,
    WORK,
    ConditionType,
    Reason,
)
from computenet.api.work import MAX_WORK_DEPENDENCY_BYTES
from computenet.dispatch.jobs import JobFacts, job_facts, workload_facts
from computenet.dispatch.remote import DependencyInUse, MemberAnswer, OwnerRef
from computenet.dispatch.store import JobStore
from computenet.workloads.declared import DeclarationError, compile_follow, follow_spec
from computenet.workloads.kinds import JOB, Kind, kind_named, kind_of

__all__ = ["WorkClient", "member_job", "unconfirmed", "work_facts", "work_kind"]

_TIMEOUT_S = 15
CONFIRM_TIMEOUT_S = 10.0
"""How long a dispatch waits for the agent to report the Job it created (agents act within a second)."""
_CONFIRM_POLL_S = 0.05
_TRANSIENT = (aiohttp.ClientError, TimeoutError, OSError)


def _applied(status: Mapping[str, Any]) -> Mapping[str, Any]:
    for cond in status.get("conditions") or ():
        if isinstance(cond, Mapping) and cond.get("type") == ConditionType.APPLIED:
            return cond
    return {}


def work_kind(spec: Mapping[str, Any]) -> Kind:
    """The kind of a work's workload: as the hub declares it now, else as the work carries it, else by the manifest.

    A work of a declared kind carries its status rules (``spec.workloadKind``), so an attempt is still
    read back after its ComputeWorkloadKind was withdrawn (push mode can no longer read such an attempt).
    """
    manifest = spec.get("manifest") or {}
    kind = kind_named(manifest.get("apiVersion"), manifest.get("kind"))
    carried = spec.get("workloadKind")
    if kind is not JOB or not isinstance(carried, Mapping) or manifest.get("kind") in (None, "Job"):
        return kind
    try:
        return compile_follow(carried)
    except DeclarationError:
        return kind


def member_job(work: Mapping[str, Any]) -> dict[str, Any] | None:
    """The member's Job as the work's status mirrors it (JSON, like a Job read from the member).

    None when the Job is known to be gone from the member (the agent set Applied=False, JobGone):
    to the hub that is a Job that does not exist, as a 404 from a push member is.
    """
    spec = work.get("spec") or {}
    status = work.get("status") or {}
    manifest = spec.get("manifest") or {}
    meta = dict(manifest.get("metadata") or {})
    applied = _applied(status)
    if applied.get("reason") == Reason.JOB_GONE:
        return None
    job = status.get("job") or {}
    job_status: dict[str, Any] = {
        k: v for k, v in job.items() if k in ("active", "ready", "succeeded", "failed", "startTime", "completionTime")
    }
    job_status["conditions"] = list(job.get("conditions") or ())
    if applied.get("status") == "False" and applied.get("reason") == Reason.INVALID_SPEC:
        # The member refused the Job for good: to the task that is a failed Job, with the member's words.
        job_status["conditions"].append(
            {"type": "Failed", "status": "True", "reason": "MemberRefused", "message": applied.get("message", "")}
        )
    meta["uid"] = job.get("uid") or ""
    if (work.get("metadata") or {}).get("deletionTimestamp"):
        meta["deletionTimestamp"] = work["metadata"]["deletionTimestamp"]
    kind = work_kind(spec)
    if kind is not JOB:  # the agent mirrors another kind's whole status (MemberJob.status), beside the spec sent
        out = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": meta, "status": job.get("status") or {}}
        if isinstance(manifest.get("spec"), Mapping):
            out["spec"] = manifest["spec"]  # a declared kind's CEL may compare status with spec
        return out
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "status": job_status}


def work_facts(work: Mapping[str, Any]) -> JobFacts | None:
    """The Job facts of a ComputeWork, by the push watch's rule; None when its Job is gone or foreign."""
    obj = member_job(work)
    if obj is None:
        return None
    kind = work_kind(work.get("spec") or {})
    if kind is JOB:
        return job_facts(obj)
    facts = workload_facts(kind, obj)
    applied = _applied(work.get("status") or {})
    if facts is not None and applied.get("status") == "False" and applied.get("reason") == Reason.INVALID_SPEC:
        # The member (or the agent) refused it for good: a failed workload, in its words, as for a Job.
        return dataclasses.replace(facts, phase="Failed", message=str(applied.get("message") or ""))
    return facts


def unconfirmed(late: str, status: Mapping[str, Any]) -> MemberAnswer:
    """The answer for a work whose Job the agent has not reported in time, from the work's `status` (pure).

    `late` says how long was waited. An Applied=False condition adds the agent's words; its
    ``DependencyInUse`` (another task's copy of a dependency, of older content, is in the member) is
    that answer itself, naming the object as a push member's does. Both are retryable.
    """
    applied = _applied(status)
    said = str(applied.get("message") or "") if applied.get("status") == "False" else ""
    if said and applied.get("reason") == Reason.DEPENDENCY_IN_USE:
        return DependencyInUse(said)
    return MemberAnswer(None, f"{late}: it says {applied.get('reason')}: {said}" if said else late)


class WorkClient:
    """Create, adopt, read and delete ComputeWork for one agent (the RemoteJobs contract)."""

    def __init__(self, client: ApiClient, namespace: str, agent: str, jobs: JobStore) -> None:
        self.client = client
        self.namespace = namespace
        self.agent = agent
        self.jobs = jobs
        """The agent's Job store (fed from the works' status): where the agent's confirmation shows."""
        self._custom = CustomObjectsApi(client)
        self._dependencies: dict[tuple[str, str], list[dict[str, Any]]] = {}
        """Copies `put_dependencies` holds for the work of an attempt (task UID, attempt) until `create` writes it."""

    async def _confirmed(self, name: str) -> str:
        """The member Job's UID once the agent reports it; MemberAnswer if it does not within the timeout.

        A work the agent refused for good (Applied=False ``InvalidSpec``: a Job that failed without
        ever existing) is a refusal for good at once (422, in the agent's words), as a push member's
        422 is.
        """
        key = f"{self.namespace}/{name}"
        deadline = asyncio.get_running_loop().time() + CONFIRM_TIMEOUT_S
        while True:
            facts = self.jobs.jobs.get(key)
            if facts is not None and facts.uid:
                return facts.uid
            if facts is not None and facts.phase == "Failed":
                raise MemberAnswer(422, facts.message or f"agent {self.namespace}/{self.agent} refused the work")
            if asyncio.get_running_loop().time() > deadline:
                await self._not_confirmed(name)
            await asyncio.sleep(_CONFIRM_POLL_S)

    async def _not_confirmed(self, name: str) -> NoReturn:
        """Raise the answer for a work whose Job the agent has not reported: in the agent's words when it gave some.

        An agent waiting for another task's copy of a dependency to go (Applied=False ``DependencyInUse``)
        is that answer, naming the object, as a push member's is.
        """
        key = f"{self.namespace}/{name}"
        late = (
            f"agent {self.namespace}/{self.agent} has not created the Job of ComputeWork {key} "
            f"within {CONFIRM_TIMEOUT_S:.0f}s"
        )
        raise unconfirmed(late, ((await self._get(name)) or {}).get("status") or {})

    def _work(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        meta = manifest["metadata"]
        labels = dict(meta.get("labels") or {})
        labels[AGENT_LABEL] = self.agent
        spec: dict[str, Any] = {
            "agent": self.agent,
            "identifier": labels.get(IDENTIFIER_LABEL, ""),
            "manifest": dict(manifest),
        }
        kind = kind_of(manifest)
        if kind.rules is not None:
            spec["workloadKind"] = follow_spec(kind)
        copies = self._dependencies.pop(_attempt(labels), None)
        if copies:
            spec["dependencies"] = copies
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": WORK.kind,
            "metadata": {"name": meta["name"], "namespace": self.namespace, "labels": labels},
            "spec": spec,
        }

    async def create(self, manifest: Mapping[str, Any]) -> tuple[str, bool]:
        """Create the attempt's work, or adopt the one there, and wait for its Job. Raises MemberAnswer.

        Returns (the member Job's UID, adopted) once the agent has created the Job and said so in the
        work's status, so that, as in push mode, a created dispatch means the Job exists in the member.
        An agent that does not confirm within :data:`CONFIRM_TIMEOUT_S` is an answer that may change
        (retryable); the retry finds the work there (409) and waits again.
        """
        kind_of(manifest)  # a kind the hub cannot read back is refused before it reaches the agent
        work = self._work(manifest)
        name = work["metadata"]["name"]
        try:
            await self._custom.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, WORK.plural, work, _request_timeout=_TIMEOUT_S
            )
            return await self._confirmed(name), False
        except ApiException as e:
            if e.status != 409:
                raise _answer(e) from None
        except _TRANSIENT as e:
            raise MemberAnswer(None, f"the hub did not answer ({type(e).__name__})") from None
        existing = await self._get(name)
        uid = manifest["metadata"]["labels"][TASK_UID_LABEL]
        if existing is None:
            raise MemberAnswer(404, f"ComputeWork {self.namespace}/{name} was deleted while being adopted")
        if ((existing.get("metadata") or {}).get("labels") or {}).get(TASK_UID_LABEL) != uid:
            raise MemberAnswer(409, f"ComputeWork {self.namespace}/{name} exists and belongs to someone else")
        job_uid = str(((existing.get("status") or {}).get("job") or {}).get("uid") or "")
        return job_uid or await self._confirmed(name), True

    async def _get(self, name: str) -> dict[str, Any] | None:
        try:
            body = await self._custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, WORK.plural, name, _request_timeout=_TIMEOUT_S
            )
        except ApiException as e:
            if e.status == 404:
                return None
            raise _answer(e) from None
        except _TRANSIENT as e:
            raise MemberAnswer(None, f"the hub did not answer ({type(e).__name__})") from None
        return body if isinstance(body, dict) else None

    async def read(self, namespace: str, name: str, kind: Kind = JOB) -> dict[str, Any] | None:
        """The member's Job as its work mirrors it, or None when the work or the Job is gone."""
        work = await self._get(name)
        return member_job(work) if work is not None else None

    async def warnings(self, namespace: str, name: str, uid: str) -> str | None:
        """The member's newest Warning about the Job, as the agent put it on the work ("" if none)."""
        work = await self._get(name)
        job = ((work or {}).get("status") or {}).get("job") or {}
        return str(job.get("warning") or "")  # MemberJob.warning (api/work.py), written by the agent

    async def put_dependencies(self, namespace: str, objects: Sequence[Mapping[str, Any]]) -> None:
        """Hold the copies for the attempt's work: its next `create` carries them (``spec.dependencies``).

        The copies carry the workload's origin labels, which name the attempt. The agent creates them
        in the member before the workload and makes the workload their owner. A work is one hub object:
        copies above :data:`~computenet.api.work.MAX_WORK_DEPENDENCY_BYTES` together are refused for good
        (MemberAnswer 413).
        """
        if not objects:
            return
        weight = sum(len(json.dumps(o)) for o in objects)
        if weight > MAX_WORK_DEPENDENCY_BYTES:
            raise MemberAnswer(
                413,
                f"the ConfigMaps, Secrets and ResourceClaimTemplates the workload needs weigh {weight} bytes, "
                f"more than the {MAX_WORK_DEPENDENCY_BYTES} a pull member's ComputeWork carries",
            )
        labels = (objects[0].get("metadata") or {}).get("labels") or {}
        self._dependencies[_attempt(labels)] = [dict(o) for o in objects]

    async def own_dependencies(self, namespace: str, objects: Sequence[Mapping[str, Any]], owner: OwnerRef) -> None:
        """Nothing: the agent makes the workload their owner when it creates them."""

    async def delete(self, namespace: str, name: str, kind: Kind = JOB) -> bool:
        """Delete the attempt's work (the agent then deletes the Job); False if it was already gone."""
        try:
            await self._custom.delete_namespaced_custom_object(
                GROUP, VERSION, self.namespace, WORK.plural, name, _request_timeout=_TIMEOUT_S
            )
        except ApiException as e:
            if e.status == 404:
                return False
            raise _answer(e) from None
        except _TRANSIENT as e:
            raise MemberAnswer(None, f"the hub did not answer ({type(e).__name__})") from None
        return True


def _attempt(labels: Mapping[str, str]) -> tuple[str, str]:
    return str(labels.get(TASK_UID_LABEL, "")), str(labels.get(ATTEMPT_LABEL, ""))


def _answer(e: ApiException) -> MemberAnswer:
    try:
        message = str(json.loads(e.body or "{}").get("message") or e.reason)
    except (ValueError, AttributeError):
        message = str(e.reason)
    return MemberAnswer(e.status, f"HTTP {e.status}: {message}")
