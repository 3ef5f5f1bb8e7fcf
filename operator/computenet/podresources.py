"""What a pod asks of a node, counted exactly as kube-scheduler counts it (Kubernetes v1.36.3).

Three upstream rules of Kubernetes v1.36.3, applied in the order the API server and the scheduler
apply them:

1. Defaulting (``pkg/apis/core/v1/defaults.go``, ``SetDefaults_Pod``): in every container and init
   container, each resource named in ``limits`` but not in ``requests`` is requested at its limit.
   Then, because the ``PodLevelResources`` feature gate is on by default in v1.36 (beta since
   1.34, ``pkg/features/kube_features.go``), ``defaultPodRequests``: when ``spec.resources.limits``
   is set, a missing pod-level cpu/memory request defaults to the containers' effective request,
   and any other missing supported request (cpu, memory, ``hugepages-*``) to the pod-level limit.
   ``defaultHugePagePodLimits`` is not ported: it only copies the containers' aggregated hugepage
   limits to the pod, whose requests then equal what the containers already request.
2. ``PodRequests`` of ``k8s.io/component-helpers/resource/helpers.go`` (v0.36.3): regular
   containers are summed; an init container is a running maximum, each one counted together with
   the restartable (``restartPolicy: Always``, sidecar) init containers started before it; a
   sidecar's requests also add to the regular containers' sum (KEP-753). Pod-level
   ``spec.resources.requests`` for cpu, memory and ``hugepages-*`` replace the containers' figure
   for those resources. ``spec.overhead`` is added last.
3. The options kube-scheduler passes for pods already on a node
   (``pkg/scheduler/framework/types.go``, ``PodInfo.CalculateResource``): ``UseStatusResources``
   (``InPlacePodVerticalScaling``, GA and locked on since 1.35) and
   ``InPlacePodLevelResourcesVerticalScalingEnabled`` (beta, on by default in 1.36). A container
   whose status reports ``resources`` then counts ``max(spec, status.resources.requests,
   allocatedResources)`` per resource, or only ``max(actuated, allocated)`` while the pod's
   ``PodResizePending`` condition says ``Infeasible``; non-restartable init containers always
   count their spec; pod-level requests follow the same rule with ``status.resources`` and
   ``status.allocatedResources``. For a pod not yet bound the scheduler
   (``noderesources/fit.go``, ``computePodResourceRequest``) reads the spec only: pass no status.
   ``DRANodeAllocatableResources`` is alpha and off in 1.36, so node-allocatable resource claims
   are not counted.

Amounts are summed exactly (as :class:`decimal.Decimal`) and converted once at the end, like the
scheduler's ``Resource.Add`` which takes ``MilliValue``/``Value`` of the summed list: cpu in
millicores (:func:`computenet.quantity.cpu_millis`), everything else in integer base units
(:func:`computenet.quantity.to_int_units`), both rounded up. A resource given explicitly as zero
stays in the result as 0.

Nothing here raises on malformed input. A quantity that does not parse, or is negative (which the
API server rejects), is skipped as if absent, except that a request key that is present still stops
its limit from being copied into it; a total beyond the range of ``computenet.quantity`` (10^24
base units) is dropped; containers, lists and maps of the wrong type count as empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Context, Decimal
from typing import Any

from computenet.quantity import QuantityError, cpu_millis, parse_quantity, to_int_units

__all__ = ["container_requests", "is_restartable", "pod_requests"]

CPU = "cpu"
MEMORY = "memory"
HUGEPAGES_PREFIX = "hugepages-"
POD_LEVEL_RESOURCES = frozenset({CPU, MEMORY})
"""Resources a pod may set in ``spec.resources`` besides ``hugepages-*`` (helpers.go, v0.36.3)."""

RESIZE_PENDING = "PodResizePending"
INFEASIBLE = "Infeasible"

Amounts = dict[str, Decimal]

_EXACT = Context(prec=80)
_ZERO = Decimal(0)


# ---- public interface ----


def pod_requests(pod_spec: Mapping[str, Any], pod_status: Mapping[str, Any] | None = None) -> dict[str, int]:
    """The requests kube-scheduler charges a node for this pod: ``{"cpu": millicores, name: units}``.

    ``pod_spec`` is a pod's ``spec`` (or a pod template's, not yet defaulted: rule 1 above is
    applied here). ``pod_status`` is the pod's ``status`` for a pod already bound to a node, so that
    in-place resizes count as the scheduler counts them; None for a pod still to be placed.
    The result never contains ``pods``; callers add the pod slot themselves.
    """
    spec = _mapping(pod_spec)
    status = _mapping(pod_status) if pod_status is not None else None
    containers = [_mapping(c) for c in _sequence(spec.get("containers"))]
    init_containers = [_mapping(c) for c in _sequence(spec.get("initContainers"))]
    statuses = _statuses_by_name(status) if status is not None else {}
    infeasible = status is not None and _resize_infeasible(status)

    def effective(container: Mapping[str, Any]) -> Amounts:
        requests = _defaulted_requests(container)
        container_status = statuses.get(container.get("name"))
        reported = _mapping(container_status).get("resources") if container_status is not None else None
        if not isinstance(reported, Mapping):
            return requests
        actuated = _amounts(reported.get("requests"))
        allocated = _amounts(_mapping(container_status).get("allocatedResources"))
        return _effective_requests(requests, actuated, allocated, infeasible)

    restartable = [is_restartable(c) for c in init_containers]
    spec_init = [_defaulted_requests(c) for c in init_containers]
    spec_total = _aggregate([_defaulted_requests(c) for c in containers], spec_init, restartable)
    if statuses:
        regular = [effective(c) for c in containers]
        init = [
            effective(c) if always else amounts
            for c, amounts, always in zip(init_containers, spec_init, restartable, strict=True)
        ]
        total = _aggregate(regular, init, restartable)
    else:
        total = dict(spec_total)

    # Defaulting happened when the pod was created, from its spec alone.
    pod_level = _pod_level_requests(spec, spec_total)
    if pod_level is not None:
        resources = status.get("resources") if status is not None else None
        if isinstance(resources, Mapping):
            pod_level = _effective_requests(
                pod_level,
                _amounts(resources.get("requests")),
                _amounts(status.get("allocatedResources") if status is not None else None),
                infeasible,
                keep=pod_level.keys(),
            )
        total.update(pod_level)

    _add(total, _amounts(spec.get("overhead")))
    return _to_units(total)


def container_requests(container: Mapping[str, Any]) -> dict[str, int]:
    """One container's requests after defaulting (a limit without a request is requested), in units."""
    return _to_units(_defaulted_requests(_mapping(container)))


