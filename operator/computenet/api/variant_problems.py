"""What the schema cannot check of a task's variants and compute request, each problem naming its field.

The API server already refuses two variants of one name (``spec.variants`` is a list map keyed
by name) and top-level accelerators that say which devices beside variants. The operator checks
the rest against the template: a variant must say what its pods request (a vendor, a resource
of a known vendor, or models of the catalogue), the containers it changes must exist, the
template must leave device requests to the variants, each variant's spec (the task written for
that variant alone, ``api.variants.as_variant``) must meet the resource contract, and variants
and compute requests are refused, for now, on kinds placed role by role.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from computenet.api.contract import contract_problems, pod_spec_of
from computenet.api.problems import Problem
from computenet.api.task import Accelerators, ComputeTaskSpec, TaskVariant, primary_role
from computenet.api.variants import as_variant
from computenet.placement.accelerators import lookup
from computenet.placement.device_plugins import is_device_resource
from computenet.placement.resources import vendor_of

__all__ = ["variant_problems"]

_OWN = "spec.resources.accelerators"


def variant_problems(spec: ComputeTaskSpec) -> list[Problem]:
    """Problems of ``spec.variants`` and of a compute request (empty when there are none)."""
    several_roles = spec.workload is not None and primary_role(spec.workload.raw()) is not None
    kind = spec.workload.kind if spec.workload is not None else "Job"
    if several_roles and spec.resources.accelerators is not None and spec.resources.accelerators.compute:
        return [Problem(f"{_OWN}.compute", f"is not supported for a {kind} yet, whose roles request their own devices")]
    if not spec.variants:
        return []
    if several_roles:
        return [Problem("spec.variants", f"are not supported for a {kind} yet, whose roles request their own devices")]
    problems = list(_template_requests(spec))
    pod = pod_spec_of(spec)
    names = sorted(str(c.get("name")) for key in ("containers", "initContainers") for c in pod.get(key) or ())
    for i, variant in enumerate(spec.variants):
        problems.extend(_one(spec, i, variant, names))
    return problems


def _template_requests(spec: ComputeTaskSpec) -> Iterator[Problem]:
    """Device requests in the template: with variants, each variant's devices are requested for it."""
    pod = pod_spec_of(spec)
    for key in ("containers", "initContainers"):
        for j, container in enumerate(pod.get(key) or ()):
            resources: dict[str, Any] = container.get("resources") or {}
            for section in ("requests", "limits"):
                for name in sorted(resources.get(section) or {}):
                    if is_device_resource(name) and vendor_of(name) is not None:
                        yield Problem(
                            f"{spec.pod_spec_path}.{key}[{j}].resources.{section}",
                            f"requests {name}: with spec.variants, leave device requests out of the template; "
                            "each variant's devices are requested for it",
                        )


def _one(spec: ComputeTaskSpec, i: int, variant: TaskVariant, names: list[str]) -> Iterator[Problem]:
    at = f"spec.variants[{i}]"
    for j, change in enumerate(variant.containers or ()):
        if change.name not in names:
            yield Problem(
                f"{at}.containers[{j}].name",
                f"no container {change.name!r} in the template (it has {', '.join(names) or 'none'})",
            )
    if not _names_a_resource(variant.accelerators):
        yield Problem(
            f"{at}.accelerators",
            "names no device resource its pods could request: set vendor, resource (such as habana.ai/gaudi2), "
            "or models of the accelerator catalogue",
        )
        return
    try:
        alone = as_variant(spec, variant)
    except ValidationError as error:
        for detail in error.errors(include_url=False):
            where = ".".join(str(p) for p in detail["loc"])
            yield Problem(f"{at}: {where}", str(detail["msg"]).removeprefix("Value error, "))
        return
    for problem in contract_problems(alone):
        if problem.field.startswith(_OWN):
            yield Problem(f"{at}.accelerators{problem.field.removeprefix(_OWN)}", problem.message, problem.reason)
        else:
            yield Problem(problem.field, f"with variant {variant.name}: {problem.message}", problem.reason)


def _names_a_resource(acc: Accelerators) -> bool:
    """Whether a variant's pods know what to request: a vendor, a resource, a compute request or known models."""
    if acc.vendor is not None or acc.resource is not None or acc.compute is not None:
        return True
    known = [lookup(m) for m in acc.models or ()]
    return bool(known) and all(known)
