"""Topology levels an identifier declares (block, rack, clique), and a task naming one of them.

Like Kueue's Topology (``spec.levels``, coarsest first) and its TAS: a required level keeps the gang
in one domain of that level; a preferred one climbs to the next coarser level the identifier
declares when no domain fits, and spreads only when none fits at the coarsest.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from computenet.placement import Decision, Demand, Topology, place
from computenet.placement import reasons as r
from computenet.placement.topology import ladder

from .builders import H100, IdentifierBuilder, NodeBuilder, identifier, node, pool, task

BLOCK, RACK, CLIQUE = "cloud.google.com/gce-topology-block", "topology.computenet.io/rack", "nvidia.com/gpu.clique"
LEVELS = (("block", BLOCK), ("rack", RACK), ("clique", CLIQUE))


@pytest.mark.parametrize(
    ("level", "required", "keys"),
    [
        pytest.param("clique", True, (CLIQUE,), id="a required level by name: its own label only"),
        pytest.param("clique", False, (CLIQUE, RACK, BLOCK), id="a preferred level climbs to every coarser one"),
        pytest.param(RACK, False, (RACK, BLOCK), id="a level named by its node label climbs the same"),
        pytest.param("block", False, (BLOCK,), id="the coarsest level has nothing above it"),
        pytest.param("example.com/pod", False, ("example.com/pod",), id="an undeclared level is a node label key"),
    ],
)
def test_a_level_resolves_to_the_labels_to_try_finest_first(level: str, required: bool, keys: tuple[str, ...]) -> None:
    assert ladder(LEVELS, level, required) == keys


def h100(name: str, block: str, rack: str, clique: str | None = None) -> NodeBuilder:
    built = node(name).gpus(8, H100).label(BLOCK, block).label(RACK, rack)
    return built.label(CLIQUE, clique) if clique else built


def fabric(name: str = "m1", levels: tuple[tuple[str, str], ...] = LEVELS) -> IdentifierBuilder:
    """Block b0: rack r0 (cliques c0 and c1 of 2 nodes each) and rack r1 (2 nodes); block b1: one node."""
    nodes = [
        h100("r0-c0-a", "b0", "r0", "c0"),
        h100("r0-c0-b", "b0", "r0", "c0"),
        h100("r0-c1-a", "b0", "r0", "c1"),
        h100("r0-c1-b", "b0", "r0", "c1"),
        h100("r1-a", "b0", "r1"),
        h100("r1-b", "b0", "r1"),
        h100("b1-a", "b1", "r2"),
    ]
    return identifier(name).levels(*levels).nodes(*nodes).price({H100: 1.0})


def gang(replicas: int, level: str, required: bool = False) -> Demand:
    return replace(task().gpus(8, H100).replicas(replicas).build(), topology=Topology(level, required))


def labels_of(decision: Decision, key: str, ident: IdentifierBuilder) -> set[str]:
    by_name = {nb.name: nb.labels.get(key, "") for nb in ident.node_builders}
    return {by_name[slot.node] for slot in decision.assignment}


@pytest.mark.parametrize(
    ("replicas", "key", "domains"),
    [
        pytest.param(2, CLIQUE, {"c0"}, id="a gang of 2 fits one clique"),
        pytest.param(4, RACK, {"r0"}, id="no clique holds 4: one rack does"),
        pytest.param(6, BLOCK, {"b0"}, id="no rack holds 6: one block does"),
        pytest.param(7, BLOCK, {"b0", "b1"}, id="no block holds 7: spread, as if no topology was asked"),
    ],
)
def test_a_preferred_level_falls_back_to_the_next_coarser_one(replicas: int, key: str, domains: set[str]) -> None:
    ident = fabric()
    decision = place(pool(ident), gang(replicas, "clique"))
    assert decision.chosen is not None, decision.summary
    assert sum(slot.replicas for slot in decision.assignment) == replicas
    assert labels_of(decision, key, ident) == domains


def test_a_required_level_by_name_keeps_the_gang_in_one_of_its_domains() -> None:
    ident = fabric()
    decision = place(pool(ident), gang(4, "rack", required=True))
    assert decision.chosen is not None
    assert labels_of(decision, RACK, ident) == {"r0"}


def test_a_required_level_too_small_waits_naming_it_and_the_largest() -> None:
    decision = place(pool(fabric()), gang(5, "rack", required=True))
    assert decision.chosen is None
    assert decision.rejections["m1"].reason == r.TOPOLOGY_DOMAIN
    assert "no single rack domain holds all 5 replicas (the largest holds 4)" in decision.summary


def test_each_identifier_resolves_the_name_to_its_own_label() -> None:
    """ "rack" is topology.computenet.io/rack on one member and example.com/rack on the other."""
    other = "example.com/rack"
    near = identifier("near").levels(("rack", other)).price({H100: 1.0})
    near = near.nodes(*(node(f"near-{i}").gpus(8, H100).label(other, "x").label(RACK, f"r{i}") for i in range(3)))
    snapshot = pool(near, fabric("far", (("rack", RACK),)).price({H100: 5.0}))
    decision = place(snapshot, gang(3, "rack", required=True))
    assert decision.chosen is not None
    assert decision.chosen.identifier == "near", "its example.com/rack domain holds 3; its own RACK values would not"


def test_a_level_no_identifier_declares_is_a_node_label_that_none_carries() -> None:
    decision = place(pool(fabric(levels=())), gang(2, "rack", required=True))
    assert decision.chosen is None
    assert decision.rejections["m1"].reason == r.TOPOLOGY_DOMAIN
