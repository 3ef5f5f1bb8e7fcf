"""One admission cycle: fair order across queues, quota and budget, placement, preemption, reservation.

``admit`` is what the scheduler runs on every pass (the shell in ``tasks/scheduler.py`` turns each
``Verdict`` into a lifecycle event). For every waiting task, in fair order (``share.fair``):

1. a request above what its queue could ever hold (``ceiling``) is told so and goes no further: it
   neither preempts nor reserves; accelerator models it could never get are taken out of its choice;
2. a queue over its budget admits nothing (``budget``);
3. the request must fit the queue's quota, borrowing included (``quota.Ledger``); accelerator models
   the quota has no room for are taken out of the task's choice before placement;
4. members reserved for other tasks are left out (``reservation``);
5. placement decides on the node-level snapshot (``placement.place``); a placed task is assumed and
   charged to its queue before the next decision, as ``placement.queue.schedule`` does;
6. a task that fits neither quota nor capacity may preempt, under its queue's policy, the fewest
   tasks on one member (``preemption``) and then holds that member while they leave;
7. a task waiting (for quota or capacity) longer than its queue's ``reserve_after_s`` holds the member
   where it fits soonest, and its queue's quota for it: smaller tasks of its queue stop taking either.

Tasks without a queue skip 1, 2, 3, 6 and 7 and go first, in priority then age order: with no queue
at all, a cycle decides exactly what ``placement.queue.schedule`` decides.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from computenet.placement.assume import Assumptions
from computenet.placement.decision import Decision
from computenet.placement.demand import Demand, Variant
from computenet.placement.pipeline import place
from computenet.placement.queue import order_key
from computenet.placement.snapshot import Snapshot
from computenet.placement.variants import alternatives
from computenet.queueing.amounts import Amounts, request_of
from computenet.queueing.ceiling import Ceilings, NeverFits
from computenet.queueing.freed import freed
from computenet.queueing.holders import Holder
from computenet.queueing.preemption import Choice, candidates, choose
from computenet.queueing.quota import Blocked, Ledger, QueueQuota, ReclaimWithinPool, WithinQueue
from computenet.queueing.reservation import Reservation, Reservations
from computenet.queueing.share import dominant_share, fair

PREEMPTIONS_PER_CYCLE = 8
"""Preemption searches one cycle may run (each costs a few placements per member): a flood of
blocked tasks does not slow the cycle down; the rest try again on the next pass."""
_NAMED_HOLDS = 2
"""A waiting task's message names at most this many members held for others."""
PREEMPTING_HOLD_S = 300.0
"""A preemptor's hold on a member ends after this long even if it has not run (its victims never left)."""


@dataclass(frozen=True)
class Waiting:
    """A task waiting for placement, with its queue (None: no queue) and since when it waits (seconds)."""

    demand: Demand
    queue: str | None = None
    since: float = 0.0


@dataclass(frozen=True)
class Verdict:
    """What the cycle decided for one task."""

    demand: Demand
    queue: str | None
    decision: Decision | None
    """None: quota or budget stopped the task before placement."""
    blocked: str = ""
    """The quota or budget line, when that is what holds the task back."""
    preempted: tuple[Holder, ...] = ()
    """Tasks to preempt for this one, all on one member."""
    reservation: Reservation | None = None
    """The member this task holds while it waits (starving, or preempting)."""
    charged: Amounts | None = None
    """What the task now counts against its queue (placed tasks)."""
    closed: tuple[Reservation, ...] = ()
    """Members left out of the decision because they are held for other tasks."""
    never_fits: bool = False
    """The request exceeds what its queue could ever hold (``ceiling``): waiting will not help."""

    @property
    def placed(self) -> bool:
        return self.decision is not None and self.decision.chosen is not None and not self.demand.suspended

    @property
    def message(self) -> str:
        """The one line a waiting task shows: quota or budget first, then placement, then its hold."""
        parts = [self.blocked] if self.blocked else []
        if self.preempted:
            names = ", ".join(v.key for v in self.preempted)
            where = self.preempted[0].identifier
            parts.append(f"preempting {len(self.preempted)} on {where} for it: {names}")
        elif self.decision is not None and (not self.blocked or self.decision.chosen is None):
            parts.append(self.decision.summary)
        if self.reservation is not None and not self.preempted:
            parts.append(self.reservation.phrase)
        if not self.placed:
            parts.extend(r.phrase for r in self.closed[:_NAMED_HOLDS])
        return "; ".join(parts)


