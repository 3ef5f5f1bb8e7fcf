"""Gangs inside one interconnect domain: every pod of a task on nodes sharing one value of a label.

LLM training gangs must sit inside one NVLink domain, rack or network block (NVIDIA's
``nvidia.com/gpu.clique``, GKE's ``cloud.google.com/gce-topology-block``, EKS's
``topology.k8s.aws/network-node-layer-N``, or a provider's rack label). Kueue's Topology Aware
Scheduling asks the same of a pod set (``kueue.x-k8s.io/podset-required-topology``, or
``-preferred-topology``); here the domain is one value of the task's `Topology.level` label.

A level is named by the task as its identifiers declare it (``rack``: `Identifier.levels`, coarsest
first, like Kueue's Topology) or by the node label key itself. Per identifier it resolves to a ladder
of label keys, finest first: the level's own, then, for a preferred level, each coarser level the
identifier declares (Kueue's TAS: "if the PodSet cannot fit within a given topology domain then the
next topology level up is considered"); a required level is its own only.

The rule, over whole decisions: the task is placed once per domain of the ladder's first rung (its
pods' node selector narrowed to that domain, so every filter, score, gang fit and assumption applies
unchanged; identifiers whose ladder differs are left out of that try), and the best fitting domain
wins, ties to the first domain by name. None fits: the next rung is tried, and so on. None fits at
any rung: a preferred level is given up (the task is placed as if it had none); a required one keeps
the task waiting, every identifier that fits otherwise rejected with the largest domain's shortfall,
e.g. "no single nvidia.com/gpu.clique domain holds all 4 replicas (the largest holds 2)". Pure.

Cost: the rule is kept, not its cost. One decision without a domain; then every domain is counted
and ranked in one pass over the nodes of the identifiers that fit the task at all (`domain_counts`:
how many replicas each domain holds, on which model, and what each domain's decision would
choose), and only the winning domain is decided: among the one identifier it chooses (told the
domain's cheapest cost, which its Price score divides by), the decision among every identifier,
which only the explanation needs, being made when the explanation is first read, on the
assumptions the decision saw (`Decision.explained_by`); so its decision and explanation are the
pipeline's own. The shortfall is counted too. Where counting cannot rank the domains
(preferred node affinity, which scores a domain's nodes; several pod sets; other scores than the
defaults), or the winner's decision chooses otherwise than counted (the gang order under
assumptions), each domain where the count fits every pod set is decided whole among the
identifiers it fits on. Where counting cannot even tell the fit (DRA claims, other filters than
the defaults, a nodeSelector on the level's own label), every domain is (`place_per_domain`, the
rule itself, which the tests hold the counting to).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from computenet.placement import domain_counts, reasons
from computenet.placement.arrays import IntArray
from computenet.placement.assume import Assumptions
from computenet.placement.context import Context
from computenet.placement.decision import Decision
from computenet.placement.demand import Demand
from computenet.placement.filters import DEFAULT_FILTERS
from computenet.placement.framework import Filter, Reason, Score
from computenet.placement.overlay import Overlay
from computenet.placement.scores import DEFAULT_SCORES
from computenet.placement.snapshot import Snapshot

PlaceOne = Callable[[Demand], Decision]
"""Places one demand without a topology (``pipeline.place`` with the caller's assumptions)."""


def in_domain(demand: Demand, level: str, value: str) -> Demand:
    """`demand` with every pod's node selector narrowed to the nodes whose `level` label is `value`."""
    sets = tuple(replace(s, node_selector={**s.node_selector, level: value}) for s in demand.pod_sets)
    return replace(demand, topology=None, node_selector={**demand.node_selector, level: value}, pod_sets=sets)


def domains(snapshot: Snapshot, level: str) -> tuple[str, ...]:
    """The values of the `level` label on the snapshot's nodes, sorted."""
    return tuple(sorted(snapshot.vocabulary.label_column(level)[1]))


def _scaled(demand: Demand, pods: int) -> Demand:
    """`demand` with `pods` replicas (a single gang only; a task of several roles keeps its counts)."""
    return replace(demand, replicas=pods) if not demand.pod_sets else demand


def _largest(place_one: PlaceOne, demand: Demand, level: str, values: tuple[str, ...], best: int = 0) -> int:
    """How many of the gang's replicas the best single domain holds, at least `best` (binary search per domain)."""
    for value in values:
        low, high = best, demand.replicas - 1  # the whole gang was tried already: it does not fit
        while low < high:
            mid = (low + high + 1) // 2
            if place_one(_scaled(in_domain(demand, level, value), mid)).chosen is not None:
                low = mid
            else:
                high = mid - 1
        best = max(best, low)
    return best


class DomainShortfall:
    """Explains identifiers that fit the task, but not inside one domain of its level."""

    name = "Topology"

    def __init__(self, level: str, replicas: int, largest: int, several_roles: bool) -> None:
        self.level, self.replicas, self.largest, self.several_roles = level, replicas, largest, several_roles

    def _said(self) -> str:
        if self.several_roles:
            return f"no single {self.level} domain holds every pod set of the task"
        return f"no single {self.level} domain holds all {self.replicas} replicas (the largest holds {self.largest})"

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        """Not run as a filter: `place` checks the rule over whole decisions."""
        return None

    def reason(self, ctx: Context, code: int) -> Reason:
        return Reason(reasons.TOPOLOGY_DOMAIN, self._said())

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        return [f"it fits the task, but over several {self.level} domains" for _ in ids.tolist()]


def ladder(levels: tuple[tuple[str, str], ...], level: str, required: bool) -> tuple[str, ...]:
    """The node label keys to try for `level` on an identifier declaring `levels`, finest first.

    `level` matches a declared level by name, or by its node label; an undeclared one is a node label
    key itself. A preferred level climbs to every coarser declared level; a required one does not.
    """
    at = next((i for i, (name, label) in enumerate(levels) if level in (name, label)), None)
    if at is None:
        return (level,)
    own = levels[at][1]
    return (own,) if required else (own, *(label for _, label in reversed(levels[:at])))


def _declares_levels(snapshot: Snapshot) -> bool:
    """Whether any identifier of the snapshot declares topology levels."""
    return bool(snapshot.table.levels.any())


def ladders(snapshot: Snapshot, demand: Demand) -> dict[tuple[str, ...], frozenset[str] | None]:
    """The task's identifiers grouped by their ladder (see `ladder`); None: every identifier of the demand."""
    topology = demand.topology
    assert topology is not None
    allowed = demand.identifiers
    if not _declares_levels(snapshot):
        return {(topology.level,): allowed}
    found: dict[tuple[str, ...], set[str]] = {}
    for ident in snapshot.identifiers:
        if allowed is None or ident.name in allowed:
            found.setdefault(ladder(ident.levels, topology.level, topology.required), set()).add(ident.name)
    if len(found) > 1:
        return {key: frozenset(names) for key, names in found.items()}
    one: tuple[str, ...] = next(iter(found), (topology.level,))
    return {one: allowed}  # one ladder for all: the demand's own identifiers, unchanged


def place(
    snapshot: Snapshot,
    demand: Demand,
    place_one: PlaceOne,
    filters: Sequence[Filter] = DEFAULT_FILTERS,
    scores: Sequence[Score] = DEFAULT_SCORES,
) -> Decision:
    """Where `demand` runs with all its pods in one domain of ``demand.topology.level`` (see module).

    `filters` and `scores` are those `place_one` decides with. The domains are counted and ranked in
    one pass (`domain_counts`) and only the winner is decided, among the identifier it chooses
    (explained by the decision among all, made when read); where counting cannot rank them (see
    `domain_counts.predicts`), or the winner's decision chooses otherwise than counted (the gang
    order under assumptions), each domain is decided whole (`_per_domain`).
    """
    topology = demand.topology
    assert topology is not None
    anywhere = place_one(replace(demand, topology=None))
    if anywhere.chosen is None:
        return anywhere  # it fits nowhere at all, so in no domain either: it says why as any task does
    ctx = anywhere.context
    groups = ladders(snapshot, demand)
    keys = {key for ladder_keys in groups for key in ladder_keys}
    selected = {*demand.node_selector, *(k for s in demand.pod_sets for k in s.node_selector)}
    sets = _pod_set_contexts(snapshot, demand, ctx)
    if keys & selected or not all(domain_counts.counts(c, filters) for c in sets):
        sets = ()  # a domain only narrows the selector; the default filters' fit only is counted
    if len(sets) != 1 or demand.pod_sets or not domain_counts.predicts(ctx, filters, scores):
        return _per_domain(snapshot, demand, place_one, anywhere, groups, sets)
    fits = anywhere.standing()
    ids = [fits if names is None else np.intersect1d(fits, snapshot.indices(names)) for names in groups.values()]
    for rung in range(max(len(ladder_keys) for ladder_keys in groups)):
        tried = [(g, ladder_keys[rung]) for g, ladder_keys in enumerate(groups) if rung < len(ladder_keys)]
        winner = domain_counts.best(ctx, [(ids[g], key) for g, key in tried], scores)
        if winner is None:
            continue
        g, key = tried[winner.group]
        names = list(groups.values())[g]
        whole = in_domain(replace(demand, identifiers=names), key, winner.domain)
        name = snapshot.identifiers[winner.ident].name
        alone = place_one(replace(whole, identifiers=frozenset((name,)), cheapest=winner.cheapest))
        if _counted(alone, name, winner.score):  # the whole decision chooses the same: it explains this one
            considered = len(snapshot) if names is None else len(snapshot.indices(names))
            return alone.explained_by(_deciding(snapshot, whole, ctx, filters, scores), considered)
        decision = place_one(whole)
        if not _counted(decision, name, winner.score):
            return _per_domain(snapshot, demand, place_one, anywhere, groups, sets)  # the gang order passed it
        return decision
    return _given_up(snapshot, demand, place_one, anywhere, groups, sets)


def _counted(decision: Decision, name: str, score: float) -> bool:
    """Whether `decision` chose identifier `name` with total `score`, as counted (`domain_counts.best`)."""
    chosen = decision.chosen
    return chosen is not None and chosen.identifier == name and chosen.score == score


class _Fixed(Assumptions):
    """Assumptions that hold what one overlay holds, whatever is assumed later (read by `pipeline.place`)."""

    def __init__(self, overlay: Overlay) -> None:
        super().__init__()
        self._fixed = overlay

    def overlay(self, snapshot: Snapshot, exclude: str | None = None) -> Overlay:
        return self._fixed


def _deciding(
    snapshot: Snapshot, demand: Demand, ctx: Context, filters: Sequence[Filter], scores: Sequence[Score]
) -> Callable[[], Decision]:
    """Makes `demand`'s decision (no topology) as `ctx`'s was made: on its snapshot and assumptions.

    The winning domain's decision among the one identifier it chooses costs a fraction of the
    decision among all, which only its explanation needs (`Decision.explained_by`); the
    assumptions are those `ctx` saw, not what the caller assumes before the explanation is read.
    """
    overlay = ctx.overlay

    def whole() -> Decision:
        from computenet.placement import pipeline  # the entry point, which calls this module

        return pipeline.place(snapshot, demand, assumptions=_Fixed(overlay), filters=filters, scores=scores)

    return whole


def place_per_domain(snapshot: Snapshot, demand: Demand, place_one: PlaceOne) -> Decision:
    """`place` by its rule over whole decisions: one per domain, and a binary search for the shortfall.

    The reference `place` is held to.
    """
    anywhere = place_one(replace(demand, topology=None))
    if anywhere.chosen is None:
        return anywhere
    return _per_domain(snapshot, demand, place_one, anywhere, ladders(snapshot, demand), ())


def _per_domain(
    snapshot: Snapshot,
    demand: Demand,
    place_one: PlaceOne,
    anywhere: Decision,
    groups: dict[tuple[str, ...], frozenset[str] | None],
    sets: Sequence[Context],
) -> Decision:
    """The rule over whole decisions, `anywhere` being the task's decision without a domain.

    The domains are searched among the identifiers that fit the task without a domain (a node
    selector only takes nodes away, so no other identifier fits inside one), and the winning domain
    is decided again over all of them, so that its explanation names every identifier: the same
    decision as searching over all, at the cost of the few that fit. With the contexts of the
    task's pod sets (`sets`, its own for a single gang), whose fit in a domain is counted exactly
    (`domain_counts.counts`), a domain is decided only among the identifiers whose nodes there hold
    every pod set, and not at all when none does: the same decisions.
    """
    topology = demand.topology
    assert topology is not None
    fits = frozenset(snapshot.identifiers[i].name for i in anywhere.standing().tolist())
    for rung in range(max(len(keys) for keys in groups)):
        best: tuple[float, Demand] | None = None
        for keys, names in groups.items():
            if rung >= len(keys):
                continue
            among = replace(demand, identifiers=names)
            searched = fits if names is None else names & fits
            for value, inside in _searched(snapshot, keys[rung], searched, sets):
                chosen = place_one(in_domain(replace(demand, identifiers=inside), keys[rung], value)).chosen
                if chosen is not None and (best is None or round(chosen.score, 6) > round(best[0], 6)):
                    best = (chosen.score, in_domain(among, keys[rung], value))
        if best is not None:
            return place_one(best[1])
    return _given_up(snapshot, demand, place_one, anywhere, groups, sets)


def _pod_set_contexts(snapshot: Snapshot, demand: Demand, ctx: Context) -> tuple[Context, ...]:
    """The contexts each pod set with pods is fitted in (the decision's own for a single gang)."""
    if not demand.pod_sets:
        return (ctx,)
    task = replace(demand, topology=None)
    return tuple(Context(snapshot, task.of_set(s), ctx.overlay) for s in demand.pod_sets if s.count > 0)


def _searched(
    snapshot: Snapshot, key: str, names: frozenset[str], sets: Sequence[Context]
) -> list[tuple[str, frozenset[str]]]:
    """The domains of `key` to decide, by name, each with the identifiers of `names` to decide it among."""
    if not sets:
        return [(value, names) for value in domains(snapshot, key)]
    ids = snapshot.indices(names)
    inside: set[tuple[int, int]] | None = None
    for ctx in sets:
        held = domain_counts.held(ctx, ids, key)
        fit = held.replicas >= ctx.replicas
        pairs = set(zip(held.ident[fit].tolist(), held.domain[fit].tolist(), strict=True))
        inside = pairs if inside is None else inside & pairs
    values = snapshot.vocabulary.label_column(key)[1]
    found: dict[str, set[str]] = {}
    for ident, domain in inside or ():
        found.setdefault(values[domain], set()).add(snapshot.identifiers[ident].name)
    return [(value, frozenset(found[value])) for value in sorted(found)]


def _given_up(
    snapshot: Snapshot,
    demand: Demand,
    place_one: PlaceOne,
    anywhere: Decision,
    groups: dict[tuple[str, ...], frozenset[str] | None],
    sets: Sequence[Context],
) -> Decision:
    """No domain of any rung holds the task: preferred, `anywhere`; required, refused with the shortfall.

    The largest share one domain holds is counted where the gang's fit is (`sets`) and a smaller
    gang is not cheaper (no price limit), among every identifier whose nodes could hold part of it
    (passing every filter before Resources); else searched for with whole decisions.
    """
    topology = demand.topology
    assert topology is not None
    if not topology.required:
        return anywhere  # preferred: given up
    most = 0  # the message names no count for several pod sets
    if not demand.pod_sets and sets and demand.constraints.max_price_per_hour is None:
        passed = anywhere.standing(before="Resources")
        for keys, names in groups.items():
            among = passed if names is None else np.intersect1d(passed, snapshot.indices(names))
            most = max(most, domain_counts.largest(anywhere.context, among, keys[0]))
    elif not demand.pod_sets:
        most = _largest_of(snapshot, place_one, demand, groups)
    return anywhere.refused(DomainShortfall(topology.level, demand.replicas, most, bool(demand.pod_sets)))


def _largest_of(
    snapshot: Snapshot, place_one: PlaceOne, demand: Demand, groups: dict[tuple[str, ...], frozenset[str] | None]
) -> int:
    """The most replicas of the gang one domain of the first rung holds, by whole decisions."""
    largest = 0
    for keys, names in groups.items():
        among = replace(demand, identifiers=names)
        largest = max(largest, _largest(place_one, among, keys[0], domains(snapshot, keys[0]), largest))
    return largest
