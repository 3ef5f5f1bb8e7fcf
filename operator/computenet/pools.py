"""ComputePool status: the sum of its Ready member identifiers, and what that compute is worth.

Totals count Ready members only, because capacity behind an unreachable member cannot run
anything. Peak TFLOPS per precision come from the accelerator catalogue; a model the catalogue
does not know is listed in `unknownModels` and left out of the TFLOPS, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from computenet.api.common import AcceleratorAmounts, ResourceAmounts
from computenet.api.conditions import Cond
from computenet.api.constants import (
    COMPUTE_CLASS_LABEL,
    PROVIDER_LABEL,
    REGION_LABEL,
    ZONE_LABEL,
    ConditionType,
    Reason,
)
from computenet.api.pool import ComputePoolSpec, ComputePoolStatus, MemberCounts, PoolSummary, TaskCounts, Tflops
from computenet.members.capacity import Capacity
from computenet.members.identifiers import TrackedIdentifier
from computenet.placement.accelerators import lookup
from computenet.placement.labels import Selector
from computenet.quantity import format_amounts

PRECISIONS = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8")
PeakTflops = Callable[[str], Mapping[str, float] | None]
"""Accelerator model -> peak dense TFLOPS per precision of one device, or None when unknown."""


def peak_tflops(model: str) -> Mapping[str, float] | None:
    """The accelerator catalogue's :data:`PeakTflops` (``placement.accelerators``)."""
    known = lookup(model)
    return known.tflops if known else None


def pool_selector(spec: ComputePoolSpec) -> Selector:
    sel = spec.identifier_selector
    return Selector.of(
        sel.match_labels, [(r.key, str(r.operator), r.values or ()) for r in sel.match_expressions or ()]
    )


def selection_labels(item: TrackedIdentifier) -> dict[str, str]:
    """An identifier's labels plus its attributes as labels, which pool selectors may use."""
    labels = dict(item.labels)
    spec = item.spec
    if spec is not None:
        labels.setdefault(PROVIDER_LABEL, spec.provider)
        labels.setdefault(REGION_LABEL, spec.region)
        labels.setdefault(COMPUTE_CLASS_LABEL, str(spec.compute_class))
        if spec.zone:
            labels.setdefault(ZONE_LABEL, spec.zone)
    return labels


@dataclass
class PoolTotals:
    members_total: int = 0
    members_ready: int = 0
    member_names: list[str] = field(default_factory=list)
    resources: dict[str, dict[str, int]] = field(
        default_factory=lambda: {v: {} for v in ("capacity", "allocatable", "allocated", "free")}
    )
    accelerators: dict[str, dict[str, int]] = field(default_factory=dict)
    resource_of_model: dict[str, str] = field(default_factory=dict)
    tflops: dict[str, float] = field(default_factory=dict)
    tflops_free: dict[str, float] = field(default_factory=dict)
    unknown_models: set[str] = field(default_factory=set)
    devices_total: int = 0
    """Physical accelerators of the ready members (``Capacity.devices_total``): the devices behind slices."""
    devices_free: int = 0


def aggregate(
    selector: Selector,
    identifiers: Iterable[TrackedIdentifier],
    capacity_of: Callable[[TrackedIdentifier], Capacity],
    peak: PeakTflops,
) -> PoolTotals:
    totals = PoolTotals()
    for item in identifiers:
        if item.spec is None or not selector.matches(selection_labels(item)):
            continue
        totals.members_total += 1
        totals.member_names.append(item.name)
        cap = capacity_of(item)
        if not item.readiness(cap)[1].status:
            continue
        totals.members_ready += 1
        totals.devices_total += cap.devices_total
        totals.devices_free += cap.devices_free
        for view, amounts in totals.resources.items():
            for name, value in getattr(cap, view).items():
                amounts[name] = amounts.get(name, 0) + value
        for model, m in cap.accelerators.items():
            acc = totals.accelerators.setdefault(
                model, {"capacity": 0, "allocatable": 0, "allocated": 0, "free": 0, "largestFreeSlot": 0}
            )
            acc["capacity"] += m.capacity
            acc["allocatable"] += m.allocatable
            acc["allocated"] += m.allocated
            acc["free"] += m.free
            acc["largestFreeSlot"] = max(acc["largestFreeSlot"], m.largest_free_slot)
            totals.resource_of_model[model] = m.resource
            per_device = peak(model)
            if per_device is None:
                totals.unknown_models.add(model)
                continue
            for precision, value in per_device.items():
                totals.tflops[precision] = totals.tflops.get(precision, 0.0) + value * m.allocatable
                totals.tflops_free[precision] = totals.tflops_free.get(precision, 0.0) + value * m.free
    return totals


def pool_status(totals: PoolTotals, tasks: TaskCounts) -> tuple[ComputePoolStatus, Cond]:
    """(status without conditions and generation, Ready condition)."""
    gpus_free, gpus_total = totals.devices_free, totals.devices_total
    status = ComputePoolStatus(
        members=MemberCounts(ready=totals.members_ready, total=totals.members_total),
        resources=ResourceAmounts(**{view: format_amounts(amounts) for view, amounts in totals.resources.items()}),
        accelerators={
            model: AcceleratorAmounts(
                resource=totals.resource_of_model[model],
                capacity=counts["capacity"],
                allocatable=counts["allocatable"],
                allocated=counts["allocated"],
                free=counts["free"],
                largest_free_slot=counts["largestFreeSlot"],
            )
            for model, counts in sorted(totals.accelerators.items())
        },
        tflops=Tflops(**{p: round(v, 1) for p, v in totals.tflops.items()}),
        tflops_free=Tflops(**{p: round(v, 1) for p, v in totals.tflops_free.items()}),
        unknown_models=sorted(totals.unknown_models),
        tasks=tasks,
        summary=PoolSummary(members=f"{totals.members_ready}/{totals.members_total}", gpus=f"{gpus_free}/{gpus_total}"),
    )
    if totals.members_ready:
        ready = Cond(
            ConditionType.READY,
            True,
            Reason.READY,
            f"{totals.members_ready}/{totals.members_total} members Ready",
        )
    elif totals.members_total:
        ready = Cond(
            ConditionType.READY,
            False,
            Reason.NO_READY_MEMBERS,
            f"none of {totals.members_total} members is Ready",
        )
    else:
        ready = Cond(
            ConditionType.READY,
            False,
            Reason.NO_READY_MEMBERS,
            "the identifierSelector matches no identifier",
        )
    return status, ready
