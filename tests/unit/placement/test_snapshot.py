"""The snapshot builder: incremental, cheap when little changed, never mutating a handed-out snapshot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from computenet.placement import Identifier, Selector, SnapshotBuilder, place

from .builders import A100, H100, builder_of, identifier, node, task


def test_nothing_changed_returns_the_same_snapshot() -> None:
    b = builder_of(identifier("p").nodes(node("n1").gpus(8, H100)))
    first = b.snapshot()
    b.upsert_node("p", node("n1").gpus(8, H100).build())  # identical facts
    assert b.snapshot() is first


def test_requested_change_shares_everything_but_free_amounts() -> None:
    b = builder_of(identifier("p").nodes(node("n1").gpus(8, H100), node("n2").gpus(8, H100)), identifier("q"))
    before = b.snapshot()
    b.add_requested("p", "n1", {"nvidia.com/gpu": 3, "cpu": 1000})
    after = b.snapshot()
    assert after.generation == before.generation + 1
    assert after.nodes.kind is before.nodes.kind
    assert after.entries.rows is before.entries.rows
    assert after.table is before.table
    assert after.capacity("p").accelerators[0].free == 13
    assert before.capacity("p").accelerators[0].free == 16
    assert after.nodes.base_free is before.nodes.base_free
    assert after.nodes.patch_rows.tolist() == [0]
    assert not before.nodes.base_free.flags.writeable


def test_many_changes_fold_the_patch_into_a_new_base(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("computenet.placement.store.MIN_PATCH", 2)
    b = builder_of(identifier("p").nodes(*(node(f"n{i}").cpu("8") for i in range(40))))
    first = b.snapshot()
    b.add_requested("p", "n1", {"cpu": 1000})
    patched = b.snapshot()
    for i in range(3):
        b.add_requested("p", f"n{i}", {"cpu": 1000})
    folded = b.snapshot()
    assert len(patched.nodes.patch_rows) == 1
    assert len(folded.nodes.patch_rows) == 0
    assert folded.nodes.base_free is not first.nodes.base_free
    assert folded.capacity("p").free["cpu"] == 40 * 8000 - 4000
    assert patched.capacity("p").free["cpu"] == 40 * 8000 - 1000


def test_capacity_reports_largest_slot_and_nodes_by_free_devices() -> None:
    b = builder_of(
        identifier("p").nodes(
            node("n1").gpus(8, H100).used(gpus=6),
            node("n2").gpus(8, H100).used(gpus=3),
            node("n3").gpus(8, A100),
            node("n4").gpus(8, H100).cordoned(),
        )
    )
    capacity = b.snapshot().capacity("p")
    assert (capacity.nodes, capacity.schedulable_nodes) == (4, 3)
    h100 = next(m for m in capacity.accelerators if m.model == H100)
    assert (h100.resource, h100.allocatable, h100.free, h100.largest_free_slot) == (
        "nvidia.com/gpu",
        16,
        7,
        5,
    )
    assert h100.nodes_by_free == (2, 2, 1, 1, 1, 0, 0, 0)
    assert {m.model for m in capacity.accelerators} == {H100, A100}


def test_relabelled_node_moves_between_partitions() -> None:
    b = builder_of(
        identifier("a-h100", cluster="a").selector(pool="h100"),
        identifier("a-rest", cluster="a").selector(pool="rest"),
        clusters={"a": [node("n1").gpus(8, H100).label("pool", "h100")]},
    )
    assert place(b.snapshot(), task().gpus(8, H100).build()).chosen.identifier == "a-h100"  # type: ignore[union-attr]
    b.upsert_node("a", node("n1").gpus(8, H100).label("pool", "rest").build())
    assert place(b.snapshot(), task().gpus(8, H100).build()).chosen.identifier == "a-rest"  # type: ignore[union-attr]


def test_identifier_added_after_its_nodes_finds_them() -> None:
    b = SnapshotBuilder()
    b.upsert_node("late", node("n1").cpu("8").build())
    b.snapshot()
    b.upsert_identifier(Identifier("late", "late"))
    assert b.snapshot().capacity("late").schedulable_nodes == 1


def test_removing_nodes_clusters_and_identifiers() -> None:
    b = builder_of(
        identifier("p").nodes(node("n1").cpu("8"), node("n2").cpu("8")),
        identifier("q").nodes(node("m").cpu("8")),
    )
    b.remove_node("p", "n1")
    assert b.snapshot().capacity("p").nodes == 1
    b.remove_cluster("p")
    assert b.snapshot().capacity("p").nodes == 0
    b.remove_identifier("q")
    assert [i.name for i in b.snapshot().identifiers] == ["p"]


def test_set_requested_is_absolute_and_unknown_nodes_are_an_error() -> None:
    b = builder_of(identifier("p").nodes(node("n1").cpu("8").memory("64Gi")))
    b.set_requested("p", "n1", {"cpu": 6000})
    b.set_requested("p", "n1", {"cpu": 2000})
    assert b.snapshot().capacity("p").free["cpu"] == 6000
    with pytest.raises(KeyError, match="unknown node p/nope"):
        b.set_requested("p", "nope", {"cpu": 1})


def test_identifier_attribute_change_updates_only_the_table() -> None:
    b = builder_of(identifier("p").nodes(node("n1").cpu("8")))
    before = b.snapshot()
    b.upsert_identifier(Identifier("p", "p", ready=False, not_ready_reason="MemberUnreachable"))
    after = b.snapshot()
    assert after.entries is before.entries
    assert place(after, task().cpu("1").build()).rejections["p"].message == "identifier is not Ready: MemberUnreachable"


@dataclass(frozen=True)
class MemberTaint:
    key: str
    value: str
    effect: str


@dataclass(frozen=True)
class MemberNode:
    """The member layer's own record shape: placement reads it without conversion."""

    name: str
    labels: dict[str, str]
    allocatable: dict[str, int]
    taints: tuple[MemberTaint, ...]
    ready: bool
    unschedulable: bool


