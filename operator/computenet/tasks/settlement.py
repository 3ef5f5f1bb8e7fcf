"""Settlement: cost accrues per queue, namespace and provider while tasks run; queues get their status.

Every ``SETTLE_INTERVAL_S`` each attempt that runs (``status.placement`` with a start time) is
metered from where the last tick left it to now, at its identifier's prices, from what it dispatched
(``tasks/metering.py``: replicas x per-replica requests x time); a finished attempt is metered up to
its completion once. The cost goes to ``computenet_spend_total{queue, namespace, provider, currency}``
and, for a task admitted through a queue, to the queue's spend in the current period (the calendar
month in UTC), which ``status.spend`` keeps across restarts. A restarted operator resumes each running
attempt from the queue's ``status.spend.lastSettled``, so nothing is counted twice.

The same tick computes each ComputeQueue's status (usage per resource against quota, borrowed, tasks
admitted and waiting, spend) and hands it to the queues' pure table (``statuses.queue_transitions``),
which says whether to write it and what to announce; this shell carries that out through the one
writer, and sets the queue gauges.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable

from computenet.api.conditions import condition, set_conditions
from computenet.api.constants import API_VERSION, QUEUE, ConditionType, Phase, Reason
from computenet.api.identifier import Pricing
from computenet.api.queue import ComputeQueueStatus, QueueSpend, QueueSummary, QueueTasks, QuotaUsage
from computenet.events import ObjectRef
from computenet.metrics import Metrics
from computenet.quantity import base_units, cpu_millis, format_amount, to_int_units
from computenet.queueing import CPU, MEMORY, period_start
from computenet.statuses.queue_transitions import QueueRecord, transition
from computenet.statuses.vocabulary import Emit, Observed, Write, Written
from computenet.statuses.writer import StatusWrites
from computenet.tasks.book import TaskBook
from computenet.tasks.metering import meter_attempt
from computenet.tasks.queues import QueueEntry, budget_of
from computenet.tasks.queues import amounts_of as quota_amounts
from computenet.tasks.record import TaskRecord
from computenet.tasks.tenancy import Tenancy, amounts_of, holding

logger = logging.getLogger(__name__)

SETTLE_INTERVAL_S = 10.0

_Key = tuple[str, int]

__all__ = ["SETTLE_INTERVAL_S", "Settlement", "base_units"]


class Settlement:
    def __init__(
        self,
        book: TaskBook,
        tenancy: Tenancy,
        writer: StatusWrites,
        metrics: Metrics,
        pricing_of: Callable[[str], Pricing | None],
        provider_of: Callable[[str], str],
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.book, self.tenancy, self.writer, self.metrics = book, tenancy, writer, metrics
        self.pricing_of, self.provider_of, self.clock = pricing_of, provider_of, clock
        self._settled: dict[_Key, dt.datetime] = {}
        """Running attempts: metered up to this time."""
        self._done: set[_Key] = set()
        """Finished attempts metered to their end."""
        self._started = clock()
        """What ran before this process started is not counted again (a queue's spend already holds it)."""
        self._records: dict[str, QueueRecord] = {}
        """Each queue's record for its table (``statuses.queue_transitions``)."""
        self._written: dict[str, ComputeQueueStatus] = {}
        """The status last written of each queue (the gauges are set from it)."""
        self._gauges: set[tuple[str, ...]] = set()

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # settlement is retried on the next tick; one failure must not end it
                logger.exception("settlement tick failed")
            await asyncio.sleep(SETTLE_INTERVAL_S)

    async def tick(self) -> None:
        now = self.clock()
        self.accrue(now)
        for entry in list(self.tenancy.queues.items.values()):
            record = self._record(entry.name, entry.uid)
            outcome = transition(record, Observed(self.status_of(entry, now)), now)
            if any(isinstance(e, Write) for e in outcome.effects):
                await self._write(entry.name, entry.uid, outcome.status, now)
        for gone in [name for name in self._records if name not in self.tenancy.queues.items]:
            del self._records[gone]
            self._written.pop(gone, None)
        self.set_gauges()

    def _record(self, name: str, uid: str) -> QueueRecord:
        record = self._records.get(name)
        if record is None or record.uid != uid:  # a queue deleted and created again under its name starts afresh
            record = self._records[name] = QueueRecord(name, uid)
            self._written.pop(name, None)
        return record

    async def _write(self, name: str, uid: str, status: ComputeQueueStatus, now: dt.datetime) -> None:
        self.writer.write(QUEUE, None, name, status)
        if not await self.writer.flush(QUEUE, None, name):
            return  # a queue deleted meanwhile: the writer dropped it, and the next tick tries again if it is back
        record = self._records[name]
        outcome = transition(record, Written(status), now)
        self._records[name] = record.wrote(status, now)
        self._written[name] = status
        ref = ObjectRef(API_VERSION, QUEUE.kind, name, uid)
        for effect in outcome.effects:
            if isinstance(effect, Emit):
                self.book.events.record(ref, effect.reason, effect.message, effect.warning)

    def accrue(self, now: dt.datetime) -> None:
        """Meter every running attempt up to ``now`` (a finished one up to its end) and book the cost."""
        start = period_start(now)
        queues = self.tenancy.queues.items
        for entry in queues.values():
            if entry.spend.period_start != start:
                currency = entry.spec.budget.currency if entry.spec and entry.spec.budget else entry.spend.currency
                last = entry.spend.last_settled  # a new month: spend from its start (``since`` below)
                entry.spend = QueueSpend(amount=0.0, currency=currency, period_start=start, last_settled=last)
        present: set[str] = set()
        for record in self.book:
            present.add(record.uid)
            status = record.status
            placement = status.placement
            if placement is None or status.start_time is None or record.spec is None:
                continue
            key = (record.uid, status.attempt)
            running = record.phase in (Phase.DISPATCHING, Phase.RUNNING)
            if key in self._done or not (running or (record.phase.terminal and status.completion_time)):
                continue
            queue = queues.get(placement.queue or "")
            # After a restart, what ran before the queue's last settlement is already in its spend.
            resumed = queue.spend.last_settled if queue is not None and queue.spend.last_settled else self._started
            since = self._settled.get(key) or max(status.start_time, resumed, start)
            end = now if running else (status.completion_time or now)
            if running:
                self._settled[key] = max(end, since)
            else:
                self._settled.pop(key, None)
                self._done.add(key)
            if end <= since:
                continue
            ran = meter_attempt(placement, since, end, self.pricing_of(placement.identifier))
            if ran is None or ran.cost <= 0:
                continue
            provider = self.provider_of(placement.identifier)
            self.metrics.spend.labels(placement.queue or "", record.namespace, provider, ran.currency).inc(ran.cost)
            if queue is not None and ran.currency == queue.spend.currency:
                # What ran before the month began belongs to the month that ended, not to this one's budget.
                this_month = (
                    ran
                    if since >= start
                    else meter_attempt(placement, start, end, self.pricing_of(placement.identifier))
                )
                cost = this_month.cost if this_month is not None else 0.0
                queue.spend = queue.spend.model_copy(update={"amount": queue.spend.amount + cost})
        for key in [k for k in self._settled if k[0] not in present]:
            del self._settled[key]  # deleted tasks
        self._done = {k for k in self._done if k[0] in present}
        for entry in queues.values():
            entry.spend = entry.spend.model_copy(update={"last_settled": now})

    def charge_data(
        self, record: TaskRecord, provider: str, amount: float, currency: str, queue: str | None = None
    ) -> None:
        """Book the egress one of a task's data moves cost, once: a copy when it finishes, outputs when pushed.

        Like compute, it goes to ``computenet_spend_total`` (provider: the source store's) and, for a
        task admitted through a queue, to the queue's spend this period when the currencies match; and
        to ``computenet_data_cost_total``. The move's end is in the task's status, so a restarted
        operator does not book it again. ``queue``: the queue that admitted the attempt, when the
        status no longer says (default: ``status.placement.queue``).
        """
        if amount <= 0:
            return
        placement = record.status.placement
        if queue is None:
            queue = placement.queue if placement is not None else None
        queue_name = queue or ""
        self.metrics.spend.labels(queue_name, record.namespace, provider, currency).inc(amount)
        self.metrics.data_cost.labels(provider, queue_name, currency).inc(amount)
        entry = self.tenancy.queues.items.get(queue_name)
        if entry is not None and entry.spend.currency == currency:
            entry.spend = entry.spend.model_copy(update={"amount": entry.spend.amount + amount})

    def status_of(self, entry: QueueEntry, now: dt.datetime) -> ComputeQueueStatus:
        """The queue's status: usage per named resource, tasks, spend, Active condition, summary."""
        spec = entry.spec
        used: dict[str, int] = {}
        admitted = waiting = 0
        for record in self.book:
            if record.spec is None:
                continue
            if holding(record):
                placement = record.status.placement
                if placement is not None and placement.queue == entry.name:
                    admitted += 1
                    for r, a in amounts_of(record).items():
                        used[r] = used.get(r, 0) + a
            elif record.wants_placement and self.tenancy.resolve(record)[0] == entry.name:
                waiting += 1
        nominal = quota_amounts(spec.nominal_quota) if spec else {}
        usage = [
            QuotaUsage(
                resource=r,
                nominal=format_amount(r, n),
                used=format_amount(r, used.get(r, 0)),
                borrowed=format_amount(r, max(used.get(r, 0) - n, 0)),
            )
            for r, n in sorted(nominal.items())
        ]
        gpus = [r for r in nominal if r not in (CPU, MEMORY)]
        budget = budget_of(spec) if spec else None
        spent = f"{entry.spend.amount:.2f}"
        over = self.tenancy.over_budget(now).get(entry.name)
        if spec is None:
            active = condition(ConditionType.ACTIVE, False, Reason.INVALID_SPEC, entry.problem)
        elif over:
            active = condition(ConditionType.ACTIVE, False, Reason.OVER_BUDGET, over)
        else:
            active = condition(ConditionType.ACTIVE, True, Reason.ADMITTING, f"admitting tasks into pool {spec.pool}")
        known = self._records.get(entry.name)
        conditions = set_conditions(known.conditions if known else None, [active], now, entry.generation)
        return ComputeQueueStatus(
            observed_generation=entry.generation,
            conditions=conditions,
            usage=usage or None,
            tasks=QueueTasks(admitted=admitted, waiting=waiting),
            spend=entry.spend,
            summary=QueueSummary(
                gpus=f"{sum(used.get(r, 0) for r in gpus)}/{sum(nominal[r] for r in gpus)}" if gpus else None,
                spend=f"{spent}/{budget.amount:g} {budget.currency}" if budget else f"{spent} {entry.spend.currency}",
            ),
        )

    def set_gauges(self) -> None:
        """Queue gauges from the last status bodies, reserved capacity from the live reservations."""
        m = self.metrics
        seen: set[tuple[str, ...]] = set()

        def put(gauge: str, labels: tuple[str, ...], value: float) -> None:
            getattr(m, gauge).labels(*labels).set(value)
            seen.add((gauge, *labels))

        for name, status in self._written.items():
            entry = self.tenancy.queues.items.get(name)
            if entry is None or entry.spec is None:
                continue
            pool = entry.spec.pool
            nominal = quota_amounts(entry.spec.nominal_quota)
            used = {u.resource: u for u in status.usage or ()}
            for r, n in nominal.items():
                put("queue_quota", (name, pool, r), base_units(r, n))
                u, b = _amount(r, used[r].used), _amount(r, used[r].borrowed)
                put("queue_usage", (name, pool, r), base_units(r, u))
                put("queue_borrowed", (name, pool, r), base_units(r, b))
            tasks = status.tasks or QueueTasks()
            put("queue_tasks", (name, "admitted"), tasks.admitted)
            put("queue_tasks", (name, "waiting"), tasks.waiting)
            put("queue_spend", (name, entry.spend.currency), entry.spend.amount)
            budget = budget_of(entry.spec)
            if budget is not None:
                put("queue_budget", (name, budget.currency), budget.amount)
        for held in self.tenancy.reservations:
            for resource, amount in held.amounts.items():
                if amount:
                    put("reserved_capacity", (held.identifier, resource), base_units(resource, amount))
        for gone in self._gauges - seen:
            with contextlib.suppress(KeyError):
                getattr(m, gone[0]).remove(*gone[1:])
        self._gauges = seen


def _amount(resource: str, text: str) -> int:
    return cpu_millis(text) if resource == CPU else to_int_units(text)