def is_restartable(container: Mapping[str, Any]) -> bool:
    """Whether an init container is a sidecar: ``restartPolicy: Always`` (KEP-753)."""
    return _mapping(container).get("restartPolicy") == "Always"


# ---- the upstream rules ----


def _defaulted_requests(container: Mapping[str, Any]) -> Amounts:
    """``SetDefaults_Pod``: requests, plus every limit whose resource has no request key."""
    resources = _mapping(container.get("resources"))
    raw_requests = _mapping(resources.get("requests"))
    requests = _amounts(raw_requests)
    for name, amount in _amounts(resources.get("limits")).items():
        if name not in raw_requests:
            requests[name] = amount
    return requests


def _aggregate(regular: Iterable[Amounts], init: Sequence[Amounts], restartable: Sequence[bool]) -> Amounts:
    """``AggregateContainerRequests``: sum of containers and sidecars, at least every init step."""
    total: Amounts = {}
    for amounts in regular:
        _add(total, amounts)
    sidecars: Amounts = {}
    init_peak: Amounts = {}
    for amounts, always in zip(init, restartable, strict=True):
        if always:
            _add(total, amounts)
            _add(sidecars, amounts)
            step = sidecars
        else:
            step = dict(amounts)
            _add(step, sidecars)
        _max(init_peak, step)
    _max(total, init_peak)
    return total


