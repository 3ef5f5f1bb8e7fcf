"""Placement of a task with several pod sets: all on one identifier, each a gang, all together.

A JobSet's leader and workers, a Ray head and its worker groups: each role is a gang of identical
pods (its own requests, accelerators, claims and node constraints) that must land node by node,
and every role must land on the same identifier, beside the others. The pipeline is the one of a
single gang, asked per pod set:

1. Filters. A filter that reads only the task's own constraints (``task_level``: pool, regions,
   price limits, ...) runs once; every other filter runs once per pod set, in filter order, so an
   identifier is rejected by the most specific problem of the first pod set that has it, and the
   reason names the role ("pod set workers: insufficient nvidia.com/gpu in total"). Each pod set
   passing alone is necessary, not sufficient: the roles compete for the same nodes.
2. Price. The task's price per hour is the sum over its pod sets (each on the model it fits
   best); the MaxPrice rule is asked again of that sum.
3. Scores. Each score is the pod-count-weighted mean of its value per pod set (price: of the sum).
4. The exact check, best candidate first: the pod sets are assigned in order, each seeing the
   nodes the ones before it hold (their `most`, as an assumption holds them), so the second pod
   set fits only where the first left room. The first candidate where every pod set fits wins;
   the others are rejected naming the pod set that did not fit beside the rest, or whose gang
   could take room promised to another task (`gang_order`).

Every node slot of the decision carries its role and its per-replica requests, so `assume` holds
every pod set's room and a burst never books a node twice. A task with one pod set never comes
here: `pipeline.place` keeps its own path, unchanged in speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from computenet.placement import fit, reasons
from computenet.placement.arrays import FloatArray, IntArray
from computenet.placement.context import Context
from computenet.placement.decision import Decision, NodeSlot, node_slot
from computenet.placement.demand import Demand, PodSetDemand
from computenet.placement.devices import hold
from computenet.placement.filters.price import MaxPrice
from computenet.placement.framework import PASS, Filter, Reason, Score
from computenet.placement.gang_order import risky_nodes
from computenet.placement.overlay import Overlay, empty_overlay
from computenet.placement.ranking import Ranking
from computenet.placement.snapshot import Snapshot

BESIDE, UNCONFIRMED = 0, 1
"""Codes of `Together`, per pod set: code = 2 x (its position among the pod sets) + kind."""


class PerPodSet:
    """A filter asked about one pod set: it reads that pod set's context and names the role."""

    def __init__(self, inner: Filter, ctx: Context, role: str) -> None:
        self.name = inner.name
        self._inner, self._ctx, self._prefix = inner, ctx, f"pod set {role}: "

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        return self._inner.filter(self._ctx, ids)

    def reason(self, ctx: Context, code: int) -> Reason:
        said = self._inner.reason(self._ctx, code)
        return Reason(said.code, self._prefix + said.phrase)

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        return [self._prefix + d for d in self._inner.details(self._ctx, ids, codes)]


