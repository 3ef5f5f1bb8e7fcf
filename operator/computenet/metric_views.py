"""Identifiers and pools as the metrics collector sees them (the metrics shape), computed at scrape time.

The one place where an identifier becomes an ``IdentifierView`` and a pool a ``PoolView``; readiness is
the identifiers' one rule (``members.identifier_status.readiness``), pool totals the pools' one sum
(``pools.aggregate``), amounts in base units (``quantity.base_units``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from computenet.api.pool import ComputePoolSpec
from computenet.members.capacity import Capacity
from computenet.members.identifiers import IdentifierSet
from computenet.metrics import AcceleratorView, IdentifierView, PoolView, ResourceView
from computenet.pools import aggregate, peak_tflops, pool_selector
from computenet.quantity import base_units


def _resources(views: Mapping[str, Mapping[str, int]]) -> ResourceView:
    out = ResourceView()
    for view in ("capacity", "allocatable", "allocated", "free"):
        setattr(out, view, {k: base_units(k, v) for k, v in views[view].items()})
    return out


def _capacity_views(cap: Capacity) -> dict[str, dict[str, int]]:
    return {v: getattr(cap, v) for v in ("capacity", "allocatable", "allocated", "free")}


def identifier_views(identifiers: IdentifierSet) -> Iterator[IdentifierView]:
    for item in list(identifiers.items.values()):
        if item.spec is None:
            continue
        cap = item.capacity()
        reachable, ready = item.readiness(cap)
        conn = item.connection
        stats = [r.stats for r in conn.reflectors] if conn else []
        yield IdentifierView(
            name=item.name,
            region=item.spec.region,
            ready=bool(ready.status),
            reachable=bool(reachable.status),
            nodes={"total": cap.nodes_total, "ready": cap.nodes_ready, "schedulable": cap.nodes_schedulable},
            resources=_resources(_capacity_views(cap)),
            accelerators={
                model: AcceleratorView(m.capacity, m.allocatable, m.allocated, m.free, m.largest_free_slot)
                for model, m in cap.accelerators.items()
            },
            watch_restarts=sum(s.watches for s in stats),
            watch_errors=sum(s.errors for s in stats),
        )


def pool_views(pools: Mapping[str, ComputePoolSpec], identifiers: IdentifierSet) -> Iterator[PoolView]:
    for name, spec in list(pools.items()):
        totals = aggregate(pool_selector(spec), list(identifiers.items.values()), lambda i: i.capacity(), peak_tflops)
        accelerators = {
            model: AcceleratorView(a["capacity"], a["allocatable"], a["allocated"], a["free"], a["largestFreeSlot"])
            for model, a in totals.accelerators.items()
        }
        yield PoolView(
            name=name,
            members_ready=totals.members_ready,
            members_total=totals.members_total,
            resources=_resources(totals.resources),
            accelerators=accelerators,
            tflops=dict(totals.tflops),
            unknown_models=sum(a["allocatable"] for m, a in totals.accelerators.items() if m in totals.unknown_models),
        )
