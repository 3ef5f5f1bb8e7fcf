"""A task's demand as placement reads it: plain numbers and constraints from the spec and template.

A workload of a kind placed role by role (``Kind.by_role``: JobSet, LeaderWorkerSet, RayJob,
RayCluster, Pod) becomes one pod set per role (``workloads.podsets``), each with the effective
request of its own pod template (what kube-scheduler counts, ``api.pod_reservation.effective_requests``)
and its own node constraints: the dispatched pods are the templates placed, so what is dispatched
is what was placed. The task's ``spec.resources.accelerators`` still choose the models (any-of)
and minimum memory of every role that asks for devices of that vendor.

The Job template's pod spec is read by `placement.pod_spec.pod_constraints`, which never raises
on malformed input (the CRD passes the template through unvalidated): nodeSelector, nodeName,
tolerations and node affinity become placement types, and what placement cannot evaluate (pod
affinity, topology spread, ...) is carried as names that the decision reports.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from computenet.api.constants import AcceleratorSharing
from computenet.api.contract import compute_demand, slice_resource_of
from computenet.api.pod_reservation import ACCELERATOR_RESOURCE_NAMES, effective_requests
from computenet.api.pool import PlacementPolicy
from computenet.api.task import ComputeTaskSpec
from computenet.api.variants import as_variant
from computenet.placement import (
    AcceleratorDemand,
    Constraints,
    Data,
    Demand,
    PodSetDemand,
    Strategy,
    Topology,
    Variant,
    Weights,
)
from computenet.placement.pod_spec import pod_constraints
from computenet.placement.resources import VENDOR_RESOURCES
from computenet.placement.slices import SliceRequest
from computenet.quantity import cpu_millis, to_int_units
from computenet.tasks.lifecycle.avoidance import avoided_now
from computenet.tasks.record import TaskRecord
from computenet.workloads.kinds import WorkloadError, kind_named, kind_of
from computenet.workloads.podsets import pod_sets

MIB = 1 << 20


def _weights(policy: PlacementPolicy | None) -> tuple[Weights, Strategy]:
    """The pool's score weights (preferred node affinity's included) and strategy."""
    if policy is None:
        return Weights(), Strategy.BINPACK
    w = policy.weights
    strategy = Strategy.SPREAD if str(policy.strategy).lower() == "spread" else Strategy.BINPACK
    weights = Weights(fit=w.fit, price=w.price, locality=w.locality, reliability=w.reliability, affinity=w.affinity)
    return weights, strategy


def slice_request(record: TaskRecord) -> SliceRequest | None:
    """What `spec.resources.accelerators.sharing` and `.partition` ask of a unit; None: whole devices."""
    return _slice_request(record.spec)


def _slice_request(spec: ComputeTaskSpec) -> SliceRequest | None:
    acc = spec.resources.accelerators
    if acc is None:
        return None
    shared = acc.sharing == AcceleratorSharing.SHARED
    if not shared and acc.partition is None:
        return None
    return SliceRequest(shared=shared, partition=acc.partition, resource=slice_resource_of(spec))


def accelerators_of(spec: ComputeTaskSpec) -> AcceleratorDemand | None:
    """The devices per replica `spec.resources.accelerators` asks for, as placement reads them."""
    a = spec.resources.accelerators
    if a is None or not a.states_devices:
        return None
    if a.compute is not None:
        return compute_demand(a)
    return AcceleratorDemand(
        count=a.count or 0,
        vendor=str(a.vendor) if a.vendor else None,
        models=tuple(a.models or ()),
        min_memory_mib=to_int_units(a.min_memory) // MIB if a.min_memory else 0,
        slices=_slice_request(spec),
        resource=a.resource,
    )


def variants_of(spec: ComputeTaskSpec) -> tuple[Variant, ...]:
    """The task's variants as placement tries them, in the task's order (each read as the task written for it)."""
    return tuple(Variant(accelerators_of(as_variant(spec, v)), v.name) for v in spec.variants or ())


def demand_of(record: TaskRecord, policy: PlacementPolicy | None, identifiers: frozenset[str] | None = None) -> Demand:
    """What placement needs to know of a task, as plain numbers; `identifiers` are its pool's members."""
    spec = record.spec
    res = spec.resources
    variants = variants_of(spec)
    acc = variants[0].accelerators if variants else accelerators_of(spec)
    c = spec.constraints
    constraints = Constraints()
    if c is not None:
        constraints = Constraints(
            regions_required=tuple(c.regions.required or ()) if c.regions else (),
            regions_preferred=tuple(c.regions.preferred or ()) if c.regions else (),
            regions_forbidden=tuple(c.regions.forbidden or ()) if c.regions else (),
            providers_allowed=tuple(c.providers.allowed or ()) if c.providers else (),
            providers_denied=tuple(c.providers.denied or ()) if c.providers else (),
            architectures=tuple(str(a) for a in c.architectures or ()),
            compute_class=str(c.compute_class) if c.compute_class else None,
            max_price_per_hour=float(c.max_price_per_hour) if c.max_price_per_hour is not None else None,
            currency=c.currency,
            max_latency_ms=float(c.max_latency_ms) if c.max_latency_ms is not None else None,
        )
    data = None
    if spec.data is not None and spec.data.region:
        # Without spec.data.size, the inputs' declared sizes tell how much data would move.
        data = Data(spec.data.region, to_int_units(spec.data.size) if spec.data.size else spec.data.input_bytes())
    weights, strategy = _weights(policy)
    pod = pod_constraints(record.pod_spec)
    roles = pod_set_demands(record.workload, acc) if record.workload else ()
    if roles:  # the task's own devices are its largest role's, so quotas and offers see them
        acc = max((s.accelerators for s in roles if s.accelerators), key=lambda a: a.count, default=None)
    return Demand(
        uid=record.uid,
        namespace=record.namespace,
        name=record.name,
        priority=spec.priority,
        created=record.created.timestamp(),
        replicas=spec.replicas,
        cpu=cpu_millis(res.cpu),
        memory=to_int_units(res.memory),
        accelerators=acc,
        node_selector=pod.node_selector,
        tolerations=pod.tolerations,
        node_name=pod.node_name,
        node_affinity=pod.node_affinity,
        unevaluated=pod.unevaluated,
        claims=pod.claims,
        constraints=constraints,
        data=data,
        topology=Topology(spec.topology.level, spec.topology.required is not None) if spec.topology else None,
        kind=kind_named(record.workload.get("apiVersion"), record.workload.get("kind")).key
        if record.workload
        else None,
        weights=weights,
        strategy=strategy,
        suspended=spec.suspend,
        identifiers=identifiers,
        pinned=spec.identifier,
        pod_sets=roles,
        variants=variants,
    )


