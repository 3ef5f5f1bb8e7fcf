"""The facts placement and capacity need from a member's DRA objects (``resource.k8s.io/v1``).

Reflectors reduce each object on arrival (see `reflector`):

- ResourceSlice -> `SliceFacts`: driver, pool (name, generation, slice count), the node it is local
  to, and its devices' names, models and shapes (attributes, capacity, what CEL selectors see);
- ResourceClaim -> the devices its allocation lists (``status.allocation.devices.results``), or
  None while it is unallocated: only allocated claims take devices;
- DeviceClass -> `placement.devices.DeviceClass`: its CEL selectors, compiled once per expression in
  the DRA CEL environment (`placement.dra_cel`, quantities parsed by `computenet.quantity`), one
  that does not compile named by its field; and the extended resource it serves (KEP-5004);
- ResourceClaimTemplate -> `placement.devices.ClaimTemplate`: its requests and their selectors, with
  anything placement does not evaluate named.

`node_devices` then counts, per node, devices by driver and model, total and free, by the rules of
the structured allocator in k8s.io/dynamic-resource-allocation v0.36.3
(``structured/internal/stable/pools_stable.go`` GatherPools and ``allocator_stable.go``): of each
pool (driver, pool name) only the slices of its newest generation count, an incomplete pool (fewer
slices than ``resourceSliceCount``) offers nothing, and a device is in use while an allocated claim
lists it (``deviceInUse``). Slices that are not local to one node (``allNodes``, ``nodeSelector``,
``perDeviceNodeSelection``) and shared counters are not counted yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from computenet.placement.devices import ClaimTemplate, DeviceClass, DeviceRequest, NodeDevices
from computenet.placement.dra_cel import AttributeValue, CompileError, DeviceShape, Environment, Selector
from computenet.quantity import QuantityError, parse_quantity

CEL = Environment(parse_quantity)
"""The DRA CEL environment of every member: compiled selectors are shared by expression."""

DeviceId = tuple[str, str, str]
"""(driver, pool, device): how an allocation result names a device."""

MODEL_ATTRIBUTES = ("model", "productName")
"""Device attributes naming the model, unqualified or in the driver's domain (``gpu.nvidia.com/productName``)."""


@dataclass(frozen=True, slots=True)
class SliceFacts:
    driver: str
    pool: str
    generation: int
    slice_count: int
    node: str | None
    """The node the slice's devices are local to (``spec.nodeName``); None for any other node selection."""
    devices: tuple[tuple[str, str, DeviceShape], ...]
    """(name, model, shape) of each device; model "" when no attribute names it."""


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _model(driver: str, attributes: Mapping[str, Any]) -> str:
    for name in MODEL_ATTRIBUTES:
        for key in (name, f"{driver}/{name}"):
            value = _mapping(attributes.get(key)).get("string")
            if isinstance(value, str) and value:
                return value
    return ""


_ATTRIBUTE_KINDS = ("bool", "int", "string", "version")


def _attribute(raw: object) -> AttributeValue:
    """A DeviceAttribute (resource/v1): the one of bool, int, string, version it sets; else unsupported."""
    value = _mapping(raw)
    for kind in _ATTRIBUTE_KINDS:
        if kind in value and value[kind] is not None:
            return (kind, value[kind])
    return ("unsupported", None)


def _capacity(raw: object) -> Decimal | None:
    try:
        return parse_quantity(_mapping(raw).get("value"))
    except QuantityError:
        return None


def device_shape(driver: str, device: Mapping[str, Any]) -> DeviceShape:
    """What CEL selectors see of one device of a slice (attributes, capacity, allowMultipleAllocations).

    A capacity whose value is not a quantity is left out (the API server refuses such slices).
    """
    attributes = tuple(sorted((str(k), _attribute(v)) for k, v in _mapping(device.get("attributes")).items()))
    capacity = tuple(
        sorted(
            (str(k), q)
            for k, q in ((k, _capacity(v)) for k, v in _mapping(device.get("capacity")).items())
            if q is not None
        )
    )
    return DeviceShape(driver, attributes, capacity, device.get("allowMultipleAllocations") is True)


def device_facts(driver: str, device: Mapping[str, Any]) -> tuple[str, str, DeviceShape]:
    """One device of a slice (``spec.devices[]``): its name, model ("" when no attribute names it) and shape."""
    return (str(device["name"]), _model(driver, _mapping(device.get("attributes"))), device_shape(driver, device))


def slice_facts(obj: Mapping[str, Any]) -> SliceFacts:
    """A ResourceSlice's facts; raises (and the reflector skips the object) when driver or pool is missing."""
    spec = _mapping(obj.get("spec"))
    driver, pool = str(spec["driver"]), _mapping(spec["pool"])
    node = spec.get("nodeName")
    devices = tuple(device_facts(driver, _mapping(raw)) for raw in _items(spec.get("devices")))
    return SliceFacts(
        driver=driver,
        pool=str(pool["name"]),
        generation=int(pool.get("generation", 0)),
        slice_count=int(pool.get("resourceSliceCount", 1)),
        node=node if isinstance(node, str) and node and not spec.get("perDeviceNodeSelection") else None,
        devices=devices,
    )


def claim_facts(obj: Mapping[str, Any]) -> tuple[DeviceId, ...] | None:
    """The devices an allocated ResourceClaim holds; None while it is not allocated."""
    allocation = _mapping(_mapping(obj.get("status")).get("allocation"))
    if not allocation:
        return None
    results = _items(_mapping(allocation.get("devices")).get("results"))
    return tuple(
        (str(r.get("driver", "")), str(r.get("pool", "")), str(r.get("device", "")))
        for r in (_mapping(raw) for raw in results)
    )


