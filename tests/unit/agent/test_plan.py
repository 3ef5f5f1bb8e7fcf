"""The agent's reconcile pass: create what the hub placed, mirror, never run an attempt twice, fence."""

from __future__ import annotations

from typing import Any

import pytest

from computenet.agent.plan import Delete, JobView, Mirror, WorkView, job_view, plan

NS = "computenet-workloads"


def work(
    name: str, *, job: dict[str, Any] | None = None, applied: str | None = None, reason: str | None = None
) -> WorkView:
    manifest = {"metadata": {"namespace": NS, "name": name}}
    return WorkView(name, manifest, job, applied, reason)


def job(name: str, **status: Any) -> JobView:
    return job_view({"metadata": {"namespace": NS, "name": name, "uid": f"uid-{name}"}, "status": status})


def kinds(actions: list[Any]) -> list[str]:
    return [type(a).__name__ for a in actions]


@pytest.mark.parametrize(
    ("works", "jobs", "synced", "expected"),
    [
        pytest.param([work("a")], [], True, ["Create"], id="new work: create its Job"),
        pytest.param([work("a")], [], False, [], id="before both lists are read nothing is created"),
        pytest.param(
            [work("a", job={"uid": "uid-a"}, applied="True", reason="Created")],
            [],
            True,
            ["MarkGone"],
            id="a Job that existed and vanished is not created again",
        ),
        pytest.param(
            [work("a", job={"uid": "uid-a"}, applied="False", reason="JobGone")],
            [],
            True,
            [],
            id="a Job already marked gone is left alone",
        ),
        pytest.param(
            [work("a", applied="False", reason="InvalidSpec")],
            [],
            True,
            [],
            id="a Job the member refused is not retried",
        ),
        pytest.param(
            [work("a", applied="False", reason="Forbidden")],
            [],
            True,
            ["Create"],
            id="a Job refused for now is retried",
        ),
        pytest.param([work("a")], [job("a")], True, ["Mirror"], id="a Job found before its work said so is adopted"),
        pytest.param([], [job("a")], True, ["Delete"], id="a Job whose work the hub removed is deleted (fencing)"),
        pytest.param([], [job("a")], False, [], id="no Job is taken for an orphan before the works are listed"),
    ],
)
def test_plan(works: list[WorkView], jobs: list[JobView], synced: bool, expected: list[str]) -> None:
    actions = plan({w.name: w for w in works}, {f"{j.namespace}/{j.name}": j for j in jobs}, synced)
    assert kinds(actions) == expected


def test_an_adopted_job_is_mirrored_as_adopted_and_a_created_one_keeps_its_reason() -> None:
    (adopt,) = plan({"a": work("a")}, {f"{NS}/a": job("a", active=1)}, True)
    assert isinstance(adopt, Mirror)
    assert adopt.reason == "Adopted"
    mirrored = job("a", active=1).mirror
    same = work("a", job=dict(mirrored), applied="True", reason="Created")
    assert plan({"a": same}, {f"{NS}/a": job("a", active=1)}, True) == []
    (update,) = plan({"a": same}, {f"{NS}/a": job("a", succeeded=1)}, True)
    assert isinstance(update, Mirror)
    assert update.reason == "Created"
    assert update.job["succeeded"] == 1


def test_a_deleting_work_wants_no_job() -> None:
    deleting = WorkView("a", {"metadata": {"namespace": NS, "name": "a"}}, None, None, None, deleting=True)
    assert kinds(plan({"a": deleting}, {f"{NS}/a": job("a")}, True)) == ["Delete"]


def test_job_view_mirrors_what_the_hub_reads() -> None:
    view = job_view(
        {
            "metadata": {"namespace": NS, "name": "a", "uid": "u"},
            "status": {
                "active": 1,
                "startTime": "2026-11-30T12:00:00Z",
                "conditions": [{"type": "Complete", "status": "True", "lastProbeTime": "x"}],
            },
        }
    )
    assert view.mirror == {
        "namespace": NS,
        "name": "a",
        "uid": "u",
        "active": 1,
        "startTime": "2026-11-30T12:00:00Z",
        "conditions": [{"type": "Complete", "status": "True"}],
    }
    assert isinstance(plan({}, {f"{NS}/a": view}, True)[0], Delete)


# ---- workloads of other kinds ----


def test_a_deployment_is_mirrored_with_its_kind_and_whole_status_and_deleted_by_its_kind() -> None:
    from computenet.agent.plan import Delete, plan, podless, workload_view
    from computenet.workloads.kinds import DEPLOYMENT

    obj = {
        "metadata": {"namespace": "ns", "name": "d-1", "uid": "u"},
        "status": {"replicas": 2, "availableReplicas": 1},
    }
    view = workload_view(DEPLOYMENT, obj)
    assert view.kind is DEPLOYMENT
    assert view.mirror == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "namespace": "ns",
        "name": "d-1",
        "uid": "u",
        "status": {"replicas": 2, "availableReplicas": 1},
    }
    assert not podless(view)
    assert podless(workload_view(DEPLOYMENT, {"metadata": {"namespace": "ns", "name": "d-1"}, "status": {}}))
    assert plan({}, {"ns/d-1": view}, synced=True) == [Delete("ns", "d-1", DEPLOYMENT)]
