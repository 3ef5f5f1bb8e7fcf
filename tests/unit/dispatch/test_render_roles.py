"""Kinds of several roles: every role's pod template carries the origin labels and lands on its own nodes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from computenet.api.constants import ATTEMPT_LABEL, ROLE_LABEL, TASK_UID_LABEL
from computenet.api.problems import ContractError
from computenet.dispatch.jobs import workload_facts
from computenet.dispatch.render import Target, TaskRef, render_workload
from computenet.workloads.kinds import KINDS, POD

TASK = TaskRef("research", "a-training-run-with-a-name-long-enough-to-be-cut", "0b9c2d0e-1111-2222-3333-444455556666")
H100 = "NVIDIA-H100-80GB-HBM3"


def target(**role_nodes: tuple[str, ...]) -> Target:
    return Target(
        identifier="member-1",
        namespace="computenet-workloads",
        match_labels={"pool": "h100"},
        match_expressions=[],
        accelerator_resource="nvidia.com/gpu",
        accelerator_model=H100,
        role_nodes=role_nodes,
    )


def pod(gpus: int = 0, cpu: str = "1") -> dict[str, Any]:
    limits = {"limits": {"nvidia.com/gpu": gpus}} if gpus else {}
    resources = {"requests": {"cpu": cpu, "memory": "1Gi"}, **limits}
    return {
        "metadata": {"labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "i", "resources": resources}]},
    }


def jobset() -> dict[str, Any]:
    return {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "metadata": {"labels": {"team": "a"}},
        "spec": {
            "replicatedJobs": [
                {"name": "leader", "replicas": 1, "template": {"spec": {"template": pod()}}},
                {"name": "workers", "replicas": 2, "template": {"spec": {"template": pod(gpus=8)}}},
            ]
        },
    }


def lws() -> dict[str, Any]:
    return {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "spec": {"leaderWorkerTemplate": {"size": 3, "leaderTemplate": pod(), "workerTemplate": pod(gpus=8)}},
    }


def ray_cluster() -> dict[str, Any]:
    return {
        "headGroupSpec": {"template": pod()},
        "workerGroupSpecs": [{"groupName": "gpus", "replicas": 2, "template": pod(gpus=8)}],
    }


def raycluster() -> dict[str, Any]:
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "spec": ray_cluster()}


def rayjob() -> dict[str, Any]:
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "spec": {"entrypoint": "python x.py", "rayClusterSpec": ray_cluster()},
    }


def bare_pod() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"app": "x"}}, "spec": pod(gpus=1)["spec"]}


Pick = Callable[[dict[str, Any]], dict[str, Any]]
"""From a rendered spec, one role's pod template ({metadata, spec})."""


@pytest.mark.parametrize(
    ("workload", "roles"),
    [
        pytest.param(
            jobset(),
            {
                "leader": lambda s: s["replicatedJobs"][0]["template"]["spec"]["template"],
                "workers": lambda s: s["replicatedJobs"][1]["template"]["spec"]["template"],
            },
            id="a JobSet's replicated Jobs each land on the nodes placed for them",
        ),
        pytest.param(
            lws(),
            {
                "leader": lambda s: s["leaderWorkerTemplate"]["leaderTemplate"],
                "worker": lambda s: s["leaderWorkerTemplate"]["workerTemplate"],
            },
            id="a LeaderWorkerSet's leader and workers each land on the nodes placed for them",
        ),
        pytest.param(
            raycluster(),
            {"head": lambda s: s["headGroupSpec"]["template"], "gpus": lambda s: s["workerGroupSpecs"][0]["template"]},
            id="a RayCluster's head and worker group each land on the nodes placed for them",
        ),
        pytest.param(
            rayjob(),
            {
                "head": lambda s: s["rayClusterSpec"]["headGroupSpec"]["template"],
                "gpus": lambda s: s["rayClusterSpec"]["workerGroupSpecs"][0]["template"],
                "submitter": lambda s: s["submitterPodTemplate"],
            },
            id="a RayJob's cluster and its submitter each land on the nodes placed for them",
        ),
        pytest.param(bare_pod(), {"main": lambda s: {"spec": s}}, id="a Pod lands on the node placed for it"),
    ],
)
def test_every_role_is_pinned_to_its_own_nodes_and_carries_the_origin_labels(
    workload: dict[str, Any], roles: dict[str, Pick]
) -> None:
    nodes = {role: (f"{role}-n1", f"{role}-n2") for role in roles}
    obj = render_workload(workload, TASK, 1, {"cpu": "1", "memory": "1Gi"}, 0, target(**nodes), 2, "hub-a")
    kind = KINDS[(workload["apiVersion"], workload["kind"])]
    assert (obj["apiVersion"], obj["kind"]) == (kind.api_version, kind.kind)
    assert len(obj["metadata"]["name"]) <= kind.name_max
    assert obj["metadata"]["labels"][TASK_UID_LABEL] == TASK.uid
    for role, pick in roles.items():
        tpl = pick(obj["spec"])
        labels = obj["metadata"]["labels"] if kind.kind == "Pod" else tpl["metadata"]["labels"]
        kept = None if role == "submitter" else "x"  # KubeRay's default submitter has no labels of the user's
        assert (labels[TASK_UID_LABEL], labels[ATTEMPT_LABEL], labels.get("app")) == (TASK.uid, "2", kept), role
        if kind.kind != "Pod":  # one role: its pod needs no role label to be told apart
            assert labels[ROLE_LABEL] == role, "logs --role and metering tell the roles' pods apart by it"
        spec = tpl["spec"]
        terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert [t["matchFields"][0]["values"][0] for t in terms] == list(nodes[role]), role
        gpus = spec["containers"][0]["resources"].get("requests", {}).get("nvidia.com/gpu")
        product = spec["nodeSelector"].get("nvidia.com/gpu.product")
        assert spec["nodeSelector"]["pool"] == "h100", role
        assert product == (H100 if gpus else None), f"{role}: only a role with devices is held to the model"


