"""A dispatched workload's status, read as its attempt's phase, per kind."""

from __future__ import annotations

from typing import Any

import pytest

from computenet.workloads.kinds import KINDS
from computenet.workloads.status import Observed, observe


def kind(api_version: str, name: str) -> Any:
    return KINDS[(api_version, name)]


JOB = kind("batch/v1", "Job")
JOBSET = kind("jobset.x-k8s.io/v1alpha2", "JobSet")
RAYJOB = kind("ray.io/v1", "RayJob")
RAYCLUSTER = kind("ray.io/v1", "RayCluster")
LWS = kind("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")
DEPLOYMENT = kind("apps/v1", "Deployment")
STATEFULSET = kind("apps/v1", "StatefulSet")
POD = kind("v1", "Pod")


def cond(type_: str, status: str = "True", reason: str = "", message: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


@pytest.mark.parametrize(
    ("k", "obj", "expected"),
    [
        pytest.param(JOB, {"status": {}}, Observed("Pending"), id="a Job without a ready pod is Pending"),
        pytest.param(JOB, {"status": {"ready": 1}}, Observed("Running"), id="a Job with a ready pod runs"),
        pytest.param(JOB, {"status": {"conditions": [cond("Complete")]}}, Observed("Succeeded"), id="a complete Job"),
        pytest.param(
            JOB,
            {
                "status": {
                    "conditions": [
                        cond(
                            "Failed",
                            reason="BackoffLimitExceeded",
                            message="Job has reached the specified backoff limit",
                        )
                    ]
                }
            },
            Observed("Failed", "BackoffLimitExceeded: Job has reached the specified backoff limit"),
            id="a failed Job says why",
        ),
        pytest.param(
            JOBSET,
            {"status": {"replicatedJobsStatus": [{"name": "w", "ready": 2}]}},
            Observed("Running"),
            id="a JobSet with ready Jobs runs",
        ),
        pytest.param(
            JOBSET, {"status": {"conditions": [cond("Completed")]}}, Observed("Succeeded"), id="a completed JobSet"
        ),
        pytest.param(
            JOBSET,
            {
                "status": {
                    "conditions": [
                        cond("Failed", reason="FailedJobs", message="jobset failed due to one or more job failures")
                    ]
                }
            },
            Observed("Failed", "FailedJobs: jobset failed due to one or more job failures"),
            id="a failed JobSet says why",
        ),
        pytest.param(
            RAYJOB,
            {"status": {"jobDeploymentStatus": "Initializing"}},
            Observed("Pending"),
            id="a RayJob bringing up its cluster",
        ),
        pytest.param(
            RAYJOB,
            {"status": {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"}},
            Observed("Running"),
            id="a RayJob running",
        ),
        pytest.param(
            RAYJOB,
            {"status": {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}},
            Observed("Succeeded"),
            id="a RayJob that succeeded",
        ),
        pytest.param(
            RAYJOB,
            {
                "status": {
                    "jobDeploymentStatus": "Failed",
                    "jobStatus": "FAILED",
                    "message": "job failed with exit code 1",
                }
            },
            Observed("Failed", "Failed: job failed with exit code 1"),
            id="a RayJob that failed says why",
        ),
        pytest.param(RAYCLUSTER, {"status": {"state": "ready"}}, Observed("Running"), id="a ready RayCluster serves"),
        pytest.param(
            LWS,
            {"status": {"conditions": [cond("Available")]}},
            Observed("Running"),
            id="an available LeaderWorkerSet serves",
        ),
        pytest.param(
            LWS,
            {
                "spec": {"replicas": 2},
                "status": {
                    "readyReplicas": 1,
                    "conditions": [
                        cond("Available", "False", "AllGroupsReady", "All replicas are ready"),
                        cond("Progressing", "True", "GroupsProgressing", "Replicas are progressing"),
                    ],
                },
            },
            Observed("Pending", "1/2 groups ready; Progressing=True GroupsProgressing: Replicas are progressing"),
            id="a LeaderWorkerSet not available says so in its controller's words",
        ),
        pytest.param(
            DEPLOYMENT,
            {
                "spec": {"replicas": 3},
                "status": {
                    "availableReplicas": 2,
                    "readyReplicas": 2,
                    "conditions": [
                        cond(
                            "Available",
                            "False",
                            "MinimumReplicasUnavailable",
                            "Deployment does not have minimum availability.",
                        ),
                        cond("Progressing", "True", "ReplicaSetUpdated", 'ReplicaSet "web-7d" is progressing.'),
                    ],
                },
            },
            Observed(
                "Pending",
                "2/3 replicas available (2 ready); "
                "Available=False MinimumReplicasUnavailable: Deployment does not have minimum availability.",
            ),
            id="a Deployment short of replicas says so in its controller's words",
        ),
        pytest.param(
            DEPLOYMENT,
            {
                "spec": {"replicas": 1},
                "status": {
                    "conditions": [
                        cond("ReplicaFailure", "True", "FailedCreate", 'pods "web-7d-x" is forbidden: exceeded quota'),
                    ],
                },
            },
            Observed(
                "Pending",
                '0/1 replicas available (0 ready); ReplicaFailure=True FailedCreate: pods "web-7d-x" is forbidden: '
                "exceeded quota",
            ),
            id="a Deployment whose pods are refused names the refusal",
        ),
        pytest.param(
            DEPLOYMENT,
            {"spec": {"replicas": 3}, "status": {"availableReplicas": 3}},
            Observed("Running"),
            id="a Deployment with every replica available",
        ),
        pytest.param(
            DEPLOYMENT,
            {"spec": {}, "status": {"availableReplicas": 1}},
            Observed("Running"),
            id="a Deployment's replicas default to 1",
        ),
        pytest.param(
            DEPLOYMENT,
            {
                "spec": {"replicas": 2},
                "status": {
                    "conditions": [
                        cond(
                            "Progressing",
                            "False",
                            "ProgressDeadlineExceeded",
                            'ReplicaSet "web-7d" has timed out progressing.',
                        )
                    ]
                },
            },
            Observed(
                "Pending",
                "0/2 replicas available (0 ready); "
                'Progressing=False ProgressDeadlineExceeded: ReplicaSet "web-7d" has timed out progressing.',
                stalled=True,
            ),
            id="a Deployment past its progress deadline is stalled: its controller gave up, the attempt ends",
        ),
        pytest.param(
            STATEFULSET,
            {"spec": {"replicas": 2}, "status": {"availableReplicas": 2}},
            Observed("Running"),
            id="a StatefulSet available",
        ),
        pytest.param(
            STATEFULSET,
            {"spec": {"replicas": 3}, "status": {"replicas": 1, "currentReplicas": 1}},
            Observed("Pending", "0/3 replicas available (0 ready)"),
            id="a StatefulSet whose first pod is not Ready: its counts are its words",
        ),
        pytest.param(
            RAYCLUSTER,
            {
                "status": {
                    "state": "suspended",
                    "conditions": [cond("HeadPodReady", "False", "HeadPodNotFound", "head pod not found")],
                }
            },
            Observed("Pending", "state suspended; HeadPodReady=False HeadPodNotFound: head pod not found"),
            id="a RayCluster not ready says why",
        ),
        pytest.param(POD, {"status": {"phase": "Running"}}, Observed("Running"), id="a running Pod"),
        pytest.param(POD, {"status": {"phase": "Succeeded"}}, Observed("Succeeded"), id="a Pod that succeeded"),
        pytest.param(
            POD,
            {
                "status": {
                    "phase": "Failed",
                    "reason": "DeadlineExceeded",
                    "message": "Pod was active on the node longer than the specified deadline",
                }
            },
            Observed("Failed", "DeadlineExceeded: Pod was active on the node longer than the specified deadline"),
            id="a failed Pod says why",
        ),
    ],
)
def test_observe(k: Any, obj: dict[str, Any], expected: Observed) -> None:
    assert observe(k, obj) == expected


def test_serving_kinds_never_succeed_by_themselves() -> None:
    serving = {k.kind for k in KINDS.values() if k.serving}
    assert serving == {"Deployment", "StatefulSet", "LeaderWorkerSet", "RayCluster"}
