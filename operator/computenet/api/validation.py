"""What the CRD schema cannot check, checked by the operator and reported on the object.

The API server refuses most bad input at apply time. Some mistakes it cannot see: the workload
template is mostly opaque to the schema (its containers' resources, parallelism, node pinning), map
keys have no schema, and a CRD older or newer than the operator may let through what the models
refuse. The ``validate_*`` functions find those and return them as :class:`Problem` values; they never
raise, so a handler can always turn the result into a ``Valid=False`` condition and an event instead
of crash-looping.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from computenet.api.contract import contract_problems
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.api.pod_reservation import (
    ACCELERATOR_RESOURCE_NAMES,
    CPU,
    MEMORY,
    Reservation,
    apply_reservation,
    effective_requests,
)
from computenet.api.pool import ComputePoolSpec
from computenet.api.problems import Problem, summarize
from computenet.api.task import MAX_POD_SETS, ComputeTaskSpec, primary_role, raw_pod_spec
from computenet.placement.device_plugins import is_device_resource
from computenet.placement.pod_spec import node_constraint_problems
from computenet.workloads.kinds import WorkloadError, kind_of
from computenet.workloads.podsets import PodSet, pod_sets
from computenet.workloads.templates import role_templates

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
    return checked_task(spec)[1]


def checked_task(spec: Mapping[str, Any] | ComputeTaskSpec) -> tuple[ComputeTaskSpec | None, list[Problem]]:
    """The parsed spec and its problems (:func:`validate_task`'s): the spec is None when it does not parse.

    A spec with no problems is one :func:`~computenet.api.contract.resolve_resources` accepts, so the
    operator takes the parsed model in as it is, parsing and checking each spec once.
    """
    model, problems = _parse(ComputeTaskSpec, spec)
    if model is None:
        return None, problems + _unreadable_workload(spec)
    return model, (
        workload_problems(model)
        + contract_problems(model)
        + _node_constraint_problems(spec if isinstance(spec, Mapping) else model)
    )


def workload_problems(spec: ComputeTaskSpec) -> list[Problem]:
    """What a workload of another kind than a Job needs to run as the task's pods.

    Its pod sets (``computenet.workloads.podsets``) must read. A replicated kind's one pod set
    counts ``spec.replicas`` pods when its replicas are stated, and its pods restart Always, as
    apps/v1 requires (k8s.io/kubernetes v1.36.3 pkg/apis/apps/validation:
    ``ValidatePodTemplateSpecForReplicaSet``, ``...ForStatefulSet``). A kind of several roles is
    checked role by role (`role_problems`).
    """
    workload = spec.workload
    if workload is None:
        return []
    raw = workload.raw()
    try:
        sets = pod_sets(raw)
    except WorkloadError as e:
        return [_workload_error(e)]
    if kind_of(raw).by_role:
        return role_problems(spec, raw, sets)
    (pod_set,) = sets
    problems = []
    if workload.spec.get("replicas") is not None and pod_set.count != spec.replicas:
        problems.append(
            Problem(
                "spec.workload.spec.replicas",
                f"must equal spec.replicas ({spec.replicas}): leave it out, the operator sets it",
            )
        )
    pod = pod_set.template.get("spec")
    if not isinstance(pod, Mapping) or not pod.get("containers"):
        problems.append(Problem("spec.workload.spec.template.spec.containers", "at least one container is required"))
    elif pod.get("restartPolicy", "Always") != "Always":
        problems.append(
            Problem("spec.workload.spec.template.spec.restartPolicy", f"must be Always for a {workload.kind}")
        )
    if isinstance(pod, Mapping) and pod.get("nodeName"):
        problems.append(
            Problem(
                "spec.workload.spec.template.spec.nodeName",
                "pins the pod to a node before a cluster is chosen: use spec.constraints instead",
            )
        )
    return problems


def _unreadable_workload(spec: Mapping[str, Any] | ComputeTaskSpec) -> list[Problem]:
    """Why a workload's pod sets do not read, when that kept the spec from parsing (its resources not derived)."""
    workload = spec.get("workload") if isinstance(spec, Mapping) else None
    if not isinstance(workload, Mapping):
        return []
    try:
        kind_of(workload)
    except WorkloadError:
        return []  # the model names the kind
    try:
        pod_sets(workload)
    except WorkloadError as e:
        return [_workload_error(e)]
    return []


def _workload_error(e: WorkloadError) -> Problem:
    """A pod-set rule's error ("spec.replicatedJobs[0].name: is required") on its field of the task."""
    path, sep, message = str(e).partition(": ")
    if sep and path.startswith("spec"):
        return Problem(f"spec.workload.{path}", message)
    return Problem("spec.workload", str(e))


RUN_ONCE = ("Never", "OnFailure")
"""The restart policies a Job's pods may have (batch/v1 validation, k8s.io/kubernetes v1.36.3
pkg/apis/batch/validation ``validateJobSpec``): a JobSet's Jobs and a RayJob's submitter Job."""


def role_problems(spec: ComputeTaskSpec, raw: Mapping[str, Any], sets: Sequence[PodSet]) -> list[Problem]:
    """A kind of several roles, role by role, each problem on the role's own field.

    Each role's template needs a container, may not name a node, must carry its own request under
    the contract (``api.pod_reservation.apply_reservation``), may ask for whole devices of one vendor's
    resource only (placement counts no slices per role yet), and its node constraints must parse; a
    Job's pods run once (``RUN_ONCE``), a LeaderWorkerSet's restart Always (they are a
    StatefulSet's). ``spec.replicas`` stays 1: the pods are counted from the workload's spec.
    """
    problems = []
    kind = kind_of(raw)
    if len(sets) > MAX_POD_SETS:
        problems.append(Problem("spec.workload.spec", f"has {len(sets)} roles; at most {MAX_POD_SETS} are supported"))
    if not any(s.count for s in sets):
        problems.append(Problem("spec.workload.spec", f"makes no pods: a {kind.kind} needs at least one"))
    if spec.replicas != 1:
        counted = ", ".join(f"{s.count} {s.role}" for s in sets)
        problems.append(
            Problem("spec.replicas", f"leave it out: a {kind.kind}'s pods are counted from its spec ({counted})")
        )
    for role in role_templates(kind, copy.deepcopy(dict(raw)), copy.deepcopy(dict(raw["spec"]))):
        pod = role.template.get("spec")
        where = f"{role.path}.spec"
        if not isinstance(pod, Mapping) or not pod.get("containers"):
            problems.append(Problem(f"{where}.containers", "at least one container is required"))
            continue
        policy = pod.get("restartPolicy")
        if role.run_once and policy is not None and policy not in RUN_ONCE:
            problems.append(Problem(f"{where}.restartPolicy", "must be Never or OnFailure for a Job's pods"))
        if kind.kind == "LeaderWorkerSet" and policy not in (None, "Always"):
            problems.append(Problem(f"{where}.restartPolicy", "must be Always for a LeaderWorkerSet"))
        if pod.get("nodeName"):
            problems.append(
                Problem(f"{where}.nodeName", "pins the pod to a node before a cluster is chosen: use spec.constraints")
            )
        wants = effective_requests(pod)
        devices = [name for name in sorted(ACCELERATOR_RESOURCE_NAMES) if wants.get(name, 0) > 0]
        sliced = sorted(n for n, v in wants.items() if v > 0 and is_device_resource(n) and n not in devices)
        if sliced:
            problems.append(
                Problem(
                    f"{where}.containers",
                    f"requests {', '.join(sliced)}: a role's pods are placed on whole devices "
                    f"({', '.join(sorted(ACCELERATOR_RESOURCE_NAMES))}), not on slices or shared devices yet",
                )
            )
        if len(devices) > 1:
            problems.append(Problem(f"{where}.containers", f"requests {' and '.join(devices)}: one kind of device"))
        resource = devices[0] if devices else None
        own = Reservation.of(
            wants.get(CPU, 0), wants.get(MEMORY, 0), resource, wants.get(resource, 0) if resource else 0
        )
        problems.extend(apply_reservation(pod, own, where)[1])
        for line in node_constraint_problems(pod):
            path, _, message = line.partition(": ")
            problems.append(Problem(f"{where}.{path}", message))
    return problems


TEMPLATE_POD_SPEC = "spec.template.spec.template.spec"
"""Where a Job workload's pod spec sits in a ComputeTask."""
WORKLOAD_POD_SPEC = "spec.workload.spec.template.spec"
"""Where the pod spec of a workload of another kind sits in a ComputeTask."""


def _node_constraint_problems(spec: Mapping[str, Any] | ComputeTaskSpec) -> list[Problem]:
    """The pod template's nodeSelector and node affinity problems, as placement reads them.

    Each `node_constraint_problems` line "path: message" (path relative to the pod spec) becomes a
    Problem on `spec.template.spec.template.spec.<path>`.
    """
    if isinstance(spec, ComputeTaskSpec):
        if spec.workload is not None and primary_role(spec.workload.raw()) is not None:
            return []  # role by role, in role_problems
        pod_spec: Any = spec.pod_spec()
        where = spec.pod_spec_path
    else:
        if spec.get("template") is None and primary_role(spec.get("workload")) is not None:
            return []
        pod_spec = raw_pod_spec(spec) or {}
        where = TEMPLATE_POD_SPEC if spec.get("template") is not None else WORKLOAD_POD_SPEC
    problems = []
    for line in node_constraint_problems(pod_spec):
        path, _, message = line.partition(": ")
        problems.append(Problem(f"{where}.{path}", message))
    return problems


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
