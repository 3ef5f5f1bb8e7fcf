"""The task side of the runtime: admits ComputeTasks and runs the lifecycle loops.

`admit` turns a kopf event into a record: the object's spec is validated with the same rules the
CRD applies plus what the schema cannot see; an invalid task gets a Valid=False condition and an
event and is never placed. A task waiting for placement then waits for Kubernetes' own verdict on
the Job it would dispatch (a dry run on the hub, ``tasks/hub_check.py``): out of the book, so no
pass places it, with ``Valid=Unknown`` saying so; the verdict comes back through `admit` itself.
On a restart, records are rebuilt from status (the hub is the source of truth) and tasks that were
dispatching resume where they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.aio.client import CustomObjectsApi, ResourceV1Api
from pydantic import ValidationError

from computenet.api.constants import DATASET, FINALIZER, GROUP, QUEUE, TASK, Phase
from computenet.api.contract import ContractError, resolve_resources
from computenet.api.fields import parse_time
from computenet.api.pool import ComputePoolSpec, TaskCounts
from computenet.api.task import ComputeTaskSpec, ComputeTaskStatus
from computenet.api.validation import checked_task, summarize
from computenet.dispatch.naming import hub_selector
from computenet.events import EventRecorder
from computenet.hub import Hub
from computenet.members.connection import MemberConnection
from computenet.members.dra import template_facts
from computenet.members.identifiers import IdentifierSet
from computenet.members.reflector import Reflector
from computenet.metrics import Metrics, QueueView
from computenet.statuses.writer import StatusWriter
from computenet.tasks.access import MemberAccess
from computenet.tasks.book import TaskBook, utcnow
from computenet.tasks.claim_templates import ClaimTemplateBook
from computenet.tasks.cleanup import SWEEP_INTERVAL_S, CancelPending
from computenet.tasks.controller import TaskController
from computenet.tasks.datasets import DatasetBook
from computenet.tasks.hub_check import TIMEOUT_S, HubCheck
from computenet.tasks.lifecycle import (
    ACTIVE,
    WAITING,
    Admitted,
    Event,
    SpecInvalid,
    SuspendRequested,
    WorkloadEdited,
    stuck,
    workload_edits,
)
from computenet.tasks.metering import meter_attempt
from computenet.tasks.placement_view import PlacementView
from computenet.tasks.queues import QueueBook
from computenet.tasks.record import TaskRecord
from computenet.tasks.settlement import Settlement
from computenet.tasks.tenancy import Pods, Tenancy, pods_by_node
from computenet.tasks.watch import TaskWatch
from computenet.workloads.dependencies import claim_templates

logger = logging.getLogger(__name__)

CANCEL_RETRY_S = 5.0
CLAIM_TEMPLATES_BACKOFF_MAX_S = 60.0
"""A hub refusing the ResourceClaimTemplate watch (not served, not allowed) is asked again at most this far apart."""
LEGACY_FINALIZERS = frozenset({FINALIZER, f"{GROUP}/kopf"})
"""Finalizers earlier versions put on tasks; removed once their Jobs are gone."""


def status_of(body: Mapping[str, Any]) -> ComputeTaskStatus:
    """The typed status of a task object; an unreadable one (written by someone else) starts afresh."""
    try:
        return ComputeTaskStatus.model_validate(dict(body.get("status") or {}))
    except ValidationError as e:
        logger.warning(
            "status of %s/%s is not readable, starting afresh: %s",
            body["metadata"].get("namespace"),
            body["metadata"].get("name"),
            e.error_count(),
        )
        return ComputeTaskStatus()


CHECKING = (
    "waiting for Kubernetes' validation of the Job it would dispatch (a dry run on the hub); "
    f"placed after the verdict, or after {TIMEOUT_S:.0f}s without one"
)


@dataclass
class _Held:
    """A task waiting for the hub's verdict: its newest body, its record, and what admission knew of it."""

    body: Mapping[str, Any]
    record: TaskRecord
    known: bool
    """It was in the book before (a spec edit), so its Jobs are already followed."""
    fresh: bool
    """It had no phase before: counted as submitted once admitted."""