def selectors(raw: object, field: str) -> tuple[tuple[Selector, ...], str]:
    """Compiled ``selectors`` (DeviceSelector list), or why one does not: "<field>[i].cel.expression: ...".

    A selector without ``cel`` (a future kind) is named too: placement cannot evaluate it.
    """
    out = []
    for i, entry in enumerate(_items(raw)):
        expression = _mapping(_mapping(entry).get("cel")).get("expression")
        at = f"{field}[{i}]"
        if not isinstance(expression, str):
            return (), f"{at} has no cel.expression, which placement does not evaluate"
        compiled = CEL.compile(expression)
        if isinstance(compiled, CompileError):
            return (), f"{at}.cel.expression {_short(expression)!r}: {compiled.message}"
        out.append(compiled)
    return tuple(out), ""


def class_facts(obj: Mapping[str, Any]) -> DeviceClass:
    """A DeviceClass as placement evaluates it: its compiled selectors, or the one that does not compile."""
    name = str(obj["metadata"]["name"])
    spec = _mapping(obj.get("spec"))
    compiled, problem = selectors(spec.get("selectors"), "spec.selectors")
    extended = spec.get("extendedResourceName")
    created = _mapping(obj.get("metadata")).get("creationTimestamp")
    return DeviceClass(
        name,
        compiled,
        f"has a selector placement cannot evaluate: {problem}" if problem else "",
        extended if isinstance(extended, str) and extended else None,
        str(created) if created else "",
    )


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _request(raw: Mapping[str, Any], index: int) -> DeviceRequest:
    """One DeviceRequest (resource.k8s.io/v1): ``exactly`` with class, mode, count and selectors.

    What placement does not evaluate is named; a selector by its field,
    ``spec.spec.devices.requests[i].exactly.selectors[j].cel.expression``.
    """
    name = str(raw.get("name") or f"#{index}")
    field = f"spec.spec.devices.requests[{index}].exactly.selectors"
    if raw.get("firstAvailable"):
        return DeviceRequest(name, "", problem="it lists firstAvailable subrequests, which placement does not evaluate")
    exactly = _mapping(raw.get("exactly"))
    device_class = exactly.get("deviceClassName")
    if not isinstance(device_class, str) or not device_class:
        return DeviceRequest(name, "", problem="it names no deviceClassName, which placement does not evaluate")
    compiled, problem = selectors(exactly.get("selectors"), field)
    if problem:
        return DeviceRequest(name, device_class, problem=f"the template's {problem}")
    unsupported = [f for f in ("capacity", "tolerations") if exactly.get(f)]
    if exactly.get("adminAccess"):
        unsupported.append("adminAccess")
    mode = exactly.get("allocationMode") or "ExactCount"
    if mode not in ("ExactCount", "All"):
        unsupported.append(f"allocationMode {mode}")
    count = exactly.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        unsupported.append(f"count {count!r}")
        count = 1
    problem = f"it sets {', '.join(unsupported)}, which placement does not evaluate" if unsupported else ""
    return DeviceRequest(name, device_class, count if mode == "ExactCount" else 0, mode == "All", problem, compiled)


def template_facts(obj: Mapping[str, Any]) -> ClaimTemplate:
    """A ResourceClaimTemplate's requests; constraints across requests are not evaluated yet."""
    devices = _mapping(_mapping(_mapping(obj.get("spec")).get("spec")).get("devices"))
    requests = tuple(_request(_mapping(r), i) for i, r in enumerate(_items(devices.get("requests"))))
    problem = (
        "has device constraints (matchAttribute), which placement does not evaluate"
        if devices.get("constraints")
        else ""
    )
    return ClaimTemplate(str(obj["metadata"]["name"]), requests, problem)


def node_devices(slices: Iterable[SliceFacts], in_use: Iterable[DeviceId]) -> dict[str, tuple[NodeDevices, ...]]:
    """Per node, its devices by (driver, model, shape): total and free, from the complete newest pools."""
    newest: dict[tuple[str, str], list[SliceFacts]] = {}
    for s in slices:
        pool = newest.setdefault((s.driver, s.pool), [s])
        if s.generation > pool[0].generation:
            newest[(s.driver, s.pool)] = [s]
        elif s.generation == pool[0].generation and s is not pool[0]:
            pool.append(s)
    used = set(in_use)
    counts: dict[str, dict[tuple[str, str, DeviceShape], list[int]]] = {}
    for (driver, pool_name), pool_slices in newest.items():
        if len(pool_slices) != pool_slices[0].slice_count:
            continue  # incomplete: the allocator takes nothing from it
        for s in pool_slices:
            if s.node is None:
                continue
            per_node = counts.setdefault(s.node, {})
            for device, model, shape in s.devices:
                held = per_node.setdefault((driver, model, shape), [0, 0])
                held[0] += 1
                held[1] += (driver, pool_name, device) not in used
    return {
        node: tuple(
            NodeDevices(driver, model, total, free, shape)
            for (driver, model, shape), (total, free) in sorted(by.items(), key=_by_model)
        )
        for node, by in counts.items()
    }


def _by_model(item: tuple[tuple[str, str, DeviceShape], list[int]]) -> tuple[str, str, str]:
    (driver, model, shape), _ = item
    return (driver, model, repr(shape))
