"""DRA devices as placement sees them: what a node offers, what a task's claims ask, and how many fit.

Kubernetes Dynamic Resource Allocation (``resource.k8s.io/v1``) publishes devices in ResourceSlices
and lets pods claim them through ResourceClaims made from ResourceClaimTemplates. The member layer
reduces those objects to the typed facts below; placement only counts:

- `NodeDevices`: per node, devices of one driver and model, in total and free (a device is taken
  while an allocated claim lists it, the allocator's ``deviceInUse``);
- `DeviceCatalog`: per identifier, the member's DeviceClasses and the ResourceClaimTemplates of the
  identifier's target namespace;
- `PodClaim`: the pod template's ``spec.resourceClaims``.

`device_need` resolves the claims of a task against one identifier's catalog into per-driver device
counts per replica (`Need`), or says why it cannot: a template or class that does not exist, or a
selector placement cannot evaluate (the member's allocator would, so placing blind is refused).
`replica_slots` then tells, per node, how many replicas the node's free devices hold.

Mirrors the structured allocator of k8s.io/dynamic-resource-allocation v0.36.3
(``structured/internal/stable/allocator_stable.go``: ExactCount takes ``count`` devices, All takes
every matching device of the node and fails when one is in use; devices are matched by the class's
selectors, then the request's), as driven by the DynamicResources plugin of kube-scheduler v1.36.3
(``pkg/scheduler/framework/plugins/dynamicresources``). Supported selectors are the minimum
``device.driver == "<name>"``; a class without selectors matches every device.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from computenet.placement.arrays import IntArray

ANY_DRIVER = ""
"""The key of a need that any driver's devices satisfy (a DeviceClass without selectors)."""


@dataclass(frozen=True, slots=True)
class NodeDevices:
    """Devices one driver publishes for one node, of one model ("" when no attribute names it)."""

    driver: str
    model: str
    total: int
    free: int


@dataclass(frozen=True, slots=True)
class DeviceClass:
    """A member's DeviceClass, reduced to the one driver its selectors admit.

    `driver` None with no `problem`: the class has no selectors and admits every device.
    A non-empty `problem` says which selector placement cannot evaluate.
    """

    name: str
    driver: str | None = None
    problem: str = ""


@dataclass(frozen=True, slots=True)
class DeviceRequest:
    """One request of a claim: `count` devices of a class (ExactCount), or all of them (`all`)."""

    name: str
    device_class: str
    count: int = 1
    all: bool = False
    problem: str = ""
    """What placement cannot evaluate in this request (its own selectors, firstAvailable, ...)."""


@dataclass(frozen=True, slots=True)
class ClaimTemplate:
    """A ResourceClaimTemplate of the identifier's target namespace."""

    name: str
    requests: tuple[DeviceRequest, ...] = ()
    problem: str = ""


@dataclass(frozen=True)
class DeviceCatalog:
    """What an identifier's member says about DRA: its classes and the templates its tasks may name.

    A non-empty `problem` says why the member's DRA objects are not known (not readable, not served).
    """

    classes: Mapping[str, DeviceClass] = field(default_factory=dict)
    templates: Mapping[str, ClaimTemplate] = field(default_factory=dict)
    problem: str = ""


@dataclass(frozen=True, slots=True)
class PodClaim:
    """One entry of the pod template's ``resourceClaims``: a template's name, or an existing claim's."""

    name: str
    template: str | None = None
    claim: str | None = None


@dataclass(frozen=True, slots=True)
class Need:
    """Devices of one driver (or of any, `ANY_DRIVER`) one replica claims: `count`, plus all of them if `all`."""

    count: int = 0
    all: bool = False


Needs = Mapping[str, Need]
"""Per driver key, what one replica claims."""