@dataclass
class Together:
    """Explains candidates passed over by the exact check: a pod set did not fit beside the others."""

    roles: Sequence[str]
    counts: Sequence[int]
    messages: dict[int, str] = field(default_factory=dict)
    """Per identifier index: its own numbers."""
    name: str = "PodSets"

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        """Not run as a filter: `place` checks the best candidates one by one."""
        return None

    def reason(self, ctx: Context, code: int) -> Reason:
        role, kind = self.roles[code // 2], code % 2
        if kind == BESIDE:
            return Reason(reasons.GANG_DOES_NOT_FIT, f"pod set {role}: does not fit beside the other pod sets")
        return Reason(
            reasons.GANG_ORDER,
            f"pod set {role}: would share nodes with placements not yet bound; waiting for them",
        )

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        return [
            self.messages.get(i, self.reason(ctx, c).phrase) for i, c in zip(ids.tolist(), codes.tolist(), strict=True)
        ]


@dataclass(frozen=True, slots=True)
class Miss:
    """Why the exact check passed over an identifier: a `Together` code and its own numbers."""

    code: int
    message: str


def place(
    snapshot: Snapshot,
    demand: Demand,
    overlay: Overlay | None,
    filters: Sequence[Filter],
    scores: Sequence[Score],
) -> Decision:
    """The decision for a task of several pod sets (see module); `overlay` holds the other tasks' room."""
    base = overlay if overlay is not None else empty_overlay(len(snapshot))
    sets = [s for s in demand.pod_sets if s.count > 0]
    ctxs = [Context(snapshot, demand.of_set(s), base) for s in sets]
    counts = [s.count for s in sets]
    primary = max(range(len(sets)), key=lambda k: (sets[k].devices * sets[k].count, -k))
    lead = ctxs[primary]
    n = len(snapshot)
    alive = np.arange(n, dtype=np.int64) if demand.identifiers is None else snapshot.indices(demand.identifiers)
    considered = len(alive)
    rejected_by = np.full(n, -1, dtype=np.int64)
    codes = np.full(n, PASS, dtype=np.int64)
    explained: list[Filter] = []

    def run(f: Filter, ctx: Context) -> None:
        nonlocal alive
        index = len(explained)
        explained.append(f)
        if not len(alive):
            return
        verdict = f.filter(ctx, alive)
        if verdict is None:
            return
        passed = verdict == PASS
        if not passed.all():
            gone = alive[~passed]
            rejected_by[gone], codes[gone] = index, verdict[~passed]
            alive = alive[passed]

    for f in filters:
        if getattr(f, "task_level", False):
            run(f, lead)
        else:
            for s, ctx in zip(sets, ctxs, strict=True):
                run(PerPodSet(f, ctx, s.role), ctx)
    for ctx in ctxs:
        fit.ensure(ctx, alive)
    price: FloatArray = np.sum([ctx.fit_price[alive] for ctx in ctxs], axis=0) if len(alive) else np.zeros(0)
    for ctx in ctxs:
        ctx.fit_price[alive] = price
    if demand.constraints.max_price_per_hour is not None:
        run(MaxPrice(), lead)  # of the whole task now: each pod set alone was within the limit

    per_plugin: dict[str, FloatArray] = {}
    total: FloatArray = np.zeros(len(alive))
    weights = 0.0
    for sc in scores:
        applying = [k for k, ctx in enumerate(ctxs) if sc.applies(ctx)]
        if not applying:
            continue
        pods = sum(counts[k] for k in applying)
        values = np.sum([counts[k] * sc.score(ctxs[k], alive) for k in applying], axis=0) / pods
        per_plugin[sc.name] = values
        weight = float(getattr(demand.weights, sc.weight))
        total += weight * values
        weights += weight
    if weights > 0:
        total /= weights
    ranking = Ranking(alive, total)

    together = Together([s.role for s in sets], counts)
    slots: tuple[NodeSlot, ...] = ()
    passed_over = 0
    for rank in range(len(ranking)):
        best = ranking.ident(rank)
        found = _assign(snapshot, sets, ctxs, base, best)
        if not isinstance(found, Miss):
            slots = found
            break
        rejected_by[best], codes[best] = len(explained), found.code
        together.messages[best] = found.message
        passed_over += 1
    if passed_over:
        explained.append(together)
    decision = Decision(
        lead, explained, considered, rejected_by, codes, ranking.passed_over(passed_over), total, per_plugin, (),
        slots=slots, replicas=sum(counts),
    )  # fmt: skip
    decision.unevaluated = tuple(dict.fromkeys(u for ctx in ctxs for u in ctx.unevaluated))
    return decision


def _assign(
    snapshot: Snapshot, sets: Sequence[PodSetDemand], ctxs: Sequence[Context], base: Overlay, ident: int
) -> tuple[NodeSlot, ...] | Miss:
    """Every pod set's node slots on `ident`, each beside the ones before it; or why not."""
    nodes, clusters = snapshot.nodes, snapshot.vocabulary.clusters
    held = base
    out: list[NodeSlot] = []
    for k, (s, alone) in enumerate(zip(sets, ctxs, strict=True)):
        ctx = alone if k == 0 else Context(snapshot, alone.demand, held)
        triples = fit.assign(ctx, ident)
        if not triples:
            before = ", ".join(p.role for p in sets[:k])
            most = int(ctx.fit_upper[ident])
            return Miss(
                2 * k + BESIDE, f"pod set {s.role}: at most {most} of {s.count} pods fit beside pod sets {before}"
            )
        if len(risky_nodes(alone, triples)):
            return Miss(
                2 * k + UNCONFIRMED,
                f"pod set {s.role}: {s.count} pods would be spread over nodes where other tasks' pods are placed "
                "but not yet bound; the member's scheduler could give the gang their room",
            )
        needs = ctx.device_needs(ident) if ctx.claims else {}
        needs = needs if not isinstance(needs, str) else {}
        mine = [
            node_slot(
                clusters[int(nodes.cluster[r])],
                nodes.names[r],
                c,
                r,
                most,
                hold(nodes.devices.get(r, ()), needs, most) if needs else (),
                nodes.served.get(r),
                s.devices,
                nodes.devices.get(r, ()),
                role=s.role,
                per_replica=s.per_replica,
            )
            for r, c, most in triples
        ]
        out.extend(mine)
        if k + 1 < len(sets):
            held = _holding(snapshot, held, mine, s, ident)
    return tuple(out)


def _holding(
    snapshot: Snapshot, overlay: Overlay, slots: Sequence[NodeSlot], pod_set: PodSetDemand, ident: int
) -> Overlay:
    """`overlay` with what `slots` of `pod_set` hold added: `most` replicas' requests and pod slots per node."""
    ordered = sorted(slots, key=lambda s: s.row)
    rows = np.array([s.row for s in ordered], dtype=np.int64)
    each = pod_set.per_replica
    usage = np.array(
        [(each.accelerators * s.most + s.served, each.cpu * s.most, each.memory * s.most, s.most) for s in ordered],
        dtype=np.int64,
    ).reshape(-1, 4)
    out = overlay.plus(rows, usage, np.full(len(rows), ident, dtype=np.int64)).summarized(snapshot, rows)
    if any(s.devices for s in ordered):
        devices = {row: dict(held) for row, held in out.devices.items()}
        for s in ordered:
            mine = devices.setdefault(s.row, {})
            for key, count in s.devices:
                mine[key] = mine.get(key, 0) + count
        out = replace(out, devices=devices)
    return out
