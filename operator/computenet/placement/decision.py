"""What placement answers: the chosen identifier, the ranked candidates, and every rejection.

A decision over ten thousand identifiers must not build ten thousand Python objects to be fast,
so it keeps arrays and builds candidates and rejections only when they are read. `summary` (the
one line for the status condition) only counts rejections by reason and is cheap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import FloatArray, IntArray
from computenet.placement.context import Context
from computenet.placement.demand import Variant
from computenet.placement.devices import NodeDevices, ServedDevices, hold
from computenet.placement.explain import caveat, summarize, summarize_variants
from computenet.placement.framework import Filter, Reason
from computenet.placement.ranking import Ranking
from computenet.placement.resources import Usage

T = TypeVar("T")

_EXPLAINING = ("_ctx", "_filters", "_rejected_by", "_codes", "_ranking", "_totals", "_scores")
"""What a decision explains itself from (everything but its choice, assignment and counts)."""


@dataclass(frozen=True, slots=True)
class NodeSlot:
    """Replicas of the gang that one node holds in the chosen placement; `row` keys assumptions.

    `most` is how many of the gang's replicas the member's scheduler may put on this node (it
    chooses among the pinned nodes itself): assumptions hold that many (see `fit.assign`).
    """

    cluster: str
    node: str
    replicas: int
    row: int
    most: int
    devices: tuple[tuple[str, int], ...] = ()
    """DRA devices `most` replicas claim on this node, per driver key (see `devices.hold`)."""
    served: int = 0
    """Units of the node's DRA-served accelerator resource (KEP-5004) that the slot's claimed `devices`
    take too: assumptions hold them in the accelerator dimension, so a task asking for the resource
    does not count them free (see `node_slot`)."""
    device_class: str = ""
    """The DeviceClass whose devices serve the slot's accelerator requests on this node (KEP-5004); "" if none."""
    role: str = ""
    """The pod set these replicas belong to ("" for a task of one pod set)."""
    per_replica: Usage | None = None
    """One replica's requests in this pod set; None: the decision's `per_replica` (one pod set)."""


def node_slot(
    cluster: str,
    node: str,
    replicas: int,
    row: int,
    most: int,
    claimed: tuple[tuple[str, int], ...],
    served: ServedDevices | None,
    accelerators: int,
    devices: tuple[NodeDevices, ...],
    role: str = "",
    per_replica: Usage | None = None,
) -> NodeSlot:
    """One node's slot; on a node whose accelerator resource DRA serves, what each view must hold of the other.

    The same devices are both the node's accelerator units and its DRA devices (KEP-5004), so an
    assumption holds them in both: a task asking for the resource holds `most` replicas' units as
    devices of the serving class (for tasks that claim devices), and a task claiming devices holds
    those the class could serve as units of the resource (for tasks that ask for it).
    """
    if served is None:  # the common case, first and positional (every decision builds its slots)
        return NodeSlot(cluster, node, replicas, row, most, claimed, 0, "", role, per_replica)
    if accelerators:
        held = ((served.key, accelerators * most),)
        return NodeSlot(cluster, node, replicas, row, most, held, 0, served.device_class, role, per_replica)
    taken = served.taken_by(devices, claimed)
    return NodeSlot(cluster, node, replicas, row, most, claimed, taken, "", role, per_replica)


@dataclass(frozen=True, slots=True)
class Candidate:
    identifier: str
    uri: str
    score: float
    scores: Mapping[str, float]
    """Per score plugin, 0-100, for the plugins that apply to the task."""
    model: str | None
    """The accelerator model the gang would run on (None for cpu-only tasks)."""
    price_per_hour: float | None
    currency: str | None
    variant: str | None = None
    """The task's variant it would run (``spec.variants[].name``); None for a task without variants."""
    devices: int = 0
    """Devices per replica it would use with its variant or compute choice (0: the task's one way to run)."""
    data_bytes: int | None = None
    """Bytes of the task's data moved into its region (see `transfer`); None: the task has no data to move."""
    data_seconds: float | None = None
    """How long moving them takes (the data's ETA); None: unknown, or no data."""
    data_cost: float | None = None
    """What moving them costs, in `data_currency`; None: unknown, or no data."""
    data_currency: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    identifier: str
    filter: str
    reason: str
    message: str
    phrase: str


