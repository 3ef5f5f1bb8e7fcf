"""A task as it runs with one of its variants: that variant's devices and containers, the rest as written.

A ComputeTask may list ``spec.variants`` (an H100 build, an MI300X build, ...). Once placement
has chosen one (``status.placement.variant``), everything downstream (the reservation, the
rendered workload, metering, quotas) reads the task as if it had been written for that variant
alone: `as_variant` gives that spec, `pod_spec_with` the pod spec with the variant's container
changes, applied to the raw template as written (the template passes through untouched otherwise).

A variant changes, per container it names: ``image``, ``command`` and ``args`` (replaced) and
``env`` (a variable of the same name replaced where it stands, the others appended in the variant's order).
The task's ``resources.accelerators``, when given beside variants, may only carry ``minMemory``,
a floor for every variant that states none.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from computenet.api.task import ComputeTaskSpec, TaskVariant

__all__ = ["as_variant", "pod_spec_with", "variant_named", "with_variant_template"]


def variant_named(spec: ComputeTaskSpec, name: str | None) -> TaskVariant | None:
    """The variant called `name` in `spec`, or None (no name, or a variant the spec no longer lists)."""
    if name is None:
        return None
    return next((v for v in spec.variants or () if v.name == name), None)


def as_variant(spec: ComputeTaskSpec, variant: TaskVariant) -> ComputeTaskSpec:
    """`spec` written for `variant` alone: its accelerators, its containers, no variants.

    Raises pydantic's ``ValidationError`` if the result is not a valid spec (validation reports
    each variant's problems first, see ``api.validation``).
    """
    data = spec.model_dump(by_alias=True, exclude_none=True)
    data.pop("variants", None)
    floor = spec.resources.accelerators.min_memory if spec.resources.accelerators else None
    acc = variant.accelerators.model_dump(by_alias=True, exclude_none=True)
    if floor is not None:
        acc.setdefault("minMemory", floor)
    data["resources"]["accelerators"] = acc
    key = "template" if spec.template is not None else "workload"
    data[key] = with_variant_template(data[key], variant)
    return ComputeTaskSpec.model_validate(data)


def with_variant_template(template: Mapping[str, Any], variant: TaskVariant) -> dict[str, Any]:
    """A Job template or single-pod-set workload (``{..., spec: {template: {spec}}}``) with `variant`'s containers.

    A copy; `template` is not modified. A shape without a pod spec at ``spec.template.spec`` is
    returned as it is (validation names it).
    """
    out = copy.deepcopy(dict(template))
    pod = out.get("spec", {}).get("template", {}) if isinstance(out.get("spec"), Mapping) else None
    if isinstance(pod, dict) and isinstance(pod.get("spec"), Mapping):
        pod["spec"] = pod_spec_with(pod["spec"], variant)
    return out


def pod_spec_with(pod_spec: Mapping[str, Any], variant: TaskVariant) -> dict[str, Any]:
    """`pod_spec` (a copy) with the variant's changes to the containers and init containers it names."""
    out = copy.deepcopy(dict(pod_spec))
    changes = {c.name: c for c in variant.containers or ()}
    for key in ("containers", "initContainers"):
        for container in out.get(key) or ():
            change = changes.get(str(container.get("name"))) if isinstance(container, dict) else None
            if change is None:
                continue
            for field in ("image", "command", "args"):
                value = getattr(change, field)
                if value is not None:
                    container[field] = copy.deepcopy(value)
            if change.env:
                given = {e.name: e.model_dump(by_alias=True, exclude_none=True) for e in change.env}
                env = [
                    given.pop(str(e.get("name")), e) if isinstance(e, Mapping) else e
                    for e in container.get("env") or ()
                ]
                container["env"] = env + list(given.values())  # replaced in place (order matters to $(VAR)), new last
    return out
