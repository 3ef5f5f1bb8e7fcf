"""The scheduling loop: places every waiting task in queue order whenever something changed.

A new task, freed capacity or a member back fires the book's wake signal; one pass then asks
placement for every waiting task at once (priority, then age, without head-of-line blocking) and
turns each decision into a lifecycle event: ``Placed``, ``NoFit``, ``PoolMissing`` or
``OffersFound``. Nothing polls: a pass runs on a wake-up, or every few seconds as a safety net.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from computenet.api.constants import Reason
from computenet.api.pool import ComputePoolSpec
from computenet.api.task import MAX_PINNED_NODES, DispatchedResources, Placement, PodSetPlacement
from computenet.members.identifiers import IdentifierSet
from computenet.metrics import Metrics
from computenet.placement import Decision, offers, schedule
from computenet.placement.demand import Demand
from computenet.placement.snapshot import Snapshot
from computenet.pools import pool_selector, selection_labels
from computenet.quantity import cpu_millis, format_bytes, format_cpu, to_int_units
from computenet.tasks.book import TaskBook
from computenet.tasks.candidates import explanation, offer_status
from computenet.tasks.demand import Datasets, avoiding, demand_of, store_regions
from computenet.tasks.executor import Executor
from computenet.tasks.lifecycle import (
    Event,
    NoFit,
    OffersFound,
    Placed,
    PoolMissing,
    Preempted,
    already_waiting,
)
from computenet.tasks.metering import meter_attempt
from computenet.tasks.placement_view import PlacementView
from computenet.tasks.record import TaskRecord
from computenet.tasks.tenancy import Tenancy

logger = logging.getLogger(__name__)

T = TypeVar("T")

COALESCE_S = 0.01
"""After a wake-up, wait this long so a burst of new tasks is placed in one pass."""
SWEEP_EVERY_S = 1.0
"""How often every assumption is checked (between sweeps, only those of tasks whose pods were bound)."""
PATIENCE_S = 5.0
"""A pass runs at least this often even when nothing signalled a change."""
OFFERS = 3
SETTLING_S = 10.0
"""Right after start, identifiers, pools and member watches are still being read: a task that does
not fit yet is not told so (no write, no Event) until this long after the first pass."""


def decision_event(record: TaskRecord, decision: Decision, now: dt.datetime, queue: str | None = None) -> Event:
    """What one placement decision means for the task, as a lifecycle event (pure).

    ``queue`` is the ComputeQueue that admitted the task, recorded in the placement for its quota.
    """
    if record.spec.suspend:
        found = tuple(offer_status(o, c) for o, c in zip(offers(decision, OFFERS), decision.top(OFFERS), strict=True))
        if found:
            message = f"{len(found)} offers, best {found[0].identifier}; set spec.suspend to false to run there"
            message += f"; {decision.caveat}" if decision.caveat else ""
        else:
            message = decision.summary
        return OffersFound(found, message, explanation(decision))
    chosen = decision.chosen
    if chosen is None:
        said = already_waiting(record.status, Reason.NO_FIT, decision.summary)
        return NoFit(decision.summary, None if said else explanation(decision))
    spec = record.spec
    acc = spec.resources.accelerators
    devices = acc.count or 0 if acc else 0
    if decision.variant is not None:  # the chosen variant's devices, or the count a compute request chose
        devices = decision.per_replica.accelerators
    nodes = sorted({slot.node for slot in decision.assignment})
    placement = Placement(
        identifier=chosen.identifier,
        uri=chosen.uri or None,
        score=round(chosen.score, 2),
        reasons=[f"{k} {v:.0f}" for k, v in sorted(chosen.scores.items())],
        time=now,
        accelerator_model=chosen.model,
        variant=chosen.variant,
        device_class=decision.device_class,
        price_per_hour=None if chosen.price_per_hour is None else round(chosen.price_per_hour, 4),
        currency=chosen.currency,
        resources=DispatchedResources(
            replicas=spec.replicas,
            cpu=format_cpu(cpu_millis(spec.resources.cpu)),
            memory=format_bytes(to_int_units(spec.resources.memory)),
            accelerators=devices,
        ),
        nodes=nodes if 0 < len(nodes) <= MAX_PINNED_NODES else None,
        pod_sets=pod_set_placements(decision),
        explanation=explanation(decision),
        queue=queue,
    )
    return Placed(placement, f"{chosen.identifier} (score {chosen.score:.1f})", decision.caveat)


def pod_set_placements(decision: Decision) -> list[PodSetPlacement] | None:
    """Per role of a task of several pod sets: its pods, their requests and nodes; None for one pod set."""
    roles = decision.pod_sets
    if not roles or "" in roles:
        return None
    out = []
    for role, slots in roles.items():
        each = slots[0].per_replica
        nodes = sorted({s.node for s in slots})
        out.append(
            PodSetPlacement(
                role=role,
                replicas=sum(s.replicas for s in slots),
                cpu=format_cpu(each.cpu if each else 0),
                memory=format_bytes(each.memory if each else 0),
                accelerators=each.accelerators if each else 0,
                nodes=nodes if len(nodes) <= MAX_PINNED_NODES else None,
            )
        )
    return out


def cpu_timed(items: Iterable[T], observe: Callable[[float], None]) -> Iterator[T]:
    """`items` as they come, telling `observe` the CPU seconds of this thread each took to come.

    Placement yields one decision (or verdict) at a time, so this is the CPU of one task's decision,
    its assumption included, and not the effects the caller carries out between two of them.
    """
    it = iter(items)
    while True:
        started = time.thread_time()
        try:
            item = next(it)
        except StopIteration:
            return
        observe(time.thread_time() - started)
        yield item


class Scheduler:
    def __init__(
        self,
        book: TaskBook,
        identifiers: IdentifierSet,
        view: PlacementView,
        metrics: Metrics,
        pool_of: Callable[[str], ComputePoolSpec | None],
        executor: Executor,
        clock: Callable[[], dt.datetime],
        before_pass: Callable[[], None] = lambda: None,
        tenancy: Tenancy | None = None,
        datasets: Datasets | None = None,
    ) -> None:
        self.book = book
        self.identifiers = identifiers
        self.view = view
        self.metrics = metrics
        self.pool_of = pool_of
        self.executor = executor
        self.clock = clock
        self.before_pass = before_pass
        self._started: dt.datetime | None = None
        self._swept_at = float("-inf")
        """When every assumption was last checked (`time.monotonic`, see `_confirm_assumptions`)."""
        self.tenancy = tenancy
        """Admission through ComputeQueues; used only while a queue exists (see ``_admit``)."""
        self.datasets = datasets
        """The ComputeDatasets known, by (namespace, name): where the tasks' datasets have replicas."""

    async def run(self) -> None:
        seen = -1
        while True:
            seen = await self.book.wake.wait_past(seen, patience=PATIENCE_S)
            await asyncio.sleep(COALESCE_S)
            seen = self.book.wake.version
            try:
                self.before_pass()  # failover is checked here too: it must not hang on one signal path
                self.schedule_pass()
            except Exception:  # one bad pass must not stop scheduling for good
                logger.exception("scheduling pass failed")

    def schedule_pass(self) -> None:
        now = self.clock()
        self._started = self._started or now
        settling = (now - self._started).total_seconds() < SETTLING_S
        waiting = self.book.waiting()
        if not waiting:  # most passes of a burst: its pods' changes wake the scheduler, not new tasks
            return
        snapshot = self.view.snapshot()
        self._confirm_assumptions()  # after the snapshot: the pods it counts are no longer assumed
        demands: dict[str, Demand] = {}
        members: dict[str, frozenset[str]] = {}
        stores = store_regions(snapshot)
        for record in waiting:
            pool = self.pool_of(record.spec.pool)
            if pool is None:
                if not settling:
                    line = f"pool {record.spec.pool!r} does not exist: create the ComputePool or set spec.pool"
                    self.executor.handle(record, PoolMissing(line))
                continue
            if record.spec.pool not in members:
                members[record.spec.pool] = self._members_of(pool)
            try:
                demands[record.uid] = avoiding(
                    demand_of(record, pool.placement, members[record.spec.pool], self.datasets, stores), record, now
                )
            except Exception as e:  # a task placement cannot read waits with the reason, others go on
                logger.exception("%s: demand not readable", record.key)
                self.executor.handle(record, NoFit(f"the task cannot be placed: {type(e).__name__}: {e}"))
        loop_now = asyncio.get_running_loop().time()
        if self.tenancy is not None and self.tenancy.active:
            self._admit(self.tenancy, waiting, demands, members, snapshot, now, loop_now, settling)
            return
        queue = schedule(demands.values(), snapshot, self.view.assumptions, now=loop_now, clock=time.perf_counter)
        for demand, decision in cpu_timed(queue, self.metrics.placement_cpu.observe):
            current = self.book.get(demand.uid)
            if current is None or not current.wants_placement:
                continue
            self.metrics.placement_duration.observe(decision.elapsed)
            event = decision_event(current, decision, now)
            if settling and isinstance(event, NoFit):
                continue
            self.executor.handle(current, event)

    def _admit(
        self,
        tenancy: Tenancy,
        waiting: list[TaskRecord],
        demands: dict[str, Demand],
        members: dict[str, frozenset[str]],
        snapshot: Snapshot,
        now: dt.datetime,
        loop_now: float,
        settling: bool,
    ) -> None:
        """The pass with queues: quota, fair share, preemption and reservations decide (``queueing``)."""
        admitted = []
        for record in waiting:
            demand = demands.get(record.uid)
            if demand is None:
                continue
            queue, why = tenancy.resolve(record)
            if why:
                if not settling:
                    self.executor.handle(record, NoFit(why))
                continue
            admitted.append((record, demand, queue))
        verdicts = tenancy.admit(
            admitted,
            self.book,
            snapshot,
            self.view.assumptions,
            members,
            now=now,
            loop_now=loop_now,
            clock=time.perf_counter,
        )
        for verdict in cpu_timed(verdicts, self.metrics.placement_cpu.observe):
            current = self.book.get(verdict.demand.uid)
            if current is None or not current.wants_placement:
                continue
            by = current.key
            for victim in verdict.preempted:
                self._preempt(tenancy, victim.uid, by, now)
            if verdict.decision is not None:
                self.metrics.placement_duration.observe(verdict.decision.elapsed)
            if verdict.placed or (current.spec.suspend and verdict.decision is not None):
                assert verdict.decision is not None
                event = decision_event(current, verdict.decision, now, verdict.queue)
            else:
                reason = Reason.EXCEEDS_MAX_QUOTA if verdict.never_fits else Reason.NO_FIT
                event = NoFit(verdict.message, reason=reason)
            if settling and isinstance(event, NoFit):
                continue
            self.executor.handle(current, event)

    def _preempt(self, tenancy: Tenancy, uid: str, by: str, now: dt.datetime) -> None:
        """End a victim's attempt: it is requeued as a new attempt, its condition naming the preemptor."""
        victim = self.book.get(uid)
        if victim is None:
            return
        placement = victim.status.placement
        pricing = tenancy.pricing_of(placement.identifier) if placement is not None else None
        ran = meter_attempt(placement, victim.status.start_time, now, pricing)
        self.executor.handle(victim, Preempted(by, ran))
        self.metrics.preemptions.labels(placement.queue if placement and placement.queue else "").inc()

    def _members_of(self, pool: ComputePoolSpec) -> frozenset[str]:
        """Names of the identifiers a pool selects: placement considers only these."""
        selector = pool_selector(pool)
        return frozenset(
            item.name
            for item in self.identifiers.items.values()
            if item.spec is not None and selector.matches(selection_labels(item))
        )

    def _confirm_assumptions(self) -> None:
        """End the assumptions whose pods the members now count, and those of tasks gone or ended.

        Between sweeps of every assumption (at most every ``SWEEP_EVERY_S``) only the tasks whose
        pods were bound since the last pass are checked: a burst holds hundreds of assumptions, and
        checking each on every pass was 3% of the operator's CPU (py-spy, 1,000-task burst).
        """
        bound = self.view.bound_since()
        now = time.monotonic()
        if bound is None or now - self._swept_at >= SWEEP_EVERY_S:
            self._swept_at = now
            candidates = list(self.view.assumptions)
        else:
            candidates = [held for uid in bound if (held := self.view.assumptions.get(uid)) is not None]
        for held in candidates:
            record = self.book.get(held.task_uid)
            if record is None or record.phase.terminal:
                self.view.assumptions.forget(held.task_uid)
                continue
            pods = sum(s.replicas for s in held.nodes)  # every pod set's pods, as placed
            if self.view.bound_replicas(held.identifier, held.task_uid, record.attempt) >= max(pods, 1):
                self.view.assumptions.confirm(held.task_uid)
