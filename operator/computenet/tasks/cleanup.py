"""Removing remote work: on task deletion (seen by the task watch) and for orphans (the sweep).

Cancel deletes every Job of the task in every member. A member that is briefly unreachable is
retried; after `CANCEL_TIMEOUT_S` the rest is left to the orphan sweep, which removes the Job when
the member returns (and a finalizer left by an earlier version is released either way).
The sweep removes Jobs carrying this hub's origin labels whose task no longer exists on the hub
(checked on the hub itself, never inferred from memory alone).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from kubernetes.aio.client import CustomObjectsApi
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.constants import GROUP, TASK, VERSION, Reason
from computenet.dispatch.jobs import JobFacts
from computenet.dispatch.remote import MemberAnswer
from computenet.members.connection import MemberConnection
from computenet.tasks.book import TaskBook
from computenet.tasks.lifecycle import Deleted, Event
from computenet.tasks.record import TaskRecord
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
