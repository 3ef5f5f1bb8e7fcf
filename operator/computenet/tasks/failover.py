"""Failover: notice that the member of a task's current attempt is lost, and since when.

A member is lost when its identifier cannot be used: unreachable (health says since when), its
kubeconfig Secret missing or broken, its identifier deleted or unknown. The first two are the same
thing to a task: nothing can follow or create its Job. This module only observes and names the
loss (``MemberLost`` with the time it began, ``MemberBack``); the grace period and the policy are
the lifecycle's rules, and a timer brings the task back here when its grace period ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from computenet.api.constants import ConditionType, Reason
from computenet.members.identifiers import IdentifierSet
from computenet.tasks.access import MemberAccess
from computenet.tasks.book import TaskBook
from computenet.tasks.lifecycle import ACTIVE, Event, MemberBack, MemberLost, condition
from computenet.tasks.metering import meter_attempt
from computenet.tasks.record import TaskRecord


@dataclass(frozen=True)
class Loss:
    since: dt.datetime
    why: str


class Failover:
    def __init__(
        self,
        book: TaskBook,
        identifiers: IdentifierSet,
        access: MemberAccess,
        deliver: Callable[[TaskRecord, Event], object],
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.book = book
        self.identifiers = identifiers
        self.access = access
        self.deliver = deliver
        self.clock = clock
        self._unusable_since: dict[str, dt.datetime] = {}

    def loss(self, name: str, now: dt.datetime) -> Loss | None:
        """Whether an identifier is lost for the tasks on it, and since when; None when usable."""
        item = self.identifiers.items.get(name)
        if item is None:
            removed = self.identifiers.removed.get(name)
            if removed is not None:
                return Loss(removed, f"identifier {name} was deleted")
            return Loss(self._first_seen(name, now), f"identifier {name} does not exist")
        conn = item.connection
        if item.problem is not None or conn is None:
            why = (
                item.problem.message
                if item.problem is not None
                else "no connection (waiting for the kubeconfig Secret)"
            )
            return Loss(self._first_seen(name, now), why)
        if not conn.health.reachable:
            since = conn.health.since or self._first_seen(name, now)
            return Loss(since, conn.health.message or "unreachable")
        self._unusable_since.pop(name, None)
        return None

    def _first_seen(self, name: str, now: dt.datetime) -> dt.datetime:
        return self._unusable_since.setdefault(name, now)

    def check_all(self) -> None:
        """Check every dispatched task (on member changes and on every scheduling pass)."""
        now = self.clock()
        losses: dict[str, Loss | None] = {}
        for record in self.book:
            if record.phase in ACTIVE and not record.deleting and record.identifier:
                if record.identifier not in losses:
                    losses[record.identifier] = self.loss(record.identifier, now)
                self._check(record, losses[record.identifier])

    def check(self, record: TaskRecord) -> None:
        """Check one task (its grace period timer fired)."""
        if record.phase in ACTIVE and not record.deleting and record.identifier:
            self._check(record, self.loss(record.identifier, self.clock()))

    def _check(self, record: TaskRecord, loss: Loss | None) -> None:
        name = record.identifier or ""
        if loss is None:
            cond = condition(record.status, ConditionType.DISPATCHED)
            if cond is not None and cond.reason == Reason.MEMBER_LOST:
                self.deliver(record, MemberBack(name))
            return
        ran = meter_attempt(record.status.placement, record.status.start_time, loss.since, self.access.pricing_of(name))
        self.deliver(record, MemberLost(name, loss.since, loss.why, ran))
