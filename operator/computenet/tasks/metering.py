"""Usage and cost of an attempt: what it held, for how long, at the identifier's prices.

Usage is what the attempt reserved and dispatched (``status.placement.resources``), not what its
processes used, nor what the spec says now: replicas x per-replica requests x run time (summed over
the roles of a workload of several pod sets, ``status.placement.podSets``) (from the
Job's start to its completion, or to when its member was lost). That is what a provider bills and
what the pool could not give to anyone else meanwhile. A task's usage is the sum over its attempts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from computenet.api.identifier import Pricing
from computenet.api.task import Placement
from computenet.quantity import QuantityError, cpu_millis, to_int_units

GIB = 1 << 30


@dataclass(frozen=True)
class Metered:
    """One attempt's usage (seconds, device-, core- and GiB-seconds) and cost (in `currency`).

    `roles`: the same per role of a workload of several pod sets, in the order of its placement
    (empty for one gang); the totals are their sum.
    """

    seconds: float
    accelerator_seconds: float
    model: str | None
    core_seconds: float
    memory_gib_seconds: float
    cost: float
    currency: str
    roles: tuple[tuple[str, Metered], ...] = ()


NOTHING = Metered(0.0, 0.0, None, 0.0, 0.0, 0.0, "USD")
"""An attempt whose placement does not say what it dispatched (written by an older operator)."""


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


def meter_attempt(
    placement: Placement | None,
    start: dt.datetime | None,
    end: dt.datetime,
    pricing: Pricing | None,
) -> Metered | None:
    """What one attempt used from ``start`` to ``end``, from the resources it dispatched (status.placement).

    None when the attempt never started or its placement does not say what it dispatched.
    """
    if placement is None or placement.resources is None or start is None:
        return None
    res = placement.resources
    try:
        if placement.pod_sets:  # every role's pods, each at its own requests (meter is linear in them)
            sets = placement.pod_sets
            model = placement.accelerator_model
            roles = tuple(
                (
                    s.role,
                    meter(
                        start,
                        end,
                        s.replicas,
                        cpu_millis(s.cpu),
                        to_int_units(s.memory),
                        s.accelerators,
                        model,
                        pricing,
                    ),
                )
                for s in sets
            )
            cpu = sum(s.replicas * cpu_millis(s.cpu) for s in sets)
            memory = sum(s.replicas * to_int_units(s.memory) for s in sets)
            devices = sum(s.replicas * s.accelerators for s in sets)
            total = meter(start, end, 1, cpu, memory, devices, model, pricing)
            return replace(total, roles=roles)
        cpu = cpu_millis(res.cpu)
        memory = to_int_units(res.memory)
    except QuantityError:
        return None
    return meter(start, end, res.replicas, cpu, memory, res.accelerators, placement.accelerator_model, pricing)
