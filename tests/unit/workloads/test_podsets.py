"""Pod sets per workload kind, by each kind's own rule.

Rows marked "kueue:" restate a case of Kueue's integration tests (kubernetes-sigs/kueue at
ff69552e79, ``pkg/controller/jobs/<kind>/*_test.go``): the same object, the same pod sets.
"""

from __future__ import annotations

from typing import Any

import pytest

from computenet.workloads.kinds import WorkloadError
from computenet.workloads.podsets import SUBMITTER_REQUESTS, pod_sets


def pod(container: str = "c", image: str = "img", cpu: str | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"name": container, "image": image}
    if cpu:
        c["resources"] = {"requests": {"cpu": cpu}}
    return {"spec": {"containers": [c]}}


def job_template(parallelism: int | None = None, completions: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"template": pod()}
    if parallelism is not None:
        spec["parallelism"] = parallelism
    if completions is not None:
        spec["completions"] = completions
    return {"spec": spec}


def counts(workload: dict[str, Any]) -> list[tuple[str, int]]:
    return [(p.role, p.count) for p in pod_sets(workload)]


@pytest.mark.parametrize(
    ("workload", "expected"),
    [
        pytest.param(
            {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": pod()}},
            [("main", 1)],
            id="a Job defaults to one pod",
        ),
        pytest.param(
            {"apiVersion": "batch/v1", "kind": "Job", "spec": {"parallelism": 4, "completions": 2, "template": pod()}},
            [("main", 2)],
            id="a Job runs min(parallelism, completions) pods at once",
        ),
        pytest.param(
            {"apiVersion": "batch/v1", "kind": "Job", "spec": {"parallelism": 3, "template": pod()}},
            [("main", 3)],
            id="a Job's completions default to its parallelism",
        ),
        pytest.param(
            {
                "apiVersion": "jobset.x-k8s.io/v1alpha2",
                "kind": "JobSet",
                "spec": {
                    "replicatedJobs": [
                        {"name": "leader", "replicas": 1, "template": job_template(1, 1)},
                        {"name": "workers", "replicas": 2, "template": job_template(4, 4)},
                    ]
                },
            },
            [("leader", 1), ("workers", 8)],
            id="kueue: a JobSet's replicated Job counts replicas x min(parallelism, completions)",
        ),
        pytest.param(
            {
                "apiVersion": "jobset.x-k8s.io/v1alpha2",
                "kind": "JobSet",
                "spec": {"replicatedJobs": [{"name": "w", "replicas": 3, "template": job_template(2, 1)}]},
            },
            [("w", 3)],
            id="a JobSet replicated Job whose completions are fewer than its parallelism",
        ),
        pytest.param(
            {
                "apiVersion": "leaderworkerset.x-k8s.io/v1",
                "kind": "LeaderWorkerSet",
                "spec": {"leaderWorkerTemplate": {"size": 3, "leaderTemplate": pod(), "workerTemplate": pod()}},
            },
            [("leader", 1), ("worker", 2)],
            id="kueue: a LeaderWorkerSet with a leader template: 1 leader and size-1 workers",
        ),
        pytest.param(
            {
                "apiVersion": "leaderworkerset.x-k8s.io/v1",
                "kind": "LeaderWorkerSet",
                "spec": {"replicas": 2, "leaderWorkerTemplate": {"size": 3, "workerTemplate": pod()}},
            },
            [("main", 6)],
            id="kueue: a LeaderWorkerSet without a leader template: size pods of the worker template per group",
        ),
        pytest.param(
            {
                "apiVersion": "leaderworkerset.x-k8s.io/v1",
                "kind": "LeaderWorkerSet",
                "spec": {
                    "replicas": 2,
                    "leaderWorkerTemplate": {"size": 4, "leaderTemplate": pod(), "workerTemplate": pod()},
                },
            },
            [("leader", 2), ("worker", 6)],
            id="every group of a LeaderWorkerSet has its own leader",
        ),
        pytest.param(
            {
                "apiVersion": "ray.io/v1",
                "kind": "RayCluster",
                "spec": {
                    "headGroupSpec": {"template": pod("head-container")},
                    "workerGroupSpecs": [
                        {"groupName": "workers-group-0", "numOfHosts": 2, "template": pod("worker-container", cpu="10")}
                    ],
                },
            },
            [("head", 1), ("workers-group-0", 2)],
            id="kueue: a RayCluster worker group with numOfHosts 2",
        ),
        pytest.param(
            {
                "apiVersion": "ray.io/v1",
                "kind": "RayCluster",
                "spec": {
                    "headGroupSpec": {"template": pod()},
                    "workerGroupSpecs": [
                        {"groupName": "small", "replicas": 3, "template": pod()},
                        {"groupName": "tpu", "replicas": 2, "numOfHosts": 4, "template": pod()},
                    ],
                },
            },
            [("head", 1), ("small", 3), ("tpu", 8)],
            id="each RayCluster worker group counts replicas x numOfHosts",
        ),
        pytest.param(
            {
                "apiVersion": "ray.io/v1",
                "kind": "RayJob",
                "spec": {"rayClusterSpec": {"headGroupSpec": {"template": pod()}, "workerGroupSpecs": []}},
            },
            [("head", 1), ("submitter", 1)],
            id="a RayJob in K8sJobMode (the default) adds its submitter pod",
        ),
        pytest.param(
            {
                "apiVersion": "ray.io/v1",
                "kind": "RayJob",
                "spec": {"submissionMode": "HTTPMode", "rayClusterSpec": {"headGroupSpec": {"template": pod()}}},
            },
            [("head", 1)],
            id="a RayJob in HTTPMode has no submitter pod",
        ),
        pytest.param(
            {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 3, "template": pod()}},
            [("main", 3)],
            id="a Deployment runs its replicas",
        ),
        pytest.param(
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"template": pod()}},
            [("main", 1)],
            id="a StatefulSet's replicas default to 1",
        ),
        pytest.param({"apiVersion": "v1", "kind": "Pod", "spec": pod()["spec"]}, [("main", 1)], id="a Pod is one pod"),
    ],
)
def test_pod_sets(workload: dict[str, Any], expected: list[tuple[str, int]]) -> None:
    assert counts(workload) == expected


