"""The resource contract of a ComputeTask: its reservation, the template that must carry it, and resolution.

The rule itself, on plain dicts, is :mod:`computenet.api.pod_reservation` (rendering applies it too). This
module reads it off a parsed :class:`~computenet.api.task.ComputeTaskSpec`: which accelerator
resource the spec reserves, what the template would request, and whether it can carry the
reservation. :func:`resolve_resources` is what the lifecycle calls once at admission;
:func:`contract_problems` is what :func:`~computenet.api.validation.validate_task` reports, so a spec
with no problems always resolves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from computenet.api.constants import ACCELERATOR_RESOURCES, AcceleratorSharing, Vendor
from computenet.api.pod_reservation import (
    ACCELERATOR_RESOURCE_NAMES,
    Reservation,
    apply_reservation,
    effective_requests,
)
from computenet.api.problems import ContractError, Problem
from computenet.api.task import Accelerators, ComputeTaskSpec, primary_role
from computenet.placement.accelerators import lookup
from computenet.placement.compute import choices, described
from computenet.placement.demand import AcceleratorDemand, ComputeDemand
from computenet.placement.device_plugins import is_device_resource
from computenet.placement.resources import MIB, VENDOR_DOMAINS, vendor_of
from computenet.placement.slices import SliceRequest, slice_resource
from computenet.quantity import cpu_millis, to_int_units

__all__ = [
    "ContractError",
    "accelerator_resource",
    "compute_demand",
    "contract_problems",
    "pod_spec_of",
    "reservation_of",
    "resolve_resources",
]


def resolve_resources(spec: ComputeTaskSpec) -> ComputeTaskSpec:
    """A copy whose resources.cpu, resources.memory and resources.accelerators.count are all set.

    Values the spec leaves out are derived from the template's effective request while the spec is
    parsed (:class:`~computenet.api.task.ComputeTaskSpec`), so they are set in any parsed spec; this
    also checks that the template can carry the reservation (:func:`contract_problems`). Raises
    :class:`ContractError` with the problems if it cannot.
    """
    problems = contract_problems(spec)
    if problems:
        raise ContractError(problems)
    return spec.model_copy(deep=True)


def contract_problems(spec: ComputeTaskSpec) -> list[Problem]:
    """Why the template cannot carry the reservation of ``spec``, or no device can ever match (empty when fine)."""
    problems = list(_accelerator_problems(spec))
    if spec.workload is not None and primary_role(spec.workload.raw()) is not None:
        return problems  # each role reserves its own template's request: see validation.role_problems
    _, found = apply_reservation(
        pod_spec_of(spec), reservation_of(spec, accelerator_resource(spec)), spec.pod_spec_path
    )
    return problems + found


def _accelerator_problems(spec: ComputeTaskSpec) -> Iterator[Problem]:
    """Accelerator demands no device can meet, and templates whose devices placement might not pick."""
    accelerators = spec.resources.accelerators
    if accelerators is None:
        return
    if (accelerators.sharing == AcceleratorSharing.SHARED or accelerators.partition is not None) and (
        slice_resource_of(spec) is None
    ):
        yield Problem(
            "spec.resources.accelerators.partition" if accelerators.partition else "spec.resources.accelerators.vendor",
            "names no resource the slices are counted in: request it in the template's containers "
            "(such as huawei.com/Ascend910-4c: 1), or set vendor to nvidia or amd, whose slices have one",
        )
    yield from _resource_problems(accelerators)
    yield from _compute_problems(spec)
    models = [(index, name, lookup(name)) for index, name in enumerate(accelerators.models or ())]
    if accelerators.vendor is not None:
        for index, name, known in models:
            if known is not None and known.vendor != accelerators.vendor:
                yield Problem(
                    f"spec.resources.accelerators.models[{index}]",
                    f"{name} is a {known.vendor} device, but vendor is {accelerators.vendor}: none can match both",
                )
    if accelerators.min_memory is not None and models and all(known for _, _, known in models):
        largest = max(known.memory_gib for _, _, known in models if known is not None)
        if to_int_units(accelerators.min_memory) > largest << 30:
            yield Problem(
                "spec.resources.accelerators.minMemory",
                f"is more than any listed model has (at most {largest}Gi): no device can match",
            )
    effective = effective_requests(pod_spec_of(spec))
    stated = sorted(name for name in ACCELERATOR_RESOURCE_NAMES if effective.get(name, 0) > 0)
    if stated and accelerators.vendor is None and accelerators.resource is None and _pinned_resource(spec) is None:
        yield Problem(
            "spec.resources.accelerators.vendor",
            f"is required when the template's containers request {', '.join(stated)} and the models do not "
            "name one vendor, so that placement chooses devices of that vendor",
        )


def _resource_problems(accelerators: Accelerators) -> Iterator[Problem]:
    """A named resource must be a device plugin's, of a known vendor, and of the vendor asked for."""
    resource = accelerators.resource
    if resource is None:
        return
    vendor = vendor_of(resource)
    if vendor is None or not is_device_resource(resource):
        domains = ", ".join(sorted(VENDOR_DOMAINS))
        yield Problem(
            "spec.resources.accelerators.resource",
            f"{resource} is not a device resource of a known vendor (the domains {domains}; docs/accelerators.md)",
        )
    elif accelerators.vendor is not None and vendor != accelerators.vendor:
        yield Problem(
            "spec.resources.accelerators.resource",
            f"{resource} is a {vendor} resource, but vendor is {accelerators.vendor}: none can match both",
        )


