"""The task lifecycle: queue, place, dispatch, follow, fail over.

One scheduling loop places every waiting task in queue order whenever something changed (a new
task, capacity freed, a member back), so a task that does not fit never blocks smaller ones
behind it and nothing polls. A placed task is recorded on the hub (phase Dispatching, with the
identifier and attempt) *before* its Job is created: after a crash the operator re-creates the
same Job name in the same member, which the member refuses as a duplicate and the operator
adopts, so no task ever runs twice because of a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from computenet.api.constants import ACCELERATOR_RESOURCES, Phase, Reason, Vendor
from computenet.api.pool import ComputePoolSpec
from computenet.dispatch.jobs import JobFacts
from computenet.dispatch.remote import DispatchRejected, MemberUnavailable, RemoteJobs
from computenet.dispatch.render import Target, TaskRef, render_job
from computenet.dispatch.store import JobStore
from computenet.members.connection import MemberConnection
from computenet.members.identifiers import IdentifierSet, TrackedIdentifier
from computenet.metrics import Metrics
from computenet.placement import Decision, offers, schedule
from computenet.placement.accelerators import lookup
from computenet.pools import pool_selector, selection_labels
from computenet.quantity import cpu_millis, to_int_units
from computenet.tasks.book import TaskBook, dispatched, placed, timestamp, utcnow
from computenet.tasks.metering import meter
from computenet.tasks.demand import demand_of
from computenet.tasks.record import TaskRecord
from computenet.tasks.view import PlacementView

logger = logging.getLogger(__name__)

COALESCE_S = 0.01
"""After a wake-up, wait this long so a burst of new tasks is placed in one pass."""
DISPATCH_CONCURRENCY = 64
DISPATCH_RETRY_S = 2.0
OFFERS = 3


class TaskController:
    def __init__(
        self,
        book: TaskBook,
        identifiers: IdentifierSet,
        view: PlacementView,
        metrics: Metrics,
        hub_id: str,
        pool_of: Callable[[str], ComputePoolSpec | None],
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.book = book
        self.identifiers = identifiers
        self.view = view
        self.metrics = metrics
        self.hub_id = hub_id
        self.pool_of = pool_of
        self.clock = clock
        self._dispatch_slots = asyncio.Semaphore(DISPATCH_CONCURRENCY)
        self._background: set[asyncio.Task[None]] = set()
        self._remotes: dict[str, RemoteJobs] = {}
        self._deleting: set[tuple[str, str, str]] = set()

    # ---- helpers ----

    def connection_of(self, identifier: str | None) -> MemberConnection | None:
        item = self.identifiers.items.get(identifier or "")
        return item.connection if item is not None else None

    def remote(self, conn: MemberConnection) -> RemoteJobs:
        remote = self._remotes.get(conn.key)
        if remote is None or remote.client is not conn.client:
            remote = self._remotes[conn.key] = RemoteJobs(conn.client)
        return remote

    def jobs_of(self, task_uid: str) -> list[tuple[MemberConnection, JobFacts]]:
        """Every Job of a task across all members, as their watches report them."""
        out: list[tuple[MemberConnection, JobFacts]] = []
        for conn in self.identifiers.registry.connections:
            store = jobs_store(conn)
            if store is not None:
                out.extend((conn, j) for j in store.of_task(task_uid))
        return out

    def spawn(self, coro: Any, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ---- the scheduling loop ----

    async def run(self) -> None:
        seen = -1
        while True:
            seen = await self.book.wake.wait_past(seen, patience=5.0)
            await asyncio.sleep(COALESCE_S)
            seen = self.book.wake.version
            try:
                self.check_members()  # also here: failover must not depend on one signal path alone
                self.schedule_pass()
            except Exception:  # one bad pass must not stop scheduling for good
                logger.exception("scheduling pass failed")

    def schedule_pass(self) -> None:
        now = self.clock()
        snapshot = self.view.snapshot()
        self._confirm_assumptions()
        waiting = [r for r in self.book if r.wants_placement]
        if not waiting:
            return
        demands = {}
        members: dict[str, frozenset[str]] = {}
        for record in waiting:
            pool = self.pool_of(record.spec.pool)
            if pool is None:
                self._no_pool(record)
                continue
            if record.spec.pool not in members:
                members[record.spec.pool] = self._members_of(pool)
            demands[record.uid] = demand_of(record, pool.placement, members[record.spec.pool])
        loop_now = asyncio.get_running_loop().time()
        queue = schedule(demands.values(), snapshot, self.view.assumptions, now=loop_now, clock=time.perf_counter)
        for demand, decision in queue:
            current = self.book.get(demand.uid)
            if current is None:
                continue
            record = current
            self.metrics.placement_duration.observe(decision.elapsed)
            if demand.suspended:
                self._offer(record, decision)
            elif decision.chosen is not None:
                self._accept(record, decision, now)
            else:
                self._wait(record, decision)

    def _members_of(self, pool: ComputePoolSpec) -> frozenset[str]:
        """Names of the identifiers a pool selects: placement considers only these."""
        selector = pool_selector(pool)
        return frozenset(
            item.name
            for item in self.identifiers.items.values()
            if item.spec is not None and selector.matches(selection_labels(item))
        )

    def _confirm_assumptions(self) -> None:
        for held in list(self.view.assumptions):
            record = self.book.get(held.task_uid)
            if record is None or record.phase.terminal:
                self.view.assumptions.forget(held.task_uid)
                continue
            if self.view.bound_replicas(held.identifier, held.task_uid) >= record.spec.replicas:
                self.view.assumptions.confirm(held.task_uid)

    def _wait(self, record: TaskRecord, decision: Decision) -> None:
        line = decision.summary
        if record.pending_reason == line and record.phase == Phase.PENDING:
            return
        first = not record.pending_reason
        record.pending_reason = line
        self.book.update(record, phase=Phase.PENDING, offers=None, conditions=(placed(False, Reason.NO_FIT, line),))
        if first:
            self.book.event(record, Reason.NO_FIT, line, warning=True)

    def _no_pool(self, record: TaskRecord) -> None:
        line = f"pool {record.spec.pool!r} does not exist: create the ComputePool or set spec.pool"
        if record.pending_reason == line:
            return
        record.pending_reason = line
        self.book.update(record, phase=Phase.PENDING, conditions=(placed(False, Reason.POOL_NOT_FOUND, line),))
        self.book.event(record, Reason.POOL_NOT_FOUND, line, warning=True)

    def _offer(self, record: TaskRecord, decision: Decision) -> None:
        found = [o.as_status() for o in offers(decision, OFFERS)]
        if found:
            message = f"{len(found)} offers, best {found[0]['identifier']}; set spec.suspend to false to run there"
        else:
            message = decision.summary
        if record.status.get("offers") == found and record.phase == Phase.OFFERED:
            return
        self.book.update(
            record,
            phase=Phase.OFFERED,
            offers=found,
            conditions=(placed(False, Reason.OFFERS_READY, message),),
        )
        self.book.event(record, Reason.OFFERS_READY, message)

    def _accept(self, record: TaskRecord, decision: Decision, now: dt.datetime) -> None:
        chosen = decision.chosen
        assert chosen is not None
        attempt = max(record.attempt, 1)
        placement = {
            "identifier": chosen.identifier,
            "uri": chosen.uri or None,
            "score": round(chosen.score, 2),
            "reasons": [f"{k} {v:.0f}" for k, v in sorted(chosen.scores.items())],
            "time": timestamp(now),
            "acceleratorModel": chosen.model,
            "pricePerHour": None if chosen.price_per_hour is None else round(chosen.price_per_hour, 4),
            "currency": chosen.currency,
        }
        placement = {k: v for k, v in placement.items() if v is not None}
        record.pending_reason = ""
        record.dispatching = True
        message = f"{chosen.identifier} (score {chosen.score:.1f}) for attempt {attempt}"
        self.book.update(
            record,
            phase=Phase.DISPATCHING,
            placement=placement,
            attempt=attempt,
            offers=None,
            conditions=(placed(True, Reason.PLACED, message),),
        )
        self.book.event(record, Reason.PLACED, f"placed on {message}")
        self.spawn(self.dispatch(record), f"dispatch {record.key}")

    # ---- dispatch ----

    async def dispatch(self, record: TaskRecord) -> None:
        """Make the task's Job exist in its placed member: create it, or adopt it after a restart."""
        try:
            async with self._dispatch_slots:
                await self.book.writer.flush(record.namespace, record.name)  # the intent is on the hub first
                await self._create_remote(record)
        finally:
            record.dispatching = False

    async def _create_remote(self, record: TaskRecord) -> None:
        identifier = record.identifier
        item = self.identifiers.items.get(identifier or "")
        conn = item.connection if item is not None else None
        if identifier in self.identifiers.removed:
            self._requeue(record, f"identifier {identifier} was deleted before the Job was created")
            return
        if item is None or item.spec is None or conn is None:
            # Not connected yet (the operator is starting) or its Secret is broken: retry; failover
            # decides if the identifier stays unusable for longer than the task's grace period.
            await asyncio.sleep(DISPATCH_RETRY_S)
            self._retry_dispatch(record)
            return
        placement = record.status.get("placement") or {}
        spec = record.spec
        acc = spec.resources.accelerators
        resource = None
        model = placement.get("acceleratorModel")
        if acc is not None:
            known = lookup(model)
            resource = known.resource if known else ACCELERATOR_RESOURCES[Vendor(acc.vendor or "nvidia")]
        sel = item.spec.connection.node_selector
        target = Target(
            identifier=item.name,
            namespace=item.spec.connection.target_namespace,
            match_labels=dict(sel.match_labels or {}) if sel else {},
            match_expressions=[(r.key, str(r.operator), list(r.values or ())) for r in (sel.match_expressions or ())]
            if sel
            else [],
            accelerator_resource=resource,
            accelerator_model=model,
        )
        manifest = render_job(
            TaskRef(record.namespace, record.name, record.uid),
            record.template,
            spec.replicas,
            {"cpu": str(spec.resources.cpu), "memory": str(spec.resources.memory)},
            acc.count if acc else 0,
            target,
            record.attempt,
            self.hub_id,
        )
        try:
            uid, adopted = await self.remote(conn).create(manifest)
        except MemberUnavailable as e:
            logger.info("dispatch of %s to %s failed (%s); will retry", record.key, item.name, e)
            await asyncio.sleep(DISPATCH_RETRY_S)
            self._retry_dispatch(record)
            return
        except DispatchRejected as e:
            self._fail(record, Reason.DISPATCH_FAILED, f"{item.name} refused the Job: {e}")
            return
        remote = {
            "identifier": item.name,
            "apiVersion": "batch/v1",
            "kind": "Job",
            "namespace": target.namespace,
            "name": manifest["metadata"]["name"],
            "uid": uid,
        }
        verb = "adopted" if adopted else "created"
        self.book.update(
            record,
            remote=remote,
            conditions=(dispatched(True, Reason.DISPATCHED, f"Job {target.namespace}/{remote['name']} {verb}"),),
        )
        if not adopted:
            self.metrics.dispatch_latency.labels(item.name).observe(
                max((self.clock() - record.created).total_seconds(), 0.0)
            )
        self.book.event(record, Reason.DISPATCHED, f"Job {target.namespace}/{remote['name']} {verb} in {item.name}")

    def _retry_dispatch(self, record: TaskRecord) -> None:
        if self.book.get(record.uid) is record and record.phase == Phase.DISPATCHING and not record.deleting:
            record.dispatching = True
            self.spawn(self.dispatch(record), f"dispatch {record.key}")

    def _requeue(self, record: TaskRecord, why: str) -> None:
        self.view.assumptions.forget(record.uid)
        self.book.update(record, phase=Phase.PENDING, placement=None, remote=None)
        self.book.event(record, Reason.REQUEUED, why, warning=True)

    def _fail(self, record: TaskRecord, reason: str, message: str) -> None:
        self.view.assumptions.forget(record.uid)
        self.book.update(
            record,
            phase=Phase.FAILED,
            completionTime=timestamp(self.clock()),
            message=message,
            conditions=(dispatched(False, reason, message),),
        )
        self.metrics.tasks_finished.labels(record.namespace, Phase.FAILED).inc()
        self.book.event(record, reason, message, warning=True)

    # ---- follow ----

    def on_jobs_changed(self, task_uid: str) -> None:
        """A member reported a change of this task's Jobs: mirror the current attempt, drop stale ones."""
        record = self.book.get(task_uid)
        if record is None:
            return
        for conn, job in self.jobs_of(task_uid):
            current = job.attempt == record.attempt and job.identifier == (record.identifier or "")
            if not current:
                key = (conn.key, job.namespace, job.name)
                if not record.dispatching and not job.deleting and key not in self._deleting:
                    self._deleting.add(key)
                    self.spawn(self._delete_stale(conn, job, record), f"stale {job.namespace}/{job.name}")
                continue
            self._mirror(record, job)

    async def _delete_stale(self, conn: MemberConnection, job: JobFacts, record: TaskRecord) -> None:
        key = (conn.key, job.namespace, job.name)
        try:
            if await self.remote(conn).delete(job.namespace, job.name):
                self.book.event(
                    record,
                    Reason.STALE_ATTEMPT_REMOVED,
                    f"removed Job {job.namespace}/{job.name} of attempt {job.attempt} from {job.identifier}",
                )
        except (MemberUnavailable, DispatchRejected) as e:
            # A member just back may refuse for a moment (its authorizer warms up): try again soon.
            logger.info("stale Job %s/%s not removed yet: %s", job.namespace, job.name, e)
            await asyncio.sleep(DISPATCH_RETRY_S)
            self._deleting.discard(key)
            self.on_jobs_changed(record.uid)
            return
        self._deleting.discard(key)

    def _mirror(self, record: TaskRecord, job: JobFacts) -> None:
        phase = record.phase
        if phase.terminal or record.deleting:
            return
        if job.phase == "Running" and phase in (Phase.DISPATCHING, Phase.PENDING):
            started = job.start_time or self.clock()
            self.book.update(record, phase=Phase.RUNNING, startTime=timestamp(started))
            self.book.event(record, Reason.RUNNING, f"running in {job.identifier}")
        elif job.phase in ("Succeeded", "Failed"):
            self._finish(record, job)

    def _finish(self, record: TaskRecord, job: JobFacts) -> None:
        end = job.completion_time or self.clock()
        start = job.start_time or end
        if "startTime" in record.status:
            start = dt.datetime.strptime(record.status["startTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        item = self.identifiers.items.get(job.identifier)
        pricing = item.spec.pricing if item is not None and item.spec is not None else None
        spec = record.spec
        acc = spec.resources.accelerators
        model = (record.status.get("placement") or {}).get("acceleratorModel")
        metered = meter(
            start,
            end,
            spec.replicas,
            cpu_millis(spec.resources.cpu),
            to_int_units(spec.resources.memory),
            acc.count if acc else 0,
            model,
            pricing,
        )
        usage, cost = metered.as_status()
        phase = Phase.SUCCEEDED if job.phase == "Succeeded" else Phase.FAILED
        reason = Reason.JOB_SUCCEEDED if phase == Phase.SUCCEEDED else Reason.JOB_FAILED
        message = job.message or f"Job {job.namespace}/{job.name} {phase.lower()}"
        self.book.update(
            record,
            phase=phase,
            startTime=timestamp(start),
            completionTime=timestamp(end),
            usage=usage,
            cost=cost,
            message=message if phase == Phase.FAILED else None,
        )
        self.view.assumptions.forget(record.uid)
        labels = (record.spec.pool, job.identifier, record.namespace)
        m = self.metrics
        m.tasks_finished.labels(record.namespace, phase).inc()
        if metered.accelerator_seconds and model:
            m.usage_gpu_seconds.labels(*labels, model).inc(metered.accelerator_seconds)
        m.usage_core_seconds.labels(*labels).inc(metered.core_seconds)
        m.usage_memory_gib_seconds.labels(*labels).inc(metered.memory_gib_seconds)
        m.cost.labels(*labels, metered.currency).inc(metered.cost)
        self.book.event(
            record,
            reason,
            f"{message}; ran {metered.seconds:.0f}s, cost {metered.cost:.4f} {metered.currency}",
            warning=phase == Phase.FAILED,
        )
        self.book.wake.fire()  # its resources are free again

    # ---- failover ----

    def check_members(self) -> None:
        """Re-dispatch tasks whose member has been lost for longer than their grace period."""
        now = self.clock()
        for record in self.book:
            if record.phase not in (Phase.DISPATCHING, Phase.RUNNING) or record.deleting:
                continue
            name = record.identifier or ""
            item = self.identifiers.items.get(name)
            lost_since = self.identifiers.removed.get(name) if item is None else _lost_since(item)
            if lost_since is None:
                record.lost_since = None
                continue
            if record.lost_since is None:
                logger.info("%s: member %s lost since %s", record.key, name, lost_since.isoformat())
            record.lost_since = lost_since
            grace = record.spec.failover.grace_period_seconds
            if (now - lost_since).total_seconds() < grace:
                continue
            self._failover(record, item)

    def _failover(self, record: TaskRecord, item: TrackedIdentifier | None) -> None:
        where = record.identifier or "?"
        why = item.usable()[1] if item is not None else "identifier removed"
        if str(record.spec.failover.policy) == "Never":
            self._fail(record, Reason.MEMBER_LOST, f"{where} lost ({why}) and failover policy is Never")
            return
        attempt = record.attempt + 1
        self.view.assumptions.forget(record.uid)
        self.book.update(
            record,
            phase=Phase.PENDING,
            attempt=attempt,
            placement=None,
            remote=None,
            startTime=None,
            conditions=(
                placed(False, Reason.MEMBER_LOST, f"{where} lost: {why}; placing attempt {attempt}"),
                dispatched(False, Reason.MEMBER_LOST, f"attempt {attempt - 1} on {where} abandoned"),
            ),
        )
        self.metrics.failovers.labels(where, record.namespace).inc()
        self.book.event(record, Reason.REQUEUED, f"{where} lost ({why}); re-dispatching as attempt {attempt}", True)

    async def close(self) -> None:
        for t in list(self._background):
            t.cancel()
        for t in list(self._background):
            with contextlib.suppress(asyncio.CancelledError):
                await t


def _lost_since(item: TrackedIdentifier) -> dt.datetime | None:
    """Since when the member has been unreachable, or None (usable, or not known to be lost yet)."""
    conn = item.connection
    if conn is None or conn.health.reachable or conn.health.since is None:
        return None
    return conn.health.since


def jobs_store(conn: MemberConnection) -> JobStore | None:
    store = getattr(conn, "jobs", None)
    return store if isinstance(store, JobStore) else None
