"""The most a queue can ever hold of a resource, and the line for a task that asks for more.

Waiting helps a task only if its request fits what its queue could hold with nothing else admitted:
its nominal quota plus what it may borrow, which is bounded both by its borrowing limit and by what
the other queues of its pool (the cohort) have to lend, their nominal quotas. Kueue calls this the
maximum capacity (``potentialAvailable`` in ``pkg/cache/scheduler/resource_node.go``,
kubernetes-sigs/kueue v0.9 and later); for a flat cohort without lending limits, as here:

    ceiling(q, r) = nominal(q, r) + min(borrowingLimit(q, r), sum of nominal(p, r) over the other queues p of the pool)

with no borrowing limit meaning no bound but the pool's. A request above the ceiling in any resource
the queue names can never be admitted through it: no task finishing, no preemption and no
reservation makes room, only a larger quota (or a smaller request) does. Kueue marks such a
workload ``ExceedsMaxQuota`` ("insufficient quota for ... > maximum capacity") instead of
``WaitingForQuota`` (``fitsResourceQuota`` in ``pkg/scheduler/flavorassigner/flavorassigner.go``);
the task's condition says the same here, in the words of ``NeverFits.message``.

A resource the queue does not name has no ceiling (``quota``: a queue limits only what it names).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from computenet.queueing.amounts import CPU, MEMORY, Amounts, bare, unit
from computenet.queueing.quota import QueueQuota


@dataclass(frozen=True)
class Ceiling:
    """What one queue could ever hold of one resource, and where that bound comes from."""

    queue: str
    pool: str
    resource: str
    nominal: int
    lendable: int
    """The nominal quota of the other queues of the pool for this resource: all they could ever lend."""
    borrowing_limit: int | None = None
    """The queue's own bound on borrowing this resource (None: none)."""

    @property
    def borrowable(self) -> int:
        """The most the queue could ever borrow: its limit, or the pool's other quota if that is smaller."""
        room = max(self.lendable, 0)
        return room if self.borrowing_limit is None else max(min(self.borrowing_limit, room), 0)

    @property
    def most(self) -> int:
        return self.nominal + self.borrowable

    @property
    def why(self) -> str:
        """Where the ceiling comes from: ``nominal 4 + borrowing limit 4``."""
        nominal = f"nominal {bare(self.resource, self.nominal)}"
        limit = self.borrowing_limit
        if limit is not None and limit <= 0:
            return f"{nominal}, borrowing limit 0"
        if self.borrowable <= 0:
            return f"{nominal}, no other queue of pool {self.pool} has quota for it to lend"
        if limit is not None and limit <= self.lendable:
            return f"{nominal} + borrowing limit {bare(self.resource, limit)}"
        lent = bare(self.resource, self.borrowable)
        return f"{nominal} + at most {lent} from the other queues of pool {self.pool}"


@dataclass(frozen=True)
class Exceeds:
    """One resource of a request above its queue's ceiling."""

    ceiling: Ceiling
    asked: int

    @property
    def message(self) -> str:
        """``needs 16 NVIDIA-H100-80GB-HBM3 GPUs but queue team-a can never hold more than 8 (nominal 4 + ...)``."""
        c = self.ceiling
        most = bare(c.resource, c.most) + (" cores" if c.resource == CPU else "")
        return f"needs {_needs(c.resource, self.asked)} but queue {c.queue} can never hold more than {most} ({c.why})"


@dataclass(frozen=True)
class NeverFits:
    """A request its queue can never admit: every resource in which it exceeds the queue's ceiling."""

    exceeds: tuple[Exceeds, ...]

    @property
    def message(self) -> str:
        return "; ".join(e.message for e in self.exceeds)


class Ceilings:
    """The ceiling of every queue for every resource it names, from pool sums computed once.

    ``queues`` are all the queues known; those of other pools lend nothing.
    """

    def __init__(self, queues: Iterable[QueueQuota]) -> None:
        self.queues = {q.name: q for q in queues}
        self._pool: dict[tuple[str, str], int] = {}
        for q in self.queues.values():
            for resource, amount in q.nominal.items():
                self._pool[(q.pool, resource)] = self._pool.get((q.pool, resource), 0) + amount

    def of(self, queue: str, resource: str) -> Ceiling | None:
        """The ceiling of ``queue`` (a known queue) for ``resource``; None when the queue does not name it."""
        q = self.queues[queue]
        nominal = q.nominal.get(resource)
        if nominal is None:
            return None
        lendable = self._pool[(q.pool, resource)] - nominal
        limit = (q.borrowing_limit or {}).get(resource)
        return Ceiling(q.name, q.pool, resource, nominal, lendable, limit)

    def never_fits(self, queue: str, request: Amounts) -> NeverFits | None:
        """Every resource (in name order) in which ``request`` exceeds the queue's ceiling; None: it may fit."""
        found: list[Exceeds] = []
        for resource in sorted(request):
            asked = request[resource]
            if asked <= 0:
                continue
            top = self.of(queue, resource)
            if top is not None and asked > top.most:
                found.append(Exceeds(top, asked))
        return NeverFits(tuple(found)) if found else None


def _needs(resource: str, amount: int) -> str:
    if resource == CPU:
        return unit(CPU, amount)
    if resource == MEMORY:
        return f"{unit(MEMORY, amount)} of memory"
    return f"{amount} {resource} GPUs"
