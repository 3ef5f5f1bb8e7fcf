"""A member's DRA objects in an agent's report, both ways (pure).

The agent keeps its member's ResourceSlices, allocated ResourceClaims and DeviceClasses as facts
with the push path's own reflectors (`dra_state.DraState`); `dra_body` writes those facts as
compact records (a slice's pool, node and devices' attributes and capacity; a claim's device names;
a class's selector expressions), never whole objects. `dra_facts` reads them back on the hub into
the same facts, through the same functions that read the objects on a push member
(`dra.device_facts`, `dra.class_facts`), so a pull member's `DraState` equals the one a push
member's watches would give from the same objects, and `dra.node_devices` counts it alike.

A report carries at most ``MAX_REPORTED_DEVICES`` devices and as many allocated claims; a member
that publishes more reports none, saying so in ``problem``: its DRA devices are then unknown to the
hub, as when the agent may not read them, and tasks claiming them are not placed there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from computenet.api.agent import MAX_REPORTED_DEVICES, ReportedDevice, ReportedDeviceClass, ReportedDra
from computenet.members.dra import DeviceId, SliceFacts, class_facts, device_facts
from computenet.members.dra_state import DraState
from computenet.placement.devices import DeviceClass
from computenet.placement.dra_cel import AttributeValue, DeviceShape

__all__ = ["REPORTED_DRA_WATCHES", "DraFacts", "dra_body", "dra_facts"]

REPORTED_DRA_WATCHES = ("resourceslices", "resourceclaims", "deviceclasses")
"""The agent's DRA watches a report carries (task templates are read on the hub)."""


@dataclass(frozen=True)
class DraFacts:
    """A report's DRA section as the hub keeps it: the tables of `DraState` it fills, and why they are unknown."""

    slices: dict[str, SliceFacts]
    claims: dict[str, tuple[DeviceId, ...]]
    classes: dict[str, DeviceClass]
    problem: str = ""


def _attribute(value: AttributeValue) -> dict[str, Any]:
    kind, raw = value
    return {kind: raw} if kind in ("bool", "int", "string", "version") else {}


def _device(name: str, shape: DeviceShape) -> dict[str, Any]:
    device: dict[str, Any] = {"name": name}
    if shape.attributes:
        device["attributes"] = {k: _attribute(v) for k, v in shape.attributes}
    if shape.capacity:
        device["capacity"] = {k: format(q, "f") for k, q in shape.capacity}
    if shape.allow_multiple_allocations:
        device["allowMultipleAllocations"] = True
    return device


def _slice(name: str, s: SliceFacts) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "driver": s.driver, "pool": s.pool, "generation": s.generation}
    out["sliceCount"] = s.slice_count
    if s.node is not None:
        out["node"] = s.node
    out["devices"] = [_device(device, shape) for device, _model, shape in s.devices]
    return out


def _class(c: DeviceClass) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name}
    if c.problem:
        out["problem"] = c.problem[:1024]
    elif c.selectors:
        out["selectors"] = [s.expression for s in c.selectors]
    if c.extended_resource:
        out["extendedResourceName"] = c.extended_resource
    if c.created:
        out["created"] = c.created
    return out


def dra_body(dra: DraState, problem: str = "") -> dict[str, Any]:
    """The ``dra`` section of a report (JSON), sorted by name so that the same facts give the same body.

    `problem` says why the agent's DRA watches are not current ("" while they are); a member with
    more than ``MAX_REPORTED_DEVICES`` devices or allocated claims reports its classes only, and why.
    """
    devices = sum(len(s.devices) for s in dra.slices.values())
    claims = {k: v for k, v in dra.claims.items() if v is not None}
    if not problem and devices > MAX_REPORTED_DEVICES:
        problem = f"the cluster publishes {devices} DRA devices, more than a report carries ({MAX_REPORTED_DEVICES})"
    elif not problem and len(claims) > MAX_REPORTED_DEVICES:
        problem = f"the cluster has {len(claims)} allocated ResourceClaims, more than a report carries"
    body: dict[str, Any] = {"classes": [_class(dra.classes[k]) for k in sorted(dra.classes)]}
    if problem:
        body["problem"] = problem[:512]
        return body
    body["slices"] = [_slice(k, dra.slices[k]) for k in sorted(dra.slices)]
    body["claims"] = [
        {"name": k, "devices": [{"driver": d, "pool": p, "device": n} for d, p, n in claims[k][:32]]}
        for k in sorted(claims)
    ]
    return body


def _device_raw(device: ReportedDevice) -> dict[str, Any]:
    raw: dict[str, Any] = {"name": device.name}
    if device.attributes:
        raw["attributes"] = {
            k: a.model_dump(mode="json", by_alias=True, exclude_none=True) for k, a in device.attributes.items()
        }
    if device.capacity:
        raw["capacity"] = {k: {"value": v} for k, v in device.capacity.items()}
    if device.allow_multiple_allocations:
        raw["allowMultipleAllocations"] = True
    return raw


def _class_facts(c: ReportedDeviceClass) -> DeviceClass:
    if c.problem:
        return DeviceClass(c.name, (), c.problem, c.extended_resource_name or None, c.created or "")
    spec: dict[str, Any] = {"selectors": [{"cel": {"expression": e}} for e in c.selectors or ()]}
    if c.extended_resource_name:
        spec["extendedResourceName"] = c.extended_resource_name
    meta: dict[str, Any] = {"name": c.name}
    if c.created:
        meta["creationTimestamp"] = c.created
    return class_facts({"metadata": meta, "spec": spec})


def dra_facts(report: ReportedDra) -> DraFacts:
    """The facts of a report's ``dra`` section, as the push path's reflectors give them from the objects."""
    slices = {
        s.name: SliceFacts(
            driver=s.driver,
            pool=s.pool,
            generation=s.generation,
            slice_count=s.slice_count,
            node=s.node or None,
            devices=tuple(device_facts(s.driver, _device_raw(d)) for d in s.devices),
        )
        for s in report.slices
    }
    claims = {c.name: tuple((d.driver, d.pool, d.device) for d in c.devices) for c in report.claims}
    classes = {c.name: _class_facts(c) for c in report.classes}
    return DraFacts(slices, claims, classes, report.problem or "")
