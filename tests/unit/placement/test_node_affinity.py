"""Node affinity in decisions: the NodeAffinity filter, the NodeAffinity score and the caveat line."""

from __future__ import annotations

from dataclasses import replace

import pytest

from computenet.placement import Demand, Snapshot, place
from computenet.placement.affinity import (
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PreferredSchedulingTerm,
)
from computenet.placement.pod_spec import pod_constraints

from .builders import TaskBuilder, identifier, node, pool, task

ARCH = "kubernetes.io/arch"


def req(key: str, operator: str, *values: str) -> NodeSelectorRequirement:
    return NodeSelectorRequirement(key, operator, values)


def requiring(builder: TaskBuilder, *terms: NodeSelectorTerm) -> Demand:
    return replace(builder.build(), node_affinity=NodeAffinity(required=terms))


def preferring(builder: TaskBuilder, *weighted: tuple[int, NodeSelectorRequirement]) -> Demand:
    preferred = tuple(PreferredSchedulingTerm(w, NodeSelectorTerm((r,))) for w, r in weighted)
    return replace(builder.build(), node_affinity=NodeAffinity(preferred=preferred))


def east_and_west() -> Snapshot:
    """Case 05's shape: the preferred east has only amd64 nodes, the west has arm64 ones too."""
    return pool(
        identifier("east")
        .region("cn-east")
        .nodes(node("h100-0").cpu("96").label("rank", "3"), node("cpu-0").cpu("32").label("rank", "1")),
        identifier("west")
        .region("cn-west")
        .nodes(
            node("a100-0").cpu("64").label("rank", "7"),
            node("arm-0").arch("arm64").cpu("64").label("rank", "12"),
            node("arm-1").arch("arm64").cpu("64").label("rank", "12"),
        ),
    )


def cpu_task() -> TaskBuilder:
    """Case 05's tasks: 2 cores, preferring cn-east and its data there (a fresh builder each time)."""
    return task().cpu("2").memory("4Gi").regions(preferred=("cn-east",)).data("cn-east", "2Ti")


@pytest.mark.parametrize(
    ("demand", "chosen", "rejected"),
    [
        pytest.param(
            requiring(cpu_task(), NodeSelectorTerm((req(ARCH, "In", "arm64"),))),
            "west",
            {"east"},
            id="required arch In arm64 beats the preferred region and the data",
        ),
        pytest.param(
            cpu_task().node_selector({ARCH: "arm64"}).build(),
            "west",
            {"east"},
            id="the nodeSelector control lands the same way",
        ),
        pytest.param(
            requiring(cpu_task(), NodeSelectorTerm((req(ARCH, "NotIn", "amd64"),))),
            "west",
            {"east"},
            id="NotIn amd64 leaves only the arm64 nodes",
        ),
        pytest.param(
            requiring(cpu_task(), NodeSelectorTerm((req("rank", "Gt", "5"),))),
            "west",
            {"east"},
            id="Gt on a numeric node label",
        ),
        pytest.param(
            requiring(cpu_task(), NodeSelectorTerm((req("rank", "Lt", "2"),))),
            "east",
            {"west"},
            id="Lt on a numeric node label",
        ),
        pytest.param(
            requiring(cpu_task(), NodeSelectorTerm(match_fields=(req("metadata.name", "In", "arm-1"),))),
            "west",
            {"east"},
            id="matchFields metadata.name pins one node",
        ),
        pytest.param(
            requiring(cpu_task(), NodeSelectorTerm((req("kubernetes.io/hostname", "In", "cpu-0"),))),
            "east",
            {"west"},
            id="a hostname expression is matched per node",
        ),
        pytest.param(
            requiring(
                cpu_task(),
                NodeSelectorTerm((req(ARCH, "In", "s390x"),)),
                NodeSelectorTerm((req("rank", "In", "1"),)),
            ),
            "east",
            {"west"},
            id="terms are ORed",
        ),
        pytest.param(
            requiring(cpu_task().node_selector({ARCH: "amd64"}), NodeSelectorTerm((req("rank", "Gt", "5"),))),
            "west",
            {"east"},
            id="nodeSelector and affinity must hold on the same node",
        ),
        pytest.param(
            requiring(cpu_task().node_selector({ARCH: "arm64"}), NodeSelectorTerm((req("rank", "Lt", "5"),))),
            None,
            {"east", "west"},
            id="nodeSelector on one node and affinity on another admit neither",
        ),
        pytest.param(
            requiring(cpu_task(), NodeSelectorTerm((req(ARCH, "In", "s390x"),))),
            None,
            {"east", "west"},
            id="an affinity that no node matches leaves the task pending",
        ),
        pytest.param(requiring(cpu_task()), None, {"east", "west"}, id="an empty term list matches no node"),
        pytest.param(
            requiring(cpu_task(), NodeSelectorTerm((req("rank", "Gt", "five"),))),
            None,
            {"east", "west"},
            id="a term that does not parse matches no node",
        ),
    ],
)
def test_required_node_affinity(demand: Demand, chosen: str | None, rejected: set[str]) -> None:
    decision = place(east_and_west(), demand)
    assert (decision.chosen.identifier if decision.chosen else None) == chosen
    assert set(decision.rejections) == rejected


