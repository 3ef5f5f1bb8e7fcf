"""ComputeTask: one standardized demand for compute, and what became of it.

The spec states what each replica needs, where it may and should run, what it may cost, and the
workload as a batch/v1 Job template. All replicas are placed together in one identifier (a gang).
The status records the answer: offers when the task is suspended, the placement with its score and
reasons, the remote Job, and usage and cost once it runs.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field

from computenet.api.common import ApiModel, Condition, ObjectMeta, SpecModel, StatusModel
from computenet.api.constants import (
    API_VERSION,
    DEFAULT_CURRENCY,
    DEFAULT_POOL,
    RESERVED_PREFIX,
    Architecture,
    ComputeClass,
    FailoverPolicy,
    Phase,
    Vendor,
)
from computenet.api.fields import (
    AcceleratorModel,
    CurrencyCode,
    DnsLabel,
    LabelKey,
    LabelValue,
    Price,
    QuantitySpec,
    Rule,
    SetOf,
    SubdomainName,
    Timestamp,
    cel_string,
)

__all__ = [
    "Accelerators",
    "ComputeTask",
    "ComputeTaskSpec",
    "ComputeTaskStatus",
    "Constraints",
    "ContainerTemplate",
    "Cost",
    "DataLocation",
    "Failover",
    "JobSpecTemplate",
    "JobTemplate",
    "Offer",
    "Placement",
    "PodSpecTemplate",
    "PodTemplate",
    "ProviderConstraints",
    "RegionConstraints",
    "RemoteRef",
    "Resources",
    "TaskSummary",
    "TemplateMetadata",
    "Usage",
]

MAX_REPLICAS = 10_000
MAX_ACCELERATORS_PER_REPLICA = 64

# Upper bounds catch typos ("64Ti" for "64Gi") rather than describe real hardware limits.
CpuQuantity = Annotated[str, QuantitySpec(maximum="4096")]
MemoryQuantity = Annotated[str, QuantitySpec(maximum="64Ti")]
DeviceMemoryQuantity = Annotated[str, QuantitySpec(maximum="4Ti")]
DataSizeQuantity = Annotated[str, QuantitySpec(maximum="100Pi", allow_zero=True)]


def _no_overlap(first: list[str] | None, second: list[str] | None) -> bool:
    return not set(first or ()) & set(second or ())


def _disjoint_rule(first: str, second: str, message: str) -> Rule:
    return Rule(
        f"!has(self.{first}) || !has(self.{second}) || !self.{first}.exists(x, x in self.{second})",
        message,
        field_path=f".{second}",
        check=lambda o: _no_overlap(getattr(o, first), getattr(o, second)),
    )


class Accelerators(SpecModel):
    """Accelerators each replica needs, all on the replica's node. Whole devices only."""

    count: int = Field(
        ge=1,
        le=MAX_ACCELERATORS_PER_REPLICA,
        strict=True,
        description=f"Devices per replica: a whole number from 1 to {MAX_ACCELERATORS_PER_REPLICA}.",
    )
    vendor: Vendor | None = Field(None, description="Required vendor (nvidia, amd, intel, ...); any when omitted.")
    models: SetOf[AcceleratorModel] | None = Field(
        None,
        max_length=16,
        description="Acceptable models, any of them (such as NVIDIA-H100-80GB-HBM3); any model when omitted.",
    )
    min_memory: DeviceMemoryQuantity | None = Field(None, description="Minimum memory of each device, such as 40Gi.")


class Resources(SpecModel):
    """What one replica needs on one node."""

    cpu: CpuQuantity = Field(description="CPU per replica, such as 500m or 8.")
    memory: MemoryQuantity = Field(description="Memory per replica, such as 512Mi or 64Gi.")
    accelerators: Accelerators | None = Field(None, description="Accelerators per replica; none when omitted.")


