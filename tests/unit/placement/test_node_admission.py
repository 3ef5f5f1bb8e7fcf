"""Which of an entry's nodes a pod's node constraints admit, read per label set where that is exact."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from computenet.placement import NodeAffinity, NodeSelectorRequirement, NodeSelectorTerm
from computenet.placement.context import Context
from computenet.placement.demand import Demand
from computenet.placement.node_admission import admitted, by_label_set

from .builders import identifier, node, pool, task

RACK = "topology.example.com/rack"
SNAPSHOT = pool(
    identifier("east").nodes(*(node(f"n{i}").cpu("8").memory("16Gi").label(RACK, str(i)) for i in range(1, 5))),
    identifier("west").nodes(*(node(f"w{i}").cpu("8").memory("16Gi").label(RACK, "9") for i in range(1, 3))),
)


def _requiring(*requirements: NodeSelectorRequirement, fields: bool = False) -> Demand:
    term = NodeSelectorTerm(match_fields=requirements) if fields else NodeSelectorTerm(requirements)
    return replace(task().cpu("1").build(), node_affinity=NodeAffinity(required=(term,)))


def _rack(operator: str, *values: str) -> Demand:
    return _requiring(NodeSelectorRequirement(RACK, operator, values))


@pytest.mark.parametrize(
    ("demand", "per_label_set", "expected"),
    [
        pytest.param(_rack("Gt", "0"), True, {"east": (True, True), "west": (True, True)}, id="every node admitted"),
        pytest.param(_rack("Gt", "2"), True, {"east": (False, True), "west": (True, True)}, id="racks 3 and 4 and 9"),
        pytest.param(_rack("Lt", "3"), True, {"east": (False, True), "west": (False, False)}, id="racks 1 and 2"),
        pytest.param(_rack("In", "7"), True, {"east": (False, False), "west": (False, False)}, id="no node admitted"),
        pytest.param(
            replace(task().cpu("1").build(), node_selector={RACK: "9"}),
            True,
            {"east": (False, False), "west": (True, True)},
            id="nodeSelector on a label",
        ),
        pytest.param(
            _requiring(NodeSelectorRequirement("metadata.name", "In", ("n2",)), fields=True),
            False,
            {"east": (False, True), "west": (False, False)},
            id="matchFields on a node name is read row by row",
        ),
        pytest.param(
            replace(task().cpu("1").build(), node_selector={"kubernetes.io/hostname": "w1"}),
            False,
            {"east": (False, False), "west": (False, True)},
            id="nodeSelector on the hostname is read row by row",
        ),
    ],
)
def test_entries_admitted(demand: Demand, per_label_set: bool, expected: dict[str, tuple[bool, bool]]) -> None:
    ctx = Context(SNAPSHOT, demand)
    assert by_label_set(ctx) is per_label_set
    answer = admitted(ctx, np.arange(len(SNAPSHOT.entries.kind)))
    assert answer is not None
    every, some = answer
    e = SNAPSHOT.entries
    for entry in range(len(e.kind)):
        rows = e.rows[e.indptr[entry] : e.indptr[entry + 1]]
        selected = ctx.rows_selected(rows)
        assert selected is not None
        found = (bool(every[entry]), bool(some[entry]))
        assert found == (bool(selected.all()), bool(selected.any())), "the same as row by row"
        assert found == expected[SNAPSHOT.identifiers[e.ident[entry]].name]


def test_no_node_constraint_admits_without_reading() -> None:
    assert admitted(Context(SNAPSHOT, task().cpu("1").build()), np.arange(len(SNAPSHOT.entries.kind))) is None