@dataclass(frozen=True)
class Queues:
    """The queues and what the cycle needs to know of them beyond their quota."""

    quotas: Sequence[QueueQuota] = ()
    capacity: Mapping[str, Amounts] = dataclasses.field(default_factory=dict)
    """Per pool, its capacity by resource (amounts as in ``amounts``): the denominator of shares."""
    over_budget: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Queues that may admit nothing this period, with the reason (``budget.over_budget``)."""


def admit(
    waiting: Sequence[Waiting],
    holders: Sequence[Holder],
    queues: Queues,
    snapshot: Snapshot,
    assumptions: Assumptions,
    reservations: Reservations,
    *,
    now: float,
    clock: Callable[[], float] | None = None,
) -> Iterator[Verdict]:
    """Decide every waiting task once; see the module docstring. ``now`` is the assumptions' clock."""
    assumptions.expire(now)
    ledger = Ledger(queues.quotas)
    ceilings = Ceilings(queues.quotas)
    for h in holders:
        if h.queue in ledger.queues:
            ledger.charge(h.queue, h.amounts)
    _keep_reservations(reservations, waiting, now)
    queue_of = {w.demand.uid: w.queue for w in waiting}
    for r in reservations:  # a holder's quota is kept for it too, or its own queue's small tasks take it
        queue = queue_of.get(r.holder)
        if queue is not None and queue in ledger.queues:
            if ceilings.never_fits(queue, r.amounts) is not None:
                reservations.release(r.holder)  # (its queue shrank) holding for it would only block others
                continue
            ledger.charge(queue, r.amounts)
    run = _Cycle(ledger, ceilings, queues, snapshot, assumptions, reservations, holders, now, clock)
    groups: dict[str, list[Waiting]] = {}
    for w in waiting:
        key = w.queue if w.queue in ledger.queues else ""
        groups.setdefault(key, []).append(w)
    for tasks in groups.values():
        tasks.sort(key=lambda w: order_key(w.demand))
    for name, w in fair(groups, run.share):
        yield run.decide(name or None, w)


def _keep_reservations(reservations: Reservations, waiting: Sequence[Waiting], now: float) -> None:
    reservations.keep_only(w.demand.uid for w in waiting)
    for r in reservations:
        if r.preempting and now - r.since > PREEMPTING_HOLD_S:
            reservations.release(r.holder)


