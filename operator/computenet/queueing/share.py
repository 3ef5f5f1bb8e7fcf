"""Dominant-resource fair share between the queues of a pool, and the order it gives.

Armada's fairness (``internal/scheduler/fairness``, armadaproject/armada): a queue's cost is its
dominant share, the largest fraction of the pool's capacity it holds in any resource, divided by its
weight. Kueue's fair sharing (``pkg/cache/fair_sharing.go``, kubernetes-sigs/kueue) orders queues the
same way, with shares measured above nominal quota. Here the share is of the pool's capacity, as in
Armada, so a queue with no quota still gets its turn.

``fair`` hands out waiting tasks one at a time: always the next task (priority, then age) of the
queue whose share is lowest now, ties by queue name. Each admission raises that queue's share before
the next pick, so a burst is spread across queues by weight instead of taken by whoever came first.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

from computenet.queueing.amounts import Amounts

T = TypeVar("T")


def dominant_share(usage: Amounts, capacity: Amounts, weight: float = 1.0) -> float:
    """The largest usage / capacity over the resources, divided by ``weight`` (resources of no capacity skipped)."""
    share = 0.0
    for r, used in usage.items():
        cap = capacity.get(r, 0)
        if cap > 0 and used > 0:
            share = max(share, used / cap)
    return share / weight if weight > 0 else float("inf") if share else 0.0


def fair(queues: Mapping[str, Sequence[T]], share: Callable[[str], float]) -> Iterator[tuple[str, T]]:
    """Every task once, as (queue, task): next from the queue of lowest ``share(queue)``, ties by name.

    ``queues`` maps a queue name to its waiting tasks already in queue order (priority, then age).
    ``share`` is read again each time a queue takes its turn, after the caller has acted on the task
    handed out before (admitted and charged it, or not), so each admission counts at once.
    """
    pending = {name: list(reversed(tasks)) for name, tasks in queues.items() if tasks}
    heap = [(share(name), name) for name in pending]
    heapq.heapify(heap)
    while heap:
        _, name = heapq.heappop(heap)
        tasks = pending[name]
        yield name, tasks.pop()
        if tasks:
            heapq.heappush(heap, (share(name), name))
