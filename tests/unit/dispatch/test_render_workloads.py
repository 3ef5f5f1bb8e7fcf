"""Workloads of other kinds than a Job: rendered with the same labels, reservation and pinning."""

from __future__ import annotations

from typing import Any

import pytest

from computenet.api.constants import ATTEMPT_LABEL, HUB_LABEL, TASK_UID_LABEL
from computenet.dispatch.jobs import workload_facts
from computenet.dispatch.render import Target, TaskRef, render_workload
from computenet.workloads.kinds import DEPLOYMENT, STATEFULSET, WorkloadError

TASK = TaskRef("serving", "llama-70b-chat-serving-with-a-rather-long-name", "0b9c2d0e-1111-2222-3333-444455556666")
TARGET = Target(
    identifier="member-1",
    namespace="computenet-workloads",
    match_labels={},
    match_expressions=[],
    accelerator_resource="nvidia.com/gpu",
    accelerator_model="NVIDIA-L4",
    nodes=("l4-1", "l4-2"),
)


def workload(kind: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"labels": {"app": "chat"}},
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "chat"}},
                "spec": {"containers": [{"name": "server", "image": "vllm:1"}]},
            },
            **spec,
        },
    }


def render(kind: str, replicas: int = 2, **spec: Any) -> dict[str, Any]:
    return render_workload(
        workload(kind, **spec), TASK, replicas, {"cpu": "4", "memory": "16Gi"}, 1, TARGET, 1, "hub-a"
    )


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_a_replicated_kind_runs_the_tasks_replicas_on_the_placed_nodes(kind: str) -> None:
    obj = render(kind)
    assert (obj["apiVersion"], obj["kind"]) == ("apps/v1", kind)
    assert obj["spec"]["replicas"] == 2
    pod = obj["spec"]["template"]
    assert pod["metadata"]["labels"][TASK_UID_LABEL] == TASK.uid
    assert pod["metadata"]["labels"]["app"] == "chat"
    resources = pod["spec"]["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert [t["matchFields"][0]["values"] for t in terms] == [["l4-1"], ["l4-2"]]
    assert pod["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert "restartPolicy" not in pod["spec"], "a serving kind's pods restart Always, the API's default"
    assert obj["metadata"]["labels"][HUB_LABEL] == "hub-a"
    assert obj["metadata"]["labels"]["app"] == "chat"


def test_a_selector_left_out_selects_the_attempts_pods() -> None:
    obj = render("Deployment")
    selector = obj["spec"]["selector"]["matchLabels"]
    assert selector == {TASK_UID_LABEL: TASK.uid, ATTEMPT_LABEL: "1"}
    assert selector.items() <= obj["spec"]["template"]["metadata"]["labels"].items()


def test_a_selector_given_is_kept() -> None:
    obj = render("Deployment", selector={"matchLabels": {"app": "chat"}})
    assert obj["spec"]["selector"] == {"matchLabels": {"app": "chat"}}


@pytest.mark.parametrize(
    ("kind", "longest"), [("StatefulSet", STATEFULSET.name_max), ("Deployment", DEPLOYMENT.name_max)]
)
def test_names_leave_room_for_what_the_kinds_controller_derives(kind: str, longest: int) -> None:
    name = render(kind)["metadata"]["name"]
    assert len(name) <= longest
    assert len(f"{name}-7d9f8c6b5a") <= 63, "controller-revision-hash and ReplicaSet names stay DNS labels"


def test_the_users_workload_is_not_modified() -> None:
    original = workload("Deployment")
    render_workload(original, TASK, 2, {"cpu": "4", "memory": "16Gi"}, 1, TARGET, 1, "hub-a")
    assert original == workload("Deployment")


def test_an_unsupported_kind_is_refused() -> None:
    with pytest.raises(WorkloadError, match="not a supported workload kind"):
        render_workload(
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "spec": {}},
            TASK,
            1,
            {"cpu": "1", "memory": "1Gi"},
            0,
            TARGET,
            1,
            "h",
        )


@pytest.mark.parametrize(
    ("status", "phase", "has_pods"),
    [
        pytest.param({}, "Pending", False, id="no pod yet"),
        pytest.param({"replicas": 2, "availableReplicas": 1}, "Pending", True, id="one of two available"),
        pytest.param({"replicas": 2, "availableReplicas": 2}, "Running", True, id="every replica available: Running"),
    ],
)
def test_a_deployment_is_followed_by_its_availability(status: dict[str, Any], phase: str, has_pods: bool) -> None:
    obj = render("Deployment")
    obj["metadata"]["uid"] = "d-1"
    obj["status"] = status
    facts = workload_facts(DEPLOYMENT, obj)
    assert facts is not None
    assert (facts.phase, facts.has_pods, facts.kind, facts.attempt) == (phase, has_pods, DEPLOYMENT, 1)
    assert facts.origin == f"{TASK.namespace}/{TASK.name}"