def test_a_rejection_says_affinity_in_one_line_and_shows_the_nodes_values() -> None:
    decision = place(east_and_west(), requiring(cpu_task(), NodeSelectorTerm((req(ARCH, "In", "s390x"),))))
    assert decision.summary == "0/2 identifiers fit: 2 no node matches the pod's required node affinity"
    east = decision.rejections["east"]
    assert (east.filter, east.reason) == ("NodeAffinity", "NodeAffinityMismatch")
    assert east.message == (
        "none of its 2 schedulable nodes matches the required node affinity (they have kubernetes.io/arch: amd64)"
    )


def test_the_detail_counts_only_nodes_the_selector_admits_and_names_invalid_terms() -> None:
    demand = requiring(
        cpu_task().node_selector({ARCH: "amd64"}),
        NodeSelectorTerm((req("rank", "Gt", "50"),)),
        NodeSelectorTerm((req("rank", "Gt", "five"),)),
    )
    west = place(east_and_west(), demand).rejections["west"]
    assert west.message == (
        "none of its 1 schedulable nodes admitted by the nodeSelector matches the required node affinity "
        "(they have rank: 7); term 1 cannot match: nodeSelectorTerms[1].matchExpressions[0].values[0]: "
        "Invalid value: \"five\": for 'Gt', 'Lt' operators, the value must be an integer"
    )


def test_affinity_narrows_a_partition_never_widens_it() -> None:
    """The identifier's own selector chose its nodes; the pod's affinity only picks among them."""
    snapshot = pool(
        identifier("amd-part", "c").selector(part="amd"),
        identifier("arm-part", "c").selector(part="arm"),
        clusters={
            "c": [
                node("x0").label("part", "amd").cpu("8"),
                node("x1").label("part", "arm").arch("arm64").cpu("8"),
            ]
        },
    )
    decision = place(snapshot, requiring(task().cpu("1"), NodeSelectorTerm((req(ARCH, "In", "arm64"),))))
    assert decision.chosen is not None
    assert decision.chosen.identifier == "arm-part"
    assert [slot.node for slot in decision.assignment] == ["x1"]
    assert decision.rejections["amd-part"].filter == "NodeAffinity"


def test_resources_are_counted_only_on_nodes_the_affinity_admits() -> None:
    """A big amd64 node does not make room for an arm64-only task on the small arm64 node."""
    snapshot = pool(identifier("mixed").nodes(node("big").cpu("64"), node("small").arch("arm64").cpu("2")))
    decision = place(snapshot, requiring(task().cpu("4"), NodeSelectorTerm((req(ARCH, "In", "arm64"),))))
    assert decision.chosen is None
    assert decision.rejections["mixed"].filter == "Resources"
    assert decision.rejections["mixed"].message == "2 cpu free in total on 1 suitable node, the task needs 4"
    decision = place(snapshot, requiring(task().cpu("2"), NodeSelectorTerm((req(ARCH, "In", "arm64"),))))
    assert [slot.node for slot in decision.assignment] == ["small"]


def test_node_name_runs_the_pods_on_that_node_or_nowhere() -> None:
    decision = place(east_and_west(), replace(cpu_task().build(), node_name="arm-0"))
    assert decision.chosen is not None
    assert decision.chosen.identifier == "west"
    assert [slot.node for slot in decision.assignment] == ["arm-0"]
    assert decision.rejections["east"].phrase == "no node matches nodeName arm-0"
    missing = place(east_and_west(), replace(cpu_task().build(), node_name="gone"))
    assert missing.summary == "0/2 identifiers fit: 2 no node matches nodeName gone"