class RegionConstraints(SpecModel):
    """Where the task may and should run, by region name."""

    rules: ClassVar[tuple[Rule, ...]] = (
        _disjoint_rule("required", "forbidden", "a region cannot be both required and forbidden"),
        _disjoint_rule("preferred", "forbidden", "a region cannot be both preferred and forbidden"),
    )

    required: SetOf[DnsLabel] | None = Field(None, max_length=32, description="Run only in one of these regions.")
    preferred: SetOf[DnsLabel] | None = Field(
        None, max_length=32, description="Prefer these regions when other things are equal."
    )
    forbidden: SetOf[DnsLabel] | None = Field(None, max_length=32, description="Never run in these regions.")


class ProviderConstraints(SpecModel):
    """Which providers may run the task."""

    rules: ClassVar[tuple[Rule, ...]] = (
        _disjoint_rule("allowed", "denied", "a provider cannot be both allowed and denied"),
    )

    allowed: SetOf[DnsLabel] | None = Field(None, max_length=32, description="Run only on these providers.")
    denied: SetOf[DnsLabel] | None = Field(None, max_length=32, description="Never run on these providers.")


class Constraints(SpecModel):
    """Hard limits on where the task may run. An identifier that breaks one is never chosen."""

    regions: RegionConstraints | None = Field(None, description="Region requirements and preferences.")
    providers: ProviderConstraints | None = Field(None, description="Provider allow and deny lists.")
    architectures: SetOf[Architecture] | None = Field(
        None, max_length=5, description="Acceptable CPU architectures, any of them."
    )
    compute_class: ComputeClass | None = Field(None, description="Required compute class: general, ai, hpc or edge.")
    max_price_per_hour: Price | None = Field(
        None, description="Most the whole task (all replicas) may cost per hour, in currency."
    )
    currency: CurrencyCode = Field(
        DEFAULT_CURRENCY,
        description="Currency of maxPricePerHour; identifiers priced otherwise do not qualify.",
    )
    max_latency_ms: int | None = Field(
        None,
        ge=0,
        le=600_000,
        description="Most latency in milliseconds from the identifier to spec.data.region.",
    )


class DataLocation(SpecModel):
    """Where the task's input data lives, so placement can weigh moving data against price."""

    region: DnsLabel | None = Field(None, description="Region holding the data.")
    size: DataSizeQuantity | None = Field(None, description="Size of the data, such as 500Gi or 2Ti.")


class Failover(SpecModel):
    """What happens when the member running the task is lost."""

    policy: FailoverPolicy = Field(
        FailoverPolicy.REQUEUE,
        description="Requeue places the task again elsewhere; Never marks it Failed.",
    )
    grace_period_seconds: int = Field(
        300, ge=0, le=86_400, description="How long the member may be unreachable before the policy applies."
    )


_RESERVED_CEL = cel_string(RESERVED_PREFIX)


class TemplateMetadata(SpecModel):
    """Labels and annotations copied onto the remote object. Keys under computenet.io/ are reserved.

    Other metadata fields pass through (``kubectl create --dry-run -o yaml`` writes
    ``creationTimestamp: null`` into templates) and are ignored: the operator names remote objects.
    """

    model_config = ConfigDict(extra="allow")

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            f"!has(self.labels) || self.labels.all(k, !k.startsWith({_RESERVED_CEL}))",
            f"label keys starting with {RESERVED_PREFIX} are reserved for the operator",
            field_path=".labels",
            check=lambda m: not any(k.startswith(RESERVED_PREFIX) for k in m.labels or {}),
        ),
        Rule(
            f"!has(self.annotations) || self.annotations.all(k, !k.startsWith({_RESERVED_CEL}))",
            f"annotation keys starting with {RESERVED_PREFIX} are reserved for the operator",
            field_path=".annotations",
            check=lambda m: not any(k.startswith(RESERVED_PREFIX) for k in m.annotations or {}),
        ),
    )

    labels: dict[LabelKey, LabelValue] | None = Field(None, max_length=64, description="Labels.")
    annotations: dict[LabelKey, str] | None = Field(None, max_length=64, description="Annotations.")


class ContainerTemplate(SpecModel):
    """A container of the workload (core/v1 Container); fields beyond name and image pass through."""

    model_config = ConfigDict(extra="allow")

    name: DnsLabel = Field(description="Container name, a DNS label.")
    image: str = Field(min_length=1, max_length=1024, description="Container image reference.")


