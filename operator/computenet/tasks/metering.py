"""Usage and cost of a finished task: what it held, for how long, at the identifier's prices.

Usage is what the task reserved, not what its processes used: replicas x per-replica requests x
run time (from the Job's start to its completion). That is what a provider bills and what the
pool could not give to anyone else meanwhile.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from computenet.api.identifier import Pricing

GIB = 1 << 30


@dataclass(frozen=True)
class Metered:
    seconds: float
    accelerator_seconds: float
    model: str | None
    core_seconds: float
    memory_gib_seconds: float
    cost: float
    currency: str

    def as_status(self) -> tuple[dict[str, object], dict[str, object]]:
        usage: dict[str, object] = {
            "gpuSeconds": round(self.accelerator_seconds, 3),
            "coreSeconds": round(self.core_seconds, 3),
            "memoryGiBSeconds": round(self.memory_gib_seconds, 3),
        }
        if self.model and self.accelerator_seconds:
            usage["gpuSecondsByModel"] = {self.model: round(self.accelerator_seconds, 3)}
        return usage, {"amount": round(self.cost, 6), "currency": self.currency}


def meter(
    start: dt.datetime,
    end: dt.datetime,
    replicas: int,
    cpu_millis: int,
    memory_bytes: int,
    accelerators: int,
    model: str | None,
    pricing: Pricing | None,
) -> Metered:
    seconds = max((end - start).total_seconds(), 0.0)
    cores = replicas * cpu_millis / 1000
    gib = replicas * memory_bytes / GIB
    devices = replicas * accelerators
    hours = seconds / 3600
    cost = 0.0
    currency = "USD"
    if pricing is not None:
        currency = pricing.currency
        cost += cores * hours * float(pricing.per_cpu_core_hour or 0)
        cost += gib * hours * float(pricing.per_gib_hour or 0)
        if devices and model and pricing.per_accelerator_hour:
            cost += devices * hours * float(pricing.per_accelerator_hour.get(model, 0))
    return Metered(seconds, devices * seconds, model, cores * seconds, gib * seconds, cost, currency)
