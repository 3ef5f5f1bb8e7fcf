"""ComputeAgent: a member agent's registration on the hub, and its report (pull mode).

A provider's agent creates its ComputeAgent in the provider's namespace on the hub with a bootstrap
credential that can do nothing else; a hub administrator approves it (the ``computenet.io/approved``
label, guarded by an admission policy); the operator then grants the agent a credential limited
to that namespace. The agent writes ``status.report``: a node-level summary of its cluster (what
placement reads, the same facts the hub reads from a push member's watch), coalesced so that one
agent costs the hub at most one write per report interval. Its heartbeat is the Lease of the same
name in the same namespace, and each new report (the agent renews the Lease only when it has not
reported for a renew interval).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from computenet.api.common import ApiModel, Condition, ObjectMeta, SpecModel, StatusModel
from computenet.api.constants import API_VERSION
from computenet.api.fields import DnsLabel, SetOf, Timestamp

__all__ = [
    "MAX_REPORTED_DEVICES",
    "MAX_REPORTED_NODES",
    "AgentReport",
    "ComputeAgent",
    "ComputeAgentSpec",
    "ComputeAgentStatus",
    "NodeShape",
    "ReportedAttribute",
    "ReportedClaim",
    "ReportedDevice",
    "ReportedDeviceClass",
    "ReportedDeviceRef",
    "ReportedDra",
    "ReportedNode",
    "ReportedPod",
    "ReportedSlice",
    "ReportedTaint",
]

MAX_REPORTED_NODES = 5000
"""Nodes one report can carry: about 0.1 KB each besides their shapes, well under the API server's object limit."""
MAX_REPORTED_PODS = 20000
MAX_REPORTED_DEVICES = 2000
"""DRA devices one report can carry (about 0.2 KB each): an agent whose member publishes more reports none."""


class ComputeAgentSpec(SpecModel):
    """What the provider states when it registers its agent."""

    cluster: DnsLabel | None = Field(None, description="Name of the member cluster, for humans.")
    description: str | None = Field(None, max_length=512, description="Free text for the administrator approving.")


class ReportedTaint(StatusModel):
    """A node taint."""

    key: str = Field(max_length=317, description="Taint key.")
    value: str = Field("", max_length=63, description="Taint value.")
    effect: str = Field(max_length=32, description="NoSchedule, PreferNoSchedule or NoExecute.")


class NodeShape(StatusModel):
    """What many nodes of a member share: labels but the per-node ones, capacity, allocatable, taints.

    Reports name each distinct shape once and let nodes point at it, so a member of 100 alike nodes
    reports their labels and capacity once, not 100 times: a report is about five times smaller.
    """

    labels: dict[str, str] | None = Field(None, description="Labels every node of this shape carries.")
    capacity: dict[str, int] | None = Field(None, description="status.capacity (cpu in millicores).")
    allocatable: dict[str, int] | None = Field(None, description="status.allocatable (cpu in millicores).")
    taints: list[ReportedTaint] | None = Field(None, max_length=64, description="spec.taints.")
    hostname_label: bool = Field(
        False,
        description="Every node of this shape carries the label kubernetes.io/hostname with its own name "
        "(left out of the nodes' own labels).",
    )


class ReportedNode(StatusModel):
    """Nodes as placement needs them: one, or several alike in everything this entry says but their names.

    Amounts are integers: cpu in millicores, the rest in base units. Nodes of one shape whose usage is
    the same (say every 8-GPU node with 8 GPUs taken) share one entry, so a report grows with the
    number of distinct usages, not with the number of nodes.
    """

    name: str | None = Field(None, max_length=253, description="Node name, when the entry is one node.")
    names: list[str] | None = Field(
        None,
        max_length=MAX_REPORTED_NODES,
        description="Names of the nodes this entry stands for (alike in shape, labels, requests and state).",
    )
    shape: int = Field(ge=0, description="Index of the node's shape in the report's shapes.")
    labels: dict[str, str] | None = Field(
        None, description="The nodes' own labels beyond their shape's (a kubernetes.io/hostname other than the name)."
    )
    requested: dict[str, int] | None = Field(
        None,
        description="What the node's resource-holding pods request, summed by kube-scheduler's rule, "
        "with pods counting the pod slots taken (cpu in millicores).",
    )
    ready: bool = Field(False, description="Whether the node's Ready condition is True.")
    unschedulable: bool = Field(False, description="spec.unschedulable (cordoned).")


class ReportedPod(StatusModel):
    """A pod of dispatched work (it carries the task UID label): bound, or waiting for a node."""

    task_uid: str = Field(alias="taskUID", max_length=63, description="The computenet.io/task-uid label.")
    attempt: str | None = Field(None, max_length=63, description="The computenet.io/attempt label.")
    node: str | None = Field(None, max_length=253, description="The node it is bound to, if any.")
    unschedulable_since: Timestamp | None = Field(
        None, description="When the member's scheduler last found no node for it (PodScheduled=False)."
    )
    unschedulable_message: str | None = Field(None, max_length=1024, description="The scheduler's message.")
    waiting: str | None = Field(
        None,
        max_length=1024,
        description="Why a container cannot start (``main: CreateContainerConfigError: ...``), if one cannot.",
    )


class ReportedAttribute(StatusModel):
    """A device attribute (resource.k8s.io/v1 DeviceAttribute): exactly one of its values is set."""

    bool_value: bool | None = Field(None, alias="bool", description="A boolean.")
    int_value: int | None = Field(None, alias="int", description="An integer.")
    string_value: str | None = Field(None, alias="string", max_length=64, description="A string.")
    version_value: str | None = Field(None, alias="version", max_length=64, description="A semantic version.")


