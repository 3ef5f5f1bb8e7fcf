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
from typing import Any

import aiohttp
from kubernetes.aio.client import ApiClient, CustomObjectsApi
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.constants import (
    AGENT_LABEL,
    GROUP,
    IDENTIFIER_LABEL,
    TASK_UID_LABEL,
    VERSION,
    WORK,
    ConditionType,
    Reason,
)
from computenet.dispatch.jobs import JobFacts, job_facts, workload_facts
from computenet.dispatch.remote import MemberAnswer, OwnerRef
from computenet.dispatch.store import JobStore
from computenet.workloads.kinds import JOB, Kind, kind_named, kind_of

__all__ = ["WorkClient", "member_job", "work_facts"]

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
    kind = kind_named(manifest.get("apiVersion"), manifest.get("kind"))
    if kind is not JOB:  # the agent mirrors another kind's whole status (MemberJob.status)
        return {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": meta, "status": job.get("status") or {}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "status": job_status}


def work_facts(work: Mapping[str, Any]) -> JobFacts | None:
    """The Job facts of a ComputeWork, by the push watch's rule; None when its Job is gone or foreign."""
    obj = member_job(work)
    if obj is None:
        return None
    kind = kind_named(obj.get("apiVersion"), obj.get("kind"))
    if kind is JOB:
        return job_facts(obj)
    facts = workload_facts(kind, obj)
    applied = _applied(work.get("status") or {})
    if facts is not None and applied.get("status") == "False" and applied.get("reason") == Reason.INVALID_SPEC:
        # The member (or the agent) refused it for good: a failed workload, in its words, as for a Job.
        return dataclasses.replace(facts, phase="Failed", message=str(applied.get("message") or ""))
    return facts


class WorkClient:
    """Create, adopt, read and delete ComputeWork for one agent (the RemoteJobs contract)."""

    def __init__(self, client: ApiClient, namespace: str, agent: str, jobs: JobStore) -> None:
        self.client = client
        self.namespace = namespace
        self.agent = agent
        self.jobs = jobs
        """The agent's Job store (fed from the works' status): where the agent's confirmation shows."""
        self._custom = CustomObjectsApi(client)

    async def _confirmed(self, name: str) -> str:
        """The member Job's UID once the agent reports it; MemberAnswer if it does not within the timeout."""
        key = f"{self.namespace}/{name}"
        deadline = asyncio.get_running_loop().time() + CONFIRM_TIMEOUT_S
        while True:
            facts = self.jobs.jobs.get(key)
            if facts is not None and facts.uid:
                return facts.uid
            if asyncio.get_running_loop().time() > deadline:
                raise MemberAnswer(
                    None,
                    f"agent {self.namespace}/{self.agent} has not created the Job of ComputeWork {key} "
                    f"within {CONFIRM_TIMEOUT_S:.0f}s",
                )
            await asyncio.sleep(_CONFIRM_POLL_S)

    def _work(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        meta = manifest["metadata"]
        labels = dict(meta.get("labels") or {})
        labels[AGENT_LABEL] = self.agent
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": WORK.kind,
            "metadata": {"name": meta["name"], "namespace": self.namespace, "labels": labels},
            "spec": {"agent": self.agent, "identifier": labels.get(IDENTIFIER_LABEL, ""), "manifest": dict(manifest)},
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
        """Nothing: a pull member's agent takes no ConfigMaps or Secrets from the hub yet; the member holds them."""

    async def own_dependencies(self, namespace: str, objects: Sequence[Mapping[str, Any]], owner: OwnerRef) -> None:
        """Nothing (see `put_dependencies`)."""

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


def _answer(e: ApiException) -> MemberAnswer:
    try:
        message = str(json.loads(e.body or "{}").get("message") or e.reason)
    except (ValueError, AttributeError):
        message = str(e.reason)
    return MemberAnswer(e.status, f"HTTP {e.status}: {message}")
