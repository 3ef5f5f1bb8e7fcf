"""ComputeTask: one standardized demand for compute, and what became of it.

The spec states what each replica needs, where it may and should run, what it may cost, and the
workload as a batch/v1 Job template. All replicas are placed together in one identifier (a gang).
The status records the answer: offers when the task is suspended, the placement with its score and
reasons, the remote Job, and usage and cost once it runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from computenet.api.common import ApiModel, Condition, ObjectMeta, SpecModel, StatusModel
from computenet.api.constants import (
    ACCELERATOR_RESOURCES,
    API_VERSION,
    DEFAULT_CURRENCY,
    DEFAULT_POOL,
    RESERVED_PREFIX,
    AcceleratorSharing,
    Architecture,
    ComputeClass,
    FailoverPolicy,
    Phase,
    Vendor,
)
from computenet.api.data import DataStaging, TaskDataStatus
from computenet.api.fields import (
    AcceleratorModel,
    AcceleratorPartition,
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
from computenet.api.pod_reservation import (
    ACCELERATOR_RESOURCE_NAMES,
    CPU,
    MEMORY,
    effective_requests,
    format_amount,
)
from computenet.placement.device_plugins import is_device_resource
from computenet.placement.resources import vendor_of
from computenet.workloads.kinds import JOB, KINDS, WorkloadError, kind_of
from computenet.workloads.podsets import PodSet, pod_sets

__all__ = [
    "DISPATCHED_PHASES",
    "EDITS_AFTER_DISPATCH",
    "Accelerators",
    "CandidateScore",
    "ComputeRequest",
    "ComputeTask",
    "ComputeTaskSpec",
    "ComputeTaskStatus",
    "Constraints",
    "ContainerResources",
    "ContainerTemplate",
    "ContainerVariant",
    "Cost",
    "DataLocation",
    "EditAfterDispatch",
    "EditVerdict",
    "Explanation",
    "Failover",
    "JobSpecTemplate",
    "JobTemplate",
    "Offer",
    "Placement",
    "PodSetUsage",
    "PodSpecTemplate",
    "PodTemplate",
    "ProviderConstraints",
    "RegionConstraints",
    "RemoteRef",
    "Resources",
    "TaskSummary",
    "TaskVariant",
    "TemplateMetadata",
    "Usage",
    "Verdict",
]

MAX_REPLICAS = 10_000
MAX_ACCELERATORS_PER_REPLICA = 64
MAX_VARIANTS = 8

_QUANTITY_EXAMPLES = "500m, 2, 0.5, 1.5Gi or 1e3"


# Upper bounds catch typos ("64Ti" for "64Gi") rather than describe real hardware limits.
# Written as Kubernetes accepts them in a pod: a string or any YAML number (see QuantitySpec).
CpuQuantity = Annotated[str, QuantitySpec(maximum="4096", numbers=True)]
MemoryQuantity = Annotated[str, QuantitySpec(maximum="64Ti", numbers=True)]
DeviceMemoryQuantity = Annotated[str, QuantitySpec(maximum="4Ti", numbers=True)]
# Data sizes are written as strings ("500Gi"); they keep the shared int-or-string type, whose CEL rules use
# the API server's own quantity parser.
DataSizeQuantity = Annotated[str, QuantitySpec(maximum="100Pi", allow_zero=True)]
TemplateQuantity = Annotated[str, QuantitySpec(maximum=None, allow_zero=True, numbers=True)]

_RESOURCE_NAME = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)


def _resource_name(name: str) -> str:
    if len(name) > 317 or not _RESOURCE_NAME.match(name):
        raise PydanticCustomError("resource_name", "is not a resource name such as cpu, memory or nvidia.com/gpu")
    return name


ResourceName = Annotated[str, AfterValidator(_resource_name)]
"""A resource name (a qualified name), checked by the operator only: CEL cannot read a map whose values
have no type, and template quantities have none (see :class:`~computenet.api.fields.QuantitySpec`)."""


def _derived_in_schema(*names: str) -> Any:
    """``json_schema_extra`` that makes ``names`` optional in the CRD: the operator derives them when absent."""

    def edit(schema: dict[str, Any]) -> None:
        required = [name for name in schema.get("required", []) if name not in names]
        if required:
            schema["required"] = required
        else:
            schema.pop("required", None)

    return edit


def _no_overlap(first: list[str] | None, second: list[str] | None) -> bool:
    return not set(first or ()) & set(second or ())


def _disjoint_rule(first: str, second: str, message: str) -> Rule:
    return Rule(
        f"!has(self.{first}) || !has(self.{second}) || !self.{first}.exists(x, x in self.{second})",
        message,
        field_path=f".{second}",
        check=lambda o: _no_overlap(getattr(o, first), getattr(o, second)),
    )


Precision = Literal["fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8"]
"""A precision of the accelerator catalogue's throughput figures (``placement.accelerators.PRECISIONS``)."""


class ComputeRequest(SpecModel):
    """Normalized compute per replica, instead of a model and a count: placement picks both.

    Each model of the accelerator catalogue (docs/accelerators.md, "Compute requests") that
    publishes a figure at ``precision`` and meets the rest of the request (vendor, models,
    minMemory) is a choice, with the fewest devices whose peak dense throughput adds up to
    ``tflops``; placement takes the choice and identifier that score best.
    """

    tflops: float = Field(
        gt=0,
        le=1_000_000,
        description="Peak dense TFLOPS (TOPS for int8) per replica, summed over its devices, such as 800.",
    )
    precision: Precision = Field(description="The precision of tflops: fp64, fp32, tf32, bf16, fp16, fp8 or int8.")


