"""What a task asks of its queue's quota: amounts per resource, keyed the way quotas are written.

A quota names ``cpu`` (millicores), ``memory`` (bytes) and accelerator models by their catalogue
name (``NVIDIA-H100-80GB-HBM3``: devices). A task's request is its per-replica demand times its
replicas (summed over its pod sets), with its devices counted under the model it runs on (or would
run on). Amounts are plain integers, as in placement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from computenet.placement.demand import Demand
from computenet.placement.resources import GIB

CPU = "cpu"
MEMORY = "memory"

Amounts = Mapping[str, int]
"""Resource name (``cpu``, ``memory`` or an accelerator model) -> amount (millicores, bytes, devices)."""


def request_of(demand: Demand, model: str | None) -> dict[str, int]:
    """What ``demand`` holds while admitted, with its devices on ``model`` (None: no devices counted).

    A task of several pod sets holds every pod set's pods (``Demand.sets``).
    """
    sets = demand.sets()
    out = {CPU: sum(s.cpu * s.count for s in sets), MEMORY: sum(s.memory * s.count for s in sets)}
    devices = sum(s.devices * s.count for s in sets)
    if devices and model:
        out[model] = devices
    return out


def add(into: dict[str, int], amounts: Amounts, sign: int = 1) -> None:
    """``into += sign * amounts``, in place; zero entries are dropped."""
    for name, value in amounts.items():
        total = into.get(name, 0) + sign * value
        if total:
            into[name] = total
        else:
            into.pop(name, None)


def total(many: Iterable[Amounts]) -> dict[str, int]:
    out: dict[str, int] = {}
    for amounts in many:
        add(out, amounts)
    return out


def unit(resource: str, amount: int) -> str:
    """An amount as people read it: ``cpu`` 16000 -> "16 cores", ``memory`` -> "64Gi", a model -> "16 GPUs"."""
    if resource == CPU:
        return f"{amount / 1000:g} cores"
    if resource == MEMORY:
        return f"{amount / GIB:g}Gi"
    return f"{amount} GPUs"


def bare(resource: str, amount: int) -> str:
    """An amount without its unit, for ``used/limit`` pairs: 16000 millicores -> "16"."""
    if resource == CPU:
        return f"{amount / 1000:g}"
    if resource == MEMORY:
        return f"{amount / GIB:g}Gi"
    return str(amount)


def unit_name(resource: str) -> str:
    return "cores" if resource == CPU else "" if resource == MEMORY else "GPUs"
