"""ComputeIdentifier: one registered piece of compute (a member cluster, or a partition of one).

The spec is what the provider declares: where the member is, how to reach it, what it costs. The
status is what the operator observes there: health, node counts and free capacity down to the largest
slot on a single node, which is what placement needs to place a multi-GPU replica.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field

from computenet.api.common import (
    AcceleratorAmounts,
    ApiModel,
    Condition,
    LabelSelector,
    ObjectMeta,
    ResourceAmounts,
    SecretKeyRef,
    SpecModel,
    StatusModel,
)
from computenet.api.constants import (
    API_VERSION,
    DEFAULT_CURRENCY,
    DEFAULT_TARGET_NAMESPACE,
    Architecture,
    ComputeClass,
)
from computenet.api.data import IdentifierStorage
from computenet.api.fields import (
    AcceleratorModel,
    CurrencyCode,
    DnsLabel,
    LabelKey,
    Price,
    RegionName,
    Rule,
    SetOf,
    Timestamp,
    cel_string,
    validations,
)
from computenet.api.uri import URI_MAX_LENGTH, URI_PATTERN, parse_identifier_uri

__all__ = [
    "AgentRef",
    "ComputeIdentifier",
    "ComputeIdentifierSpec",
    "ComputeIdentifierStatus",
    "Connection",
    "IdentifierSummary",
    "IdentifierTopology",
    "Network",
    "NodeCounts",
    "Pricing",
    "TopologyDomains",
    "TopologyLevel",
]

_URI_SYNTAX = (
    "must look like cpi://<provider>/<region>/<cluster>[/<partition>], each segment a lowercase DNS label "
    "(letters, digits, '-')"
)


_URI_CEL = cel_string(URI_PATTERN)


def _check_uri(value: str) -> str:
    parse_identifier_uri(value)
    return value


IdentifierUri = Annotated[
    str,
    AfterValidator(_check_uri),
    Field(
        max_length=URI_MAX_LENGTH,
        json_schema_extra=validations(
            Rule(f"self.matches({_URI_CEL})", _URI_SYNTAX),
            Rule("self == oldSelf", "uri is immutable: register a new ComputeIdentifier to change it"),
        ),
    ),
]


class AgentRef(SpecModel):
    """Pull mode: the member agent that reports this identifier's nodes and runs its work."""

    namespace: DnsLabel = Field(description="The provider's namespace on the hub, where the ComputeAgent lives.")
    name: DnsLabel = Field(description="Name of the ComputeAgent (and of its Lease) in that namespace.")


class Connection(SpecModel):
    """How the operator reaches the member and where it puts dispatched work there.

    Exactly one of ``secretRef`` (push: the hub watches the member with a kubeconfig) and ``agent``
    (pull: an agent in the member reports to the hub and pulls its work; the hub holds no credential).
    """

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "has(self.secretRef) != has(self.agent)",
            "set exactly one of secretRef (push) and agent (pull)",
            check=lambda c: (c.secret_ref is None) != (c.agent is None),
        ),
    )

    secret_ref: SecretKeyRef | None = Field(
        None,
        description="Push mode: the Secret key holding a kubeconfig for the member's API server "
        "(key defaults to kubeconfig).",
    )
    agent: AgentRef | None = Field(None, description="Pull mode: the member agent that serves this identifier.")
    node_selector: LabelSelector | None = Field(
        None,
        description="Narrows the identifier to the member's nodes matching this selector (a partition, "
        "such as the H100 nodes of a cluster). Omit it to use every node.",
    )
    target_namespace: DnsLabel = Field(
        DEFAULT_TARGET_NAMESPACE,
        description="Namespace in the member where dispatched workloads are created.",
    )


class Pricing(SpecModel):
    """Prices per unit-hour. A replica costs cpu x perCpuCoreHour + memory x perGiBHour + accelerators."""

    currency: CurrencyCode = Field(DEFAULT_CURRENCY, description="ISO 4217 currency of every price here.")
    per_cpu_core_hour: Price | None = Field(None, description="Price of one CPU core for one hour.")
    per_gib_hour: Price | None = Field(None, alias="perGiBHour", description="Price of one GiB of memory for one hour.")
    per_accelerator_hour: dict[AcceleratorModel, Price] | None = Field(
        None,
        max_length=32,
        description="Price of one accelerator for one hour, by accelerator model (such as NVIDIA-H100-80GB-HBM3).",
    )


