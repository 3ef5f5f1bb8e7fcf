"""A ComputeTask's demand as placement sees it: per-replica amounts, constraints and weights.

Amounts are integers (cpu millicores, memory bytes, device counts); the lead converts the task's
quantities. A gang of `replicas` must land in one identifier, on one accelerator model, with as
many replicas per node as fit. The pod template's node constraints (nodeSelector, nodeName,
tolerations, node affinity) come from `pod_spec.pod_constraints`, and must all hold on a node
together with the identifier's own partition selector, as kube-scheduler requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from computenet.placement.accelerators import canonical
from computenet.placement.affinity import NodeAffinity
from computenet.placement.devices import PodClaim
from computenet.placement.nodes import Toleration
from computenet.placement.resources import VENDOR_RESOURCES, Usage
from computenet.placement.slices import SliceRequest


class Strategy(StrEnum):
    BINPACK = "binpack"
    SPREAD = "spread"


@dataclass(frozen=True)
class AcceleratorDemand:
    """Devices per replica; `models` is any-of (empty: any model of `vendor`, or of any vendor)."""

    count: int
    vendor: str | None = None
    models: tuple[str, ...] = ()
    min_memory_mib: int = 0
    slices: SliceRequest | None = None
    """Units that are not whole devices (MIG slices, shared replicas); None: whole devices only."""

    def __post_init__(self) -> None:
        if self.vendor is not None and self.vendor not in VENDOR_RESOURCES:
            raise ValueError(f"unknown accelerator vendor {self.vendor!r}")
        object.__setattr__(self, "models", tuple(canonical(m) for m in self.models))


@dataclass(frozen=True)
class Constraints:
    regions_required: tuple[str, ...] = ()
    regions_preferred: tuple[str, ...] = ()
    regions_forbidden: tuple[str, ...] = ()
    providers_allowed: tuple[str, ...] = ()
    providers_denied: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()
    compute_class: str | None = None
    max_price_per_hour: float | None = None
    currency: str | None = None
    max_latency_ms: float | None = None


@dataclass(frozen=True)
class Data:
    region: str
    size_bytes: int = 0


@dataclass(frozen=True)
class Weights:
    """How much each score counts; a pool sets defaults, a task may override. Zero disables one."""

    fit: float = 1.0
    price: float = 1.0
    locality: float = 1.0
    reliability: float = 1.0
    preference: float = 1.0
    affinity: float = 1.0
    """The pod template's preferred node affinity (see `scores.node_preference`)."""

    def __post_init__(self) -> None:
        if min(self.fit, self.price, self.locality, self.reliability, self.preference, self.affinity) < 0:
            raise ValueError("score weights must not be negative")


@dataclass(frozen=True)
class Demand:
    uid: str
    namespace: str = "default"
    name: str = ""
    priority: int = 0
    created: float = 0.0
    replicas: int = 1
    cpu: int = 0
    memory: int = 0
    accelerators: AcceleratorDemand | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    node_name: str | None = None
    """The pod template's nodeName: its pods run on that node or nowhere."""
    node_affinity: NodeAffinity | None = None
    """The pod template's node affinity: required terms filter nodes, preferred ones score them."""
    unevaluated: tuple[str, ...] = ()
    """Pod constraints placement cannot evaluate (e.g. "podAntiAffinity"); decisions name them."""
    claims: tuple[PodClaim, ...] = ()
    """The pod template's DRA resourceClaims: each replica's pod gets its own claims (see `devices`)."""
    constraints: Constraints = field(default_factory=Constraints)
    data: Data | None = None
    weights: Weights = field(default_factory=Weights)
    strategy: Strategy = Strategy.BINPACK
    suspended: bool = False
    identifiers: frozenset[str] | None = None
    """The identifiers the task may use, i.e. its pool's members; None: every identifier."""
    pinned: str | None = None
    """The one identifier the task may run on (an accepted offer); None: any that fits."""
    avoided: Mapping[str, str] = field(default_factory=dict)
    """Identifiers passed over for now, with why: an earlier attempt could not start there."""

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise ValueError("a task needs at least one replica")
        if min(self.cpu, self.memory, self.devices) < 0:
            raise ValueError("negative resource request")

    @property
    def devices(self) -> int:
        return self.accelerators.count if self.accelerators else 0

    @property
    def per_replica(self) -> Usage:
        return Usage(self.cpu, self.memory, self.devices)
