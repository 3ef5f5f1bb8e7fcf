"""Reservations: a member held for one waiting task, closed to the tasks it would otherwise lose to.

Two kinds, one rule:

- a **starving** task (waiting for capacity longer than its queue's ``reserveAfterSeconds``, a gang
  typically) holds the member where it fits soonest: the member on which the fewest admitted tasks
  (of its priority or lower) must finish before it fits (found as ``preemption.choose`` finds
  victims, without preempting anyone);
- a **preemptor** holds the member its victims are leaving (Kueue and kube-scheduler call it the
  nominated node), so the freed capacity is not taken by someone else, the victims included.

While a task holds a member, no other task of the same or a lower priority is placed there; higher
priorities still are (a preemptor's member is closed to every other task). The holder's request
also stays charged to its queue's quota, so the queue's smaller tasks cannot take the quota it waits
for either. The hold is on the whole member, not on single nodes: simpler to reason about
and never lets a small task split the slots the gang needs, at the price of idling the member's
other free capacity until the holder runs. A reservation ends when its holder is placed, deleted,
or no longer waiting.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reservation:
    holder: str
    """Task uid."""
    key: str
    """``namespace/name`` of the holder, for messages."""
    identifier: str
    priority: int
    since: float
    preempting: bool = False
    """Held for a preemptor while its victims leave (else: for a starving task)."""
    amounts: Mapping[str, int] = field(default_factory=dict)
    """What the holder needs (quota amounts): the reserved capacity the gauge reports."""

    @property
    def phrase(self) -> str:
        why = "preempted work leaves" if self.preempting else "it has waited longest"
        return f"{self.identifier} is reserved for {self.key} until it runs ({why})"


class Reservations:
    """Live reservations by holder uid."""

    def __init__(self) -> None:
        self._held: dict[str, Reservation] = {}

    def hold(self, reservation: Reservation) -> None:
        self._held[reservation.holder] = reservation

    def release(self, uid: str) -> Reservation | None:
        return self._held.pop(uid, None)

    def get(self, uid: str) -> Reservation | None:
        return self._held.get(uid)

    def keep_only(self, waiting: Iterable[str]) -> None:
        """Drop the reservations of tasks no longer waiting (placed, deleted, finished)."""
        alive = set(waiting)
        for uid in [u for u in self._held if u not in alive]:
            del self._held[uid]

    def closed_to(self, uid: str, priority: int) -> dict[str, Reservation]:
        """Members held for other tasks of ``priority`` or higher: ``uid`` must not be placed there."""
        return {
            r.identifier: r for r in self._held.values() if r.holder != uid and (r.preempting or r.priority >= priority)
        }

    def __iter__(self) -> Iterator[Reservation]:
        return iter(list(self._held.values()))

    def __len__(self) -> int:
        return len(self._held)
