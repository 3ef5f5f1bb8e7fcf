"""The ComputeQueues the operator knows: read from the hub's watch, resolved for tasks, turned into quotas.

A reflector of ComputeQueues (``members.reflector``, as the task watch) feeds ``QueueBook``. A spec
that does not parse is kept with its problem and admits nothing (the problem is in its status). A
task names a queue (``spec.queueName``), or gets the first queue by name that is ``default`` for its
namespace, or none: then no quota applies and it is placed as before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from computenet.api.queue import ComputeQueueSpec, QueueQuota, QueueSpend
from computenet.quantity import QuantityError, cpu_millis, to_int_units
from computenet.queueing import CPU, MEMORY, Budget, ReclaimWithinPool, WithinQueue
from computenet.queueing import QueueQuota as Quota
from computenet.signal import Signal

logger = logging.getLogger(__name__)


@dataclass
class QueueEntry:
    name: str
    uid: str
    generation: int | None
    spec: ComputeQueueSpec | None
    problem: str = ""
    spend: QueueSpend = field(default_factory=QueueSpend)
    """Spend in the current period: read back from status when first seen, then kept by settlement."""


def amounts_of(quota: QueueQuota | None) -> dict[str, int]:
    """A quota as queueing amounts: cpu millicores, memory bytes, devices per model."""
    out: dict[str, int] = {}
    if quota is None:
        return out
    if quota.cpu is not None:
        out[CPU] = cpu_millis(quota.cpu)
    if quota.memory is not None:
        out[MEMORY] = to_int_units(quota.memory)
    out.update(quota.accelerators or {})
    return out


def quota_of(name: str, spec: ComputeQueueSpec) -> Quota:
    """The pure view of a queue (``computenet.queueing.QueueQuota``)."""
    return Quota(
        name=name,
        pool=spec.pool,
        nominal=amounts_of(spec.nominal_quota),
        borrowing_limit=amounts_of(spec.borrowing_limit) if spec.borrowing_limit is not None else None,
        weight=spec.fair_sharing.weight,
        within_queue=WithinQueue(str(spec.preemption.within_queue)),
        reclaim_within_pool=ReclaimWithinPool(str(spec.preemption.reclaim_within_pool)),
        reserve_after_s=float(spec.reservation.after_seconds) if spec.reservation is not None else None,
    )


def budget_of(spec: ComputeQueueSpec) -> Budget | None:
    return Budget(spec.budget.amount, spec.budget.currency) if spec.budget is not None else None


class QueueBook:
    """Reflector sink for ComputeQueues (``computenet.members.reflector.Sink``), and the lookups tasks need."""

    def __init__(self, changed: Signal | None = None) -> None:
        self.items: dict[str, QueueEntry] = {}
        self.changed = changed or Signal()
        """Fired when a queue comes, goes or changes: waiting tasks may be admitted now."""

    # ---- sink ----

    def replace(self, items: Mapping[str, Mapping[str, Any]]) -> None:
        for name in [n for n in self.items if n not in items]:
            self.delete(name)
        for key, body in items.items():
            self.upsert(key, body)

    def upsert(self, key: str, item: Mapping[str, Any]) -> None:
        meta = item["metadata"]
        name, uid, generation = str(meta["name"]), str(meta["uid"]), meta.get("generation")
        known = self.items.get(name)
        if known is not None and known.uid == uid and known.generation == generation:
            return  # our own status write coming back
        spec, problem = None, ""
        try:
            spec = ComputeQueueSpec.model_validate(dict(item.get("spec") or {}))
            quota_of(name, spec)  # quantities must convert
        except (ValidationError, QuantityError, ValueError) as e:
            spec, problem = None, f"spec does not parse: {e}".splitlines()[0]
        entry = QueueEntry(name, uid, generation, spec, problem)
        if known is not None and known.uid == uid:
            entry.spend = known.spend
        else:
            entry.spend = _spend_of(item)
        self.items[name] = entry
        self.changed.fire()

    def delete(self, key: str) -> None:
        if self.items.pop(key.rsplit("/", 1)[-1], None) is not None:
            self.changed.fire()

    # ---- lookups ----

    @property
    def active(self) -> bool:
        """Whether any queue exists: without one, tasks are placed exactly as before tenancy."""
        return bool(self.items)

    def resolve(self, namespace: str, pool: str, queue_name: str | None) -> tuple[str | None, str]:
        """The queue of a task (None: no queue), or why it cannot be admitted ("" when it can)."""
        if queue_name is None:
            for name in sorted(self.items):
                spec = self.items[name].spec
                if spec is not None and spec.default and namespace in spec.namespaces and spec.pool == pool:
                    return name, ""
            return None, ""
        entry = self.items.get(queue_name)
        if entry is None:
            return None, f"queue {queue_name} does not exist: create the ComputeQueue or change spec.queueName"
        if entry.spec is None:
            return None, f"queue {queue_name} is not valid: {entry.problem}"
        if namespace not in entry.spec.namespaces:
            return None, f"queue {queue_name} does not admit tasks of namespace {namespace}"
        if entry.spec.pool != pool:
            return None, f"queue {queue_name} admits into pool {entry.spec.pool}, not {pool}"
        return queue_name, ""

    def quotas(self) -> list[Quota]:
        return [quota_of(e.name, e.spec) for e in self.items.values() if e.spec is not None]

    def pools(self) -> set[str]:
        return {e.spec.pool for e in self.items.values() if e.spec is not None}


def _spend_of(body: Mapping[str, Any]) -> QueueSpend:
    """The spend a queue's status records (after a restart, settlement goes on from there)."""
    raw = (body.get("status") or {}).get("spend")
    if not raw:
        return QueueSpend()
    try:
        return QueueSpend.model_validate(raw)
    except ValidationError:
        logger.warning("queue %s: status.spend not readable, starting from 0", body["metadata"]["name"])
        return QueueSpend()
