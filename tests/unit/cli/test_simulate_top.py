"""simulate and top on a saved snapshot, without a cluster: the queue's order, the waits, the sums."""

from __future__ import annotations

from typing import Any

import pytest
from placement.builders import H100, node

from computenet.api.pool import ComputePoolSpec
from computenet.cli import simulate, top, why
from computenet.cli.errors import CliError
from computenet.placement import Identifier, Pricing
from computenet.snapshot_export import SnapshotDocument, identifier_doc, node_doc, pool_doc

GIB = 1024**3


def snapshot() -> SnapshotDocument:
    idents = [
        Identifier("east", "c1", region="east", pricing=Pricing("USD", per_accelerator_hour={H100: 2.0})),
        Identifier("west", "c2", region="west", ready=False, not_ready_reason="member unreachable"),
    ]
    nodes = {
        "c1": [node(f"e{i}").gpus(8, H100).cpu("64").memory("512Gi").build() for i in range(2)],
        "c2": [node("w1").cpu("32").memory("128Gi").build()],
    }
    policy = ComputePoolSpec.model_validate({"identifierSelector": {"matchLabels": {"pool": "default"}}})
    return SnapshotDocument(
        taken="2026-11-30T12:00:00Z",
        identifiers=[identifier_doc(i) for i in idents],
        nodes={c: [node_doc(n, n.requested, None) for n in ns] for c, ns in nodes.items()},
        pools=[pool_doc("default", policy, ["east", "west"])],
    )


def ctask(name: str, gpus: int = 0, replicas: int = 1, priority: int = 0, **spec: Any) -> dict[str, Any]:
    resources: dict[str, Any] = {"cpu": "1", "memory": "1Gi"}
    if gpus:
        resources["accelerators"] = {"count": gpus}
    container = {"name": "main", "image": "busybox"}
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "priority": priority,
            "resources": resources,
            "template": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container]}}}},
            **spec,
        },
    }


def test_tasks_go_in_priority_then_file_order_and_later_ones_see_earlier_ones_resources() -> None:
    tasks = [
        ctask("second", gpus=8, priority=1),
        ctask("first", gpus=8, priority=5),
        ctask("third", gpus=8),  # both nodes are taken by then
        ctask("elsewhere", pool="missing"),
    ]
    doc = simulate.simulate(tasks, snapshot(), "research")
    got = [(t["task"], t["result"], t.get("identifier")) for t in doc["tasks"]]
    assert got == [
        ("research/first", "placed", "east"),
        ("research/second", "placed", "east"),
        ("research/third", "waits", None),
        ("research/elsewhere", "waits", None),
    ]
    assert doc["tasks"][2]["reason"].startswith("0/2 identifiers fit: ")
    assert "not Ready" in doc["tasks"][2]["reason"]
    assert doc["tasks"][3]["reason"] == "pool 'missing' does not exist: create the ComputePool or set spec.pool"
    assert doc["tasks"][0]["nodes"] != doc["tasks"][1]["nodes"]
    assert simulate.footer(doc).startswith("2 would run, 2 would wait")


def test_a_suspended_task_shows_its_offers_and_takes_nothing() -> None:
    doc = simulate.simulate(
        [ctask("look", gpus=8, suspend=True), ctask("a", gpus=8), ctask("b", gpus=8)], snapshot(), "ns"
    )
    assert [(t["task"], t["result"]) for t in doc["tasks"]] == [
        ("ns/look", "offers"),
        ("ns/a", "placed"),
        ("ns/b", "placed"),
    ]


def test_a_bad_task_is_named_with_its_field() -> None:
    bad = ctask("bad")
    bad["spec"]["replicas"] = 0
    with pytest.raises(CliError, match=r"^computetask bad: spec.replicas: "):
        simulate.simulate([bad], snapshot(), "ns")


def test_read_tasks_takes_documents_and_lists_and_refuses_a_file_without_tasks(tmp_path: Any) -> None:
    text = (
        "kind: List\nitems:\n- kind: ComputeTask\n  metadata: {name: a}\n---\nkind: ConfigMap\n---\nkind: ComputeTask\n"
    )
    assert [t["kind"] for t in simulate.read_tasks("-", text)] == ["ComputeTask", "ComputeTask"]
    with pytest.raises(CliError, match="holds no ComputeTask"):
        simulate.read_tasks("-", "kind: ConfigMap\n")


def test_top_sums_ready_identifiers_per_pool_region_and_resource() -> None:
    rows = {(r["pool"], r["region"], r["resource"]): r for r in top.top(snapshot())["rows"]}
    assert set(rows) == {("default", "east", "cpu"), ("default", "east", "memory"), ("default", "east", H100)}
    gpus = rows[("default", "east", H100)]
    assert (gpus["capacity"], gpus["allocated"], gpus["free"], gpus["largestFreeSlot"]) == (16, 0, 16, 8)
    assert rows[("default", "east", "cpu")]["capacity"] == 128.0
    assert rows[("default", "east", "memory")]["capacity"] == 1024.0


def test_why_live_asks_placement_again_for_a_waiting_task() -> None:
    waiting = ctask("big", gpus=8, replicas=3)  # 2 nodes of 8: a gang of 3 cannot fit
    waiting["metadata"]["namespace"] = "ns"
    doc = why.relive(why.explain(waiting), waiting, snapshot())
    verdicts = {row["identifier"]: (row["verdict"], row.get("filter")) for row in doc["identifiers"]}
    assert verdicts == {"east": ("rejected", "Resources"), "west": ("rejected", "Ready")}
    assert (doc["considered"], doc["fitting"]) == (2, 0)
    assert doc["live"].startswith("recomputed on the live snapshot of 2026-11-30T12:00:00+00:00: 0/2 identifiers fit")
