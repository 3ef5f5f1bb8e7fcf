"""The placement snapshot as a document: what ``kubectl computenet simulate`` and ``top`` read.

The operator exports the facts its snapshot builder was fed (identifiers as placement sees them,
every member node with the requests on it, and the pools with their members and policy), not the
builder's arrays: a reader rebuilds the same snapshot with the same `SnapshotBuilder`, so a what-if
runs the very placement code the operator runs. Resources the operator has assumed for tasks it
just placed (dispatched, pods not yet seen) are added to their nodes' requests, which is what the
assumptions' overlay does to a decision. The document is JSON, so a saved one (``--snapshot FILE``)
replays the pool of that moment.

Shape: ``{"apiVersion", "kind": "PlacementSnapshot", "taken", "identifiers": [...], "nodes":
{cluster: [...]}, "pools": [...]}``; amounts are integers (cpu millicores, bytes, devices).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from computenet.api.constants import API_VERSION
from computenet.api.pool import ComputePoolSpec, PlacementPolicy
from computenet.placement import (
    Assumption,
    ComputeClass,
    Identifier,
    Network,
    Node,
    Pricing,
    Selector,
    Snapshot,
    SnapshotBuilder,
    Store,
    Taint,
)
from computenet.placement.labels import Requirement
from computenet.placement.node_accelerator import accelerator_facts

KIND = "PlacementSnapshot"


class _Doc(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True)


class SelectorDoc(_Doc):
    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: list[tuple[str, str, list[str]]] = Field(default_factory=list)


class PricingDoc(_Doc):
    currency: str
    per_cpu_core_hour: float | None = None
    per_gib_hour: float | None = Field(None, alias="perGiBHour")
    per_accelerator_hour: dict[str, float] = Field(default_factory=dict)


class StoreDoc(_Doc):
    egress_price_per_gib: float = Field(alias="egressPricePerGiB")
    currency: str
    endpoint: str = ""
    """Empty in a snapshot saved by an older operator: its URI inputs then sit in ``spec.data.region``."""


class IdentifierDoc(_Doc):
    name: str
    cluster: str
    uri: str = ""
    ready: bool = True
    not_ready_reason: str = ""
    provider: str = ""
    region: str = ""
    zone: str = ""
    compute_class: str = "general"
    architectures: list[str] = Field(default_factory=list)
    pricing: PricingDoc | None = None
    latency_ms: dict[str, float] = Field(default_factory=dict)
    bandwidth_gbps: float | None = None
    store: StoreDoc | None = None
    recent_failures: int = 0
    node_selector: SelectorDoc = Field(default_factory=SelectorDoc)


class TaintDoc(_Doc):
    key: str
    value: str = ""
    effect: str = "NoSchedule"


class NodeDoc(_Doc):
    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    allocatable: dict[str, int] = Field(default_factory=dict)
    requested: dict[str, int] = Field(default_factory=dict)
    taints: list[TaintDoc] = Field(default_factory=list)
    ready: bool = True
    unschedulable: bool = False


class PoolDoc(_Doc):
    name: str
    members: list[str] = Field(default_factory=list)
    placement: PlacementPolicy = Field(default_factory=PlacementPolicy)


class SnapshotDocument(_Doc):
    """The exported snapshot (see the module docstring)."""

    api_version: Literal["computenet.io/v1alpha1"] = API_VERSION
    kind: Literal["PlacementSnapshot"] = "PlacementSnapshot"
    taken: dt.datetime
    identifiers: list[IdentifierDoc] = Field(default_factory=list)
    nodes: dict[str, list[NodeDoc]] = Field(default_factory=dict)
    pools: list[PoolDoc] = Field(default_factory=list)


def identifier_doc(ident: Identifier) -> IdentifierDoc:
    selector = ident.node_selector
    if isinstance(selector, Selector):
        sel = SelectorDoc(
            match_labels=dict(selector.match_labels),
            match_expressions=[(r.key, r.operator, sorted(r.values)) for r in selector.requirements],
        )
    else:
        sel = SelectorDoc(match_labels=dict(selector))
    p = ident.pricing
    return IdentifierDoc(
        name=ident.name,
        cluster=ident.cluster,
        uri=ident.uri,
        ready=ident.ready,
        not_ready_reason=ident.not_ready_reason,
        provider=ident.provider,
        region=ident.region,
        zone=ident.zone,
        compute_class=str(ident.compute_class),
        architectures=list(ident.architectures),
        pricing=None
        if p is None
        else PricingDoc(
            currency=p.currency,
            per_cpu_core_hour=p.per_cpu_core_hour,
            per_gib_hour=p.per_gib_hour,
            per_accelerator_hour=dict(p.per_accelerator_hour),
        ),
        latency_ms=dict(ident.network.latency_ms),
        bandwidth_gbps=ident.network.bandwidth_gbps,
        store=None
        if ident.store is None
        else StoreDoc(
            egress_price_per_gib=ident.store.egress_per_gib,
            currency=ident.store.currency,
            endpoint=ident.store.endpoint,
        ),
        recent_failures=ident.recent_failures,
        node_selector=sel,
    )


def identifier_of(doc: IdentifierDoc) -> Identifier:
    sel = doc.node_selector
    selector: Mapping[str, str] | Selector = (
        Selector(
            tuple(sorted(sel.match_labels.items())),
            tuple(Requirement(k, op, frozenset(v)) for k, op, v in sel.match_expressions),
        )
        if sel.match_expressions
        else dict(sel.match_labels)
    )
    p = doc.pricing
    return Identifier(
        name=doc.name,
        cluster=doc.cluster,
        uri=doc.uri,
        ready=doc.ready,
        not_ready_reason=doc.not_ready_reason,
        provider=doc.provider,
        region=doc.region,
        zone=doc.zone,
        compute_class=ComputeClass(doc.compute_class),
        architectures=tuple(doc.architectures),
        pricing=None
        if p is None
        else Pricing(p.currency, p.per_cpu_core_hour, p.per_gib_hour, dict(p.per_accelerator_hour)),
        network=Network(dict(doc.latency_ms), doc.bandwidth_gbps),
        store=None
        if doc.store is None
        else Store(doc.store.egress_price_per_gib, doc.store.currency, doc.store.endpoint),
        recent_failures=doc.recent_failures,
        node_selector=selector,
    )


def _device_resource(labels: Mapping[str, str], allocatable: Mapping[str, int]) -> str | None:
    """The resource placement counts the node's devices in (``placement.node_accelerator.accelerator_facts``)."""
    facts = accelerator_facts(labels, allocatable)
    return facts.resource if facts is not None else None