class Accelerators(SpecModel):
    """Accelerators each replica needs, all on the replica's node: whole devices unless sharing or partition say."""

    model_config = ConfigDict(json_schema_extra=_derived_in_schema("count"))

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "!has(self.compute) || !has(self.count)",
            "compute chooses the count per replica: leave count out",
            field_path=".count",
            check=lambda a: a.compute is None or a.count is None,
        ),
        Rule(
            "!has(self.compute) || (!has(self.sharing) && !has(self.partition))",
            "a compute request counts whole devices: leave sharing and partition out",
            field_path=".compute",
            check=lambda a: a.compute is None or (a.sharing is None and a.partition is None),
        ),
    )

    count: int | None = Field(
        None,
        ge=1,
        le=MAX_ACCELERATORS_PER_REPLICA,
        strict=True,
        description=f"Devices per replica: a whole number from 1 to {MAX_ACCELERATORS_PER_REPLICA}. When left "
        "out, the devices of the vendor's resource (such as nvidia.com/gpu) that the template's pod requests "
        "(the Kubernetes effective request), or what compute chooses; one of them must say it.",
    )
    vendor: Vendor | None = Field(None, description="Required vendor (nvidia, amd, intel, ...); any when omitted.")
    models: SetOf[AcceleratorModel] | None = Field(
        None,
        max_length=16,
        description="Acceptable models, any of them (such as NVIDIA-H100-80GB-HBM3); any model when omitted.",
    )
    resource: ResourceName | None = Field(
        None,
        description="The device plugin's resource the pods request, such as habana.ai/gaudi2 or "
        "huawei.com/Ascend910; when omitted, the vendor's usual one (docs/accelerators.md) or the models'.",
    )
    min_memory: DeviceMemoryQuantity | None = Field(None, description="Minimum memory of each device, such as 40Gi.")
    compute: ComputeRequest | None = Field(
        None,
        description="Normalized compute per replica instead of count (and of models, which then narrow the "
        "choice): placement picks the model and the count from the accelerator catalogue.",
    )
    sharing: AcceleratorSharing | None = Field(
        None,
        description="Exclusive (the default): whole devices, never replicas of a shared one. Shared: replicas "
        "of a device the member's device plugin shares between containers (NVIDIA time-slicing or MPS, a "
        "product labelled -SHARED or a resource renamed <resource>.shared; Intel shared-dev-num; HAMi vDCU); "
        "count is then replicas, and a replica guarantees no share of the device's memory or time.",
    )
    partition: AcceleratorPartition | None = Field(
        None,
        description="Slices of devices instead of whole devices: a MIG profile (such as 1g.10gb, from "
        "nvidia.com/mig-1g.10gb or a <model>-MIG-1g.10gb product), an AMD compute partition (cpx_nps4) or an "
        "Ascend vNPU template (4c). count is then slices, minMemory compares the slice's memory, and models "
        "name the devices the slices are cut from (or the slice model itself, such as A100-SXM4-80GB-MIG-1g.10gb).",
    )

    @property
    def states_devices(self) -> bool:
        """Whether it says which devices, beyond a minimum memory (a floor shared by a task's variants)."""
        said = (self.count, self.vendor, self.models, self.resource, self.compute, self.sharing, self.partition)
        return any(value is not None for value in said)


EnvName = Annotated[str, Field(min_length=1, max_length=256)]


class EnvVarTemplate(SpecModel):
    """An environment variable (core/v1 EnvVar): its name, and value or valueFrom as Kubernetes has them."""

    model_config = ConfigDict(extra="allow")

    name: EnvName = Field(description="The variable's name.")


class ContainerVariant(SpecModel):
    """What a variant changes in one container of the workload's pods, found by name; the rest is kept."""

    name: DnsLabel = Field(description="The container (or init container) of the template it changes.")
    image: str | None = Field(None, min_length=1, max_length=1024, description="The image for this variant.")
    command: list[str] | None = Field(None, max_length=64, description="Replaces the container's command.")
    args: list[str] | None = Field(None, max_length=256, description="Replaces the container's args.")
    env: list[EnvVarTemplate] | None = Field(
        None,
        max_length=128,
        description="Set in the container's env: a variable of the same name is replaced, the others are added.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )


class TaskVariant(SpecModel):
    """One way to run the task, for one vendor or model: its devices, and its image, command and env."""

    name: DnsLabel = Field(description="The variant's name, unique in the task, such as h100 or mi300x.")
    accelerators: Accelerators = Field(
        description="The devices per replica with this variant: vendor, models, resource, and count or compute."
    )
    containers: list[ContainerVariant] | None = Field(
        None,
        max_length=32,
        description="Per container of the template: what this variant changes (image, command, args, env).",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )


class Resources(SpecModel):
    """What one replica needs on one node: placement reserves it, and the replica's pod requests exactly it.

    The contract with the template's containers, per resource (cpu, memory, the accelerator's
    resource such as nvidia.com/gpu): requests written in the template are kept and never added to;
    the rest of the reservation goes to the first container that states neither a request nor a limit
    for it (an accelerator as request and limit); when every container states its own cpu or memory,
    the rest becomes the pod-level request. The pod's effective request, counted as kube-scheduler
    counts it (containers summed, init containers as a running maximum, sidecars added, overhead,
    requests defaulted from limits), then equals the reservation. A template that asks for more, or
    for fewer accelerators with no container to receive the rest, is refused (Valid=False naming the
    container). A value left out here is taken from the template's effective request.
    """

    model_config = ConfigDict(json_schema_extra=_derived_in_schema(CPU, MEMORY))

    cpu: CpuQuantity = Field(
        description="CPU per replica, such as 500m, 0.5 or 8. When left out, the template's effective cpu request."
    )
    memory: MemoryQuantity = Field(
        description="Memory per replica, such as 512Mi or 64Gi. When left out, the template's effective memory request."
    )
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


class DataLocation(DataStaging):
    """Where the task's input data lives, so placement can weigh moving data against price.

    Its inputs, outputs and store credentials come from :class:`~computenet.api.data.DataStaging`.
    """

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "(!has(self.maxTransferSeconds) && !has(self.maxDataCost)) || has(self.region) || has(self.inputs)",
            "maxTransferSeconds and maxDataCost cap moving the data: set spec.data.region or spec.data.inputs",
            check=lambda d: (
                (d.max_transfer_seconds is None and d.max_data_cost is None) or d.region is not None or bool(d.inputs)
            ),
        ),
    )

    region: DnsLabel | None = Field(None, description="Region holding the data.")
    size: DataSizeQuantity | None = Field(None, description="Size of the data, such as 500Gi or 2Ti.")


class TopologyRequest(SpecModel):
    """All of the task's pods in one domain of a node label: an NVLink clique, a rack, a network block.

    Give a level the identifiers declare by name (``rack``, ``spec.topology.levels``), or the node
    label key that names the domains, as the member's nodes carry it (``nvidia.com/gpu.clique``,
    ``cloud.google.com/gce-topology-block``, ``topology.k8s.aws/network-node-layer-3``, a
    provider's rack label); like Kueue's ``podset-required-topology`` and ``podset-preferred-topology``.
    """

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "has(self.required) != has(self.preferred)",
            "set exactly one of required and preferred",
            field_path=".required",
            check=lambda t: (t.required is None) != (t.preferred is None),
        ),
    )

    required: LabelKey | None = Field(
        None,
        description="Every pod in one domain of this level (a name of the identifier's spec.topology.levels, else "
        "a node label key); the task waits, saying why, rather than spread over several.",
    )
    preferred: LabelKey | None = Field(
        None,
        description="Every pod in one domain of this level (a level name or a node label key) when one has room; "
        "else in one domain of the next coarser level the identifier declares, and so on; else placed as if unset.",
    )

    @property
    def level(self) -> str:
        return self.required or self.preferred or ""


