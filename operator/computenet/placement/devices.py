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
`table_slots` then tells, per node, how many replicas the node's free devices hold.

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
from typing import Any

import numpy as np

from computenet.placement.arrays import BoolArray, IntArray

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


@dataclass(frozen=True, slots=True)
class DeviceAnswers:
    """What one task's claims ask of every identifier of a snapshot, in few distinct answers.

    `of[i]` is the index in `answers` of identifier i's answer: its per-driver needs, or why placement
    cannot tell. Identifiers whose members hold alike classes and templates share an answer.
    """

    of: IntArray
    answers: tuple[Needs | str, ...]


_ANSWERS: list[tuple[tuple[object, ...], tuple[PodClaim, ...], DeviceAnswers]] = []
"""The answers for the last few (identifiers, claims): snapshots share their identifiers until one of
them changes, and the tasks of a pool name the same few templates, so the claims of a task are
resolved against a thousand catalogs once, not once per decision (matched by identity, kept referenced)."""
_ANSWERS_KEPT = 8


def shared_answers(identifiers: tuple[Any, ...], claims: tuple[PodClaim, ...]) -> DeviceAnswers:
    """`device_need` of `claims` against each identifier's `devices` catalog, remembered (see `_ANSWERS`)."""
    for known, asked, found in _ANSWERS:
        if known is identifiers and asked == claims:
            return found
    index: dict[object, int] = {}
    answers: list[Needs | str] = []
    by_catalog: dict[int, int] = {}
    of = np.zeros(len(identifiers), dtype=np.int64)
    for i, ident in enumerate(identifiers):
        catalog = ident.devices
        at = by_catalog.get(id(catalog))
        if at is None:
            answer = device_need(catalog, claims)
            key: object = answer if isinstance(answer, str) else tuple(sorted(answer.items()))
            at = index.get(key)
            if at is None:
                at = index[key] = len(answers)
                answers.append(answer)
            by_catalog[id(catalog)] = at
        of[i] = at
    found = DeviceAnswers(of, tuple(answers))
    _ANSWERS.insert(0, (identifiers, claims, found))
    del _ANSWERS[_ANSWERS_KEPT:]
    return found


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


@dataclass(frozen=True, slots=True)
class DeviceTable:
    """The devices of every node that has any, as arrays: one row per such node, one column per driver.

    Built once per set of published devices (snapshots share it until a node's devices change), so a
    decision counts the devices of thousands of nodes in a few vector operations.
    """

    rows: IntArray
    """Sorted snapshot rows of the nodes publishing devices."""
    drivers: tuple[str, ...]
    total: IntArray
    """(rows x drivers): devices published."""
    free: IntArray
    """(rows x drivers): devices no allocated claim lists."""

    index: IntArray
    """By node row (up to the largest in `rows`): its index in `rows`, or -1."""

    def locate(self, rows: IntArray) -> tuple[IntArray, BoolArray]:
        """For node `rows`: their index in this table (0 where absent), and whether they are in it at all."""
        at = np.full(len(rows), -1, dtype=np.int64)
        inside = rows < len(self.index)
        at[inside] = self.index[rows[inside]]
        hit = at >= 0
        return np.maximum(at, 0), hit


def table_of(by_row: Mapping[int, tuple[NodeDevices, ...]]) -> DeviceTable:
    """The devices of `by_row` (node row -> its devices) as a `DeviceTable`."""
    rows = np.array(sorted(by_row), dtype=np.int64)
    drivers = tuple(sorted({d.driver for devices in by_row.values() for d in devices}))
    column = {driver: i for i, driver in enumerate(drivers)}
    total = np.zeros((len(rows), len(drivers)), dtype=np.int64)
    free = np.zeros((len(rows), len(drivers)), dtype=np.int64)
    for i, row in enumerate(rows.tolist()):
        for d in by_row[row]:
            total[i, column[d.driver]] += d.total
            free[i, column[d.driver]] += d.free
    index = np.full(int(rows[-1]) + 1 if len(rows) else 0, -1, dtype=np.int64)
    index[rows] = np.arange(len(rows))
    return DeviceTable(rows, drivers, total, free, index)