def test_a_role_with_devices_requests_what_placement_counted() -> None:
    obj = render_workload(jobset(), TASK, 1, {"cpu": "1", "memory": "1Gi"}, 0, target(), 1, "hub-a")
    workers = obj["spec"]["replicatedJobs"][1]["template"]["spec"]["template"]["spec"]
    assert workers["containers"][0]["resources"]["requests"] == {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "8"}
    assert workers["restartPolicy"] == "Never", "a Job's pods run once"
    assert "affinity" not in workers, "a role without placed nodes is held only to the partition"


def test_a_rayjob_without_a_submitter_template_gets_kuberays_default_written_out() -> None:
    obj = render_workload(rayjob(), TASK, 1, {"cpu": "1", "memory": "1Gi"}, 0, target(submitter=("n1",)), 1, "h")
    submitter = obj["spec"]["submitterPodTemplate"]
    assert submitter["metadata"]["labels"][TASK_UID_LABEL] == TASK.uid
    assert submitter["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "500m", "memory": "200Mi"}


def test_the_users_workload_is_not_modified() -> None:
    original = rayjob()
    render_workload(original, TASK, 1, {"cpu": "1", "memory": "1Gi"}, 0, target(), 1, "h")
    assert original == rayjob()


def test_a_role_whose_template_cannot_carry_its_request_is_refused_naming_the_field() -> None:
    bad = jobset()
    bad["spec"]["replicatedJobs"][1]["template"]["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": "lots"}
    }
    with pytest.raises(ContractError, match=r"spec\.workload\.spec\.replicatedJobs\[1\]\.template\.spec\.template"):
        render_workload(bad, TASK, 1, {"cpu": "1", "memory": "1Gi"}, 0, target(), 1, "h")


@pytest.mark.parametrize(
    ("status", "has_pods"),
    [
        pytest.param({}, False, id="a JobSet whose Jobs have made no pod yet"),
        pytest.param({"replicatedJobsStatus": [{"name": "workers", "active": 2}]}, True, id="a JobSet with pods"),
    ],
)
def test_a_jobset_is_followed_through_its_replicated_jobs(status: dict[str, Any], has_pods: bool) -> None:
    obj = render_workload(jobset(), TASK, 1, {"cpu": "1", "memory": "1Gi"}, 0, target(), 3, "h")
    obj["metadata"]["uid"] = "js-1"
    obj["status"] = status
    facts = workload_facts(KINDS[("jobset.x-k8s.io/v1alpha2", "JobSet")], obj)
    assert facts is not None
    assert (facts.task_uid, facts.attempt, facts.has_pods) == (TASK.uid, 3, has_pods)


def test_a_pod_workload_is_the_labelled_pod_no_controller_owns() -> None:
    obj = render_workload(bare_pod(), TASK, 1, {"cpu": "1", "memory": "1Gi"}, 0, target(main=("n1",)), 1, "h")
    obj["spec"]["nodeName"] = "n1"
    obj["status"] = {"phase": "Running"}
    facts = workload_facts(POD, obj)
    assert facts is not None
    assert (facts.phase, facts.has_pods) == ("Running", True)
    owned = {
        **obj,
        "metadata": {
            **obj["metadata"],
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "u", "controller": True}],
        },
    }
    assert workload_facts(POD, owned) is None, "a JobSet's pods carry the same labels but are not the workload"