class PodSpecTemplate(SpecModel):
    """The pod spec of the workload (core/v1 PodSpec); fields beyond these pass through."""

    model_config = ConfigDict(extra="allow")

    containers: list[ContainerTemplate] = Field(
        min_length=1, max_length=32, description="Containers of each replica; at least one."
    )
    restart_policy: Literal["Never", "OnFailure"] = Field("Never", description="Never or OnFailure, as a Job requires.")


class PodTemplate(SpecModel):
    """The pod template of the workload (core/v1 PodTemplateSpec)."""

    model_config = ConfigDict(extra="allow")

    metadata: TemplateMetadata | None = Field(None, description="Labels and annotations of each pod.")
    spec: PodSpecTemplate = Field(description="The pod spec.")


class JobSpecTemplate(SpecModel):
    """The Job spec of the workload (batch/v1 JobSpec); fields beyond the pod template pass through.

    The operator sets parallelism and completions from spec.replicas when the template leaves them out.
    """

    model_config = ConfigDict(extra="allow")

    template: PodTemplate = Field(description="The pod template.")


class JobTemplate(SpecModel):
    """The workload: a batch/v1 JobTemplateSpec, as in a CronJob's jobTemplate."""

    metadata: TemplateMetadata | None = Field(None, description="Labels and annotations of the remote Job.")
    spec: JobSpecTemplate = Field(description="The Job spec.")


