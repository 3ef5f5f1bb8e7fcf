"""How a replica's reservation lands on its pod: the resource contract, as pure functions over dicts.

Placement reserves, for each replica, ``spec.resources`` on one node: cpu, memory and
``accelerators.count`` devices of the accelerator's extended resource (``nvidia.com/gpu``,
``amd.com/gpu``, ...). The member's kube-scheduler charges the node the pod's **effective request**
(Kubernetes v1.36.3, ``k8s.io/component-helpers/resource/helpers.go`` ``PodRequests``, ported in
:func:`computenet.podresources.pod_requests`): regular containers summed, each init container a
running maximum, restartable sidecars added, pod-level requests replacing the containers' figure,
overhead added, and a request defaulted from its limit where only the limit is written. The
contract makes the two equal, resource by resource, for cpu, memory and every accelerator resource:

1. Requests written in the template are kept, never raised and never added to. An extended
   resource given only as a limit is written as a request too (Kubernetes defaults it so anyway).
2. The remainder (reservation minus the template's effective request) goes to the **first regular
   container that states neither a request nor a limit** for that resource. An extended resource is
   given as request and limit, equal, as Kubernetes requires.
3. If every container states its own cpu or memory, the remainder becomes the pod-level request
   (``spec.resources.requests``, KEP-2837, on by default since Kubernetes 1.34), which the
   scheduler then charges instead of the containers' sum. Accelerators cannot be requested at pod
   level: a template whose containers all state fewer devices than reserved is refused.
4. A template whose effective request is above the reservation is refused, naming the container
   whose request goes over it. Accelerator resources of other vendors than the reserved one are
   reserved at zero, so a container asking for one is refused too.
5. Kubernetes' own container rules are checked first, so no refusal comes from the member: a
   request is never above its limit, and an extended resource is a whole number whose request
   equals its limit (a request without a limit is refused).

Other extended resources (``rdma/hca``, ``hugepages-2Mi``, ...) are not reserved by placement and
pass through as written. Every quantity of the rendered pod (containers, init containers, overhead,
pod-level resources, ``emptyDir.sizeLimit``) is a canonical quantity string: a template may say
``cpu: 2`` or ``cpu: 0.5`` as YAML numbers, read exactly (``0.5`` is ``500m``), but the Kubernetes
client models accept strings only.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from computenet.api.constants import ACCELERATOR_RESOURCES
from computenet.api.problems import Problem
from computenet.podresources import pod_requests
from computenet.quantity import (
    QuantityError,
    canonical_quantity,
    format_amount,
    format_quantity,
    parse_quantity,
)

__all__ = [
    "ACCELERATOR_RESOURCE_NAMES",
    "CPU",
    "MEMORY",
    "POD_SPEC_PATH",
    "Reservation",
    "apply_reservation",
    "canonical_pod_spec",
    "container_rule_problems",
    "effective_requests",
    "format_amount",
    "is_extended_resource",
]

CPU = "cpu"
MEMORY = "memory"
POD_SPEC_PATH = "spec.template.spec.template.spec"
"""Where a task's pod spec sits in the ComputeTask, for the field paths of problems."""

ACCELERATOR_RESOURCE_NAMES = frozenset(ACCELERATOR_RESOURCES.values())
POD_LEVEL_REMAINDER = frozenset({CPU, MEMORY})
"""Resources whose remainder may become a pod-level request (overcommittable, KEP-2837)."""

_SECTIONS = ("requests", "limits")


