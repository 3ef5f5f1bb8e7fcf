"""The few facts about nodes and pods that placement and capacity need, parsed once on arrival.

Whole Kubernetes objects are large; a member with 10,000 nodes and their pods would cost
hundreds of megabytes as dicts. These records keep resource amounts as integers (cpu in
millicores, everything else in base units) so arithmetic later is exact and cheap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from computenet import podresources
from computenet.api.constants import ATTEMPT_LABEL, TASK_UID_LABEL
from computenet.api.fields import parse_time
from computenet.placement.devices import NodeDevices
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
    devices: tuple[NodeDevices, ...] = ()
    """DRA devices published for the node, counted from the member's ResourceSlices (see `dra_state`)."""


@dataclass(frozen=True, slots=True)
class PodFacts:
    node: str | None
    requests: Mapping[str, int]
    task_uid: str | None
    attempt: str | None
    unschedulable_since: dt.datetime | None = None
    """When the member's scheduler last found no node for this (unbound) pod, per its PodScheduled condition."""
    unschedulable_message: str = ""
    waiting: str = ""
    """Why a container of this pod cannot start, as the kubelet says (``main: CreateContainerConfigError:
    configmap "x" not found``); empty while it starts normally (see :func:`waiting_problem`)."""


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


def pod_requests(spec: Mapping[str, Any], status: Mapping[str, Any] | None = None) -> dict[str, int]:
    """What the scheduler reserves on a node for a pod, plus the one pod slot it takes (``pods``).

    The rule is kube-scheduler's (see :mod:`computenet.podresources`): containers and sidecars
    summed, init containers as a running maximum, pod-level resources, overhead, limits implying
    requests, and for a bound pod the larger of spec and reported (resized) requests.
    """
    total = podresources.pod_requests(spec, status)
    total["pods"] = 1  # every pod takes one of the node's pod slots
    return total


def holds_resources(obj: Mapping[str, Any]) -> bool:
    """Whether kube-scheduler counts this pod against its node once bound.

    The scheduler's pod informer leaves out Succeeded and Failed pods (``pkg/scheduler/scheduler.go``,
    field selector ``status.phase!=Succeeded,status.phase!=Failed``, v1.36.3); a pod being deleted
    (``deletionTimestamp`` set) stays in its cache, holding its requests, until it is gone.
    """
    return _mapping(obj.get("status")).get("phase") not in TERMINAL_POD_PHASES


def pod_facts(obj: Mapping[str, Any]) -> PodFacts | None:
    """Facts of a pod that holds (or, still unbound, will hold) resources; None once it has terminated.

    ``node`` is set only for a pod bound to a node (``spec.nodeName``); only those count on a node.
    """
    if not holds_resources(obj):
        return None
    labels = _mapping(_mapping(obj.get("metadata")).get("labels"))
    spec = _mapping(obj.get("spec"))
    node = spec.get("nodeName")
    status = obj.get("status")
    since, message = _unschedulable(_mapping(status)) if not node else (None, "")
    return PodFacts(
        node=node if isinstance(node, str) and node else None,
        requests=pod_requests(spec, status if isinstance(status, Mapping) else None),
        task_uid=labels.get(TASK_UID_LABEL),
        attempt=labels.get(ATTEMPT_LABEL),
        unschedulable_since=since,
        unschedulable_message=message,
        waiting=waiting_problem(_mapping(status)),
    )


STARTUP_FAILURES = frozenset(
    {
        "CreateContainerConfigError",
        "CreateContainerError",
        "InvalidImageName",
        "ErrImageNeverPull",
        "ErrImagePull",
        "ImagePullBackOff",
        "RunContainerError",
        "PreStartHookError",
        "CrashLoopBackOff",
    }
)
"""Waiting reasons of a container that is not starting normally (``ContainerCreating`` and
``PodInitializing`` are the normal ones). The kubelet's words: k8s.io/kubernetes v1.36.3
pkg/kubelet/container/sync_result.go (``ErrCreateContainerConfig``, ``ErrCreateContainer``,
``ErrRunContainer``, ``ErrPreStartHook``) and pkg/kubelet/images/types.go (``ErrImagePull``,
``ImagePullBackOff``, ``ErrImageNeverPull``, ``ErrInvalidImageName``); ``CrashLoopBackOff`` from
pkg/kubelet/kuberuntime (a container that keeps exiting under restartPolicy Always or OnFailure:
a Deployment's or StatefulSet's pods never become available, and nothing else would end it)."""


def waiting_problem(status: Mapping[str, Any]) -> str:
    """Why a container of the pod is not starting: ``<container>: <reason>: <message>``, or "".

    The first container (init containers first) waiting for a reason in :data:`STARTUP_FAILURES`.
    """
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or ():
            if not isinstance(cs, Mapping):
                continue
            waiting = _mapping(_mapping(cs.get("state")).get("waiting"))
            reason = str(waiting.get("reason") or "")
            if reason in STARTUP_FAILURES:
                text = f"{cs.get('name', '?')}: {reason}"
                message = str(waiting.get("message") or "")
                return f"{text}: {message[:512]}" if message else text
    return ""


def _unschedulable(status: Mapping[str, Any]) -> tuple[dt.datetime | None, str]:
    """(since, message) of a PodScheduled=False/Unschedulable condition, or (None, "")."""
    for cond in status.get("conditions") or ():
        if not isinstance(cond, Mapping) or cond.get("type") != "PodScheduled":
            continue
        if cond.get("status") == "False" and cond.get("reason") == "Unschedulable":
            try:
                since = parse_time(cond.get("lastTransitionTime"))
            except ValueError:
                return None, ""
            return since, str(cond.get("message") or "")
    return None, ""


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
