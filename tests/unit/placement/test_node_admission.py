"""Which of an entry's nodes a pod's node constraints admit, read per label set where that is exact."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from computenet.placement import NodeAffinity, NodeSelectorRequirement, NodeSelectorTerm, node_admission, place
from computenet.placement.context import Context
from computenet.placement.demand import Demand
from computenet.placement.filters import node_selector
from computenet.placement.node_admission import (
    admitted,
    by_label_set,
    by_label_sets,
    entries_holding,
    largest_per_entry,
    odd_rows,
)

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


def _host(operator: str, *names: str) -> NodeSelectorRequirement:
    return NodeSelectorRequirement("kubernetes.io/hostname", operator, names)


def _named(operator: str, name: str) -> NodeSelectorRequirement:
    return NodeSelectorRequirement("metadata.name", operator, (name,))


NAMED = [
    pytest.param(_requiring(_host("In", "n2", "w1")), id="hostnames In: the named rows are set apart"),
    pytest.param(_requiring(_host("NotIn", "n3")), id="hostname NotIn: the one refused row is set apart"),
    pytest.param(_requiring(_named("NotIn", "w2"), fields=True), id="matchFields NotIn"),
    pytest.param(_requiring(_host("Gt", "0")), id="hostname Gt: no hostname parses, every row refused"),
    pytest.param(
        replace(
            task().cpu("1").build(),
            node_affinity=NodeAffinity(
                required=(
                    NodeSelectorTerm((NodeSelectorRequirement(RACK, "Gt", ("3",)),)),
                    NodeSelectorTerm(match_fields=(_named("In", "n1"),)),
                )
            ),
        ),
        id="a label term ORed with a name term",
    ),
    pytest.param(
        replace(
            _requiring(NodeSelectorRequirement(RACK, "In", ("1", "2", "9")), _host("NotIn", "n1")),
            node_selector={"kubernetes.io/hostname": "n2"},
        ),
        id="a hostname nodeSelector with a term of a label and a name",
    ),
    pytest.param(replace(task().cpu("1").build(), node_name="w2"), id="nodeName"),
]


@pytest.mark.parametrize("few", [pytest.param(4096, id="few rows set apart"), pytest.param(0, id="every row read")])
@pytest.mark.parametrize("demand", NAMED)
def test_entries_admitted_by_name_as_row_by_row(demand: Demand, few: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_admission, "FEW_ODD_ROWS", few)
    ctx = Context(SNAPSHOT, demand)
    assert not by_label_set(ctx)
    answer = admitted(ctx, np.arange(len(SNAPSHOT.entries.kind)))
    assert answer is not None
    e = SNAPSHOT.entries
    for entry in range(len(e.kind)):
        selected = ctx.rows_selected(e.rows[e.indptr[entry] : e.indptr[entry + 1]])
        assert selected is not None
        assert (bool(answer[0][entry]), bool(answer[1][entry])) == (bool(selected.all()), bool(selected.any()))


def _mask(*bits: int) -> np.ndarray:
    return np.array(bits, dtype=bool)


@pytest.mark.parametrize(
    ("masks", "usual", "odd"),
    [
        pytest.param([], [], [], id="no masks, no rows"),
        pytest.param([_mask(0, 1, 0, 0)], [False], [1], id="a few rows on: those"),
        pytest.param([_mask(1, 1, 0, 1)], [True], [2], id="a few rows off: those"),
        pytest.param([_mask(0, 1, 0, 0), _mask(1, 1, 1, 0)], [False, True], [1, 3], id="the rows of every mask, once"),
        pytest.param([_mask(1, 0)], [False], [0], id="a tie reads as off"),
    ],
)
def test_odd_rows_are_those_differing_from_each_masks_usual_value(
    masks: list[np.ndarray], usual: list[bool], odd: list[int]
) -> None:
    found_usual, found_odd = odd_rows(masks)
    assert found_usual == usual
    assert found_odd.tolist() == odd


def test_entries_holding_rows_are_found_among_their_clusters_entries() -> None:
    e = SNAPSHOT.entries
    owner = {int(r): entry for entry in range(len(e.kind)) for r in e.rows[e.indptr[entry] : e.indptr[entry + 1]]}
    for rows in ([], [int(e.rows[0])], [int(r) for r in e.rows[::2]], [int(r) for r in e.rows]):
        found = entries_holding(SNAPSHOT, np.array(rows, dtype=np.int64))
        assert found.tolist() == sorted({owner[r] for r in rows})


@pytest.mark.parametrize(
    ("indptr", "label_sets", "ok", "every", "some"),
    [
        pytest.param([0, 2, 3], [0, 1, 1], [True, True], [True, True], [True, True], id="every set ok"),
        pytest.param([0, 2, 3], [0, 1, 1], [True, False], [False, False], [True, False], id="a set refused"),
        pytest.param([0, 1, 1, 2], [0, 1], [False, True], [False, True, True], [False, False, True], id="empty entry"),
        pytest.param(
            [0, 3, 4], [1, 1, 0, 0], [False, True], [False, False], [True, False], id="a set repeated per row"
        ),
        pytest.param([0], [], [True], [], [], id="no entries"),
    ],
)
def test_by_label_sets_counts_each_entrys_ok_sets(
    indptr: list[int], label_sets: list[int], ok: list[bool], every: list[bool], some: list[bool]
) -> None:
    found = by_label_sets(
        np.array(indptr, dtype=np.int64), np.array(label_sets, dtype=np.int64), np.array(ok, dtype=bool)
    )
    assert (found[0].tolist(), found[1].tolist()) == (every, some)


def test_verdicts_on_one_snapshot_are_answered_from_its_entries_label_sets() -> None:
    snapshot = pool(
        identifier("east").nodes(*(node(f"n{i}").cpu("8").memory("16Gi").label(RACK, str(i)) for i in range(1, 5)))
    )
    first = admitted(Context(snapshot, _rack("Gt", "2")), np.arange(len(snapshot.entries.kind)))
    second = admitted(Context(snapshot, _rack("Lt", "2")), np.arange(len(snapshot.entries.kind)))
    none = admitted(Context(snapshot, _rack("In", "7")), np.arange(len(snapshot.entries.kind)))
    assert first is not None
    assert second is not None
    assert none is not None
    assert (first[0].tolist(), first[1].tolist()) == ([False], [True])
    assert (second[0].tolist(), second[1].tolist()) == ([False], [True])
    assert (none[0].tolist(), none[1].tolist()) == ([False], [False])
    again = admitted(Context(snapshot, _rack("Gt", "2")), np.arange(len(snapshot.entries.kind)))
    assert again is not None
    assert (again[0].tolist(), again[1].tolist()) == ([False], [True])


@pytest.mark.parametrize(
    "weights",
    [
        pytest.param({}, id="no label set weighs anything: 0"),
        pytest.param({"2": 5, "9": 7}, id="each entry its heaviest rack"),
        pytest.param({"1": 3, "2": 3, "3": 3, "4": 3, "9": 1}, id="ties"),
    ],
)
def test_largest_per_entry_is_the_heaviest_label_set_of_its_nodes(weights: dict[str, int]) -> None:
    snapshot = pool(
        identifier("east").nodes(*(node(f"n{i}").cpu("8").memory("16Gi").label(RACK, str(i)) for i in range(1, 5))),
        identifier("west").nodes(*(node(f"w{i}").cpu("8").memory("16Gi").label(RACK, "9") for i in range(1, 3))),
    )
    maps = snapshot.vocabulary.label_maps
    table = np.array([weights.get(m.get(RACK, ""), 0) for m in maps], dtype=np.int64)
    found = largest_per_entry(snapshot, table)
    e = snapshot.entries
    for entry in range(len(e.kind)):
        rows = e.rows[e.indptr[entry] : e.indptr[entry + 1]]
        assert found[entry] == max(int(table[snapshot.nodes.labels[r]]) for r in rows)


@pytest.mark.parametrize(
    "demand",
    [
        pytest.param(_rack("Gt", "2"), id="a label requirement"),
        pytest.param(replace(task().cpu("1").build(), node_selector={RACK: "9"}), id="a nodeSelector"),
        pytest.param(_requiring(_host("In", "n2", "w1")), id="hostnames"),
    ],
)
def test_a_few_entries_are_answered_alone_as_row_by_row(demand: Demand, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_admission, "FEW_ENTRIES", 1)
    snapshot = pool(
        identifier("east").nodes(*(node(f"n{i}").cpu("8").memory("16Gi").label(RACK, str(i)) for i in range(1, 5))),
        identifier("west").nodes(*(node(f"w{i}").cpu("8").memory("16Gi").label(RACK, "9") for i in range(1, 3))),
    )
    e = snapshot.entries
    for entry in range(len(e.kind)):
        ctx = Context(snapshot, demand)
        answer = admitted(ctx, np.array([entry], dtype=np.int64))
        assert answer is not None
        assert "_admitted" not in ctx.__dict__  # answered for this entry alone
        selected = ctx.rows_selected(e.rows[e.indptr[entry] : e.indptr[entry + 1]])
        assert selected is not None
        assert (bool(answer[0][0]), bool(answer[1][0])) == (bool(selected.all()), bool(selected.any()))


def test_the_entries_carrying_each_label_set_are_kept_without_the_snapshots_tables() -> None:
    snapshot = pool(
        identifier("east").nodes(*(node(f"n{i}").cpu("8").memory("16Gi").label(RACK, str(i)) for i in range(1, 5))),
        identifier("west").nodes(*(node(f"w{i}").cpu("8").memory("16Gi").label(RACK, "9") for i in range(1, 3))),
    )
    decision = place(snapshot, replace(task().cpu("1").build(), node_selector={RACK: "9"}))
    assert decision.chosen is not None
    assert decision.chosen.identifier == "west"
    kept = [key for key, _ in node_selector._HOLDERS]
    assert any(key is snapshot.entries.label_sets for key in kept)  # matched by the array's identity
    assert all(isinstance(key, np.ndarray) for key in kept)  # not the whole entry table of an old snapshot
