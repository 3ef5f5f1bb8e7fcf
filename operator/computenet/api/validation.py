"""What the CRD schema cannot check, checked by the operator and reported on the object.

The API server refuses most bad input at apply time. Some mistakes it cannot see: the workload
template is mostly opaque to the schema (its containers' resources, parallelism, node pinning), map
keys have no schema, and a CRD older or newer than the operator may let through what the models
refuse. The ``validate_*`` functions find those and return them as :class:`Problem` values; they never
raise, so a handler can always turn the result into a ``Valid=False`` condition and an event instead
of crash-looping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from computenet.api.constants import ACCELERATOR_RESOURCES, Reason
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.api.pool import ComputePoolSpec
from computenet.api.task import ComputeTaskSpec, ContainerTemplate
from computenet.quantity import QuantityError, format_quantity, parse_quantity

__all__ = ["Problem", "summarize", "validate_identifier", "validate_pool", "validate_task"]

M = TypeVar("M", bound=BaseModel)

_TEMPLATE = "spec.template.spec"
_POD = f"{_TEMPLATE}.template.spec"
_VENDOR_OF_RESOURCE = {resource: vendor for vendor, resource in ACCELERATOR_RESOURCES.items()}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an object: the field (``spec.resources.cpu``) and what rule it breaks."""

    field: str
    message: str
    reason: str = Reason.INVALID_SPEC

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def summarize(problems: Iterable[Problem], limit: int = 5) -> str:
    """One line for a condition message or an event: the first few problems, and how many more."""
    problems = list(problems)
    shown = "; ".join(str(problem) for problem in problems[:limit])
    more = len(problems) - limit
    return f"{shown}; and {more} more" if more > 0 else shown


def validate_identifier(spec: Mapping[str, Any] | ComputeIdentifierSpec) -> list[Problem]:
    """Problems with a ComputeIdentifier spec (as stored by the API server, or already parsed)."""
    _, problems = _parse(ComputeIdentifierSpec, spec)
    return problems


def validate_pool(spec: Mapping[str, Any] | ComputePoolSpec) -> list[Problem]:
    """Problems with a ComputePool spec (as stored by the API server, or already parsed)."""
    _, problems = _parse(ComputePoolSpec, spec)
    return problems


def validate_task(spec: Mapping[str, Any] | ComputeTaskSpec) -> list[Problem]:
    """Problems with a ComputeTask spec, including its workload template against its resources."""
    model, problems = _parse(ComputeTaskSpec, spec)
    if model is None:
        return problems
    return list(_template_problems(model))


def _parse(model: type[M], spec: Mapping[str, Any] | M) -> tuple[M | None, list[Problem]]:
    if isinstance(spec, model):
        return spec, []
    try:
        return model.model_validate(dict(spec) if isinstance(spec, Mapping) else spec), []
    except ValidationError as error:
        return None, [_problem(detail) for detail in error.errors(include_url=False)]


def _problem(detail: Mapping[str, Any]) -> Problem:
    loc = list(detail["loc"])
    bad_key = None
    if loc[-1:] == ["[key]"]:  # a map key is wrong: report it on the map, naming the key
        bad_key = loc[-2]
        loc = loc[:-2]
    path = "spec"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    extra_path = (detail.get("ctx") or {}).get("field_path")
    if extra_path:
        path += extra_path
    kind = detail["type"]
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "is not a field of this API version"
    else:
        message = str(detail["msg"]).removeprefix("Value error, ")
    if bad_key is not None:
        message = f"key {bad_key!r}: {message}"
    return Problem(path, message)


def _template_problems(spec: ComputeTaskSpec) -> Iterator[Problem]:
    job = spec.template.spec
    extra = job.model_extra or {}
    for name in ("parallelism", "completions"):
        value = extra.get(name)
        if value is not None and value != spec.replicas:
            yield Problem(
                f"{_TEMPLATE}.{name}",
                f"is {value} but spec.replicas is {spec.replicas}: leave it out, the operator sets it from replicas",
            )
    if extra.get("suspend") is True:
        yield Problem(f"{_TEMPLATE}.suspend", "would keep the Job from ever running: use spec.suspend instead")
    pod_extra = job.template.spec.model_extra or {}
    if pod_extra.get("nodeName"):
        yield Problem(
            f"{_POD}.nodeName",
            "pins the pod to a node before a cluster is chosen: use spec.constraints instead",
        )
    yield from _container_resource_problems(spec, job.template.spec.containers)


def _container_resource_problems(spec: ComputeTaskSpec, containers: list[ContainerTemplate]) -> Iterator[Problem]:
    """Containers must fit the slot placement reserves for a replica, or the member cannot run them."""
    totals: dict[str, Decimal] = {}
    for index, container in enumerate(containers):
        resources = (container.model_extra or {}).get("resources") or {}
        if not isinstance(resources, Mapping):
            yield Problem(f"{_POD}.containers[{index}].resources", "must be an object with requests and limits")
            continue
        per_container: dict[str, Decimal] = {}
        for section in ("limits", "requests"):  # requests win: they are what the scheduler counts
            values = resources.get(section) or {}
            if not isinstance(values, Mapping):
                yield Problem(f"{_POD}.containers[{index}].resources.{section}", "must be a map of quantities")
                continue
            for resource, raw in values.items():
                try:
                    per_container[resource] = parse_quantity(raw)
                except (QuantityError, TypeError):
                    yield Problem(
                        f"{_POD}.containers[{index}].resources.{section}.{resource}",
                        f"{raw!r} is not a Kubernetes quantity such as 500m, 2, 1.5Gi or 1e3",
                    )
        for resource, amount in per_container.items():
            totals[resource] = totals.get(resource, Decimal(0)) + amount

    for resource, declared in (("cpu", spec.resources.cpu), ("memory", spec.resources.memory)):
        used = totals.get(resource)
        if used is not None and used > parse_quantity(declared):
            yield Problem(
                f"{_POD}.containers",
                f"request {format_quantity(used)} {resource} in total, more than spec.resources.{resource} "
                f"({declared}) reserved for each replica",
            )

    accelerators = spec.resources.accelerators
    for resource, vendor in _VENDOR_OF_RESOURCE.items():
        used = totals.get(resource)
        if used is None or used == 0:
            continue
        if accelerators is None:
            yield Problem(
                f"{_POD}.containers",
                f"request {resource} but spec.resources.accelerators is not set, so no accelerator is reserved",
            )
        elif accelerators.vendor is not None and accelerators.vendor != vendor:
            yield Problem(
                f"{_POD}.containers",
                f"request {resource} but spec.resources.accelerators.vendor is {accelerators.vendor}",
            )
        elif used > accelerators.count:
            yield Problem(
                f"{_POD}.containers",
                f"request {format_quantity(used)} {resource} in total, more than "
                f"spec.resources.accelerators.count ({accelerators.count}) per replica",
            )
