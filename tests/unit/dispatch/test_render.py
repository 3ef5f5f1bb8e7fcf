from __future__ import annotations

import pytest

from computenet.api.constants import ATTEMPT_LABEL, HUB_LABEL, TASK_UID_LABEL
from computenet.dispatch.jobs import job_facts
from computenet.dispatch.naming import job_name
from computenet.dispatch.render import Target, TaskRef, render_job

TASK = TaskRef("research", "train-llama", "0b9c2d0e-1111-2222-3333-444455556666")
TEMPLATE = {
    "metadata": {"labels": {"team": "nlp"}},
    "spec": {
        "backoffLimit": 2,
        "template": {
            "metadata": {"annotations": {"a": "b"}},
            "spec": {"containers": [{"name": "main", "image": "trainer:1", "command": ["train"]}]},
        },
    },
}
TARGET = Target(
    identifier="member-1-h100",
    namespace="computenet-workloads",
    match_labels={"node-group": "h100"},
    match_expressions=[("kubernetes.io/arch", "In", ["amd64"])],
    accelerator_resource="nvidia.com/gpu",
    accelerator_model="NVIDIA-H100-80GB-HBM3",
)


def _render(replicas: int = 1, attempt: int = 1) -> dict:
    return render_job(TASK, TEMPLATE, replicas, {"cpu": "8", "memory": "64Gi"}, 8, TARGET, attempt, "hub-a")


def test_name_is_deterministic_per_task_and_attempt() -> None:
    assert _render()["metadata"]["name"] == _render()["metadata"]["name"]
    assert _render(attempt=1)["metadata"]["name"] != _render(attempt=2)["metadata"]["name"]
    assert job_name("x" * 100, TASK.uid, 12).endswith("-12")
    assert len(job_name("x" * 100, TASK.uid, 12)) <= 63


def test_job_carries_origin_labels_on_itself_and_its_pods() -> None:
    job = _render()
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        assert labels[TASK_UID_LABEL] == TASK.uid
        assert labels[ATTEMPT_LABEL] == "1"
        assert labels[HUB_LABEL] == "hub-a"
    assert job["metadata"]["labels"]["team"] == "nlp"
    assert job["metadata"]["annotations"]["computenet.io/origin"] == "research/train-llama"


def test_exactly_the_requested_resources_and_placement_pins() -> None:
    pod = _render()["spec"]["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "8"}
    assert resources["limits"] == {"nvidia.com/gpu": "8"}
    assert pod["nodeSelector"] == {"node-group": "h100", "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}]
    assert pod["containers"][0]["command"] == ["train"]


@pytest.mark.parametrize(("replicas", "mode"), [(1, None), (4, "Indexed")])
def test_gang_becomes_parallelism_and_completions(replicas: int, mode: str | None) -> None:
    spec = _render(replicas)["spec"]
    assert (spec["parallelism"], spec["completions"]) == (replicas, replicas)
    assert spec.get("completionMode") == mode
    assert spec["backoffLimit"] == 2


def test_template_is_not_modified() -> None:
    _render()
    assert "resources" not in TEMPLATE["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        pytest.param({}, "Pending", id="no status yet"),
        pytest.param({"active": 1, "ready": 1, "startTime": "2026-01-01T00:00:00Z"}, "Running", id="ready pod"),
        pytest.param(
            {
                "conditions": [{"type": "Complete", "status": "True"}],
                "completionTime": "2026-01-01T00:01:00Z",
            },
            "Succeeded",
            id="complete",
        ),
        pytest.param(
            {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "x"}]},
            "Failed",
            id="failed",
        ),
    ],
)
def test_job_phase_follows_conditions(status: dict, phase: str) -> None:
    job = _render()
    job["metadata"]["uid"] = "u"
    job["status"] = status
    facts = job_facts(job)
    assert facts is not None
    assert facts.phase == phase
    assert facts.attempt == 1
    if phase == "Failed":
        assert facts.message == "BackoffLimitExceeded: x"