class _Cycle:
    def __init__(
        self,
        ledger: Ledger,
        ceilings: Ceilings,
        queues: Queues,
        snapshot: Snapshot,
        assumptions: Assumptions,
        reservations: Reservations,
        holders: Sequence[Holder],
        now: float,
        clock: Callable[[], float] | None,
    ) -> None:
        self.ledger, self.ceilings, self.queues, self.snapshot = ledger, ceilings, queues, snapshot
        self.assumptions, self.reservations, self.holders = assumptions, reservations, list(holders)
        self.now, self.clock = now, clock
        self.preemptions_left = PREEMPTIONS_PER_CYCLE
        self._models: tuple[str, ...] | None = None

    def share(self, queue: str) -> float:
        if not queue:
            return -1.0  # tasks without a queue are not shared: they keep their place ahead
        q = self.ledger.queues[queue]
        return dominant_share(self.ledger.usage[queue], self.queues.capacity.get(q.pool, {}), q.weight)

    @property
    def models(self) -> tuple[str, ...]:
        if self._models is None:
            vocabulary = self.snapshot.vocabulary
            self._models = tuple(vocabulary.model_name(i) for i in range(1, len(vocabulary.models)))
        return self._models

    def decide(self, queue: str | None, w: Waiting) -> Verdict:
        demand = w.demand
        held = self.reservations.get(demand.uid)
        if queue is not None and held is not None:
            self.ledger.charge(queue, held.amounts, -1)  # charged afresh below if placed
        verdict = self._decide(queue, w, held)
        kept = self.reservations.get(demand.uid)
        if queue is not None and kept is not None and kept is held and not verdict.placed:
            self.ledger.charge(queue, kept.amounts)  # still held: new holds charge themselves
        return verdict

    def _decide(self, queue: str | None, w: Waiting, held: Reservation | None) -> Verdict:
        demand = ever = w.demand
        blocked: Blocked | None = None
        narrowed = demand
        if queue is not None:
            never, ever = self._ever(queue, demand)
            if never is not None:
                self.reservations.release(demand.uid)  # nothing it could hold: it must not block others
                return Verdict(demand, queue, None, never.message, never_fits=True)
            why = self.queues.over_budget.get(queue)
            if why:
                return Verdict(demand, queue, None, why)
            narrowed, blocked = self._within_quota(queue, ever)
        closed = self.reservations.closed_to(demand.uid, demand.priority)
        if closed:
            allowed = demand.identifiers if demand.identifiers is not None else frozenset(self.snapshot.index)
            narrowed = dataclasses.replace(narrowed, identifiers=frozenset(allowed - set(closed)))
        decision = None
        if blocked is None:
            decision = place(self.snapshot, narrowed, assumptions=self.assumptions, clock=self.clock)
            chosen = decision.chosen
            if chosen is not None:
                if demand.suspended:
                    return Verdict(demand, queue, decision)
                self.assumptions.assume(decision, now=self.now)
                ran = demand.as_variant(decision.variant) if decision.variant is not None else demand
                charged = request_of(ran, chosen.model)  # the chosen variant's devices, or the compute choice's
                if queue is not None:
                    self.ledger.charge(queue, charged)
                self.reservations.release(demand.uid)
                return Verdict(demand, queue, decision, charged=charged)
        shut = tuple(closed[name] for name in sorted(closed))
        if queue is None or demand.suspended:
            return Verdict(demand, queue, decision, closed=shut)
        line = blocked.message if blocked else ""
        if held is not None and held.preempting:
            return Verdict(demand, queue, decision, line, reservation=held, closed=shut)
        choice = self._preempt(queue, ever, closed)
        if choice is not None:
            for victim in choice.victims:
                if victim.queue in self.ledger.queues:
                    self.ledger.charge(victim.queue, victim.amounts, -1)
                self.holders.remove(victim)
            amounts = request_of(demand, self._model_on(choice, demand))
            hold = Reservation(demand.uid, _key(demand), choice.identifier, demand.priority, self.now, True, amounts)
            self.reservations.hold(hold)
            self.ledger.charge(queue, amounts)
            return Verdict(demand, queue, decision, line, choice.victims, hold)
        if held is None:
            held = self._reserve(queue, dataclasses.replace(w, demand=ever), closed)
        return Verdict(demand, queue, decision, line, reservation=held, closed=shut)

    def _ever(self, queue: str, demand: Demand) -> tuple[NeverFits | None, Demand]:
        """Why the queue can never hold ``demand``, or the demand narrowed to the models it could ever hold.

        A task naming its models never fits when none of them could; a task taking any model does not
        (a model the queue does not name may join the pool), though it is offered only those that could.
        """
        if demand.variant is None and alternatives(demand):
            return _per_variant(demand, lambda d: self._ever(queue, d))
        never = self.ceilings.never_fits(queue, request_of(demand, None))
        if never is not None or not demand.devices or demand.accelerators is None:
            return never, demand
        named = demand.accelerators.models
        wanted = named or self.models
        verdicts = [(m, self.ceilings.never_fits(queue, request_of(demand, m))) for m in wanted]
        fitting = tuple(m for m, v in verdicts if v is None)
        if len(fitting) == len(wanted) or (not fitting and not named):
            return None, demand
        if not fitting:
            return NeverFits(tuple(e for _, v in verdicts if v is not None for e in v.exceeds)), demand
        return None, demand.with_models(fitting)

    def _within_quota(self, queue: str, demand: Demand) -> tuple[Demand, Blocked | None]:
        """The demand narrowed to the accelerator models its queue has room for, or what blocks it."""
        if demand.variant is None and alternatives(demand):
            blocked, narrowed = _per_variant(demand, lambda d: _swapped(self._within_quota(queue, d)))
            return narrowed, blocked
        blocked = self.ledger.blocked(queue, request_of(demand, None))
        if blocked is not None or not demand.devices or demand.accelerators is None:
            return demand, blocked
        wanted = demand.accelerators.models or self.models
        room = [m for m in wanted if self.ledger.blocked(queue, request_of(demand, m)) is None]
        if not room:
            return demand, self.ledger.blocked(queue, request_of(demand, wanted[0])) if wanted else None
        if len(room) == len(wanted):
            return demand, None
        return demand.with_models(tuple(room)), None

    def _fits(self, queue: str | None, demand: Demand) -> Callable[[str, Sequence[Holder]], bool]:
        """Whether ``demand`` fits on one member once ``victims`` left: quota (if queued) and nodes."""

        def fits(member: str, victims: Sequence[Holder]) -> bool:
            alone = dataclasses.replace(demand, identifiers=frozenset({member}))
            decision = place(freed(self.snapshot, victims), alone, assumptions=self.assumptions)
            if decision.chosen is None:
                return False
            if queue is None:
                return True
            for v in victims:
                if v.queue in self.ledger.queues:
                    self.ledger.charge(v.queue, v.amounts, -1)
            try:
                return self.ledger.blocked(queue, request_of(demand, decision.chosen.model)) is None
            finally:
                for v in victims:
                    if v.queue in self.ledger.queues:
                        self.ledger.charge(v.queue, v.amounts)

        return fits

    def _preempt(self, queue: str, demand: Demand, closed: Mapping[str, Reservation]) -> Choice | None:
        q = self.ledger.queues[queue]
        if q.within_queue == WithinQueue.NEVER and q.reclaim_within_pool == ReclaimWithinPool.NEVER:
            return None
        if self.preemptions_left <= 0:
            return None
        request = request_of(demand, _only_model(demand))
        found = candidates(queue, demand.priority, request, self.ledger, self._in_pool(demand, closed))
        if not found:
            return None
        self.preemptions_left -= 1
        return choose(found, self._fits(queue, demand))

    def _reserve(self, queue: str, w: Waiting, closed: Mapping[str, Reservation]) -> Reservation | None:
        """A starving task's hold on the member where the fewest admitted tasks must finish first."""
        q = self.ledger.queues[queue]
        demand = w.demand
        if q.reserve_after_s is None or self.now - w.since < q.reserve_after_s or self.preemptions_left <= 0:
            return None
        ahead = [h for h in self._in_pool(demand, closed) if h.priority <= demand.priority]
        ahead.sort(key=lambda h: (h.priority, -h.admitted, h.uid))
        self.preemptions_left -= 1
        choice = choose(ahead, self._fits(queue, demand))
        if choice is None:
            return None
        amounts = request_of(demand, self._model_on(choice, demand))
        hold = Reservation(demand.uid, _key(demand), choice.identifier, demand.priority, self.now, False, amounts)
        self.reservations.hold(hold)
        self.ledger.charge(queue, amounts)  # its quota is held with the member (see ``decide``)
        return hold

    def _in_pool(self, demand: Demand, closed: Mapping[str, Reservation]) -> list[Holder]:
        pool = demand.identifiers
        return [h for h in self.holders if (pool is None or h.identifier in pool) and h.identifier not in closed]

    def _model_on(self, choice: Choice, demand: Demand) -> str | None:
        """The model the demand would run on at the chosen member (what its reservation counts)."""
        if not demand.devices:
            return None
        alone = dataclasses.replace(demand, identifiers=frozenset({choice.identifier}))
        decision = place(freed(self.snapshot, choice.victims), alone, assumptions=self.assumptions)
        return decision.chosen.model if decision.chosen else _only_model(demand)


V = TypeVar("V")


def _swapped(pair: tuple[Demand, V | None]) -> tuple[V | None, Demand]:
    return pair[1], pair[0]


def _per_variant(demand: Demand, check: Callable[[Demand], tuple[V | None, Demand]]) -> tuple[V | None, Demand]:
    """`check` asked of each way to run alone: the ways it keeps (narrowed to their models), or the first's verdict.

    The ways are the task's variants and its compute request's choices (``placement.variants.alternatives``).
    A task is held back only when no way passes; those that do not are taken out of its choice, as
    models are.
    """
    kept: list[Variant] = []
    first: V | None = None
    for variant in alternatives(demand):
        verdict, narrowed = check(demand.as_variant(variant))
        if verdict is None:
            kept.append(Variant(narrowed.accelerators, variant.name))
        elif first is None:
            first = verdict
    if not kept:
        return first, demand
    return None, dataclasses.replace(demand, variants=tuple(kept), accelerators=kept[0].accelerators)


def _only_model(demand: Demand) -> str | None:
    models = demand.accelerators.models if demand.accelerators else ()
    return models[0] if len(models) == 1 else None


def _key(demand: Demand) -> str:
    return f"{demand.namespace}/{demand.name}"
