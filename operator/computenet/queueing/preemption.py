"""Whom to preempt for a task that does not fit: candidates, then the fewest victims on one member.

Ported from Kueue's classical preemption (``pkg/scheduler/preemption/preemption.go``,
kubernetes-sigs/kueue v0.9 and later), narrowed to one member:

- **Candidates** (``findCandidates``): tasks of the preemptor's own queue with a lower priority when
  the queue says ``withinQueue: LowerPriority``; and, when the preemptor would stay within its own
  nominal quota (a reclaim) and the queue says ``reclaimWithinPool: LowerPriority | Any``, tasks of
  other queues of the pool that borrow a resource the preemptor needs (of lower priority, or any).
  Tasks without a queue are never candidates.
- **Order** (``candidatesOrdering``): other queues' tasks first, then lower priority, then the most
  recently admitted, then uid.
- **Minimal set** (``minimalPreemptions`` and ``fillBackWorkloads``): per member, take candidates in
  order until the preemptor fits (quota and node-level placement, answered by the caller), then try
  to give each back, latest first but the last taken, keeping those the preemptor does not need.

Kueue preempts across a whole cluster; a task here runs on one member, so victims are chosen on one
member only: the member needing the fewest victims (then the lowest top priority among them, then
its name). No member on which the preemptor would fit: nothing is preempted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from computenet.queueing.holders import Holder
from computenet.queueing.quota import Ledger, ReclaimWithinPool, WithinQueue


@dataclass(frozen=True)
class Choice:
    """Where the preemptor goes and whom it displaces there."""

    identifier: str
    victims: tuple[Holder, ...]


def candidates(
    queue: str,
    priority: int,
    request: Mapping[str, int],
    ledger: Ledger,
    holders: Iterable[Holder],
) -> list[Holder]:
    """Tasks the preemptor may displace under its queue's policy, in Kueue's candidate order."""
    own = ledger.queues[queue]
    reclaim = own.reclaim_within_pool != ReclaimWithinPool.NEVER and ledger.within_nominal(queue, request)
    needs = {r for r, a in request.items() if a > 0}
    borrowing = {
        name: set(ledger.borrowed(name)) & needs
        for name, q in ledger.queues.items()
        if reclaim and q.pool == own.pool and name != queue
    }
    found = []
    for h in holders:
        if h.queue is None or h.queue not in ledger.queues:
            continue
        if h.queue == queue:
            if own.within_queue == WithinQueue.LOWER_PRIORITY and h.priority < priority:
                found.append(h)
        elif set(h.amounts) & borrowing.get(h.queue, set()) and (
            own.reclaim_within_pool == ReclaimWithinPool.ANY or h.priority < priority
        ):
            found.append(h)
    found.sort(key=lambda h: (h.queue == queue, h.priority, -h.admitted, h.uid))
    return found


def choose(candidates: Sequence[Holder], fits: Callable[[str, Sequence[Holder]], bool]) -> Choice | None:
    """The fewest victims on one member after which ``fits(member, victims)``; None when no member works.

    ``candidates`` are in preemption order (see ``candidates``); ``fits`` must be monotone in the
    victims (freeing more never hurts), as quota and capacity are.
    """
    by_member: dict[str, list[Holder]] = {}
    for c in candidates:
        by_member.setdefault(c.identifier, []).append(c)
    best: tuple[tuple[int, int, str], Choice] | None = None
    for member in sorted(by_member):
        pool = by_member[member]
        if not fits(member, pool):
            continue  # not even every candidate there is enough
        victims: list[Holder] = []
        for c in pool:
            victims.append(c)
            if fits(member, victims):
                break
        for v in reversed(victims[:-1]):
            kept = [x for x in victims if x is not v]
            if fits(member, kept):
                victims = kept
        key = (len(victims), max(v.priority for v in victims), member)
        if best is None or key < best[0]:
            best = (key, Choice(member, tuple(victims)))
    return best[1] if best else None
