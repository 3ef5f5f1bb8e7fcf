"""Removing remote work: on task deletion (seen by the task watch) and for orphans (the sweep).

Cancel deletes every Job of the task in every member. A member that is briefly unreachable is
retried; after `CANCEL_TIMEOUT_S` the rest is left to the orphan sweep, which removes the Job when
the member returns (and a finalizer left by an earlier version is released either way).
The sweep removes Jobs carrying this hub's origin labels whose task no longer exists on the hub
(checked on the hub itself, never inferred from memory alone), and the mover Jobs and Secret copies
of attempts that ended without their staging being removed (``tasks/staging/sweep.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from kubernetes.aio.client import CustomObjectsApi
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.constants import GROUP, HUB_LABEL, MANAGED_BY_LABEL, MANAGED_BY_STAGING, TASK, VERSION, Reason
from computenet.dispatch.jobs import JobFacts
from computenet.dispatch.naming import label_value
from computenet.dispatch.remote import MemberAnswer
from computenet.members.connection import MemberConnection
from computenet.tasks.book import TaskBook
from computenet.tasks.lifecycle import Deleted, Event
from computenet.tasks.record import TaskRecord
from computenet.tasks.staging.sweep import StagedAttempt, attempt_of, state
from computenet.workloads.kinds import Kind, kind_named

logger = logging.getLogger(__name__)

CANCEL_TIMEOUT_S = 120.0
"""How long deleting a task waits for unreachable members before leaving the rest to the sweep."""
SWEEP_INTERVAL_S = 60.0


class CancelPending(Exception):
    """Some remote Jobs could not be deleted yet; the finalizer handler should retry."""


class Deleter(Protocol):
    async def delete(self, namespace: str, name: str, kind: Kind) -> bool:
        """Delete one workload; False when it was already gone. Raises MemberAnswer."""
        ...


@runtime_checkable
class StagingRemover(Protocol):
    """What the staging sweep needs of a push member (``dispatch.remote.RemoteJobs``)."""

    async def jobs_labelled(self, selector: str) -> list[dict[str, Any]]: ...
    async def delete_collection(self, namespace: str, selector: str) -> None: ...


class Members(Protocol):
    """How cleanup reaches the members (``tasks.access.MemberAccess``)."""

    def jobs_of(self, task_uid: str) -> list[tuple[MemberConnection, JobFacts]]: ...
    def connection_of(self, identifier: str | None) -> MemberConnection | None: ...
    def remote(self, conn: MemberConnection) -> Deleter: ...
    def connections(self) -> Iterable[MemberConnection]: ...


@dataclass
class Cleanup:
    """Deletes a task's remote work (`cancel`) and this hub's orphans (`sweep`).

    `handle` feeds the task's lifecycle (the ``Deleted`` event), `forget` drops its timers.
    """

    book: TaskBook
    members: Members
    handle: Callable[[TaskRecord, Event], object]
    forget: Callable[[str], None]
    clock: Callable[[], dt.datetime]
    hub_id: str = ""
    """This hub's id: the staging sweep lists only the mover Jobs it made (``computenet.io/hub``)."""
    _swept: set[tuple[str, StagedAttempt]] = field(default_factory=set)
    """(member, attempt) whose staging objects the sweep removed (each is asked once per process)."""

    async def cancel(self, record: TaskRecord, deleting_since: dt.datetime) -> int:
        """Delete the task's workloads everywhere; returns how many were deleted. Raises CancelPending to retry."""
        if not record.deleting:
            record.deleting = True
            self.handle(record, Deleted())
        self.forget(record.uid)
        deleted = 0
        unreachable = []
        members = self.members
        targets = {(conn.key, job.namespace, job.name): (conn, job.kind) for conn, job in members.jobs_of(record.uid)}
        remote = record.status.remote
        conn = members.connection_of(remote.identifier) if remote is not None else None
        if conn is not None and remote is not None:
            kind = kind_named(remote.api_version, remote.kind)
            targets.setdefault((conn.key, remote.namespace, remote.name), (conn, kind))
        for (_, namespace, name), (member, kind) in targets.items():
            try:
                deleted += await members.remote(member).delete(namespace, name, kind)
            except MemberAnswer as e:
                unreachable.append(f"{member.server}: {e}")
        if unreachable:
            waited = (self.clock() - deleting_since).total_seconds()
            if waited < CANCEL_TIMEOUT_S:
                raise CancelPending("; ".join(unreachable))
            self.book.event(
                record,
                Reason.CANCEL_TIMED_OUT,
                f"gave up waiting for {len(unreachable)} member(s) after {waited:.0f}s; the orphan sweep will remove "
                "the remaining Jobs when they are reachable",
                warning=True,
            )
        self.book.drop(record.uid)
        return deleted

    async def sweep(self, custom: CustomObjectsApi) -> int:
        """Delete workloads of this hub whose task is gone from the hub; returns how many were removed."""
        removed = 0
        for conn in self.members.connections():
            store = conn.jobs
            if store is None or not store.synced:
                continue
            for job in list(store.jobs.values()):
                if job.deleting or self.book.get(job.task_uid) is not None:
                    continue
                if await _task_exists(custom, job.task_uid, job.namespace_on_hub, job.task_name):
                    continue
                try:
                    removed += await self.members.remote(conn).delete(job.namespace, job.name, job.kind)
                    logger.info("orphan sweep removed %s/%s (task %s is gone)", job.namespace, job.name, job.task_uid)
                except MemberAnswer as e:
                    logger.info("orphan %s/%s not removed yet: %s", job.namespace, job.name, e)
        return removed

    async def sweep_staging(self, custom: CustomObjectsApi) -> int:
        """Remove the mover Jobs and Secret copies of ended attempts in every push member; returns how many attempts.

        The attempts are those its mover Jobs (listed by this hub's labels) and its workloads (the
        member's watch) name; each ended one is removed by label once per process.
        """
        removed = 0
        hub = f"{MANAGED_BY_LABEL}={MANAGED_BY_STAGING},{HUB_LABEL}={label_value(self.hub_id)}"
        for conn in self.members.connections():
            remote = self.members.remote(conn)
            store = conn.jobs
            if not isinstance(remote, StagingRemover) or store is None or not store.synced:
                continue
            try:
                movers = await remote.jobs_labelled(hub)
            except MemberAnswer as e:
                logger.info("staging leftovers in %s not listed: %s", conn.server, e)
                continue
            seen = {
                found
                for job in movers
                if (meta := job.get("metadata") or {})
                and (found := attempt_of(str(meta.get("namespace") or ""), meta.get("labels") or {})) is not None
            }
            seen |= {
                StagedAttempt(job.namespace, label_value(job.task_uid), label_value(str(job.attempt)))
                for job in store.jobs.values()
                if (r := self.book.get(job.task_uid)) is not None and r.spec is not None and r.spec.data is not None
            }
            for attempt in sorted(seen, key=lambda a: (a.namespace, a.task_uid, a.attempt)):
                if (conn.key, attempt) in self._swept or not await self._ended(custom, attempt):
                    continue
                try:
                    await remote.delete_collection(attempt.namespace, attempt.selector)
                except MemberAnswer as e:
                    logger.info("staging leftovers of %s not removed yet: %s", attempt.selector, e)
                    continue
                self._swept.add((conn.key, attempt))
                removed += 1
                logger.info("orphan sweep removed the staging objects of %s in %s", attempt.selector, conn.server)
        present = {label_value(r.uid) for r in self.book}
        self._swept = {k for k in self._swept if k[1].task_uid in present}
        return removed

    async def _ended(self, custom: CustomObjectsApi, attempt: StagedAttempt) -> bool:
        record = self.book.get(attempt.task_uid)
        verdict = state(attempt, record)
        if verdict != "unknown":
            return verdict == "ended"
        return not await _task_exists(custom, attempt.task_uid, attempt.task_namespace, attempt.task_name)


async def _task_exists(custom: CustomObjectsApi, uid: str, namespace: str, name: str) -> bool:
    if not namespace or not name:
        return False
    try:
        obj = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, TASK.plural, name)
    except ApiException as e:
        if e.status == 404:
            return False
        raise
    meta = obj.get("metadata", {}) if isinstance(obj, dict) else {}
    return bool(meta.get("uid") == uid)
