"""Following dispatched Jobs: mirror the current attempt, remove stale ones, notice a vanished Job.

Member watches report every change of a task's Jobs (`JobStore` listeners); the follower turns
the current attempt's Job into ``JobRunning`` / ``JobFinished`` events, deletes Jobs that are not
the current attempt any more (fencing: a member that comes back has its older attempts removed as
soon as its watch lists them), and when the current attempt's Job is missing from a synced watch,
asks the member directly: a 404 is ``JobGone``, so a Job deleted by a TTL controller, an
administrator or a namespace clean-up never leaves its task Running for ever. A serving workload
that is not available is bounded too (``lifecycle/serving.py``): ``ReplicasUnavailable`` records it
on a Running task, and ``UnavailableTooLong`` ends the attempt past ``spec.failover.unavailableSeconds``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, Protocol

from computenet.api.constants import ConditionStatus, ConditionType, Phase
from computenet.api.task import RemoteRef
from computenet.dispatch.jobs import JobFacts
from computenet.dispatch.naming import label_value
from computenet.dispatch.remote import MemberAnswer
from computenet.members.connection import MemberConnection
from computenet.tasks.access import MemberAccess
from computenet.tasks.book import TaskBook
from computenet.tasks.lifecycle import (
    ACTIVE,
    Event,
    JobFinished,
    JobGone,
    JobRef,
    JobRunning,
    OutputsPushed,
    PodsUnschedulable,
    ReplicasUnavailable,
    StartFailed,
    UnavailableTooLong,
    condition,
    is_stale,
)
from computenet.tasks.lifecycle.serving import ServingView, unavailable_since, unavailable_too_long
from computenet.tasks.lifecycle.startup import startup_stall
from computenet.tasks.metering import NOTHING, meter_attempt
from computenet.tasks.record import TaskRecord
from computenet.workloads.kinds import kind_named

logger = logging.getLogger(__name__)

RETRY_S = 2.0
"""A stale Job a member would not delete yet (it just came back) is tried again this much later."""
UNSCHEDULABLE_GRACE_S = 120.0
"""A pod of the current attempt the member's scheduler cannot place for this long ends the attempt:
its pods are held to the nodes placement chose, and a node lost or taken by work outside computenet
since would otherwise keep it Pending for ever."""


def _words(job: JobFacts) -> str:
    """The member's words about a serving workload that is not available, naming it."""
    return f"{job.kind.kind} {job.namespace}/{job.name}: {job.message or 'not available'}"


def observed_event(record: TaskRecord, job: JobFacts, pricing: Any, now: dt.datetime) -> Event | None:
    """What the current attempt's Job says about the task (pure); None while it is Pending.

    A serving workload of a Running task that reads Pending has lost availability: ``ReplicasUnavailable``.
    """
    identifier = record.identifier or job.identifier
    remote = job.ref(identifier)
    if job.phase == "Pending" and job.kind.serving and record.phase == Phase.RUNNING:
        return ReplicasUnavailable(identifier, job.attempt, _words(job))
    if job.phase == "Running":
        return JobRunning(remote, job.attempt, job.start_time or now)
    if job.phase in ("Succeeded", "Failed"):
        end = job.completion_time or now
        start = record.status.start_time or job.start_time or end
        ran = meter_attempt(record.status.placement, start, end, pricing) or NOTHING
        return JobFinished(remote, job.attempt, job.phase == "Succeeded", start, end, job.message, ran)
    return None


class ReadOutputs(Protocol):
    """Reads what a finished attempt's output pushes did (``Stager.outputs``); None: nothing to read there."""

    async def __call__(
        self, record: TaskRecord, member: object, namespace: str, identifier: str, succeeded: bool
    ) -> OutputsPushed | None: ...


