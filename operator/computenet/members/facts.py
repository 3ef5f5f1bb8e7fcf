"""The few facts about nodes and pods that placement and capacity need, parsed once on arrival.

Whole Kubernetes objects are large; a member with 10,000 nodes and their pods would cost
hundreds of megabytes as dicts. These records keep resource amounts as integers (cpu in
millicores, everything else in base units) so arithmetic later is exact and cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from computenet.api.constants import ATTEMPT_LABEL, TASK_UID_LABEL
from computenet.quantity import QuantityError, cpu_millis, to_int_units

TERMINAL_POD_PHASES = frozenset({"Succeeded", "Failed"})


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str
    effect: str


@dataclass(frozen=True, slots=True)
class NodeFacts:
    name: str
    labels: Mapping[str, str]
    capacity: Mapping[str, int]
    allocatable: Mapping[str, int]
    taints: tuple[Taint, ...]
    ready: bool
    unschedulable: bool


@dataclass(frozen=True, slots=True)
class PodFacts:
    node: str | None
    requests: Mapping[str, int]
    task_uid: str | None
    attempt: str | None


def resource_amounts(raw: Mapping[str, Any] | None) -> dict[str, int]:
    """Kubernetes resource quantities as integers; a malformed one is skipped, not fatal."""
    out: dict[str, int] = {}
    for name, value in (raw or {}).items():
        try:
            out[name] = cpu_millis(value) if name == "cpu" else to_int_units(value)
        except QuantityError:
            continue
    return out


def node_facts(obj: Mapping[str, Any]) -> NodeFacts:
    meta, spec, status = obj["metadata"], obj.get("spec", {}), obj.get("status", {})
    conditions = status.get("conditions") or ()
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    taints = tuple(Taint(t.get("key", ""), t.get("value", ""), t.get("effect", "")) for t in spec.get("taints") or ())
    return NodeFacts(
        name=meta["name"],
        labels=dict(meta.get("labels") or {}),
        capacity=resource_amounts(status.get("capacity")),
        allocatable=resource_amounts(status.get("allocatable")),
        taints=taints,
        ready=ready,
        unschedulable=bool(spec.get("unschedulable", False)),
    )


def pod_requests(spec: Mapping[str, Any]) -> dict[str, int]:
    """What the scheduler reserves for a pod: the larger of its containers' sum and any init container."""
    total: dict[str, int] = {}
    for c in spec.get("containers") or ():
        for name, amount in resource_amounts((c.get("resources") or {}).get("requests")).items():
            total[name] = total.get(name, 0) + amount
        # Extended resources (GPUs) are often given as limits only; limits then imply requests.
        for name, amount in resource_amounts((c.get("resources") or {}).get("limits")).items():
            if "/" in name and name not in ((c.get("resources") or {}).get("requests") or {}):
                total[name] = total.get(name, 0) + amount
    for c in spec.get("initContainers") or ():
        for name, amount in resource_amounts((c.get("resources") or {}).get("requests")).items():
            total[name] = max(total.get(name, 0), amount)
    for name, amount in resource_amounts(spec.get("overhead")).items():
        total[name] = total.get(name, 0) + amount
    total["pods"] = 1  # every pod takes one of the node's pod slots
    return total


def pod_facts(obj: Mapping[str, Any]) -> PodFacts | None:
    """Facts of a pod that holds resources, or None once it has terminated."""
    if (obj.get("status") or {}).get("phase") in TERMINAL_POD_PHASES:
        return None
    labels = obj["metadata"].get("labels") or {}
    spec = obj.get("spec") or {}
    return PodFacts(
        node=spec.get("nodeName") or None,
        requests=pod_requests(spec),
        task_uid=labels.get(TASK_UID_LABEL),
        attempt=labels.get(ATTEMPT_LABEL),
    )