# ---- preferred node affinity: the NodeAffinity score ----


@pytest.mark.parametrize(
    ("weighted", "east", "west"),
    [
        pytest.param([(50, req(ARCH, "In", "arm64"))], 0.0, 100.0, id="all of the preference on one identifier"),
        pytest.param(
            [(30, req(ARCH, "In", "arm64")), (10, req("rank", "Lt", "4"))],
            25.0,
            75.0,
            id="each identifier scores its best node's share of the total weight",
        ),
        pytest.param(
            [(10, req(ARCH, "In", "arm64")), (10, req("rank", "Gt", "10"))],
            0.0,
            100.0,
            id="both terms on the same node score full",
        ),
        pytest.param([(10, req(ARCH, "In", "s390x"))], 0.0, 0.0, id="a preference nobody meets scores zero everywhere"),
    ],
)
def test_preferred_affinity_score(
    weighted: list[tuple[int, NodeSelectorRequirement]], east: float, west: float
) -> None:
    decision = place(east_and_west(), preferring(task().cpu("1"), *weighted))
    scores = {c.identifier: c.scores["NodeAffinity"] for c in decision.candidates}
    assert scores == {"east": east, "west": west}


def test_preferred_affinity_counts_only_nodes_with_room() -> None:
    """A preferred node that is full does not lift its identifier: the pods would land elsewhere."""
    snapshot = pool(
        identifier("full-arm").nodes(node("arm").arch("arm64").cpu("4").used(cpu="4"), node("x86").cpu("8")),
        identifier("free-arm").nodes(node("arm2").arch("arm64").cpu("4")),
    )
    decision = place(snapshot, preferring(task().cpu("1"), (10, req(ARCH, "In", "arm64"))))
    assert {c.identifier: c.scores["NodeAffinity"] for c in decision.candidates} == {"full-arm": 0.0, "free-arm": 100.0}


@pytest.mark.parametrize(
    ("weight", "chosen"),
    [
        pytest.param(0.0, "east", id="weighted 0 the preference changes nothing"),
        pytest.param(25.0, "west", id="weighted as the pool average it outweighs preferred region and data"),
    ],
)
def test_the_affinity_weight_trades_preference_against_the_other_scores(weight: float, chosen: str) -> None:
    demand = preferring(
        cpu_task().weights(fit=40, price=30, locality=20, reliability=10, affinity=weight),
        (100, req(ARCH, "In", "arm64")),
    )
    decision = place(east_and_west(), demand)
    assert decision.chosen is not None
    assert decision.chosen.identifier == chosen


def test_the_score_does_not_apply_without_preferred_terms() -> None:
    decision = place(east_and_west(), task().cpu("1").build())
    assert decision.chosen is not None
    assert "NodeAffinity" not in decision.chosen.scores


# ---- what placement cannot evaluate is named, never dropped ----


def test_unevaluated_constraints_end_the_summary_line() -> None:
    spec = {
        "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone"}]}},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}],
    }
    demand = replace(task().cpu("1").build(), unevaluated=pod_constraints(spec).unevaluated)
    placed = place(east_and_west(), demand)
    assert placed.unevaluated == ("podAntiAffinity", "topologySpreadConstraints")
    assert placed.caveat == "not evaluated by placement: podAntiAffinity, topologySpreadConstraints"
    assert placed.summary.endswith("; not evaluated by placement: podAntiAffinity, topologySpreadConstraints")
    pending = place(east_and_west(), replace(demand, cpu=10**6))
    assert pending.chosen is None
    assert pending.summary.startswith("0/2 identifiers fit: 2 insufficient cpu in total")
    assert pending.summary.endswith("; not evaluated by placement: podAntiAffinity, topologySpreadConstraints")


def test_invalid_preferred_terms_are_not_scored_and_are_named() -> None:
    demand = preferring(task().cpu("1"), (10, req(ARCH, "In", "arm64")), (5, req("rank", "Gt", "many")))
    decision = place(east_and_west(), demand)
    assert decision.chosen is not None
    assert "NodeAffinity" not in decision.chosen.scores
    assert decision.summary.endswith("; not evaluated by placement: preferred node affinity (invalid)")


def test_nothing_to_name_leaves_the_line_as_it_was() -> None:
    decision = place(east_and_west(), task().cpu("1").build())
    assert decision.caveat == ""
    assert "not evaluated" not in decision.summary
