"""An identifier as its ComputeIdentifierStatus (the status shape), and the readiness rule behind it.

Pure: an identifier comes in as typed facts (its spec problem, what its member connection says as a
:class:`Link`, the capacity of its nodes), time as a parameter. The same readiness rule serves the
status, placement (``usable``), the pools' totals, the metrics and the ClusterProfiles, so an
identifier is Ready in one sense everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from computenet.api.common import AcceleratorAmounts, Condition, ResourceAmounts
from computenet.api.conditions import Cond, set_conditions
from computenet.api.constants import ConditionType, Reason
from computenet.api.identifier import ComputeIdentifierStatus, IdentifierSummary, NodeCounts, Pricing, TopologyDomains
from computenet.members.capacity import Capacity, ModelCapacity
from computenet.quantity import format_amounts

NO_CONNECTION = "waiting for the kubeconfig Secret"


@dataclass
class Problem:
    """Why an identifier's spec cannot be used (reason and message of its conditions)."""

    reason: str
    message: str


@dataclass(frozen=True)
class Link:
    """What an identifier's member connection says now; read from ``MemberConnection`` by the shell."""

    reachable: bool
    reason: str
    """Why reachable or not (``Reachable`` condition's reason)."""
    message: str
    synced: bool
    """Every watch of the member has listed once."""
    syncing_message: str
    stale: str
    """Why the picture of the member is not current ("" when every watch is)."""
    last_heartbeat: dt.datetime | None = None
    workload_kinds: tuple[str, ...] | None = None


def unusable(problem: Problem | None, link: Link | None) -> tuple[Cond, Cond] | None:
    """(Reachable, Ready) when the spec or the member forbid any use, most specific reason first; else None.

    Cheap: reads no node. An invalid spec or a missing Secret leaves Reachable Unknown; an
    unreachable member is neither; a member not listed yet, or whose watch fails, is reachable but
    not Ready (placement must not promise slots from a picture that is not current).
    """
    if problem is not None:
        return (
            Cond(ConditionType.REACHABLE, None, problem.reason, problem.message),
            Cond(ConditionType.READY, False, problem.reason, problem.message),
        )
    if link is None:
        return (
            Cond(ConditionType.REACHABLE, None, Reason.SYNCING, NO_CONNECTION),
            Cond(ConditionType.READY, False, Reason.SYNCING, NO_CONNECTION),
        )
    reachable = Cond(ConditionType.REACHABLE, link.reachable, link.reason, link.message)
    if not link.reachable:
        return reachable, Cond(ConditionType.READY, False, link.reason, link.message)
    if not link.synced:
        return reachable, Cond(ConditionType.READY, False, Reason.SYNCING, link.syncing_message)
    if link.stale:
        return reachable, Cond(ConditionType.READY, False, Reason.WATCH_FAILING, link.stale)
    return None


def readiness(problem: Problem | None, link: Link | None, cap: Capacity) -> tuple[Cond, Cond]:
    """(Reachable, Ready): :func:`unusable`'s verdict, else Ready while any selected node is schedulable."""
    refused = unusable(problem, link)
    if refused is not None:
        return refused
    assert link is not None
    reachable = Cond(ConditionType.REACHABLE, link.reachable, link.reason, link.message)
    if cap.nodes_schedulable == 0:
        msg = f"none of the {cap.nodes_total} selected nodes is Ready and schedulable"
        return reachable, Cond(ConditionType.READY, False, Reason.NO_SCHEDULABLE_NODES, msg)
    msg = f"{cap.nodes_schedulable}/{cap.nodes_total} nodes schedulable"
    return reachable, Cond(ConditionType.READY, True, Reason.READY, msg)


def price_summary(pricing: Pricing | None) -> str:
    """The cheapest accelerator hour as the status summary shows it (``2.50 USD/h``), or ``-``."""
    if pricing is None or not pricing.per_accelerator_hour:
        return "-"
    cheapest = min(float(p) for p in pricing.per_accelerator_hour.values())
    return f"{cheapest:.2f} {pricing.currency}/h"


def accelerator_amounts(m: ModelCapacity) -> AcceleratorAmounts:
    """One model's counts as status shows them; DRA devices name their driver instead of a resource."""
    return AcceleratorAmounts(
        driver=m.driver or None,
        resource=None if m.driver else m.resource,
        vendor=m.vendor or None,
        partition=m.partition or None,
        replicas=m.replicas or None,
        capacity=m.capacity,
        allocatable=m.allocatable,
        allocated=m.allocated,
        free=m.free,
        largest_free_slot=m.largest_free_slot,
    )


def identifier_status(
    *,
    generation: int | None,
    previous: Sequence[Condition],
    told: Sequence[Cond],
    cap: Capacity,
    link: Link | None,
    pricing: Pricing | None,
    now: dt.datetime,
) -> ComputeIdentifierStatus:
    """The status the operator writes: ``told`` conditions merged into ``previous``, node counts, capacity.

    ``told`` is Reachable and Ready (:func:`readiness`), and Dispatchable once a dispatch showed it.
    Amounts are formatted as Kubernetes quantities; a condition that did not change keeps its
    transition time (``api.conditions.set_conditions``).
    """
    conditions = set_conditions(previous, [c.as_condition() for c in told], now, generation)
    return ComputeIdentifierStatus(
        observed_generation=generation,
        conditions=conditions,
        last_heartbeat_time=link.last_heartbeat if link else None,
        nodes=NodeCounts(total=cap.nodes_total, ready=cap.nodes_ready, schedulable=cap.nodes_schedulable),
        resources=ResourceAmounts(
            capacity=format_amounts(cap.capacity),
            allocatable=format_amounts(cap.allocatable),
            allocated=format_amounts(cap.allocated),
            free=format_amounts(cap.free),
        ),
        accelerators={model: accelerator_amounts(m) for model, m in sorted(cap.accelerators.items())},
        workload_kinds=list(link.workload_kinds) if link is not None and link.workload_kinds is not None else None,
        topology=[
            TopologyDomains(
                level=t.level,
                node_label=t.node_label,
                domains=t.domains,
                largest_free_accelerators=t.largest_free_accelerators,
                largest_free_nodes=t.largest_free_nodes,
            )
            for t in cap.topology
        ]
        or None,
        summary=IdentifierSummary(gpus=f"{cap.devices_free}/{cap.devices_total}", price=price_summary(pricing)),
    )