def _created(meta: Mapping[str, Any]) -> dt.datetime:
    raw = meta.get("creationTimestamp")
    if not raw:
        return utcnow()
    return parse_time(raw)


def _claimed(record: TaskRecord) -> tuple[str, ...]:
    """The ResourceClaimTemplates the task's pods name, in every pod set (``workloads.dependencies``)."""
    return claim_templates({"template": record.template, "workload": record.workload})


def _pods_of(access: MemberAccess, identifier: str, task_uid: str) -> Pods | None:
    """Where a member runs a task's pods (preemption frees exactly those slots)."""
    conn = access.connection_of(identifier)
    if conn is None:
        return None
    return Pods(conn.key, pods_by_node((p.node, p.requests) for p in conn.state.pods_of_task(task_uid)))


class TaskService:
    def __init__(
        self,
        hub: Hub,
        identifiers: IdentifierSet,
        metrics: Metrics,
        hub_id: str,
        pool_of: Callable[[str], ComputePoolSpec | None],
        events: EventRecorder,
        sweep_interval_s: float = SWEEP_INTERVAL_S,
        namespace: str = "computenet-system",
        image: str = "ghcr.io/computenet/computenet:latest",
    ) -> None:
        self.sweep_interval_s = sweep_interval_s
        self.hub = hub
        waited = metrics.status_write_wait
        self.book = TaskBook(StatusWriter(hub, waited=lambda kind, s: waited.labels(kind.kind).observe(s)), events)
        self.view = PlacementView(identifiers, identifiers.registry, self.book.wake.fire)
        access = MemberAccess(identifiers, events)
        # Tenancy: ComputeQueues, admission through them, and settlement of what their tasks spend.
        self.queues = QueueBook(self.book.wake)
        self.tenancy = Tenancy(self.queues, functools.partial(_pods_of, access), access.pricing_of)
        self.datasets = DatasetBook(self.book.wake)
        self.claim_templates = ClaimTemplateBook(self._claim_template_changed)
        self._naming: dict[tuple[str, str], set[str]] = {}
        """The tasks (uids) whose pods name a ResourceClaimTemplate, by (namespace, name)."""
        self.identifiers = identifiers
        self.settlement = Settlement(
            self.book, self.tenancy, self.book.writer, metrics, access.pricing_of, self._provider_of, utcnow
        )
        self.controller = TaskController(
            self.book,
            identifiers,
            self.view,
            metrics,
            hub_id,
            pool_of,
            access=access,
            tenancy=self.tenancy,
            hub_objects=hub,
            image=image,
            datasets=self.datasets.items,
            charge=self.settlement.charge_data,
        )
        self.metrics = metrics
        self.hub_id = hub_id
        self.identifiers = identifiers
        self._loops: list[asyncio.Task[None]] = []
        self._cancelling: set[str] = set()
        self.checks = HubCheck(hub.client, namespace, hub_id, metrics, self.controller.spawn)
        self._held: dict[str, _Held] = {}
        identifiers.registry.on_connect.append(self._watch_jobs)
        metrics.sources.queue = self.queue_view

    def _watch_jobs(self, conn: MemberConnection) -> None:
        conn.watch_workloads(hub_selector(self.hub_id)).subscribe(self.controller.on_jobs_changed)

    def start(self) -> None:
        watch = TaskWatch(self.admit, self._deleting, self._gone)
        reflector = Reflector("hub computetasks", self.hub.lister(TASK), dict, watch)
        self._loops = [
            asyncio.create_task(reflector.run(), name="task watch"),
            asyncio.create_task(self.controller.run(), name="scheduler"),
            asyncio.create_task(self._follow_identifiers(), name="identifier changes"),
            asyncio.create_task(self._sweep_loop(), name="orphan sweep"),
            asyncio.create_task(
                Reflector("hub computequeues", self.hub.lister(QUEUE), dict, self.queues).run(), name="queue watch"
            ),
            asyncio.create_task(self.settlement.run(), name="settlement"),
            asyncio.create_task(
                Reflector("hub computedatasets", self.hub.lister(DATASET), dict, self.datasets).run(),
                name="dataset watch",
            ),
            asyncio.create_task(
                Reflector(
                    "hub resourceclaimtemplates",
                    ResourceV1Api(
                        self.hub.client
                    ).list_resource_claim_template_for_all_namespaces_without_preload_content,
                    template_facts,
                    self.claim_templates,
                    backoff_max=CLAIM_TEMPLATES_BACKOFF_MAX_S,
                ).run(),
                name="claim template watch",
            ),
        ]

    def _claim_template_changed(self, namespace: str, name: str) -> None:
        """A hub template appeared, changed or vanished: the tasks naming it are placed with what it is now."""
        naming = self._naming.get((namespace, name), set())
        touched = False
        for uid in list(naming):
            record = self.book.get(uid)
            if record is None or name not in _claimed(record):  # deleted, held, or edited since
                naming.discard(uid)
                continue
            self._resolve_templates(record)
            touched = True
        if not naming:
            self._naming.pop((namespace, name), None)
        if touched:
            self.book.wake.fire()

    def _resolve_templates(self, record: TaskRecord) -> None:
        """Give the task the hub's templates its pods name; remember it names them (`_claim_template_changed`)."""
        names = _claimed(record)
        for name in names:
            self._naming.setdefault((record.namespace, name), set()).add(record.uid)
        record.claim_templates = self.claim_templates.resolve(record.namespace, names)

    def _provider_of(self, identifier: str) -> str:
        item = self.identifiers.items.get(identifier)
        return item.spec.provider if item is not None and item.spec is not None else ""

    async def _follow_identifiers(self) -> None:
        """Member health and capacity changes may unblock waiting tasks or call for failover."""
        seen = -1
        while True:
            seen = await self.identifiers.changed.wait_past(seen, patience=5.0)
            try:
                self.controller.check_members()
            except Exception:  # one bad record must not stop failover for every other task
                logger.exception("failover check failed")
            self.book.wake.fire()

    async def _sweep_loop(self) -> None:
        custom = CustomObjectsApi(self.hub.client)
        while True:
            await asyncio.sleep(self.sweep_interval_s)
            try:
                removed = await self.controller.cleanup.sweep(custom)
                staged = await self.controller.cleanup.sweep_staging(custom)
            except Exception:  # the sweep is best effort; the next round tries again
                logger.exception("orphan sweep failed")
                continue
            if removed or staged:
                logger.info("orphan sweep removed %d Jobs and the staging objects of %d attempts", removed, staged)

    # ---- deletion ----

    def _deleting(self, body: Mapping[str, Any]) -> None:
        """A task with a deletionTimestamp: one held by a finalizer of an older operator version."""
        uid = body["metadata"]["uid"]
        held = self._held.pop(uid, None)
        record = self.book.get(uid) or (held.record if held else None) or self.record_of(body)
        if record is None or uid in self._cancelling:
            return
        self._cancelling.add(uid)
        self.controller.spawn(self._cancel(record, body), f"cancel {record.key}")

    def _gone(self, uid: str) -> None:
        """A task deleted from the hub (watch DELETED, or missing from a fresh list)."""
        held = self._held.pop(uid, None)
        record = self.book.get(uid) or (held.record if held else None)
        if record is not None:
            for name in _claimed(record):
                self._naming.get((record.namespace, name), set()).discard(uid)
        if record is None or uid in self._cancelling:
            return
        record.gone = True
        self._cancelling.add(uid)
        self.controller.spawn(self._cancel(record, None), f"cancel {record.key}")

    async def _cancel(self, record: TaskRecord, body: Mapping[str, Any] | None) -> None:
        """Delete the task's Jobs everywhere, retrying unreachable members up to the cancel timeout."""
        since = utcnow()
        try:
            while True:
                try:
                    await self.controller.cleanup.cancel(record, since)
                    break
                except CancelPending as e:
                    logger.info("%s: Jobs not removed yet (%s); retrying", record.key, e)
                    await asyncio.sleep(CANCEL_RETRY_S)
            if body is not None:
                await self._release(body)
        except Exception:  # never let one deletion stop the others; the sweep is the backstop
            logger.exception("%s: cancelling failed; the orphan sweep removes what is left", record.key)
        finally:
            self._cancelling.discard(record.uid)

    async def _release(self, body: Mapping[str, Any]) -> None:
        meta = body["metadata"]
        finalizers = list(meta.get("finalizers") or ())
        kept = [f for f in finalizers if f not in LEGACY_FINALIZERS]
        if kept != finalizers:
            await self.hub.remove_finalizers(TASK, meta["name"], meta["namespace"], kept)

    async def close(self) -> None:
        for t in self._loops:
            t.cancel()
        for t in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await self.controller.close()
        await self.book.writer.close()

    # ---- admission ----

    def record_of(self, body: Mapping[str, Any], spec: ComputeTaskSpec | None = None) -> TaskRecord | None:
        meta = body["metadata"]
        if spec is None:
            try:
                spec = resolve_resources(ComputeTaskSpec.model_validate(dict(body.get("spec") or {})))
            except (ValidationError, ContractError):
                return None
        return TaskRecord(
            uid=meta["uid"],
            namespace=meta["namespace"],
            name=meta["name"],
            created=_created(meta),
            generation=meta.get("generation"),
            spec=spec,
            template=dict((body.get("spec") or {}).get("template") or {}),
            workload=dict((body.get("spec") or {}).get("workload") or {}),
            status=status_of(body),
        )

    def admit(self, body: Mapping[str, Any]) -> None:
        """Take in a task's spec (created, edited, or seen again after a restart)."""
        meta = body["metadata"]
        uid = meta["uid"]
        held = self._held.pop(uid, None)  # a newer spec replaces one waiting for its verdict
        existing = self.book.get(uid) or (held.record if held else None)
        spec, problems = checked_task(dict(body.get("spec") or {}))
        record = self.record_of(body, spec) if spec is not None and not problems else None
        if record is None:
            self._reject(body, existing, summarize(problems) if problems else "spec does not parse")
            return
        known = held.known if held else existing is not None
        fresh = held.fresh if held else (existing or record).status.phase is None
        edited: tuple[str, ...] = ()
        if existing is not None and existing.phase in ACTIVE and record.generation != existing.generation:
            edited = workload_edits(
                existing.spec,
                {"template": existing.template, "workload": existing.workload},
                record.spec,
                {"template": record.template, "workload": record.workload},
            )
        # A waiting task, or an edit of what a dispatched one runs (it runs as a new attempt), is
        # judged by Kubernetes first; an unedited dispatched task's object was judged by its member.
        if (existing or record).phase in WAITING or edited:
            verdict = self.checks.verdict(
                record.spec, record.template, record.workload, lambda: self._readmit(uid), body.get("spec") or {}
            )
            if verdict is None:
                if existing is not None and edited:  # the running attempt goes on until the edit is judged
                    self._held[uid] = _Held(body, existing, known, fresh)
                else:
                    self._hold(body, existing, record, known, fresh)
                return
            if verdict.problems:
                self._reject(body, existing, verdict.message)  # a dispatched task keeps running what it runs
                return
        if existing is not None:
            # The record object stays (in-flight dispatches hold it); memory may be ahead of the
            # object's status because writes are asynchronous, so only the spec is taken over.
            existing.spec, existing.template, existing.generation = record.spec, record.template, record.generation
            existing.workload = record.workload
            record = existing
        self._resolve_templates(record)
        if self.book.get(uid) is None:
            self.book.put(record)
        if fresh:
            self.metrics.tasks_submitted.labels(record.namespace).inc()
        event: Event = Admitted()
        if record.phase in ACTIVE and (record.spec.suspend or edited):
            # Carried out, never ignored (docs/api.md): the attempt ends, metered up to now.
            placement = record.status.placement
            pricing = self.controller.access.pricing_of(placement.identifier) if placement is not None else None
            ran = meter_attempt(placement, record.status.start_time, self.controller.clock(), pricing)
            event = SuspendRequested(ran) if record.spec.suspend else WorkloadEdited(edited, ran)
        self.controller.handle(record, event)
        if not known:
            self.controller.on_jobs_changed(uid)  # resumed: follow, fence, or notice a vanished Job

    def _hold(
        self, body: Mapping[str, Any], existing: TaskRecord | None, record: TaskRecord, known: bool, fresh: bool
    ) -> None:
        """Keep a task out of placement until the hub's verdict on its Job (``_readmit`` brings it)."""
        if existing is not None:
            existing.spec, existing.template, existing.generation = record.spec, record.template, record.generation
            existing.workload = record.workload
            record = existing
        self.book.drop(record.uid)
        self._held[record.uid] = _Held(body, record, known, fresh)
        self.controller.handle(record, Admitted(checking=CHECKING))

    def _readmit(self, uid: str) -> None:
        """The hub's verdict on a held task's Job is in: admit its newest spec again (the verdict is cached)."""
        held = self._held.get(uid)
        if held is not None:  # else deleted meanwhile
            self.admit(held.body)

    def _reject(self, body: Mapping[str, Any], existing: TaskRecord | None, message: str) -> None:
        if existing is not None and existing.phase in ACTIVE:
            self.controller.handle(existing, SpecInvalid(message))  # the running work is left alone
            return
        meta = body["metadata"]
        record = existing or TaskRecord(
            uid=meta["uid"],
            namespace=meta["namespace"],
            name=meta["name"],
            created=_created(meta),
            generation=meta.get("generation"),
            spec=None,  # type: ignore[arg-type]
            template={},
            status=status_of(body),
        )
        record.generation = meta.get("generation")
        self.book.drop(meta["uid"])
        self.controller.handle(record, SpecInvalid(message))

    def counts(self, pool: str) -> TaskCounts:
        """Queued (Pending, Offered) and running (Dispatching, Running) tasks of a pool."""
        queued = running = 0
        for r in self._records():
            if r.spec is None or r.spec.pool != pool:
                continue
            if r.phase in (Phase.PENDING, Phase.OFFERED):
                queued += 1
            elif r.phase in (Phase.DISPATCHING, Phase.RUNNING):
                running += 1
        return TaskCounts(queued=queued, running=running)

    def _records(self) -> list[TaskRecord]:
        """Every task the operator holds: the book's, and those awaiting the hub's verdict."""
        return [*self.book, *(held.record for held in self._held.values())]

    # ---- metrics ----

    def queue_view(self) -> QueueView:
        by_phase: dict[tuple[str, str], int] = {}
        depth = 0
        oldest = 0.0
        now = utcnow()
        stuck_by_phase: dict[str, int] = {}
        for r in self._records():
            if stuck(r.status, r.phase_since, now):
                stuck_by_phase[str(r.phase)] = stuck_by_phase.get(str(r.phase), 0) + 1
            key = (r.namespace, str(r.phase))
            by_phase[key] = by_phase.get(key, 0) + 1
            if r.phase == Phase.PENDING and not r.spec.suspend:
                depth += 1
                oldest = max(oldest, (now - r.created).total_seconds())
        return QueueView(by_phase, depth, oldest, stuck_by_phase)
