"""The identifier table: one row per identifier of the facts identifier-level filters compare.

Rows are rewritten in place on a copy when an identifier's attributes change, and the whole
table is rebuilt only when identifiers come or go (their order changes) or a new accelerator
model or region widens the price and latency matrices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from computenet.placement.accelerators import canonical
from computenet.placement.arrays import Interner, frozen
from computenet.placement.identifiers import Identifier
from computenet.placement.snapshot import IdentifierTable, ModelKey

_INTS = (
    "ready", "cluster", "region", "provider", "currency", "compute_class", "failures", "members", "schedulable",
    "egress_currency", "levels",
)  # fmt: skip
_FLOATS = ("bandwidth_gbps", "price_cpu", "price_memory", "egress_per_gib")


class Interned:
    """Identifier-side vocabularies, grown as identifiers are upserted."""

    def __init__(self) -> None:
        self.regions: Interner[str] = Interner()
        self.providers: Interner[str] = Interner()
        self.currencies: Interner[str] = Interner()
        self.classes: Interner[str] = Interner()

    def learn(self, ident: Identifier) -> None:
        for region in (ident.region, *ident.network.latency_ms):
            self.regions.id(region)
        self.providers.id(ident.provider)
        if ident.pricing:
            self.currencies.id(ident.pricing.currency)
        if ident.store:
            self.currencies.id(ident.store.currency)
        self.classes.id(str(ident.compute_class))


def empty(n: int, models: int, regions: int) -> dict[str, Any]:
    columns: dict[str, Any] = {k: np.zeros(n, dtype=np.int64) for k in _INTS}
    columns |= {k: np.full(n, np.nan) for k in _FLOATS}
    columns["price_devices"] = np.full((n, models), np.nan)
    columns["latency_ms"] = np.full((n, regions), np.nan)
    return columns


def copy(table: IdentifierTable) -> dict[str, Any]:
    return {k: getattr(table, k).copy() for k in IdentifierTable.__dataclass_fields__}


def freeze(columns: Mapping[str, Any]) -> IdentifierTable:
    return IdentifierTable(**{k: frozen(v) for k, v in columns.items()})


def fill(
    columns: dict[str, Any],
    i: int,
    ident: Identifier,
    interned: Interned,
    cluster: int,
    models: tuple[ModelKey, ...],
    members: int,
    schedulable: int,
) -> None:  # fmt: skip
    """Write identifier `ident` into row `i` of `columns`."""
    columns["ready"][i] = ident.ready
    columns["cluster"][i] = cluster
    columns["region"][i] = interned.regions.id(ident.region)
    columns["provider"][i] = interned.providers.id(ident.provider)
    columns["compute_class"][i] = interned.classes.id(str(ident.compute_class))
    columns["failures"][i] = ident.recent_failures
    columns["members"][i], columns["schedulable"][i] = members, schedulable
    columns["levels"][i] = len(ident.levels)
    bandwidth = ident.network.bandwidth_gbps
    columns["bandwidth_gbps"][i] = np.nan if bandwidth is None else bandwidth
    columns["latency_ms"][i, :] = np.nan
    for region, ms in ident.network.latency_ms.items():
        columns["latency_ms"][i, interned.regions.id(region)] = ms
    store = ident.store
    columns["egress_per_gib"][i] = np.nan if store is None else store.egress_per_gib
    columns["egress_currency"][i] = interned.currencies.id(store.currency) if store else -1
    pricing = ident.pricing
    columns["currency"][i] = interned.currencies.id(pricing.currency) if pricing else -1
    columns["price_cpu"][i] = np.nan if pricing is None else (pricing.per_cpu_core_hour or 0.0)
    columns["price_memory"][i] = np.nan if pricing is None else (pricing.per_gib_hour or 0.0)
    prices = {canonical(m): p for m, p in pricing.per_accelerator_hour.items()} if pricing else {}
    row = columns["price_devices"][i]
    row[:] = np.nan
    for model, (_, name) in enumerate(models):
        if name is not None and name in prices:
            row[model] = prices[name]