def test_the_default_submitter_uses_the_heads_image_and_kuberays_requests() -> None:
    workload = {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "spec": {"rayClusterSpec": {"headGroupSpec": {"template": pod(image="rayproject/ray:2.52")}}},
    }
    submitter = pod_sets(workload)[-1]
    (container,) = submitter.template["spec"]["containers"]
    assert container["image"] == "rayproject/ray:2.52"
    assert container["resources"]["requests"] == SUBMITTER_REQUESTS


def test_a_pod_sets_template_is_the_kinds_own_pod_template() -> None:
    workload = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 2, "template": pod("web")}}
    (only,) = pod_sets(workload)
    assert only.template["spec"]["containers"][0]["name"] == "web"


@pytest.mark.parametrize(
    ("workload", "words"),
    [
        pytest.param(
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "spec": {}},
            "not a supported workload kind",
            id="an unsupported kind is named",
        ),
        pytest.param(
            {"apiVersion": "batch/v2", "kind": "Job", "spec": {}}, "batch/v2 Job", id="a kind is its group version too"
        ),
        pytest.param(
            {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "spec": {"replicatedJobs": []}},
            "spec.replicatedJobs",
            id="a JobSet without replicated Jobs",
        ),
        pytest.param(
            {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": -1, "template": pod()}},
            "spec.replicas: -1 is not a count",
            id="a negative count is named with its field",
        ),
        pytest.param(
            {
                "apiVersion": "leaderworkerset.x-k8s.io/v1",
                "kind": "LeaderWorkerSet",
                "spec": {"leaderWorkerTemplate": {"size": 0, "workerTemplate": pod()}},
            },
            "size: must be 1 or more",
            id="a LeaderWorkerSet group of no pods",
        ),
        pytest.param(
            {
                "apiVersion": "ray.io/v1",
                "kind": "RayCluster",
                "spec": {"headGroupSpec": {"template": pod()}, "workerGroupSpecs": [{"template": pod()}]},
            },
            "workerGroupSpecs[0].groupName: is required",
            id="a Ray worker group without a name",
        ),
    ],
)
def test_what_cannot_be_read_is_named(workload: dict[str, Any], words: str) -> None:
    with pytest.raises(WorkloadError, match=words.replace("[", r"\[").replace("]", r"\]")):
        pod_sets(workload)
