"""The remote Job for a task: its template, plus exactly what placement decided.

The user's template passes through untouched except for what the operator owns: the origin
labels (on the Job and its pods), the per-replica reservation under the resource contract
(:mod:`computenet.api.reservation`: requests written in the template are kept, the rest goes to the
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
from dataclasses import dataclass
from typing import Any

from computenet.api.constants import ATTEMPT_LABEL, ORIGIN_ANNOTATION, TASK_UID_LABEL
from computenet.api.problems import ContractError
from computenet.api.reservation import Reservation, apply_reservation
from computenet.dispatch.naming import job_name, origin_labels
from computenet.placement.accelerators import AMD_PRODUCT_LABEL, NVIDIA_PRODUCT_LABEL
from computenet.quantity import cpu_millis, to_int_units
from computenet.workloads.kinds import JOB, Kind, kind_of

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

    Its one pod set is rendered as a Job's pods are (origin labels, reservation, pinning); a
    replicated kind runs ``replicas`` pods, and its selector, when left out, selects the attempt's
    pods by their origin labels. Raises ``ContractError`` or ``WorkloadError``.
    """
    kind = kind_of(workload)
    spec: dict[str, Any] = copy.deepcopy(dict(workload.get("spec") or {}))
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
            "name": job_name(task.name, task.uid, attempt, kind.name_max),
            "namespace": target.namespace,
            "labels": {**(meta.get("labels") or {}), **labels},
            "annotations": {
                **(meta.get("annotations") or {}),
                ORIGIN_ANNOTATION: f"{task.namespace}/{task.name}",
            },
        },
        "spec": spec,
    }


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
