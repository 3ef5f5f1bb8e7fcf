"""An identifier as placement sees it (``placement.Identifier``): the one projection to that shape.

Placement is pure and knows nothing of the API or of member connections, so what it needs of an
identifier is copied here into its own types: the spec's attributes (provider, region, zone,
class, architectures), prices, network figures and the near store's egress price as floats, whether
it is usable and why not (``members.identifier_status.unusable``), the member's failure count, its
node selector, its DRA devices and the workload kinds it serves. The snapshot document (``snapshot_export``) is written
from this shape, so ``kubectl computenet simulate`` sees identifiers exactly as placement does.
"""

from __future__ import annotations

from computenet.api.constants import DEFAULT_CURRENCY
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.api.identifier import Pricing as SpecPricing
from computenet.members.connection import MemberConnection
from computenet.members.identifiers import TrackedIdentifier
from computenet.placement import ComputeClass, Identifier, Network, Pricing, Store


def placement_pricing(p: SpecPricing | None) -> Pricing | None:
    """An identifier's prices as placement scores them: floats per core-hour, GiB-hour and device-hour."""
    if p is None:
        return None
    return Pricing(
        currency=p.currency,
        per_cpu_core_hour=float(p.per_cpu_core_hour) if p.per_cpu_core_hour is not None else None,
        per_gib_hour=float(p.per_gib_hour) if p.per_gib_hour is not None else None,
        per_accelerator_hour={k: float(v) for k, v in (p.per_accelerator_hour or {}).items()},
    )


def placement_network(spec: ComputeIdentifierSpec) -> Network:
    """Latency to each region (ms) and bandwidth (Gbit/s) as the spec states them; empty when it does not."""
    if spec.network is None:
        return Network()
    return Network(
        latency_ms={k: float(v) for k, v in (spec.network.latency_ms or {}).items()},
        bandwidth_gbps=spec.network.bandwidth_gbps,
    )


def placement_store(spec: ComputeIdentifierSpec) -> Store | None:
    """The store near the identifier, its egress price quoted in the identifier's pricing currency."""
    if spec.storage is None:
        return None
    currency = spec.pricing.currency if spec.pricing is not None else DEFAULT_CURRENCY
    return Store(float(spec.storage.egress_price_per_gib), currency, str(spec.storage.endpoint))


def placement_identifier(item: TrackedIdentifier, spec: ComputeIdentifierSpec, conn: MemberConnection) -> Identifier:
    """The identifier as placement reads it, from its spec and its member connection now."""
    usable, why = item.usable()
    return Identifier(
        name=item.name,
        cluster=conn.key,
        uri=str(spec.uri),
        ready=usable,
        not_ready_reason=why,
        provider=spec.provider,
        region=spec.region,
        zone=spec.zone or "",
        compute_class=ComputeClass(str(spec.compute_class)),
        architectures=tuple(str(a) for a in spec.architectures or ()),
        pricing=placement_pricing(spec.pricing),
        network=placement_network(spec),
        store=placement_store(spec),
        recent_failures=conn.health.failures,
        node_selector=item.selector,
        devices=conn.state.dra.catalog(spec.connection.target_namespace, conn.dra_problem()),
        workload_kinds=frozenset(conn.workload_kinds) if conn.workload_kinds is not None else None,
        stages_data=conn.stages_data,
        levels=tuple((lv.name, lv.node_label) for lv in spec.topology.levels) if spec.topology else (),
    )
