"""Failover: notice that the member of a task's current attempt is lost, and since when.

A member is lost when its identifier cannot be used: unreachable (health says since when), its
kubeconfig Secret missing or broken, its identifier deleted or unknown. The first two are the same
thing to a task: nothing can follow or create its Job. This module only observes and names the
loss (``MemberLost`` with the time it began, ``MemberBack``); the grace period and the policy are
the lifecycle's rules, and a timer brings the task back here when its grace period ends.

An identifier deleted by its administrator while its member still answers is not lost: it is
drained, as Karmada's unjoin does. Its connection is kept (``IdentifierSet.draining``), each task's
workload is removed from the member first, and only then does the attempt end (``Drained``), so
the work never runs twice; the connection goes when no task runs there any more.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from computenet.api.constants import ConditionType, Reason
from computenet.api.identifier import Pricing
from computenet.dispatch.naming import label_value
from computenet.dispatch.remote import MemberAnswer
from computenet.members.connection import MemberConnection
from computenet.members.identifiers import IdentifierSet
from computenet.tasks.access import MemberAccess
from computenet.tasks.book import TaskBook
from computenet.tasks.lifecycle import ACTIVE, Drained, Event, MemberBack, MemberLost, condition
from computenet.tasks.metering import meter_attempt
from computenet.tasks.record import TaskRecord
from computenet.workloads.kinds import kind_named

logger = logging.getLogger(__name__)


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
        spawn: Callable[[Any, str], None],
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.book = book
        self.identifiers = identifiers
        self.access = access
        self.deliver = deliver
        self.clock = clock
        self.spawn = spawn
        self._unusable_since: dict[str, dt.datetime] = {}
        self._draining: set[str] = set()
        self._pricing: dict[str, Pricing | None] = {}
        """Each identifier's pricing as last seen: a drained attempt is metered at it after deletion."""

    def loss(self, name: str, now: dt.datetime) -> Loss | None:
        """Whether an identifier is lost for the tasks on it, and since when; None when usable."""
        item = self.identifiers.items.get(name)
        if item is not None and item.spec is not None:
            self._pricing[name] = item.spec.pricing
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
        in_use: set[str] = set()
        for record in self.book:
            if record.phase in ACTIVE and record.identifier:
                in_use.add(record.identifier)
            if record.phase in ACTIVE and not record.deleting and record.identifier:
                if record.identifier not in losses:
                    losses[record.identifier] = self.loss(record.identifier, now)
                self._check(record, losses[record.identifier], now)
        for name in list(self.identifiers.draining):
            if name not in in_use:
                self.spawn(self.identifiers.drained(name), f"drained {name}")

    def check(self, record: TaskRecord) -> None:
        """Check one task (its grace period timer fired)."""
        if record.phase in ACTIVE and not record.deleting and record.identifier:
            now = self.clock()
            self._check(record, self.loss(record.identifier, now), now)

    def _check(self, record: TaskRecord, loss: Loss | None, now: dt.datetime) -> None:
        name = record.identifier or ""
        if loss is None:
            cond = condition(record.status, ConditionType.DISPATCHED)
            if cond is not None and cond.reason == Reason.MEMBER_LOST:
                self.deliver(record, MemberBack(name))
            return
        conn = self.identifiers.draining.get(name)
        grace = record.spec.failover.grace_period_seconds if record.spec is not None else 0
        if conn is not None and conn.health.reachable and now < loss.since + dt.timedelta(seconds=grace):
            if not record.dispatching:  # a create in flight is drained once it is answered
                self._drain(record, conn)  # removed by its administrator, still answering: a drain
            return
        ran = meter_attempt(record.status.placement, record.status.start_time, loss.since, self.access.pricing_of(name))
        self.deliver(record, MemberLost(name, loss.since, loss.why, ran))

    # ---- drain ----

    def _drain(self, record: TaskRecord, conn: MemberConnection) -> None:
        if record.uid in self._draining:
            return
        self._draining.add(record.uid)
        self.spawn(self._drain_one(record, conn), f"drain {record.key}")

    async def _drain_one(self, record: TaskRecord, conn: MemberConnection) -> None:
        """Remove the task's workloads from the deleted identifier's member, then end the attempt.

        A refusal leaves the task as it is: the next pass tries again, and once the grace period is
        over the lost-member path applies instead.
        """
        name, attempt = record.identifier or "", record.attempt
        own = label_value(name)
        remote = self.access.remote(conn)
        targets = {
            (job.namespace, job.name, job.kind)
            for c, job in self.access.jobs_of(record.uid)
            if c is conn and job.identifier == own
        }
        ref = record.status.remote
        if ref is not None and ref.identifier == name:
            targets.add((ref.namespace, ref.name, kind_named(ref.api_version, ref.kind)))
        ordered = sorted(targets, key=lambda t: t[:2])
        try:
            for namespace, job, kind in ordered:
                await remote.delete(namespace, job, kind)
        except MemberAnswer as e:
            logger.info("%s: not drained from %s yet: %s", record.key, name, e.message)
            return
        finally:
            self._draining.discard(record.uid)
        now = self.clock()
        ran = meter_attempt(record.status.placement, record.status.start_time, now, self._pricing.get(name))
        removed = ", ".join(f"{ns}/{job}" for ns, job, _ in ordered) or "nothing was created yet"
        message = f"identifier {name} was deleted; removed from its member: {removed}"
        self.deliver(record, Drained(name, attempt, message, ran))
