"""The shell of tenancy admission: tasks, holders and queues in; ``queueing.admit`` verdicts out.

The scheduler calls ``Tenancy.admit`` instead of ``placement.schedule`` while any ComputeQueue exists.
This module converts what the operator holds into the pure inputs: the queue each waiting task is
admitted through, the tasks that hold quota and capacity (``status.placement`` of Dispatching and
Running tasks: its queue, resources and model; where their pods are, for preemption), the capacity
of each pool (the denominator of fair shares) and the queues over budget. The reservations live here
across passes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from computenet.api.constants import ACCELERATOR_RESOURCES, Phase
from computenet.api.identifier import Pricing
from computenet.placement import Assumptions
from computenet.placement.demand import Demand
from computenet.placement.device_plugins import is_device_resource
from computenet.placement.resources import vendor_of
from computenet.placement.snapshot import Snapshot
from computenet.quantity import QuantityError, cpu_millis, to_int_units
from computenet.queueing import (
    CPU,
    MEMORY,
    Holder,
    Queues,
    Reservations,
    Slot,
    Verdict,
    Waiting,
    admit,
    over_budget,
    period_start,
)
from computenet.tasks.queues import QueueBook, budget_of
from computenet.tasks.record import TaskRecord

DEVICE_RESOURCES = frozenset(ACCELERATOR_RESOURCES.values())


def is_vendor_device(resource: str) -> bool:
    """A vendor's device resource, whole devices or slices (``nvidia.com/mig-1g.10gb``), not amounts."""
    return resource in DEVICE_RESOURCES or (vendor_of(resource) is not None and is_device_resource(resource))


HOLDING = frozenset({Phase.DISPATCHING, Phase.RUNNING})


@dataclass(frozen=True)
class Pods:
    """Where a member runs a task's pods: per node, (cpu millicores, memory bytes, devices, pods)."""

    cluster: str
    nodes: Mapping[str, tuple[int, int, int, int]]


def holding(record: TaskRecord) -> bool:
    return record.phase in HOLDING and record.status.placement is not None


def amounts_of(record: TaskRecord) -> dict[str, int]:
    """What a placed attempt counts against its queue: replicas x its dispatched per-replica resources.

    A workload of several pod sets counts every role's pods at their own requests (``placement.podSets``).
    """
    placement = record.status.placement
    if placement is None or placement.resources is None:
        return {}
    res = placement.resources
    sets = [(s.replicas, s.cpu, s.memory, s.accelerators) for s in placement.pod_sets or ()]
    try:
        out = {
            CPU: sum(n * cpu_millis(cpu) for n, cpu, _, _ in sets or [(res.replicas, res.cpu, "", 0)]),
            MEMORY: sum(n * to_int_units(memory) for n, _, memory, _ in sets or [(res.replicas, "", res.memory, 0)]),
        }
    except QuantityError:
        return {}
    devices = sum(n * d for n, _, _, d in sets) if sets else res.accelerators * res.replicas
    if devices and placement.accelerator_model:
        out[placement.accelerator_model] = devices
    return out


def pods_by_node(pods: Iterable[tuple[str | None, Mapping[str, int]]]) -> dict[str, tuple[int, int, int, int]]:
    """Sum of (cpu, memory, devices) requests and the number of bound pods (node, requests) per node."""
    out: dict[str, tuple[int, int, int, int]] = {}
    for node, requests in pods:
        if not node:
            continue
        devices = sum(v for k, v in requests.items() if is_vendor_device(k))
        cpu, memory, dev, count = out.get(node, (0, 0, 0, 0))
        out[node] = (cpu + requests.get(CPU, 0), memory + requests.get(MEMORY, 0), dev + devices, count + 1)
    return out


