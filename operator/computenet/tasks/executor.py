"""Carries out the lifecycle's decisions: one entry point, ``handle(record, event)``.

It runs the pure transition, writes the new status when it changed, and performs the effects:
Events, timers, metrics, and the calls into the dispatcher, the follower (fencing) and the
failover check. Those three are given as ports so each module stays testable on its own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from computenet.api.constants import Phase
from computenet.api.task import TaskSummary
from computenet.metrics import Metrics
from computenet.placement import Assumptions
from computenet.tasks.book import TaskBook
from computenet.tasks.demand import pod_set_demands
from computenet.tasks.lifecycle import (
    CountDispatched,
    CountFailover,
    CountFinished,
    Dispatch,
    Effect,
    Emit,
    Event,
    Fence,
    MeterData,
    Outcome,
    RecheckAt,
    Release,
    RetryAt,
    RetryDue,
    TaskFacts,
    Wake,
    transition,
)
from computenet.tasks.record import TaskRecord

logger = logging.getLogger(__name__)


@dataclass
class Ports:
    """What the executor calls into; the controller wires the real modules in."""

    dispatch: Callable[[TaskRecord], None] = lambda record: None
    fence: Callable[[TaskRecord], None] = lambda record: None
    recheck: Callable[[TaskRecord], None] = lambda record: None
    release: Callable[[TaskRecord], None] = lambda record: None
    """The attempt holds nothing any more: remove what staging left in its member."""
    charge: ChargeData | None = None
    """Books a task's data egress (settlement's ``charge_data``); None: no settlement."""


class ChargeData(Protocol):
    """Books what moving a task's data cost (``Settlement.charge_data``)."""

    def __call__(
        self, record: TaskRecord, provider: str, amount: float, currency: str, queue: str | None = None
    ) -> None: ...


def facts_of(record: TaskRecord) -> TaskFacts:
    spec = record.spec
    if spec is None:  # an invalid task: only its Valid condition is written
        return TaskFacts(generation=record.generation)
    acc = spec.resources.accelerators
    roles = pod_set_demands(record.workload, None) if record.workload else ()
    if roles:  # every role with devices, "1x8+2x8"
        gpus = "+".join(f"{s.count}x{s.devices}" for s in roles if s.count and s.devices) or "-"
    elif spec.variants:  # one per variant, "1x8|1x4"
        gpus = "|".join(f"{spec.replicas}x{v.accelerators.count or '?'}" for v in spec.variants)
    elif acc is not None and acc.compute is not None:  # the count is chosen with the model: "1x800bf16"
        gpus = f"{spec.replicas}x{acc.compute.tflops:g}{acc.compute.precision}"
    else:
        gpus = f"{spec.replicas}x{acc.count}" if acc and acc.count else "-"
    summary = TaskSummary(gpus=gpus)
    return TaskFacts(
        generation=record.generation,
        failover=str(spec.failover.policy),
        grace_period_s=float(spec.failover.grace_period_seconds),
        unavailable_s=float(spec.failover.unavailable_seconds),
        summary=summary,
    )


@dataclass(frozen=True)
class _Timer:
    at: dt.datetime
    record: TaskRecord
    handle: asyncio.TimerHandle


