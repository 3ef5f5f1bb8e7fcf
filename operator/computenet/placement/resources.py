"""Resource names and the per-replica usage vector placement reasons about.

Placement sees four dimensions per node: cpu (millicores), memory (bytes), the node's accelerator
resource (whole devices such as `nvidia.com/gpu`, or for a task asking for them the slices or
shared replicas a device plugin advertises, see `device_plugins`) and pod slots (allocatable ``pods``, one per
replica; see `nodes.pod_slots_left`). A replica's usage vector is the first three; the pod slot is
implied. Other extended resources and ephemeral storage are not considered; the member's own
scheduler still enforces them.
Amounts are plain integers: the lead converts Kubernetes quantities before they reach us.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

CPU = "cpu"
MEMORY = "memory"
NVIDIA_GPU = "nvidia.com/gpu"
AMD_GPU = "amd.com/gpu"

VENDOR_RESOURCES: Mapping[str, str] = {
    "nvidia": NVIDIA_GPU,
    "amd": AMD_GPU,
    "intel": "gpu.intel.com/i915",
    "huawei": "huawei.com/Ascend910",
    "cambricon": "cambricon.com/mlu",
    "hygon": "hygon.com/dcu",
}
"""The usual whole-device resource of each vendor's device plugin (docs/accelerators.md has them all)."""

ACCELERATOR_RESOURCES = frozenset(VENDOR_RESOURCES.values())

VENDOR_DOMAINS: Mapping[str, str] = {
    "nvidia.com": "nvidia",
    "amd.com": "amd",
    "gpu.intel.com": "intel",
    "habana.ai": "intel",
    "huawei.com": "huawei",
    "cambricon.com": "cambricon",
    "hygon.com": "hygon",
}
"""The vendor of each device-plugin resource domain (Habana Gaudi is Intel's)."""


def vendor_of(resource: str | None) -> str | None:
    """The vendor whose device plugin advertises `resource` (``huawei.com/Ascend910`` -> huawei), else None."""
    domain, slash, _ = (resource or "").partition("/")
    return VENDOR_DOMAINS.get(domain) if slash else None


GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True, slots=True)
class Usage:
    """cpu millicores, memory bytes and accelerator devices: one replica, one node, or a sum."""

    cpu: int = 0
    memory: int = 0
    accelerators: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.cpu + other.cpu, self.memory + other.memory, self.accelerators + other.accelerators)

    def __mul__(self, times: int) -> Usage:
        return Usage(self.cpu * times, self.memory * times, self.accelerators * times)


def cores(millis: int) -> str:
    """Millicores as a human count of cores: 64000 -> "64", 500 -> "0.5"."""
    return f"{millis / 1000:g}"


def gib(amount: int) -> str:
    return f"{amount / GIB:g}Gi"
