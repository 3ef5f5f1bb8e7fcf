"""Extended resources served by DRA devices (KEP-5004, DRAExtendedResource, beta in Kubernetes 1.36).

A DeviceClass with ``extendedResourceName: nvidia.com/gpu`` lets a pod's plain ``nvidia.com/gpu: N``
request be served by N devices of the class on a node whose allocatable lacks ``nvidia.com/gpu``;
on a node whose allocatable has it, the device plugin serves it and the DRA devices are never
counted too (kueue#9868). The cases follow kube-scheduler v1.36.3's own tests:
``pkg/scheduler/framework/plugins/dynamicresources/extendeddynamicresources_test.go``
(``Test_createRequestsAndMappings_requests``: how many devices a pod's requests take) and
``noderesources/fit_test.go`` (a node with the resource in its allocatable is the device plugin's).
"""

from __future__ import annotations

from typing import Any

import pytest

from computenet.api.pod_reservation import effective_requests
from computenet.members.capacity import summarize
from computenet.members.facts import NodeFacts
from computenet.placement import Assumptions, Demand, place
from computenet.placement.devices import (
    DeviceClass,
    NodeDevices,
    ServedDevices,
    extended_resource_classes,
    served_accelerator,
)
from computenet.placement.dra_cel import DeviceShape
from placement.builders import (
    H100,
    L4,
    IdentifierBuilder,
    NodeBuilder,
    identifier,
    node,
    pool,
    request,
    selectors,
    task,
)

DRV = "gpu.example.com"
NIC = "nic.example.com"
GPU = "nvidia.com/gpu"


def gpu_class(name: str = "gpu", extended: str | None = GPU, *expressions: str) -> DeviceClass:
    return DeviceClass(name, selectors(*(expressions or (f'device.driver == "{DRV}"',))), "", extended)


SERVED = extended_resource_classes([gpu_class(), gpu_class("nic", None, f'device.driver == "{NIC}"')])


def devices(model: str = H100, total: int = 8, free: int | None = None, driver: str = DRV) -> NodeDevices:
    return NodeDevices(driver, model, total, total if free is None else free, DeviceShape(driver))


# ---- which nodes the rule applies to, and how many devices it counts ----


@pytest.mark.parametrize(
    ("published", "allocatable", "served", "expected"),
    [
        pytest.param(
            (devices(free=6),),
            {"cpu": 8000},
            SERVED,
            ServedDevices(GPU, "gpu", H100, 8, 6, DRV),
            id="a node without the resource: the class's devices serve it",
        ),
        pytest.param(
            (devices(),),
            {GPU: 8},
            SERVED,
            None,
            id="a node whose allocatable has it: the device plugin's, its DRA devices are not counted again",
        ),
        pytest.param(
            (devices(),),
            {GPU: 0},
            SERVED,
            ServedDevices(GPU, "gpu", H100, 8, 8, DRV),
            id="an allocatable of zero is no device plugin: DRA serves it",
        ),
        pytest.param(
            (devices(),),
            {},
            extended_resource_classes([gpu_class(extended=None)]),
            None,
            id="a class without extendedResourceName serves only its implicit name, which no task asks for",
        ),
        pytest.param(
            (devices(driver=NIC),),
            {},
            SERVED,
            None,
            id="devices the serving class does not admit serve nothing",
        ),
        pytest.param(
            (devices(H100, 4, 4), devices(L4, 2, 1), devices(driver=NIC, total=2)),
            {},
            SERVED,
            ServedDevices(GPU, "gpu", "", 6, 5, DRV),
            id="devices of several models: counted together, of no one model",
        ),
        pytest.param((), {}, SERVED, None, id="no devices published"),
    ],
)
def test_which_nodes_dra_serves_an_extended_resource_on(
    published: tuple[NodeDevices, ...],
    allocatable: dict[str, int],
    served: dict[str, DeviceClass],
    expected: ServedDevices | None,
) -> None:
    assert served_accelerator(published, allocatable, served) == expected


def test_of_two_served_resources_a_node_offers_the_one_with_more_devices() -> None:
    fpga = gpu_class("fpga", "example.com/fpga", f'device.driver == "{NIC}"')
    served = extended_resource_classes([gpu_class(), fpga])
    found = served_accelerator((devices(total=2), devices(driver=NIC, total=4)), {}, served)
    assert found is not None
    assert (found.resource, found.total) == ("example.com/fpga", 4)


