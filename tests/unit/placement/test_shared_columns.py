"""What snapshots share with the builder to save memory, and that sharing never changes a snapshot."""

from __future__ import annotations

import numpy as np
import pytest

from computenet.placement import Snapshot, SnapshotBuilder

from .builders import H100, builder_of, identifier, node


def _rows(b: SnapshotBuilder) -> dict[str, int]:
    nodes = b.snapshot().nodes
    return {name: row for row, name in enumerate(nodes.names) if name}


def test_a_snapshot_keeps_its_node_columns_when_nodes_change_after_it() -> None:
    b = builder_of(identifier("p").nodes(node("n1").gpus(8, H100), node("n2").cpu("8"), node("n3").cpu("8")))
    first = b.snapshot()
    row = _rows(b)
    columns = {k: getattr(first.nodes, k).copy() for k in ("cluster", "kind", "schedulable", "cpu_alloc", "pods_alloc")}
    names = first.nodes.names
    b.upsert_node("p", node("n1").gpus(8, H100).cordoned().build())
    b.upsert_node("p", node("n2").cpu("16").pods(10).build())
    b.remove_node("p", "n3")
    b.upsert_node("p", node("n4").cpu("4").build())  # takes the row n3 left
    second = b.snapshot()
    for k, before in columns.items():
        assert getattr(first.nodes, k).tolist() == before.tolist(), k
    assert first.nodes.names == names == ("n1", "n2", "n3")
    assert second.nodes.names == ("n1", "n2", "n4")
    assert second.nodes.schedulable[row["n1"]] == 0
    assert second.nodes.cpu_alloc[row["n2"]] == 16000
    assert second.nodes.pods_alloc[row["n2"]] == 10
    assert first.capacity("p").schedulable_nodes == 3
    assert second.capacity("p").schedulable_nodes == 2


def test_static_columns_are_views_of_one_table_not_copies() -> None:
    b = builder_of(identifier("p").nodes(node("n1").cpu("8"), node("n2").cpu("8")))
    nodes = b.snapshot().nodes
    table = nodes.kind.base
    assert isinstance(table, np.ndarray)
    assert all(getattr(nodes, k).base is table for k in ("cluster", "labels", "schedulable", "cpu_alloc", "pods_alloc"))
    assert all(not getattr(nodes, k).flags.writeable for k in ("cluster", "kind", "pods_alloc"))
    assert all(getattr(nodes, k).flags.c_contiguous for k in ("cluster", "memory_alloc", "acc_alloc"))


def test_hostnames_are_the_names_until_one_differs() -> None:
    b = builder_of(identifier("p").nodes(node("n1").cpu("8"), node("n2").cpu("8")))
    first = b.snapshot()
    assert first.nodes.hostnames is first.nodes.names
    b.upsert_node("p", node("n2").cpu("8").label("kubernetes.io/hostname", "host-2").build())
    second = b.snapshot()
    assert second.nodes.hostnames == ("n1", "host-2")
    assert second.nodes.names == ("n1", "n2")
    assert first.nodes.hostnames == ("n1", "n2")
    b.remove_node("p", "n2")
    assert b.snapshot().nodes.hostnames == ("n1", "")


def test_a_full_node_counts_as_fully_requested_only_if_it_reports_pod_slots() -> None:
    b = builder_of(identifier("p").nodes(node("limited").cpu("8").pods(2), node("open").cpu("8")))
    b.set_requested("p", "limited", {"cpu": 1000, "pods": 2})
    b.set_requested("p", "open", {"cpu": 1000, "pods": 2})
    assert b.snapshot().capacity("p").free["cpu"] == 7000  # only "open" has cpu left to offer
    b.upsert_node("p", node("limited").cpu("8").build())  # no longer reports pods: no limit
    b.set_requested("p", "limited", {"cpu": 1000, "pods": 2})
    assert b.snapshot().capacity("p").free["cpu"] == 14000


def test_whole_cluster_and_selected_identifiers_follow_their_nodes() -> None:
    b = builder_of(
        identifier("all", cluster="c"),
        identifier("gpu", cluster="c").selector(pool="gpu"),
        clusters={"c": [node("n1").cpu("8"), node("n2").gpus(8, H100).label("pool", "gpu")]},
    )
    first = b.snapshot()
    assert (first.capacity("all").nodes, first.capacity("gpu").nodes) == (2, 1)
    b.upsert_node("c", node("n3").gpus(8, H100).label("pool", "gpu").build())
    b.remove_node("c", "n1")
    second = b.snapshot()
    assert (second.capacity("all").nodes, second.capacity("gpu").nodes) == (2, 2)
    rows = _rows(b)
    assert sorted(second.node_rows("all").tolist()) == sorted([rows["n2"], rows["n3"]])
    assert np.array_equal(np.sort(second.node_rows("gpu")), np.sort(second.node_rows("all")))
    assert (first.capacity("all").nodes, first.capacity("gpu").nodes) == (2, 1)


def test_free_amounts_of_a_snapshot_survive_later_changes_and_folds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("computenet.placement.store.MIN_PATCH", 2)
    b = builder_of(identifier("p").nodes(*(node(f"n{i}").cpu("8") for i in range(40))))
    total = 40 * 8000

    def free_cpu(snapshot: Snapshot) -> int:  # read from the node columns: summaries are computed once
        return int(snapshot.nodes.free_amounts(np.arange(40, dtype=np.int64))[:, 1].sum())

    first = b.snapshot()
    b.add_requested("p", "n0", {"cpu": 1000})
    second = b.snapshot()
    for i in range(10):  # more than the patch may hold: folded into a table of the store's own
        b.set_requested("p", f"n{i}", {"cpu": 2000})
    third = b.snapshot()
    b.add_requested("p", "n0", {"cpu": 500})
    b.remove_node("p", "n39")
    fourth = b.snapshot()
    assert free_cpu(first) == total
    assert free_cpu(second) == total - 1000
    assert free_cpu(third) == total - 20000
    assert free_cpu(fourth) == total - 20500 - 8000
    assert len(second.nodes.patch_rows) == 1
    assert len(third.nodes.patch_rows) == 0
    assert not any(s.nodes.base_free.flags.writeable for s in (first, second, third, fourth))


def test_nodes_are_found_by_cluster_and_name_through_removals() -> None:
    b = builder_of(identifier("a").nodes(node("n1"), node("n2")), identifier("b").nodes(node("n1")))
    b.remove_node("a", "n1")
    b.set_requested("b", "n1", {"cpu": 1000})  # the same name in another cluster is still there
    with pytest.raises(KeyError, match="unknown node a/n1"):
        b.set_requested("a", "n1", {"cpu": 1000})
    b.upsert_node("a", node("n1").build())
    b.upsert_node("a", node("n3").build())
    snap = b.snapshot()
    assert sorted(snap.nodes.names[r] for r in snap.node_rows("a").tolist()) == ["n1", "n2", "n3"]
    assert [snap.nodes.names[r] for r in snap.node_rows("b").tolist()] == ["n1"]
    assert snap.capacity("b").free["cpu"] == 31000
    b.remove_cluster("a")
    snap = b.snapshot()
    assert (snap.capacity("a").nodes, snap.capacity("b").nodes) == (0, 1)
    assert [name for name in snap.nodes.names if name] == ["n1"]
