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

Cost: one decision without a domain, then one per domain tried among the identifiers that fit the
task at all (a domain only takes nodes away), and the winner's again over all; a few more to measure
the largest when none fits. Domains are few (racks, cliques) next to identifiers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.decision import Decision
from computenet.placement.demand import Demand
from computenet.placement.framework import Reason
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


def ladders(snapshot: Snapshot, demand: Demand) -> dict[tuple[str, ...], frozenset[str] | None]:
    """The task's identifiers grouped by their ladder (see `ladder`); None: every identifier of the demand."""
    topology = demand.topology
    assert topology is not None
    allowed = demand.identifiers
    found: dict[tuple[str, ...], set[str]] = {}
    for ident in snapshot.identifiers:
        if allowed is None or ident.name in allowed:
            found.setdefault(ladder(ident.levels, topology.level, topology.required), set()).add(ident.name)
    if len(found) > 1:
        return {key: frozenset(names) for key, names in found.items()}
    one: tuple[str, ...] = next(iter(found), (topology.level,))
    return {one: allowed}  # one ladder for all: the demand's own identifiers, unchanged


def place(snapshot: Snapshot, demand: Demand, place_one: PlaceOne) -> Decision:
    """Where `demand` runs with all its pods in one domain of ``demand.topology.level`` (see module).

    The domains are searched among the identifiers that fit the task without a domain (a node
    selector only takes nodes away, so no other identifier fits inside one), and the winning domain
    is decided again over all of them, so that its explanation names every identifier: the same
    decision as searching over all, at the cost of the few that fit.
    """
    topology = demand.topology
    assert topology is not None
    anywhere = place_one(replace(demand, topology=None))
    if anywhere.chosen is None:
        return anywhere  # it fits nowhere at all, so in no domain either: it says why as any task does
    fits = frozenset(c.identifier for c in anywhere.candidates)
    groups = ladders(snapshot, demand)
    for rung in range(max(len(keys) for keys in groups)):
        best: tuple[float, Demand] | None = None
        for keys, names in groups.items():
            if rung >= len(keys):
                continue
            among = replace(demand, identifiers=names)
            searched = replace(demand, identifiers=fits if names is None else names & fits)
            for value in domains(snapshot, keys[rung]):
                chosen = place_one(in_domain(searched, keys[rung], value)).chosen
                if chosen is not None and (best is None or round(chosen.score, 6) > round(best[0], 6)):
                    best = (chosen.score, in_domain(among, keys[rung], value))
        if best is not None:
            return place_one(best[1])
    if not topology.required:
        return anywhere  # preferred: given up
    largest = 0
    if not demand.pod_sets:
        for keys, names in groups.items():
            among = replace(demand, identifiers=names)
            largest = max(largest, _largest(place_one, among, keys[0], domains(snapshot, keys[0]), largest))
    return anywhere.refused(DomainShortfall(topology.level, demand.replicas, largest, bool(demand.pod_sets)))
