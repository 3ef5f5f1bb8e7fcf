"""Capacity of one identifier: totals per resource and per accelerator model, down to the node.

Allocated is what kube-scheduler has charged each node: the requests of the non-terminated pods
bound to it, counted by :mod:`computenet.podresources` (sidecars, init containers, pod-level
resources and overhead included) plus one ``pods`` slot each.

Free is what one more ordinary pod could still get, so it is counted only where kube-scheduler
would bind one (``placement.nodes``):
- on nodes that accept new pods: Ready, not cordoned, and without a node-condition taint
  (``node.kubernetes.io/not-ready``, ``unreachable``, ``unschedulable``, ``*-pressure``, ...).
  A cordoned or NotReady node's idle GPUs are not capacity anyone can use. Taints a cluster puts
  on its own pools (``nvidia.com/gpu:NoSchedule``) do not hide capacity here, since tasks that
  tolerate them use it; placement's Taints filter decides per task;
- and on nodes with a pod slot left: where bound pods already fill the node's allocatable
  ``pods``, nothing on it is free (kube-scheduler's "Too many pods").
The largest free slot per model is the most devices of that model free on a single node, which is
what decides whether a multi-GPU pod fits at all.

A unit of a device resource is not always a device (``placement.device_plugins``): MIG slices,
vendor partitions and time-slicing/MPS replicas are rows of their own (``A100-SXM4-80GB-MIG-1g.10gb``,
``NVIDIA-H100-80GB-HBM3-SHARED``), counted in units, each row saying which partition or sharing
it is. ``devices_total`` and ``devices_free`` count physical devices (``placement.physical``): a node
with 8 GPUs time-sliced 4 ways advertises 32 units and holds 8 devices; MIG slices are not devices.

DRA devices (published in ResourceSlices, see `dra`) count as accelerators too, by model where an
attribute names it (else by driver): allocatable is what the node's complete pools publish,
allocated what allocated claims list, free the rest, on nodes that accept new pods.

Extended resources served by DRA (KEP-5004, `placement.devices.extended_supply`) count once: a
node whose allocatable has the resource is the device plugin's, and the DRA devices its class
admits there are not added again; on a node without it, the pods' requests for it are served by
the devices of their extended-resource claims, which count as allocated devices, not as requests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from computenet.members.facts import NodeFacts
from computenet.placement.device_plugins import UNKNOWN, Unit, is_device_resource, unit_of
from computenet.placement.devices import DeviceClass, NodeDevices, counted_once
from computenet.placement.nodes import accepts_new_pods, pod_slots_left
from computenet.placement.physical import physical_devices

ModelOf = Callable[[Mapping[str, str], str], str | None]
"""(node labels, extended resource name) -> accelerator model, or None when the node does not say."""

UNKNOWN_MODEL = UNKNOWN


@dataclass
class ModelCapacity:
    resource: str
    """The extended resource of the devices; "" for DRA devices (see `driver`)."""
    capacity: int = 0
    allocatable: int = 0
    allocated: int = 0
    free: int = 0
    largest_free_slot: int = 0
    nodes: int = 0
    driver: str = ""
    """The DRA driver publishing the devices; "" for an extended resource."""
    vendor: str = ""
    partition: str = ""
    """The MIG profile or vendor partition one unit is ("1g.10gb", "cpx_nps4"); "" for whole devices."""
    replicas: int = 0
    """Units sharing one device or partition (time-slicing, MPS); 0 when a unit is not shared."""


@dataclass
class LevelDomains:
    """One interconnect level's domains among the nodes (``spec.topology.levels``), and the roomiest."""

    level: str
    node_label: str
    domains: int = 0
    largest_free_accelerators: int = 0
    """The most accelerator units (and DRA devices) free in one domain, on nodes that accept new pods."""
    largest_free_nodes: int = 0
    """The most nodes of one domain that accept new pods and have a pod slot left."""


@dataclass
class Capacity:
    nodes_total: int = 0
    nodes_ready: int = 0
    nodes_schedulable: int = 0
    capacity: dict[str, int] = field(default_factory=dict)
    allocatable: dict[str, int] = field(default_factory=dict)
    allocated: dict[str, int] = field(default_factory=dict)
    free: dict[str, int] = field(default_factory=dict)
    accelerators: dict[str, ModelCapacity] = field(default_factory=dict)
    devices_total: int = 0
    """Physical accelerators on the nodes: whole devices, and the devices behind slices and replicas."""
    devices_free: int = 0
    """Physical accelerators nothing holds a unit of, on nodes that accept new pods (a lower bound)."""
    topology: list[LevelDomains] = field(default_factory=list)
    """Per declared level, coarsest first (see `summarize`)."""


def model_of(labels: Mapping[str, str], resource: str) -> str | None:
    """The model one unit of a node's `resource` is (a slice's own model for a slice); None when unlabelled."""
    return _model(unit_of(resource, labels))


def _model(unit: Unit | None) -> str | None:
    return None if unit is None or (unit.whole and unit.device_model == UNKNOWN) else unit.model


def is_accelerator(resource: str) -> bool:
    """Extended resources that are devices or slices of them (not hugepages, ephemeral storage or millicores)."""
    return is_device_resource(resource)


def _inc(into: dict[str, int], name: str, amount: int) -> None:
    into[name] = into.get(name, 0) + amount


