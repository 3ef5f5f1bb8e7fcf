"""Gangs inside one interconnect domain: every pod of a task on nodes sharing one value of a label.

LLM training gangs must sit inside one NVLink domain, rack or network block (NVIDIA's
``nvidia.com/gpu.clique``, GKE's ``cloud.google.com/gce-topology-block``, EKS's
``topology.k8s.aws/network-node-layer-N``, or a provider's rack label). Kueue's Topology Aware
Scheduling asks the same of a pod set (``kueue.x-k8s.io/podset-required-topology``, or
``-preferred-topology``); here the domain is one value of the task's `Topology.level` label.

The rule, over whole decisions: the task is placed once per domain (its pods' node selector
narrowed to that domain, so every filter, score, gang fit and assumption applies unchanged), and
the best fitting domain wins, ties to the first domain by name. None fits: a preferred domain is
given up (the task is placed as if it had none); a required one keeps the task waiting, every
identifier that fits otherwise rejected with the largest domain's shortfall, e.g. "no single
nvidia.com/gpu.clique domain holds all 4 replicas (the largest holds 2)". Pure.

Cost: one decision per domain of the level in the snapshot, and a few more to measure the largest
when none fits; domains are few (racks, cliques) next to identifiers.
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


def _largest(place_one: PlaceOne, demand: Demand, level: str, values: tuple[str, ...]) -> int:
    """How many of the gang's replicas the best single domain holds (binary search per domain)."""
    best = 0
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


def place(snapshot: Snapshot, demand: Demand, place_one: PlaceOne) -> Decision:
    """Where `demand` runs with all its pods in one domain of ``demand.topology.level`` (see module)."""
    topology = demand.topology
    assert topology is not None
    level = topology.level
    values = domains(snapshot, level)
    best: Decision | None = None
    for value in values:
        decision = place_one(in_domain(demand, level, value))
        chosen = decision.chosen
        if chosen is not None and (best is None or round(chosen.score, 6) > round(_score(best), 6)):
            best = decision
    if best is not None:
        return best
    anywhere = place_one(replace(demand, topology=None))
    if not topology.required or anywhere.chosen is None:
        return anywhere  # preferred: given up; or it fits nowhere at all, and says why as any task does
    largest = 0 if demand.pod_sets else _largest(place_one, demand, level, values)
    return anywhere.refused(DomainShortfall(level, demand.replicas, largest, bool(demand.pod_sets)))


def _score(decision: Decision) -> float:
    assert decision.chosen is not None
    return decision.chosen.score