def _compute_problems(spec: ComputeTaskSpec) -> Iterator[Problem]:
    """A compute request must meet some catalogue model, and the template must leave the devices to it."""
    accelerators = spec.resources.accelerators
    if accelerators is None or accelerators.compute is None:
        return
    request = compute_demand(accelerators)
    if not choices(request):
        said = described(request.compute, request.min_memory_mib) if request.compute else ""
        yield Problem(
            "spec.resources.accelerators.compute",
            f"no model of the accelerator catalogue meets {said}"
            + (f" among {', '.join(accelerators.models)}" if accelerators.models else "")
            + (f" of vendor {accelerators.vendor}" if accelerators.vendor else "")
            + " (the catalogue: docs/accelerators.md)",
        )
    effective = effective_requests(pod_spec_of(spec))
    stated = sorted(name for name, amount in effective.items() if amount > 0 and is_device_resource(name))
    if stated:
        yield Problem(
            "spec.resources.accelerators.compute",
            f"chooses the devices, but the template's containers request {', '.join(stated)}: leave those "
            "requests out, the chosen model's resource and count are requested for them",
        )


def compute_demand(accelerators: Accelerators) -> AcceleratorDemand:
    """What placement reads of a compute request (``accelerators.compute`` must be set)."""
    assert accelerators.compute is not None
    return AcceleratorDemand(
        count=0,
        vendor=str(accelerators.vendor) if accelerators.vendor else None,
        models=tuple(accelerators.models or ()),
        min_memory_mib=to_int_units(accelerators.min_memory) // MIB if accelerators.min_memory else 0,
        resource=accelerators.resource,
        compute=ComputeDemand(float(accelerators.compute.tflops), str(accelerators.compute.precision)),
    )


def _pinned_resource(spec: ComputeTaskSpec) -> str | None:
    """The resource every listed model is counted in, when they are all known and agree."""
    accelerators = spec.resources.accelerators
    known = [lookup(name) for name in (accelerators.models or ())] if accelerators is not None else []
    resources = {model.resource for model in known if model is not None}
    return resources.pop() if known and all(known) and len(resources) == 1 else None


def pod_spec_of(spec: ComputeTaskSpec) -> dict[str, Any]:
    """The workload's pod spec as plain JSON (quantities as the model read them)."""
    return spec.pod_spec()


def accelerator_resource(spec: ComputeTaskSpec) -> str | None:
    """The extended resource the spec's accelerators are counted in, or None without accelerators.

    The vendor's resource, or the one all listed models share. Otherwise the one the template states,
    or else whatever placement picks (``nvidia.com/gpu`` stands for it: the template states none, so
    any gives the same result).
    """
    accelerators = spec.resources.accelerators
    if accelerators is None:
        return None
    if accelerators.compute is not None:
        return None  # placement chooses the model, hence the resource, and the count
    if accelerators.sharing == AcceleratorSharing.SHARED or accelerators.partition is not None:
        return slice_resource_of(spec)
    if accelerators.resource is not None:
        return accelerators.resource
    if accelerators.vendor is not None:
        return ACCELERATOR_RESOURCES[Vendor(accelerators.vendor)]
    pinned = _pinned_resource(spec)
    if pinned is not None:
        return pinned
    effective = effective_requests(pod_spec_of(spec))
    stated = sorted(name for name in ACCELERATOR_RESOURCE_NAMES if effective.get(name, 0) > 0)
    return stated[0] if len(stated) == 1 else ACCELERATOR_RESOURCES[Vendor.NVIDIA]


def slice_resource_of(spec: ComputeTaskSpec) -> str | None:
    """The resource a task asking for slices or shared replicas is counted in.

    The one device resource of the vendor the template requests (``nvidia.com/mig-1g.10gb: 1``),
    else the vendor's usual resource for such slices (``placement.slices.slice_resource``),
    else None: placement then takes units of any resource, and the template must say which.
    """
    accelerators = spec.resources.accelerators
    if accelerators is None:
        return None
    vendor = str(accelerators.vendor) if accelerators.vendor else None
    effective = effective_requests(pod_spec_of(spec))
    stated = sorted(
        name
        for name, amount in effective.items()
        if amount > 0 and is_device_resource(name) and vendor_of(name) is not None and vendor in (None, vendor_of(name))
    )
    if len(stated) == 1:
        return stated[0]
    wanted = SliceRequest(accelerators.sharing == AcceleratorSharing.SHARED, accelerators.partition)
    return slice_resource(vendor, wanted)


def reservation_of(spec: ComputeTaskSpec, resource: str | None) -> Reservation:
    """What placement reserves per replica for ``spec``, with its devices counted as ``resource``."""
    accelerators = spec.resources.accelerators
    return Reservation.of(
        cpu_millis(spec.resources.cpu),
        to_int_units(spec.resources.memory),
        resource,
        (accelerators.count or 0) if accelerators is not None else 0,
    )
