"""Nodes as the member layer reports them, and the two Kubernetes rules placement mirrors.

A pod lands on a node only if the node's labels satisfy the pod's nodeSelector and the pod
tolerates every NoSchedule/NoExecute taint. Placement applies the same rules so that it never
picks an identifier whose scheduler would leave the pods Pending. PreferNoSchedule taints are
soft and do not reject. Node affinity is `affinity.py`'s; topology spread and pod affinity are not
modelled.

Two more rules decide whether a node has room for one more pod at all, for any task:
`accepts_new_pods` (Ready, not cordoned, no node-condition taint) and `pod_slots_left` (the
kube-scheduler NodeResourcesFit rule that ``len(pods) + 1 <= allocatable pods``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from computenet.placement.devices import NodeDevices

BLOCKING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
PODS = "pods"
UNLIMITED_PODS = 1 << 24
"""Pod slots of a node that does not report allocatable ``pods``: not limited in practice (kubelet's
default is 110), and small enough that sums over millions of nodes stay exact in float64 group sums."""
NODE_CONDITION_TAINTS = frozenset(
    {
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
        "node.kubernetes.io/unschedulable",
        "node.kubernetes.io/memory-pressure",
        "node.kubernetes.io/disk-pressure",
        "node.kubernetes.io/network-unavailable",
        "node.kubernetes.io/pid-pressure",
        "node.kubernetes.io/out-of-service",
    }
)
"""The taints Kubernetes itself puts on nodes for their condition (k8s.io/api v0.36.3,
``core/v1/well_known_taints.go``); the node lifecycle controller and kubelet set them, and only
system pods tolerate them."""


class TaintLike(Protocol):
    """Anything with a taint's three fields; the member layer's own type fits as is."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def effect(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"


@dataclass(frozen=True, slots=True)
class Toleration:
    """A pod toleration: operator `Exists` or `Equal`; an empty key with Exists tolerates all."""

    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""

    def tolerates(self, taint: TaintLike) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if not self.key:
            return self.operator == "Exists"
        if self.key != taint.key:
            return False
        return self.operator == "Exists" or self.value == taint.value


def tolerated(taints: Iterable[TaintLike], tolerations: Sequence[Toleration]) -> bool:
    """Whether every blocking taint is tolerated by at least one toleration."""
    return all(any(t.tolerates(taint) for t in tolerations) for taint in taints if taint.effect in BLOCKING_EFFECTS)


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Kubernetes `matchLabels` semantics: every selector pair is present in `labels`."""
    return all(labels.get(k) == v for k, v in selector.items())


class NodeLike(Protocol):
    """The node facts the snapshot builder reads (structurally matches the member layer's records)."""

    @property
    def name(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, str]: ...
    @property
    def allocatable(self) -> Mapping[str, int]: ...
    @property
    def taints(self) -> Sequence[TaintLike]: ...
    @property
    def ready(self) -> bool: ...
    @property
    def unschedulable(self) -> bool: ...


@dataclass(frozen=True)
class Node:
    """A node: allocatable and requested amounts as integers (cpu millicores, bytes, devices).

    `requested` is the sum of requests of non-terminated pods bound to the node. Accelerator
    model, device memory and architecture are derived from `labels` by the snapshot builder.
    """

    name: str
    allocatable: Mapping[str, int]
    requested: Mapping[str, int] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: Sequence[TaintLike] = ()
    ready: bool = True
    unschedulable: bool = False
    devices: tuple[NodeDevices, ...] = ()
    """DRA devices published for the node (see `devices`)."""


class NodeState(Protocol):
    """What decides whether a node takes new pods (the member layer's records fit as they are)."""

    @property
    def taints(self) -> Sequence[TaintLike]: ...
    @property
    def ready(self) -> bool: ...
    @property
    def unschedulable(self) -> bool: ...


def accepts_new_pods(node: NodeState) -> bool:
    """Whether kube-scheduler would bind an ordinary pod (no condition tolerations) to this node.

    Ready, not cordoned (``spec.unschedulable``, which kube-scheduler's NodeUnschedulable plugin
    rejects), and without a blocking node-condition taint (``node.kubernetes.io/not-ready`` and
    kin, which the TaintToleration plugin rejects). Taints of the cluster's own choosing (a GPU
    pool's ``nvidia.com/gpu``) are left to the per-task Taints filter.
    """
    return (
        node.ready
        and not node.unschedulable
        and not any(t.key in NODE_CONDITION_TAINTS and t.effect in BLOCKING_EFFECTS for t in node.taints)
    )


def pod_slots_left(allocatable: Mapping[str, int], requested: Mapping[str, int]) -> bool:
    """Whether one more pod fits the node's pod count.

    kube-scheduler v1.36.3, ``noderesources/fit.go`` ``fitsRequest``: ``len(nodeInfo.Pods) + 1 >
    allowedPodNumber`` is "Too many pods". `requested` counts each bound pod as ``pods: 1``; a node
    that does not report ``pods`` in its allocatable is not limited here.
    """
    slots = allocatable.get(PODS)
    return slots is None or requested.get(PODS, 0) < slots
