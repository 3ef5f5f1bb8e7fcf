"""A gang in one domain decided by counting (`domain_counts`) decides as the rule over whole decisions.

`topology.place` ranks every domain from one count of what each domain's nodes hold and decides
only the winner whole; `topology.place_per_domain` is the rule itself (one decision per domain, a
binary search for the shortfall). Both must give the same decision: the same identifier, score,
nodes, rejections and summary, on hand-made cases where the two ways could part, and on random
pools with random assumptions.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from computenet.placement import (
    Assumptions,
    Decision,
    Demand,
    PodSetDemand,
    Snapshot,
    Strategy,
    Topology,
    Weights,
    place,
)
from computenet.placement import reasons as r
from computenet.placement.pipeline import place as pipeline_place
from computenet.placement.topology import place_per_domain

from .builders import A100, H100, TOLERATE_GPU, IdentifierBuilder, NodeBuilder, identifier, node, pool, task

RACK, BLOCK = "topology.example.com/rack", "topology.example.com/block"
GIB = 2**30


def by_rule(snapshot: Snapshot, demand: Demand, assumptions: Assumptions | None = None) -> Decision:
    """The decision by the rule over whole decisions."""

    def place_one(d: Demand) -> Decision:
        return pipeline_place(snapshot, d, assumptions=assumptions)

    return place_per_domain(snapshot, demand, place_one)


def said(decision: Decision) -> tuple[object, ...]:
    """Everything a decision tells: choice, score, nodes, rejections, summary."""
    chosen = decision.chosen
    return (
        None if chosen is None else (chosen.identifier, chosen.score, chosen.model, chosen.price_per_hour),
        tuple((s.node, s.replicas, s.most, s.role) for s in decision.assignment),
        tuple((n, rej.filter, rej.reason, rej.message) for n, rej in decision.rejections.items()),
        decision.summary,
        decision.total,
    )


def h100(name: str, rack: str, free: int = 8) -> NodeBuilder:
    return node(name).gpus(8, H100).used(gpus=8 - free).label(RACK, rack)


def gang(replicas: int, required: bool = True, **changes: object) -> Demand:
    demand = replace(task().gpus(8, H100).replicas(replicas).build(), topology=Topology(RACK, required))
    return replace(demand, **changes)


def racks(name: str, *sizes: int, price: float = 1.0, free: int = 8) -> IdentifierBuilder:
    """An identifier whose H100 nodes fill racks r0, r1, ... of the given sizes."""
    nodes = [h100(f"{name}-r{k}-{i}", f"r{k}", free) for k, size in enumerate(sizes) for i in range(size)]
    return identifier(name).nodes(*nodes).price({H100: price})


CASES = [
    pytest.param(
        pool(racks("a", 2, 4), racks("b", 4, price=0.5)),
        gang(4),
        None,
        id="the cheapest identifier's rack wins over a larger rack elsewhere",
    ),
    pytest.param(
        pool(racks("a", 4, 4), racks("b", 4, 4)),
        gang(4),
        None,
        id="equal domains: the first domain by name, then the first identifier by name",
    ),
    pytest.param(
        pool(
            identifier("a")
            .nodes(
                *(h100(f"a-{i}", "r0") for i in range(2)),
                *(node(f"a-c{i}").cpu(64).label(RACK, "r1") for i in range(4)),
            )
            .price({H100: 1.0})
        ),
        gang(2),
        None,
        id="a rack of cpu nodes holds no GPU replica however many nodes it has",
    ),
    pytest.param(
        pool(
            identifier("a")
            .nodes(*(h100(f"a-{i}", "r0").arch("arm64") for i in range(4)), *(h100(f"a-x{i}", "r1") for i in range(2)))
            .price({H100: 1.0})
        ),
        replace(gang(4), constraints=task().architectures("amd64").build().constraints),
        None,
        id="a rack whose GPUs would hold the gang but whose nodes fail another filter holds nothing",
    ),
    pytest.param(
        pool(racks("a", 4, 4), racks("b", 4)),
        gang(3, node_selector={"kubernetes.io/arch": "amd64"}),
        None,
        id="the pod's own nodeSelector and the domain select together",
    ),
    pytest.param(
        pool(racks("a", 2, 2), racks("b", 3, free=4)),
        gang(3),
        None,
        id="a required rack too small everywhere names the largest, counted across identifiers",
    ),
    pytest.param(
        pool(racks("a", 2, 2), racks("b", 1, 1, 1)),
        gang(3, required=False),
        None,
        id="a preferred rack too small everywhere is given up",
    ),
    pytest.param(
        pool(racks("a", 4, 4), racks("b", 4, 4, price=0.9)),
        gang(4),
        [("a", "r0"), ("b", "r0")],
        id="assumptions taking nodes in a rack move the gang to another rack",
    ),
    pytest.param(
        pool(racks("a", 3, 3), racks("b", 2)),
        gang(3),
        [("a", "r0")],
        id="assumptions taking part of a rack leave it too small",
    ),
    pytest.param(
        pool(racks("a", 4, 4)),
        replace(
            gang(1),
            pod_sets=(
                PodSetDemand("leader", 1, 1000, GIB, tolerations=(TOLERATE_GPU,)),
                PodSetDemand(
                    "workers", 3, 8000, 64 * GIB, task().gpus(8, H100).build().accelerators, tolerations=(TOLERATE_GPU,)
                ),
            ),
        ),
        None,
        id="a task of several pod sets keeps every role in one rack",
    ),
    pytest.param(
        pool(racks("a", 4, 4).levels(("block", BLOCK), ("rack", RACK))),
        gang(5, required=False),
        None,
        id="a preferred level climbs to a block the nodes do not carry and gives up",
    ),
    pytest.param(
        pool(
            racks("a", 4, 4), identifier("b").nodes(*(node(f"b-{i}").gpus(8, A100).label(RACK, "r0") for i in range(4)))
        ),
        replace(gang(4), accelerators=replace(task().gpus(8, H100).build().accelerators, models=(H100, A100))),
        None,
        id="any of two models: each rack on the model that fits it",
    ),
    pytest.param(
        pool(
            racks("a", 2, 4),
            identifier("b")
            .nodes(*(node(f"b-{i}").gpus(8, A100).label(RACK, "r0") for i in range(4)))
            .price({A100: 3.0}),
        ),
        replace(
            gang(4),
            accelerators=replace(task().gpus(8, H100).build().accelerators, models=(H100, A100)),
            constraints=task().max_price(40.0).build().constraints,
        ),
        None,
        id="any of two models under a price limit: a rack whose only model costs more than the limit is passed over",
    ),
]


@pytest.mark.parametrize(("snapshot", "demand", "assumed"), CASES)
def test_counting_decides_as_one_decision_per_domain(
    snapshot: Snapshot, demand: Demand, assumed: list[tuple[str, str]] | None
) -> None:
    assumptions = None
    if assumed is not None:
        assumptions = Assumptions(ttl=300)
        for k, (ident, rack) in enumerate(assumed):  # a gang of 2 held on the rack's first nodes
            held = replace(gang(2), uid=f"held-{k}", name=f"held-{k}", identifiers=frozenset({ident}))
            decision = place(
                snapshot, replace(held, node_selector={RACK: rack}, topology=None), assumptions=assumptions
            )
            assert decision.chosen is not None
            assumptions.assume(decision, now=0.0)
    assert said(place(snapshot, demand, assumptions=assumptions)) == said(by_rule(snapshot, demand, assumptions))


def test_the_shortfall_counts_identifiers_that_do_not_fit_the_whole_gang_anywhere() -> None:
    """b holds 3 in one rack but fits 4 nowhere; a fits 4 over two racks of 2."""
    snapshot = pool(racks("a", 2, 2), racks("b", 3))
    decision = place(snapshot, gang(4))
    assert decision.chosen is None
    assert decision.rejections["a"].reason == r.TOPOLOGY_DOMAIN
    assert "(the largest holds 3)" in decision.summary
    assert said(decision) == said(by_rule(snapshot, gang(4)))


@st.composite
def pools(draw: st.DrawFn) -> Snapshot:
    idents = []
    for i in range(draw(st.integers(1, 4))):
        built = identifier(f"m{i}")
        if draw(st.booleans()):
            built = built.levels(("block", BLOCK), ("rack", RACK))
        count = draw(st.integers(1, 7))
        nodes = []
        for n in range(count):
            model = draw(st.sampled_from([H100, H100, A100]))
            b = node(f"m{i}-{n}").gpus(8, model).used(gpus=draw(st.sampled_from([0, 0, 4, 8])))
            rack = draw(st.sampled_from(["r0", "r1", "r2", None]))
            if rack is not None:
                b = b.label(RACK, rack).label(BLOCK, "b0" if rack != "r2" else "b1")
            if draw(st.booleans()):
                b = b.arch("arm64")
            nodes.append(b)
        currency = draw(st.sampled_from(["USD", "USD", "EUR"]))
        built = built.nodes(*nodes).price({H100: draw(st.sampled_from([1.0, 2.0])), A100: 1.5}, currency=currency)
        built = built.region(draw(st.sampled_from(["r1", "r2"])))
        idents.append(built.failures(draw(st.integers(0, 2))))
    return pool(*idents)


@st.composite
def demands(draw: st.DrawFn) -> Demand:
    models = draw(st.sampled_from([(H100,), (A100,), (H100, A100)]))
    demand = gang(draw(st.integers(1, 5)), required=draw(st.booleans()))
    accelerators = replace(task().gpus(draw(st.sampled_from([4, 8])), H100).build().accelerators, models=models)
    level = draw(st.sampled_from([RACK, "rack", BLOCK]))
    demand = replace(demand, accelerators=accelerators, topology=Topology(level, demand.topology.required))  # type: ignore[union-attr]
    if draw(st.booleans()):
        demand = replace(demand, node_selector={"kubernetes.io/arch": "amd64"})
    if draw(st.booleans()):
        limit, currency = draw(st.sampled_from([20.0, 40.0])), draw(st.sampled_from([None, "USD"]))
        demand = replace(demand, constraints=replace(demand.constraints, max_price_per_hour=limit, currency=currency))
    if draw(st.booleans()):
        demand = replace(demand, constraints=replace(demand.constraints, regions_preferred=("r1",)))
    if draw(st.booleans()):
        demand = replace(demand, strategy=Strategy.SPREAD)
    if draw(st.booleans()):
        demand = replace(demand, weights=Weights(fit=draw(st.sampled_from([0.0, 2.0])), price=3.0))
    if draw(st.integers(0, 3)) == 0:  # a leader beside the gang, both in the one domain
        leader = PodSetDemand("leader", 1, 1000, GIB, tolerations=(TOLERATE_GPU,), node_selector=demand.node_selector)
        workers = PodSetDemand(
            "workers", demand.replicas, 8000, 64 * GIB, accelerators, demand.node_selector, (TOLERATE_GPU,)
        )
        demand = replace(demand, pod_sets=(leader, workers))
    return demand


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    snapshot=pools(),
    demand=demands(),
    held=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["r0", "r1"])), max_size=3),
)
def test_counting_decides_as_one_decision_per_domain_on_random_pools(
    snapshot: Snapshot, demand: Demand, held: list[tuple[int, str]]
) -> None:
    assumptions = Assumptions(ttl=300)
    for k, (ident, rack) in enumerate(held):
        holder = replace(gang(1), uid=f"held-{k}", name=f"held-{k}", node_selector={RACK: rack}, topology=None)
        holder = replace(holder, identifiers=frozenset({f"m{ident}"}))
        assumptions.assume(place(snapshot, holder, assumptions=assumptions), now=0.0)
    assert said(place(snapshot, demand, assumptions=assumptions)) == said(by_rule(snapshot, demand, assumptions))


def test_the_gang_order_passing_the_counted_winner_over_leaves_it_to_the_rule() -> None:
    """Rack r0 holds the gang by count, but on a node another placement holds half of, not yet bound:
    the member's scheduler could give the gang that room, so r0's decision passes a over, and r1 wins."""
    shared = node("a-p").gpus(16, H100).label(RACK, "r0")
    nodes = [h100("a-x", "r1"), h100("a-y", "r1"), shared, h100("a-q", "r0")]
    snapshot = pool(identifier("a").nodes(*nodes).price({H100: 1.0}))
    assumptions = Assumptions(ttl=300)
    holder = replace(gang(1), uid="holder", name="holder", node_name="a-p", topology=None)
    assumptions.assume(place(snapshot, holder, assumptions=assumptions), now=0.0)
    decision = place(snapshot, gang(2), assumptions=assumptions)
    assert decision.chosen is not None
    assert {slot.node for slot in decision.assignment} == {"a-x", "a-y"}
    assert said(decision) == said(by_rule(snapshot, gang(2), assumptions))


def test_tasks_of_one_template_share_what_each_rack_holds_whatever_their_gang_size() -> None:
    """Without assumptions what each rack holds is remembered on the snapshot; a gang of another size
    reads it and decides as the rule does."""
    snapshot = pool(racks("a", 2, 3, 4), racks("b", 3, 1, price=0.5))
    for replicas in (2, 4, 3, 5, 1):
        assert said(place(snapshot, gang(replicas))) == said(by_rule(snapshot, gang(replicas))), replicas


def test_the_winning_domains_explanation_read_later_sees_the_assumptions_it_was_decided_with() -> None:
    """The winner is decided among its one identifier; the decision among all, which only explains it,
    is made when first read: after the caller assumed the decision and another task took room, it still
    explains the decision as it was made (a holding one of its two r0 nodes, not both)."""
    snapshot = pool(racks("a", 2, 4), racks("b", 4, price=0.5))
    assumptions = Assumptions(ttl=300)

    def hold(uid: str) -> None:
        held = replace(gang(1), uid=uid, name=uid, identifiers=frozenset({"a"}), node_selector={RACK: "r0"})
        assumptions.assume(place(snapshot, replace(held, topology=None), assumptions=assumptions), now=0.0)

    hold("first")
    rule = by_rule(snapshot, gang(4), assumptions)
    expected = said(rule), rule.candidates
    decision = place(snapshot, gang(4), assumptions=assumptions)
    assumptions.assume(decision, now=0.0)
    hold("second")
    assert (said(decision), decision.candidates) == expected
    assert decision.rejections["a"].message == (
        f"8 nvidia.com/gpu ({H100}) free in total on 2 suitable nodes after reservations assumed for pending tasks,"
        " the task needs 32"
    )
    assert decision.total == 2


def test_reading_the_choice_makes_no_whole_decision_reading_the_explanation_makes_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a placed task's status needs (choice, nodes, variant, requests) is the decision's own; the
    candidates and rejections are the whole decision's, made once, at the first read."""
    snapshot = pool(racks("a", 2, 4), racks("b", 4, price=0.5))
    decision = place(snapshot, gang(4))
    made: list[Demand] = []

    def counted(snapshot: Snapshot, demand: Demand, **kwargs: object) -> Decision:
        made.append(demand)
        return pipeline_place(snapshot, demand, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("computenet.placement.pipeline.place", counted)
    assert decision.chosen is not None
    assert decision.chosen.identifier == "b"
    assert {slot.node for slot in decision.assignment} == {f"b-r0-{i}" for i in range(4)}
    assert (decision.variant, decision.device_class, decision.per_replica.accelerators) == (None, None, 8)
    assert made == []
    assert set(decision.rejections) == {"a"}
    assert decision.summary == said(by_rule(snapshot, gang(4)))[3]
    assert len(made) == 1
    assert made[0].identifiers is None
    assert made[0].node_selector == {RACK: "r0"}


def test_rows_the_fit_read_are_counted_once_and_at_no_gang_cap() -> None:
    """A nodeSelector admitting some of an entry's nodes makes the fit read its rows, capped at the gang
    size. The count per rack takes b's from that read (no node of b reaches the gang: a gang of 2 fits
    its rack r0, the cheaper), and reads a's again, whose 24-GPU node holds 3: a gang of 3 of the same
    template then finds them in a's rack r0."""

    def on(name: str, rack: str, label: str, gpus: int = 8) -> NodeBuilder:
        return node(name).gpus(gpus, H100).label(RACK, rack).label("pool", label)

    snapshot = pool(
        identifier("a")
        .nodes(on("a-big", "r0", "x", 24), on("a-y", "r0", "y"), on("a-z", "r1", "x"))
        .price({H100: 1.0}),
        identifier("b").nodes(on("b-1", "r0", "x"), on("b-2", "r0", "y"), on("b-3", "r0", "x")).price({H100: 0.5}),
    )
    for replicas, chosen in ((2, "b"), (3, "a")):
        demand = gang(replicas, node_selector={"pool": "x"})
        decision = place(snapshot, demand)
        assert decision.chosen is not None
        assert decision.chosen.identifier == chosen
        assert said(decision) == said(by_rule(snapshot, demand)), replicas
