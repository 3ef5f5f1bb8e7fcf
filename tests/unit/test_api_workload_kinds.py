"""spec.workload of a kind with several roles: accepted by the model, checked role by role, naming the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from computenet.api.crd import KINDS, crd
from computenet.api.task import ComputeTaskSpec
from computenet.api.validation import validate_task


def container(cpu: str = "1", gpus: int = 0, **extra: Any) -> dict[str, Any]:
    resources: dict[str, Any] = {"requests": {"cpu": cpu, "memory": "1Gi"}}
    if gpus:
        resources["limits"] = {"nvidia.com/gpu": gpus}
    return {"name": "c", "image": "i", "resources": resources, **extra}


def pod(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"spec": {"containers": list(containers or [container()]), **spec}}


def jobset(**leader: Any) -> dict[str, Any]:
    return {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "spec": {
            "replicatedJobs": [
                {"name": "leader", "template": {"spec": {"template": pod(**leader)}}},
                {"name": "workers", "replicas": 2, "template": {"spec": {"template": pod(container(cpu="2", gpus=8))}}},
            ]
        },
    }


MIG_1G = "nvidia.com/mig-1g.10gb"
WORKERS_POD = ("spec", "replicatedJobs", 1, "template", "spec", "template", "spec")


def task(workload: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"workload": workload, **spec}


LWS = {
    "apiVersion": "leaderworkerset.x-k8s.io/v1",
    "kind": "LeaderWorkerSet",
    "spec": {"leaderWorkerTemplate": {"size": 2, "leaderTemplate": pod(), "workerTemplate": pod(container(gpus=1))}},
}
RAYJOB = {
    "apiVersion": "ray.io/v1",
    "kind": "RayJob",
    "spec": {
        "entrypoint": "python x.py",
        "rayClusterSpec": {
            "headGroupSpec": {"template": pod()},
            "workerGroupSpecs": [{"groupName": "gpus", "replicas": 2, "template": pod(container(gpus=1))}],
        },
    },
}
RAYCLUSTER = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "spec": copy.deepcopy(RAYJOB["spec"]["rayClusterSpec"])}
POD = {"apiVersion": "v1", "kind": "Pod", "spec": pod(container(gpus=1))["spec"]}


def with_(base: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    at = out
    for key in path[:-1]:
        at = at[key]
    at[path[-1]] = value
    return out


@pytest.mark.parametrize(
    "workload",
    [
        pytest.param(jobset(), id="a JobSet of a leader and GPU workers"),
        pytest.param(LWS, id="a LeaderWorkerSet"),
        pytest.param(RAYJOB, id="a RayJob"),
        pytest.param(RAYCLUSTER, id="a RayCluster"),
        pytest.param(POD, id="a Pod"),
    ],
)
def test_each_kind_is_valid_and_its_resources_come_from_its_largest_role(workload: dict[str, Any]) -> None:
    assert validate_task(task(workload)) == []
    parsed = ComputeTaskSpec.model_validate(task(workload, resources={"accelerators": {"vendor": "nvidia"}}))
    assert parsed.resources.accelerators is not None
    assert parsed.resources.accelerators.count in (1, 8), "the role with devices is the largest"


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        pytest.param(
            task(jobset(restartPolicy="Always")),
            "spec.workload.spec.replicatedJobs[0].template.spec.template.spec.restartPolicy",
            "Never or OnFailure",
            id="a JobSet's Job pods run once",
        ),
        pytest.param(
            task(with_(jobset(), ("spec", "replicatedJobs", 1, "name"), "")),
            "spec.workload.spec.replicatedJobs[1].name",
            "is required",
            id="a replicated Job without a name",
        ),
        pytest.param(
            task(
                with_(jobset(), ("spec", "replicatedJobs", 1, "template", "spec", "template", "spec", "containers"), [])
            ),
            "spec.workload.spec.replicatedJobs[1].template.spec.template.spec.containers",
            "at least one container",
            id="a replicated Job's pods without containers",
        ),
        pytest.param(
            task(jobset(nodeName="n1")),
            "spec.workload.spec.replicatedJobs[0].template.spec.template.spec.nodeName",
            "before a cluster is chosen",
            id="a role pinned to a node by name",
        ),
        pytest.param(
            task(jobset(nodeSelector={"bad key!": "x"})),
            "spec.workload.spec.replicatedJobs[0].template.spec.template.spec.nodeSelector",
            "",
            id="a role's nodeSelector that the member refuses",
        ),
        pytest.param(
            task(with_(jobset(), (*WORKERS_POD, "containers", 0, "resources", "limits"), {MIG_1G: 1})),
            "spec.workload.spec.replicatedJobs[1].template.spec.template.spec.containers",
            "not on slices or shared devices yet",
            id="a role asking for device slices, which placement does not count per role",
        ),
        pytest.param(
            task(with_(LWS, ("spec", "leaderWorkerTemplate", "workerTemplate", "spec", "restartPolicy"), "Never")),
            "spec.workload.spec.leaderWorkerTemplate.workerTemplate.spec.restartPolicy",
            "must be Always",
            id="a LeaderWorkerSet's pods restart Always",
        ),
        pytest.param(
            task(with_(RAYJOB, ("spec", "rayClusterSpec", "workerGroupSpecs", 0, "replicas"), -1)),
            "spec.workload.spec.rayClusterSpec.workerGroupSpecs[0].replicas",
            "is not a count",
            id="a Ray worker group of a negative count",
        ),
        pytest.param(
            task(POD, replicas=3),
            "spec.replicas",
            "counted from its spec (1 main)",
            id="a Pod's pods are counted from the Pod, not from spec.replicas",
        ),
        pytest.param(
            task({**jobset(), "apiVersion": "ray.io/v1"}),
            "spec.workload.kind",
            "must name a supported kind",
            id="a kind under another kind's apiVersion",
        ),
    ],
)
def test_a_problem_of_one_role_names_that_roles_field(spec: dict[str, Any], field: str, words: str) -> None:
    problems = validate_task(spec)
    assert any(p.field.startswith(field) and words in p.message for p in problems), problems


def test_the_crd_pairs_each_built_in_kind_with_its_api_version_and_leaves_other_groups_to_declarations() -> None:
    task_kind = next(k for k in KINDS if k.info.kind == "ComputeTask")
    schema = crd(task_kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    workload = schema["properties"]["spec"]["properties"]["workload"]
    assert "enum" not in workload["properties"]["kind"], "a kind declared by a ComputeWorkloadKind is any name"
    rules = [r["rule"] for r in workload["x-kubernetes-validations"]]
    assert any("self.apiVersion == 'jobset.x-k8s.io/v1alpha2' && self.kind == 'JobSet'" in r for r in rules)
    assert any("!(self.apiVersion in [" in r and "'apps/v1'" in r for r in rules)


@pytest.mark.parametrize(
    ("api_version", "kind", "admitted"),
    [
        pytest.param("trainer.kubeflow.org/v1alpha1", "TrainJob", True, id="a kind of another group may be declared"),
        pytest.param("apps/v1", "DaemonSet", False, id="another kind of a built-in group version is refused"),
        pytest.param("ray.io/v1", "RayJob", True, id="a built-in kind is admitted"),
    ],
)
def test_the_workload_rule_admits_built_in_kinds_and_other_groups(api_version: str, kind: str, admitted: bool) -> None:
    spec = task({"apiVersion": api_version, "kind": kind, "spec": {}})
    problems = [p for p in validate_task(spec) if "must name a supported kind" in p.message]
    assert (not problems) == admitted, problems
