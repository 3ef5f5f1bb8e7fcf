"""The placement-regret mix and its tally: repeatable, valid, varied, and counted as the scheduler counts."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from computenet.api.constants import TASK_UID_LABEL
from computenet.api.pod_reservation import effective_requests
from computenet.api.validation import validate_task
from computenet.testing.topology import AMD_GPU, NVIDIA_GPU
from support.mix import KINDS, MixTask, mix
from support.regret import Ledger, tally

SEED = 20261130
TASKS = mix(SEED, 500)


def _pod_spec(t: MixTask) -> dict[str, Any]:
    spec: dict[str, Any] = t.manifest["spec"]["template"]["spec"]["template"]["spec"]
    return spec


def test_the_same_seed_draws_the_same_mix_and_another_seed_another() -> None:
    assert mix(SEED, 500) == TASKS
    assert [t.manifest for t in mix(SEED + 1, 500)] != [t.manifest for t in TASKS]
    assert [t.name for t in TASKS[:2]] == ["mix-0000", "mix-0001"]


def test_a_negative_count_is_refused_with_its_value() -> None:
    with pytest.raises(ValueError, match="-1"):
        mix(SEED, -1)


@pytest.mark.parametrize("task", TASKS, ids=[f"{t.name} {t.kind}" for t in TASKS])
def test_every_drawn_task_is_a_valid_compute_task(task: MixTask) -> None:
    assert validate_task(task.manifest["spec"]) == []


def test_every_kind_is_drawn_in_500_tasks() -> None:
    assert set(Counter(t.kind for t in TASKS)) == {k for k, _ in KINDS}


def test_the_mix_holds_what_fidelity_is_about() -> None:
    specs = [_pod_spec(t) for t in TASKS]
    assert any(t.replicas >= 2 for t in TASKS), "gangs"
    assert any(
        c.get("restartPolicy") == "Always" and NVIDIA_GPU in c["resources"].get("limits", {})
        for s in specs
        for c in s.get("initContainers", [])
    ), "a sidecar holding a GPU"
    assert any(len(s["containers"]) >= 2 for s in specs), "multi-container templates"
    assert any("cpu" not in t.manifest["spec"].get("resources", {}) for t in TASKS), "cpu derived from the template"
    assert any(AMD_GPU in effective_requests(s) for s in specs), "AMD GPUs"
    operators = {
        e["operator"]
        for s in specs
        for term in s.get("affinity", {})
        .get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", {})
        .get("nodeSelectorTerms", [])
        for e in term["matchExpressions"]
    }
    assert {"In", "NotIn", "Exists", "Gt"} <= operators
    assert any(
        "preferredDuringSchedulingIgnoredDuringExecution" in s.get("affinity", {}).get("nodeAffinity", {})
        for s in specs
    )
    assert any("nodeSelector" in s for s in specs)
    assert any("tolerations" in s for s in specs)
    nowhere = [t for t in TASKS if t.fit_nowhere]
    assert 0 < len(nowhere) < len(TASKS) // 10, "a share fits nowhere, most fit"


def _task(name: str, uid: str, *, status: dict[str, Any], replicas: int = 1) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": uid}, "spec": {"replicas": replicas}, "status": status}


def _pod(name: str, uid: str, node: str | None = None, unschedulable: str | None = None) -> dict[str, Any]:
    conditions = (
        [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": unschedulable}]
        if unschedulable
        else []
    )
    return {
        "metadata": {"name": name, "labels": {TASK_UID_LABEL: uid}},
        "spec": {"nodeName": node} if node else {},
        "status": {"conditions": conditions},
    }


SENT = {"remote": {"identifier": "member-1", "name": "j"}}
UNSCHEDULABLE = "0/10 nodes are available: 10 Insufficient nvidia.com/gpu.\npreemption: 0/10 nodes are available."


@pytest.mark.parametrize(
    ("task", "pods", "events", "figures", "unbound"),
    [
        pytest.param(
            _task("a", "u1", status=SENT, replicas=2),
            [_pod("p0", "u1", "n0"), _pod("p1", "u1", "n1")],
            [],
            {"placement_regret": 0, "dispatched": 1},
            {},
            id="a gang with every pod bound has no regret",
        ),
        pytest.param(
            _task("a", "u1", status=SENT, replicas=2),
            [_pod("p0", "u1", "n0"), _pod("p1", "u1", unschedulable=UNSCHEDULABLE)],
            [],
            {"placement_regret": 1},
            {"a": 1},
            id="a pod left Unschedulable is regret and unbound",
        ),
        pytest.param(
            _task("a", "u1", status=SENT),
            [_pod("p0", "u1", "n0")],
            [{"reason": "FailedScheduling", "involvedObject": {"kind": "Pod", "name": "p0"}, "message": "0/3 nodes"}],
            {"placement_regret": 1},
            {},
            id="a FailedScheduling event counts though the pod was bound later",
        ),
        pytest.param(
            _task(
                "a",
                "u1",
                status={
                    **SENT,
                    "conditions": [{"type": "Dispatched", "status": "True", "reason": "SnapshotStale", "message": "x"}],
                },
            ),
            [_pod("p0", "u1", unschedulable="0/3 nodes")],
            [],
            {"placement_regret": 0, "stale_excused": 1},
            {"a": 1},
            id="a task that says its snapshot was stale is excused",
        ),
        pytest.param(
            _task(
                "w",
                "u2",
                status={
                    "conditions": [
                        {"type": "Placed", "status": "False", "reason": "NoFit", "message": "0/3 identifiers fit"}
                    ]
                },
            ),
            [],
            [],
            {"dispatched": 0, "waiting_with_reason": 1, "waiting_without_reason": 0},
            {},
            id="a waiting task with Placed=False, a reason and one line says why",
        ),
        pytest.param(
            _task(
                "w",
                "u2",
                status={
                    "conditions": [{"type": "Placed", "status": "False", "reason": "NoFit", "message": "two\nlines"}]
                },
            ),
            [],
            [],
            {"waiting_with_reason": 0, "waiting_without_reason": 1},
            {},
            id="a message of two lines does not say why in one line",
        ),
        pytest.param(
            _task("w", "u2", status={}),
            [],
            [],
            {"waiting_without_reason": 1},
            {},
            id="a task with no Placed condition does not say why",
        ),
    ],
)
def test_tally_counts_regret_and_reasons(
    task: dict[str, Any],
    pods: list[dict[str, Any]],
    events: list[dict[str, Any]],
    figures: dict[str, int],
    unbound: dict[str, int],
) -> None:
    ledger = Ledger()
    ledger.observe_pods("member-1", pods)
    ledger.observe_events("member-1", events)
    result = tally([task], ledger)
    assert {k: v for k, v in result.figures().items() if k in figures} == figures
    assert result.unbound == unbound


def test_a_regret_keeps_the_schedulers_message_on_one_line() -> None:
    ledger = Ledger()
    ledger.observe_pods("member-2", [_pod("p1", "u1", unschedulable=UNSCHEDULABLE)])
    (regret,) = tally([_task("a", "u1", status=SENT)], ledger).regret
    assert str(regret) == (
        "task a: pod member-2/p1 (never bound): 0/10 nodes are available: 10 Insufficient nvidia.com/gpu. "
        "preemption: 0/10 nodes are available."
    )
