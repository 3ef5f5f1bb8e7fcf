"""ComputeWorkloadKind: a workload kind declared on the hub, run without code of its own.

A platform team names a CRD's kind, where an object of it keeps its pod sets (field paths), which
status fields mean running, succeeded and failed (CEL over ``self``, or a path and the string it
must equal), and the operator then places, renders, follows and deletes tasks of that kind like
the built-in ones. The rules are read by ``computenet.workloads.declared``; docs/workloads.md
("Declaring a kind") walks through a Kubeflow TrainJob.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError

from computenet.api.common import ApiModel, Condition, ObjectMeta, SpecModel, StatusModel
from computenet.api.constants import API_VERSION
from computenet.api.fields import DnsLabel
from computenet.api.problems import Problem
from computenet.workloads.declared import DeclarationError, compile_declaration
from computenet.workloads.kinds import KINDS, Kind

__all__ = [
    "ComputeWorkloadKind",
    "ComputeWorkloadKindSpec",
    "ComputeWorkloadKindStatus",
    "DeclaredPodSet",
    "DeclaredStatus",
    "MemberRule",
    "StatusTest",
    "declared_kind",
    "member_rule",
]


class DeclaredPodSet(SpecModel):
    """One role of the kind: how many pods, and their pod template or their requests.

    Paths are field names separated by dots, each with optional ``[index]`` or ``[field=value]`` list
    selectors (``spec.replicatedJobs[name=workers].template.spec.template``).
    """

    role: DnsLabel = Field(description="The role's name, shown in placement (status.placement.podSets).")
    count: str | None = Field(
        None, min_length=1, max_length=512, description="Path to the role's number of pods (spec.trainer.numNodes)."
    )
    default_count: int = Field(1, ge=0, le=100000, description="The count where the object leaves the path out.")
    template: str | None = Field(
        None,
        min_length=1,
        max_length=512,
        description="Path to the role's pod template ({metadata, spec}) in the object's spec: placed at its "
        "effective request, rendered with the origin labels and pinned to the role's nodes.",
    )
    resources: str | None = Field(
        None,
        min_length=1,
        max_length=512,
        description="Path to the role's container resource requirements ({requests, limits}), for a kind whose pod "
        "templates are elsewhere: its pods are placed at those requests but not labelled or pinned.",
    )


class StatusTest(SpecModel):
    """When an object is in one phase: a CEL expression, or a path and the string its value must equal."""

    cel: str | None = Field(
        None, min_length=1, max_length=4096, description="A CEL expression over self (the whole object), true in it."
    )
    path: str | None = Field(None, min_length=1, max_length=512, description="A field path into the object.")
    equals: str | None = Field(None, max_length=256, description="The string the value at path equals in the phase.")


class DeclaredStatus(SpecModel):
    """How the object's status reads as the attempt's phase: failed, then succeeded, then running; else Pending."""

    running: StatusTest = Field(description="When it runs (a serving kind: while it is available).")
    succeeded: StatusTest | None = Field(None, description="When it has succeeded; required unless serving.")
    failed: StatusTest | None = Field(None, description="When it has failed.")
    message: str | None = Field(
        None,
        min_length=1,
        max_length=512,
        description="Path to why it failed (status.conditions[type=Failed].message).",
    )


class MemberRule(StatusModel):
    """The RBAC rule the operator's member identity needs for the kind (a ClusterRole rule)."""

    api_groups: list[str] = Field(description="API groups.")
    resources: list[str] = Field(description="Resources.")
    verbs: list[str] = Field(description="Verbs.")


class ComputeWorkloadKindSpec(SpecModel):
    """The kind, its pod sets and its status rules."""

    api_version: str = Field(
        min_length=3, max_length=316, pattern=r"^[a-z0-9.-]+/[a-z0-9]+$", description="<group>/<version> of the CRD."
    )
    kind: str = Field(min_length=1, max_length=63, pattern=r"^[A-Z][A-Za-z0-9]*$", description="The kind.")
    plural: str = Field(min_length=1, max_length=63, pattern=r"^[a-z][a-z0-9]*$", description="Its resource name.")
    serving: bool = Field(
        False, description="Runs until removed: Running while available, never Succeeded (like a Deployment)."
    )
    name_max: int = Field(
        40,
        ge=20,
        le=63,
        description="Longest name the operator gives its objects, so names its controller derives fit.",
    )
    pod_sets: list[DeclaredPodSet] = Field(min_length=1, max_length=16, description="Its roles, in order.")
    status: DeclaredStatus = Field(description="How its status reads.")


class ComputeWorkloadKindStatus(StatusModel):
    """Whether the declaration is in use, and the member RBAC it needs."""

    observed_generation: int | None = Field(None, ge=0, description="The .metadata.generation last acted on.")
    conditions: list[Condition] | None = Field(
        None,
        max_length=8,
        description="Accepted: True once tasks of the kind run; False naming the field that is wrong.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    member_rule: MemberRule | None = Field(
        None, description="The rule every member's operator identity needs for the kind (docs/workloads.md)."
    )


class ComputeWorkloadKind(ApiModel):
    """A workload kind declared for tasks (cluster-scoped): where its pod sets are, how its status reads."""

    api_version: Literal["computenet.io/v1alpha1"] = API_VERSION
    kind: Literal["ComputeWorkloadKind"] = "ComputeWorkloadKind"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ComputeWorkloadKindSpec = Field(description="The kind and its rules.")
    status: ComputeWorkloadKindStatus | None = Field(None, description="What the operator observes.")


def member_rule(spec: ComputeWorkloadKindSpec) -> MemberRule:
    """The member RBAC rule a kind needs: what the operator does with every workload it dispatches."""
    group = spec.api_version.rpartition("/")[0]
    return MemberRule(
        api_groups=[group], resources=[spec.plural], verbs=["get", "list", "watch", "create", "delete", "patch"]
    )


def declared_kind(spec: Mapping[str, Any]) -> tuple[Kind | None, list[Problem]]:
    """The kind a ComputeWorkloadKind's raw ``spec`` declares, or None and what is wrong, naming each field.

    The schema's rules first (pydantic, as the CRD states them), then the paths and CEL expressions
    (``computenet.workloads.declared``), and a built-in kind is refused.
    """
    try:
        ComputeWorkloadKindSpec.model_validate(dict(spec))
    except ValidationError as e:
        return None, [Problem("spec." + ".".join(str(p) for p in err["loc"]), err["msg"]) for err in e.errors()]
    try:
        kind = compile_declaration(spec)
    except DeclarationError as e:
        return None, [Problem(e.field, e.message)]
    if (kind.api_version, kind.kind) in KINDS:
        return None, [Problem("spec.kind", f"{kind.key} is a built-in kind: it cannot be declared")]
    return kind, []
