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

DRA devices (published in ResourceSlices, see `dra`) count as accelerators too, by model where an
attribute names it (else by driver): allocatable is what the node's complete pools publish,
allocated what allocated claims list, free the rest, on nodes that accept new pods.

Extended resources served by DRA (KEP-5004, `placement.devices.extended_supply`) count once: a
node whose allocatable has the resource is the device plugin's, and the DRA devices its class
admits there are not added again; on a node without it, the pods' requests for it are served by
the devices of their extended-resource claims, which count as allocated devices, not as requests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from computenet.members.facts import NodeFacts
from computenet.placement.accelerators import accelerator_facts
from computenet.placement.devices import DeviceClass, NodeDevices, counted_once
from computenet.placement.nodes import accepts_new_pods, pod_slots_left

ModelOf = Callable[[Mapping[str, str], str], str | None]
"""(node labels, extended resource name) -> accelerator model, or None when the node does not say."""

UNKNOWN_MODEL = "unknown"


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


def model_of(labels: Mapping[str, str], resource: str) -> str | None:
    """The model a node's `resource` devices are, as the accelerator catalogue spells it."""
    facts = accelerator_facts(labels, {resource: 1})
    return facts.model if facts is not None and facts.resource == resource else None


def is_accelerator(resource: str) -> bool:
    """Extended resources that are devices (vendor-domain names, not hugepages or ephemeral storage)."""
    return "/" in resource and not resource.startswith(("hugepages-", "kubernetes.io/"))


def _inc(into: dict[str, int], name: str, amount: int) -> None:
    into[name] = into.get(name, 0) + amount


def summarize(
    nodes: Iterable[NodeFacts],
    requested_on: Callable[[str], Mapping[str, int]],
    model_of: ModelOf,
    served: Mapping[str, DeviceClass] | None = None,
) -> Capacity:
    """Sum capacity over `nodes`; `requested_on(node)` gives what non-terminated pods hold there.

    `served` maps the extended resources DRA serves to their DeviceClass (see the module docstring).
    """
    served = served or {}
    cap = Capacity()
    for node in nodes:
        cap.nodes_total += 1
        schedulable = accepts_new_pods(node)
        cap.nodes_ready += node.ready
        cap.nodes_schedulable += schedulable
        used = requested_on(node.name)
        has_room = schedulable and pod_slots_left(node.allocatable, used)
        for name, amount in node.capacity.items():
            _inc(cap.capacity, name, amount)
        for name, amount in node.allocatable.items():
            _inc(cap.allocatable, name, amount)
            held = used.get(name, 0)
            _inc(cap.allocated, name, held)
            node_free = max(amount - held, 0) if has_room else 0
            _inc(cap.free, name, node_free)
            if is_accelerator(name) and amount > 0:
                model = model_of(node.labels, name) or UNKNOWN_MODEL
                m = cap.accelerators.setdefault(model, ModelCapacity(resource=name))
                m.capacity += node.capacity.get(name, amount)
                m.allocatable += amount
                m.allocated += held
                m.free += node_free
                m.nodes += 1
                m.largest_free_slot = max(m.largest_free_slot, node_free)
        for dra in _per_model(counted_once(node.devices, node.allocatable, served) if served else node.devices):
            _count_dra(cap.accelerators, dra, has_room)
        # Requests for resources a node does not advertise still count as allocated, unless DRA
        # devices serve them (their claims' devices are counted allocated above).
        for name, held in used.items():
            if name not in node.allocatable and name not in served:
                _inc(cap.allocated, name, held)
    return cap


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