class Decision:
    def __init__(
        self,
        ctx: Context,
        filters: Sequence[Filter],
        considered: int,
        rejected_by: IntArray,
        codes: IntArray,
        ranking: Ranking,
        totals: FloatArray,
        scores: Mapping[str, FloatArray],
        assignment: tuple[tuple[int, int, int], ...],
        *,
        slots: tuple[NodeSlot, ...] | None = None,
        replicas: int | None = None,
    ) -> None:
        """`ranking` orders the survivors best first; `totals` and `scores` are in survivor order.

        A task of several pod sets passes its node slots ready made (`slots`, each with its role and
        per-replica requests) and its pod count (`replicas`) instead of `assignment` (see `pod_sets`).
        """
        self._ctx, self._filters = ctx, filters
        self._variant = ctx.demand.variant  # kept apart from the context, which `explained_by` leaves to be made
        self._rejected_by, self._codes = rejected_by, codes
        self._ranking, self._totals, self._scores = ranking, totals, scores
        snap = ctx.snapshot
        self.task_uid = ctx.demand.uid
        self.elapsed = 0.0
        """Seconds the decision took, when `place` was given a clock (placement keeps none itself)."""
        self.total = considered
        """Identifiers the decision looked at: the task's pool, or the whole snapshot."""
        self.per_replica: Usage = ctx.need
        self.replicas = ctx.replicas if replicas is None else replicas
        self.unevaluated: tuple[str, ...] = ctx.unevaluated
        """Constraints of the pod template that placement did not evaluate (see `pod_spec`)."""
        self.chosen: Candidate | None = self._candidate(0) if len(ranking) else None
        self.alternatives: tuple[tuple[Variant, Decision], ...] = ()
        """Every variant's own decision, in the task's order, when this one answers for all (`across`)."""
        if slots is not None:
            self.assignment = slots
            return
        nodes = snap.nodes
        needs = ctx.device_needs(ranking.ident(0)) if ctx.claims and len(ranking) else {}
        needs = needs if not isinstance(needs, str) else {}
        self.assignment = tuple(
            node_slot(
                snap.vocabulary.clusters[int(nodes.cluster[r])],
                nodes.names[r],
                n,
                r,
                most,
                hold(nodes.devices.get(r, ()), needs, most) if needs else (),
                nodes.served.get(r),
                ctx.need.accelerators,
                nodes.devices.get(r, ()),
            )
            for r, n, most in assignment
        )

    def explained_by(self, whole: Callable[[], Decision], total: int) -> Decision:
        """The same decision, choosing as it did, explained by `whole()`: made when first read, then kept.

        For a decision taken among a few identifiers that stands for one among many whose chosen
        candidate, score and assignment are the same (``topology``'s winning domain): `whole` makes the
        decision among all of them, which must not depend on anything that changes meanwhile (the
        assumptions it sees are fixed). `total` is the number of identifiers `whole` considers. Its
        candidates, rejections, reasons, summary and context are `whole`'s; only reading them costs it.
        """
        for name in _EXPLAINING:
            del self.__dict__[name]
        self.__dict__["_whole"] = whole
        self.total = total
        return self

    if not TYPE_CHECKING:  # hidden from the type checker, which would take every attribute as Any

        def __getattr__(self, name: str) -> object:
            """The fields `explained_by` left to its whole decision: made at the first read of any."""
            whole = self.__dict__.get("_whole") if name in _EXPLAINING else None
            if whole is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            made = whole()
            for field in _EXPLAINING:
                self.__dict__[field] = made.__dict__[field]
            del self.__dict__["_whole"]
            return self.__dict__[name]

    @property
    def device_class(self) -> str | None:
        """The DeviceClass whose DRA devices serve the accelerator resource on the chosen nodes (KEP-5004).

        None when every chosen node advertises it in its allocatable (a device plugin's), or the
        task asks for no accelerator.
        """
        return next((slot.device_class for slot in self.assignment if slot.device_class), None)

    @property
    def pod_sets(self) -> dict[str, tuple[NodeSlot, ...]]:
        """The assignment by role, in the order of the task's pod sets ("" for a task of one pod set)."""
        out: dict[str, list[NodeSlot]] = {}
        for slot in self.assignment:
            out.setdefault(slot.role, []).append(slot)
        return {role: tuple(slots) for role, slots in out.items()}

    @property
    def context(self) -> Context:
        """What the decision derived from its snapshot, demand and assumptions (read by `topology`)."""
        return self._ctx

    def standing(self, before: str | None = None) -> IntArray:
        """Snapshot indices of the identifiers that passed every filter, best first.

        With `before`, those that passed every filter ahead of the one of that name (rejected by it
        or by a later one, or candidates), in index order; the candidates alone when no filter has it.
        """
        at = next((i for i, f in enumerate(self._filters) if f.name == before), None) if before else None
        if at is None:
            return self._ranking.ranked
        passed = self._rejected_by >= at
        passed[self._ranking.ranked] = True
        return np.flatnonzero(passed)

    def refused(self, explain: Filter) -> Decision:
        """The same decision with every candidate rejected by `explain` (its one code 0) and nothing chosen.

        For a rule checked over whole decisions rather than per identifier (``topology``): the
        identifiers that fit otherwise are named with that rule's reason and details.
        """
        rejected_by, codes = self._rejected_by.copy(), self._codes.copy()
        standing = self._ranking.ranked
        rejected_by[standing] = len(self._filters)
        codes[standing] = 0
        nobody = Ranking(standing[:0], self._totals[:0])
        refused = Decision(
            self._ctx, (*self._filters, explain), self.total, rejected_by, codes, nobody, self._totals[:0], {}, ()
        )
        refused.elapsed = self.elapsed
        return refused

    @property
    def variant(self) -> Variant | None:
        """The variant (or compute choice) this decision placed; None for a task with one way to run."""
        return self._variant

    def across(self, alternatives: Sequence[tuple[Variant, Decision]]) -> Decision:
        """The decision (the chosen variant's, or the first's when none fits) answering for every variant.

        Its assignment, chosen candidate and requests stay its own; its candidates, rejections and
        summary become the union over `alternatives` (see `variants`).
        """
        self.alternatives = tuple(alternatives)
        for answered in ("candidates", "rejections", "reasons", "summary"):  # read before, for itself alone
            self.__dict__.pop(answered, None)
        return self

    def _candidate(self, rank: int) -> Candidate:
        ctx, at = self._ctx, self._ranking.position(rank)
        i = int(self._ranking.alive[at])
        ident = ctx.snapshot.identifiers[i]
        model = int(ctx.fit_model[i])
        price = float(ctx.fit_price[i])
        data_bytes: int | None = None
        data_seconds = data_cost = None
        data_currency = None
        if ctx.demand.data is not None and ctx.demand.data.located():
            m = ctx.data_moves
            seconds, cost, quoted = float(m.seconds[i]), float(m.cost[i]), int(m.currency[i])
            data_bytes = int(m.bytes[i])
            data_seconds = None if np.isnan(seconds) else seconds
            data_cost = None if np.isnan(cost) else cost
            data_currency = next((n for n, c in ctx.snapshot.vocabulary.currencies.items() if c == quoted), None)
            if not data_bytes and ident.pricing:  # nothing moves: nothing to pay, said in the price's currency
                data_currency = ident.pricing.currency
        return Candidate(
            identifier=ident.name,
            uri=ident.uri,
            score=float(self._totals[at]),
            scores={name: float(values[at]) for name, values in self._scores.items()},
            model=ctx.snapshot.vocabulary.model_name(model) if model > 0 else None,
            price_per_hour=None if np.isnan(price) else price,
            currency=ident.pricing.currency if ident.pricing else None,
            variant=self.variant.name if self.variant is not None else None,
            devices=ctx.need.accelerators if self.variant is not None else 0,
            data_bytes=data_bytes,
            data_seconds=data_seconds,
            data_cost=data_cost,
            data_currency=data_currency,
        )

    def _own_top(self, k: int) -> tuple[Candidate, ...]:
        return tuple(self._candidate(r) for r in range(min(k, len(self._ranking))))

    def top(self, k: int) -> tuple[Candidate, ...]:
        """The best `k` identifiers that fit, best first; across variants, each with its best variant.

        Across variants, ties go to the variant listed first, then to the identifier's rank in it.
        """
        if not self.alternatives:
            return self._own_top(k)
        ranked = []
        for position, (_, decision) in enumerate(self.alternatives):
            for rank, c in enumerate(decision._own_top(k * len(self.alternatives))):
                ranked.append((-round(c.score, 6), position, rank, c))
        best: dict[str, Candidate] = {}
        for *_, c in sorted(ranked, key=lambda r: r[:3]):
            best.setdefault(c.identifier, c)
        return tuple(best.values())[:k]

    @cached_property
    def candidates(self) -> tuple[Candidate, ...]:
        """Every identifier that passed all filters, best first."""
        return self.top(len(self._ranking) + sum(len(d._ranking) for _, d in self.alternatives))

    def _rejected_everywhere(self) -> np.ndarray[tuple[int], np.dtype[np.bool_]]:
        """Per identifier: rejected by every variant (all of them when there are none)."""
        out = self._rejected_by >= 0
        for _, decision in self.alternatives:
            out &= decision._rejected_by >= 0
        return out

    @cached_property
    def rejections(self) -> Mapping[str, Rejection]:
        """Per rejected identifier, which filter rejected it and why, in its own numbers.

        Across variants: the identifiers no variant fits, each variant's verdict in one message
        ("variant h100: ...; variant mi300x: ..."), filter and reason of the first variant.
        """
        return self._rejections_across() if self.alternatives else self._own_rejections

    @cached_property
    def _own_rejections(self) -> Mapping[str, Rejection]:
        out: dict[str, Rejection] = {}
        identifiers = self._ctx.snapshot.identifiers
        for index, f in enumerate(self._filters):
            ids = np.flatnonzero(self._rejected_by == index)
            if not len(ids):
                continue
            codes = self._codes[ids]
            reasons = {c: f.reason(self._ctx, c) for c in set(codes.tolist())}
            for i, code, message in zip(ids.tolist(), codes.tolist(), f.details(self._ctx, ids, codes), strict=True):
                name = identifiers[i].name
                out[name] = Rejection(name, f.name, reasons[code].code, message, reasons[code].phrase)
        return dict(sorted(out.items()))

    def _rejections_across(self) -> Mapping[str, Rejection]:
        names = {self._ctx.snapshot.identifiers[i].name for i in np.flatnonzero(self._rejected_everywhere()).tolist()}
        per = [(v, d._own_rejections) for v, d in self.alternatives]
        out: dict[str, Rejection] = {}
        for name in sorted(names):
            said = _relevant([(v, found[name]) for v, found in per if name in found], lambda r: r.reason)
            first = said[0][1]
            message = "; ".join(f"{v.label}: {r.message}" for v, r in said)
            phrase = "; ".join(f"{v.label}: {r.phrase}" for v, r in said)
            out[name] = Rejection(name, first.filter, first.reason, message, phrase)
        return out

    @cached_property
    def reasons(self) -> tuple[tuple[int, Reason], ...]:
        """Rejections grouped by phrase: (count, reason), most common first.

        Across variants: identifiers no variant fits, grouped by what each variant said of them.
        """
        return self._reasons_across() if self.alternatives else self._own_reasons

    @cached_property
    def _own_reasons(self) -> tuple[tuple[int, Reason], ...]:
        failed = self._rejected_by >= 0
        pairs = Counter(zip(self._rejected_by[failed].tolist(), self._codes[failed].tolist(), strict=True))
        groups: Counter[Reason] = Counter()
        for (f, code), count in pairs.items():
            groups[self._filters[f].reason(self._ctx, code)] += count
        return tuple((count, reason) for reason, count in sorted(groups.items(), key=lambda g: (-g[1], g[0].phrase)))

    def _reasons_across(self) -> tuple[tuple[int, Reason], ...]:
        everywhere = np.flatnonzero(self._rejected_everywhere())
        groups: Counter[Reason] = Counter()
        for i in everywhere.tolist():
            said = _relevant(
                [
                    (v, d._filters[int(d._rejected_by[i])].reason(d._ctx, int(d._codes[i])))
                    for v, d in self.alternatives
                ],
                lambda r: r.code,
            )
            groups[Reason(said[0][1].code, "; ".join(f"{v.label}: {r.phrase}" for v, r in said))] += 1
        return tuple((count, reason) for reason, count in sorted(groups.items(), key=lambda g: (-g[1], g[0].phrase)))

    @property
    def caveat(self) -> str:
        """The caveat for any message about this decision: "not evaluated by placement: ..." or ""."""
        return caveat(self.unevaluated)

    @cached_property
    def summary(self) -> str:
        """One line for the status condition; ends with the caveat, if any."""
        groups = [(count, reason.phrase) for count, reason in self.reasons]
        chosen = self.chosen
        if self.alternatives:
            variant = self.variant
            return summarize_variants(
                self.total - sum(count for count, _ in self.reasons),
                self.total,
                groups,
                [(v.label, [(count, r.phrase) for count, r in d._own_reasons]) for v, d in self.alternatives],
                chosen.identifier if chosen else None,
                variant.label if chosen is not None and variant is not None else "",
                chosen.score if chosen else 0.0,
                self.unevaluated,
            )
        return summarize(
            len(self._ranking),
            self.total,
            groups,
            chosen.identifier if chosen else None,
            chosen.score if chosen else 0.0,
            self.unevaluated,
        )


def _relevant(said: list[tuple[Variant, T]], code: Callable[[T], str]) -> list[tuple[Variant, T]]:
    """What each alternative said of one identifier, without a compute choice's "no such model" when others say more.

    A compute request tries every catalogue model that meets it; that an identifier lacks most of
    them is noise beside why the models it has do not fit.
    """
    kept = [(v, r) for v, r in said if not (v.name is None and code(r) == reasons.ACCELERATOR_MISMATCH)]
    return kept or said
