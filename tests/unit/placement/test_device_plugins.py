"""What a unit of a device-plugin resource is, how many physical devices stand behind units, who may have them.

The NVIDIA label sets are those NVIDIA/k8s-device-plugin v0.20.0 expects of its own labellers
(``internal/lm/resource_test.go``, ``internal/lm/mig-strategy_test.go``: MOCKMODEL, 300 MiB, 1g.100gb);
the AMD ones are from ROCm/k8s-device-plugin (``cmd/k8s-node-labeller/main_test.go``,
``docs/user-guide/configuration.md``); the others from the vendors' plugins named in docs/accelerators.md.
"""

from __future__ import annotations

import pytest

from computenet.placement import Demand, Snapshot, place
from computenet.placement.device_plugins import Unit, unit_of
from computenet.placement.node_accelerator import AcceleratorFacts, accelerator_facts
from computenet.placement.physical import PhysicalDevices, physical_devices
from computenet.placement.resources import vendor_of
from computenet.placement.slices import SliceKind, SliceRequest, offers, slice_kind, slice_resource

from .builders import A100, H100, identifier, node, pool, task

GPU = "nvidia.com/gpu"


def gfd(prefix: str = GPU, **values: str) -> dict[str, str]:
    """GPU feature discovery's labels of one resource: ``<prefix>.<key>``, ``_`` in a key spelled ``-``."""
    return {f"{prefix}.{key.replace('_', '-')}": value for key, value in values.items()}


WHOLE = gfd(count="1", replicas="1", sharing_strategy="none", memory="300", product="MOCKMODEL")
TIME_SLICED = gfd(count="1", replicas="2", sharing_strategy="time-slicing", memory="300", product="MOCKMODEL-SHARED")
MPS = gfd(count="1", replicas="2", sharing_strategy="mps", memory="300", product="MOCKMODEL-SHARED")
RENAMED = gfd(count="1", replicas="2", sharing_strategy="time-slicing", memory="300", product="MOCKMODEL")
MIG_SINGLE = {
    **gfd(count="1", replicas="1", sharing_strategy="none", memory="100", product="MOCKMODEL-MIG-1g.100gb"),
    "nvidia.com/mig.strategy": "single",
    "nvidia.com/gpu.slices.gi": "1",
}
MIG_SINGLE_INVALID = {
    **gfd(count="0", replicas="0", sharing_strategy="", memory="0", product="MOCKMODEL-MIG-INVALID"),
    "nvidia.com/mig.strategy": "single",
}
MIG_MIXED_SHARED = gfd(
    "nvidia.com/mig-1g.1gb",
    count="1",
    replicas="2",
    sharing_strategy="time-slicing",
    memory="300",
    product="MOCKMODEL-MIG-1g.300gb-SHARED",
)
MIG_MIXED_PARENT_ONLY = {
    **gfd(count="8", replicas="0", sharing_strategy="none", product="NVIDIA-A100-SXM4-80GB"),
    "nvidia.com/mig.strategy": "mixed",
}


def unit(resource: str, model: str, device: str, memory: int | None, **kind: object) -> Unit:
    return Unit(resource, vendor_of(resource) or "", model, device, memory, **kind)  # type: ignore[arg-type]