def _pod(*containers: tuple[str, dict[str, str]]) -> dict[str, Any]:
    """A pod spec: ("init" | "sidecar" | "main", requests) per container, in order."""
    spec: dict[str, Any] = {"initContainers": [], "containers": []}
    for i, (kind, requests) in enumerate(containers):
        c: dict[str, Any] = {"name": f"c{i}", "resources": {"requests": requests}}
        if kind == "sidecar":
            c["restartPolicy"] = "Always"
        spec["containers" if kind == "main" else "initContainers"].append(c)
    return spec


R, R1, RINIT = "example.com/gpu", "example.com/gpu1", "example.com/gpuinit"


@pytest.mark.parametrize(
    ("spec", "devices_per_resource"),
    [
        pytest.param(_pod(("main", {R: "1", R1: "2"})), {R: 1, R1: 2}, id="two resources match: one request each"),
        pytest.param(_pod(("main", {R: "1"}), ("main", {R1: "2"})), {R: 1, R1: 2}, id="two containers match"),
        pytest.param(
            _pod(("init", {RINIT: "2"}), ("main", {R: "1"})),
            {R: 1, RINIT: 2},
            id="one init container, one regular container",
        ),
        pytest.param(
            _pod(("init", {RINIT: "1"}), ("init", {RINIT: "2"}), ("main", {R: "1"})),
            {R: 1, RINIT: 2},
            id="two init containers: the larger request serves both",
        ),
        pytest.param(
            _pod(("init", {RINIT: "1"}), ("sidecar", {RINIT: "1"}), ("init", {RINIT: "2"}), ("main", {R: "1"})),
            {R: 1, RINIT: 3},
            id="an init container after a sidecar needs its devices beside the sidecar's",
        ),
    ],
)
def test_a_pods_requests_take_as_many_devices_as_its_effective_request(
    spec: dict[str, Any], devices_per_resource: dict[str, int]
) -> None:
    """Upstream's extended-resource claim asks, summed over its requests, the pod's effective request.

    The expected totals are the counts of upstream's expected device requests
    (``Test_createRequestsAndMappings_requests``, v1.36.3): ``three init containers, one sidecar,
    one regular container`` wants the sidecar's 1 and the last init container's 2.
    """
    effective = effective_requests(spec)
    assert {name: effective[name] for name in devices_per_resource} == devices_per_resource


# ---- placement fit ----


def member(*nodes: NodeBuilder, name: str = "m1") -> IdentifierBuilder:
    return identifier(name).dra({"gpu": DRV, "nic": NIC}, serving={"gpu": GPU}).nodes(*nodes)


def dra_node(name: str, total: int = 8, free: int | None = None, model: str = H100) -> NodeBuilder:
    return node(name).cpu("64").memory("512Gi").dra(DRV, total, free=free, model=model)


def wants(count: int, *models: str, replicas: int = 1, uid: str = "t1") -> Demand:
    return task(uid).cpu("1").memory("1Gi").gpus(count, *models, vendor="nvidia").replicas(replicas).build()


@pytest.mark.parametrize(
    ("members", "demand", "nodes"),
    [
        pytest.param(
            [member(dra_node("dra-1"))],
            wants(8, H100),
            {"dra-1": 1},
            id="nvidia.com/gpu x8 lands on a node whose GPUs only DRA publishes",
        ),
        pytest.param(
            [member(dra_node("dra-1", free=2), dra_node("dra-2", free=5))],
            wants(4),
            {"dra-2": 1},
            id="only the class's free devices count: claimed ones are taken",
        ),
        pytest.param(
            [member(dra_node("dra-1", free=4), dra_node("dra-2", free=4))],
            wants(4, replicas=2),
            {"dra-1": 1, "dra-2": 1},
            id="a gang over DRA-served nodes",
        ),
        pytest.param(
            [member(dra_node("dra-1"), node("plugin-1").cpu("64").memory("512Gi").gpus(8, H100))],
            wants(8, replicas=2),
            {"dra-1": 1, "plugin-1": 1},
            id="a gang over a DRA-served node and a device plugin's node of the same model",
        ),
    ],
)
def test_an_extended_resource_request_fits_on_dra_devices(
    members: list[IdentifierBuilder], demand: Demand, nodes: dict[str, int]
) -> None:
    decision = place(pool(*members), demand)
    assert decision.chosen is not None, decision.summary
    assert {s.node: s.replicas for s in decision.assignment} == nodes
    assert decision.device_class == "gpu"


