"""Failover: notice that the member of a task's current attempt is lost, and since when.

A member is lost when its identifier cannot be used: unreachable (health says since when), its
kubeconfig Secret missing or broken, its identifier deleted or unknown. The first two are the same
thing to a task: nothing can follow or create its Job. This module only observes and names the
loss (``MemberLost`` with the time it began, ``MemberBack``); the grace period and the policy are
the lifecycle's rules, and a timer brings the task back here when its grace period ends.

An identifier deleted by its administrator while its member still answers is not lost: it is
drained, as Karmada's unjoin does. Its connection is kept (``IdentifierSet.draining``), each task's
workload is removed from the member first, and only then does the attempt end (``Drained``), so
the work never runs twice. An identifier whose connection now leads to another member is drained
from the previous one alike; one whose Secret is gone is lost, and its kept connection removes the
workload before the attempt ends once the grace period is over. The step is the pure
``lifecycle.leaving.step_for``; a kept connection goes when ``lifecycle.leaving.keep_connection``
says nothing it carried runs or remains there.
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
from computenet.tasks.lifecycle import ACTIVE, Drained, Event, JobRef, MemberBack, MemberLost, condition, is_stale
from computenet.tasks.lifecycle.leaving import Leaving, Step, keep_connection, step_for
from computenet.tasks.metering import meter_attempt
from computenet.tasks.record import TaskRecord
from computenet.workloads.kinds import kind_named

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loss:
    since: dt.datetime
    why: str
    leaving: Leaving = Leaving.UNUSABLE


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
                return Loss(removed, f"identifier {name} was deleted", Leaving.DELETED)
            return Loss(self._first_seen(name, now), f"identifier {name} does not exist", Leaving.DELETED)
        conn = item.connection
        kept = self.identifiers.draining.get(name)
        moving = item.problem is not None and item.problem.reason == Reason.DRAINING
        if kept is not None and conn is not None and moving:
            since = self.identifiers.detached.get(name) or self._first_seen(name, now)
            why = f"identifier {name} now leads to {conn.server}, not to {kept.server} where the attempt runs"
            return Loss(since, why, Leaving.MOVED)
        if item.problem is not None or conn is None:
            why = (
                item.problem.message
                if item.problem is not None
                else "no connection (waiting for the kubeconfig Secret)"
            )
            return Loss(self._first_seen(name, now), why)
        if not conn.health.reachable:
            since = conn.health.since or self._first_seen(name, now)
            return Loss(since, conn.health.message or "unreachable", Leaving.UNREACHABLE)
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
        for name, kept in list(self.identifiers.draining.items()):
            if name not in in_use:
                self.identifiers.settled(name)
            store = kept.jobs
            synced = store is None or store.synced
            if not keep_connection(name in in_use, kept.health.reachable, synced, self._must_go(name, kept)):
                self.spawn(self.identifiers.drained(name), f"drained {name}")

    def _must_go(self, name: str, kept: MemberConnection) -> int:
        """How many workloads of `name` the kept connection lists that fencing or cancel must still remove."""
        store = kept.jobs
        if store is None:
            return 0
        own = label_value(name)
        count = 0
        for job in store.jobs.values():
            if job.identifier != own or job.deleting:
                continue
            record = self.book.get(job.task_uid)
            if record is None or is_stale(JobRef(job.identifier, job.attempt), record.status, record.dispatching):
                count += 1
        return count

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
        in_grace = now < loss.since + dt.timedelta(seconds=grace)
        step = step_for(loss.leaving, conn is not None and conn.health.reachable, in_grace)
        if step != Step.LOST and conn is not None:
            if not record.dispatching:  # a create in flight is drained once it is answered
                self._drain(record, conn, loss, step)
            return
        ran = meter_attempt(record.status.placement, record.status.start_time, loss.since, self.access.pricing_of(name))
        self.deliver(record, MemberLost(name, loss.since, loss.why, ran))

    # ---- drain ----

    def _drain(self, record: TaskRecord, conn: MemberConnection, loss: Loss, step: Step) -> None:
        if record.uid in self._draining:
            return
        self._draining.add(record.uid)
        self.spawn(self._drain_one(record, conn, loss, step), f"drain {record.key}")

    async def _drain_one(self, record: TaskRecord, conn: MemberConnection, loss: Loss, step: Step) -> None:
        """Remove the task's workloads through the kept connection of its identifier, then end the attempt.

        ``Step.DRAIN`` (the identifier was deleted or moved): the attempt ends with ``Drained``; a
        refusal leaves the task as it is, the next pass tries again, and once the grace period is over
        the lost-member path applies instead. ``Step.REMOVE_THEN_LOST`` (its Secret is gone, the grace
        period is over): ``MemberLost`` follows either way, a refused workload is left to fencing.
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
        refused = ""
        try:
            for namespace, job, kind in ordered:
                await remote.delete(namespace, job, kind)
        except MemberAnswer as e:
            logger.info("%s: not drained from %s yet: %s", record.key, name, e.message)
            refused = e.message
            if step == Step.DRAIN:
                return
        finally:
            self._draining.discard(record.uid)
        removed = ", ".join(f"{ns}/{job}" for ns, job, _ in ordered) or "nothing was created yet"
        if step == Step.REMOVE_THEN_LOST:
            ran = meter_attempt(record.status.placement, record.status.start_time, loss.since, self._pricing.get(name))
            said = (
                f"not removed from {conn.server} yet ({refused})"
                if refused
                else f"removed from {conn.server}: {removed}"
            )
            self.deliver(record, MemberLost(name, loss.since, f"{loss.why}; {said}", ran))
            return
        now = self.clock()
        ran = meter_attempt(record.status.placement, record.status.start_time, now, self._pricing.get(name))
        if loss.leaving == Leaving.MOVED:
            message = f"{loss.why}; removed from {conn.server}: {removed}"
        else:
            message = f"identifier {name} was deleted; removed from its member: {removed}"
        self.deliver(record, Drained(name, attempt, message, ran))
