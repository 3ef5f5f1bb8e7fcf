"""`logs --role NAME --replica N`: a workload of several roles, one role's pods, numbered as their controllers do."""

from __future__ import annotations

from typing import Any

import pytest

from computenet.api.constants import ROLE_LABEL
from computenet.logs.pods import choose_pod, roles_of


def pod(name: str, role: str, created: str = "2026-01-01T00:00:00Z", **labels: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "w",
            "creationTimestamp": created,
            "labels": {ROLE_LABEL: role, **labels},
        },
        "status": {"phase": "Running"},
    }


JOB_INDEX, COMPLETION = "jobset.sigs.k8s.io/job-index", "batch.kubernetes.io/job-completion-index"
GROUP, WORKER = "leaderworkerset.sigs.k8s.io/group-index", "leaderworkerset.sigs.k8s.io/worker-index"

JOBSET = [
    pod("js-leader-0-0-a", "leader", **{JOB_INDEX: "0", COMPLETION: "0"}),
    pod("js-workers-1-0-b", "workers", **{JOB_INDEX: "1", COMPLETION: "0"}),
    pod("js-workers-0-1-c", "workers", **{JOB_INDEX: "0", COMPLETION: "1"}),
    pod("js-workers-0-0-d", "workers", **{JOB_INDEX: "0", COMPLETION: "0"}),
    # A retry of the first worker: the newest pod of that replica is the one meant.
    pod("js-workers-0-0-e", "workers", "2026-01-01T00:05:00Z", **{JOB_INDEX: "0", COMPLETION: "0"}),
]
LWS = [
    pod("lws-1-1", "worker", **{GROUP: "1", WORKER: "1"}),
    pod("lws-0-2", "worker", **{GROUP: "0", WORKER: "2"}),
    pod("lws-0-1", "worker", **{GROUP: "0", WORKER: "1"}),
    pod("lws-0", "leader", **{GROUP: "0", WORKER: "0"}),
]
RAY = [pod("ray-worker-b", "gpu-group"), pod("ray-worker-a", "gpu-group"), pod("ray-head", "head")]


@pytest.mark.parametrize(
    ("pods", "role", "replica", "chosen"),
    [
        pytest.param(JOBSET, "workers", 0, "js-workers-0-0-e", id="JobSet: job 0 index 0, its newest retry"),
        pytest.param(JOBSET, "workers", 1, "js-workers-0-1-c", id="JobSet: then job 0 index 1"),
        pytest.param(JOBSET, "workers", 2, "js-workers-1-0-b", id="JobSet: then job 1"),
        pytest.param(JOBSET, "workers", 3, None, id="JobSet: no fourth worker"),
        pytest.param(JOBSET, "leader", 0, "js-leader-0-0-a", id="JobSet: the leader"),
        pytest.param(LWS, "worker", 0, "lws-0-1", id="LeaderWorkerSet: group 0 worker 1 first"),
        pytest.param(LWS, "worker", 2, "lws-1-1", id="LeaderWorkerSet: then group 1"),
        pytest.param(LWS, "leader", 0, "lws-0", id="LeaderWorkerSet: the leader"),
        pytest.param(RAY, "gpu-group", 0, "ray-worker-a", id="Ray: by name, without an index"),
        pytest.param(RAY, "nope", 0, None, id="a role the workload does not have"),
    ],
)
def test_a_roles_replica_is_counted_in_its_controllers_order(
    pods: list[dict[str, Any]], role: str, replica: int, chosen: str | None
) -> None:
    found = choose_pod(pods, replica, role)
    assert (found.name if found else None) == chosen


def test_the_roles_of_a_workload_are_those_its_pods_carry() -> None:
    assert roles_of(JOBSET) == ["leader", "workers"]
    assert roles_of([{"metadata": {"name": "job-pod", "labels": {}}}]) == []