def assumed_requests(assumptions: Iterable[Assumption]) -> dict[tuple[str, str], dict[str, int]]:
    """Per (cluster, node): what assumed placements hold there, as extra requests (resource -> amount).

    As placement counts them (``placement.assume``): `most` replicas per node, each with one pod slot
    (``"pods"``). The accelerator amount is keyed ``"devices"``; `export` maps it to the node's
    device resource.
    """
    out: dict[tuple[str, str], dict[str, int]] = {}
    for held in assumptions:
        for slot in held.nodes:
            extra = out.setdefault((slot.cluster, slot.node), {})
            each = held.each(slot)
            for key, amount in (
                ("cpu", each.cpu),
                ("memory", each.memory),
                ("devices", each.accelerators),
                ("pods", 1),
            ):
                if amount:
                    extra[key] = extra.get(key, 0) + amount * slot.most
    return out


def node_doc(node: Any, requested: Mapping[str, int], assumed: Mapping[str, int] | None) -> NodeDoc:
    total = dict(requested)
    for key, amount in (assumed or {}).items():
        resource = _device_resource(node.labels, node.allocatable) if key == "devices" else key
        if resource is not None:
            total[resource] = total.get(resource, 0) + amount
    return NodeDoc(
        name=node.name,
        labels=dict(node.labels),
        allocatable=dict(node.allocatable),
        requested=total,
        taints=[TaintDoc(key=t.key, value=t.value, effect=t.effect) for t in node.taints],
        ready=node.ready,
        unschedulable=node.unschedulable,
    )


def pool_doc(name: str, spec: ComputePoolSpec, members: Iterable[str]) -> PoolDoc:
    return PoolDoc(name=name, members=sorted(members), placement=spec.placement)


def rebuild(doc: SnapshotDocument) -> Snapshot:
    """The snapshot the document describes, built by the same builder the operator uses."""
    builder = SnapshotBuilder()
    for ident in doc.identifiers:
        builder.upsert_identifier(identifier_of(ident))
    for cluster, nodes in doc.nodes.items():
        for n in nodes:
            node = Node(
                name=n.name,
                allocatable=n.allocatable,
                labels=n.labels,
                taints=tuple(Taint(t.key, t.value, t.effect) for t in n.taints),
                ready=n.ready,
                unschedulable=n.unschedulable,
            )
            builder.upsert_node(cluster, node, n.requested)
    return builder.snapshot()
