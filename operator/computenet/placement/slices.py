"""Who may have a unit that is not a whole device: a task asking for slices or shared replicas, and only it.

Placement knows a node's units by (resource, model) as ``device_plugins.Unit`` names them;
`slice_kind` reads back what they are, `offers` decides per task (``spec.resources.accelerators``
``sharing`` and ``partition``, see docs/accelerators.md), and `slice_resource` names the resource
the task's pods request the units in when the template does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from computenet.placement.device_plugins import MIG_INFIX, SHARED_SUFFIX, UNKNOWN, slice_name, unit_of
from computenet.placement.resources import VENDOR_RESOURCES, vendor_of


@dataclass(frozen=True, slots=True)
class SliceKind:
    """What a unit of a placement model is, read back from its (resource, model) name."""

    device_model: str
    partition: str | None
    shared: bool

    @property
    def whole(self) -> bool:
        return self.partition is None and not self.shared


_SHARED_RESOURCE = re.compile(r".*\.shared?|hygon\.com/dcunum")
_AMD_SLICE_NAME = re.compile(r"(?P<device>.+)-(?P<partition>(?:dpx|qpx|cpx)_nps\d+)")


@lru_cache(maxsize=4096)
def slice_kind(resource: str | None, model: str | None) -> SliceKind:
    """Whether units of `resource` named `model` (as `Unit.model` names them) are whole, sliced or shared.

    The resource tells where the device plugin names the slice (``nvidia.com/mig-1g.10gb``,
    ``amd.com/cpx_nps4``, ``huawei.com/Ascend910-4c``, ``*.shared``); the model name where the
    resource does not (MIG single strategy ``-MIG-``, AMD single strategy ``-cpx_nps4``, ``-SHARED``).
    """
    name = model or UNKNOWN
    shared = name.endswith(SHARED_SUFFIX) or bool(resource and _SHARED_RESOURCE.fullmatch(resource))
    base = name.removesuffix(SHARED_SUFFIX)
    unit = unit_of(resource, {}) if resource else None
    vendor = unit.vendor if unit is not None else vendor_of(resource)
    partition = unit.partition if unit is not None else None
    if partition is None and vendor == "nvidia" and MIG_INFIX in base:
        partition = base.split(MIG_INFIX, 1)[1]
    if partition is None and vendor == "amd" and (amd := _AMD_SLICE_NAME.fullmatch(base)) is not None:
        partition = amd["partition"]
    if partition is not None and vendor is not None:
        base = base.removesuffix(slice_name(vendor, "", partition))
    return SliceKind(base, partition, shared)


@dataclass(frozen=True, slots=True)
class SliceRequest:
    """A task's wish for units that are not whole devices (``spec.resources.accelerators.sharing/partition``).

    ``shared``: replicas of a shared device (NVIDIA time-slicing or MPS, Intel shared-dev-num, HAMi
    vDCU, Cambricon env-share); ``partition``: slices of this MIG profile or vendor partition. Both
    may hold (time-sliced MIG slices). A task without one asks for whole devices only.
    """

    shared: bool = False
    partition: str | None = None
    resource: str | None = None
    """The resource the task's pods request the units in (``nvidia.com/mig-1g.10gb``); None: any."""


def slice_resource(vendor: str | None, wanted: SliceRequest) -> str | None:
    """The resource a slice request is counted in when the template does not say.

    NVIDIA and AMD partitions: the mixed strategy's per-partition resource (``nvidia.com/mig-1g.10gb``,
    ``amd.com/cpx_nps4``), the one name that says what a unit is; shared replicas: the vendor's
    whole-device resource, which the NVIDIA and Intel plugins keep for replicas unless renamed.
    None when the vendor is not known or names partitions per chip (Ascend, Cambricon).
    """
    if wanted.partition is not None:
        if vendor == "nvidia":
            return f"nvidia.com/mig-{wanted.partition}"
        if vendor == "amd":
            return f"amd.com/{wanted.partition}"
        return None
    return VENDOR_RESOURCES.get(vendor) if vendor and vendor != "hygon" else "hygon.com/dcunum" if vendor else None


def offers(resource: str | None, model: str | None, wanted: SliceRequest | None, models: tuple[str, ...]) -> bool:
    """Whether units of (`resource`, `model`) serve a task asking for `wanted` slices of any of `models`.

    Whole devices serve only a task asking for whole devices, and slices only a task asking for
    exactly that kind (shared or not, the same partition). `models` name the physical devices
    (the GPUs a MIG slice is cut from) or the slice's own model (``A100-SXM4-80GB-MIG-1g.10gb``);
    a request naming its resource takes units of that resource only, since its pods request it.
    """
    kind = slice_kind(resource, model)
    if wanted is None:
        fits = kind.whole
    else:
        fits = not kind.whole and kind.shared == wanted.shared and kind.partition == wanted.partition
    if wanted is not None and wanted.resource is not None and resource != wanted.resource:
        return False
    return fits and (not models or model in models or kind.device_model in models)
