"""ComputePool: a set of identifiers chosen by labels, with the placement policy for tasks sent to it.

Its status is the aggregate a pool operator watches: members ready / total, capacity by resource and
accelerator model, peak compute normalised per precision, and the task queue.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from computenet.api.common import (
    AcceleratorAmounts,
    ApiModel,
    Condition,
    LabelSelector,
    ObjectMeta,
    ResourceAmounts,
    SpecModel,
    StatusModel,
)
from computenet.api.constants import API_VERSION, PlacementStrategy
from computenet.api.fields import Rule

__all__ = [
    "ComputePool",
    "ComputePoolSpec",
    "ComputePoolStatus",
    "MemberCounts",
    "PlacementPolicy",
    "PoolSummary",
    "ScoreWeights",
    "TaskCounts",
    "Tflops",
]


class ScoreWeights(SpecModel):
    """Relative weights (0-100) of the placement scores; each score is itself 0-100."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "self.fit + self.price + self.locality + self.reliability > 0",
            "at least one weight must be greater than 0",
            check=lambda w: w.fit + w.price + w.locality + w.reliability > 0,
        ),
    )

    fit: int = Field(
        40, ge=0, le=100, description="How well the task fills (Binpack) or avoids (Spread) free capacity."
    )
    price: int = Field(30, ge=0, le=100, description="How cheap the identifier is for this task.")
    locality: int = Field(
        20,
        ge=0,
        le=100,
        description="How close the identifier is to the task's data (latency and transfer time).",
    )
    reliability: int = Field(10, ge=0, le=100, description="How steadily the member has stayed Ready.")
    affinity: int = Field(
        25,
        ge=0,
        le=100,
        description=(
            "How much a task's preferred node affinity (the Job template's"
            " preferredDuringSchedulingIgnoredDuringExecution terms) counts; only tasks that have such"
            " terms are scored by it."
        ),
    )


class PlacementPolicy(SpecModel):
    """How tasks sent to the pool are placed, unless a task says otherwise."""

    strategy: PlacementStrategy = Field(
        PlacementStrategy.BINPACK,
        description="Binpack fills busy identifiers first and keeps large slots free; Spread balances load.",
    )
    weights: ScoreWeights = Field(default_factory=ScoreWeights, description="Weights of the placement scores.")


class ComputePoolSpec(SpecModel):
    """Which identifiers form the pool, and how tasks are placed among them."""

    identifier_selector: LabelSelector = Field(
        description="Label selector choosing the pool's ComputeIdentifiers. Must not be empty; "
        "to take every identifier, require a label they all carry (operator: Exists)."
    )
    placement: PlacementPolicy = Field(default_factory=PlacementPolicy, description="Placement defaults.")


class MemberCounts(StatusModel):
    """How many identifiers the selector picks, and how many of them are Ready."""

    ready: int = Field(0, ge=0, description="Member identifiers that are Ready.")
    total: int = Field(0, ge=0, description="Member identifiers selected.")


class TaskCounts(StatusModel):
    """Tasks of the pool waiting and running."""

    queued: int = Field(0, ge=0, description="Tasks waiting for placement (Pending or Offered).")
    running: int = Field(0, ge=0, description="Tasks dispatched and not finished (Dispatching or Running).")


class Tflops(StatusModel):
    """Peak dense compute in TFLOPS per precision (TOPS for int8), from the accelerator model catalogue."""

    fp64: float | None = Field(None, ge=0, description="FP64 TFLOPS.")
    fp32: float | None = Field(None, ge=0, description="FP32 TFLOPS.")
    tf32: float | None = Field(None, ge=0, description="TF32 tensor TFLOPS.")
    bf16: float | None = Field(None, ge=0, description="BF16 tensor TFLOPS.")
    fp16: float | None = Field(None, ge=0, description="FP16 tensor TFLOPS.")
    fp8: float | None = Field(None, ge=0, description="FP8 tensor TFLOPS.")
    int8: float | None = Field(None, ge=0, description="INT8 tensor TOPS.")


class PoolSummary(StatusModel):
    """Preformatted values for the columns of `kubectl get cpool`."""

    members: str | None = Field(None, max_length=64, description="Ready and total members, such as 3/4.")
    gpus: str | None = Field(
        None,
        max_length=64,
        description="Free and total physical accelerators of the ready members, such as 12/16: the devices behind "
        "MIG slices and shared replicas, never the slices.",
    )


class ComputePoolStatus(StatusModel):
    """The aggregate of the pool's members and tasks."""

    observed_generation: int | None = Field(None, ge=0, description="The .metadata.generation last acted on.")
    conditions: list[Condition] | None = Field(
        None,
        max_length=16,
        description="Ready (some member is Ready), among others.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    members: MemberCounts | None = Field(None, description="Member counts.")
    resources: ResourceAmounts | None = Field(None, description="Resources summed over Ready members.")
    accelerators: dict[str, AcceleratorAmounts] | None = Field(
        None, max_length=64, description="Accelerators by model, summed over Ready members."
    )
    tflops: Tflops | None = Field(None, description="Peak compute of all allocatable accelerators.")
    tflops_free: Tflops | None = Field(None, description="Peak compute of the free accelerators.")
    unknown_models: list[str] | None = Field(
        None,
        max_length=64,
        description="Accelerator models missing from the catalogue, so not counted in tflops.",
    )
    tasks: TaskCounts | None = Field(None, description="Task counts.")
    summary: PoolSummary | None = Field(None, description="Preformatted values for kubectl get.")


class ComputePool(ApiModel):
    """A set of ComputeIdentifiers chosen by labels, with the placement defaults for its tasks."""

    api_version: Literal["computenet.io/v1alpha1"] = API_VERSION
    kind: Literal["ComputePool"] = "ComputePool"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ComputePoolSpec = Field(description="Which identifiers, and how to place tasks among them.")
    status: ComputePoolStatus | None = Field(None, description="The aggregate the operator observes.")
