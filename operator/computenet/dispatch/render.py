"""The remote Job for a task: its template, plus exactly what placement decided.

The user's template passes through untouched except for what the operator owns: the origin
labels (on the Job and its pods), the per-replica reservation under the resource contract
(:mod:`computenet.api.pod_reservation`: requests written in the template are kept, the rest goes to the
first container without one, or to the pod-level request for cpu and memory, so the pod's effective
request equals what placement reserved), every resource quantity as a canonical string (the
Kubernetes client models refuse numbers), the gang as parallelism and completions (Indexed, so each
replica knows its rank), and node selection that pins the pods to the partition, the accelerator
model and the very nodes placement chose (required node affinity on `metadata.name`), so the member's
own scheduler lands them where placement counted on: left free to choose, it spreads the pods of a
burst by its own scores and can break up the free devices a gang of the same burst was counted on.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from computenet.api.constants import ATTEMPT_LABEL, ORIGIN_ANNOTATION, ROLE_LABEL, TASK_UID_LABEL
from computenet.api.pod_reservation import (
    ACCELERATOR_RESOURCE_NAMES,
    Reservation,
    apply_reservation,
    effective_requests,
)
from computenet.api.problems import ContractError
from computenet.dispatch.naming import job_name, label_value, origin_labels
from computenet.placement.accelerators import AMD_PRODUCT_LABEL, NVIDIA_PRODUCT_LABEL
from computenet.quantity import cpu_millis, to_int_units
from computenet.workloads.kinds import JOB, Kind, kind_of
from computenet.workloads.templates import RoleTemplate, role_templates

PRODUCT_LABEL = {"nvidia.com/gpu": NVIDIA_PRODUCT_LABEL, "amd.com/gpu": AMD_PRODUCT_LABEL}


@dataclass(frozen=True)
class Target:
    """Where placement sent a task: the identifier, its member namespace and node constraints."""

    identifier: str
    namespace: str
    match_labels: Mapping[str, str]
    match_expressions: Sequence[tuple[str, str, Sequence[str]]]
    accelerator_resource: str | None
    accelerator_model: str | None
    nodes: Sequence[str] = ()
    """The nodes placement counted the replicas on; the pods may land on these only (empty: any)."""
    role_nodes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Per role of a workload of several pod sets, the nodes placement counted its pods on (see `nodes`)."""


@dataclass(frozen=True)
class TaskRef:
    namespace: str
    name: str
    uid: str


def render_job(
    task: TaskRef,
    template: Mapping[str, Any],
    replicas: int,
    requests: Mapping[str, str],
    accelerators: int,
    target: Target,
    attempt: int,
    hub: str,
) -> dict[str, Any]:
    """The batch/v1 Job manifest (a new dict; `template` is not modified).

    ``requests`` holds the per-replica ``cpu`` and ``memory`` quantities, ``accelerators`` the
    devices of ``target.accelerator_resource``. Raises :class:`~computenet.api.problems.ContractError`
    if the template cannot carry that reservation (admission refuses such a task first; a target
    whose accelerator resource differs from the template's can still meet it here).
    """
    tpl = copy.deepcopy(dict(template))
    spec: dict[str, Any] = tpl.get("spec") or {}
    spec.setdefault("parallelism", replicas)
    spec.setdefault("completions", replicas)
    if replicas > 1:
        spec.setdefault("completionMode", "Indexed")
    return _render(JOB, task, tpl.get("metadata") or {}, spec, requests, accelerators, target, attempt, hub)


def render_workload(
    workload: Mapping[str, Any],
    task: TaskRef,
    replicas: int,
    requests: Mapping[str, str],
    accelerators: int,
    target: Target,
    attempt: int,
    hub: str,
) -> dict[str, Any]:
    """The manifest of a workload of another kind (``{apiVersion, kind, metadata, spec}``, not modified).

    A replicated kind's one pod set is rendered as a Job's pods are (origin labels, reservation,
    pinning): it runs ``replicas`` pods, and its selector, when left out, selects the attempt's pods
    by their origin labels. A kind placed role by role (``Kind.by_role``) is rendered role by role
    (see `_render_roles`); ``replicas``, ``requests`` and ``accelerators`` do not apply to it.
    Raises ``ContractError`` or ``WorkloadError``.
    """
    kind = kind_of(workload)
    spec: dict[str, Any] = copy.deepcopy(dict(workload.get("spec") or {}))
    if kind.by_role:
        return _render_roles(kind, workload, task, spec, target, attempt, hub)
    if kind.kind in ("Deployment", "StatefulSet"):
        spec["replicas"] = replicas
        if not spec.get("selector"):
            labels = origin_labels(hub, task.namespace, task.name, task.uid, attempt, target.identifier)
            spec["selector"] = {"matchLabels": {k: labels[k] for k in (TASK_UID_LABEL, ATTEMPT_LABEL)}}
    return _render(kind, task, workload.get("metadata") or {}, spec, requests, accelerators, target, attempt, hub)