UNITS = [
    pytest.param(GPU, WHOLE, 1, unit(GPU, "MOCKMODEL", "MOCKMODEL", 300), id="GFD no sharing: a whole GPU"),
    pytest.param(
        GPU,
        TIME_SLICED,
        2,
        unit(
            GPU,
            "MOCKMODEL-SHARED",
            "MOCKMODEL",
            300,
            shared=True,
            replicas=2,
            sharing_strategy="time-slicing",
            per_device=2,
        ),
        id="GFD time-slicing: the -SHARED product is a replica, two per GPU",
    ),
    pytest.param(
        GPU,
        MPS,
        2,
        unit(GPU, "MOCKMODEL-SHARED", "MOCKMODEL", 300, shared=True, replicas=2, sharing_strategy="mps", per_device=2),
        id="GFD mps: a replica too",
    ),
    pytest.param(
        "nvidia.com/gpu.shared",
        RENAMED,
        2,
        unit(
            "nvidia.com/gpu.shared",
            "MOCKMODEL-SHARED",
            "MOCKMODEL",
            300,
            shared=True,
            replicas=2,
            sharing_strategy="time-slicing",
            per_device=2,
        ),
        id="renameByDefault keeps the product name, the .shared resource says it is a replica",
    ),
    pytest.param(
        GPU,
        MIG_SINGLE,
        1,
        unit(GPU, "MOCKMODEL-MIG-1g.100gb", "MOCKMODEL", 100, partition="1g.100gb", per_device=7),
        id="GFD MIG single: nvidia.com/gpu is the slice, its own model and memory",
    ),
    pytest.param(
        GPU,
        MIG_SINGLE_INVALID,
        0,
        unit(GPU, "MOCKMODEL-MIG-INVALID", "MOCKMODEL", None, partition="INVALID", per_device=0),
        id="GFD MIG-INVALID is no whole GPU",
    ),
    pytest.param(
        "nvidia.com/mig-1g.1gb",
        MIG_MIXED_SHARED,
        1,
        unit(
            "nvidia.com/mig-1g.1gb",
            "MOCKMODEL-MIG-1g.1gb-SHARED",
            "MOCKMODEL",
            300,
            partition="1g.1gb",
            shared=True,
            replicas=2,
            sharing_strategy="time-slicing",
            per_device=14,
        ),
        id="GFD MIG mixed, time-sliced: a shared slice",
    ),
    pytest.param(
        "nvidia.com/mig-1g.10gb",
        MIG_MIXED_PARENT_ONLY,
        7,
        unit(
            "nvidia.com/mig-1g.10gb",
            "NVIDIA-A100-SXM4-80GB-MIG-1g.10gb",
            A100,
            10240,
            partition="1g.10gb",
            per_device=7,
        ),
        id="MIG mixed without slice labels: the parent's product and the profile's 10 GB",
    ),
    pytest.param(
        "amd.com/gpu",
        {"amd.com/gpu.product-name": "Instinct_MI210", "amd.com/gpu.vram": "64G", "amd.com/gpu.family": "AI"},
        1,
        unit("amd.com/gpu", "Instinct_MI210", "Instinct_MI210", 65536),
        id="AMD labeller: product-name and vram",
    ),
    pytest.param(
        "amd.com/gpu",
        {"amd.com/gpu.product-name": "AMD_Instinct_MI300X_OAM", "amd.com/compute-memory-partition": "cpx_nps4"},
        64,
        unit(
            "amd.com/gpu",
            "AMD-Instinct-MI300X-cpx_nps4",
            "AMD-Instinct-MI300X",
            24576,
            partition="cpx_nps4",
            per_device=8,
        ),
        id="AMD single strategy, CPX: amd.com/gpu counts partitions, eight per GPU",
    ),
    pytest.param(
        "amd.com/cpx_nps4",
        {"amd.com/gpu.product-name": "AMD_Instinct_MI300X_OAM"},
        64,
        unit(
            "amd.com/cpx_nps4",
            "AMD-Instinct-MI300X-cpx_nps4",
            "AMD-Instinct-MI300X",
            24576,
            partition="cpx_nps4",
            per_device=8,
        ),
        id="AMD mixed strategy: the partition is the resource",
    ),
    pytest.param(
        "amd.com/gpu",
        {"amd.com/gpu.product-name": "AMD_Instinct_MI300X_OAM", "amd.com/compute-memory-partition": "spx_nps1"},
        8,
        unit("amd.com/gpu", "AMD-Instinct-MI300X", "AMD-Instinct-MI300X", 196608),
        id="AMD SPX is the whole GPU",
    ),
    pytest.param(
        "gpu.intel.com/i915",
        {"gpu.intel.com/product": "Max_1550", "gpu.intel.com/device.count": "2"},
        2,
        unit("gpu.intel.com/i915", "Intel-Max_1550", "Intel-Max_1550", None),
        id="Intel NFD rules: product and device count",
    ),
    pytest.param(
        "gpu.intel.com/xe",
        {"gpu.intel.com/product": "Max_1550", "gpu.intel.com/device.count": "2"},
        20,
        unit(
            "gpu.intel.com/xe",
            "Intel-Max_1550-SHARED",
            "Intel-Max_1550",
            None,
            shared=True,
            replicas=10,
            sharing_strategy="shared-dev-num",
            per_device=10,
        ),
        id="Intel shared-dev-num: more units than devices",
    ),
    pytest.param(
        "habana.ai/gaudi2",
        {},
        8,
        unit("habana.ai/gaudi2", "Intel-Gaudi2", "Intel-Gaudi2", None),
        id="Gaudi: the plugin names the resource by device type",
    ),
    pytest.param(
        "huawei.com/Ascend910",
        {"servertype": "Ascend910B-20", "accelerator": "huawei-Ascend910"},
        8,
        unit("huawei.com/Ascend910", "Huawei-Ascend910B", "Huawei-Ascend910B", None),
        id="Ascend: servertype names the chip",
    ),
    pytest.param(
        "huawei.com/Ascend310P",
        {"accelerator": "huawei-Ascend310P"},
        4,
        unit("huawei.com/Ascend310P", "Huawei-Ascend310P", "Huawei-Ascend310P", None),
        id="Ascend without servertype: the plugin's accelerator node selector",
    ),
    pytest.param(
        "huawei.com/Ascend910-4c",
        {},
        4,
        unit("huawei.com/Ascend910-4c", "Huawei-Ascend910-4c", "Huawei-Ascend910", None, partition="4c", per_device=0),
        id="Ascend vNPU template: a partition",
    ),
    pytest.param(
        "cambricon.com/mlu",
        {"Model": "MLU370-X8"},
        8,
        unit("cambricon.com/mlu", "Cambricon-MLU370-X8", "Cambricon-MLU370-X8", None),
        id="Cambricon labeller: Model",
    ),
    pytest.param(
        "cambricon.com/mlu370.smlu.vmlu",
        {},
        4,
        unit(
            "cambricon.com/mlu370.smlu.vmlu",
            "Cambricon-MLU370-smlu.vmlu",
            "Cambricon-MLU370",
            None,
            partition="smlu.vmlu",
            per_device=0,
        ),
        id="Cambricon dynamic sMLU: a partition",
    ),
    pytest.param("hygon.com/dcu", {}, 8, unit("hygon.com/dcu", "Hygon-DCU", "Hygon-DCU", None), id="Hygon DCU"),
    pytest.param(
        "hygon.com/dcunum",
        {},
        32,
        unit(
            "hygon.com/dcunum",
            "Hygon-DCU-SHARED",
            "Hygon-DCU",
            None,
            shared=True,
            replicas=0,
            sharing_strategy="hami",
            per_device=0,
        ),
        id="HAMi vDCU: shared",
    ),
    pytest.param("hygon.com/dcumem", {}, 65536, None, id="HAMi device memory is an amount, not a device"),
    pytest.param("gpu.intel.com/millicores", {}, 2000, None, id="Intel millicores are an amount, not a device"),
    pytest.param("example.com/fpga", {}, 2, None, id="a resource no vendor table knows"),
]


