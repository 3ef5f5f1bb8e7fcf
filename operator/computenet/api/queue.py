"""ComputeQueue: a tenant's share of a pool, with quota per resource and accelerator model, and a budget.

Kueue's ClusterQueue, federated: a queue admits tasks from its namespaces into one pool under a
nominal quota per resource (``cpu``, ``memory``) and per accelerator model (Kueue's resource flavor),
may borrow what other queues of the pool leave idle (the pool is Kueue's cohort) up to a borrowing
limit, shares the pool by dominant resource with a weight, may preempt under a policy, reserves a
member for a task that starves, and stops admitting once its spend in the month reaches its budget.
The rules themselves live in ``computenet.queueing``; this module is the API.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from computenet.api.common import ApiModel, Condition, ObjectMeta, SpecModel, StatusModel
from computenet.api.constants import API_VERSION, DEFAULT_CURRENCY, DEFAULT_POOL
from computenet.api.fields import (
    AcceleratorModel,
    CurrencyCode,
    DnsLabel,
    Quantity,
    SetOf,
    SubdomainName,
    Timestamp,
)

__all__ = [
    "Budget",
    "ComputeQueue",
    "ComputeQueueSpec",
    "ComputeQueueStatus",
    "FairSharing",
    "QueuePreemption",
    "QueueQuota",
    "QueueSpend",
    "QueueSummary",
    "QueueTasks",
    "QuotaUsage",
    "ReclaimWithinPool",
    "Reservation",
    "WithinQueue",
]


Devices = Annotated[int, Field(ge=0, le=1_000_000, strict=True)]
"""A count of accelerator devices in a quota."""


class WithinQueue(StrEnum):
    """Whom a task may preempt in its own queue (Kueue ``withinClusterQueue``)."""

    NEVER = "Never"
    LOWER_PRIORITY = "LowerPriority"


class ReclaimWithinPool(StrEnum):
    """Whom a queue taking back its nominal quota may preempt in queues that borrow (Kueue ``reclaimWithinCohort``)."""

    NEVER = "Never"
    LOWER_PRIORITY = "LowerPriority"
    ANY = "Any"


class QueueQuota(SpecModel):
    """Concurrent amounts: what the queue's admitted tasks may hold at once (replicas x per-replica)."""

    cpu: Quantity | None = Field(None, description="CPU cores, such as 64 or 500m. Not limited when left out.")
    memory: Quantity | None = Field(None, description="Memory, such as 512Gi. Not limited when left out.")
    accelerators: dict[AcceleratorModel, Devices] | None = Field(
        None,
        max_length=32,
        description="Devices per accelerator model, such as NVIDIA-H100-80GB-HBM3: 16. A model left out is not "
        "limited; a model at 0 is used only by borrowing.",
    )


class FairSharing(SpecModel):
    """How the queue's turn compares with other queues' of the pool."""

    weight: float = Field(
        1.0,
        gt=0,
        le=1000,
        allow_inf_nan=False,
        description="Dominant-resource share is divided by the weight: weight 2 gets twice the share of weight 1.",
    )


class QueuePreemption(SpecModel):
    """When the queue's waiting tasks may evict admitted ones (on one member, the fewest tasks)."""

    within_queue: WithinQueue = Field(
        WithinQueue.NEVER, description="LowerPriority: a task may preempt lower-priority tasks of this queue."
    )
    reclaim_within_pool: ReclaimWithinPool = Field(
        ReclaimWithinPool.NEVER,
        description="To take back its nominal quota, preempt tasks of queues that borrow it: of lower priority "
        "(LowerPriority) or any (Any).",
    )


class Reservation(SpecModel):
    """Starvation guard: a task waiting this long holds the member where it fits soonest."""

    after_seconds: int = Field(
        600,
        ge=0,
        le=7 * 24 * 3600,
        strict=True,
        description="Seconds a task waits for capacity before it holds a member; smaller tasks of its priority "
        "or lower are then kept off that member until it runs.",
    )


