"""The CustomResourceDefinitions of the three kinds, assembled from the models.

Everything a CRD says beyond the schema lives here, next to the kind it belongs to: names, scope,
the status subresource and the printer columns that make ``kubectl get cid,cpool,ctask`` useful at a
glance. The schema itself is the model's, translated by :mod:`computenet.api.schema`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from computenet.api.agent import ComputeAgent
from computenet.api.constants import (
    AGENT,
    CATEGORY,
    DATASET,
    GROUP,
    IDENTIFIER,
    POOL,
    QUEUE,
    TASK,
    VERSION,
    WORK,
    WORKLOAD_KIND,
    KindInfo,
)
from computenet.api.data import ComputeDataset
from computenet.api.identifier import ComputeIdentifier
from computenet.api.pool import ComputePool
from computenet.api.queue import ComputeQueue
from computenet.api.schema import structural
from computenet.api.task import EDITS_AFTER_DISPATCH, ComputeTask, EditAfterDispatch
from computenet.api.work import ComputeWork
from computenet.api.workload_kind import ComputeWorkloadKind

__all__ = ["KINDS", "Column", "KindDefinition", "crd", "open_api_schema"]


@dataclass(frozen=True)
class Column:
    """A printer column: what ``kubectl get`` shows; ``priority=1`` only with ``-o wide``."""

    name: str
    json_path: str
    type: str = "string"
    description: str = ""
    priority: int = 0

    def as_crd(self) -> dict[str, Any]:
        column: dict[str, Any] = {"name": self.name, "type": self.type, "jsonPath": self.json_path}
        if self.description:
            column["description"] = self.description
        if self.priority:
            column["priority"] = self.priority
        return column


_AGE = Column("Age", ".metadata.creationTimestamp", "date")


@dataclass(frozen=True)
class KindDefinition:
    """One kind: its names, its model, its columns, and what an edit of each spec field does once it runs."""

    info: KindInfo
    model: type[BaseModel]
    columns: tuple[Column, ...]
    edits: tuple[EditAfterDispatch, ...] = ()


KINDS = (
    KindDefinition(
        IDENTIFIER,
        ComputeIdentifier,
        (
            Column("URI", ".spec.uri", description="Identifier URI."),
            Column("Ready", '.status.conditions[?(@.type=="Ready")].status', description="Ready condition."),
            Column("GPUs", ".status.summary.gpus", description="Accelerators free / total."),
            Column("Region", ".spec.region", description="Region."),
            Column("Price", ".status.summary.price", description="Cheapest accelerator-hour."),
            Column("Provider", ".spec.provider", description="Provider.", priority=1),
            Column("Class", ".spec.computeClass", description="Compute class.", priority=1),
            Column("Heartbeat", ".status.lastHeartbeatTime", "date", "Last answer from the member.", 1),
            _AGE,
        ),
    ),
    KindDefinition(
        POOL,
        ComputePool,
        (
            Column("Ready", ".status.summary.members", description="Members ready / total."),
            Column("GPUs", ".status.summary.gpus", description="Accelerators free / total."),
            Column("Queued", ".status.tasks.queued", "integer", "Tasks waiting for placement."),
            Column("Running", ".status.tasks.running", "integer", "Tasks running."),
            Column("Strategy", ".spec.placement.strategy", description="Placement strategy.", priority=1),
            _AGE,
        ),
    ),
    KindDefinition(
        TASK,
        ComputeTask,
        (
            Column("Phase", ".status.phase", description="Phase of the task."),
            Column("Identifier", ".status.placement.identifier", description="Where it runs."),
            Column("GPUs", ".status.summary.gpus", description="Replicas x accelerators per replica."),
            Column("Pool", ".spec.pool", description="Pool.", priority=1),
            Column("Priority", ".spec.priority", "integer", "Priority.", priority=1),
            _AGE,
        ),
        EDITS_AFTER_DISPATCH,
    ),
    KindDefinition(
        WORK,
        ComputeWork,
        (
            Column("Identifier", ".spec.identifier", description="Identifier the attempt was placed on."),
            Column(
                "Applied", '.status.conditions[?(@.type=="Applied")].reason', description="Created, Adopted or why not."
            ),
            Column("Active", ".status.job.active", "integer", "Pods running or pending."),
            Column("Succeeded", ".status.job.succeeded", "integer", "Pods succeeded."),
            _AGE,
        ),
    ),
    KindDefinition(
        AGENT,
        ComputeAgent,
        (
            Column("Approved", '.status.conditions[?(@.type=="Approved")].status', description="Approved condition."),
            Column("Report", ".status.report.reportTime", "date", "When the agent last reported."),
            Column("Cluster", ".spec.cluster", description="Member cluster.", priority=1),
            _AGE,
        ),
    ),
    KindDefinition(
        QUEUE,
        ComputeQueue,
        (
            Column("Pool", ".spec.pool", description="Pool whose capacity the queue shares."),
            Column("GPUs", ".status.summary.gpus", description="Accelerators used / nominal quota."),
            Column("Admitted", ".status.tasks.admitted", "integer", "Tasks holding quota."),
            Column("Waiting", ".status.tasks.waiting", "integer", "Tasks waiting."),
            Column("Spend", ".status.summary.spend", description="Spend this month / budget."),
            _AGE,
        ),
    ),
    KindDefinition(
        DATASET,
        ComputeDataset,
        (
            Column("Regions", ".spec.replicas[*].region", description="Regions holding a replica."),
            Column("URI", ".spec.replicas[0].uri", description="The first replica's URI.", priority=1),
            _AGE,
        ),
    ),
    KindDefinition(
        WORKLOAD_KIND,
        ComputeWorkloadKind,
        (
            Column("API Version", ".spec.apiVersion", description="The declared kind's group and version."),
            Column("Kind", ".spec.kind", description="The declared kind."),
            Column("Accepted", '.status.conditions[?(@.type=="Accepted")].status', description="Accepted condition."),
            _AGE,
        ),
    ),
)


def open_api_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of a kind: its spec and status, with the standard top-level fields."""
    source = model.model_json_schema(by_alias=True, mode="validation")
    defs = source.get("$defs", {})
    properties = source["properties"]
    schema: dict[str, Any] = {
        "description": model.__doc__.strip() if model.__doc__ else "",
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {
                "description": "Versioned schema of this representation of an object.",
                "type": "string",
            },
            "kind": {"description": "The REST resource this object represents.", "type": "string"},
            "metadata": {"type": "object"},
            "spec": structural(properties["spec"], defs),
            "status": structural(properties["status"], defs),
        },
    }
    # The kind's own rules (ApiModel.rules of the top model) sit at the root: only there can a rule read
    # both spec and status, such as a transition rule on spec guarded by oldSelf.status.phase.
    if "x-kubernetes-validations" in source:
        schema["x-kubernetes-validations"] = source["x-kubernetes-validations"]
    return schema


def crd(kind: KindDefinition) -> dict[str, Any]:
    """The apiextensions.k8s.io/v1 CustomResourceDefinition of one kind."""
    info = kind.info
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": info.crd_name, "labels": {"app.kubernetes.io/part-of": "computenet"}},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": info.kind,
                "listKind": info.list_kind,
                "plural": info.plural,
                "singular": info.singular,
                "shortNames": list(info.short_names),
                "categories": [CATEGORY],
            },
            "scope": "Namespaced" if info.namespaced else "Cluster",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [column.as_crd() for column in kind.columns],
                    "schema": {"openAPIV3Schema": open_api_schema(kind.model)},
                }
            ],
        },
    }