@pytest.mark.parametrize(("resource", "labels", "amount", "expected"), UNITS)
def test_unit_of(resource: str, labels: dict[str, str], amount: int, expected: Unit | None) -> None:
    assert unit_of(resource, labels, amount) == expected


@pytest.mark.parametrize(
    ("labels", "allocatable", "held", "expected"),
    [
        pytest.param(gfd(product=H100, count="8"), {GPU: 8}, {GPU: 3}, PhysicalDevices(8, 5), id="whole GPUs"),
        pytest.param(
            gfd(product=f"{H100}-SHARED", count="8", replicas="4", sharing_strategy="time-slicing"),
            {GPU: 32},
            {GPU: 3},
            PhysicalDevices(8, 5),
            id="8 GPUs time-sliced 4 ways advertise 32 units: 8 devices, 3 replicas may sit on 3 of them",
        ),
        pytest.param(
            gfd(product=f"{H100}-SHARED", replicas="4", sharing_strategy="time-slicing"),
            {GPU: 32},
            {},
            PhysicalDevices(8, 8),
            id="without a count label: units over replicas",
        ),
        pytest.param(
            MIG_MIXED_PARENT_ONLY,
            {"nvidia.com/mig-1g.10gb": 56, GPU: 0},
            {"nvidia.com/mig-1g.10gb": 3},
            PhysicalDevices(8, 5),
            id="MIG mixed: 56 slices are 8 GPUs, not 56",
        ),
        pytest.param(
            MIG_MIXED_PARENT_ONLY,
            {GPU: 2, "nvidia.com/mig-3g.40gb": 12},
            {GPU: 1, "nvidia.com/mig-3g.40gb": 2},
            PhysicalDevices(8, 5),
            id="MIG mixed with 2 whole GPUs: 6 GPUs hold the slices",
        ),
        pytest.param(
            {**gfd(product="NVIDIA-A100-SXM4-80GB-MIG-1g.10gb", count="56"), "nvidia.com/mig.strategy": "single"},
            {GPU: 56},
            {},
            PhysicalDevices(8, 8),
            id="MIG single: gpu.count counts slices, 7 per GPU",
        ),
        pytest.param(
            {**gfd(product="NVIDIA-A100-SXM4-80GB-MIG-1g.20gb", count="16"), "nvidia.com/mig.strategy": "single"},
            {GPU: 16},
            {},
            PhysicalDevices(4, 4),
            id="MIG single 1g.20gb: memory bounds an 80 GB GPU to 4 instances",
        ),
        pytest.param(
            {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"},
            {"nvidia.com/mig-3g.40gb": 4},
            {},
            PhysicalDevices(2, 2),
            id="MIG mixed without a count label: 2 of 3g.40gb per GPU",
        ),
        pytest.param(
            {"amd.com/gpu.product-name": "AMD_Instinct_MI300X_OAM", "amd.com/compute-memory-partition": "cpx_nps4"},
            {"amd.com/gpu": 64},
            {"amd.com/gpu": 1},
            PhysicalDevices(8, 7),
            id="AMD CPX: 64 partitions are 8 GPUs",
        ),
        pytest.param({}, {"huawei.com/Ascend910-4c": 4}, {}, PhysicalDevices(0, 0), id="vNPUs do not say their chips"),
        pytest.param({}, {"example.com/fpga": 2}, {}, PhysicalDevices(2, 2), id="unknown resources count their units"),
        pytest.param({}, {"cpu": 8000, "pods": 110}, {}, PhysicalDevices(0, 0), id="cpu-only node"),
    ],
)
def test_physical_devices(
    labels: dict[str, str], allocatable: dict[str, int], held: dict[str, int], expected: PhysicalDevices
) -> None:
    assert physical_devices(labels, allocatable, held, accepts_pods=True) == expected


def test_nothing_is_free_on_a_node_that_takes_no_pods() -> None:
    assert physical_devices({}, {GPU: 8}, {}, accepts_pods=False) == PhysicalDevices(8, 0)


SLICE = "NVIDIA-A100-SXM4-80GB-MIG-1g.10gb"
MIG = "nvidia.com/mig-1g.10gb"


@pytest.mark.parametrize(
    ("resource", "model", "expected"),
    [
        pytest.param(GPU, H100, SliceKind(H100, None, False), id="a whole GPU"),
        pytest.param(GPU, f"{H100}-SHARED", SliceKind(H100, None, True), id="a -SHARED replica"),
        pytest.param("nvidia.com/gpu.shared", H100, SliceKind(H100, None, True), id="a renamed replica"),
        pytest.param(MIG, SLICE, SliceKind(A100, "1g.10gb", False), id="a mixed-strategy MIG slice"),
        pytest.param(GPU, SLICE, SliceKind(A100, "1g.10gb", False), id="a single-strategy MIG slice"),
        pytest.param(
            "amd.com/cpx_nps4",
            "AMD-Instinct-MI300X-cpx_nps4",
            SliceKind("AMD-Instinct-MI300X", "cpx_nps4", False),
            id="an AMD partition",
        ),
        pytest.param(
            "example.com/fpga", "unknown", SliceKind("unknown", None, False), id="unknown resources are whole"
        ),
    ],
)
def test_slice_kind(resource: str, model: str, expected: SliceKind) -> None:
    assert slice_kind(resource, model) == expected


SHARED = SliceRequest(shared=True)
PROFILE = SliceRequest(partition="1g.10gb")


@pytest.mark.parametrize(
    ("resource", "model", "wanted", "models", "expected"),
    [
        pytest.param(GPU, H100, None, (), True, id="whole devices serve a whole-device task"),
        pytest.param(GPU, f"{H100}-SHARED", None, (), False, id="replicas never serve a whole-device task"),
        pytest.param(MIG, SLICE, None, (A100,), False, id="MIG slices never serve a whole-device task"),
        pytest.param(GPU, SLICE, None, (), False, id="single-strategy slices neither"),
        pytest.param(GPU, f"{H100}-SHARED", SHARED, (H100,), True, id="a task asking for shared replicas gets them"),
        pytest.param(GPU, H100, SHARED, (), False, id="and not whole devices"),
        pytest.param(MIG, SLICE, PROFILE, (A100,), True, id="a MIG profile on the GPUs it is cut from"),
        pytest.param(MIG, SLICE, PROFILE, (SLICE,), True, id="a MIG profile named by its slice model"),
        pytest.param(MIG, SLICE, PROFILE, (H100,), False, id="a MIG profile of another GPU"),
        pytest.param(
            "nvidia.com/mig-2g.20gb", "NVIDIA-A100-SXM4-80GB-MIG-2g.20gb", PROFILE, (), False, id="another profile"
        ),
        pytest.param(MIG, f"{SLICE}-SHARED", PROFILE, (), False, id="a time-sliced slice is not an exclusive slice"),
        pytest.param(
            GPU,
            SLICE,
            SliceRequest(partition="1g.10gb", resource=MIG),
            (),
            False,
            id="a task whose pods request nvidia.com/mig-1g.10gb takes no single-strategy slices",
        ),
    ],
)
def test_offers(
    resource: str, model: str, wanted: SliceRequest | None, models: tuple[str, ...], expected: bool
) -> None:
    assert offers(resource, model, wanted, models) is expected


@pytest.mark.parametrize(
    ("vendor", "wanted", "expected"),
    [
        pytest.param("nvidia", PROFILE, MIG, id="NVIDIA MIG profile: the mixed strategy's resource"),
        pytest.param("amd", SliceRequest(partition="cpx_nps4"), "amd.com/cpx_nps4", id="AMD partition"),
        pytest.param("nvidia", SHARED, GPU, id="NVIDIA replicas keep nvidia.com/gpu unless renamed"),
        pytest.param("hygon", SHARED, "hygon.com/dcunum", id="HAMi vDCU"),
        pytest.param("huawei", SliceRequest(partition="4c"), None, id="Ascend vNPUs are named per chip"),
    ],
)
def test_slice_resource(vendor: str, wanted: SliceRequest, expected: str | None) -> None:
    assert slice_resource(vendor, wanted) == expected


@pytest.mark.parametrize(
    ("labels", "allocatable", "expected"),
    [
        pytest.param(
            MIG_MIXED_PARENT_ONLY,
            {GPU: 2, MIG: 14},
            AcceleratorFacts(GPU, "nvidia", A100, 81920),
            id="a node with whole GPUs and slices offers its whole GPUs",
        ),
        pytest.param(
            MIG_MIXED_PARENT_ONLY,
            {MIG: 14},
            AcceleratorFacts(MIG, "nvidia", SLICE, 10240, whole=False),
            id="a MIG node offers its slices as their own model",
        ),
        pytest.param(
            gfd(product=f"{H100}-SHARED", count="8", replicas="4"),
            {GPU: 32},
            AcceleratorFacts(GPU, "nvidia", f"{H100}-SHARED", 81920, whole=False),
            id="a time-sliced node offers replicas",
        ),
        pytest.param(
            {"servertype": "Ascend910B-20"},
            {"huawei.com/Ascend910": 8},
            AcceleratorFacts("huawei.com/Ascend910", "huawei", "Huawei-Ascend910B", None),
            id="an Ascend node",
        ),
    ],
)
def test_accelerator_facts_of_sliced_nodes(
    labels: dict[str, str], allocatable: dict[str, int], expected: AcceleratorFacts
) -> None:
    assert accelerator_facts(labels, allocatable) == expected


def _sliced_pool() -> Snapshot:
    shared = gfd(product=f"{H100}-SHARED", count="8", replicas="4", sharing_strategy="time-slicing")
    return pool(
        identifier("whole").nodes(node("w").gpus(8, H100).used(gpus=6)),
        identifier("sliced").nodes(node("s").units(GPU, 32, **shared)),
        identifier("mig").nodes(node("m").units(MIG, 56, **MIG_MIXED_PARENT_ONLY)),
    )


@pytest.mark.parametrize(
    ("demand", "chosen"),
    [
        pytest.param(task().gpus(2, H100).build(), "whole", id="a whole-GPU task never lands on replicas"),
        pytest.param(task().gpus(4).build(), None, id="32 free replicas are not 4 free GPUs"),
        pytest.param(task().gpus(4, slices=SHARED).build(), "sliced", id="a task asking for replicas gets them"),
        pytest.param(task().gpus(7, A100, slices=PROFILE).build(), "mig", id="a task asking for a MIG profile"),
        pytest.param(
            task().gpus(1, A100, min_memory_mib=20480, slices=PROFILE).build(),
            None,
            id="minimum memory compares the slice's 10 GB",
        ),
    ],
)
def test_placement_offers_slices_only_to_tasks_asking_for_them(demand: Demand, chosen: str | None) -> None:
    decision = place(_sliced_pool(), demand)
    assert (decision.chosen.identifier if decision.chosen else None) == chosen


def test_a_whole_gpu_task_rejected_by_slices_is_told_how_to_ask_for_them() -> None:
    decision = place(_sliced_pool(), task().gpus(4).build())
    assert decision.rejections["sliced"].message == (
        "its schedulable nodes offer NVIDIA-H100-80GB-HBM3-SHARED (nvidia.com/gpu shared replicas: sharing Shared)"
    )
    assert decision.rejections["mig"].message == (
        "its schedulable nodes offer NVIDIA-A100-SXM4-80GB-MIG-1g.10gb"
        " (nvidia.com/mig-1g.10gb slices: partition 1g.10gb)"
    )