def _pod_level_requests(spec: Mapping[str, Any], containers: Amounts) -> Amounts | None:
    """Pod-level requests after ``defaultPodRequests``, or None if none is set (``IsPodLevelRequestsSet``)."""
    resources = _mapping(spec.get("resources"))
    raw_requests = _mapping(resources.get("requests"))
    raw_limits = _mapping(resources.get("limits"))
    requests = _amounts(raw_requests)
    keys = set(raw_requests)
    if raw_limits:
        for name, amount in containers.items():
            if name not in keys and name in POD_LEVEL_RESOURCES:
                requests[name] = amount
                keys.add(name)
        for name, amount in _amounts(raw_limits).items():
            if name not in keys and _pod_level_resource(name):
                requests[name] = amount
                keys.add(name)
    if not any(_pod_level_resource(name) for name in keys):
        return None
    return {name: amount for name, amount in requests.items() if _pod_level_resource(name)}


def _effective_requests(
    spec: Amounts, actuated: Amounts, allocated: Amounts, infeasible: bool, keep: Iterable[str] | None = None
) -> Amounts:
    """``determineEffectiveRequests``: max of spec, actuated and allocated; spec ignored if infeasible.

    With ``keep`` (pod level), only those resources are returned, each defaulting to zero, as
    ``PodRequests`` indexes the effective list by the spec's resource names.
    """
    result: Amounts = {} if infeasible else dict(spec)
    _max(result, actuated)
    _max(result, allocated)
    if keep is None:
        return result
    return {name: result.get(name, _ZERO) for name in keep}


def _pod_level_resource(name: str) -> bool:
    """``IsSupportedPodLevelResource``: cpu, memory and hugepages of any page size."""
    return name in POD_LEVEL_RESOURCES or name.startswith(HUGEPAGES_PREFIX)


def _resize_infeasible(status: Mapping[str, Any]) -> bool:
    """``IsPodResizeInfeasible``: the first PodResizePending condition has reason Infeasible."""
    for item in _sequence(status.get("conditions")):
        condition = _mapping(item)
        if condition.get("type") == RESIZE_PENDING:
            return condition.get("reason") == INFEASIBLE
    return False


def _statuses_by_name(status: Mapping[str, Any]) -> dict[Any, Mapping[str, Any]]:
    """Container statuses by name, init containers' last (as ``AggregateContainerRequests`` indexes them)."""
    found: dict[Any, Mapping[str, Any]] = {}
    for key in ("containerStatuses", "initContainerStatuses"):
        for item in _sequence(status.get(key)):
            container_status = _mapping(item)
            if isinstance(container_status.get("name"), str):
                found[container_status["name"]] = container_status
    return found


# ---- arithmetic on resource lists ----


def _amounts(raw: object) -> Amounts:
    """A ResourceList as exact amounts; malformed or negative quantities are left out."""
    out: Amounts = {}
    for name, value in _mapping(raw).items():
        if not isinstance(name, str):
            continue
        try:
            amount = parse_quantity(value)
        except (QuantityError, TypeError, ValueError):
            continue
        if amount >= 0:
            out[name] = amount
    return out


def _add(into: Amounts, amounts: Mapping[str, Decimal]) -> None:
    for name, amount in amounts.items():
        into[name] = _EXACT.add(into.get(name, _ZERO), amount)


def _max(into: Amounts, amounts: Mapping[str, Decimal]) -> None:
    for name, amount in amounts.items():
        if name not in into or amount > into[name]:
            into[name] = amount


def _to_units(amounts: Mapping[str, Decimal]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, amount in amounts.items():
        try:
            out[name] = cpu_millis(amount) if name == CPU else to_int_units(amount)
        except QuantityError:
            continue
    return out


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: object) -> Sequence[Any]:
    return value if isinstance(value, list | tuple) else ()