class Dependencies(SpecModel):
    """What travels to the member with the workload, besides the ConfigMaps its pods reference.

    Every ConfigMap the workload's pods reference (env, envFrom, volumes) is copied from the task's
    namespace into the member with the workload, and goes with it (the member's garbage collector
    removes it with its owner, the workload). Secrets only when named here: they are copied the
    same way, for this task only.
    """

    secrets: list[SubdomainName] | None = Field(
        None,
        max_length=16,
        description="Secrets of the task's namespace to copy into the member with the workload, and remove "
        "with it. A Secret the pods reference and this list leaves out must exist in the member.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )


class Failover(SpecModel):
    """What happens when the member running the task is lost, or a serving task's replicas stay unavailable."""

    policy: FailoverPolicy = Field(
        FailoverPolicy.REQUEUE,
        description="Requeue places the task again elsewhere; Never marks it Failed.",
    )
    grace_period_seconds: int = Field(
        300, ge=0, le=86_400, description="How long the member may be unreachable before the policy applies."
    )
    unavailable_seconds: int = Field(
        600,
        ge=10,
        le=86_400,
        description=(
            "Serving kinds (Deployment, StatefulSet, LeaderWorkerSet, RayCluster): how long the replicas may "
            "stay unavailable, counted from dispatch until they first are all available, or from the moment "
            "a Running task's replicas were seen unavailable, before the policy applies. A Deployment past "
            "its progressDeadlineSeconds ends the attempt at once."
        ),
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


class ContainerResources(SpecModel):
    """A container's resources (core/v1 ResourceRequirements); quantities may be strings or YAML numbers.

    Amounts are checked at apply time for syntax and sign; the rules between them (a request at most
    its limit, an extended resource's request equal to its limit) and against spec.resources are
    checked by the operator (Valid=False naming the field).
    """

    model_config = ConfigDict(extra="allow")

    requests: dict[ResourceName, TemplateQuantity] | None = Field(
        None, max_length=64, description="Requests by resource name."
    )
    limits: dict[ResourceName, TemplateQuantity] | None = Field(
        None, max_length=64, description="Limits by resource name."
    )


class ContainerTemplate(SpecModel):
    """A container of the workload (core/v1 Container); fields beyond these pass through."""

    model_config = ConfigDict(extra="allow")

    name: DnsLabel = Field(description="Container name, a DNS label, unique in the pod.")
    image: str = Field(min_length=1, max_length=1024, description="Container image reference.")
    resources: ContainerResources | None = Field(
        None, description="Requests and limits; see spec.resources for how they meet the reservation."
    )


def _container_list(description: str, minimum: int) -> Any:
    return Field(
        None if minimum == 0 else ...,
        min_length=minimum,
        max_length=32,
        description=description,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )


def _distinct_names(spec: PodSpecTemplate) -> bool:
    names = [c.name for c in spec.containers] + [c.name for c in spec.init_containers or ()]
    return len(names) == len(set(names))


class PodSpecTemplate(SpecModel):
    """The pod spec of the workload (core/v1 PodSpec); fields beyond these pass through."""

    model_config = ConfigDict(extra="allow")

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "!has(self.initContainers) || self.initContainers.all(i, !self.containers.exists(c, c.name == i.name))",
            "an init container cannot have the name of a container",
            field_path=".initContainers",
            check=_distinct_names,
        ),
        Rule(
            "!has(self.nodeName)",
            "pins the pod to a node before a cluster is chosen: use spec.constraints instead",
            field_path=".nodeName",
            check=lambda s: s.node_name is None,
        ),
    )

    containers: list[ContainerTemplate] = _container_list("Containers of each replica; at least one.", 1)
    init_containers: list[ContainerTemplate] | None = _container_list(
        "Init containers; those with restartPolicy Always are sidecars, whose requests add to the pod's.", 0
    )
    restart_policy: Literal["Never", "OnFailure"] = Field("Never", description="Never or OnFailure, as a Job requires.")
    node_name: str | None = Field(None, max_length=253, description="Must not be set: placement chooses the cluster.")


class PodTemplate(SpecModel):
    """The pod template of the workload (core/v1 PodTemplateSpec)."""

    model_config = ConfigDict(extra="allow")

    metadata: TemplateMetadata | None = Field(None, description="Labels and annotations of each pod.")
    spec: PodSpecTemplate = Field(description="The pod spec.")


class JobSpecTemplate(SpecModel):
    """The Job spec of the workload (batch/v1 JobSpec); fields beyond these pass through.

    The operator sets parallelism and completions from spec.replicas when the template leaves them out.
    """

    model_config = ConfigDict(extra="allow")

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "!has(self.podFailurePolicy) || self.template.spec.restartPolicy == 'Never'",
            "must be Never when podFailurePolicy is set, as a Job requires",
            field_path=".template.spec.restartPolicy",
            check=lambda j: j.pod_failure_policy is None or j.template.spec.restart_policy == "Never",
        ),
    )

    template: PodTemplate = Field(description="The pod template.")
    parallelism: int | None = Field(None, ge=0, description="Must equal spec.replicas when set; best left out.")
    completions: int | None = Field(None, ge=0, description="Must equal spec.replicas when set; best left out.")
    completion_mode: Literal["NonIndexed", "Indexed"] | None = Field(
        None, description="Indexed by default for more than one replica, so each replica knows its rank."
    )
    suspend: bool | None = Field(None, description="Must not be true: use spec.suspend to hold a task back.")
    backoff_limit: int | None = Field(None, ge=0, description="Retries before the Job fails, at least 0.")
    active_deadline_seconds: int | None = Field(None, ge=0, description="Seconds the Job may run, at least 0.")
    backoff_limit_per_index: int | None = Field(
        None, ge=0, description="Retries per index, at least 0; needs Indexed completion."
    )
    max_failed_indexes: int | None = Field(
        None, ge=0, description="Failed indexes before the Job fails, at least 0; needs Indexed completion."
    )
    pod_failure_policy: dict[str, Any] | None = Field(
        None, description="How pod failures count (batch/v1 PodFailurePolicy); needs restartPolicy Never."
    )


class JobTemplate(SpecModel):
    """The workload: a batch/v1 JobTemplateSpec, as in a CronJob's jobTemplate."""

    metadata: TemplateMetadata | None = Field(None, description="Labels and annotations of the remote Job.")
    spec: JobSpecTemplate = Field(description="The Job spec.")


_OTHER_KINDS = tuple(k for k in KINDS.values() if k is not JOB)
"""The kinds a workload object may be (a Job is written as spec.template)."""
_PAIRS_CEL = " || ".join(
    f"(self.apiVersion == {cel_string(k.api_version)} && self.kind == {cel_string(k.kind)})" for k in _OTHER_KINDS
)

_BUILT_IN_VERSIONS = sorted({k.api_version for k in KINDS.values()})
"""Group versions of the built-in kinds: another kind of these is refused, not declarable."""
_BUILT_IN_VERSIONS_CEL = "[" + ", ".join(cel_string(v) for v in _BUILT_IN_VERSIONS) + "]"