def summarize(
    nodes: Iterable[NodeFacts],
    requested_on: Callable[[str], Mapping[str, int]],
    model_of: ModelOf,
    served: Mapping[str, DeviceClass] | None = None,
    levels: Sequence[tuple[str, str]] = (),
) -> Capacity:
    """Sum capacity over `nodes`; `requested_on(node)` gives what non-terminated pods hold there.

    `served` maps the extended resources DRA serves to their DeviceClass (see the module docstring).
    `levels` are the identifier's interconnect levels, coarsest first, as (name, node label): per
    level, its domains (distinct values of the label) are counted, with the most accelerator units
    free in one of them and the most nodes with room in one of them (each its own maximum).
    """
    served = served or {}
    cap = Capacity()
    by_level: list[dict[str, list[int]]] = [{} for _ in levels]  # per level: domain -> [free units, nodes]
    dra_rows: list[tuple[NodeDevices, bool]] = []  # counted after every node's extended resources (see below)
    for node in nodes:
        cap.nodes_total += 1
        schedulable = accepts_new_pods(node)
        cap.nodes_ready += node.ready
        cap.nodes_schedulable += schedulable
        used = requested_on(node.name)
        has_room = schedulable and pod_slots_left(node.allocatable, used)
        units_free = 0
        for name, amount in node.capacity.items():
            _inc(cap.capacity, name, amount)
        for name, amount in node.allocatable.items():
            _inc(cap.allocatable, name, amount)
            held = used.get(name, 0)
            _inc(cap.allocated, name, held)
            node_free = max(amount - held, 0) if has_room else 0
            _inc(cap.free, name, node_free)
            if is_accelerator(name) and amount > 0:
                unit = unit_of(name, node.labels, amount)
                model = (_model(unit) if unit is not None else model_of(node.labels, name)) or UNKNOWN_MODEL
                m = cap.accelerators.get(model) or _row(cap, model, name, unit)
                m.capacity += node.capacity.get(name, amount)
                m.allocatable += amount
                m.allocated += held
                m.free += node_free
                m.nodes += 1
                m.largest_free_slot = max(m.largest_free_slot, node_free)
                units_free += node_free
        physical = physical_devices(node.labels, node.allocatable, used, has_room)
        cap.devices_total += physical.total
        cap.devices_free += physical.free
        for dra in _per_model(counted_once(node.devices, node.allocatable, served) if served else node.devices):
            dra_rows.append((dra, has_room))
            cap.devices_total += dra.total
            cap.devices_free += dra.free if has_room else 0
            units_free += dra.free if has_room else 0
        for (_, label), domains in zip(levels, by_level, strict=True):
            value = node.labels.get(label)
            if value is not None:
                domain = domains.setdefault(value, [0, 0])
                domain[0] += units_free
                domain[1] += has_room
        # Requests for resources a node does not advertise still count as allocated, unless DRA
        # devices serve them (their claims' devices are counted allocated above).
        for name, held in used.items():
            if name not in node.allocatable and name not in served:
                _inc(cap.allocated, name, held)
    # DRA rows last, so that a model also served as an extended resource keeps its plain name for
    # the extended resource's row whatever order the nodes come in (the DRA devices go under
    # "<model> (<driver>)"), and the two are never summed into one row.
    for dra, has_room in dra_rows:
        _count_dra(cap.accelerators, dra, has_room)
    for (name, label), domains in zip(levels, by_level, strict=True):
        free = [d[0] for d in domains.values()]
        nodes_free = [d[1] for d in domains.values()]
        cap.topology.append(LevelDomains(name, label, len(domains), max(free, default=0), max(nodes_free, default=0)))
    return cap


def _row(cap: Capacity, model: str, resource: str, unit: Unit | None) -> ModelCapacity:
    """A new row for `model`'s units of `resource`, saying what one unit is."""
    row = ModelCapacity(resource=resource)
    if unit is not None:
        row.vendor = unit.vendor
        row.partition = unit.partition or ""
        row.replicas = unit.replicas if unit.shared else 0
    cap.accelerators[model] = row
    return row


def _per_model(devices: Iterable[NodeDevices]) -> list[NodeDevices]:
    """One node's DRA devices summed per (driver, model).

    Devices of one model may differ in shape (a driver version, a uuid each); the node counts once
    per model, and its largest free slot is all of that model's free devices.
    """
    summed: dict[tuple[str, str], NodeDevices] = {}
    for d in devices:
        held = summed.get((d.driver, d.model))
        summed[(d.driver, d.model)] = (
            d if held is None else NodeDevices(d.driver, d.model, held.total + d.total, held.free + d.free)
        )
    return list(summed.values())


def _count_dra(accelerators: dict[str, ModelCapacity], devices: NodeDevices, has_room: bool) -> None:
    """Add one node's DRA devices of one driver and model (keyed by model, by driver without one)."""
    key = devices.model or devices.driver
    held = accelerators.get(key)
    if held is not None and held.driver != devices.driver:
        key = f"{key} ({devices.driver})"  # the same model as an extended resource, or of another driver
    m = accelerators.setdefault(key, ModelCapacity(resource="", driver=devices.driver))
    free = devices.free if has_room else 0
    m.capacity += devices.total
    m.allocatable += devices.total
    m.allocated += devices.total - devices.free
    m.free += free
    m.nodes += 1
    m.largest_free_slot = max(m.largest_free_slot, free)
