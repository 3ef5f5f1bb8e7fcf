"""Gangs inside one interconnect domain: all pods on nodes sharing one value of the task's topology label."""

from __future__ import annotations

from dataclasses import replace

import pytest

from computenet.placement import Assumptions, Decision, Demand, Snapshot, Topology, place, schedule
from computenet.placement import reasons as r

from .builders import H100, identifier, node, pool, task

CLIQUE = "nvidia.com/gpu.clique"


def cliques(*sizes: int, name: str = "m1", free: int = 8) -> object:
    """An identifier whose H100 nodes form cliques of the given sizes (nodes per clique)."""
    nodes = []
    for c, size in enumerate(sizes):
        for n in range(size):
            nodes.append(node(f"{name}-c{c}-n{n}").gpus(8, H100).used(gpus=8 - free).label(CLIQUE, f"{name}.c{c}"))
    return identifier(name).nodes(*nodes).price({H100: 1.0})


def gang(replicas: int, required: bool = True) -> Demand:
    return replace(task().gpus(8, H100).replicas(replicas).build(), topology=Topology(CLIQUE, required))


def cliques_of(decision: Decision, snapshot: Snapshot) -> set[str]:
    """The cliques of the nodes the decision holds (node names are ``<identifier>-c<clique>-n<i>``)."""
    return {slot.node.rsplit("-n", 1)[0] for slot in decision.assignment}


def test_a_gang_that_fits_in_one_clique_lands_inside_it() -> None:
    snapshot = pool(cliques(2, 4))
    decision = place(snapshot, gang(4))
    assert decision.chosen is not None
    assert cliques_of(decision, snapshot) == {"m1-c1"}, "the 4-node clique, not 2 + 2"
    assert sum(slot.replicas for slot in decision.assignment) == 4


def test_a_required_domain_too_small_everywhere_keeps_the_gang_waiting_naming_the_largest() -> None:
    snapshot = pool(cliques(2, 2))
    decision = place(snapshot, gang(4))
    assert decision.chosen is None
    assert decision.assignment == ()
    assert {name: rej.reason for name, rej in decision.rejections.items()} == {"m1": r.TOPOLOGY_DOMAIN}
    assert "no single nvidia.com/gpu.clique domain holds all 4 replicas (the largest holds 2)" in decision.summary
    assert decision.rejections["m1"].message == "it fits the task, but over several nvidia.com/gpu.clique domains"


def test_a_preferred_domain_is_given_up_when_none_fits() -> None:
    snapshot = pool(cliques(2, 2))
    decision = place(snapshot, gang(4, required=False))
    assert decision.chosen is not None
    assert cliques_of(decision, snapshot) == {"m1-c0", "m1-c1"}


def test_a_gang_that_fits_nowhere_says_why_as_any_task_does() -> None:
    snapshot = pool(cliques(2, 2, free=0))
    decision = place(snapshot, gang(4))
    assert decision.chosen is None
    assert {rej.reason for rej in decision.rejections.values()} != {r.TOPOLOGY_DOMAIN}


def test_the_best_domain_wins_across_identifiers() -> None:
    cheap = cliques(4, name="cheap")
    dear = cliques(4, name="dear")
    snapshot = pool(cheap, replace_price(dear, 9.0))
    decision = place(snapshot, gang(4))
    assert decision.chosen is not None
    assert decision.chosen.identifier == "cheap"


def replace_price(ident: object, price: float) -> object:
    return ident.price({H100: price})  # type: ignore[attr-defined]


@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 6])
def test_a_burst_of_gangs_never_shares_a_clique_beyond_its_room(replicas: int) -> None:
    snapshot = pool(cliques(4, 4))
    assumptions = Assumptions(ttl=300)
    demands = [replace(gang(replicas), uid=f"t{i}", name=f"t{i}", created=float(i)) for i in range(4)]
    placed = [dec for _, dec in schedule(demands, snapshot, assumptions, now=0.0) if dec.chosen is not None]
    # Each clique holds 4 nodes of 8 GPUs: 4 // replicas gangs per clique, two cliques.
    assert len(placed) == min(4, 2 * (4 // replicas)), "a 6-node gang fits no clique of 4"
    assert all(len(cliques_of(dec, snapshot)) == 1 for dec in placed), "every gang inside one clique"


def test_the_winning_domains_explanation_names_every_identifier_also_those_the_search_left_out() -> None:
    """Domains are searched among the identifiers that fit the gang at all; the decision returned is the
    winning domain's over every identifier, as if each domain had been tried over all of them."""
    snapshot = pool(cliques(2, 4, name="m1"), cliques(2, name="small"), cliques(4, name="full", free=0))
    decision = place(snapshot, gang(4))
    assert decision.chosen is not None
    assert decision.chosen.identifier == "m1"
    assert cliques_of(decision, snapshot) == {"m1-c1"}
    assert decision.total == 3
    assert set(decision.rejections) == {"small", "full"}
    assert decision.summary.startswith("placed on m1"), decision.summary
    assert "1/3 identifiers fit" in decision.summary
