"""Nominal quota, borrowing within the pool, and the admission check of one request.

A ComputeQueue has a nominal quota per resource and accelerator model; queues of the same pool form
what Kueue calls a cohort. A queue may use its own quota, and borrow what other queues of the pool
leave idle, up to its borrowing limit. The arithmetic is Kueue's for a flat cohort without lending
limits (``available`` in ``pkg/cache/resource_node.go``, kubernetes-sigs/kueue v0.9 and later):

    available(q, r) = min(poolQuota(r) - poolUsage(r),  nominal(q, r) - usage(q, r) + borrowingLimit(q, r))

where ``poolQuota`` and ``poolUsage`` sum over the pool's queues that name ``r``. A resource a queue
does not name is not limited by it (Kueue would refuse such a workload; here a queue limits what it
names, so a quota of cpu and H100s says nothing about memory or L4s). A quota of 0 means none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from computenet.queueing.amounts import Amounts, bare, unit_name


class WithinQueue(StrEnum):
    """Whom a task may preempt in its own queue (Kueue ``preemption.withinClusterQueue``)."""

    NEVER = "Never"
    LOWER_PRIORITY = "LowerPriority"


class ReclaimWithinPool(StrEnum):
    """Whom a queue reclaiming its nominal quota may preempt in other queues of the pool.

    Kueue ``preemption.reclaimWithinCohort``: only tasks of queues that borrow are candidates.
    """

    NEVER = "Never"
    LOWER_PRIORITY = "LowerPriority"
    ANY = "Any"


@dataclass(frozen=True)
class QueueQuota:
    """One queue as admission reads it; amounts as in ``amounts``."""

    name: str
    pool: str
    nominal: Mapping[str, int] = field(default_factory=dict)
    borrowing_limit: Mapping[str, int] | None = None
    """Per resource, how much above nominal the queue may borrow; a resource left out (or None): no limit."""
    weight: float = 1.0
    """Fair-sharing weight: a queue of weight 2 gets twice the dominant share of a queue of weight 1."""
    within_queue: WithinQueue = WithinQueue.NEVER
    reclaim_within_pool: ReclaimWithinPool = ReclaimWithinPool.NEVER
    reserve_after_s: float | None = None
    """A task of this queue waiting this long for capacity gets a reservation (None: never)."""


@dataclass(frozen=True)
class Blocked:
    """Why a request does not fit its queue's quota: the first resource that blocks it."""

    queue: str
    resource: str
    used: int
    limit: int
    nominal: int
    asked: int = 0

    @property
    def message(self) -> str:
        """``queue team-a at quota for NVIDIA-H100-80GB-HBM3: 16/16 GPUs`` (and what borrowing adds)."""
        name = unit_name(self.resource)
        pair = f"{bare(self.resource, self.used)}/{bare(self.resource, self.nominal)}" + (f" {name}" if name else "")
        if self.limit < self.nominal:
            lent = "the pool lent the rest to other queues"
            return f"queue {self.queue} below quota for {self.resource} ({pair}) but {lent}"
        if self.used >= self.limit:
            line = f"queue {self.queue} at quota for {self.resource}: {pair}"
        else:
            asked = bare(self.resource, self.asked)
            line = f"queue {self.queue} short of quota for {self.resource}: {pair}, {asked} asked"
        if self.limit > max(self.used, self.nominal):
            line += f", borrowing up to {bare(self.resource, self.limit)}"
        return line


class Ledger:
    """What every queue of every pool holds now (admitted tasks), with the quota sums of each pool."""

    def __init__(self, queues: Sequence[QueueQuota], usage: Mapping[str, Amounts] | None = None) -> None:
        self.queues = {q.name: q for q in queues}
        self.usage: dict[str, dict[str, int]] = {q.name: {} for q in queues}
        self._pool_quota: dict[tuple[str, str], int] = {}
        self._pool_usage: dict[tuple[str, str], int] = {}
        for q in queues:
            for r, amount in q.nominal.items():
                self._pool_quota[(q.pool, r)] = self._pool_quota.get((q.pool, r), 0) + amount
        for name, amounts in (usage or {}).items():
            if name in self.queues:
                self.charge(name, amounts)

    def charge(self, queue: str, amounts: Amounts, sign: int = 1) -> None:
        """Count ``amounts`` as held by ``queue`` (``sign=-1``: released)."""
        q = self.queues[queue]
        used = self.usage[queue]
        for r, amount in amounts.items():
            used[r] = used.get(r, 0) + sign * amount
            if r in q.nominal:
                key = (q.pool, r)
                self._pool_usage[key] = self._pool_usage.get(key, 0) + sign * amount

    def available(self, queue: str, resource: str) -> int | None:
        """How much more of ``resource`` the queue may take now; None: the queue does not limit it."""
        q = self.queues[queue]
        nominal = q.nominal.get(resource)
        if nominal is None:
            return None
        key = (q.pool, resource)
        used = self.usage[queue].get(resource, 0)
        in_pool = self._pool_quota.get(key, 0) - self._pool_usage.get(key, 0)
        limit = (q.borrowing_limit or {}).get(resource)
        if limit is not None:
            in_pool = min(in_pool, nominal - used + limit)
        return in_pool

    def blocked(self, queue: str, request: Amounts) -> Blocked | None:
        """The first resource (in name order) for which ``request`` exceeds what the queue may take."""
        q = self.queues[queue]
        for r in sorted(request):
            amount = request[r]
            if amount <= 0:
                continue
            room = self.available(queue, r)
            if room is not None and amount > room:
                used = self.usage[queue].get(r, 0)
                return Blocked(queue, r, used, used + max(room, 0), q.nominal[r], amount)
        return None

    def borrowed(self, queue: str) -> dict[str, int]:
        """Per resource the queue names, how much it uses above its nominal quota."""
        q = self.queues[queue]
        used = self.usage[queue]
        return {r: used.get(r, 0) - n for r, n in q.nominal.items() if used.get(r, 0) > n}

    def within_nominal(self, queue: str, request: Amounts) -> bool:
        """Whether the queue's usage plus ``request`` stays inside its own nominal quota (a reclaim)."""
        q = self.queues[queue]
        used = self.usage[queue]
        return all(used.get(r, 0) + a <= q.nominal[r] for r, a in request.items() if r in q.nominal and a > 0)
