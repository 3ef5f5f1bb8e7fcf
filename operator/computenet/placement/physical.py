"""How many physical accelerators stand behind the units a node advertises.

A node with 8 GPUs time-sliced 4 ways advertises 32 units and holds 8 devices; a node whose 4
GPUs are cut into 28 MIG slices holds 4. The identifier's and the pool's GPU summary count these
(``members.capacity``); what one unit is comes from ``device_plugins``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from computenet.placement.device_plugins import (
    INTEL_COUNT_LABEL,
    NVIDIA_GPU,
    NVIDIA_MIG_STRATEGY_LABEL,
    Unit,
    is_device_resource,
    label_int,
    unit_of,
)


@dataclass(frozen=True, slots=True)
class PhysicalDevices:
    """Physical devices on one node: how many, and how many nothing runs on (a lower bound)."""

    total: int
    free: int


def physical_devices(
    labels: Mapping[str, str],
    allocatable: Mapping[str, int],
    held: Mapping[str, int],
    accepts_pods: bool,
) -> PhysicalDevices:
    """Count the node's physical accelerators behind every device resource it advertises.

    - a whole device is one unit: total and free as the resource counts them;
    - shared replicas and partitions: the devices behind the units, from the vendor's count
      label where it is the physical count (``nvidia.com/gpu.count`` except under MIG single,
      ``gpu.intel.com/device.count``), else ``ceil(units / per_device)``. A device is free only
      when nothing holds any of its units; where the plugin does not say which device a unit
      is on, every held unit may be on a different device, so free is ``devices - held`` (never
      below 0) - a bound that never promises a device someone uses;
    - NVIDIA MIG under the mixed strategy: ``nvidia.com/gpu.count`` GPUs in all, the whole ones
      among them counted through ``nvidia.com/gpu``, the rest hold the slices of every profile;
    - an extended resource no vendor table knows counts its units, as before;
    - units whose devices the labels cannot tell (Ascend vNPUs, Cambricon sMLU/MIM, HAMi vDCUs)
      count no devices.
    Nothing is free on a node that does not accept new pods.
    """
    total = free = 0
    nvidia_partitioned: list[tuple[Unit, int, int]] = []
    nvidia_whole = 0
    for resource, amount in allocatable.items():
        if amount <= 0 or not is_device_resource(resource):
            continue
        taken = held.get(resource, 0)
        unit = unit_of(resource, labels, amount)
        if unit is None or unit.whole:
            total += amount
            free += max(amount - taken, 0)
            nvidia_whole += amount if unit is not None and unit.vendor == "nvidia" else 0
            continue
        if unit.vendor == "nvidia" and unit.partition is not None:
            nvidia_partitioned.append((unit, amount, taken))
            continue
        devices = _devices_of(unit, labels, amount)
        total += devices
        free += max(devices - taken, 0)
        if unit.vendor == "nvidia":
            nvidia_whole += devices
    if nvidia_partitioned:
        devices, taken = _mig_gpus(labels, nvidia_partitioned, nvidia_whole)
        total += devices
        free += max(devices - taken, 0)
    return PhysicalDevices(total, free if accepts_pods else 0)


def _devices_of(unit: Unit, labels: Mapping[str, str], amount: int) -> int:
    """Physical devices behind `amount` shared or partitioned units of one resource."""
    if unit.vendor == "nvidia":
        counted = label_int(labels.get(f"{NVIDIA_GPU}.count"))
        if counted:
            return counted
    if unit.vendor == "intel":
        counted = label_int(labels.get(INTEL_COUNT_LABEL))
        if counted:
            return counted
    return math.ceil(amount / unit.per_device) if unit.per_device else 0


def _mig_gpus(labels: Mapping[str, str], slices: list[tuple[Unit, int, int]], whole: int) -> tuple[int, int]:
    """(GPUs cut into MIG slices, slices held) on one node."""
    taken = sum(t for _, _, t in slices)
    single = labels.get(NVIDIA_MIG_STRATEGY_LABEL) == "single"
    counted = label_int(labels.get(f"{NVIDIA_GPU}.count"))
    if counted and not single:
        return max(counted - whole, 0), taken
    devices = sum(math.ceil(amount / unit.per_device) for unit, amount, _ in slices if unit.per_device)
    return devices, taken