class Budget(SpecModel):
    """What the queue may spend per calendar month (UTC); at or over it, nothing more is admitted."""

    amount: float = Field(ge=0, le=1e12, allow_inf_nan=False, description="Spend limit per period.")
    currency: CurrencyCode = Field(DEFAULT_CURRENCY, description="ISO 4217 code; identifiers' prices must match.")
    period: Literal["Monthly"] = Field("Monthly", description="The budget period: the calendar month in UTC.")


class ComputeQueueSpec(SpecModel):
    """Which namespaces, which pool, how much, how shared, and how much money."""

    pool: SubdomainName = Field(DEFAULT_POOL, description="The ComputePool whose capacity the queue shares.")
    namespaces: SetOf[DnsLabel] = Field(
        max_length=256, description="Namespaces whose tasks may name this queue (spec.queueName)."
    )
    default: bool = Field(
        False,
        description="Tasks of these namespaces that name no queue go to this one (the first default by name).",
    )
    nominal_quota: QueueQuota = Field(default_factory=QueueQuota, description="The queue's own quota.")
    borrowing_limit: QueueQuota | None = Field(
        None,
        description="How much above its nominal quota the queue may borrow of the pool's idle quota, per "
        "resource; no limit when left out.",
    )
    fair_sharing: FairSharing = Field(default_factory=FairSharing, description="Fair-sharing weight.")
    preemption: QueuePreemption = Field(default_factory=QueuePreemption, description="Preemption policy.")
    reservation: Reservation | None = Field(None, description="Starvation guard; none when left out.")
    budget: Budget | None = Field(None, description="Spend limit per month; none when left out.")


class QuotaUsage(StatusModel):
    """One resource of the queue: quota, what its admitted tasks hold, and how much of that is borrowed."""

    resource: str = Field(max_length=63, description="cpu, memory, or an accelerator model.")
    nominal: str = Field(max_length=64, description="Nominal quota (cores, bytes as a quantity, or devices).")
    used: str = Field(max_length=64, description="Held by admitted tasks.")
    borrowed: str = Field("0", max_length=64, description="Used above the nominal quota.")


class QueueSpend(StatusModel):
    """Cost accrued by the queue's tasks in the current period."""

    amount: float = Field(0.0, ge=0, description="Spend in the period so far.")
    currency: str = Field(DEFAULT_CURRENCY, max_length=3, description="Currency of amount.")
    period_start: Timestamp | None = Field(None, description="Start of the current period (first of the month, UTC).")
    last_settled: Timestamp | None = Field(None, description="Running tasks have accrued up to this time.")


class QueueTasks(StatusModel):
    """The queue's tasks by admission."""

    admitted: int = Field(0, ge=0, description="Tasks holding quota (placed, dispatching or running).")
    waiting: int = Field(0, ge=0, description="Tasks waiting for admission or placement.")


class QueueSummary(StatusModel):
    """Preformatted values for the columns of ``kubectl get cq``."""

    gpus: str | None = Field(None, max_length=64, description="Accelerators used / nominal, such as 12/16.")
    spend: str | None = Field(None, max_length=64, description="Spend / budget this month, such as 12.30/100 USD.")


class ComputeQueueStatus(StatusModel):
    """Usage against quota, spend against budget, and the tasks of the queue."""

    observed_generation: int | None = Field(None, ge=0, description="The .metadata.generation last acted on.")
    conditions: list[Condition] | None = Field(
        None,
        max_length=16,
        description="Active (admitting), among others.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    usage: list[QuotaUsage] | None = Field(
        None,
        max_length=64,
        description="Per resource the quota names.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["resource"]},
    )
    tasks: QueueTasks | None = Field(None, description="Admitted and waiting tasks.")
    spend: QueueSpend | None = Field(None, description="Spend in the current period.")
    summary: QueueSummary | None = Field(None, description="Preformatted values for kubectl get.")


class ComputeQueue(ApiModel):
    """A tenant's queue: admits tasks of its namespaces into a pool under quota, fair share and budget."""

    api_version: Literal["computenet.io/v1alpha1"] = API_VERSION
    kind: Literal["ComputeQueue"] = "ComputeQueue"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ComputeQueueSpec = Field(description="Namespaces, pool, quota, sharing, preemption and budget.")
    status: ComputeQueueStatus | None = Field(None, description="What the operator observes.")