def avoiding(demand: Demand, record: TaskRecord, now: dt.datetime) -> Demand:
    """`demand` passing over the identifiers an earlier attempt could not start on, until their time."""
    avoided = avoided_now(record.status.avoided_identifiers, now)
    return dataclasses.replace(demand, avoided=avoided) if avoided else demand


def pod_set_demands(workload: Mapping[str, Any], accelerators: AcceleratorDemand | None) -> tuple[PodSetDemand, ...]:
    """One pod set per role of a kind placed role by role; () for any other kind, or one that does not read.

    `accelerators` (the task's) give the models and minimum memory of roles that ask for devices of
    its vendor. A workload that does not read is left to validation, which names the field.
    """
    try:
        if not kind_of(workload).by_role:
            return ()
        sets = pod_sets(workload)
    except WorkloadError:
        return ()
    if not any(s.count for s in sets):
        return ()
    out = []
    for s in sets:
        spec = s.template.get("spec")
        pod_spec: Mapping[str, Any] = spec if isinstance(spec, Mapping) else {}
        effective = effective_requests(pod_spec)
        pod = pod_constraints(pod_spec)
        out.append(
            PodSetDemand(
                role=s.role,
                count=s.count,
                cpu=effective.get("cpu", 0),
                memory=effective.get("memory", 0),
                accelerators=_devices(effective, accelerators),
                node_selector=pod.node_selector,
                tolerations=pod.tolerations,
                node_name=pod.node_name,
                node_affinity=pod.node_affinity,
                unevaluated=pod.unevaluated,
                claims=pod.claims,
            )
        )
    return tuple(out)


def _devices(effective: Mapping[str, int], task: AcceleratorDemand | None) -> AcceleratorDemand | None:
    """The devices one pod of a role requests, with the task's models if they are of the same vendor."""
    stated = [name for name in sorted(ACCELERATOR_RESOURCE_NAMES) if effective.get(name, 0) > 0]
    if not stated:
        return None
    resource = stated[0]
    vendor = next((v for v, r in VENDOR_RESOURCES.items() if r == resource), None)
    if task is not None and task.vendor in (None, vendor):
        return AcceleratorDemand(effective[resource], vendor, task.models, task.min_memory_mib)
    return AcceleratorDemand(effective[resource], vendor)