def _render(
    kind: Kind,
    task: TaskRef,
    meta: Mapping[str, Any],
    spec: dict[str, Any],
    requests: Mapping[str, str],
    accelerators: int,
    target: Target,
    attempt: int,
    hub: str,
) -> dict[str, Any]:
    labels = origin_labels(hub, task.namespace, task.name, task.uid, attempt, target.identifier)
    pod = spec.setdefault("template", {})
    pod_meta = pod.setdefault("metadata", {})
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), **labels}
    reservation = Reservation.of(
        cpu_millis(requests["cpu"]), to_int_units(requests["memory"]), target.accelerator_resource, accelerators
    )
    pod_spec, problems = apply_reservation(pod.get("spec") or {}, reservation)
    if problems:
        raise ContractError(problems)
    pod["spec"] = pod_spec
    if not kind.serving:
        pod_spec.setdefault("restartPolicy", "Never")
    _pin_nodes(pod_spec, target)

    return {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "metadata": {
            "name": job_name(task.name, task.uid, attempt, kind.name_max, kind.letter_first),
            "namespace": target.namespace,
            "labels": {**(meta.get("labels") or {}), **labels},
            "annotations": {
                **(meta.get("annotations") or {}),
                ORIGIN_ANNOTATION: f"{task.namespace}/{task.name}",
            },
        },
        "spec": spec,
    }


def _render_roles(
    kind: Kind,
    workload: Mapping[str, Any],
    task: TaskRef,
    spec: dict[str, Any],
    target: Target,
    attempt: int,
    hub: str,
) -> dict[str, Any]:
    """Every role's pod template stamped: origin labels, its own request made canonical, its nodes.

    Placement counted each role at its template's effective request, so the reservation written is
    that request (what is dispatched is what was placed); each role's pods are held to the nodes
    placed for that role (``target.role_nodes``), to the partition, and, for a role with devices, to
    the accelerator model.
    """
    labels = origin_labels(hub, task.namespace, task.name, task.uid, attempt, target.identifier)
    problems = []
    roles = role_templates(kind, dict(workload), spec)
    for role in roles:
        problems.extend(_stamp(role, labels, target))
    if problems:
        raise ContractError(problems)
    if kind.kind == "Pod":  # the object is its own template: its spec is the one stamped
        spec = roles[0].template["spec"]
    meta = workload.get("metadata") or {}
    return {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "metadata": {
            "name": job_name(task.name, task.uid, attempt, kind.name_max, kind.letter_first),
            "namespace": target.namespace,
            "labels": {**(meta.get("labels") or {}), **labels},
            "annotations": {**(meta.get("annotations") or {}), ORIGIN_ANNOTATION: f"{task.namespace}/{task.name}"},
        },
        "spec": spec,
    }


def _stamp(role: RoleTemplate, labels: Mapping[str, str], target: Target) -> list[Any]:
    """Write the origin labels, the canonical request and the node pinning into one role's template."""
    pod = role.template
    pod_meta = pod.setdefault("metadata", {})
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), **labels, ROLE_LABEL: label_value(role.role)}
    raw = pod.get("spec") or {}
    effective = effective_requests(raw)
    devices = [name for name in sorted(ACCELERATOR_RESOURCE_NAMES) if effective.get(name, 0) > 0]
    resource = devices[0] if devices else None
    reservation = Reservation.of(
        effective.get("cpu", 0), effective.get("memory", 0), resource, effective.get(resource, 0) if resource else 0
    )
    pod_spec, problems = apply_reservation(raw, reservation, f"{role.path}.spec")
    if problems:
        return list(problems)
    pod["spec"] = pod_spec
    if role.run_once:
        pod_spec.setdefault("restartPolicy", "Never")
    nodes = tuple(target.role_nodes.get(role.role, ()))
    model = target.accelerator_model if resource is not None and resource == target.accelerator_resource else None
    _pin_nodes(pod_spec, Target(target.identifier, target.namespace, target.match_labels, target.match_expressions,
                                target.accelerator_resource, model, nodes))  # fmt: skip
    return []


def _pin_nodes(pod_spec: dict[str, Any], target: Target) -> None:
    selector = dict(pod_spec.get("nodeSelector") or {})
    selector.update(target.match_labels)
    if target.accelerator_resource and target.accelerator_model:
        label = PRODUCT_LABEL.get(target.accelerator_resource)
        if label:
            selector[label] = target.accelerator_model
    if selector:
        pod_spec["nodeSelector"] = selector
    if not target.match_expressions and not target.nodes:
        return
    wanted = [{"key": k, "operator": op, **({"values": list(v)} if v else {})} for k, op, v in target.match_expressions]
    node_affinity = pod_spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    required = node_affinity.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    terms = required.get("nodeSelectorTerms") or [{}]
    for term in terms:  # terms are ORed: the partition must hold in each of them
        if wanted:
            term["matchExpressions"] = [*(term.get("matchExpressions") or []), *wanted]
    if target.nodes:
        # A node field selector takes one value per requirement (core/v1 validation, v1.36.3), so
        # "one of these nodes" is one term per node, each ANDed with every term of the template.
        terms = [
            {**term, "matchFields": [*(term.get("matchFields") or []), _node_field(node)]}
            for term in terms
            for node in target.nodes
        ]
    required["nodeSelectorTerms"] = terms


def _node_field(node: str) -> dict[str, Any]:
    return {"key": "metadata.name", "operator": "In", "values": [node]}