class ComputeTaskSpec(SpecModel):
    """One demand for compute: what each replica needs, where it may run, and the workload."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "!has(self.constraints) || !has(self.constraints.maxLatencyMs)"
            " || (has(self.data) && has(self.data.region))",
            "maxLatencyMs is measured to the data's region: set spec.data.region",
            field_path=".constraints.maxLatencyMs",
            check=lambda s: (
                s.constraints is None
                or s.constraints.max_latency_ms is None
                or (s.data is not None and s.data.region is not None)
            ),
        ),
    )

    pool: SubdomainName = Field(DEFAULT_POOL, description="Name of the ComputePool to place the task in.")
    replicas: int = Field(
        1,
        ge=1,
        le=MAX_REPLICAS,
        strict=True,
        description="Replicas, placed together in one identifier (a gang): all fit or none runs.",
    )
    resources: Resources = Field(description="What each replica needs.")
    constraints: Constraints | None = Field(None, description="Where the task may run, and at what price.")
    data: DataLocation | None = Field(None, description="Where the input data lives.")
    priority: int = Field(
        0,
        ge=-1_000_000_000,
        le=1_000_000_000,
        strict=True,
        description="Higher runs first; ties go to the older task.",
    )
    suspend: bool = Field(
        False,
        description="Collect offers but dispatch nothing; set to false to run on the best offer.",
    )
    failover: Failover = Field(default_factory=Failover, description="What to do when the member is lost.")
    template: JobTemplate = Field(description="The workload, as a batch/v1 Job template.")


class Offer(StatusModel):
    """A candidate identifier for a suspended task, with what it would cost."""

    identifier: str = Field(max_length=253, description="Name of the ComputeIdentifier.")
    uri: str | None = Field(None, max_length=512, description="Its URI.")
    score: float = Field(ge=0, le=100, description="Weighted placement score, 0-100.")
    price_per_hour: float | None = Field(None, ge=0, description="What the whole task would cost per hour.")
    currency: str | None = Field(None, max_length=3, description="Currency of pricePerHour.")
    reasons: list[str] | None = Field(None, max_length=16, description="Why it scores as it does.")
    accelerator_model: str | None = Field(None, max_length=128, description="Accelerator model it would run on.")
    fit: float | None = Field(None, ge=0, le=100, description="The fit score alone, 0-100.")


class DispatchedResources(StatusModel):
    """What an attempt reserved and dispatched: usage and cost are metered from this, not from the spec."""

    replicas: int = Field(ge=1, description="Replicas of the attempt.")
    cpu: str = Field(max_length=64, description="CPU per replica, canonical quantity.")
    memory: str = Field(max_length=64, description="Memory per replica, canonical quantity.")
    accelerators: int = Field(0, ge=0, description="Accelerator devices per replica.")


class Placement(StatusModel):
    """The identifier chosen for the task, and why."""

    identifier: str = Field(max_length=253, description="Name of the ComputeIdentifier.")
    uri: str | None = Field(None, max_length=512, description="Its URI.")
    score: float | None = Field(None, ge=0, le=100, description="Weighted placement score, 0-100.")
    reasons: list[str] | None = Field(None, max_length=16, description="Why it was chosen.")
    time: Timestamp | None = Field(None, description="When it was chosen.")
    accelerator_model: str | None = Field(
        None, max_length=128, description="Accelerator model the replicas were pinned to (any-of resolved)."
    )
    price_per_hour: float | None = Field(None, ge=0, description="What the whole task costs per hour there.")
    currency: str | None = Field(None, max_length=3, description="Currency of pricePerHour.")
    resources: DispatchedResources | None = Field(
        None, description="What this attempt reserved per replica; metering reads it."
    )


class RemoteRef(StatusModel):
    """The workload object created in the member."""

    identifier: str = Field(max_length=253, description="ComputeIdentifier the object was dispatched through.")
    api_version: str = Field("batch/v1", max_length=253, description="API version of the object.")
    kind: str = Field("Job", max_length=63, description="Kind of the object.")
    namespace: str = Field(max_length=63, description="Namespace in the member.")
    name: str = Field(max_length=253, description="Name in the member.")
    uid: str | None = Field(None, max_length=64, description="UID in the member.")


class Usage(StatusModel):
    """Resources consumed so far, summed over replicas and attempts."""

    gpu_seconds: float = Field(0, ge=0, description="Accelerator-seconds.")
    core_seconds: float = Field(0, ge=0, description="CPU core-seconds requested.")
    memory_gib_seconds: float = Field(0, ge=0, alias="memoryGiBSeconds", description="Memory GiB-seconds requested.")
    gpu_seconds_by_model: dict[str, float] | None = Field(
        None, max_length=16, description="Accelerator-seconds per accelerator model."
    )


class Cost(StatusModel):
    """What the task has cost so far."""

    amount: float = Field(0, ge=0, description="Cost so far.")
    currency: str = Field(DEFAULT_CURRENCY, max_length=3, description="Currency of amount.")


class TaskSummary(StatusModel):
    """Preformatted values for the columns of `kubectl get ctask`."""

    gpus: str | None = Field(
        None, max_length=64, description="Accelerators as replicas x per-replica count, such as 2x8."
    )


class ComputeTaskStatus(StatusModel):
    """What became of the task."""

    observed_generation: int | None = Field(None, ge=0, description="The .metadata.generation last acted on.")
    phase: Phase | None = Field(
        None, description="Pending, Offered, Dispatching, Running, Succeeded, Failed or Cancelled."
    )
    conditions: list[Condition] | None = Field(
        None,
        max_length=16,
        description="Valid, Placed and Dispatched, among others.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    offers: list[Offer] | None = Field(
        None, max_length=10, description="Best candidates, best first, while the task is suspended."
    )
    placement: Placement | None = Field(None, description="The chosen identifier.")
    remote: RemoteRef | None = Field(None, description="The workload in the member.")
    attempt: int = Field(0, ge=0, description="Dispatch attempts so far (failover increments it).")
    start_time: Timestamp | None = Field(None, description="When the workload started running.")
    completion_time: Timestamp | None = Field(None, description="When the workload finished.")
    message: str | None = Field(
        None, max_length=4096, description="Why the task failed, in one line (empty while all is well)."
    )
    usage: Usage | None = Field(None, description="Resources consumed.")
    cost: Cost | None = Field(None, description="Cost so far.")
    summary: TaskSummary | None = Field(None, description="Preformatted values for kubectl get.")


class ComputeTask(ApiModel):
    """A demand for compute: the operator finds an identifier that fits, runs the Job there, and reports."""

    api_version: Literal["computenet.io/v1alpha1"] = API_VERSION
    kind: Literal["ComputeTask"] = "ComputeTask"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ComputeTaskSpec = Field(description="What the task needs and runs.")
    status: ComputeTaskStatus | None = Field(None, description="What became of it.")
