from __future__ import annotations

from typing import Any

import pytest

from computenet.members.capacity import Capacity, model_of, summarize
from computenet.members.facts import node_facts, pod_facts, pod_requests
from computenet.members.state import MemberState, NodeSink, PodSink
from members.builders import NodeBuilder, node, pod


def _state(nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> MemberState:
    state = MemberState()
    NodeSink(state).replace({n["metadata"]["name"]: node_facts(n) for n in nodes})
    facts = {f"default/{p['metadata']['name']}": pod_facts(p) for p in pods}
    PodSink(state).replace({k: v for k, v in facts.items() if v is not None})
    return state


def _summary(state: MemberState) -> Capacity:
    return summarize(state.nodes.values(), state.requested_on, model_of)


def test_free_and_largest_slot_are_counted_per_node() -> None:
    nodes = [node(f"n{i}").gpus(2, "NVIDIA-L4").build() for i in range(8)]
    pods = [pod("p0", "n0", gpus=1)]
    cap = _summary(_state(nodes, pods))
    l4 = cap.accelerators["NVIDIA-L4"]
    assert (l4.allocatable, l4.allocated, l4.free, l4.largest_free_slot) == (16, 1, 15, 2)
    assert cap.free["nvidia.com/gpu"] == 15
    assert cap.allocated["pods"] == 1


@pytest.mark.parametrize(
    ("builder", "schedulable"),
    [
        pytest.param(node("n").gpus(8, "NVIDIA-H100-80GB-HBM3"), 1, id="ready node offers its GPUs"),
        pytest.param(node("n").gpus(8, "NVIDIA-H100-80GB-HBM3").not_ready(), 0, id="not-ready node offers nothing"),
        pytest.param(node("n").gpus(8, "NVIDIA-H100-80GB-HBM3").cordoned(), 0, id="cordoned node offers nothing"),
    ],
)
def test_only_schedulable_nodes_have_free_capacity(builder: NodeBuilder, schedulable: int) -> None:
    cap = _summary(_state([builder.build()], []))
    h100 = cap.accelerators["NVIDIA-H100-80GB-HBM3"]
    assert cap.nodes_schedulable == schedulable
    assert h100.allocatable == 8
    assert h100.free == 8 * schedulable
    assert h100.largest_free_slot == 8 * schedulable


def test_terminated_and_unbound_pods_hold_nothing() -> None:
    nodes = [node("n0").cpu("8").build()]
    pods = [
        pod("done", "n0", cpu="4", phase="Succeeded"),
        pod("failed", "n0", cpu="4", phase="Failed"),
        pod("pending", None, cpu="4", phase="Pending"),
        pod("running", "n0", cpu="1500m"),
    ]
    cap = _summary(_state(nodes, pods))
    assert cap.allocated["cpu"] == 1500
    assert cap.free["cpu"] == 6500


def test_pod_moves_are_accounted_incrementally() -> None:
    state = _state([node("a").build(), node("b").build()], [])
    sink = PodSink(state)
    seen: list[frozenset[str] | None] = []
    state.subscribe(seen.append)
    f = pod_facts(pod("p", None, cpu="2", phase="Pending"))
    assert f is not None
    sink.upsert("default/p", f)
    bound = pod_facts(pod("p", "a", cpu="2"))
    assert bound is not None
    sink.upsert("default/p", bound)
    assert state.requested_on("a") == {"cpu": 2000, "pods": 1}
    sink.delete("default/p")
    assert state.requested_on("a") == {}
    assert seen[-1] == frozenset({"a"})


def test_gpu_limits_without_requests_count_as_requests() -> None:
    requests = pod_requests(pod("p", "n", cpu="500m", gpus=4)["spec"])
    assert requests == {"cpu": 500, "nvidia.com/gpu": 4, "pods": 1}


def test_unknown_model_is_reported_as_labelled_and_unlabelled_as_unknown() -> None:
    labelled = node("a").gpus(1, "Some-Future-GPU").build()
    unlabelled = node("b").build()
    unlabelled["status"]["allocatable"]["nvidia.com/gpu"] = "2"
    cap = _summary(_state([labelled, unlabelled], []))
    assert cap.accelerators["Some-Future-GPU"].allocatable == 1
    assert cap.accelerators["unknown"].allocatable == 2


H100 = "NVIDIA-H100-80GB-HBM3"
TIME_SLICED = {
    "nvidia.com/gpu.product": f"{H100}-SHARED",
    "nvidia.com/gpu.count": "8",
    "nvidia.com/gpu.replicas": "4",
    "nvidia.com/gpu.sharing-strategy": "time-slicing",
}
MIG_MIXED = {
    "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB",
    "nvidia.com/gpu.count": "4",
    "nvidia.com/mig.strategy": "mixed",
}


def test_slices_and_replicas_are_rows_of_their_own_and_the_device_count_is_physical() -> None:
    nodes = [
        node("whole").gpus(8, H100).build(),
        node("sliced").units("nvidia.com/gpu", 32, **TIME_SLICED).build(),
        node("mig").units("nvidia.com/mig-1g.10gb", 28, **MIG_MIXED).build(),
    ]
    pods = [pod("p0", "sliced", gpus=3)]
    cap = _summary(_state(nodes, pods))
    shared, mig = cap.accelerators[f"{H100}-SHARED"], cap.accelerators["NVIDIA-A100-SXM4-80GB-MIG-1g.10gb"]
    assert (cap.accelerators[H100].allocatable, shared.allocatable, shared.free, shared.replicas) == (8, 32, 29, 4)
    assert (mig.resource, mig.allocatable, mig.partition, mig.replicas) == ("nvidia.com/mig-1g.10gb", 28, "1g.10gb", 0)
    # 8 whole + 8 time-sliced + 4 cut into MIG slices; 3 replicas may sit on 3 different GPUs.
    assert (cap.devices_total, cap.devices_free) == (20, 17)


def test_a_cordoned_node_has_no_free_devices_behind_its_replicas() -> None:
    cap = _summary(_state([node("sliced").units("nvidia.com/gpu", 32, **TIME_SLICED).cordoned().build()], []))
    assert (cap.devices_total, cap.devices_free) == (8, 0)
