"""A ComputeTask as the operator holds it in memory, and its demand as placement reads it.

The record is rebuilt from the object on every kopf event and on restart, so the truth lives in
the object (spec and status); memory only caches it. Status fields are camelCase dicts, ready to
be written back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from computenet.api.constants import Phase
from computenet.api.pool import PlacementPolicy
from computenet.api.task import ComputeTaskSpec
from computenet.placement import AcceleratorDemand, Constraints, Data, Demand, Strategy, Toleration, Weights
from computenet.quantity import cpu_millis, to_int_units

MIB = 1 << 20


@dataclass
class TaskRecord:
    uid: str
    namespace: str
    name: str
    created: dt.datetime
    generation: int | None
    spec: ComputeTaskSpec
    template: dict[str, Any]
    status: dict[str, Any] = field(default_factory=dict)
    deleting: bool = False
    pending_reason: str = ""
    """The last explanation written for a task that does not fit (events only when it changes)."""
    lost_since: dt.datetime | None = None
    dispatching: bool = False
    """A dispatch coroutine is in flight; the scheduler leaves the task alone meanwhile."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def phase(self) -> Phase:
        return Phase(self.status.get("phase") or Phase.PENDING)

    @property
    def attempt(self) -> int:
        return int(self.status.get("attempt") or 0)

    @property
    def identifier(self) -> str | None:
        placement = self.status.get("placement") or {}
        return placement.get("identifier")

    @property
    def wants_placement(self) -> bool:
        return not self.deleting and not self.dispatching and self.phase in (Phase.PENDING, Phase.OFFERED)


def _weights(policy: PlacementPolicy | None) -> tuple[Weights, Strategy]:
    if policy is None:
        return Weights(), Strategy.BINPACK
    w = policy.weights
    strategy = Strategy.SPREAD if str(policy.strategy).lower() == "spread" else Strategy.BINPACK
    return Weights(fit=w.fit, price=w.price, locality=w.locality, reliability=w.reliability), strategy


def _tolerations(pod_spec: dict[str, Any]) -> tuple[Toleration, ...]:
    out = []
    for t in pod_spec.get("tolerations") or ():
        out.append(
            Toleration(
                key=t.get("key") or "",
                operator=t.get("operator") or "Equal",
                value=t.get("value") or "",
                effect=t.get("effect") or "",
            )
        )
    return tuple(out)


def demand_of(record: TaskRecord, policy: PlacementPolicy | None, identifiers: frozenset[str] | None = None) -> Demand:
    """What placement needs to know of a task, as plain numbers; `identifiers` are its pool's members."""
    spec = record.spec
    res = spec.resources
    acc = None
    if res.accelerators is not None:
        a = res.accelerators
        acc = AcceleratorDemand(
            count=a.count,
            vendor=str(a.vendor) if a.vendor else None,
            models=tuple(a.models or ()),
            min_memory_mib=to_int_units(a.min_memory) // MIB if a.min_memory else 0,
        )
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
        data = Data(spec.data.region, to_int_units(spec.data.size) if spec.data.size else 0)
    weights, strategy = _weights(policy)
    pod_spec = ((record.template.get("spec") or {}).get("template") or {}).get("spec") or {}
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
        node_selector=dict(pod_spec.get("nodeSelector") or {}),
        tolerations=_tolerations(pod_spec),
        constraints=constraints,
        data=data,
        weights=weights,
        strategy=strategy,
        suspended=spec.suspend,
        identifiers=identifiers,
    )
