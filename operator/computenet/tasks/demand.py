"""A task's demand as placement reads it: plain numbers and constraints from the spec and template.

A workload of a kind placed role by role (``Kind.by_role``: JobSet, LeaderWorkerSet, RayJob,
RayCluster, Pod) becomes one pod set per role (``workloads.podsets``), each with the effective
request of its own pod template (what kube-scheduler counts, ``api.pod_reservation.effective_requests``)
and its own node constraints: the dispatched pods are the templates placed, so what is dispatched
is what was placed. The task's ``spec.resources.accelerators`` still choose the models (any-of)
and minimum memory of every role that asks for devices of that vendor.

The ResourceClaimTemplates of the task's namespace on the hub that its pods name (`TaskRecord`'s
``claim_templates``, kept by ``tasks.claim_templates``) go with the demand: they travel to the
member with the workload, so placement evaluates them rather than the member's.

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
from computenet.api.data import ComputeDataset
from computenet.api.pod_reservation import ACCELERATOR_RESOURCE_NAMES, effective_requests
from computenet.api.pool import PlacementPolicy
from computenet.api.task import ComputeTaskSpec
from computenet.api.variants import as_variant
from computenet.data.location import parse_s3_uri
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
from computenet.placement.demand import DataPiece
from computenet.placement.pod_spec import pod_constraints
from computenet.placement.resources import VENDOR_RESOURCES
from computenet.placement.slices import SliceRequest
from computenet.placement.snapshot import Snapshot
from computenet.quantity import cpu_millis, to_int_units
from computenet.tasks.lifecycle.avoidance import avoided_now
from computenet.tasks.record import TaskRecord
from computenet.tasks.staging.replicas import readable
from computenet.workloads.kinds import WorkloadError, kind_named, kind_of
from computenet.workloads.podsets import pod_sets

MIB = 1 << 20

Datasets = Mapping[tuple[str, str], ComputeDataset]
"""ComputeDatasets by (namespace, name)."""
Stores = Mapping[str, str]
"""The identifiers' stores: S3 endpoint -> the region of the identifier that declares it (``store_regions``)."""


def _endpoint(url: str) -> str:
    return url.rstrip("/")


def store_regions(snapshot: Snapshot) -> Stores:
    """Each store an identifier declares (``spec.storage.endpoint``), with that identifier's region.

    When identifiers of several regions name one endpoint, the first by name sets it. Computed once
    per snapshot and kept with it, as placement keeps its per-region facts (``placement.transfer.links``).
    """
    cache: dict[str, Stores] = snapshot.__dict__.setdefault("_store_regions", {})
    found = cache.get("stores")
    if found is None:
        regions: dict[str, str] = {}
        for ident in sorted(snapshot.identifiers, key=lambda i: i.name):
            if ident.store is not None and ident.store.endpoint and ident.region:
                regions.setdefault(_endpoint(ident.store.endpoint), ident.region)
        found = cache["stores"] = regions
    return found


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


def demand_of(
    record: TaskRecord,
    policy: PlacementPolicy | None,
    identifiers: frozenset[str] | None = None,
    datasets: Datasets | None = None,
    stores: Stores | None = None,
) -> Demand:
    """What placement needs to know of a task, as plain numbers; `identifiers` are its pool's members.

    `datasets` are the ComputeDatasets known, by (namespace, name): the replicas of those the task
    names tell placement where their bytes already are; `stores` the identifiers' stores by endpoint,
    where the task's URI inputs are (see `data_of`).
    """
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
    data = data_of(record, datasets, stores)
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
        claim_templates=record.claim_templates,
        constraints=constraints,
        data=data,
        staged=spec.data is not None and bool(spec.data.inputs or spec.data.outputs),
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


def data_of(record: TaskRecord, datasets: Datasets | None = None, stores: Stores | None = None) -> Data | None:
    """Where the task's data is, piece by piece, and its caps; None when nothing locates it.

    - an input naming a dataset found in `datasets` sits in the regions of the replicas staging would
      read (`readable_replicas`); its size is the input's, else its largest replica's;
    - a URI input whose store (the ``endpoint`` of the ``credentials`` entry naming its bucket) an
      identifier declares in ``spec.storage`` (`stores`) sits in that identifier's region: staging
      fetches it there without a copy, and copies it from there into any other region;
    - any other input with a size (a URI, or a dataset not known here) sits in ``spec.data.region``;
    - what ``spec.data.size`` declares beyond the inputs' sizes sits in ``spec.data.region`` too.

    The data's cost is weighed against the task's compute for the Job template's
    ``activeDeadlineSeconds`` (the longest it may run, and be charged for), else for one hour: the
    unit the task's price is quoted in (see `placement.scores.price`).
    """
    given = record.spec.data
    if given is None:
        return None
    region = given.region or ""
    pieces: list[DataPiece] = []
    endpoint_of = {c.bucket: _endpoint(str(c.endpoint)) for c in given.credentials or ()}
    for index, item in enumerate(given.inputs or ()):
        size = to_int_units(item.size) if item.size else 0
        found = datasets.get((record.namespace, item.dataset)) if datasets and item.dataset else None
        if found is not None:
            regions, largest = readable_replicas(found)
            size = size or largest
            if regions:
                pieces.append(DataPiece(size, regions, f"dataset {item.dataset}"))
                continue
        at = stores.get(endpoint_of.get(parse_s3_uri(item.uri).bucket, "")) if stores and item.uri else None
        if size and at:
            pieces.append(DataPiece(size, (at,), f"input {index}"))
        elif size and region:
            pieces.append(DataPiece(size, (region,), f"dataset {item.dataset}" if item.dataset else f"input {index}"))
    declared = to_int_units(given.size) if given.size else 0
    rest = declared - sum(p.size_bytes for p in pieces)
    if rest > 0 and region:
        pieces.append(DataPiece(rest, (region,), "spec.data.size"))
    if not region and not pieces:
        return None
    template_spec = record.template.get("spec") if isinstance(record.template, Mapping) else None
    deadline = template_spec.get("activeDeadlineSeconds") if isinstance(template_spec, Mapping) else None
    return Data(
        region,
        declared or given.input_bytes(),
        tuple(pieces),
        hours=deadline / 3600 if isinstance(deadline, int) and deadline > 0 else 1.0,
        max_transfer_seconds=None if given.max_transfer_seconds is None else float(given.max_transfer_seconds),
        max_cost=given.max_data_cost,
    )


def readable_replicas(dataset: ComputeDataset) -> tuple[tuple[str, ...], int]:
    """The regions of the replicas a task may read, and the largest size any of them states (0: none).

    The replicas are those staging reads (`staging.replicas.readable`: the declared ones, and those
    the operator staged and calls Ready), so placement counts as free exactly the regions staging
    will not copy into.
    """
    status = dataset.status.replicas if dataset.status else None
    regions = tuple(dict.fromkeys(r.region for r in readable(dataset.spec.replicas, status)))
    sizes = [to_int_units(r.size) for r in dataset.spec.replicas if r.size]
    sizes += [s.bytes for s in status or () if s.bytes and s.region in regions]
    return regions, max(sizes, default=0)


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
