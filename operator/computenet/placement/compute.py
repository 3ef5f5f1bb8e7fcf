"""Compute requests: a task asking for normalized compute instead of naming a model and a count.

``accelerators: {compute: {tflops: 800, precision: bf16}, minMemory: 80Gi}`` asks, per replica, for
devices whose peak dense throughput at bf16 adds up to at least 800 TFLOPS, each with at least
80 GiB. The figures are the accelerator catalogue's (`accelerators.MODELS`: vendor datasheets,
dense peak, per schedulable device), the same the pools' normalized compute is summed from.

Each catalogue model that can serve the request becomes one choice: that model, and the smallest
count whose total at the precision meets the ask (``ceil(tflops / figure)``), at most
`MAX_DEVICES` per replica. A model qualifies when it publishes a figure at that precision, has at
least the minimum memory, is of the asked vendor and among the asked models (when given). Choices
come fewest devices first, then by catalogue order (newest and largest first), which is the
order placement breaks ties in: the identifier and choice that score best win, and of equal
scores the choice listed first (see `variants`).

A model the catalogue does not know is never chosen: its throughput is unknown, and a guess is
worse than an honest "no model meets the request".
"""

from __future__ import annotations

import math
from dataclasses import replace

from computenet.placement.accelerators import MODELS
from computenet.placement.demand import AcceleratorDemand, ComputeDemand

MAX_DEVICES = 64
"""Most devices per replica a compute request may be met with (``Accelerators.count``'s bound)."""


def devices_for(compute: ComputeDemand, figure: float) -> int:
    """The fewest devices of `figure` TFLOPS each that together give at least ``compute.tflops``."""
    return max(1, math.ceil(round(compute.tflops / figure, 9)))


def choices(acc: AcceleratorDemand) -> tuple[AcceleratorDemand, ...]:
    """Every (model, count) of the catalogue that meets `acc`'s compute request, fewest devices first.

    Each choice names its one model (``models``) and the model's resource; an `acc` without a
    compute request is its own only choice.
    """
    compute = acc.compute
    if compute is None:
        return (acc,)
    found: list[tuple[int, int, AcceleratorDemand]] = []
    for position, model in enumerate(MODELS.values()):
        figure = model.tflops.get(compute.precision)
        if figure is None or figure <= 0:
            continue
        if acc.vendor is not None and model.vendor != acc.vendor:
            continue
        if acc.models and model.name not in acc.models:
            continue
        if acc.resource is not None and model.resource != acc.resource:
            continue
        if model.memory_mib < acc.min_memory_mib:
            continue
        count = devices_for(compute, figure)
        if count > MAX_DEVICES:
            continue
        found.append((count, position, replace(acc, count=count, models=(model.name,), resource=model.resource)))
    return tuple(choice for _, _, choice in sorted(found, key=lambda f: (f[0], f[1])))


def described(compute: ComputeDemand, min_memory_mib: int = 0) -> str:
    """The request in words: "800 bf16 TFLOPS per replica, devices of at least 80 GiB"."""
    unit = "TOPS" if compute.precision == "int8" else "TFLOPS"
    said = f"{compute.tflops:g} {compute.precision} {unit} per replica"
    return f"{said}, devices of at least {min_memory_mib / 1024:g} GiB" if min_memory_mib else said