class ReportedDevice(StatusModel):
    """One device of a ResourceSlice: what placement's CEL selectors see of it."""

    name: str = Field(max_length=128, description="spec.devices[].name.")
    attributes: dict[str, ReportedAttribute] | None = Field(None, description="spec.devices[].attributes.")
    capacity: dict[str, str] | None = Field(None, description="spec.devices[].capacity values, as quantities.")
    allow_multiple_allocations: bool = Field(False, description="spec.devices[].allowMultipleAllocations.")


class ReportedSlice(StatusModel):
    """A ResourceSlice as placement counts it: its pool, the node it is local to, and its devices."""

    name: str = Field(max_length=253, description="The ResourceSlice's name.")
    driver: str = Field(max_length=63, description="spec.driver.")
    pool: str = Field(max_length=253, description="spec.pool.name.")
    generation: int = Field(0, description="spec.pool.generation.")
    slice_count: int = Field(1, description="spec.pool.resourceSliceCount.")
    node: str | None = Field(None, max_length=253, description="spec.nodeName; absent for any other node selection.")
    devices: list[ReportedDevice] = Field(default_factory=list, max_length=128, description="spec.devices.")


class ReportedDeviceClass(StatusModel):
    """A DeviceClass: its CEL selectors, or why placement cannot evaluate them."""

    name: str = Field(max_length=253, description="The DeviceClass's name.")
    selectors: list[str] | None = Field(None, max_length=32, description="spec.selectors[].cel.expression.")
    problem: str | None = Field(None, max_length=1024, description="Why placement cannot use the class, if it cannot.")
    extended_resource_name: str | None = Field(None, max_length=317, description="spec.extendedResourceName.")
    created: str | None = Field(None, max_length=64, description="metadata.creationTimestamp.")


class ReportedDeviceRef(StatusModel):
    """A device as an allocation result names it."""

    driver: str = Field(max_length=63, description="The device's driver.")
    pool: str = Field(max_length=253, description="The device's pool.")
    device: str = Field(max_length=128, description="The device's name.")


class ReportedClaim(StatusModel):
    """An allocated ResourceClaim: the devices it holds."""

    name: str = Field(max_length=317, description='"<namespace>/<name>".')
    devices: list[ReportedDeviceRef] = Field(
        default_factory=list, max_length=32, description="status.allocation.devices.results."
    )


class ReportedDra(StatusModel):
    """The member's DRA objects as its scheduler sees them (resource.k8s.io/v1), in compact records."""

    problem: str | None = Field(
        None,
        max_length=512,
        description="Why the agent does not know its cluster's DRA devices (its watch of them fails), absent while "
        "it does: meanwhile the hub places no task claiming DRA devices there.",
    )
    slices: list[ReportedSlice] = Field(
        default_factory=list, max_length=MAX_REPORTED_DEVICES, description="ResourceSlices."
    )
    classes: list[ReportedDeviceClass] = Field(default_factory=list, max_length=256, description="DeviceClasses.")
    claims: list[ReportedClaim] = Field(
        default_factory=list, max_length=MAX_REPORTED_DEVICES, description="Allocated ResourceClaims."
    )


class AgentReport(StatusModel):
    """The agent's summary of its cluster, rewritten whole on each report."""

    report_time: Timestamp = Field(description="When the agent made this report (the agent's clock).")
    agent_version: str | None = Field(None, max_length=64, description="Version of the agent.")
    shapes: list[NodeShape] = Field(
        default_factory=list, max_length=MAX_REPORTED_NODES, description="The distinct node shapes."
    )
    nodes: list[ReportedNode] = Field(
        default_factory=list, max_length=MAX_REPORTED_NODES, description="Every node, alike nodes in one entry."
    )
    pods: list[ReportedPod] = Field(
        default_factory=list, max_length=MAX_REPORTED_PODS, description="Pods of dispatched work that hold resources."
    )
    stale: str | None = Field(
        None,
        max_length=512,
        description="Why the agent's picture of its cluster is not current (one of its watches fails), "
        "absent while it is: meanwhile the hub places nothing on the agent's identifiers.",
    )
    workload_kinds: SetOf[Annotated[str, Field(max_length=128)]] | None = Field(
        None,
        max_length=32,
        description='The workload kinds the agent runs in its cluster, as "<apiVersion> <kind>": batch/v1 Job and '
        "each kind its provider enabled that the cluster's API discovery lists. The hub places a task of another "
        "kind elsewhere. Absent until the agent has read discovery.",
    )
    dra: ReportedDra | None = Field(
        None, description="The cluster's DRA devices and classes; absent from agents that do not report them."
    )


class ComputeAgentStatus(StatusModel):
    """Approval (written by the operator) and the report (written by the agent)."""

    conditions: list[Condition] | None = Field(
        None,
        max_length=8,
        description="Approved: whether the hub accepted the agent and issued its credential.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    credential_secret: str | None = Field(
        None, max_length=253, description="The Secret in this namespace holding the agent's hub token once approved."
    )
    report: AgentReport | None = Field(None, description="The agent's latest report.")


class ComputeAgent(ApiModel):
    """A member agent registered with the hub: its request, its approval and its latest report."""

    api_version: Literal["computenet.io/v1alpha1"] = API_VERSION
    kind: Literal["ComputeAgent"] = "ComputeAgent"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ComputeAgentSpec = Field(default_factory=ComputeAgentSpec, description="What the provider states.")
    status: ComputeAgentStatus | None = Field(None, description="Approval and report.")