@dataclass(frozen=True)
class Reservation:
    """What placement reserves for one replica, in :func:`pod_requests` units.

    ``amounts`` maps a resource to cpu millicores, memory bytes or devices. Every resource in it is
    governed by the contract (an accelerator resource reserved at 0 must not be requested at all);
    resources not in it pass through.
    """

    amounts: Mapping[str, int] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    """The spec field each amount comes from, for messages (``spec.resources.cpu``)."""

    @classmethod
    def of(cls, cpu_millis: int, memory_bytes: int, accelerator_resource: str | None, devices: int) -> Reservation:
        """The reservation of ``spec.resources``; ``accelerator_resource`` is the one placement counts."""
        amounts = {CPU: cpu_millis, MEMORY: memory_bytes}
        sources = {CPU: "spec.resources.cpu", MEMORY: "spec.resources.memory"}
        names = set(ACCELERATOR_RESOURCE_NAMES)
        if accelerator_resource is not None:
            names.add(accelerator_resource)
        for name in sorted(names):
            amounts[name] = devices if name == accelerator_resource else 0
            sources[name] = (
                "spec.resources.accelerators.count"
                if name == accelerator_resource and devices
                else "spec.resources.accelerators"
            )
        return cls(amounts, sources)


# ---- quantities ----


def is_extended_resource(name: str) -> bool:
    """``IsExtendedResourceName`` (k8s.io/kubernetes v1.36.3 ``pkg/apis/core/v1/helper/helpers.go``)."""
    return "/" in name and "kubernetes.io/" not in name and not name.startswith("requests.")


# ---- the pod spec, made canonical ----


def canonical_pod_spec(pod_spec: Mapping[str, Any], path: str = POD_SPEC_PATH) -> tuple[dict[str, Any], list[Problem]]:
    """A copy of ``pod_spec`` whose every resource quantity is a canonical string, and what is wrong.

    Covers containers' and init containers' requests and limits, ``overhead``, the pod-level
    ``resources`` and ``volumes[*].emptyDir.sizeLimit``. A value that is not a quantity, or is
    negative, is a problem named by its field path (under ``path``) and left as it was.
    """
    spec = copy.deepcopy(dict(pod_spec))
    problems: list[Problem] = []
    for kind in ("containers", "initContainers"):
        items = spec.get(kind)
        if items is None:
            continue
        if not isinstance(items, list):
            problems.append(Problem(f"{path}.{kind}", "must be a list of containers"))
            continue
        for index, container in enumerate(items):
            where = f"{path}.{kind}[{index}]"
            if not isinstance(container, dict):
                problems.append(Problem(where, "must be a container object"))
                continue
            problems.extend(_canonical_requirements(container, "resources", f"{where}.resources"))
    problems.extend(_canonical_requirements(spec, "resources", f"{path}.resources"))
    if spec.get("overhead") is not None:
        problems.extend(_canonical_list(spec, "overhead", f"{path}.overhead"))
    volumes = spec.get("volumes")
    for index, volume in enumerate(volumes if isinstance(volumes, list) else ()):
        empty_dir = volume.get("emptyDir") if isinstance(volume, dict) else None
        if isinstance(empty_dir, dict) and empty_dir.get("sizeLimit") is not None:
            where = f"{path}.volumes[{index}].emptyDir.sizeLimit"
            problems.extend(_canonical_value(empty_dir, "sizeLimit", where))
    return spec, problems


def _canonical_requirements(owner: dict[str, Any], key: str, where: str) -> Iterator[Problem]:
    resources = owner.get(key)
    if resources is None:
        return
    if not isinstance(resources, dict):
        yield Problem(where, "must be an object with requests and limits")
        return
    for section in _SECTIONS:
        if resources.get(section) is not None:
            yield from _canonical_list(resources, section, f"{where}.{section}")


def _canonical_list(owner: dict[str, Any], key: str, where: str) -> Iterator[Problem]:
    values = owner[key]
    if not isinstance(values, dict):
        yield Problem(where, "must be a map of resource names to quantities")
        return
    for resource in list(values):
        yield from _canonical_value(values, resource, f"{where}.{resource}")


