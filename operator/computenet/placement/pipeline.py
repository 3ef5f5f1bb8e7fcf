"""place(): filter, score, select. The one function the rest of the operator calls.

Filters run in order over the identifiers still standing, so each is asked only about the ones
the cheaper filters before it let through, and each rejected identifier keeps the first reason.
Survivors are scored by every applicable score plugin, combined as a weighted mean, and ranked
by total score, then by name: the same inputs always give the same decision. The winner's
node slots are computed so that the caller can assume them (see `assume`); a candidate whose gang
the member's scheduler could spread into room promised to another task is passed over
(`gang_order`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from computenet.placement import fit, pod_sets, topology, variants
from computenet.placement.arrays import FloatArray
from computenet.placement.assume import Assumptions
from computenet.placement.context import Context
from computenet.placement.decision import Decision
from computenet.placement.demand import Demand
from computenet.placement.filters import DEFAULT_FILTERS
from computenet.placement.framework import PASS, Filter, Score
from computenet.placement.gang_order import UNCONFIRMED, GangOrder, risky_nodes
from computenet.placement.ranking import Ranking
from computenet.placement.scores import DEFAULT_SCORES
from computenet.placement.snapshot import Snapshot

GANG_ORDER = GangOrder()
"""Names the identifiers passed over because their gang could take room promised to another task."""


def place(
    snapshot: Snapshot,
    demand: Demand,
    *,
    assumptions: Assumptions | None = None,
    filters: Sequence[Filter] = DEFAULT_FILTERS,
    scores: Sequence[Score] = DEFAULT_SCORES,
    clock: Callable[[], float] | None = None,
) -> Decision:
    """Decide where `demand` runs on `snapshot`, seeing the resources `assumptions` already hold.

    The task's own assumption, if any, is not counted against it (re-placing a task is allowed).
    With a `clock` (e.g. `time.perf_counter`), the decision records how long it took in `elapsed`.
    """
    started = clock() if clock is not None else 0.0
    if demand.variant is None and (demand.variants or (demand.accelerators and demand.accelerators.compute)):

        def place_way(d: Demand) -> Decision:  # several ways to run: one decision each, the best wins
            return place(snapshot, d, assumptions=assumptions, filters=filters, scores=scores)

        decision = variants.place(demand, place_way)
        if clock is not None:
            decision.elapsed = clock() - started
        return decision
    if demand.topology is not None:  # one domain of a node label for all pods: decided over whole decisions

        def place_one(d: Demand) -> Decision:
            return place(snapshot, d, assumptions=assumptions, filters=filters, scores=scores)

        decision = topology.place(snapshot, demand, place_one, filters, scores)
        if clock is not None:
            decision.elapsed = clock() - started
        return decision
    overlay = assumptions.overlay(snapshot, exclude=demand.uid) if assumptions is not None else None
    if demand.pod_sets:  # several roles on one identifier: their own path, this one stays as fast
        decision = pod_sets.place(snapshot, demand, overlay, filters, scores)
        if clock is not None:
            decision.elapsed = clock() - started
        return decision
    ctx = Context(snapshot, demand, overlay)
    n = len(snapshot)
    # Identifiers outside the task's pool are not part of the decision at all.
    alive = np.arange(n, dtype=np.int64) if demand.identifiers is None else snapshot.indices(demand.identifiers)
    considered = len(alive)
    rejected_by = np.full(n, -1, dtype=np.int64)
    codes = np.full(n, PASS, dtype=np.int64)
    for index, f in enumerate(filters):
        if not len(alive):
            break
        verdict = f.filter(ctx, alive)
        if verdict is None:
            continue
        passed = verdict == PASS
        if not passed.all():
            failed = ~passed
            gone = alive[failed]
            rejected_by[gone] = index
            codes[gone] = verdict[failed]
            alive = alive[passed]
    per_plugin: dict[str, FloatArray] = {}
    total: FloatArray = np.zeros(len(alive))
    weights = 0.0
    for s in scores:
        if not s.applies(ctx):
            continue
        values = s.score(ctx, alive)
        per_plugin[s.name] = values
        weight = float(getattr(demand.weights, s.weight))
        total += weight * values
        weights += weight
    if weights > 0:
        total /= weights
    ranking = Ranking(alive, total)
    assignment: tuple[tuple[int, int, int], ...] = ()
    passed_over = 0
    for rank in range(len(ranking)):  # the best whose gang assignment the member cannot disorder (gang_order)
        best = ranking.ident(rank)
        assignment = fit.assign(ctx, best)
        if not len(risky_nodes(ctx, assignment)):
            break
        rejected_by[best], codes[best] = len(filters), UNCONFIRMED
        passed_over += 1
        assignment = ()
    explained = (*filters, GANG_ORDER) if passed_over else filters
    ranking = ranking.passed_over(passed_over)
    decision = Decision(ctx, explained, considered, rejected_by, codes, ranking, total, per_plugin, assignment)
    if clock is not None:
        decision.elapsed = clock() - started
    return decision
