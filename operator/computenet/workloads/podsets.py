"""The pod sets of a workload: each role's pod template and how many pods of it the kind makes.

The rules are the ones the kinds' own controllers follow, as Kueue's integrations encode them
(kubernetes-sigs/kueue at ff69552e79, ``pkg/controller/jobs/<kind>/``), since a federation must
reserve exactly what the member's controllers will create:

* ``batch/v1`` Job: one pod set, ``min(parallelism, completions)`` pods (parallelism defaults to 1,
  completions to parallelism; ``job/job_controller.go`` ``podsCount``).
* ``jobset.x-k8s.io/v1alpha2`` JobSet: one pod set per replicatedJob, ``replicas x
  min(parallelism, completions)`` of its Job template (``jobset/jobset_controller.go``
  ``PodsCountPerReplica``).
* ``leaderworkerset.x-k8s.io/v1`` LeaderWorkerSet: per group one leader and ``size - 1`` workers
  when a leader template is given, else ``size`` pods of the worker template; ``replicas`` groups
  (``leaderworkerset/leaderworkerset_reconciler.go`` ``podSets``; size defaults to 1, replicas to 1).
* ``ray.io/v1`` RayCluster: the head (1 pod) and each worker group, ``replicas x numOfHosts``
  (``raycluster/common.go`` ``BuildPodSets``, ``effectiveWorkerCount``; replicas default to 1).
  RayJob: its cluster's pod sets, plus the submitter pod in ``K8sJobMode`` (KubeRay's default
  submission mode), whose template is ``submitterPodTemplate`` or KubeRay's default (the head's
  image, requests 500m cpu and 200Mi memory; ``rayjob/rayjob_controller.go``).
* ``apps/v1`` Deployment and StatefulSet: one pod set of ``replicas`` pods (default 1).
* ``v1`` Pod: one pod set of one pod, the pod's own spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from computenet.workloads.kinds import KINDS, WorkloadError, kind_of


@dataclass(frozen=True)
class PodSet:
    """One role of a workload: ``template`` is a pod template (``{metadata, spec}``), ``count`` >= 0."""

    role: str
    template: Mapping[str, Any]
    count: int


def _int(value: Any, default: int, where: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WorkloadError(f"{where}: {value!r} is not a count (a whole number, 0 or more)")
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WorkloadError(f"{where}: must be an object")
    return value


def _job_pods(job_spec: Mapping[str, Any], where: str) -> int:
    parallelism = _int(job_spec.get("parallelism"), 1, f"{where}.parallelism")
    completions = _int(job_spec.get("completions"), parallelism, f"{where}.completions")
    return min(parallelism, completions)


def _job(spec: Mapping[str, Any]) -> tuple[PodSet, ...]:
    return (PodSet("main", _mapping(spec.get("template"), "spec.template"), _job_pods(spec, "spec")),)


def _jobset(spec: Mapping[str, Any]) -> tuple[PodSet, ...]:
    jobs = spec.get("replicatedJobs")
    if not isinstance(jobs, list) or not jobs:
        raise WorkloadError("spec.replicatedJobs: a JobSet needs at least one replicated Job")
    out = []
    for i, rj in enumerate(jobs):
        where = f"spec.replicatedJobs[{i}]"
        rj = _mapping(rj, where)
        name = rj.get("name")
        if not isinstance(name, str) or not name:
            raise WorkloadError(f"{where}.name: is required")
        job_spec = _mapping(_mapping(rj.get("template"), f"{where}.template").get("spec"), f"{where}.template.spec")
        replicas = _int(rj.get("replicas"), 1, f"{where}.replicas")
        pods = _job_pods(job_spec, f"{where}.template.spec")
        out.append(PodSet(name, _mapping(job_spec.get("template"), f"{where}.template.spec.template"), replicas * pods))
    return tuple(out)


def _leaderworkerset(spec: Mapping[str, Any]) -> tuple[PodSet, ...]:
    lwt = _mapping(spec.get("leaderWorkerTemplate"), "spec.leaderWorkerTemplate")
    groups = _int(spec.get("replicas"), 1, "spec.replicas")
    size = _int(lwt.get("size"), 1, "spec.leaderWorkerTemplate.size")
    if size < 1:
        raise WorkloadError("spec.leaderWorkerTemplate.size: must be 1 or more")
    worker = _mapping(lwt.get("workerTemplate"), "spec.leaderWorkerTemplate.workerTemplate")
    leader = lwt.get("leaderTemplate")
    if leader is None:
        return (PodSet("main", worker, groups * size),)
    leader = _mapping(leader, "spec.leaderWorkerTemplate.leaderTemplate")
    return (PodSet("leader", leader, groups), PodSet("worker", worker, groups * (size - 1)))


def _ray_cluster(spec: Mapping[str, Any], where: str) -> list[PodSet]:
    head = _mapping(
        _mapping(spec.get("headGroupSpec"), f"{where}.headGroupSpec").get("template"), f"{where}.headGroupSpec.template"
    )
    out = [PodSet("head", head, 1)]
    for i, group in enumerate(spec.get("workerGroupSpecs") or ()):
        at = f"{where}.workerGroupSpecs[{i}]"
        group = _mapping(group, at)
        name = group.get("groupName")
        if not isinstance(name, str) or not name:
            raise WorkloadError(f"{at}.groupName: is required")
        replicas = _int(group.get("replicas"), 1, f"{at}.replicas")
        hosts = _int(group.get("numOfHosts"), 1, f"{at}.numOfHosts")
        out.append(PodSet(name, _mapping(group.get("template"), f"{at}.template"), replicas * max(hosts, 1)))
    return out


SUBMITTER_REQUESTS = {"cpu": "500m", "memory": "200Mi"}
SUBMITTER_LIMITS = {"cpu": "1", "memory": "1Gi"}
"""KubeRay's default submitter resources (kueue ``rayjob_controller.go`` ``defaultSubmitterResources``)."""


