"""An identifier as its ClusterProfile sees it (``IdentifierFacts``): the one projection to that shape.

Read from what the operator already tracks of an identifier; Ready and Reachable are the identifiers'
one readiness rule (``members.identifier_status.readiness``), so a profile is healthy exactly when the
identifier's own status says so.
"""

from __future__ import annotations

from computenet.inventory.profile import IdentifierFacts
from computenet.members.identifiers import TrackedIdentifier


def facts_of(item: TrackedIdentifier) -> IdentifierFacts | None:
    """The identifier's facts, or None while its spec is not known yet."""
    spec = item.spec
    if spec is None:
        return None
    cap = item.capacity()
    reachable, ready = item.readiness(cap)
    pricing = spec.pricing
    return IdentifierFacts(
        name=item.name,
        uri=spec.uri,
        provider=spec.provider,
        region=spec.region,
        zone=spec.zone,
        compute_class=str(spec.compute_class),
        ready=bool(ready.status),
        reachable=reachable.status,
        reachable_message=reachable.message,
        accelerators={model: a.allocatable for model, a in cap.accelerators.items()},
        currency=pricing.currency if pricing else None,
        price_per_accelerator_hour=dict(pricing.per_accelerator_hour or {}) if pricing else {},
        price_per_cpu_core_hour=pricing.per_cpu_core_hour if pricing else None,
        price_per_gib_hour=pricing.per_gib_hour if pricing else None,
    )
