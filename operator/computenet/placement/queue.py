"""Queue order: priority first, then age; a task that does not fit does not block the others.

`schedule` walks the queue in `order` and places each task against the same snapshot, assuming
each decision before the next, so earlier tasks get first pick and no slot is promised twice.
A task that does not fit stays queued and the walk goes on: a 1-GPU task behind a 64-GPU task
that cannot run anywhere still starts.

What this gives:
- strict priority: a higher-priority task is always offered resources before a lower one;
- FIFO within a priority (creation time, then namespace/name/uid for a total order), so that
  among tasks that fit, the oldest is placed first and on the best identifier;
- no head-of-line blocking, hence high utilisation.

What it does not give:
- no reservation for the task that does not fit: smaller tasks may keep taking the capacity it
  waits for, so a large gang can starve as long as small tasks keep arriving (there is no aging
  or backfill window that would protect it);
- no fair share between namespaces, users or pools: a namespace submitting many tasks at one
  priority gets most of the pool;
- no preemption: a high-priority task that does not fit waits for capacity to free up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from computenet.placement.assume import Assumptions
from computenet.placement.decision import Decision
from computenet.placement.demand import Demand
from computenet.placement.pipeline import place
from computenet.placement.snapshot import Snapshot


def order_key(demand: Demand) -> tuple[int, float, str, str, str]:
    return (-demand.priority, demand.created, demand.namespace, demand.name, demand.uid)


def order(demands: Iterable[Demand]) -> list[Demand]:
    return sorted(demands, key=order_key)


def schedule(
    demands: Iterable[Demand],
    snapshot: Snapshot,
    assumptions: Assumptions,
    *,
    now: float,
    clock: Callable[[], float] | None = None,
) -> Iterator[tuple[Demand, Decision]]:
    """Place queued tasks in order, assuming each chosen placement before the next decision.

    `now` is the assumptions' clock (their expiry); `clock`, if given, times each decision
    (`Decision.elapsed`). Expired assumptions are released first. Suspended tasks get a decision (for their offers)
    but assume nothing. A task given here that already holds an assumption is placed afresh (its
    own assumption does not count against it) and its assumption replaced; leave placed tasks out.
    """
    assumptions.expire(now)
    for demand in order(demands):
        decision = place(snapshot, demand, assumptions=assumptions, clock=clock)
        if decision.chosen is not None and not demand.suspended:
            assumptions.assume(decision, now=now)
        yield demand, decision