class Tenancy:
    """Admission through ComputeQueues for the scheduler; see the module docstring."""

    def __init__(
        self,
        queues: QueueBook,
        pods_of: Callable[[str, str], Pods | None],
        pricing_of: Callable[[str], Pricing | None],
    ) -> None:
        self.queues = queues
        self.pods_of = pods_of
        """(identifier, task uid) -> where the member runs the task's pods, or None."""
        self.pricing_of = pricing_of
        """An identifier's prices: a preempted attempt is metered up to its preemption."""
        self.reservations = Reservations()
        self._capacity: tuple[Snapshot | None, dict[str, dict[str, int]]] = (None, {})

    @property
    def active(self) -> bool:
        return self.queues.active

    def resolve(self, record: TaskRecord) -> tuple[str | None, str]:
        return self.queues.resolve(record.namespace, record.spec.pool, record.spec.queue_name)

    def admit(
        self,
        waiting: Iterable[tuple[TaskRecord, Demand, str | None]],
        records: Iterable[TaskRecord],
        snapshot: Snapshot,
        assumptions: Assumptions,
        members: Mapping[str, frozenset[str]],
        *,
        now: dt.datetime,
        loop_now: float,
        clock: Callable[[], float] | None = None,
    ) -> Iterator[Verdict]:
        """Verdicts for the waiting (record, demand, queue) triples, in the order they were decided."""
        wall = now.timestamp()
        queued = [
            Waiting(demand, queue, loop_now - (wall - (record.phase_since or record.created).timestamp()))
            for record, demand, queue in waiting
        ]
        holders = [self._holder(r, assumptions, loop_now, wall) for r in records if holding(r)]
        pools = self.queues.pools()
        queues = Queues(
            quotas=self.queues.quotas(),
            capacity={pool: self._pool_capacity(snapshot, pool, members.get(pool, frozenset())) for pool in pools},
            over_budget=self.over_budget(now),
        )
        yield from admit(queued, holders, queues, snapshot, assumptions, self.reservations, now=loop_now, clock=clock)

    def over_budget(self, now: dt.datetime) -> dict[str, str]:
        """Queues whose spend in the current period reached their budget, with the reason."""
        out = {}
        start = period_start(now)
        for entry in self.queues.items.values():
            if entry.spec is None:
                continue
            spent = entry.spend.amount if entry.spend.period_start == start else 0.0
            why = over_budget(entry.name, budget_of(entry.spec), spent)
            if why:
                out[entry.name] = why
        return out

    def _holder(self, record: TaskRecord, assumptions: Assumptions, loop_now: float, wall: float) -> Holder:
        placement = record.status.placement
        assert placement is not None
        since = placement.time.timestamp() if placement.time else record.created.timestamp()
        return Holder(
            uid=record.uid,
            key=record.key,
            queue=placement.queue,
            priority=record.spec.priority,
            admitted=loop_now - (wall - since),
            identifier=placement.identifier,
            amounts=amounts_of(record),
            slots=self._slots(record, placement.identifier, assumptions),
        )

    def _slots(self, record: TaskRecord, identifier: str, assumptions: Assumptions) -> tuple[Slot, ...]:
        held = assumptions.get(record.uid)
        if held is not None:
            return tuple(
                Slot(
                    s.cluster,
                    s.node,
                    held.each(s).cpu * s.replicas,
                    held.each(s).memory * s.replicas,
                    held.each(s).accelerators * s.replicas,
                    s.replicas,
                )
                for s in held.nodes
            )
        pods = self.pods_of(identifier, record.uid)
        if pods is None:
            return ()
        return tuple(Slot(pods.cluster, node, c, m, d, n) for node, (c, m, d, n) in sorted(pods.nodes.items()))

    def _pool_capacity(self, snapshot: Snapshot, pool: str, members: frozenset[str]) -> dict[str, int]:
        """Allocatable cpu, memory and devices per model over the pool's members (once per snapshot)."""
        known, by_pool = self._capacity
        if known is not snapshot:
            by_pool = {}
            self._capacity = (snapshot, by_pool)
        if pool not in by_pool:
            total: dict[str, int] = {}
            for name in members:
                if name not in snapshot.index:
                    continue
                cap = snapshot.capacity(name)
                for r, amount in (*cap.allocatable.items(), *((a.model, a.allocatable) for a in cap.accelerators)):
                    total[r] = total.get(r, 0) + amount
            by_pool[pool] = total
        return by_pool[pool]