@pytest.mark.parametrize(
    ("members", "demand", "reason", "message"),
    [
        pytest.param(
            [member(dra_node("dra-1", free=3))],
            wants(4),
            "InsufficientResource",
            f"3 {GPU} ({H100}) free in total on 1 suitable node, the task needs 4; {GPU} is served by DRA devices "
            "of DeviceClass gpu on 1 node",
            id="fewer free devices than a replica asks, and why says which class serves them",
        ),
        pytest.param(
            [member(node("both").cpu("64").memory("512Gi").gpus(8, H100).dra(DRV, 8, model=H100))],
            wants(9),
            "InsufficientResource",
            f"8 {GPU} ({H100}) free in total on 1 suitable node, the task needs 9",
            id="kueue#9868: GPUs in allocatable and as DRA devices are 8, not 16",
        ),
        pytest.param(
            [member(dra_node("mixed", 4, model=L4))],
            wants(1, H100),
            "AcceleratorMismatch",
            "its schedulable nodes offer NVIDIA-L4",
            id="a model the devices are not is not offered",
        ),
        pytest.param(
            [identifier("m1").dra({"gpu": DRV}).nodes(dra_node("dra-1"))],
            wants(1),
            "AcceleratorMismatch",
            "its schedulable nodes offer no accelerators",
            id="a class without extendedResourceName: no nvidia.com/gpu anywhere",
        ),
    ],
)
def test_an_extended_resource_request_that_does_not_fit_says_why(
    members: list[IdentifierBuilder], demand: Demand, reason: str, message: str | None
) -> None:
    decision = place(pool(*members), demand)
    assert decision.chosen is None
    rejection = decision.rejections["m1"]
    assert rejection.reason == reason, rejection
    if message is not None:
        assert rejection.message == message


def test_a_device_plugin_node_is_placed_as_before() -> None:
    both = member(node("both").cpu("64").memory("512Gi").gpus(8, H100).dra(DRV, 8, model=H100))
    decision = place(pool(both), wants(8))
    assert decision.chosen is not None
    assert decision.device_class is None
    assert decision.assignment[0].devices == ()


def test_the_identifier_status_and_placement_count_the_same_free_devices() -> None:
    """Capacity (the identifier's status) and placement read one node alike: 5 of 8 free, once."""
    facts = [
        NodeFacts("dra-1", {}, {}, {"cpu": 64000, "pods": 110}, (), True, False, (devices(H100, 8, 5),)),
        NodeFacts("both", {"nvidia.com/gpu.product": H100}, {}, {GPU: 8, "pods": 110}, (), True, False, (devices(),)),
    ]
    for order in (facts, facts[::-1]):  # the rows do not depend on the order the nodes come in
        cap = summarize(order, lambda _: {}, lambda labels, _: labels.get("nvidia.com/gpu.product"), SERVED)
        rows = {k: (m.resource, m.driver, m.allocatable, m.free) for k, m in cap.accelerators.items()}
        assert rows == {H100: (GPU, "", 8, 8), f"{H100} ({DRV})": ("", DRV, 8, 5)}
        assert (cap.devices_total, cap.devices_free) == (16, 13)  # each node's 8 GPUs once
    served = served_accelerator(facts[0].devices, facts[0].allocatable, SERVED)
    assert served is not None
    assert (served.total, served.free) == (8, 5)
    assert served_accelerator(facts[1].devices, facts[1].allocatable, SERVED) is None


# ---- one set of devices, two ways to ask: assumptions hold both ----


def claiming(uid: str) -> Demand:
    return task(uid).cpu("1").claims("one-gpu").build()


def test_a_burst_mixing_both_ways_to_ask_does_not_count_a_device_twice() -> None:
    ident = identifier("m1").dra({"gpu": DRV}, {"one-gpu": (request("gpu"),)}, serving={"gpu": GPU})
    snapshot = pool(ident.nodes(dra_node("dra-1", total=3)))
    assumptions = Assumptions()
    first = place(snapshot, wants(2, uid="asks"), assumptions=assumptions)
    assert first.chosen is not None
    assert first.assignment[0].devices == ((DRV, 2),)
    assumptions.assume(first, now=0.0)
    second = place(snapshot, claiming("claims"), assumptions=assumptions)
    assert second.chosen is not None
    assert second.assignment[0].served == 1
    assumptions.assume(second, now=0.0)
    assert place(snapshot, claiming("claims-again"), assumptions=assumptions).chosen is None
    assert place(snapshot, wants(1, uid="asks-again"), assumptions=assumptions).chosen is None
    assumptions.forget("asks")
    assert place(snapshot, wants(2, uid="asks-again"), assumptions=assumptions).chosen is not None