def test_builder_accepts_the_member_layers_node_records() -> None:
    b = SnapshotBuilder()
    b.upsert_identifier(Identifier("m", "m"))
    record = MemberNode(
        "n1",
        {"nvidia.com/gpu.product": H100},
        {"cpu": 64000, "memory": 2**38, "nvidia.com/gpu": 8},
        (MemberTaint("nvidia.com/gpu", "", "NoSchedule"),),
        True,
        False,
    )
    b.upsert_node("m", record, {"nvidia.com/gpu": 2})
    decision = place(b.snapshot(), task().gpus(6, H100).build())
    assert decision.chosen is not None
    assert decision.assignment[0].node == "n1"


def test_partition_by_a_selector_with_match_expressions() -> None:
    b = SnapshotBuilder()
    b.upsert_identifier(Identifier("big-gpus", "c", node_selector=Selector.of(None, [("gpu", "In", ["h100", "h200"])])))
    b.upsert_identifier(Identifier("no-gpus", "c", node_selector=Selector.of(None, [("gpu", "DoesNotExist", [])])))
    for name, gpu in (("n1", "h100"), ("n2", "h200"), ("n3", "l4"), ("n4", None)):
        builder = node(name).cpu("8")
        b.upsert_node("c", (builder.label("gpu", gpu) if gpu else builder).build())
    snap = b.snapshot()
    assert snap.capacity("big-gpus").nodes == 2
    assert snap.capacity("no-gpus").nodes == 1


def test_pool_indices_are_sorted_members_here_and_remembered_for_a_few_pools() -> None:
    names = [f"n{i:02d}" for i in range(40)]
    snapshot = builder_of(*(identifier(name) for name in reversed(names))).snapshot()
    pool = frozenset({*names[20:], "gone"})  # a member this snapshot does not know is left out
    found = snapshot.indices(pool)
    assert [snapshot.identifiers[i].name for i in found.tolist()] == names[20:]
    assert snapshot.indices(frozenset({"gone", *names[20:]})) is found  # an equal set: the same answer
    assert not found.flags.writeable
    for k in range(8):
        snapshot.indices(frozenset(names[k : k + 20]))
    assert snapshot.indices(pool) is not found  # forgotten after eight other pools, then computed again
    assert snapshot.indices(pool).tolist() == found.tolist()
    assert snapshot.indices(frozenset()).tolist() == []


def test_a_few_names_are_looked_up_each_time_and_take_no_pools_place() -> None:
    names = [f"n{i:02d}" for i in range(40)]
    snapshot = builder_of(*(identifier(name) for name in names)).snapshot()
    pool = frozenset(names[:20])
    found = snapshot.indices(pool)
    for k in range(20):
        assert snapshot.indices(frozenset({names[k + 1], names[k], "gone"})).tolist() == [k, k + 1]
    assert snapshot.indices(pool) is found


@pytest.mark.parametrize(
    ("requested", "rows", "expected"),
    [
        pytest.param({}, [1, 0], [8, 8], id="the base's free devices, in the order asked"),
        pytest.param({"n1": 3}, [0, 1, 0], [5, 8, 5], id="a patched row reads its patch"),
        pytest.param({"n2": 8}, [1], [0], id="a row the patch holds alone"),
        pytest.param({"n1": 1}, [], [], id="no rows"),
        pytest.param({"n1": 2, "n2": 6}, [0, 0, 1], [6, 6, 2], id="ascending rows, a row asked twice"),
        pytest.param({"n1": 2, "n2": 6}, [1, 0, 1], [2, 6, 2], id="rows in any order"),
    ],
)
def test_free_devices_read_the_device_column_as_free_amounts_do(
    requested: dict[str, int], rows: list[int], expected: list[int]
) -> None:
    b = builder_of(identifier("p").nodes(node("n1").gpus(8, H100), node("n2").gpus(8, H100)))
    b.snapshot()
    for name, gpus in requested.items():
        b.add_requested("p", name, {"nvidia.com/gpu": gpus})
    nodes = b.snapshot().nodes
    asked = np.array(rows, dtype=np.int64)
    assert nodes.free_devices(asked).tolist() == expected
    assert nodes.free_devices(asked).tolist() == nodes.free_amounts(asked)[:, 0].tolist()
