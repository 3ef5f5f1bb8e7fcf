"""What the ClusterProfile of one ComputeIdentifier says, and whether the published one must change.

Pure: an identifier comes in as :class:`IdentifierFacts`, time as a parameter. KEP-4322 keeps dynamic
figures (usage, free capacity) out of the inventory, so a profile carries what changes rarely: the
``cpi://`` URI, provider, region and zone, compute class, the accelerator models with how many devices
of each the nodes can allocate, and prices; and two conditions, ControlPlaneHealthy (the member's API
server answers) and Joined (the identifier is managed here). docs/inventory.md lists every property.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from computenet.api.common import Condition, ObjectMeta
from computenet.api.conditions import Cond, set_conditions
from computenet.inventory.model import (
    CONDITION_CONTROL_PLANE_HEALTHY,
    CONDITION_JOINED,
    IDENTIFIER_LABEL,
    LABEL_CLUSTER_MANAGER,
    PROPERTY_ACCELERATOR_MODELS,
    PROPERTY_ACCELERATORS_PREFIX,
    PROPERTY_COMPUTE_CLASS,
    PROPERTY_CURRENCY,
    PROPERTY_PRICE_ACCELERATOR_PREFIX,
    PROPERTY_PRICE_CPU,
    PROPERTY_PRICE_MEMORY,
    PROPERTY_PROVIDER,
    PROPERTY_REGION,
    PROPERTY_URI,
    PROPERTY_ZONE,
    ClusterManager,
    ClusterProfile,
    ClusterProfileSpec,
    ClusterProfileStatus,
    Property,
)

JOINED_REASON = "Managed"
HEALTHY_REASON = "Reachable"
UNHEALTHY_REASON = "Unreachable"


@dataclass(frozen=True)
class IdentifierFacts:
    """What the operator knows about one identifier, as far as its profile is concerned."""

    name: str
    uri: str
    provider: str
    region: str
    compute_class: str
    ready: bool
    reachable: bool | None
    """Whether the member's API server answers; None while not known yet."""
    reachable_message: str = ""
    zone: str | None = None
    accelerators: Mapping[str, int] = field(default_factory=dict)
    """Devices per model that the identifier's nodes can allocate."""
    currency: str | None = None
    price_per_accelerator_hour: Mapping[str, float] = field(default_factory=dict)
    price_per_cpu_core_hour: float | None = None
    price_per_gib_hour: float | None = None


def price_text(value: float) -> str:
    """A price as a plain decimal: 2.5 -> "2.5", 0.04 -> "0.04", 3.0 -> "3"."""
    return f"{Decimal(repr(value)).normalize():f}"


def properties(facts: IdentifierFacts) -> list[Property]:
    """The profile's properties, sorted by name; a fact the identifier does not state is left out."""
    found: dict[str, str] = {
        PROPERTY_URI: facts.uri,
        PROPERTY_PROVIDER: facts.provider,
        PROPERTY_REGION: facts.region,
        PROPERTY_COMPUTE_CLASS: facts.compute_class,
    }
    if facts.zone:
        found[PROPERTY_ZONE] = facts.zone
    models = sorted(m for m, n in facts.accelerators.items() if n > 0)
    if models:
        found[PROPERTY_ACCELERATOR_MODELS] = ",".join(models)
    for model in models:
        found[PROPERTY_ACCELERATORS_PREFIX + model] = str(facts.accelerators[model])
    priced = False
    for model, price in facts.price_per_accelerator_hour.items():
        found[PROPERTY_PRICE_ACCELERATOR_PREFIX + model] = price_text(price)
        priced = True
    if facts.price_per_cpu_core_hour is not None:
        found[PROPERTY_PRICE_CPU] = price_text(facts.price_per_cpu_core_hour)
        priced = True
    if facts.price_per_gib_hour is not None:
        found[PROPERTY_PRICE_MEMORY] = price_text(facts.price_per_gib_hour)
        priced = True
    if priced and facts.currency:
        found[PROPERTY_CURRENCY] = facts.currency
    return [Property(name=k, value=v[:1024]) for k, v in sorted(found.items()) if v]


def conditions(
    facts: IdentifierFacts, manager: str, previous: Sequence[Condition] | None, now: dt.datetime
) -> list[Condition]:
    """ControlPlaneHealthy and Joined, with transition times kept from ``previous`` while a status holds.

    Conditions of other types in ``previous`` (another writer's) are kept as they are.
    """
    if facts.reachable is None:
        healthy = Cond(CONDITION_CONTROL_PLANE_HEALTHY, None, "Unknown", facts.reachable_message or "not known yet")
    elif facts.reachable:
        healthy = Cond(CONDITION_CONTROL_PLANE_HEALTHY, True, HEALTHY_REASON, "the member's API server answers")
    else:
        healthy = Cond(CONDITION_CONTROL_PLANE_HEALTHY, False, UNHEALTHY_REASON, facts.reachable_message)
    joined = Cond(CONDITION_JOINED, True, JOINED_REASON, f"ComputeIdentifier {facts.name} managed by {manager}")
    return set_conditions(previous, (healthy.as_condition(), joined.as_condition()), now)


def desired(
    facts: IdentifierFacts,
    *,
    manager: str,
    namespace: str,
    previous: ClusterProfile | None,
    now: dt.datetime,
) -> ClusterProfile:
    """The profile the identifier should have (``previous``: the published one, for transition times)."""
    before = previous.status.conditions if previous is not None and previous.status is not None else None
    return ClusterProfile.model_validate(
        {
            "metadata": ObjectMeta(
                name=facts.name,
                namespace=namespace,
                labels={LABEL_CLUSTER_MANAGER: manager, IDENTIFIER_LABEL: facts.name},
            ),
            "spec": ClusterProfileSpec(display_name=facts.uri, cluster_manager=ClusterManager(name=manager)),
            "status": ClusterProfileStatus(
                conditions=conditions(facts, manager, before, now),
                properties=properties(facts),
            ),
        }
    )


def published(facts: IdentifierFacts, has_profile: bool) -> bool:
    """Whether the identifier has a profile: from its first Ready on, until the identifier is deleted.

    An identifier that stops being Ready keeps its profile, whose ControlPlaneHealthy says so: a
    profile that came and went with every hiccup of a member would churn every consumer.
    """
    return facts.ready or has_profile


def _conditions_without_times(profile: ClusterProfile) -> list[tuple[str, str, str | None, str | None]]:
    found = profile.status.conditions if profile.status is not None else None
    return sorted((c.type, str(c.status), c.reason, c.message) for c in found or ())


def _properties(profile: ClusterProfile) -> list[tuple[str, str]]:
    found = profile.status.properties if profile.status is not None else None
    return sorted((p.name, p.value) for p in found or ())


def status_differs(current: ClusterProfile, wanted: ClusterProfile) -> bool:
    """Whether the published status says something else than ``wanted`` (transition times aside)."""
    return _properties(current) != _properties(wanted) or _conditions_without_times(
        current
    ) != _conditions_without_times(wanted)


def metadata_differs(current: ClusterProfile, wanted: ClusterProfile) -> bool:
    """Whether the labels the operator sets or the display name differ (someone edited them)."""
    labels_ok = wanted.metadata.labels.items() <= current.metadata.labels.items()
    return not labels_ok or current.spec.display_name != wanted.spec.display_name
