"""Properties over random pools and tasks, against a brute-force oracle over plain Python objects.

- The identifiers placement accepts are exactly those the oracle accepts (so the chosen one
  passes every rule, and nothing that fits is missed).
- The chosen identifier passes every filter when each filter is run alone on the whole pool.
- Every rejected identifier carries a reason, from a filter that rejects it when run alone.
- A burst of decisions with assumptions never books a node beyond its allocatable, with pod sets too.

Tasks carry random nodeSelectors, nodeNames and required node affinities (every operator,
hostname and metadata.name terms, invalid terms); the oracle checks them node by node with the
one-node port of upstream's rule (`affinity.required_matches`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from computenet.placement import (
    AcceleratorDemand,
    Assumptions,
    ComputeClass,
    Constraints,
    Data,
    Demand,
    Identifier,
    Network,
    Node,
    PodSetDemand,
    Pricing,
    SnapshotBuilder,
    Strategy,
    Taint,
    Toleration,
    place,
)
from computenet.placement.accelerators import canonical
from computenet.placement.affinity import NodeAffinity, NodeSelectorRequirement, NodeSelectorTerm, required_matches
from computenet.placement.context import Context
from computenet.placement.filters import DEFAULT_FILTERS
from computenet.placement.framework import PASS
from computenet.placement.node_accelerator import accelerator_facts, matching_memory_mib
from computenet.placement.nodes import UNLIMITED_PODS, selects, tolerated
from computenet.placement.resources import GIB, VENDOR_RESOURCES

from .builders import A100, A100_40, H100, L4, MI300X

MODELS = [H100, A100, A100_40, L4, MI300X, None]
REGIONS = ["r1", "r2", "r3"]
TAINTS = [Taint("nvidia.com/gpu", "present", "NoSchedule"), Taint("dedicated", "ml", "NoExecute")]


@st.composite
def nodes(draw: st.DrawFn, name: str) -> Node:
    cores, gib = draw(st.integers(1, 64)), draw(st.integers(1, 512))
    allocatable = {"cpu": cores * 1000, "memory": gib * GIB}
    labels = {"kubernetes.io/arch": draw(st.sampled_from(["amd64", "arm64"])), "kubernetes.io/hostname": name}
    labels["zone"] = draw(st.sampled_from(["a", "b"]))
    labels["pool"] = draw(st.sampled_from(["x", "y"]))
    rank = draw(st.sampled_from(["1", "5", "10", "x", None]))
    if rank is not None:
        labels["rank"] = rank
    requested = {"cpu": draw(st.integers(0, cores)) * 1000, "memory": draw(st.integers(0, gib)) * GIB}
    gpus = draw(st.sampled_from([0, 0, 2, 4, 8]))
    if gpus:
        model = draw(st.sampled_from(MODELS))
        resource = "amd.com/gpu" if model == MI300X else "nvidia.com/gpu"
        allocatable[resource] = gpus
        requested[resource] = draw(st.integers(0, gpus))
        if model is not None:
            key = "amd.com/gpu.product-name" if model == MI300X else "nvidia.com/gpu.product"
            labels[key] = draw(st.sampled_from([model, "AMD_Instinct_MI300X_OAM"])) if model == MI300X else model
    pods = draw(st.sampled_from([None, None, 1, 2, 4]))
    if pods is not None:
        allocatable["pods"] = pods
        requested["pods"] = draw(st.integers(0, pods))
    taints = tuple(draw(st.lists(st.sampled_from(TAINTS), max_size=2, unique=True)))
    ready, cordoned = (
        draw(st.booleans().map(lambda b: b or True)),
        draw(st.sampled_from([False, False, True])),
    )
    return Node(name, allocatable, requested, labels, taints, ready, cordoned)


@st.composite
def identifiers(draw: st.DrawFn, name: str, cluster: str, partitioned: bool) -> Identifier:
    priced = draw(st.booleans())
    prices = {m: draw(st.sampled_from([1.0, 2.5, 4.0, 9.0])) for m in MODELS if m and draw(st.booleans())}
    latency = {r: float(draw(st.sampled_from([5, 40, 90]))) for r in REGIONS if draw(st.booleans())}
    return Identifier(
        name=name,
        cluster=cluster,
        uri=f"cpi://p/{name}",
        ready=draw(st.sampled_from([True, True, True, False])),
        provider=draw(st.sampled_from(["p1", "p2"])),
        region=draw(st.sampled_from(REGIONS)),
        compute_class=draw(st.sampled_from(list(ComputeClass))),
        pricing=Pricing(draw(st.sampled_from(["USD", "EUR"])), 0.01, 0.001, prices) if priced else None,
        network=Network(latency, draw(st.sampled_from([None, 1.0, 10.0]))),
        recent_failures=draw(st.integers(0, 3)),
        node_selector={"pool": draw(st.sampled_from(["x", "y"]))} if partitioned else {},
    )


@st.composite
def demands(draw: st.DrawFn, uid: str) -> Demand:
    accelerators = None
    if draw(st.booleans()):
        models = tuple(draw(st.lists(st.sampled_from([m for m in MODELS if m]), max_size=2, unique=True)))
        accelerators = AcceleratorDemand(
            draw(st.sampled_from([1, 2, 4, 8])),
            draw(st.sampled_from([None, None, "nvidia", "amd"])),
            models,
            draw(st.sampled_from([0, 0, 40 * 1024, 80 * 1024])),
        )
    tolerations = draw(
        st.sampled_from([(), (Toleration("nvidia.com/gpu", "Exists"),), (Toleration(operator="Exists"),)])
    )
    c = Constraints(
        regions_required=tuple(draw(st.lists(st.sampled_from(REGIONS), max_size=2, unique=True))),
        regions_preferred=tuple(draw(st.lists(st.sampled_from(REGIONS), max_size=1))),
        regions_forbidden=tuple(draw(st.lists(st.sampled_from(REGIONS), max_size=1))),
        providers_denied=tuple(draw(st.lists(st.sampled_from(["p1", "p2"]), max_size=1))),
        architectures=tuple(draw(st.lists(st.sampled_from(["amd64", "arm64"]), max_size=1))),
        compute_class=draw(st.sampled_from([None, None, "ai", "general"])),
        max_price_per_hour=draw(st.sampled_from([None, None, 5.0, 50.0])),
        currency=draw(st.sampled_from([None, "USD"])),
        max_latency_ms=draw(st.sampled_from([None, None, 50.0])),
    )
    return Demand(
        uid=uid,
        replicas=draw(st.integers(1, 4)),
        cpu=draw(st.integers(0, 16)) * 1000,
        memory=draw(st.integers(0, 64)) * GIB,
        accelerators=accelerators,
        node_selector=draw(st.sampled_from([{}, {}, {"zone": "a"}, {"kubernetes.io/hostname": "c0-n0"}])),
        node_name=draw(st.sampled_from([None, None, None, "c0-n1"])),
        node_affinity=draw(affinities()),
        tolerations=tolerations,
        constraints=c,
        data=draw(st.sampled_from([None, Data("r1", 10**12), Data("r2", 0)])),
        strategy=draw(st.sampled_from(list(Strategy))),
    )


def _req(key: str, operator: str, *values: str) -> NodeSelectorRequirement:
    return NodeSelectorRequirement(key, operator, values)


REQUIREMENTS = [
    _req("kubernetes.io/arch", "In", "arm64"),
    _req("zone", "NotIn", "a"),
    _req("rank", "Exists"),
    _req("rank", "DoesNotExist"),
    _req("rank", "Gt", "4"),
    _req("rank", "Lt", "6"),
    _req("rank", "Gt", "four"),  # invalid: the term never matches
    _req("kubernetes.io/hostname", "In", "c0-n1", "c1-n0"),
    _req("kubernetes.io/hostname", "NotIn", "c0-n0"),
]
FIELDS = [
    _req("metadata.name", "In", "c0-n2"),
    _req("metadata.name", "NotIn", "c1-n1"),
    _req("metadata.uid", "In", "x"),
]


@st.composite
def affinities(draw: st.DrawFn) -> NodeAffinity | None:
    if draw(st.booleans()):
        return None
    terms = []
    for _ in range(draw(st.integers(0, 2))):
        expressions = draw(st.lists(st.sampled_from(REQUIREMENTS), max_size=2))
        fields = draw(st.lists(st.sampled_from(FIELDS), max_size=1))
        terms.append(NodeSelectorTerm(tuple(expressions), tuple(fields)))
    return NodeAffinity(required=tuple(terms))


@dataclass
class World:
    identifiers: list[Identifier]
    nodes: dict[str, list[Node]]


@st.composite
def worlds(draw: st.DrawFn) -> World:
    world = World([], {})
    for c in range(draw(st.integers(1, 3))):
        cluster = f"c{c}"
        world.nodes[cluster] = [draw(nodes(f"{cluster}-n{i}")) for i in range(draw(st.integers(1, 5)))]
        partitions = draw(st.integers(1, 2))
        for p in range(partitions):
            world.identifiers.append(draw(identifiers(f"{cluster}-{p}", cluster, partitions > 1)))
    return world


def build(world: World) -> SnapshotBuilder:
    b = SnapshotBuilder()
    for ident in world.identifiers:
        b.upsert_identifier(ident)
    for cluster, members in world.nodes.items():
        for n in members:
            b.upsert_node(cluster, n)
    return b


Held = dict[tuple[str, str], tuple[int, int, int, int]]


def held_usage(assumptions: Assumptions, exclude: str) -> Held:
    """(cpu, memory, devices, pods) per node: `most` replicas each, where the member may put them."""
    used: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for a in assumptions:
        if a.task_uid == exclude:
            continue
        for slot in a.nodes:
            each = a.per_replica if slot.per_replica is None else slot.per_replica
            u = used[(slot.cluster, slot.node)]
            u[0] += each.cpu * slot.most
            u[1] += each.memory * slot.most
            u[2] += each.accelerators * slot.most
            u[3] += slot.most
    return {k: (v[0], v[1], v[2], v[3]) for k, v in used.items()}


def oracle(world: World, demand: Demand, held: Held) -> set[str]:
    """The identifiers a task may run on, checked rule by rule, node by node, in plain Python."""
    c, acc = demand.constraints, demand.accelerators
    devices = acc.count if acc else 0
    accepted = set()
    for ident in world.identifiers:
        if not ident.ready or (c.compute_class and str(ident.compute_class) != c.compute_class):
            continue
        if (c.regions_required and ident.region not in c.regions_required) or ident.region in c.regions_forbidden:
            continue
        if (c.providers_allowed and ident.provider not in c.providers_allowed) or ident.provider in c.providers_denied:
            continue
        if c.max_latency_ms is not None and demand.data is not None:
            latency = ident.network.latency_ms.get(demand.data.region)
            latency = 0.0 if latency is None and ident.region == demand.data.region else latency
            if latency is None or latency > c.max_latency_ms:
                continue
        slots_by_model: dict[object, int] = defaultdict(int)
        for n in world.nodes[ident.cluster]:
            if not selects(ident.node_selector, n.labels) or not n.ready or n.unschedulable:
                continue
            if c.architectures and n.labels.get("kubernetes.io/arch") not in c.architectures:
                continue
            if not tolerated(n.taints, demand.tolerations):
                continue
            if not required_matches(demand.node_selector, demand.node_affinity, n.labels, n.name):
                continue
            if demand.node_name is not None and n.name != demand.node_name:
                continue
            facts = accelerator_facts(n.labels, n.allocatable)
            model: object = None
            if devices:
                assert acc is not None
                if facts is None or (acc.vendor and VENDOR_RESOURCES[acc.vendor] != facts.resource):
                    continue
                if (acc.models and facts.model not in acc.models) or matching_memory_mib(facts) < acc.min_memory_mib:
                    continue
                model = (facts.resource, facts.model)
            taken = held.get((ident.cluster, n.name), (0, 0, 0, 0))
            resource = facts.resource if facts else ""
            if n.requested.get("pods", 0) >= n.allocatable.get("pods", UNLIMITED_PODS):
                continue  # "Too many pods": no room for anything
            free = [
                n.allocatable.get(k, UNLIMITED_PODS if k == "pods" else 0) - n.requested.get(k, 0) - t
                for k, t in zip(("cpu", "memory", resource, "pods"), taken, strict=True)
            ]
            need = (demand.cpu, demand.memory, devices, 1)
            slots = min((max(f, 0) // d if d else demand.replicas) for f, d in zip(free, need, strict=True))
            slots_by_model[model] += min(slots, demand.replicas)
        fitting = [m for m, s in slots_by_model.items() if s >= demand.replicas]
        if not fitting:
            continue
        if c.max_price_per_hour is not None:
            p = ident.pricing
            if p is None or (c.currency and p.currency != c.currency):
                continue
            base = demand.cpu / 1000 * (p.per_cpu_core_hour or 0) + demand.memory / GIB * (p.per_gib_hour or 0)
            prices = []
            for m in fitting:
                name = m[1] if isinstance(m, tuple) else None
                per_model = {canonical(k): v for k, v in p.per_accelerator_hour.items()}
                device = per_model.get(name, math.nan) if devices else 0.0
                prices.append(demand.replicas * (base + devices * device))
            known = [x for x in prices if not math.isnan(x)]
            if not known or min(known) > c.max_price_per_hour:
                continue
        accepted.add(ident.name)
    return accepted


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(world=worlds(), earlier=st.lists(demands("earlier"), max_size=3), demand=demands("task"), pooled=st.booleans())
def test_placement_agrees_with_the_oracle(world: World, earlier: list[Demand], demand: Demand, pooled: bool) -> None:
    snapshot = build(world).snapshot()
    everyone = {i.name for i in world.identifiers}
    pool = {i.name for i in world.identifiers[::2]} if pooled else everyone
    demand = Demand(**{**demand.__dict__, "identifiers": frozenset(pool) if pooled else None})
    assumptions = Assumptions()
    for i, prior in enumerate(earlier):
        prior = Demand(**{**prior.__dict__, "uid": f"earlier-{i}"})
        assumptions.assume(place(snapshot, prior, assumptions=assumptions), now=0.0)

    decision = place(snapshot, demand, assumptions=assumptions)
    expected = oracle(world, demand, held_usage(assumptions, demand.uid)) & pool

    assert {c.identifier for c in decision.candidates} == expected
    assert len(decision.candidates) + len(decision.rejections) == len(pool) == decision.total
    if decision.chosen is None:
        assert set(decision.rejections) == pool
        assert all(r.reason and r.message and r.phrase for r in decision.rejections.values())
    else:
        assert sum(slot.replicas for slot in decision.assignment) == demand.replicas
    overlay = assumptions.overlay(snapshot, exclude=demand.uid)
    all_ids = np.arange(len(snapshot), dtype=np.int64)
    for f in DEFAULT_FILTERS:
        verdict = f.filter(Context(snapshot, demand, overlay), all_ids)
        alone = np.full(len(snapshot), PASS) if verdict is None else verdict
        if decision.chosen is not None:
            assert alone[snapshot.index[decision.chosen.identifier]] == PASS, f.name
        for name, rejection in decision.rejections.items():
            if rejection.filter == f.name:
                assert alone[snapshot.index[name]] != PASS, (f.name, name)


def burst_demands() -> st.SearchStrategy[Demand]:
    """Demands, half of them free of constraints and node rules: few random demands fit anywhere."""
    unconstrained = demands("burst").map(
        lambda d: replace(d, constraints=Constraints(), data=None, node_selector={}, node_name=None, node_affinity=None)
    )
    return st.one_of(demands("burst"), unconstrained)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(world=worlds(), burst=st.lists(st.tuples(burst_demands(), st.integers(1, 4)), min_size=1, max_size=4))
def test_a_burst_never_books_a_node_beyond_its_allocatable(world: World, burst: list[tuple[Demand, int]]) -> None:
    """Each decision places its replicas only in room that the decisions before it do not hold.

    What an assumption holds on a node (`most` replicas, see `fit.assign`) is what the member's
    scheduler may put there once the node's pods finish: never more than the node's allocatable
    amounts, but it may be more than is free now, so holds are not checked against what is free.
    """
    snapshot = build(world).snapshot()
    assumptions = Assumptions()
    members = {(cluster, n.name): n for cluster, ns in world.nodes.items() for n in ns}
    repeated = [demand for demand, copies in burst for _ in range(copies)]  # copies pile onto the same nodes
    for i, demand in enumerate(repeated):
        demand = Demand(**{**demand.__dict__, "uid": f"burst-{i}"})
        held = held_usage(assumptions, exclude="")
        decision = place(snapshot, demand, assumptions=assumptions)
        per = decision.per_replica
        for slot in decision.assignment:
            n = members[(slot.cluster, slot.node)]
            assert slot.replicas <= slot.most <= demand.replicas, (n.name, slot)
            facts = accelerator_facts(n.labels, n.allocatable)
            keys = ("cpu", "memory", facts.resource if facts else "", "pods")
            before = held.get((slot.cluster, slot.node), (0, 0, 0, 0))
            for key, earlier, each in zip(keys, before, (per.cpu, per.memory, per.accelerators, 1), strict=True):
                if each:
                    limit = n.allocatable.get(key, UNLIMITED_PODS if key == "pods" else 0)
                    assert n.requested.get(key, 0) + earlier + each * slot.replicas <= limit, (n.name, key, "placed")
                    assert each * slot.most <= limit, (n.name, key, "held")
        assumptions.assume(decision, now=0.0)


@st.composite
def pod_set_demands(draw: st.DrawFn) -> Demand:
    """A burst demand of one to three pod sets: small amounts, node rules of a random demand now and then."""
    sets = []
    for k in range(draw(st.integers(1, 3))):
        d = draw(demands("burst"))
        ruled = draw(st.integers(0, 3)) == 0
        gpus = draw(st.sampled_from([0, 0, 0, 1, 2, 4]))
        sets.append(
            PodSetDemand(
                f"r{k}",
                draw(st.integers(0 if k else 1, 3)),
                draw(st.integers(0, 2)) * 500,
                draw(st.integers(0, 4)) * GIB,
                AcceleratorDemand(gpus) if gpus else None,
                d.node_selector if ruled else {},
                (Toleration(operator="Exists"),),
                d.node_name if ruled else None,
                d.node_affinity if ruled else None,
            )
        )
    return Demand(uid="burst", pod_sets=tuple(sets), strategy=draw(st.sampled_from(list(Strategy))))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(world=worlds(), burst=st.lists(st.tuples(pod_set_demands(), st.integers(1, 3)), min_size=1, max_size=4))
def test_a_burst_of_pod_set_tasks_never_books_a_node_beyond_its_allocatable(
    world: World, burst: list[tuple[Demand, int]]
) -> None:
    """Every pod set's pods go where neither earlier decisions nor the task's earlier pod sets hold room.

    All pod sets of a decision are on its one identifier, each with exactly its count of pods.
    """
    snapshot = build(world).snapshot()
    assumptions = Assumptions()
    members = {(cluster, n.name): n for cluster, ns in world.nodes.items() for n in ns}
    clusters = {i.name: i.cluster for i in world.identifiers}
    repeated = [demand for demand, copies in burst for _ in range(copies)]
    for i, demand in enumerate(repeated):
        demand = replace(demand, uid=f"burst-{i}")
        held = dict(held_usage(assumptions, exclude=""))
        decision = place(snapshot, demand, assumptions=assumptions)
        if decision.chosen is None:
            assert decision.assignment == ()
            continue
        counts = {s.role: s.count for s in demand.pod_sets if s.count}
        assert {role: sum(s.replicas for s in slots) for role, slots in decision.pod_sets.items()} == counts
        for slot in decision.assignment:
            assert slot.cluster == clusters[decision.chosen.identifier]
            assert slot.per_replica is not None
            n = members[(slot.cluster, slot.node)]
            facts = accelerator_facts(n.labels, n.allocatable)
            keys = ("cpu", "memory", facts.resource if facts else "", "pods")
            before = held.get((slot.cluster, slot.node), (0, 0, 0, 0))
            per = slot.per_replica
            each_of = (per.cpu, per.memory, per.accelerators, 1)
            for key, earlier, each in zip(keys, before, each_of, strict=True):
                if each:
                    limit = n.allocatable.get(key, UNLIMITED_PODS if key == "pods" else 0)
                    assert n.requested.get(key, 0) + earlier + each * slot.replicas <= limit, (n.name, key, "placed")
                    assert each * slot.most <= limit, (n.name, key, "held")
            held[(slot.cluster, slot.node)] = tuple(  # the task's later pod sets see this one's room taken
                b + e * slot.most for b, e in zip(before, each_of, strict=True)
            )  # type: ignore[assignment]
        assumptions.assume(decision, now=0.0)