def device_need(catalog: DeviceCatalog | None, claims: Iterable[PodClaim]) -> Needs | str:
    """What the claims ask of an identifier, per driver; or why placement cannot tell (naming the claim)."""
    needs: dict[str, Need] = {}
    for claim in claims:
        where = f"resourceClaims {claim.name!r}"
        if claim.template is None:
            named = f"names ResourceClaim {claim.claim!r}" if claim.claim else "names no resourceClaimTemplateName"
            return f"{where} {named}: placement evaluates only claims made from a resourceClaimTemplateName"
        if catalog is None:
            return f"{where}: the member's DRA devices are not known to the operator"
        if catalog.problem:
            return f"{where}: {catalog.problem}"
        template = catalog.templates.get(claim.template)
        if template is None:
            return f"{where}: ResourceClaimTemplate {claim.template!r} does not exist in the target namespace"
        if template.problem:
            return f"{where}: ResourceClaimTemplate {claim.template!r} {template.problem}"
        for request in template.requests:
            at = f"{where}, request {request.name!r}"
            if request.problem:
                return f"{at}: {request.problem}, which placement does not evaluate"
            device_class = catalog.classes.get(request.device_class)
            if device_class is None:
                return f"{at}: DeviceClass {request.device_class!r} does not exist in the member"
            if device_class.problem:
                return f"{at}: DeviceClass {request.device_class!r} {device_class.problem}"
            key = device_class.driver if device_class.driver is not None else ANY_DRIVER
            held = needs.get(key, Need())
            needs[key] = Need(held.count + (0 if request.all else request.count), held.all or request.all)
    return needs


def describe(needs: Needs, classes: Iterable[str] = ()) -> str:
    """How a rejection names the devices: "1 gpu.example.com device" or "all any-driver devices"."""
    parts = []
    for key, need in sorted(needs.items()):
        driver = key or "any-driver"
        if need.count:
            parts.append(f"{need.count} {driver} device{'' if need.count == 1 else 's'}")
        if need.all:
            parts.append(f"all {driver} devices")
    return " + ".join(parts) or "no devices"


def _totals(devices: Iterable[NodeDevices], key: str) -> tuple[int, int]:
    total = free = 0
    for d in devices:
        if key == ANY_DRIVER or d.driver == key:
            total += d.total
            free += d.free
    return total, free


def node_slots(
    devices: tuple[NodeDevices, ...], needs: Needs, held: Mapping[str, int], cap: int, *, allocatable: bool = False
) -> int:
    """Replicas (at most `cap`) whose claims one node's devices satisfy at once.

    `held` is what assumptions already hold on the node per driver key. With `allocatable`, every
    device counts as free (the most the member's scheduler could ever put there). Distinct drivers
    are independent; a need of any driver competes with every other need for the node's devices,
    so it is checked against the node's total. All-mode needs every matching device of the node,
    free, and at least one: a node holds one such replica at most.
    """
    if not needs:
        return cap
    slots = cap
    combined = 0
    for key, need in needs.items():
        total, free = _totals(devices, key)
        if not allocatable:
            free -= held.get(key, 0) + (sum(held.values()) - held.get(key, 0) if key == ANY_DRIVER else 0)
        free = max(free, 0)
        per = need.count
        if need.all:
            if total == 0 or free < total:
                return 0
            per += total
            slots = min(slots, 1)
        combined += per
        if per:
            slots = min(slots, free // per)
    if ANY_DRIVER in needs and len(needs) > 1:
        _, free = _totals(devices, ANY_DRIVER)
        if not allocatable:
            free -= sum(held.values())
        slots = min(slots, max(free, 0) // combined) if combined else slots
    return max(slots, 0)


def hold(devices: tuple[NodeDevices, ...], needs: Needs, replicas: int) -> tuple[tuple[str, int], ...]:
    """What `replicas` replicas claim on a node, per driver key (All-mode needs take the node's total)."""
    out = []
    for key, need in sorted(needs.items()):
        per = need.count + (_totals(devices, key)[0] if need.all else 0)
        if per * replicas:
            out.append((key, per * replicas))
    return tuple(out)


def slots_of_rows(
    rows: IntArray,
    by_row: Mapping[int, tuple[NodeDevices, ...]],
    needs: Needs,
    held: Mapping[int, Mapping[str, int]],
    cap: int,
    *,
    allocatable: bool = False,
) -> IntArray:
    """`node_slots` for each of `rows` (nodes without devices hold no replica)."""
    out = np.zeros(len(rows), dtype=np.int64)
    for i, row in enumerate(rows.tolist()):
        devices = by_row.get(row)
        if devices:
            out[i] = node_slots(devices, needs, held.get(row, {}), cap, allocatable=allocatable)
    return out
