"""One store, one watch per workload kind: a kind's list replaces its own entries only."""

from __future__ import annotations

from typing import Any

from computenet.dispatch.jobs import JobFacts
from computenet.dispatch.store import JobStore
from computenet.workloads.kinds import DEPLOYMENT, JOB, STATEFULSET, Kind


def facts(name: str, task: str, kind: Kind = JOB, **extra: Any) -> JobFacts:
    return JobFacts(
        namespace="work",
        name=name,
        uid=f"uid-{name}",
        task_uid=task,
        attempt=1,
        identifier="member-1",
        phase="Running",
        start_time=None,
        completion_time=None,
        message=None,
        deleting=False,
        origin=f"default/{task}",
        kind=kind,
        **extra,
    )


def test_a_kinds_relist_leaves_the_other_kinds_entries_alone() -> None:
    store = JobStore()
    told: list[str] = []
    store.subscribe(told.append)
    store.replace({"work/train": facts("train", "t-job")})
    deployments = store.of_kind(DEPLOYMENT)
    deployments.replace({"work/web": facts("web", "t-web", DEPLOYMENT)})
    store.of_kind(STATEFULSET).replace({})
    store.replace({"work/train": facts("train", "t-job")})  # the Jobs watch lists again
    assert {f.name for f in store.of_task("t-web")} == {"web"}
    assert {f.name for f in store.of_task("t-job")} == {"train"}
    deployments.replace({})  # the Deployments watch lists again: its object is gone
    assert store.of_task("t-web") == []
    assert [f.name for f in store.of_task("t-job")] == ["train"]
    assert "t-web" in told


def test_a_job_and_a_deployment_of_one_name_are_two_entries() -> None:
    store = JobStore()
    store.replace({"work/same": facts("same", "t1")})
    store.of_kind(DEPLOYMENT).upsert("work/same", facts("same", "t2", DEPLOYMENT))
    assert [f.kind for f in store.of_task("t1")] == [JOB]
    assert [f.kind for f in store.of_task("t2")] == [DEPLOYMENT]
    store.of_kind(DEPLOYMENT).delete("work/same")
    assert store.of_task("t2") == []
    assert len(store.of_task("t1")) == 1
