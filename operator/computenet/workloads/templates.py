"""Where each role's pod template sits in a workload's spec, for rendering to edit in place.

The roles are those of ``podsets.pod_sets`` (same names, same order), so the nodes placed for a
role are written into that role's template:

* JobSet: ``spec.replicatedJobs[i].template.spec.template`` (role: the replicated Job's name).
* LeaderWorkerSet: ``spec.leaderWorkerTemplate.leaderTemplate`` (leader) and ``.workerTemplate``
  (worker; ``main`` without a leader template).
* RayCluster: ``spec.headGroupSpec.template`` (head), ``spec.workerGroupSpecs[i].template`` (its
  groupName). RayJob: the same under ``spec.rayClusterSpec``, and in K8sJobMode the submitter's
  ``spec.submitterPodTemplate``, written out as KubeRay's default when the workload leaves it out,
  so that the submitter too carries the origin labels and lands where it was counted.
* Pod: the object itself (its ``spec`` is the pod spec; its labels are the object's).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from computenet.workloads.kinds import Kind, WorkloadError
from computenet.workloads.podsets import pod_sets


@dataclass(frozen=True)
class RoleTemplate:
    """One role's pod template inside a spec being rendered: ``template`` is the dict itself ({metadata, spec})."""

    role: str
    template: dict[str, Any]
    path: str
    """Where it sits in the ComputeTask, for messages (``spec.workload.spec.replicatedJobs[0].template...``)."""
    run_once: bool
    """Its pods run to completion (a Job's, a submitter's, a bare Pod): restartPolicy defaults to Never."""


def _dict(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    if not isinstance(value, dict):
        raise WorkloadError(f"{where}.{key}: must be an object")
    return value


def role_templates(kind: Kind, workload: dict[str, Any], spec: dict[str, Any]) -> list[RoleTemplate]:
    """The pod template of every role of ``workload`` (of ``kind``), found in ``spec``, its spec's copy.

    ``spec`` is edited only to write out KubeRay's default submitter template. Raises
    :class:`WorkloadError` for a spec whose pod sets do not read.
    """
    sets = pod_sets({**workload, "spec": spec})
    if kind.rules is not None:  # declared: only the roles given a template path are rendered
        return kind.rules.role_templates(spec)
    base = "spec.workload.spec"
    out: list[RoleTemplate] = []
    if kind.kind == "JobSet":
        for i, rj in enumerate(spec["replicatedJobs"]):
            where = f"{base}.replicatedJobs[{i}].template"
            job_spec = _dict(_dict(rj, "template", f"{base}.replicatedJobs[{i}]"), "spec", where)
            out.append(
                RoleTemplate(rj["name"], _dict(job_spec, "template", f"{where}.spec"), f"{where}.spec.template", True)
            )
    elif kind.kind == "LeaderWorkerSet":
        lwt = spec["leaderWorkerTemplate"]
        where = f"{base}.leaderWorkerTemplate"
        if lwt.get("leaderTemplate") is not None:
            out.append(RoleTemplate("leader", lwt["leaderTemplate"], f"{where}.leaderTemplate", False))
            out.append(RoleTemplate("worker", lwt["workerTemplate"], f"{where}.workerTemplate", False))
        else:
            out.append(RoleTemplate("main", lwt["workerTemplate"], f"{where}.workerTemplate", False))
    elif kind.kind in ("RayCluster", "RayJob"):
        cluster, where = (
            (spec, base) if kind.kind == "RayCluster" else (spec["rayClusterSpec"], f"{base}.rayClusterSpec")
        )
        out.append(RoleTemplate("head", cluster["headGroupSpec"]["template"], f"{where}.headGroupSpec.template", False))
        for i, group in enumerate(cluster.get("workerGroupSpecs") or ()):
            out.append(
                RoleTemplate(group["groupName"], group["template"], f"{where}.workerGroupSpecs[{i}].template", False)
            )
        submitter = next((s for s in sets if s.role == "submitter"), None)
        if kind.kind == "RayJob" and submitter is not None:
            if spec.get("submitterPodTemplate") is None:
                spec["submitterPodTemplate"] = copy.deepcopy(dict(submitter.template))
            out.append(RoleTemplate("submitter", spec["submitterPodTemplate"], f"{base}.submitterPodTemplate", True))
    elif kind.kind == "Pod":
        out.append(RoleTemplate("main", {"spec": spec}, base, True))
    else:
        raise WorkloadError(f"{kind.api_version} {kind.kind} is not rendered role by role")
    assert [t.role for t in out] == [s.role for s in sets]  # one rule for pod sets and for their templates
    return out
