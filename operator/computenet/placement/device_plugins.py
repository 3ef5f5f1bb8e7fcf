"""What one unit of a vendor's device-plugin resource is: a whole device, a partition, or a shared replica.

A device plugin advertises units of an extended resource in ``node.status.allocatable`` and a
labeller beside it names the product. A unit is not always one device:

- **NVIDIA MIG** (GPU feature discovery and the device plugin, NVIDIA/k8s-device-plugin v0.20.0,
  ``internal/lm/mig-strategy.go`` and ``internal/lm/resource.go``, ``docs/gpu-feature-discovery/README.md``):
  with the *mixed* strategy each MIG profile is its own resource ``nvidia.com/mig-<profile>`` (such
  as ``nvidia.com/mig-1g.10gb``) labelled ``nvidia.com/mig-<profile>.{product,count,memory,replicas,
  sharing-strategy,slices.gi,...}``, the product being ``<model>-MIG-<profile>``; the whole-GPU labels
  ``nvidia.com/gpu.{product,count}`` still name and count the physical GPUs. With the *single*
  strategy (``nvidia.com/mig.strategy=single``) the slices are ``nvidia.com/gpu`` itself, and
  ``nvidia.com/gpu.{product,count,memory}`` are overridden to the slice (``A100-SXM4-40GB-MIG-1g.5gb``,
  the number of MIG devices, the slice's memory); a node GFD cannot describe is labelled
  ``<model>-MIG-INVALID``.
- **NVIDIA time-slicing and MPS** (same sources, README "Shared Access to GPUs"): each GPU is
  advertised ``replicas`` times; ``nvidia.com/gpu.replicas`` says how many, ``nvidia.com/gpu.sharing-strategy``
  is ``time-slicing`` or ``mps`` (``none`` otherwise), ``nvidia.com/gpu.count`` stays the number of
  physical GPUs and the product gets a ``-SHARED`` suffix, unless ``renameByDefault`` advertises the
  replicas as ``<resource>.shared`` (``nvidia.com/gpu.shared``), in which case the product keeps its
  name and the labels keep the original resource's prefix.
- **AMD partitions** (ROCm/k8s-device-plugin, ``docs/user-guide/configuration.md``, "Resource Naming
  Strategy"): an MI300-series GPU split into compute partitions is advertised as ``amd.com/gpu``
  (single strategy, the node labelled ``amd.com/compute-memory-partition=cpx_nps4``) or as
  ``amd.com/<partition>`` (mixed: ``amd.com/cpx_nps4``). SPX is the whole GPU; DPX, QPX and CPX split
  it in 2, 4 and 8.
- **Intel shared GPUs** (intel/intel-device-plugins-for-kubernetes, ``cmd/gpu_plugin/README.md``):
  ``-shared-dev-num N`` advertises each GPU ``N`` times as ``gpu.intel.com/i915`` or ``gpu.intel.com/xe``;
  the NFD rules (``deployments/nfd/overlays/node-feature-rules/platform-labeling-rules.yaml``) label
  ``gpu.intel.com/device.count`` with the physical count and ``gpu.intel.com/product``.
- **Huawei Ascend vNPUs** (Ascend/ascend-device-plugin, ``pkg/common/constants.go``): virtual NPU
  templates are resources ``huawei.com/Ascend910-4c``, ``huawei.com/Ascend310P-2c`` ... beside the
  whole chips ``huawei.com/Ascend910``, ``huawei.com/Ascend310P``, ``huawei.com/Ascend310``.
- **Cambricon** (Cambricon/cambricon-k8s-device-plugin, ``device-plugin/pkg/mlu/server.go``):
  ``cambricon.com/mlu`` (or ``cambricon.com/<model>`` with device types), with the suffixes
  ``.smlu.<profile>`` (dynamic sMLU), ``.mim-<profile>`` (MLU instance) and ``.share`` (env share).
- **Hygon**: ``hygon.com/dcu`` for whole DCUs; the HAMi vDCU plugin (Project-HAMi/dcu-vgpu-device-plugin,
  ``README.md``) shares them as ``hygon.com/dcunum`` with ``hygon.com/dcumem`` and ``hygon.com/dcucores``.

A unit that is a partition or a shared replica is never a whole device: placement offers it only
to a task that asks for it (``slices``), and the identifier's GPU summary counts the physical
devices behind it (``physical``). Counts are integers; memory is MiB per unit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from computenet.placement.accelerators import (
    AMD_MEMORY_LABEL,
    AMD_PRODUCT_LABEL,
    amd_vram_mib,
    canonical,
    lookup,
)
from computenet.placement.resources import vendor_of

NVIDIA_GPU = "nvidia.com/gpu"
NVIDIA_MIG_STRATEGY_LABEL = "nvidia.com/mig.strategy"
SHARED_SUFFIX = "-SHARED"
MIG_INFIX = "-MIG-"
MIG_INVALID = "INVALID"
UNKNOWN = "unknown"
"""The model of devices no label names."""
AMD_PARTITION_LABEL = "amd.com/compute-memory-partition"
INTEL_PRODUCT_LABEL = "gpu.intel.com/product"
INTEL_COUNT_LABEL = "gpu.intel.com/device.count"
INTEL_MEMORY_LABEL = "gpu.intel.com/memory.max"
ASCEND_SERVERTYPE_LABEL = "servertype"
ASCEND_ACCELERATOR_LABEL = "accelerator"
CAMBRICON_MODEL_LABEL = "Model"

NOT_DEVICES = frozenset(
    {
        "gpu.intel.com/millicores",
        "gpu.intel.com/memory.max",
        "gpu.intel.com/tiles",
        "gpu.intel.com/monitoring",
        "gpu.intel.com/i915_monitoring",
        "gpu.intel.com/xe_monitoring",
        "hygon.com/dcumem",
        "hygon.com/dcucores",
        "cambricon.com/mlu.vcore",
        "cambricon.com/mlu.vmemory",
    }
)
"""Extended resources of accelerator vendors that are amounts (millicores, memory, monitoring), not devices."""

_MIG_RESOURCE = re.compile(r"nvidia\.com/mig-(?P<profile>[^/]+?)(?P<shared>\.shared)?")
_MIG_MEMORY = re.compile(r"\d+g\.(?P<gb>\d+)gb")
_AMD_PARTITION = re.compile(r"(?P<mode>spx|dpx|qpx|cpx)_nps\d+")
_AMD_SPLIT = {"spx": 1, "dpx": 2, "qpx": 4, "cpx": 8}
_ASCEND = re.compile(r"huawei\.com/(?P<chip>Ascend(?:910|310P|310)[A-Za-z0-9]*)(?:-(?P<vnpu>.+))?")
_CAMBRICON = re.compile(
    r"cambricon\.com/(?P<chip>mlu[0-9a-z-]*?)(?:\.smlu\.(?P<smlu>.+)|\.mim-(?P<mim>.+)|(?P<share>\.share))?"
)
_GAUDI = re.compile(r"habana\.ai/(?P<chip>gaudi\d*)")
_INTEL_GPU = frozenset({"gpu.intel.com/i915", "gpu.intel.com/xe"})
_HYGON = {"hygon.com/dcu": False, "hygon.com/dcunum": True}
MIG_SLICES_PER_GPU = 7
"""Compute slices of a MIG-capable GPU (A100, H100, H200, B200); the A30 has 4."""


@dataclass(frozen=True, slots=True)
class Unit:
    """What one unit of a node's device-plugin resource is.

    ``model`` is how status and placement name it: the device's model for a whole device,
    ``<model>-MIG-<profile>`` for a MIG slice (GFD's product spelling), ``<model>-<partition>`` for
    other vendors' partitions, with ``-SHARED`` appended to a shared replica (GFD's suffix, added
    here also where a renamed resource drops it, so shared units never count as whole ones).
    ``device_model`` is the physical device's model; ``partition`` the MIG profile or vendor
    partition (None for a whole device); ``shared`` whether other containers use the same device;
    ``replicas`` how many units share one device or partition (1 when exclusive, 0 when the labels
    do not say); ``per_device`` how many units one physical device gives (partitions times
    replicas), 0 when the labels do not tell.
    """

    resource: str
    vendor: str
    model: str
    device_model: str
    memory_mib: int | None
    partition: str | None = None
    shared: bool = False
    replicas: int = 1
    sharing_strategy: str = "none"
    per_device: int = 1

    @property
    def whole(self) -> bool:
        """One unit is one whole device, for one container."""
        return self.partition is None and not self.shared


@lru_cache(maxsize=4096)
def is_device_resource(resource: str) -> bool:
    """Extended resources that are devices or slices of them (a vendor domain; not amounts like millicores)."""
    return "/" in resource and not resource.startswith(("hugepages-", "kubernetes.io/")) and resource not in NOT_DEVICES


def slice_name(vendor: str, device_model: str, partition: str) -> str:
    """The model of a partition: ``<model>-MIG-<profile>`` (GFD's product spelling), else ``<model>-<partition>``."""
    return f"{device_model}{MIG_INFIX}{partition}" if vendor == "nvidia" else f"{device_model}-{partition}"


def label_int(value: str | None, default: int = 0) -> int:
    """A count label's value (``nvidia.com/gpu.count: '8'``), `default` when absent or not a count."""
    return int(value) if value is not None and value.strip().isdigit() else default


def _shared_name(model: str, shared: bool) -> str:
    return model + SHARED_SUFFIX if shared and not model.endswith(SHARED_SUFFIX) else model


def _mig_per_gpu(profile: str, parent: str) -> int:
    """Instances of `profile` one GPU holds when all of it is cut that way (GFD's single strategy assumes so).

    A GPU has 7 compute slices (the A30: 4) and 8 memory slices; ``<g>g.<m>gb`` takes ``g`` compute
    slices and ``m`` GB of memory, so ``min(7 // g, 8 // memory slices)``: 7 of ``1g.10gb`` but 4 of
    ``1g.20gb`` on an 80 GB A100 or H100 (NVIDIA's MIG user guide, "Supported MIG Profiles"). The
    memory bound needs the GPU's memory from the model table; without it only compute counts.
    """
    match = re.fullmatch(r"(\d+)g\.(\d+)gb.*", profile)
    if not match or int(match[1]) == 0:
        return 0
    compute = (4 if "A30" in parent else MIG_SLICES_PER_GPU) // int(match[1])
    known = lookup(parent)
    if known is None:
        return max(compute, 1)
    memory_slices = max(round(int(match[2]) * 8 / known.memory_gib), 1)
    return max(min(compute, 8 // memory_slices), 1)


def _mig_memory(profile: str) -> int | None:
    match = _MIG_MEMORY.match(profile)
    return int(match["gb"]) * 1024 if match else None


def _nvidia(resource: str, labels: Mapping[str, str]) -> Unit | None:
    """NVIDIA's units: whole GPUs, time-slicing/MPS replicas, and MIG slices of either strategy."""
    gpu_product = labels.get(f"{NVIDIA_GPU}.product")
    mig = _MIG_RESOURCE.fullmatch(resource)
    if mig is not None:
        profile, key = mig["profile"], f"nvidia.com/mig-{mig['profile']}"
        parent = (gpu_product or "").removesuffix(SHARED_SUFFIX)
        product = labels.get(f"{key}.product") or (f"{parent}{MIG_INFIX}{profile}" if parent else f"MIG-{profile}")
        renamed = mig["shared"] is not None
    elif resource in (NVIDIA_GPU, f"{NVIDIA_GPU}.shared"):
        key, product, renamed = NVIDIA_GPU, gpu_product or "", resource.endswith(".shared")
        profile = None
        if labels.get(NVIDIA_MIG_STRATEGY_LABEL) == "single" and MIG_INFIX in product:
            profile = product.split(MIG_INFIX, 1)[1].removesuffix(SHARED_SUFFIX)
    else:
        return None
    replicas = max(label_int(labels.get(f"{key}.replicas"), 1), 1)
    shared = renamed or replicas > 1 or product.endswith(SHARED_SUFFIX)
    strategy = labels.get(f"{key}.sharing-strategy") or ("time-slicing" if shared else "none")
    base = product.removesuffix(SHARED_SUFFIX)
    memory = label_int(labels.get(f"{key}.memory")) or None
    if profile is None:
        device_model = canonical(base) if base else UNKNOWN
        known = lookup(device_model)
        if memory is None and known is not None:
            memory = known.memory_mib
        model = _shared_name(device_model, shared)
        return Unit(resource, "nvidia", model, device_model, memory, None, shared, replicas, strategy, replicas)
    parent = base.split(MIG_INFIX, 1)[0]
    device_model = canonical(parent) if parent else UNKNOWN
    model = _shared_name(slice_name("nvidia", device_model, profile), shared)
    per_gpu = 0 if profile == MIG_INVALID else _mig_per_gpu(profile, device_model)
    memory = memory or _mig_memory(profile)
    return Unit(
        resource, "nvidia", model, device_model, memory, profile, shared, replicas, strategy, per_gpu * replicas
    )


def _amd(resource: str, labels: Mapping[str, str]) -> Unit | None:
    tail = resource.removeprefix("amd.com/")
    named = _AMD_PARTITION.fullmatch(tail)
    if resource != "amd.com/gpu" and named is None:
        return None
    product = labels.get(AMD_PRODUCT_LABEL)
    device_model = canonical(product) if product else UNKNOWN
    known = lookup(device_model)
    memory = amd_vram_mib(labels.get(AMD_MEMORY_LABEL, "")) or (known.memory_mib if known else None)
    partition = named[0] if named else labels.get(AMD_PARTITION_LABEL)
    mode = _AMD_PARTITION.fullmatch(partition or "")
    split = _AMD_SPLIT[mode["mode"]] if mode else 1
    if split == 1:
        return Unit(resource, "amd", device_model, device_model, memory)
    assert partition is not None
    slice_memory = memory // split if memory else None
    model = slice_name("amd", device_model, partition)
    return Unit(resource, "amd", model, device_model, slice_memory, partition, per_device=split)


def _other(resource: str, labels: Mapping[str, str], amount: int) -> Unit | None:
    """Intel GPUs and Gaudi, Huawei Ascend, Cambricon MLUs, Hygon DCUs."""
    if resource in _INTEL_GPU:
        product = labels.get(INTEL_PRODUCT_LABEL)
        device_model = canonical(f"Intel-{product}") if product else "Intel-GPU"
        memory = label_int(labels.get(INTEL_MEMORY_LABEL)) // (1024 * 1024) or None
        devices = label_int(labels.get(INTEL_COUNT_LABEL))
        if devices and amount > devices:  # -shared-dev-num: each GPU advertised amount / devices times
            replicas = amount // devices
            model = _shared_name(device_model, True)
            return Unit(
                resource, "intel", model, device_model, memory, None, True, replicas, "shared-dev-num", replicas
            )
        return Unit(resource, "intel", device_model, device_model, memory)
    if (gaudi := _GAUDI.fullmatch(resource)) is not None:
        device_model = f"Intel-{gaudi['chip'].capitalize()}"
        return Unit(resource, "intel", device_model, device_model, None)
    if (ascend := _ASCEND.fullmatch(resource)) is not None:
        servertype = labels.get(ASCEND_SERVERTYPE_LABEL, "").split("-")[0]
        accelerator = labels.get(ASCEND_ACCELERATOR_LABEL, "").removeprefix("huawei-")
        named = next((c for c in (servertype, accelerator) if c.startswith(ascend["chip"])), "")
        chip = named or ascend["chip"]
        device_model = f"Huawei-{chip}"
        vnpu = ascend["vnpu"]
        if vnpu is None:
            return Unit(resource, "huawei", device_model, device_model, None)
        return Unit(
            resource, "huawei", slice_name("huawei", device_model, vnpu), device_model, None, vnpu, per_device=0
        )
    if (mlu := _CAMBRICON.fullmatch(resource)) is not None:
        label = labels.get(CAMBRICON_MODEL_LABEL)
        device_model = f"Cambricon-{label or mlu['chip'].upper()}"
        partition = f"smlu.{mlu['smlu']}" if mlu["smlu"] else f"mim-{mlu['mim']}" if mlu["mim"] else None
        if mlu["share"] is not None:
            model = _shared_name(device_model, True)
            return Unit(resource, "cambricon", model, device_model, None, None, True, 0, "env-share", 0)
        if partition is not None:
            model = slice_name("cambricon", device_model, partition)
            return Unit(resource, "cambricon", model, device_model, None, partition, per_device=0)
        return Unit(resource, "cambricon", device_model, device_model, None)
    if resource in _HYGON:
        if not _HYGON[resource]:
            return Unit(resource, "hygon", "Hygon-DCU", "Hygon-DCU", None)
        return Unit(resource, "hygon", _shared_name("Hygon-DCU", True), "Hygon-DCU", None, None, True, 0, "hami", 0)
    return None


def unit_of(resource: str, labels: Mapping[str, str], amount: int = 0) -> Unit | None:
    """What one unit of `resource` is on a node with `labels`; None for a resource no vendor table knows.

    `amount` is what the node advertises; it tells Intel's shared GPUs (more units than devices).
    Answers are kept per (resource, the few labels the vendor's table reads): nodes of one shape
    share one, so reading a million nodes costs a few dictionary lookups each.
    """
    keys = _label_keys(resource)
    if keys is None:
        return None
    values = tuple(labels.get(key) for key in keys)
    return _unit(resource, keys, values, amount if resource in _INTEL_GPU else 0)


@lru_cache(maxsize=1024)
def _label_keys(resource: str) -> tuple[str, ...] | None:
    """The node labels a unit of `resource` depends on; None for a resource no vendor table knows."""
    vendor = vendor_of(resource)
    if resource in NOT_DEVICES or vendor is None:
        return None
    if vendor == "nvidia":
        mig = _MIG_RESOURCE.fullmatch(resource)
        key = f"nvidia.com/mig-{mig['profile']}" if mig else NVIDIA_GPU
        suffixes = ("product", "replicas", "sharing-strategy", "memory")
        return (f"{NVIDIA_GPU}.product", NVIDIA_MIG_STRATEGY_LABEL, *(f"{key}.{suffix}" for suffix in suffixes))
    if vendor == "amd":
        return AMD_PRODUCT_LABEL, AMD_MEMORY_LABEL, AMD_PARTITION_LABEL
    if resource in _INTEL_GPU:
        return INTEL_PRODUCT_LABEL, INTEL_COUNT_LABEL, INTEL_MEMORY_LABEL
    return ASCEND_SERVERTYPE_LABEL, ASCEND_ACCELERATOR_LABEL, CAMBRICON_MODEL_LABEL


@lru_cache(maxsize=16384)
def _unit(resource: str, keys: tuple[str, ...], values: tuple[str | None, ...], amount: int) -> Unit | None:
    labels = {key: value for key, value in zip(keys, values, strict=True) if value is not None}
    vendor = vendor_of(resource)
    if vendor == "nvidia":
        return _nvidia(resource, labels)
    if vendor == "amd":
        return _amd(resource, labels)
    return _other(resource, labels, amount)


def node_units(labels: Mapping[str, str], allocatable: Mapping[str, int]) -> dict[str, Unit]:
    """The node's advertised device resources (allocatable > 0) a vendor table knows, by resource."""
    out: dict[str, Unit] = {}
    for resource, amount in allocatable.items():
        if amount > 0 and "/" in resource and is_device_resource(resource):
            unit = unit_of(resource, labels, amount)
            if unit is not None:
                out[resource] = unit
    return out