def _rayjob(spec: Mapping[str, Any]) -> tuple[PodSet, ...]:
    cluster = _mapping(spec.get("rayClusterSpec"), "spec.rayClusterSpec")
    sets = _ray_cluster(cluster, "spec.rayClusterSpec")
    mode = spec.get("submissionMode") or "K8sJobMode"
    if mode == "K8sJobMode":
        template = spec.get("submitterPodTemplate")
        if template is None:
            head_containers = (sets[0].template.get("spec") or {}).get("containers") or [{}]
            template = {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "ray-job-submitter",
                            "image": head_containers[0].get("image", ""),
                            "resources": {"requests": dict(SUBMITTER_REQUESTS), "limits": dict(SUBMITTER_LIMITS)},
                        }
                    ],
                }
            }
        sets.append(PodSet("submitter", _mapping(template, "spec.submitterPodTemplate"), 1))
    return tuple(sets)


def _raycluster(spec: Mapping[str, Any]) -> tuple[PodSet, ...]:
    return tuple(_ray_cluster(spec, "spec"))


def _replicated(spec: Mapping[str, Any]) -> tuple[PodSet, ...]:
    return (
        PodSet("main", _mapping(spec.get("template"), "spec.template"), _int(spec.get("replicas"), 1, "spec.replicas")),
    )


def _pod(spec: Mapping[str, Any]) -> tuple[PodSet, ...]:
    return (PodSet("main", {"spec": dict(spec)}, 1),)


_RULES = {
    "Job": _job,
    "JobSet": _jobset,
    "LeaderWorkerSet": _leaderworkerset,
    "RayJob": _rayjob,
    "RayCluster": _raycluster,
    "Deployment": _replicated,
    "StatefulSet": _replicated,
    "Pod": _pod,
}
assert set(_RULES) == {k.kind for k in KINDS.values()}


def pod_sets(workload: Mapping[str, Any]) -> tuple[PodSet, ...]:
    """The pod sets of ``workload`` (``{apiVersion, kind, spec}``) by its kind's rule.

    Raises :class:`WorkloadError` naming the field for an unsupported kind or a malformed spec.
    """
    info = kind_of(workload)
    if info.rules is not None:  # declared on the hub (computenet.workloads.declared)
        return info.rules.sets(_mapping(workload.get("spec"), "spec"))
    return _RULES[info.kind](_mapping(workload.get("spec"), "spec"))
