"""Nodes as the member layer reports them, and the two Kubernetes rules placement mirrors.

A pod lands on a node only if the node's labels satisfy the pod's nodeSelector and the pod
tolerates every NoSchedule/NoExecute taint. Placement applies the same rules so that it never
picks an identifier whose scheduler would leave the pods Pending. PreferNoSchedule taints are
soft and do not reject. Node affinity, topology spread and pod affinity are not modelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

BLOCKING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})


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
