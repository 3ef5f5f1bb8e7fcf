"""ComputeWork: one dispatched attempt handed to a member agent (pull mode), kept on the hub.

In pull mode the hub holds no credential for the member. Dispatch writes the rendered workload, of
any supported kind (a batch/v1 Job, a JobSet, a Deployment, ..., or a kind declared on the hub with
its rules), into a ComputeWork in the provider's namespace on the hub (Karmada's ``Work``, Open
Cluster Management's ``ManifestWork``); the member's agent creates that workload in its own cluster
under the same deterministic name, adopts it after a restart, and writes its status back here. The
object survives restarts of the operator and of the agent, so the hub never dispatches an attempt
twice: the work names the attempt, and its name is the workload's name.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from computenet.api.common import ApiModel, Condition, ObjectMeta, SpecModel, StatusModel
from computenet.api.constants import API_VERSION
from computenet.api.fields import DnsLabel, Rule, Timestamp
from computenet.api.workload_kind import DeclaredStatus

__all__ = [
    "ComputeWork",
    "ComputeWorkSpec",
    "ComputeWorkStatus",
    "JobCondition",
    "MemberJob",
    "WorkDependency",
    "WorkKind",
]

MAX_WORK_DEPENDENCY_BYTES = 1024 * 1024
"""What the ConfigMaps, Secrets and ResourceClaimTemplates a work carries may weigh together (their JSON):
the work is one object in the hub's etcd, whose requests are at most 1.5 MiB by default (etcd
``--max-request-bytes``), and the rendered workload travels in it too."""


class WorkDependency(SpecModel):
    """A ConfigMap, Secret or ResourceClaimTemplate the workload needs, copied from the task's namespace on the hub."""

    api_version: Literal["v1", "resource.k8s.io/v1"] = Field(description="v1, or resource.k8s.io/v1.")
    kind: Literal["ConfigMap", "Secret", "ResourceClaimTemplate"] = Field(description="What it is.")
    metadata: dict[str, Any] = Field(description="Its name and the workload's origin labels.")
    data: dict[str, str] | None = Field(None, description="A ConfigMap's or Secret's data.")
    binary_data: dict[str, str] | None = Field(None, description="A ConfigMap's binaryData (base64).")
    string_data: dict[str, str] | None = Field(None, description="A Secret's stringData.")
    type: str | None = Field(None, max_length=253, description="A Secret's type.")
    immutable: bool | None = Field(None, description="Whether the ConfigMap or Secret is immutable.")
    spec: dict[str, Any] | None = Field(None, description="A ResourceClaimTemplate's spec.")


class WorkKind(SpecModel):
    """A declared kind (ComputeWorkloadKind) as the agent follows it, copied from the hub's declaration."""

    api_version: str = Field(
        min_length=3, max_length=316, pattern=r"^[a-z0-9.-]+/[a-z0-9]+$", description="<group>/<version> of the CRD."
    )
    kind: str = Field(min_length=1, max_length=63, pattern=r"^[A-Z][A-Za-z0-9]*$", description="The kind.")
    plural: str = Field(min_length=1, max_length=63, pattern=r"^[a-z][a-z0-9]*$", description="Its resource name.")
    serving: bool = Field(False, description="Runs until removed: never Succeeded.")
    status: DeclaredStatus = Field(description="How its status reads (failed, then succeeded, then running).")


class ComputeWorkSpec(SpecModel):
    """What the hub asks the agent to run: one workload, rendered by the hub. Immutable once created."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule("self == oldSelf", "spec is immutable: the hub writes a new work per attempt"),
    )

    agent: DnsLabel = Field(description="Name of the ComputeAgent (in this namespace) that runs the work.")
    identifier: str = Field(max_length=253, description="The ComputeIdentifier the attempt was placed on.")
    manifest: dict[str, Any] = Field(
        description="The workload to create in the member (a batch/v1 Job or another supported kind), with its "
        "namespace, name and origin labels."
    )
    workload_kind: WorkKind | None = Field(
        None,
        description="For a kind declared on the hub (ComputeWorkloadKind): its resource and status rules, so that the "
        "agent follows it without reading the hub's declarations. The agent runs it only where its provider "
        "enabled <plural>.<group> (the agent chart's workloadKinds).",
    )
    dependencies: list[WorkDependency] | None = Field(
        None,
        max_length=256,
        description="The ConfigMaps, Secrets (those the task names in spec.dependencies.secrets) and "
        "ResourceClaimTemplates the workload needs, copied from the task's namespace (at most 1 MiB together): "
        "the agent creates them in the workload's namespace before it and makes the workload their owner, so the "
        "member removes them with it.",
    )


class JobCondition(StatusModel):
    """One condition of the member's Job, copied as the job controller wrote it."""

    type: str = Field(max_length=63, description="Condition type, such as Complete or Failed.")
    status: str = Field(max_length=16, description="True, False or Unknown.")
    reason: str | None = Field(None, max_length=256, description="Machine-readable reason.")
    message: str | None = Field(None, max_length=2048, description="Human-readable message.")
    last_transition_time: Timestamp | None = Field(None, description="When the condition last changed.")


class MemberJob(StatusModel):
    """The workload in the member cluster as the agent last saw it (a Job, or another supported kind).

    A Job is mirrored field by field; another kind carries its ``apiVersion``, ``kind`` and its whole
    ``status`` as its controller wrote it, which the hub reads by that kind's rule
    (``computenet.workloads.status``).
    """

    api_version: str | None = Field(
        None, max_length=253, description="API version of a workload other than a batch/v1 Job."
    )
    kind: str | None = Field(None, max_length=63, description="Kind of a workload other than a batch/v1 Job.")
    status: dict[str, Any] | None = Field(
        None, description="The status of a workload other than a Job, as its controller wrote it."
    )
    namespace: str = Field(max_length=63, description="Namespace of the Job in the member.")
    name: str = Field(max_length=63, description="Name of the Job in the member.")
    uid: str | None = Field(None, max_length=64, description="UID of the Job in the member.")
    active: int = Field(0, ge=0, description="Pods running or pending.")
    ready: int = Field(0, ge=0, description="Pods ready.")
    succeeded: int = Field(0, ge=0, description="Pods succeeded.")
    failed: int = Field(0, ge=0, description="Pods failed.")
    start_time: Timestamp | None = Field(None, description="When the job controller started the Job.")
    completion_time: Timestamp | None = Field(None, description="When the Job completed.")
    conditions: list[JobCondition] | None = Field(None, max_length=16, description="The Job's conditions.")
    warning: str | None = Field(
        None,
        max_length=2048,
        description="The member's newest Warning event about a Job that has no pod (a quota refusing its pods).",
    )


class ComputeWorkStatus(StatusModel):
    """What the agent reports about the work (it alone writes this status)."""

    conditions: list[Condition] | None = Field(
        None,
        max_length=8,
        description="Applied: True once the Job exists in the member (reason Created or Adopted); False "
        "with the member's answer when it cannot be created, or JobGone when it vanished after creation.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    job: MemberJob | None = Field(None, description="The member's Job, once it exists.")


class ComputeWork(ApiModel):
    """One dispatched attempt in pull mode: the Job the member's agent runs, and its status."""

    api_version: Literal["computenet.io/v1alpha1"] = API_VERSION
    kind: Literal["ComputeWork"] = "ComputeWork"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ComputeWorkSpec = Field(description="What the hub asks the agent to run.")
    status: ComputeWorkStatus | None = Field(None, description="What the agent reports.")