class Network(SpecModel):
    """Network facts placement uses to weigh data locality."""

    latency_ms: dict[RegionName, Annotated[int, Field(ge=0, le=600_000)]] | None = Field(
        None,
        max_length=64,
        description="Round-trip latency in milliseconds from this identifier to named regions.",
    )
    bandwidth_gbps: float | None = Field(
        None, gt=0, le=100_000, description="Bandwidth in Gbit/s for moving data in and out."
    )


MAX_TOPOLOGY_LEVELS = 8


class TopologyLevel(SpecModel):
    """One level of the member's interconnect: a name tasks use, and the node label naming its domains."""

    name: DnsLabel = Field(description="What tasks call the level in spec.topology, such as block, rack or clique.")
    node_label: LabelKey = Field(
        description="The node label whose values name the level's domains, such as "
        "cloud.google.com/gce-topology-block, topology.computenet.io/rack or nvidia.com/gpu.clique."
    )


class IdentifierTopology(SpecModel):
    """The member's interconnect levels, coarsest first, like Kueue's Topology (``spec.levels``)."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "self.levels.all(l, self.levels.exists_one(m, m.nodeLabel == l.nodeLabel))",
            "each node label names one level",
            field_path=".levels",
            check=lambda t: len({lv.node_label for lv in t.levels}) == len(t.levels),
        ),
        Rule(
            "self.levels.all(l, self.levels.exists_one(m, m.name == l.name))",
            "level names must be unique",
            field_path=".levels",
            check=lambda t: len({lv.name for lv in t.levels}) == len(t.levels),
        ),
    )

    levels: list[TopologyLevel] = Field(
        min_length=1,
        max_length=MAX_TOPOLOGY_LEVELS,
        description="Coarsest first (a block holds racks, a rack holds NVLink cliques): a task preferring one level "
        "falls back to the coarser ones before giving up on a single domain.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )


class ComputeIdentifierSpec(SpecModel):
    """What a provider declares about a piece of compute: identity, location, reachability and price."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            f"!self.uri.matches({_URI_CEL}) || self.uri.split('/')[2] == self.provider",
            "the provider segment of uri must equal spec.provider",
            field_path=".uri",
            check=lambda s: parse_identifier_uri(s.uri).provider == s.provider,
        ),
        Rule(
            f"!self.uri.matches({_URI_CEL}) || self.uri.split('/')[3] == self.region",
            "the region segment of uri must equal spec.region",
            field_path=".uri",
            check=lambda s: parse_identifier_uri(s.uri).region == s.region,
        ),
        Rule(
            f"!self.uri.matches({_URI_CEL}) || size(self.uri.split('/')) == 5 || has(self.connection.nodeSelector)",
            "a partition URI (cpi://provider/region/cluster/partition) needs connection.nodeSelector "
            "to say which nodes form the partition",
            field_path=".connection",
            check=lambda s: parse_identifier_uri(s.uri).partition is None or s.connection.node_selector is not None,
        ),
    )

    uri: IdentifierUri = Field(
        description="Stable name of this compute: cpi://<provider>/<region>/<cluster>[/<partition>], "
        "each segment a lowercase DNS label. Immutable."
    )
    provider: DnsLabel = Field(description="Who runs the compute; must equal the provider segment of uri.")
    region: DnsLabel = Field(description="Where the compute is; must equal the region segment of uri.")
    zone: DnsLabel | None = Field(None, description="Availability zone within the region, if any.")
    compute_class: ComputeClass = Field(
        ComputeClass.GENERAL, description="What the compute is built for: general, ai, hpc or edge."
    )
    architectures: SetOf[Architecture] = Field(
        default=[Architecture.AMD64],  # pydantic copies it; a literal default reaches the CRD
        min_length=1,
        max_length=5,
        description="CPU architectures of the nodes, as in the kubernetes.io/arch label.",
    )
    connection: Connection = Field(description="How to reach the member cluster.")
    pricing: Pricing | None = Field(None, description="Prices per unit-hour; without them the compute is free.")
    network: Network | None = Field(None, description="Latency and bandwidth facts for data locality.")
    storage: IdentifierStorage | None = Field(
        None, description="The object store near this compute, where a task's inputs are staged."
    )
    topology: IdentifierTopology | None = Field(
        None,
        description="Interconnect levels of the nodes, coarsest first: tasks name a level in spec.topology, and "
        "status.topology counts each level's domains. See docs/accelerators.md.",
    )


