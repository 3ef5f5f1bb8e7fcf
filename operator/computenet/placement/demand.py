"""A ComputeTask's demand as placement sees it: per-replica amounts, constraints and weights.

Amounts are integers (cpu millicores, memory bytes, device counts); the lead converts the task's
quantities. A gang of `replicas` must land in one identifier, on one accelerator model, with as
many replicas per node as fit. The pod template's node constraints (nodeSelector, nodeName,
tolerations, node affinity) come from `pod_spec.pod_constraints`, and must all hold on a node
together with the identifier's own partition selector, as kube-scheduler requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from computenet.placement.accelerators import PRECISIONS, canonical
from computenet.placement.affinity import NodeAffinity
from computenet.placement.devices import ClaimTemplate, PodClaim
from computenet.placement.nodes import Toleration
from computenet.placement.resources import VENDOR_RESOURCES, Usage
from computenet.placement.slices import SliceRequest


class Strategy(StrEnum):
    BINPACK = "binpack"
    SPREAD = "spread"


@dataclass(frozen=True)
class ComputeDemand:
    """Normalized compute per replica: at least `tflops` peak dense TFLOPS (TOPS for int8) at `precision`.

    Placement turns it into a model and a device count from the catalogue (`compute.choices`).
    """

    tflops: float
    precision: str

    def __post_init__(self) -> None:
        if self.tflops <= 0:
            raise ValueError("a compute request needs a positive number of TFLOPS")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}: one of {', '.join(PRECISIONS)}")


@dataclass(frozen=True)
class AcceleratorDemand:
    """Devices per replica; `models` is any-of (empty: any model of `vendor`, or of any vendor).

    With `compute`, `count` is 0 until placement chooses a model and a count (`compute.choices`).
    """

    count: int
    vendor: str | None = None
    models: tuple[str, ...] = ()
    min_memory_mib: int = 0
    slices: SliceRequest | None = None
    """Units that are not whole devices (MIG slices, shared replicas); None: whole devices only."""
    resource: str | None = None
    """The extended resource the pods request (``habana.ai/gaudi2``); None: any of the vendor's or models'."""
    compute: ComputeDemand | None = None
    """Normalized compute instead of a count: placement picks the model and count."""

    def __post_init__(self) -> None:
        if self.vendor is not None and self.vendor not in VENDOR_RESOURCES:
            raise ValueError(f"unknown accelerator vendor {self.vendor!r}")
        object.__setattr__(self, "models", tuple(canonical(m) for m in self.models))


@dataclass(frozen=True)
class Variant:
    """One way to run a task: a variant of the task (``spec.variants[].name``) or a model of its compute request.

    `accelerators` are the devices per replica this way asks for (None: none). `name` is the task's
    variant, None for a choice of the task's own compute request.
    """

    accelerators: AcceleratorDemand | None
    name: str | None = None

    @property
    def label(self) -> str:
        """How messages name it: ``variant mi300x``, ``variant amd, 2 x AMD-Instinct-MI300X``, ``4 x NVIDIA-H100``."""
        acc = self.accelerators
        chosen = f"{acc.count} x {acc.models[0]}" if acc is not None and acc.compute and acc.models else ""
        if self.name is None:
            return chosen or "no accelerators"
        return f"variant {self.name}, {chosen}" if chosen else f"variant {self.name}"


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
class Topology:
    """All of the task's pods in one domain of a node label (an NVLink clique, a rack, a network block).

    `level` is the node label key (``nvidia.com/gpu.clique``, ``cloud.google.com/gce-topology-block``);
    `required`: the task waits rather than spread; otherwise one domain is preferred, any placement
    taken when none fits (Kueue's ``podset-required-topology`` and ``podset-preferred-topology``).
    """

    level: str
    required: bool = True


@dataclass(frozen=True)
class DataPiece:
    """Bytes the task reads that sit, whole, in each of `regions` (any one copy will do).

    An input of the task's `spec.data` (a URI: its data region; a dataset: the regions of its
    replicas), or the rest of `spec.data.size` that no input accounts for. `name` says which, for
    the per-identifier details ("dataset tokenizer", "input 0").
    """

    size_bytes: int
    regions: tuple[str, ...]
    name: str = ""

    def __post_init__(self) -> None:
        if self.size_bytes < 0:
            raise ValueError(f"data {self.name or 'piece'}: a negative size")


@dataclass(frozen=True)
class Data:
    """Where the task's data is, how big, and what moving it may take (see `transfer`).

    `pieces` locate the data input by input; without them all `size_bytes` sit in `region`.
    `hours` is how many hours of the task's compute its data cost is weighed against in the Price
    score. `max_transfer_seconds` and `max_cost` (in the task's currency) are the task's caps
    (`spec.data.maxTransferSeconds`, `spec.data.maxDataCost`); None: no cap.
    """

    region: str
    size_bytes: int = 0
    pieces: tuple[DataPiece, ...] = ()
    hours: float = 1.0
    max_transfer_seconds: float | None = None
    max_cost: float | None = None

    def __post_init__(self) -> None:
        if self.hours < 0:
            raise ValueError("data: negative compute hours to weigh its cost against")

    def located(self) -> tuple[DataPiece, ...]:
        """The pieces to move: `pieces`, or the whole `size_bytes` in `region`; () when nothing has a size."""
        if self.pieces:
            return tuple(p for p in self.pieces if p.size_bytes > 0)
        return (DataPiece(self.size_bytes, (self.region,)),) if self.size_bytes > 0 and self.region else ()


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
class PodSetDemand:
    """One role of a task with several pod sets: `count` identical pods, fitted as a gang.

    The amounts and node constraints are one pod's, as in `Demand`; a count of 0 asks for nothing
    (a LeaderWorkerSet of size 1 has no workers).
    """

    role: str
    count: int
    cpu: int = 0
    memory: int = 0
    accelerators: AcceleratorDemand | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    node_name: str | None = None
    node_affinity: NodeAffinity | None = None
    unevaluated: tuple[str, ...] = ()
    claims: tuple[PodClaim, ...] = ()

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError(f"pod set {self.role}: a negative count of pods")
        if min(self.cpu, self.memory, self.devices) < 0:
            raise ValueError(f"pod set {self.role}: negative resource request")

    @property
    def devices(self) -> int:
        return self.accelerators.count if self.accelerators else 0

    @property
    def per_replica(self) -> Usage:
        return Usage(self.cpu, self.memory, self.devices)


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
    claim_templates: tuple[ClaimTemplate, ...] = ()
    """The ResourceClaimTemplates of the task's namespace on the hub that its claims (any pod set's)
    name: they travel to the member with the workload, so placement evaluates them in place of a
    same-named template of the member's target namespace (see `devices.device_need`)."""
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
    topology: Topology | None = None
    """Keep every pod of the task inside one domain of a node label (see `topology`)."""
    pod_sets: tuple[PodSetDemand, ...] = ()
    """Several roles (a JobSet's replicated Jobs, a Ray head and its workers) that all go to one
    identifier, each a gang fitted node by node, together (see `pod_sets`). Their amounts and node
    constraints replace the per-replica fields above, which then only name the task's first role
    for quotas of callers that know no pod sets. Empty: the one gang the fields above describe."""
    staged: bool = False
    """Whether the task's data is moved by the operator (``spec.data`` inputs or outputs): only
    identifiers that stage data are candidates."""
    kind: str | None = None
    """The task's workload kind as ``"<apiVersion> <kind>"`` (``"jobset.x-k8s.io/v1alpha2 JobSet"``):
    only identifiers whose member serves it are candidates; None: a batch/v1 Job, served everywhere."""
    variants: tuple[Variant, ...] = ()
    """The task's variants, in the order the task lists them: placement tries each (see `variants`),
    and `accelerators` above are the first one's for callers that know no variants. Empty: one way."""
    variant: Variant | None = None
    """The variant (or compute choice) this demand was narrowed to by placement; None: not narrowed."""
    cheapest: float | None = None
    """The cheapest price per hour among the candidates of all the task's variants: the Price score is
    relative to it, so that variants' scores compare (see `variants`); None: to this decision's own."""

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise ValueError("a task needs at least one replica")
        if min(self.cpu, self.memory, self.devices) < 0:
            raise ValueError("negative resource request")
        if self.pod_sets:
            roles = [s.role for s in self.pod_sets]
            if len(set(roles)) != len(roles):
                raise ValueError(f"pod set roles must be unique: {roles}")
            if not any(s.count for s in self.pod_sets):
                raise ValueError("a task needs at least one pod")
        names = [v.name for v in self.variants if v.name is not None]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique: {names}")

    def sets(self) -> tuple[PodSetDemand, ...]:
        """The task's pod sets: its `pod_sets`, or the one gang of its per-replica fields (role "")."""
        if self.pod_sets:
            return self.pod_sets
        return (
            PodSetDemand(
                "",
                self.replicas,
                self.cpu,
                self.memory,
                self.accelerators,
                self.node_selector,
                self.tolerations,
                self.node_name,
                self.node_affinity,
                self.unevaluated,
                self.claims,
            ),
        )

    def with_models(self, models: tuple[str, ...]) -> Demand:
        """The task with its devices (and every pod set's) narrowed to any of `models` (e.g. by quota)."""

        def narrowed(acc: AcceleratorDemand | None) -> AcceleratorDemand | None:
            return replace(acc, models=models) if acc is not None and acc.count else acc

        sets = tuple(replace(s, accelerators=narrowed(s.accelerators)) for s in self.pod_sets)
        return replace(self, accelerators=narrowed(self.accelerators), pod_sets=sets)

    def as_variant(self, variant: Variant) -> Demand:
        """The task as it runs with `variant`: its devices, and no other variant left to try."""
        return replace(self, accelerators=variant.accelerators, variants=(), variant=variant)

    def chosen(self, name: str | None) -> Demand:
        """The task narrowed to its variant `name` (None, or a task without variants: itself)."""
        found = next((v for v in self.variants if v.name == name), None) if name is not None else None
        return self.as_variant(found) if found is not None else self

    def of_set(self, pod_set: PodSetDemand) -> Demand:
        """The task reduced to one pod set: a single gang that placement's filters and fit read."""
        return replace(
            self,
            replicas=max(pod_set.count, 1),
            cpu=pod_set.cpu,
            memory=pod_set.memory,
            accelerators=pod_set.accelerators,
            node_selector=pod_set.node_selector,
            tolerations=pod_set.tolerations,
            node_name=pod_set.node_name,
            node_affinity=pod_set.node_affinity,
            unevaluated=pod_set.unevaluated,
            claims=pod_set.claims,
            pod_sets=(),
        )

    @property
    def devices(self) -> int:
        return self.accelerators.count if self.accelerators else 0

    @property
    def per_replica(self) -> Usage:
        return Usage(self.cpu, self.memory, self.devices)