def _canonical_value(owner: dict[str, Any], key: str, where: str) -> Iterator[Problem]:
    raw = owner[key]
    try:
        amount = parse_quantity(raw)
    except QuantityError:
        yield Problem(where, f"{raw!r} is not a Kubernetes quantity such as 500m, 2, 0.5, 1.5Gi or 1e3")
        return
    if amount < 0:
        yield Problem(where, f"{raw!r} is negative")
        return
    owner[key] = canonical_quantity(raw)


# ---- Kubernetes' own rules for one container ----


def container_rule_problems(pod_spec: Mapping[str, Any], path: str = POD_SPEC_PATH) -> list[Problem]:
    """Kubernetes' rules on requests and limits that the member would refuse the Job for.

    From ``ValidateResourceRequirements`` (k8s.io/kubernetes v1.36.3
    ``pkg/apis/core/validation/validation.go``): a request above its limit; an extended resource
    that is fractional, requested without a limit, or requested at another amount than its limit.
    The same rule for pod-level resources. ``pod_spec`` must be canonical.
    """
    problems: list[Problem] = []
    for where, resources in _requirements(pod_spec, path):
        requests = _amounts(resources.get("requests"))
        limits = _amounts(resources.get("limits"))
        for name in sorted(set(requests) | set(limits)):
            request, limit = requests.get(name), limits.get(name)
            section = "requests" if request is not None else "limits"
            if is_extended_resource(name):
                amount = request if request is not None else limit
                if amount is not None and amount != amount.to_integral_value():
                    problems.append(
                        Problem(f"{where}.{section}.{name}", "must be a whole number (an extended resource)")
                    )
                    continue
                if limit is None:
                    problems.append(
                        Problem(
                            f"{where}.requests.{name}",
                            f"is an extended resource: set limits.{name} to the same amount, as Kubernetes requires",
                        )
                    )
                    continue
                if request is not None and request != limit:
                    problems.append(
                        Problem(
                            f"{where}.limits.{name}",
                            f"must equal requests.{name} ({format_quantity(request)}): "
                            "an extended resource cannot be overcommitted",
                        )
                    )
                    continue
            if request is not None and limit is not None and request > limit:
                problems.append(
                    Problem(
                        f"{where}.requests.{name}",
                        f"{format_quantity(request)} is more than limits.{name} ({format_quantity(limit)})",
                    )
                )
    problems.extend(_pod_limit_problems(pod_spec, path))
    return problems


def _pod_limit_problems(pod_spec: Mapping[str, Any], path: str) -> Iterator[Problem]:
    """Pod-level limits hold the containers: their requests in all, and each one's limit (validation.go)."""
    pod_limits = _amounts(_mapping(pod_spec.get("resources")).get("limits"))
    if not pod_limits:
        return
    containers = pod_requests({key: pod_spec.get(key) for key in ("containers", "initContainers")})
    for name, limit in sorted(pod_limits.items()):
        if containers.get(name, 0) > _units(name, limit):
            yield Problem(
                f"{path}.resources.limits.{name}",
                f"{format_quantity(limit)} is below the {format_amount(name, containers[name])} the containers request",
            )
    for kind in ("containers", "initContainers"):
        for index, container in enumerate(_list(pod_spec.get(kind))):
            limits = _amounts(_mapping(_mapping(container).get("resources")).get("limits"))
            for name, limit in sorted(limits.items()):
                if name in pod_limits and limit > pod_limits[name]:
                    yield Problem(
                        f"{path}.{kind}[{index}].resources.limits.{name}",
                        f"{format_quantity(limit)} is above the pod-level limit ({format_quantity(pod_limits[name])})",
                    )