class NodeCounts(StatusModel):
    """How many of the identifier's nodes exist, are Ready, and accept new pods."""

    total: int = Field(0, ge=0, description="Nodes selected by the identifier.")
    ready: int = Field(0, ge=0, description="Nodes whose Ready condition is True.")
    schedulable: int = Field(
        0, ge=0, description="Ready nodes that are not cordoned and carry no node-condition taint."
    )


class IdentifierSummary(StatusModel):
    """Preformatted values for the columns of `kubectl get cid`."""

    gpus: str | None = Field(
        None,
        max_length=64,
        description="Free and total physical accelerators, such as 12/16: the devices behind MIG slices and "
        "shared replicas, never the slices; a device counts as free when nothing holds any unit of it.",
    )
    price: str | None = Field(
        None,
        max_length=64,
        description="Cheapest accelerator-hour, such as 2.10 USD/h, or '-' without prices.",
    )


class TopologyDomains(StatusModel):
    """One declared level's domains among the identifier's nodes, and the roomiest of them."""

    level: str = Field(max_length=63, description="The level's name, as spec.topology.levels declares it.")
    node_label: str = Field(max_length=317, description="The node label naming its domains.")
    domains: int = Field(0, ge=0, description="Distinct values of the label on the identifier's nodes.")
    largest_free_accelerators: int = Field(
        0,
        ge=0,
        description="The most accelerator units free in one domain (on nodes that accept new pods): the most "
        "devices a gang required in one domain of this level can get now.",
    )
    largest_free_nodes: int = Field(
        0, ge=0, description="The most nodes of one domain that accept new pods and have a pod slot left."
    )


class ComputeIdentifierStatus(StatusModel):
    """What the operator observes in the member: health, nodes and capacity."""

    observed_generation: int | None = Field(None, ge=0, description="The .metadata.generation last acted on.")
    conditions: list[Condition] | None = Field(
        None,
        max_length=16,
        description="Ready and Reachable, among others.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    last_heartbeat_time: Timestamp | None = Field(None, description="When the member's API server last answered.")
    kubernetes_version: str | None = Field(None, max_length=64, description="Version the member's API server reports.")
    nodes: NodeCounts | None = Field(None, description="Node counts.")
    resources: ResourceAmounts | None = Field(
        None, description="Capacity, allocatable, allocated and free, summed over the selected nodes."
    )
    accelerators: dict[str, AcceleratorAmounts] | None = Field(
        None,
        max_length=32,
        description=(
            "Accelerator counts by model, including the largest slot free on a single node. Devices of a DRA "
            "driver (ResourceSlices) are keyed by their model attribute, or by the driver without one."
        ),
    )
    workload_kinds: SetOf[Annotated[str, Field(max_length=128)]] | None = Field(
        None,
        max_length=32,
        description=(
            'The workload kinds the member serves, as "<apiVersion> <kind>" (e.g. "jobset.x-k8s.io/v1alpha2 JobSet"), '
            "from its API discovery: a task of another kind is not placed here. In pull mode, the kinds its agent "
            "runs there (those its provider enables that the member serves), as the agent reports them. Absent until "
            "discovery answers (or while an agent does not report them)."
        ),
    )
    topology: list[TopologyDomains] | None = Field(
        None,
        max_length=MAX_TOPOLOGY_LEVELS,
        description="Per level of spec.topology, coarsest first: how many domains, and the roomiest one's free "
        "accelerators and nodes.",
    )
    summary: IdentifierSummary | None = Field(None, description="Preformatted values for kubectl get.")


class ComputeIdentifier(ApiModel):
    """A registered piece of compute: a member cluster, or a partition of one, named by a stable URI."""

    api_version: Literal["computenet.io/v1alpha1"] = API_VERSION
    kind: Literal["ComputeIdentifier"] = "ComputeIdentifier"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ComputeIdentifierSpec = Field(description="What the provider declares.")
    status: ComputeIdentifierStatus | None = Field(None, description="What the operator observes.")
