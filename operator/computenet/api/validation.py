"""What the CRD schema cannot check, checked by the operator and reported on the object.

The API server refuses most bad input at apply time. Some mistakes it cannot see: the workload
template is mostly opaque to the schema (its containers' resources, parallelism, node pinning), map
keys have no schema, and a CRD older or newer than the operator may let through what the models
refuse. The ``validate_*`` functions find those and return them as :class:`Problem` values; they never
raise, so a handler can always turn the result into a ``Valid=False`` condition and an event instead
of crash-looping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from computenet.api.contract import contract_problems
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.api.pool import ComputePoolSpec
from computenet.api.problems import Problem, summarize
from computenet.api.task import ComputeTaskSpec
from computenet.placement.pod_spec import node_constraint_problems

__all__ = ["Problem", "summarize", "validate_identifier", "validate_pool", "validate_task"]

M = TypeVar("M", bound=BaseModel)

_DERIVED = {
    "spec.resources.cpu": "cpu",
    "spec.resources.memory": "memory",
    "spec.resources.accelerators.count": "accelerator (of the vendor's resource, such as nvidia.com/gpu)",
}


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
    return contract_problems(model) + _node_constraint_problems(spec if isinstance(spec, Mapping) else model)


TEMPLATE_POD_SPEC = "spec.template.spec.template.spec"
"""Where the workload's pod spec sits in a ComputeTask."""


def _node_constraint_problems(spec: Mapping[str, Any] | ComputeTaskSpec) -> list[Problem]:
    """The pod template's nodeSelector and node affinity problems, as placement reads them.

    Each `node_constraint_problems` line "path: message" (path relative to the pod spec) becomes a
    Problem on `spec.template.spec.template.spec.<path>`.
    """
    if isinstance(spec, ComputeTaskSpec):
        pod_spec: Any = spec.template.spec.template.spec.model_dump(by_alias=True, exclude_none=True)
    else:
        pod_spec = _at(spec, "template", "spec", "template", "spec")
    problems = []
    for line in node_constraint_problems(pod_spec):
        path, _, message = line.partition(": ")
        problems.append(Problem(f"{TEMPLATE_POD_SPEC}.{path}", message))
    return problems


def _at(document: object, *keys: str) -> object:
    """`document[keys[0]][keys[1]]...`, or {} where a level is missing or not a mapping."""
    for key in keys:
        document = document.get(key) if isinstance(document, Mapping) else None
    return document if document is not None else {}


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
    if kind == "missing" and path in _DERIVED:
        message = f"is required: the template's containers request no {_DERIVED[path]} to take it from"
    elif kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "is not a field of this API version"
    else:
        message = str(detail["msg"]).removeprefix("Value error, ")
    if bad_key is not None:
        message = f"key {bad_key!r}: {message}"
    return Problem(path, message)
