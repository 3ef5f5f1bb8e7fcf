"""A node's accelerator as placement keeps it: one device resource, its model and memory.

Placement sees one accelerator resource per node (``resources``): the whole devices it advertises,
else its most numerous slices or replicas, which only a task asking for them gets (``slices``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from computenet.placement.accelerators import AMD_PRODUCT_LABEL, NVIDIA_PRODUCT_LABEL, lookup
from computenet.placement.device_plugins import NVIDIA_GPU, UNKNOWN, node_units, unit_of
from computenet.placement.resources import AMD_GPU


@dataclass(frozen=True, slots=True)
class AcceleratorFacts:
    """What a node's labels and resources say about its accelerator (model None: not labelled).

    `whole` is False when a unit of `resource` is a slice (a MIG instance, a vendor partition) or
    a shared replica (time-slicing, MPS): `model` then names the slice (see `device_plugins.Unit`).
    """

    resource: str
    vendor: str
    model: str | None
    memory_mib: int | None
    whole: bool = True


_LABELLED = ((NVIDIA_GPU, NVIDIA_PRODUCT_LABEL), (AMD_GPU, AMD_PRODUCT_LABEL))


def accelerator_facts(labels: Mapping[str, str], allocatable: Mapping[str, int]) -> AcceleratorFacts | None:
    """The node's accelerator: the device resource it advertises, whole devices first, then the most units.

    A node labelled with an NVIDIA or AMD product but advertising none (yet) still names its model.
    Device memory comes from the node's label when present (MiB), else from the model table.
    """
    units = node_units(labels, allocatable)
    if len(units) == 1:
        ((resource, unit),) = units.items()
    elif units:
        resource = min(units, key=lambda r: (not units[r].whole, -allocatable[r], r))
        unit = units[resource]
    else:
        labelled = next((r for r, label in _LABELLED if label in labels), None)
        found = unit_of(labelled, labels) if labelled else None
        if found is None:
            return None
        resource, unit = found.resource, found
    model = None if unit.whole and unit.device_model == UNKNOWN else unit.model
    return AcceleratorFacts(resource, unit.vendor, model, unit.memory_mib, unit.whole)


def matching_memory_mib(facts: AcceleratorFacts) -> int:
    """Device memory to compare with a request: the nominal size for a known model (see `accelerators`)."""
    known = lookup(facts.model)
    reported = facts.memory_mib or 0
    return max(reported, known.memory_mib) if known else reported
