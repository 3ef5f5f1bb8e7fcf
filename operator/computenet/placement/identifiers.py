"""A ComputeIdentifier as placement sees it: the facts filters and scores read, as plain values.

The lead builds these from the ComputeIdentifier objects and the member's health. One member
cluster may be partitioned into several identifiers by `node_selector`; their nodes are stored
once per cluster (see `builder`), so `cluster` names the member the nodes come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from computenet.placement.devices import DeviceCatalog
from computenet.placement.labels import Selector


class ComputeClass(StrEnum):
    GENERAL = "general"
    AI = "ai"
    HPC = "hpc"
    EDGE = "edge"


@dataclass(frozen=True)
class Pricing:
    """Prices per hour in one currency; accelerators priced per model (table or label spelling).

    A missing cpu or memory price counts as zero (providers often fold them into the device
    price); a missing price for the accelerator model a task would use makes the price unknown.
    """

    currency: str
    per_cpu_core_hour: float | None = None
    per_gib_hour: float | None = None
    per_accelerator_hour: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Network:
    """Round-trip latency in ms from this identifier to named regions, and its bandwidth in Gbps."""

    latency_ms: Mapping[str, float] = field(default_factory=dict)
    bandwidth_gbps: float | None = None


@dataclass(frozen=True)
class Store:
    """The object store near the identifier's compute, as placement weighs it (``spec.storage``).

    `egress_per_gib`: what moving one GiB out of it costs, in `currency` (the identifier's pricing
    currency). Data leaving a region is priced by its store (see `transfer`).
    """

    egress_per_gib: float
    currency: str
    endpoint: str = ""
    """The store's S3 endpoint: an input whose URI names it sits in the identifier's region (``tasks.demand``)."""


@dataclass(frozen=True)
class Identifier:
    name: str
    cluster: str
    uri: str = ""
    ready: bool = True
    not_ready_reason: str = ""
    provider: str = ""
    region: str = ""
    zone: str = ""
    compute_class: ComputeClass = ComputeClass.GENERAL
    architectures: tuple[str, ...] = ()
    pricing: Pricing | None = None
    network: Network = field(default_factory=Network)
    store: Store | None = None
    """The object store near its compute; None: it declares none."""
    recent_failures: int = 0
    node_selector: Mapping[str, str] | Selector = field(default_factory=dict)
    """The partition: matchLabels as a dict, or a full `labels.Selector` with matchExpressions."""
    devices: DeviceCatalog | None = None
    """The member's DRA classes and the claim templates of the identifier's target namespace; None:
    not known (a task claiming devices is then not placed here)."""
    workload_kinds: frozenset[str] | None = None
    """The workload kinds the member serves (``"<apiVersion> <kind>"``, e.g. ``"jobset.x-k8s.io/v1alpha2
    JobSet"``), from its API discovery; None: not known (e.g. a pull member), so not filtered on."""
    stages_data: bool = True
    """Whether the operator can stage a task's data there (movers, fetches, a push): push members; a
    pull member's agent runs no movers yet (see `filters.staging`)."""
    levels: tuple[tuple[str, str], ...] = ()
    """Its interconnect levels, coarsest first, as (name, node label) (``spec.topology.levels``, see `topology`)."""