class WorkloadTemplate(SpecModel):
    """The workload as an object of another kind than a Job: its kind, labels and spec.

    The operator derives the pod sets from the kind's own rule (``computenet.workloads.podsets``).
    A Deployment or StatefulSet is one pod set of ``spec.replicas`` pods at ``spec.resources``,
    placed and pinned as a Job's replicas. A JobSet, LeaderWorkerSet, RayJob, RayCluster or Pod is
    one pod set per role, each at its own template's request, all placed on one identifier and each
    pinned to its own nodes. Serving kinds never succeed: the task is Running while available, is
    metered while it runs, and ends when it is deleted. See docs/workloads.md.
    """

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            f"{_PAIRS_CEL} || !(self.apiVersion in {_BUILT_IN_VERSIONS_CEL})",
            "apiVersion and kind must name a supported kind: "
            + ", ".join(f"{k.api_version} {k.kind}" for k in _OTHER_KINDS)
            + ", or a kind of another API group declared by a ComputeWorkloadKind",
            field_path=".kind",
            check=lambda w: (
                (w.api_version, w.kind) in {(k.api_version, k.kind) for k in _OTHER_KINDS}
                or w.api_version not in _BUILT_IN_VERSIONS
            ),
            message_expression="'apiVersion and kind must name a supported kind, not ' + self.apiVersion + ' ' + "
            "self.kind + ': ' + "
            + cel_string(
                ", ".join(f"{k.api_version} {k.kind}" for k in _OTHER_KINDS)
                + ", or a kind of another API group declared by a ComputeWorkloadKind"
            ),
        ),
    )

    api_version: str = Field(
        min_length=2,
        max_length=316,
        pattern=r"^([a-z0-9.-]+/)?[a-z0-9]+$",
        description="API version of the workload: apps/v1, jobset.x-k8s.io/v1alpha2, leaderworkerset.x-k8s.io/v1, "
        "ray.io/v1, v1, or that of a kind declared by a ComputeWorkloadKind.",
    )
    kind: str = Field(
        min_length=1,
        max_length=63,
        pattern=r"^[A-Z][A-Za-z0-9]*$",
        description="Kind of the workload: Deployment, StatefulSet (apps/v1), JobSet, LeaderWorkerSet, RayJob, "
        "RayCluster (ray.io/v1), Pod (v1), or a kind declared by a ComputeWorkloadKind.",
    )
    metadata: TemplateMetadata | None = Field(None, description="Labels and annotations of the remote object.")

    spec: dict[str, Any] = Field(
        description="The object's spec as its kind defines it: a Deployment's or StatefulSet's pod template, and "
        "replicas equal to spec.replicas or left out (the operator sets the selector when it is left out); "
        "a JobSet's replicatedJobs, a LeaderWorkerSet's leaderWorkerTemplate, a RayCluster's or RayJob's "
        "head and worker groups, a Pod's spec, each role's pods requesting what they need."
    )

    def raw(self) -> dict[str, Any]:
        """``{apiVersion, kind, spec}`` as the workload rules read it."""
        return {"apiVersion": self.api_version, "kind": self.kind, "spec": self.spec}