class Follower:
    def __init__(
        self,
        book: TaskBook,
        access: MemberAccess,
        deliver: Callable[[TaskRecord, Event], object],
        spawn: Callable[[Any, str], None],
        clock: Callable[[], dt.datetime],
        outputs: ReadOutputs | None = None,
    ) -> None:
        """`outputs` reads a finished attempt's output pushes before its end is delivered (None: not read)."""
        self.book = book
        self.access = access
        self.deliver = deliver
        self.spawn = spawn
        self.clock = clock
        self.outputs = outputs
        self._deleting: set[tuple[str, str, str]] = set()
        self._confirming: set[str] = set()
        self._reading: set[tuple[str, int]] = set()

    def on_jobs_changed(self, task_uid: str) -> None:
        record = self.book.get(task_uid)
        if record is not None:
            self.follow(record)

    def follow(self, record: TaskRecord) -> None:
        """Mirror the current attempt's Job, remove stale ones, and check for a vanished Job."""
        seen = False
        own = label_value(record.identifier) if record.identifier else None
        for conn, job in self.access.jobs_of(record.uid):
            if is_stale(JobRef(job.identifier, job.attempt), record.status, record.dispatching):
                self._remove(conn, job, record)
                continue
            if job.identifier != own or job.attempt != record.attempt:
                continue
            seen = True
            if job.deleting:
                continue
            event = observed_event(record, job, self.access.pricing_of(record.identifier or ""), self.clock())
            if isinstance(event, JobFinished) and self._has_outputs(record):
                self._read_outputs(record, conn, job, event)
            elif event is not None:
                self.deliver(record, event)
        if not seen:
            self._check_gone(record)

    def check_all(self) -> None:
        """Look at every dispatched task for a vanished Job or pods no node takes (every scheduling pass).

        Job events alone do not cover a Job deleted while the operator was down: its task is in
        no watch's list, so nothing would ever report it.
        """
        now = self.clock()
        for record in self.book:
            remote = record.status.remote
            if record.phase not in ACTIVE or remote is None or record.dispatching:
                continue
            own = label_value(remote.identifier)
            current = next(
                (
                    (conn, job)
                    for conn, job in self.access.jobs_of(record.uid)
                    if job.identifier == own and job.attempt == record.attempt
                ),
                None,
            )
            if current is None:
                self._check_gone(record)
                continue
            stuck = self.access.unschedulable(remote.identifier, record.uid, record.attempt, now, UNSCHEDULABLE_GRACE_S)
            if stuck is not None:
                self.deliver(record, PodsUnschedulable(remote.identifier, record.attempt, stuck))
                continue
            if record.phase == Phase.DISPATCHING:
                self._check_start(record, remote.identifier, *current, now)
            if record.phase in ACTIVE and record.status.remote is remote:
                self._check_available(record, remote.identifier, *current, now)

    # ---- outputs pushed when the workload ended ----

    def _has_outputs(self, record: TaskRecord) -> bool:
        data = record.spec.data if record.spec is not None else None
        return self.outputs is not None and data is not None and bool(data.outputs) and record.phase in ACTIVE

    def _read_outputs(self, record: TaskRecord, conn: MemberConnection, job: JobFacts, event: JobFinished) -> None:
        """Deliver the attempt's end once its output pushes are read: their bytes, egress and verdict go with it."""
        key = (record.uid, event.attempt)
        if key in self._reading:
            return
        self._reading.add(key)
        self.spawn(self._outputs_then_finish(record, conn, job, event, key), f"outputs {record.key}")

    async def _outputs_then_finish(
        self, record: TaskRecord, conn: MemberConnection, job: JobFacts, event: JobFinished, key: tuple[str, int]
    ) -> None:
        assert self.outputs is not None
        try:
            pushed = await self.outputs(
                record, self.access.remote(conn), job.namespace, event.remote.identifier, event.succeeded
            )
        except MemberAnswer as e:  # read again soon; a member lost for good is the failover's business
            logger.info("%s: outputs of attempt %d not read yet: %s", record.key, event.attempt, e)
            await asyncio.sleep(RETRY_S)
            self._reading.discard(key)
            self.on_jobs_changed(record.uid)
            return
        self._reading.discard(key)
        self.deliver(record, dataclasses.replace(event, outputs=pushed) if pushed is not None else event)

    # ---- serving workloads that are not available ----

    def _check_available(
        self, record: TaskRecord, identifier: str, conn: MemberConnection, job: JobFacts, now: dt.datetime
    ) -> None:
        """End a serving attempt whose replicas stayed unavailable past ``spec.failover.unavailableSeconds``.

        No verdict on a picture that is not current: the member unreachable (the failover's
        business) or the watch of the workload's kind failing.
        """
        if not job.kind.serving or job.phase != "Pending" or job.deleting or record.spec is None:
            return
        began = unavailable_since(record.status)
        if began is None or not conn.health.reachable or conn.stale() or conn.optional_problem((job.kind.plural,)):
            return
        since, ran = began
        view = ServingView(since, ran, _words(job), job.stalled)
        message = unavailable_too_long(view, now, float(record.spec.failover.unavailable_seconds))
        if message is None:
            return
        metered = meter_attempt(
            record.status.placement, record.status.start_time, now, self.access.pricing_of(identifier)
        )
        self.deliver(record, UnavailableTooLong(identifier, record.attempt, message, metered))

    # ---- pods that never start ----

    def _check_start(
        self, record: TaskRecord, identifier: str, conn: MemberConnection, job: JobFacts, now: dt.datetime
    ) -> None:
        dispatched = condition(record.status, ConditionType.DISPATCHED)
        if dispatched is None or dispatched.status != ConditionStatus.TRUE or dispatched.last_transition_time is None:
            return
        view = self.access.start_view(identifier, job, dispatched.last_transition_time)
        stall = startup_stall(view, now) if view is not None else None
        if stall is None or record.uid in self._confirming:
            return
        if not stall.no_pods:
            self.deliver(record, StartFailed(identifier, record.attempt, stall.message))
            return
        self._confirming.add(record.uid)
        self.spawn(self._start_failed(record, conn, job, identifier, stall.message), f"not started {record.key}")

    async def _start_failed(
        self, record: TaskRecord, conn: MemberConnection, job: JobFacts, identifier: str, message: str
    ) -> None:
        """End an attempt whose pods were never created, with the member's own words when it has them."""
        try:
            words = await self.access.remote(conn).warnings(job.namespace, job.name, job.uid)
        except MemberAnswer as e:
            words = None
            logger.info("%s: events of %s/%s not read: %s", record.key, job.namespace, job.name, e)
        finally:
            self._confirming.discard(record.uid)
        if words:
            message = f"{message}: {words}"
        elif words is None:
            message = f"{message} (the member's events about it could not be read)"
        self.deliver(record, StartFailed(identifier, job.attempt, message))

    # ---- stale attempts ----

    def _remove(self, conn: MemberConnection, job: JobFacts, record: TaskRecord) -> None:
        key = (conn.key, job.namespace, job.name)
        if job.deleting or key in self._deleting:
            return
        self._deleting.add(key)
        self.spawn(self._delete(conn, job, record, key), f"stale {job.namespace}/{job.name}")

    async def _delete(
        self, conn: MemberConnection, job: JobFacts, record: TaskRecord, key: tuple[str, str, str]
    ) -> None:
        try:
            if await self.access.remote(conn).delete(job.namespace, job.name, job.kind):
                self.book.event(
                    record,
                    "StaleAttemptRemoved",
                    f"removed {job.kind.kind} {job.namespace}/{job.name} of attempt {job.attempt} "
                    f"from {job.identifier}",
                )
        except MemberAnswer as e:
            # A member just back may refuse for a moment (its authorizer warms up): try again soon.
            logger.info("stale Job %s/%s not removed yet: %s", job.namespace, job.name, e)
            await asyncio.sleep(RETRY_S)
            self._deleting.discard(key)
            self.on_jobs_changed(record.uid)
            return
        self._deleting.discard(key)

    # ---- vanished Jobs ----

    def _check_gone(self, record: TaskRecord) -> None:
        remote = record.status.remote
        if record.phase not in ACTIVE or remote is None or record.dispatching or record.deleting:
            return
        conn = self.access.connection_of(remote.identifier)
        store = conn.jobs if conn is not None else None
        if conn is None or store is None or not store.synced or record.uid in self._confirming:
            return  # not watched right now: losing the member is the failover's business
        if self.access.kept(remote.identifier):
            return  # the identifier left the member that runs the attempt: the failover drains it there
        self._confirming.add(record.uid)
        self.spawn(self._confirm_gone(record, conn, remote, record.attempt), f"gone? {record.key}")

    async def _confirm_gone(self, record: TaskRecord, conn: MemberConnection, remote: RemoteRef, attempt: int) -> None:
        try:
            body = await self.access.remote(conn).read(
                remote.namespace, remote.name, kind_named(remote.api_version, remote.kind)
            )
        except MemberAnswer as e:
            logger.info("%s: could not check Job %s/%s: %s", record.key, remote.namespace, remote.name, e)
            return
        finally:
            self._confirming.discard(record.uid)
        uid = ((body or {}).get("metadata") or {}).get("uid")
        if body is not None and (remote.uid is None or uid == remote.uid):
            return  # it is there; the watch has not caught up yet
        now = self.clock()
        ran = meter_attempt(
            record.status.placement, record.status.start_time, now, self.access.pricing_of(remote.identifier)
        )
        what = "was replaced by another object" if body is not None else "was deleted"
        message = f"{remote.kind or 'Job'} {remote.namespace}/{remote.name} {what} in the member before it finished"
        self.deliver(record, JobGone(remote.identifier, attempt, message, ran))