_TABLES: list[tuple[Mapping[int, tuple[NodeDevices, ...]], DeviceTable]] = []
"""The tables of the last few device mappings: snapshots share their mapping until a node's devices
change, so one table serves every decision in between (matched by identity, and kept referenced)."""
_KEPT = 2


def shared_table(by_row: Mapping[int, tuple[NodeDevices, ...]]) -> DeviceTable:
    """`table_of(by_row)`, built once per mapping."""
    for known, table in _TABLES:
        if known is by_row:
            return table
    table = table_of(by_row)
    _TABLES.insert(0, (by_row, table))
    del _TABLES[_KEPT:]
    return table


def _columns(table: DeviceTable, key: str) -> list[int]:
    if key == ANY_DRIVER:
        return list(range(len(table.drivers)))
    return [i for i, driver in enumerate(table.drivers) if driver == key]


def _held(table: DeviceTable, held: Mapping[int, Mapping[str, int]], key: str) -> IntArray:
    """Per table row, devices of `key` that assumptions hold (of every driver for `ANY_DRIVER`)."""
    out = np.zeros(len(table.rows), dtype=np.int64)
    if held:
        rows = np.fromiter(held, dtype=np.int64, count=len(held))
        at, hit = table.locate(rows)
        for i, row in zip(at[hit].tolist(), rows[hit].tolist(), strict=True):
            amounts = held[row]
            out[i] += sum(amounts.values()) if key == ANY_DRIVER else amounts.get(key, 0)
    return out


def table_slots(
    table: DeviceTable, needs: Needs, held: Mapping[int, Mapping[str, int]], cap: int, *, allocatable: bool = False
) -> IntArray:
    """Per table row: replicas (at most `cap`) whose claims the node's devices satisfy at once.

    `held` is what assumptions hold per node row and driver key. With `allocatable`, every device
    counts as free (the most the member's scheduler could ever put there). Distinct drivers are
    independent; a need of any driver competes with every other need for the node's devices, so it
    is checked against the node's total too. All-mode needs every matching device of the node, free,
    and at least one: a node holds one such replica at most.
    """
    size = len(table.rows)
    slots = np.full(size, cap, dtype=np.int64)
    combined = np.zeros(size, dtype=np.int64)
    for key, need in needs.items():
        cols = _columns(table, key)
        total = table.total[:, cols].sum(axis=1)
        free = total.copy() if allocatable else table.free[:, cols].sum(axis=1) - _held(table, held, key)
        np.maximum(free, 0, out=free)
        per = np.full(size, need.count, dtype=np.int64)
        if need.all:
            per += total
            whole = (total > 0) & (free >= total)
            slots = np.where(whole, np.minimum(slots, 1), 0)
        combined += per
        slots = np.where(per > 0, np.minimum(slots, free // np.maximum(per, 1)), slots)
    if ANY_DRIVER in needs and len(needs) > 1:
        cols = _columns(table, ANY_DRIVER)
        free = table.total[:, cols].sum(axis=1) if allocatable else table.free[:, cols].sum(axis=1)
        if not allocatable:
            free = free - _held(table, held, ANY_DRIVER)
        free = np.maximum(free, 0)
        slots = np.where(combined > 0, np.minimum(slots, free // np.maximum(combined, 1)), slots)
    return np.maximum(slots, 0)


def node_slots(
    devices: tuple[NodeDevices, ...], needs: Needs, held: Mapping[str, int], cap: int, *, allocatable: bool = False
) -> int:
    """`table_slots` for one node's devices (0 without any)."""
    if not devices:
        return 0
    return int(table_slots(table_of({0: devices}), needs, {0: held}, cap, allocatable=allocatable)[0])


def _total(devices: Iterable[NodeDevices], key: str) -> int:
    return sum(d.total for d in devices if key == ANY_DRIVER or d.driver == key)


def hold(devices: tuple[NodeDevices, ...], needs: Needs, replicas: int) -> tuple[tuple[str, int], ...]:
    """What `replicas` replicas claim on a node, per driver key (All-mode needs take the node's total)."""
    out = []
    for key, need in sorted(needs.items()):
        per = need.count + (_total(devices, key) if need.all else 0)
        if per * replicas:
            out.append((key, per * replicas))
    return tuple(out)