def raw_pod_spec(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod spec of a raw ComputeTask spec's workload, or None where the shape has none.

    The Job template's (``template.spec.template.spec``) or, without a template, the workload
    object's (``workload.spec.template.spec``): the same path below either. For a kind of several
    roles, the pod spec of its largest role (see :func:`primary_role`).
    """
    if data.get("template") is None:
        role = primary_role(data.get("workload"))
        if role is not None:
            pod = role.template.get("spec")
            return pod if isinstance(pod, Mapping) else None
    return _pod_spec(data.get("template") if data.get("template") is not None else data.get("workload"))


def primary_role(workload: object) -> PodSet | None:
    """The role whose pods ask the most (devices, then cpu, then memory) of a kind placed role by role.

    None for any other workload, or one whose pod sets do not read. ``spec.resources`` is derived
    from this role's template, so that the task's accelerator vendor and models name its devices.
    """
    if not isinstance(workload, Mapping):
        return None
    try:
        if not kind_of(workload).by_role:
            return None
        sets = [s for s in pod_sets(workload) if s.count]
    except WorkloadError:
        return None

    def size(s: PodSet) -> tuple[int, int, int]:
        pod = s.template.get("spec")
        wants = effective_requests(pod) if isinstance(pod, Mapping) else {}
        devices = sum(wants.get(name, 0) for name in ACCELERATOR_RESOURCE_NAMES)
        return devices, wants.get(CPU, 0), wants.get(MEMORY, 0)

    return max(sets, key=size) if sets else None


def _derive_resources(data: Any) -> Any:
    """Fill in what ``spec.resources`` leaves out from the template's effective request (raw input).

    Only what the template states is filled in; anything else stays absent, so the field is reported
    as required. Malformed input is left for field validation to report.
    """
    if not isinstance(data, Mapping):
        return data
    resources = data.get("resources", {})
    pod_spec = raw_pod_spec(data)
    if not isinstance(resources, Mapping) or pod_spec is None:
        return data
    effective = effective_requests(pod_spec)
    filled = dict(resources)
    for name in (CPU, MEMORY):
        if filled.get(name) is None and effective.get(name, 0) > 0:
            filled[name] = format_amount(name, effective[name])
    accelerators = filled.get("accelerators")
    if isinstance(accelerators, Mapping) and accelerators.get("count") is None and accelerators.get("compute") is None:
        sliced = accelerators.get("sharing") == AcceleratorSharing.SHARED or accelerators.get("partition") is not None
        resource = _accelerator_resource(accelerators.get("vendor"), effective, sliced=sliced)
        if resource is not None and effective.get(resource, 0) > 0:
            filled["accelerators"] = {**accelerators, "count": effective[resource]}
    return {**data, "resources": filled}


def _pod_spec(template: object) -> Mapping[str, Any] | None:
    for key in ("spec", "template", "spec"):
        if not isinstance(template, Mapping):
            return None
        template = template.get(key)
    return template if isinstance(template, Mapping) else None


def _accelerator_resource(vendor: object, effective: Mapping[str, int], *, sliced: bool = False) -> str | None:
    """The resource of ``vendor``, or with no vendor the only accelerator resource the pod requests.

    For slices or shared replicas (``sharing``, ``partition``), the only device resource of the vendor's
    domain the pod requests (``nvidia.com/mig-1g.10gb``), as ``api.contract.slice_resource_of`` counts it.
    """
    if sliced:
        wanted = str(vendor) if vendor is not None else None
        found = sorted(
            n
            for n, v in effective.items()
            if v > 0 and is_device_resource(n) and vendor_of(n) and wanted in (None, vendor_of(n))
        )
        return found[0] if len(found) == 1 else None
    if vendor is not None:
        return ACCELERATOR_RESOURCES.get(Vendor(str(vendor))) if vendor in set(Vendor) else None
    stated = [name for name in sorted(ACCELERATOR_RESOURCE_NAMES) if effective.get(name, 0) > 0]
    return stated[0] if len(stated) == 1 else None


def _needs_indexed(name: str, attribute: str) -> Rule:
    """Per-index failure limits need Indexed completion: the template's, or the default for replicas > 1."""
    return Rule(
        f"!has(self.template) || !has(self.template.spec.{name}) || (has(self.template.spec.completionMode)"
        f" ? self.template.spec.completionMode == 'Indexed' : self.replicas > 1)",
        "needs Indexed completion: set template.spec.completionMode to Indexed",
        field_path=f".template.spec.{name}",
        check=lambda s: (
            s.template is None
            or getattr(s.template.spec, attribute) is None
            or (s.template.spec.completion_mode or ("Indexed" if s.replicas > 1 else "NonIndexed")) == "Indexed"
        ),
    )


def _equals_replicas(name: str) -> Rule:
    return Rule(
        f"!has(self.template) || !has(self.template.spec.{name}) || self.template.spec.{name} == self.replicas",
        "must equal spec.replicas: leave it out, the operator sets it from replicas",
        field_path=f".template.spec.{name}",
        check=lambda s: s.template is None or getattr(s.template.spec, name) in (None, s.replicas),
    )


class ComputeTaskSpec(SpecModel):
    """One demand for compute: what each replica needs, where it may run, and the workload.

    A parsed spec is a resolved one: what ``resources`` leaves out is filled in from the template's
    effective request while parsing (see :class:`Resources`), or the field is reported as required.
    """

    model_config = ConfigDict(json_schema_extra=_derived_in_schema("resources"))

    rules: ClassVar[tuple[Rule, ...]] = (
        _equals_replicas("parallelism"),
        _equals_replicas("completions"),
        _needs_indexed("backoffLimitPerIndex", "backoff_limit_per_index"),
        _needs_indexed("maxFailedIndexes", "max_failed_indexes"),
        Rule(
            "!has(self.template) || !has(self.template.spec.suspend) || !self.template.spec.suspend",
            "would keep the Job from ever running: use spec.suspend instead",
            field_path=".template.spec.suspend",
            check=lambda s: s.template is None or not s.template.spec.suspend,
        ),
        Rule(
            "!has(self.variants) || !has(self.resources.accelerators) || ("
            + " && ".join(
                f"!has(self.resources.accelerators.{f})"
                for f in ("count", "vendor", "models", "resource", "compute", "sharing", "partition")
            )
            + ")",
            "conflicts with spec.variants, where each variant states its devices: leave it out, or set only "
            "minMemory here (a floor for every variant)",
            field_path=".resources.accelerators",
            check=lambda s: (
                not s.variants or s.resources.accelerators is None or not s.resources.accelerators.states_devices
            ),
        ),
        Rule(
            "!has(self.variants) || self.variants.all(v, self.variants.exists_one(w, w.name == v.name))",
            "variant names must be unique",
            field_path=".variants",
            check=lambda s: len({v.name for v in s.variants or ()}) == len(s.variants or ()),
        ),
        Rule(
            "has(self.template) != has(self.workload)",
            "set exactly one of template (a batch/v1 Job) and workload (another kind)",
            field_path=".workload",
            check=lambda s: (s.template is None) != (s.workload is None),
        ),
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
    resources: Resources = Field(
        description="What each replica needs; what it leaves out is taken from the template's containers."
    )
    constraints: Constraints | None = Field(None, description="Where the task may run, and at what price.")
    data: DataLocation | None = Field(None, description="Where the input data lives.")
    topology: TopologyRequest | None = Field(
        None, description="Keep all pods of the task inside one interconnect domain (see docs/accelerators.md)."
    )
    dependencies: Dependencies | None = Field(
        None, description="Secrets to copy into the member with the workload (referenced ConfigMaps always are)."
    )
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
    identifier: SubdomainName | None = Field(
        None,
        description="Run only on this ComputeIdentifier of the pool, such as an accepted offer "
        "(`kubectl computenet accept`); while it does not fit, the task waits and says why.",
    )
    queue_name: SubdomainName | None = Field(
        None,
        description="The ComputeQueue that admits the task (it must list the task's namespace); when left out, "
        "the namespace's default queue, or none: then no quota applies.",
    )
    variants: list[TaskVariant] | None = Field(
        None,
        min_length=1,
        max_length=MAX_VARIANTS,
        description="Ways to run the task, one per vendor or model, each with its devices and its image, command "
        "and env: placement tries each and runs the one that scores best (ties to the first listed), rendered "
        "with that variant's containers and devices. See docs/accelerators.md.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    template: JobTemplate | None = Field(
        None, description="The workload, as a batch/v1 Job template (or set workload for another kind)."
    )
    workload: WorkloadTemplate | None = Field(
        None,
        description="The workload as an object of another kind (Deployment, StatefulSet, JobSet, LeaderWorkerSet, "
        "RayJob, RayCluster, Pod) instead of a Job.",
    )

    @property
    def pod_spec_path(self) -> str:
        """Where the workload's pod spec sits in a ComputeTask (for problems that name a field)."""
        return "spec.template.spec.template.spec" if self.template is not None else "spec.workload.spec.template.spec"

    def pod_spec(self) -> dict[str, Any]:
        """The workload's pod spec as plain JSON (quantities as the model read them); a role's, see `raw_pod_spec`."""
        if self.template is not None:
            return self.template.spec.template.spec.model_dump(by_alias=True, exclude_none=True)
        assert self.workload is not None  # the spec's rule: exactly one of template and workload
        role = primary_role(self.workload.raw())
        if role is not None:
            pod = role.template.get("spec")
            return dict(pod) if isinstance(pod, Mapping) else {}
        template = self.workload.spec.get("template")
        pod = template.get("spec") if isinstance(template, Mapping) else None
        return dict(pod) if isinstance(pod, Mapping) else {}

    @model_validator(mode="before")
    @classmethod
    def _resolve(cls, data: Any) -> Any:
        return _derive_resources(data)

    @model_validator(mode="after")
    def _counted(self) -> ComputeTaskSpec:
        """Every accelerator request says its count, or compute chooses it (else reported on count)."""
        own = self.resources.accelerators
        requests = [(f".variants[{i}].accelerators", v.accelerators) for i, v in enumerate(self.variants or ())]
        if own is not None and not self.variants:
            requests.append((".resources.accelerators", own))
        for path, acc in requests:
            if acc.count is None and acc.compute is None:
                raise PydanticCustomError("missing", "is required", {"field_path": f"{path}.count"})
        return self


class CandidateFigures(StatusModel):
    """What running on one identifier would take, shared by offers and explanation candidates."""

    variant: str | None = Field(None, max_length=63, description="The variant of spec.variants it would run.")
    accelerator_count: int | None = Field(
        None, ge=0, description="Devices per replica it would use (a compute request's count, chosen per identifier)."
    )
    data_bytes: int | None = Field(
        None, ge=0, description="Bytes of the task's data moved into its region (0: the data is already there)."
    )
    data_transfer_seconds: float | None = Field(
        None, ge=0, description="How long moving the data there takes (its ETA); absent when unknown."
    )
    data_cost: float | None = Field(
        None, ge=0, description="What moving the data there costs (egress), in dataCurrency; absent when unknown."
    )
    data_currency: str | None = Field(None, max_length=3, description="Currency of dataCost.")


class Offer(CandidateFigures):
    """A candidate identifier for a suspended task, with what it would cost."""

    identifier: str = Field(max_length=253, description="Name of the ComputeIdentifier.")
    uri: str | None = Field(None, max_length=512, description="Its URI.")
    score: float = Field(ge=0, le=100, description="Weighted placement score, 0-100.")
    price_per_hour: float | None = Field(None, ge=0, description="What the whole task would cost per hour.")
    currency: str | None = Field(None, max_length=3, description="Currency of pricePerHour.")
    reasons: list[str] | None = Field(None, max_length=16, description="Why it scores as it does.")
    accelerator_model: str | None = Field(None, max_length=128, description="Accelerator model it would run on.")
    fit: float | None = Field(None, ge=0, le=100, description="The fit score alone, 0-100.")
    scores: dict[str, float] | None = Field(
        None, max_length=8, description="Per score plugin (Fit, Price, Locality, Reliability, ...), 0-100."
    )


MAX_RUNNERS_UP = 5
"""Identifiers that fit kept in a placement's explanation: the chosen one and the best runners-up."""
MAX_VERDICTS = 32
"""Rejected identifiers kept in a placement's explanation, by name; the rest are counted."""


class CandidateScore(CandidateFigures):
    """One identifier that fits, with its score components side by side with the others'."""

    identifier: str = Field(max_length=253, description="Name of the ComputeIdentifier.")
    score: float = Field(ge=0, le=100, description="Weighted placement score, 0-100.")
    scores: dict[str, float] | None = Field(
        None, max_length=8, description="Per score plugin (Fit, Price, Locality, Reliability, ...), 0-100."
    )
    accelerator_model: str | None = Field(None, max_length=128, description="Accelerator model it would run on.")
    price_per_hour: float | None = Field(None, ge=0, description="What the whole task would cost per hour there.")
    currency: str | None = Field(None, max_length=3, description="Currency of pricePerHour.")


class Verdict(StatusModel):
    """Why placement left one identifier of the pool out: the filter that rejected it, in its numbers."""

    identifier: str = Field(max_length=253, description="Name of the ComputeIdentifier.")
    filter: str = Field(max_length=63, description="The filter that rejected it, such as Resources or MaxPrice.")
    reason: str = Field(max_length=63, description="Machine-readable reason, such as InsufficientAccelerators.")
    message: str = Field(max_length=512, description="The identifier's own numbers, in one line.")


class Explanation(StatusModel):
    """Every identifier the decision looked at, bounded: the best that fit, and why the others did not."""

    considered: int = Field(ge=0, description="Identifiers of the task's pool the decision looked at.")
    fitting: int = Field(ge=0, description="How many of them fit.")
    candidates: list[CandidateScore] | None = Field(
        None, max_length=MAX_RUNNERS_UP, description="The best identifiers that fit, best first (the chosen one first)."
    )
    rejected: list[Verdict] | None = Field(
        None, max_length=MAX_VERDICTS, description="Identifiers that did not fit, by name, with the filter's verdict."
    )
    rejected_omitted: int = Field(
        0, ge=0, description="Rejected identifiers left out of `rejected` to keep the status small."
    )


MAX_PINNED_NODES = 100
"""Gangs spread over more nodes than this are not held to placement's nodes (status stays small)."""


class DispatchedResources(StatusModel):
    """What an attempt reserved and dispatched: usage and cost are metered from this, not from the spec."""

    replicas: int = Field(ge=1, description="Replicas of the attempt.")
    cpu: str = Field(max_length=64, description="CPU per replica, canonical quantity.")
    memory: str = Field(max_length=64, description="Memory per replica, canonical quantity.")
    accelerators: int = Field(0, ge=0, description="Accelerator devices per replica.")


MAX_POD_SETS = 32
"""Roles of one workload kept in a placement (a JobSet of more replicated Jobs is refused)."""


class PodSetPlacement(StatusModel):
    """One role of a workload of several pod sets: its pods, what each reserved, where they were counted."""

    role: str = Field(max_length=63, description="The role: a replicated Job, leader or worker, a Ray group.")
    replicas: int = Field(ge=0, description="Pods of this role.")
    cpu: str = Field(max_length=64, description="CPU per pod, canonical quantity.")
    memory: str = Field(max_length=64, description="Memory per pod, canonical quantity.")
    accelerators: int = Field(0, ge=0, description="Accelerator devices per pod.")
    nodes: list[str] | None = Field(
        None,
        max_length=MAX_PINNED_NODES,
        description="The member's nodes placement counted this role's pods on; its pods are held to them.",
    )


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
    variant: str | None = Field(
        None, max_length=63, description="The variant of spec.variants chosen: the workload is rendered with it."
    )
    device_class: str | None = Field(
        None,
        max_length=253,
        description="The member's DeviceClass whose DRA devices serve the accelerator resource on the chosen "
        "nodes (its extendedResourceName, KEP-5004): the member's scheduler allocates them through an "
        "extended-resource claim, and the pods are held to the nodes without the product label, which such "
        "nodes need not carry.",
    )
    price_per_hour: float | None = Field(None, ge=0, description="What the whole task costs per hour there.")
    currency: str | None = Field(None, max_length=3, description="Currency of pricePerHour.")
    resources: DispatchedResources | None = Field(
        None, description="What this attempt reserved per replica; metering reads it."
    )
    nodes: list[str] | None = Field(
        None,
        max_length=MAX_PINNED_NODES,
        description="The member's nodes placement counted the replicas on; the pods are held to them.",
    )
    pod_sets: list[PodSetPlacement] | None = Field(
        None,
        max_length=MAX_POD_SETS,
        description="Per role of a workload of several pod sets (JobSet, LeaderWorkerSet, Ray, Pod): its pods, "
        "their requests and nodes; usage, quotas and pinning read these instead of resources and nodes.",
    )
    explanation: Explanation | None = Field(
        None, description="The runners-up with their scores and every rejection, as the decision saw them."
    )
    queue: str | None = Field(
        None, max_length=253, description="The ComputeQueue that admitted this attempt; its quota counts it."
    )


class RemoteRef(StatusModel):
    """The workload object created in the member."""

    identifier: str = Field(max_length=253, description="ComputeIdentifier the object was dispatched through.")
    api_version: str = Field("batch/v1", max_length=253, description="API version of the object.")
    kind: str = Field("Job", max_length=63, description="Kind of the object.")
    namespace: str = Field(max_length=63, description="Namespace in the member.")
    name: str = Field(max_length=253, description="Name in the member.")
    uid: str | None = Field(None, max_length=64, description="UID in the member.")


class PodSetUsage(StatusModel):
    """What one role of a workload of several pod sets consumed and cost, summed over its pods and attempts."""

    gpu_seconds: float = Field(0, ge=0, description="Accelerator-seconds.")
    core_seconds: float = Field(0, ge=0, description="CPU core-seconds requested.")
    memory_gib_seconds: float = Field(0, ge=0, alias="memoryGiBSeconds", description="Memory GiB-seconds requested.")
    cost: float = Field(0, ge=0, description="Its share of the task's cost, in the task's cost currency.")


class Usage(StatusModel):
    """Resources consumed so far, summed over replicas and attempts."""

    gpu_seconds: float = Field(0, ge=0, description="Accelerator-seconds.")
    core_seconds: float = Field(0, ge=0, description="CPU core-seconds requested.")
    memory_gib_seconds: float = Field(0, ge=0, alias="memoryGiBSeconds", description="Memory GiB-seconds requested.")
    gpu_seconds_by_model: dict[str, float] | None = Field(
        None, max_length=16, description="Accelerator-seconds per accelerator model."
    )
    pod_sets: dict[str, PodSetUsage] | None = Field(
        None,
        max_length=MAX_POD_SETS,
        description="Per role of a workload of several pod sets (a JobSet's replicated Jobs, a leader and its "
        "workers, a Ray head and worker groups): what its pods consumed and cost. The task's totals are their sum.",
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


class AvoidedIdentifier(StatusModel):
    """An identifier where an attempt of the task could not start, avoided by placement for a while.

    The wait doubles with every failure there, from 60 s up to an hour: Kueue's ``waitForPodsReady``
    requeuing backoff (``backoffBaseSeconds`` 60, ``backoffMaxSeconds`` 3600).
    """

    identifier: str = Field(max_length=253, description="The identifier avoided.")
    reason: str = Field(max_length=64, description="Why its attempt ended, such as PodsNotStarted or Unschedulable.")
    failures: int = Field(1, ge=1, description="Attempts of this task that ended there for such a reason.")
    until: Timestamp = Field(description="Placement considers the identifier again from this time.")


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
    explanation: Explanation | None = Field(
        None,
        description=(
            "While the task waits or is offered: the verdict of each identifier of its pool when its Placed"
            " condition last changed (`kubectl computenet why`); a placed task keeps it in placement.explanation."
        ),
    )
    remote: RemoteRef | None = Field(None, description="The workload in the member.")
    attempt: int = Field(0, ge=0, description="Dispatch attempts so far (failover increments it).")
    avoided_identifiers: list[AvoidedIdentifier] | None = Field(
        None,
        max_length=32,
        description="Identifiers where an attempt could not start (its pods never started or found no node): "
        "placement passes them over until their time, so a requeued task tries elsewhere first.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["identifier"]},
    )
    start_time: Timestamp | None = Field(None, description="When the workload started running.")
    completion_time: Timestamp | None = Field(None, description="When the workload finished.")
    message: str | None = Field(
        None,
        max_length=4096,
        description="Why the task failed, or why its last attempt was abandoned (the task then runs again); "
        "empty once it succeeds.",
    )
    usage: Usage | None = Field(None, description="Resources consumed.")
    cost: Cost | None = Field(None, description="Cost so far.")
    data: TaskDataStatus | None = Field(
        None, description="Staging of spec.data's inputs: each copy between stores, its progress, bytes moved."
    )
    summary: TaskSummary | None = Field(None, description="Preformatted values for kubectl get.")


class EditVerdict(StrEnum):
    """What the API server and the operator do with an edit of a spec field while the task runs."""

    REFUSED = "refused"
    RELAXED_ONLY = "relaxed only"
    CARRIED_OUT = "carried out"


@dataclass(frozen=True)
class EditAfterDispatch:
    """What an edit of one spec field does once the task is dispatched (phase Dispatching or Running).

    A field is **refused** by the API server when what runs or where it runs follows from it and the
    running attempt cannot take the change in; **relaxed only** when an edit the running attempt still
    satisfies is taken (at the next placement) and one it might break is refused; **carried out** when
    the operator acts on it. Nothing is accepted and then ignored. ``what`` says why, or how.
    """

    field: str
    """The spec field, as written in YAML (camelCase)."""
    verdict: EditVerdict
    what: str
    allowed: str | None = None
    """CEL over ``self`` and ``oldSelf`` (the whole objects): the edits a relaxed-only field accepts."""

    @property
    def kept(self) -> str:
        """CEL over ``self`` and ``oldSelf``: the edit is one a dispatched task takes."""
        spec, old = f"self.spec.{self.field}", f"oldSelf.spec.{self.field}"
        return self.allowed or f"(has({spec}) ? has({old}) && {spec} == {old} : !has({old}))"

    @property
    def refusal(self) -> str:
        """What the user reads when the edit is refused: the field, why, and how to make it."""
        return (
            f"spec.{self.field} cannot {'change' if self.allowed is None else 'be tightened'} while the task is "
            f"Dispatching or Running ({self.what.split(';')[0]}): set spec.suspend to true, and edit it once "
            "the task is Offered"
        )


def edits_rule(edits: tuple[EditAfterDispatch, ...]) -> Rule:
    """The one transition rule that refuses every edit a dispatched task cannot take.

    It sits at the root, where it can read ``oldSelf.status.phase``, and Kubernetes v1.36.3
    evaluates root rules on every update of the object, status writes included
    (k8s.io/apiextensions-apiserver@v0.36.3 pkg/registry/customresource/status_strategy.go,
    ``ValidateUpdate``): a status write keeps the stored spec, so it always passes, but it pays for
    the evaluation. One rule reads the phase once, where a rule per field read it once per field
    (each field selection copies the schema's properties: pkg/apiserver/schema/cel/model/adaptor.go,
    ``Properties``): 13.6% of the hub API server's CPU in a burst of tasks went to those rules. The
    ``messageExpression`` names the first field refused, in the order of ``edits``; the error is
    reported on ``spec``.

    ``==`` on the template compares the fields CEL cannot type as well (k8s.io/apiserver@v0.36.3
    pkg/cel/common/valuesunstructured.go, ``unstructuredMap.Equal``), with one blind spot: an
    untyped key replaced by another at the same level (``command`` by ``args``) compares equal.
    The operator notices that edit itself (``tasks/service.py``, ``admit``).

    Before the fields one by one, ``self.spec == oldSelf.spec``: a status write (the spec as
    stored) passes on that one comparison, without selecting each field on both sides; the same
    ``==`` holds each field's comparison when it holds for the whole spec, so it refuses nothing
    more or less. Measured with ``bench/bench_status_patch.py --tasks 300 --rounds 3``, three runs
    each way alternating, of tasks in phase Dispatching: the hub API server's CPU per status write,
    median of the nine rounds, 10.5 -> 8.1 ms for a placed task's status, 8.4 -> 6.3 ms for a small one.
    """
    guarded = [edit for edit in edits if edit.verdict != EditVerdict.CARRIED_OUT]
    message = " : ".join(f"!({edit.kept}) ? {cel_string(edit.refusal)}" for edit in guarded[:-1])
    return Rule(
        f"!has(oldSelf.status) || !has(oldSelf.status.phase) || !(oldSelf.status.phase in {_DISPATCHED_CEL})"
        " || self.spec == oldSelf.spec || (" + " && ".join(f"({edit.kept})" for edit in guarded) + ")",
        "a spec field cannot change while the task is Dispatching or Running: set spec.suspend to true, and edit "
        "it once the task is Offered",
        field_path=".spec",
        message_expression=f"{message} : {cel_string(guarded[-1].refusal)}",
    )


DISPATCHED_PHASES = (Phase.DISPATCHING, Phase.RUNNING)
_DISPATCHED_CEL = "[" + ", ".join(cel_string(str(phase)) for phase in DISPATCHED_PHASES) + "]"


def _at(root: str, path: str) -> tuple[str, str]:
    """CEL for ``<root>.spec.constraints.<path>``: whether it is set, and the value.

    ``has()`` on each level rather than optional chaining (``.?``): the API server's cost estimator
    sees list sizes (``maxItems``) only through plain field selections and refuses the rule otherwise.
    """
    parts = ["spec", "constraints", *path.split(".")]
    tests = [f"has({root}.{'.'.join(parts[: i + 1])})" for i in range(1, len(parts))]
    return "(" + " && ".join(tests) + ")", f"{root}.{'.'.join(parts)}"


def _widens(path: str) -> str:
    """CEL: the allow list at ``spec.constraints.<path>`` is gone, or kept with every old entry."""
    (new_set, new), (old_set, old) = _at("self", path), _at("oldSelf", path)
    return f"(!{new_set} || ({old_set} && {old}.all(x, x in {new})))"


def _narrows(path: str) -> str:
    """CEL: the deny list at ``spec.constraints.<path>`` is gone, or holds only old entries."""
    (new_set, new), (old_set, old) = _at("self", path), _at("oldSelf", path)
    return f"(!{new_set} || ({old_set} && {new}.all(x, x in {old})))"


def _rises(path: str) -> str:
    """CEL: the limit at ``spec.constraints.<path>`` is gone, or at least what it was."""
    (new_set, new), (old_set, old) = _at("self", path), _at("oldSelf", path)
    return f"(!{new_set} || ({old_set} && {new} >= {old}))"


def _kept_or_gone(path: str) -> str:
    (new_set, new), (old_set, old) = _at("self", path), _at("oldSelf", path)
    return f"(!{new_set} || ({old_set} && {new} == {old}))"


_CONSTRAINTS_RELAXED = " && ".join(
    (
        _widens("regions.required"),
        _narrows("regions.forbidden"),
        _widens("providers.allowed"),
        _narrows("providers.denied"),
        _widens("architectures"),
        _kept_or_gone("computeClass"),
        _rises("maxPricePerHour"),
        f"(!{_at('self', 'maxPricePerHour')[0]}"
        " || self.spec.constraints.currency == oldSelf.spec.constraints.currency)",
        _rises("maxLatencyMs"),
    )
)

EDITS_AFTER_DISPATCH: tuple[EditAfterDispatch, ...] = (
    EditAfterDispatch("pool", EditVerdict.REFUSED, "the running attempt was placed among this pool's identifiers"),
    EditAfterDispatch(
        "replicas", EditVerdict.REFUSED, "the running Job has this many pods: a gang does not grow or shrink in place"
    ),
    EditAfterDispatch("resources", EditVerdict.REFUSED, "the running pods reserve and request exactly these amounts"),
    EditAfterDispatch(
        "constraints",
        EditVerdict.RELAXED_ONLY,
        "the running attempt might break a tightened limit; a relaxed one it meets already, and the next placement "
        "(after a failover, a preemption or a resume) honours it. Relaxing is: a required region, allowed provider "
        "or architecture list that grows or goes, a forbidden region or denied provider list that shrinks or goes, "
        "maxPricePerHour (in the same currency) or maxLatencyMs that rises or goes, a computeClass that goes; "
        "preferred regions may change freely",
        _CONSTRAINTS_RELAXED,
    ),
    EditAfterDispatch("data", EditVerdict.REFUSED, "the running attempt was placed by the distance to this data"),
    EditAfterDispatch("topology", EditVerdict.REFUSED, "the running pods were placed in one domain of this label"),
    EditAfterDispatch("dependencies", EditVerdict.REFUSED, "the running workload's copies were made from it"),
    EditAfterDispatch(
        "priority",
        EditVerdict.CARRIED_OUT,
        "at once: it ranks the task against others for preemption by a ComputeQueue, and in the queue when it is "
        "placed again",
    ),
    EditAfterDispatch(
        "suspend",
        EditVerdict.CARRIED_OUT,
        "`true` ends the attempt (its Job is removed from the member, the usage and cost it ran up are kept, its "
        "capacity is released) and the task becomes Offered, with fresh offers; `false` then places and "
        "dispatches a new attempt",
    ),
    EditAfterDispatch(
        "failover", EditVerdict.CARRIED_OUT, "at once: a loss of the member applies the new policy and grace period"
    ),
    EditAfterDispatch(
        "identifier",
        EditVerdict.RELAXED_ONLY,
        "the running attempt runs on the identifier chosen under it; removing the pin is taken, and the next "
        "placement may choose any identifier of the pool",
        "!has(self.spec.identifier)"
        " || (has(oldSelf.spec.identifier) && self.spec.identifier == oldSelf.spec.identifier)",
    ),
    EditAfterDispatch("queueName", EditVerdict.REFUSED, "the queue that admitted the running attempt holds its quota"),
    EditAfterDispatch(
        "variants",
        EditVerdict.REFUSED,
        "the member's workload was rendered with the chosen variant's devices and containers",
    ),
    EditAfterDispatch("template", EditVerdict.REFUSED, "the member's Job was made from it"),
    EditAfterDispatch(
        "workload", EditVerdict.REFUSED, "the member's object (a Deployment, a JobSet, ...) was made from it"
    ),
)
"""Every spec field of a ComputeTask and what an edit to it does while the task runs (docs/api.md shows it)."""


class ComputeTask(ApiModel):
    """A demand for compute: the operator finds an identifier that fits, runs the Job there, and reports."""

    rules: ClassVar[tuple[Rule, ...]] = (edits_rule(EDITS_AFTER_DISPATCH),)

    api_version: Literal["computenet.io/v1alpha1"] = API_VERSION
    kind: Literal["ComputeTask"] = "ComputeTask"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ComputeTaskSpec = Field(description="What the task needs and runs.")
    status: ComputeTaskStatus | None = Field(None, description="What became of it.")