class Executor:
    def __init__(
        self,
        book: TaskBook,
        assumptions: Assumptions,
        metrics: Metrics,
        clock: Callable[[], dt.datetime],
        ports: Ports | None = None,
    ) -> None:
        self.book = book
        self.assumptions = assumptions
        self.metrics = metrics
        self.clock = clock
        self.ports = ports or Ports()
        self._timers: dict[str, dict[str, _Timer]] = {}
        """Task uid -> timer kind ("retry", "recheck") -> the timer."""

    def handle(self, record: TaskRecord, event: Event) -> Outcome:
        """Apply one event to a task: the transition, then its write and effects. Never raises."""
        now = self.clock()
        try:
            outcome = transition(record.status, event, now, facts_of(record))
        except Exception:  # a bug in a rule must not stop the loop that delivered the event
            logger.exception("%s: transition on %s failed", record.key, type(event).__name__)
            return Outcome(record.status, (), "transition failed")
        if outcome.status is not record.status:
            if outcome.status.phase != record.status.phase:
                record.phase_since = now
            self.book.restatus(record, outcome.status)
            if not record.gone:
                self.book.write(record, outcome.write_after)
        for effect in outcome.effects:
            try:
                self._run(record, effect)
            except Exception:  # each effect is independent; one failing must not drop the others
                logger.exception("%s: effect %s failed", record.key, type(effect).__name__)
        return outcome

    def _run(self, record: TaskRecord, effect: Effect) -> None:
        m = self.metrics
        match effect:
            case Dispatch():
                self.ports.dispatch(record)
            case RetryAt(at=at):
                self._at(record, "retry", at, lambda: self.handle(record, RetryDue()))
            case RecheckAt(at=at):
                self._at(record, "recheck", at, lambda: self.ports.recheck(record))
            case Emit(reason=reason, message=message, warning=warning):
                self.book.event(record, reason, message, warning)
            case Release():
                self.assumptions.forget(record.uid)
                self.book.wake.fire()
                self.ports.release(record)
            case Fence():
                self.ports.fence(record)
            case Wake():
                self.book.wake.fire()
            case CountFinished(phase=phase, identifier=identifier, ran=ran):
                m.tasks_finished.labels(record.namespace, phase).inc()
                if ran is not None and phase != Phase.CANCELLED:
                    labels = (record.spec.pool, identifier or "", record.namespace)
                    if ran.accelerator_seconds and ran.model:
                        m.usage_gpu_seconds.labels(*labels, ran.model).inc(ran.accelerator_seconds)
                    m.usage_core_seconds.labels(*labels).inc(ran.core_seconds)
                    m.usage_memory_gib_seconds.labels(*labels).inc(ran.memory_gib_seconds)
                    m.cost.labels(*labels, ran.currency).inc(ran.cost)
            case CountFailover(identifier=identifier):
                m.failovers.labels(identifier, record.namespace).inc()
            case MeterData(provider=provider, queue=queue, moved=moved, charges=charges):
                if moved:
                    m.data_moved_bytes.labels(provider, queue).inc(moved)
                for charge in charges:
                    if self.ports.charge is not None:
                        self.ports.charge(record, charge.provider, charge.amount, charge.currency, queue)
            case CountDispatched(identifier=identifier):
                latency = max((self.clock() - record.created).total_seconds(), 0.0)
                m.dispatch_latency.labels(identifier).observe(latency)

    def _at(self, record: TaskRecord, kind: str, at: dt.datetime, call: Callable[[], object]) -> None:
        """Call `call` at `at` (one timer per task and kind: a new time replaces the old one).

        A timer already set for the same time and record is kept: a rule that says "recheck at T"
        on every check of a long grace period costs nothing after the first.
        """
        mine = self._timers.setdefault(record.uid, {})
        old = mine.get(kind)
        if old is not None:
            if old.at == at and old.record is record:
                return
            old.handle.cancel()
        delay = max((at - self.clock()).total_seconds(), 0.0)

        def fire() -> None:
            timers = self._timers.get(record.uid)
            if timers is not None and timers.get(kind) is timer:
                del timers[kind]
                if not timers:
                    del self._timers[record.uid]
            if self.book.get(record.uid) is record:
                call()

        timer = _Timer(at, record, asyncio.get_running_loop().call_later(delay, fire))
        mine[kind] = timer

    def forget(self, uid: str) -> None:
        for timer in self._timers.pop(uid, {}).values():
            timer.handle.cancel()

    def close(self) -> None:
        for timers in self._timers.values():
            for timer in timers.values():
                timer.handle.cancel()
        self._timers.clear()