def _requirements(pod_spec: Mapping[str, Any], path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for kind in ("containers", "initContainers"):
        for index, container in enumerate(_list(pod_spec.get(kind))):
            if isinstance(container, Mapping) and isinstance(container.get("resources"), Mapping):
                yield f"{path}.{kind}[{index}].resources", container["resources"]
    if isinstance(pod_spec.get("resources"), Mapping):
        yield f"{path}.resources", pod_spec["resources"]


# ---- the contract ----


def effective_requests(pod_spec: Mapping[str, Any]) -> dict[str, int]:
    """The pod's effective request as kube-scheduler counts it, for a template whose quantities may be numbers.

    Quantities that do not parse count as absent (see :func:`canonical_pod_spec` for the problems).
    """
    canonical, _ = canonical_pod_spec(pod_spec)
    return pod_requests(canonical)


def apply_reservation(
    pod_spec: Mapping[str, Any], reservation: Reservation, path: str = POD_SPEC_PATH
) -> tuple[dict[str, Any], list[Problem]]:
    """The pod spec that requests exactly ``reservation`` under the contract, and the problems if it cannot.

    Returns a new canonical pod spec (``pod_spec`` is not modified). When problems are returned the
    spec is not usable. Field paths of problems start with ``path``.
    """
    spec, problems = canonical_pod_spec(pod_spec, path)
    if problems:
        return spec, problems
    problems = container_rule_problems(spec, path)
    if problems:
        return spec, problems
    effective = pod_requests(spec)
    for resource, reserved in reservation.amounts.items():
        current = effective.get(resource, 0)
        if current == reserved:  # most of them: accelerators of other vendors reserved at 0 and absent
            continue
        problems.extend(
            _apply_one(spec, resource, reserved, current, reservation.sources.get(resource, resource), path)
        )
        effective = pod_requests(spec)  # only after a change: a request written may move another total
    if problems:
        return spec, problems
    _request_extended_limits(spec)
    effective = pod_requests(spec)
    for resource, reserved in reservation.amounts.items():
        if effective.get(resource, 0) != reserved:  # pragma: no cover - the rules above make them equal
            problems.append(
                Problem(path, f"would request {effective.get(resource, 0)} {resource}, not the {reserved} reserved")
            )
    return spec, problems


def _request_extended_limits(spec: dict[str, Any]) -> None:
    """Write an extended resource given only as a limit as a request too (what Kubernetes defaults it to)."""
    for kind in ("containers", "initContainers"):
        for container in _list(spec.get(kind)):
            resources = _mapping(container).get("resources")
            if not isinstance(resources, dict) or not isinstance(resources.get("limits"), dict):
                continue
            for name, limit in resources["limits"].items():
                if is_extended_resource(name) and name not in _mapping(resources.get("requests")):
                    resources.setdefault("requests", {})[name] = limit


def _apply_one(
    spec: dict[str, Any], resource: str, reserved: int, current: int, source: str, path: str
) -> Iterator[Problem]:
    """Make the pod request ``reserved`` of ``resource``; it requests ``current`` now (`pod_requests`)."""
    if current > reserved:
        yield _over(spec, resource, reserved, current, source, path)
        return
    if current == reserved:
        return
    pod_level = _mapping(spec.get("resources"))
    pod_limit = _amounts(pod_level.get("limits")).get(resource)
    if resource in _mapping(pod_level.get("requests")):
        yield Problem(
            f"{path}.resources.requests.{resource}",
            f"is {format_amount(resource, current)}, less than the {format_amount(resource, reserved)} "
            f"reserved for each replica by {source}: make them equal",
        )
        return
    if pod_limit is not None and _units(resource, pod_limit) < reserved:
        yield Problem(
            f"{path}.resources.limits.{resource}",
            f"is below the {format_amount(resource, reserved)} reserved for each replica by {source}",
        )
        return
    receiver = _first_without(spec, resource)
    if receiver is not None:
        requirements = receiver.setdefault("resources", {})
        requirements.setdefault("requests", {})[resource] = format_amount(resource, reserved)
        probe = pod_requests(spec).get(resource, 0)  # = reserved + what the others add beside it
        amount = format_amount(resource, 2 * reserved - probe)
        requirements["requests"][resource] = amount
        if is_extended_resource(resource):
            requirements.setdefault("limits", {})[resource] = amount
        return
    if resource in POD_LEVEL_REMAINDER:
        resources = spec.setdefault("resources", {})
        resources.setdefault("requests", {})[resource] = format_amount(resource, reserved)
        return
    yield Problem(
        f"{path}.containers",
        f"request {format_amount(resource, current)} {resource} in all, fewer than the "
        f"{format_amount(resource, reserved)} reserved for each replica by {source}, and every container "
        f"states its own: make them add up to {format_amount(resource, reserved)}, or leave one container "
        "without it to receive the rest",
    )


def _over(spec: dict[str, Any], resource: str, reserved: int, current: int, source: str, path: str) -> Problem:
    """The problem naming the first request that takes the pod above the reservation."""
    stated = list(_stated(spec, resource, path))
    culprit = path
    for count in range(1, len(stated) + 1):
        if pod_requests(_keeping(spec, resource, stated[:count])).get(resource, 0) > reserved:
            culprit = stated[count - 1][0]
            break
    if reserved == 0 and source == "spec.resources.accelerators":
        message = f"asks for {resource}, which spec.resources.accelerators does not reserve"
    else:
        message = (
            f"brings the pod's {resource} request to {format_amount(resource, current)}, more than the "
            f"{format_amount(resource, reserved)} reserved for each replica by {source} (requests written "
            "in the template are kept, never added to)"
        )
    return Problem(culprit, message)


def _stated(spec: Mapping[str, Any], resource: str, path: str) -> Iterator[tuple[str, tuple[str, int]]]:
    """Where the pod states ``resource``: (field path, (list key, index)), in the scheduler's order."""
    for kind in ("containers", "initContainers"):
        for index, container in enumerate(_list(spec.get(kind))):
            resources = _mapping(_mapping(container).get("resources"))
            for section in _SECTIONS:
                if resource in _mapping(resources.get(section)):
                    yield f"{path}.{kind}[{index}].resources.{section}.{resource}", (kind, index)
                    break
    pod_level = _mapping(spec.get("resources"))
    for section in _SECTIONS:
        if resource in _mapping(pod_level.get(section)):
            yield f"{path}.resources.{section}.{resource}", ("resources", -1)
            break
    if resource in _mapping(spec.get("overhead")):
        yield f"{path}.overhead.{resource}", ("overhead", -1)


def _keeping(spec: Mapping[str, Any], resource: str, kept: list[tuple[str, tuple[str, int]]]) -> dict[str, Any]:
    """A copy of ``spec`` where only the ``kept`` places still state ``resource``."""
    trimmed = copy.deepcopy(dict(spec))
    keep = {where for _, where in kept}
    for kind in ("containers", "initContainers"):
        for index, container in enumerate(_list(trimmed.get(kind))):
            if (kind, index) not in keep:
                _drop(_mapping(container).get("resources"), resource)
    if ("resources", -1) not in keep:
        _drop(trimmed.get("resources"), resource)
    if ("overhead", -1) not in keep and isinstance(trimmed.get("overhead"), dict):
        trimmed["overhead"].pop(resource, None)
    return trimmed


def _drop(resources: object, resource: str) -> None:
    if isinstance(resources, dict):
        for section in _SECTIONS:
            if isinstance(resources.get(section), dict):
                resources[section].pop(resource, None)


def _first_without(spec: Mapping[str, Any], resource: str) -> dict[str, Any] | None:
    """The first regular container stating neither a request nor a limit for ``resource``."""
    for container in _list(spec.get("containers")):
        if not isinstance(container, dict):
            continue
        resources = _mapping(container.get("resources"))
        if not any(resource in _mapping(resources.get(section)) for section in _SECTIONS):
            return container
    return None


def _units(resource: str, amount: Decimal) -> int:
    return pod_requests({"overhead": {resource: format_quantity(amount)}}).get(resource, 0)


def _amounts(raw: object) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for name, value in _mapping(raw).items():
        try:
            out[str(name)] = parse_quantity(value)
        except QuantityError:
            continue
    return out


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
