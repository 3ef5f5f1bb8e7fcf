"""Staging objects of ended attempts (tasks.staging.sweep, Cleanup.sweep_staging): which the sweep removes.

The member is a stand-in listing the mover Jobs it holds and recording the removals by label; the
same sweep runs against a real member in tests/integration/test_data_staging.py (a task deleted
while the operator was down).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from computenet.tasks.record import TaskRecord
from computenet.tasks.staging.sweep import StagedAttempt, attempt_of, state
from tasks.builders import record
from tasks.test_cleanup import Hub, connection, controller

NS = "computenet-workloads"
LABELS = {
    "computenet.io/task-uid": "task-uid-1",
    "computenet.io/attempt": "2",
    "computenet.io/task-namespace": "research",
    "computenet.io/task-name": "train",
}


def _record(phase: str, attempt: int = 2, deleting: bool = False) -> TaskRecord:
    r = record(phase, attempt=attempt)
    r.deleting = deleting
    return r


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        pytest.param(_record("Dispatching"), "live", id="the attempt its task is staging now is live"),
        pytest.param(_record("Running"), "live", id="the attempt its task runs is live"),
        pytest.param(_record("Dispatching", attempt=3), "ended", id="an older attempt of a task placed again ended"),
        pytest.param(_record("Pending", attempt=3), "ended", id="the attempt of a task waiting to be placed ended"),
        pytest.param(_record("Succeeded"), "ended", id="the attempt of a finished task ended"),
        pytest.param(_record("Running", deleting=True), "ended", id="the attempt of a task being deleted ended"),
        pytest.param(None, "unknown", id="a task the book does not hold: the hub must say"),
    ],
)
def test_an_attempt_is_live_while_its_task_dispatches_or_runs_it(task: TaskRecord | None, expected: str) -> None:
    seen = attempt_of(NS, LABELS)
    assert seen == StagedAttempt(NS, "task-uid-1", "2", "research", "train")
    assert state(seen, task) == expected


def test_an_object_without_the_attempts_labels_names_no_attempt() -> None:
    assert attempt_of(NS, {"computenet.io/task-uid": "u"}) is None
    assert attempt_of(NS, LABELS) is not None
    assert attempt_of(NS, LABELS).selector == (  # type: ignore[union-attr]
        "app.kubernetes.io/managed-by=computenet-staging,computenet.io/task-uid=task-uid-1,computenet.io/attempt=2"
    )


@dataclass
class StagingMember:
    movers: list[dict[str, Any]] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)

    async def delete(self, namespace: str, name: str, kind: object = None) -> bool:
        raise AssertionError("the staging sweep removes by label only")

    async def jobs_labelled(self, selector: str) -> list[dict[str, Any]]:
        self.listed.append(selector)
        return self.movers

    async def delete_collection(self, namespace: str, selector: str) -> None:
        self.removed.append((namespace, selector))


def _mover(attempt: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"train-m{attempt}",
            "namespace": NS,
            "labels": {**LABELS, "computenet.io/attempt": attempt},
        }
    }


async def test_the_sweep_removes_the_staging_of_ended_attempts_once_and_leaves_the_live_one() -> None:
    task = _record("Dispatching", attempt=3)
    ctl = controller(task)
    conn = connection("a")
    assert conn.jobs is not None
    conn.jobs.replace({})  # the member's watch has listed
    member = StagingMember([_mover("2"), _mover("3")])
    ctl.access.registered.append(conn)
    ctl.access.members["a"] = member  # type: ignore[assignment]
    cleanup = ctl.cleanup
    cleanup.hub_id = "hub-1"
    assert await cleanup.sweep_staging(Hub()) == 1  # type: ignore[arg-type]
    assert member.listed == ["app.kubernetes.io/managed-by=computenet-staging,computenet.io/hub=hub-1"]
    assert member.removed == [(NS, "app.kubernetes.io/managed-by=computenet-staging,computenet.io/task-uid=task-uid-1,"
                                   "computenet.io/attempt=2")]  # fmt: skip
    assert await cleanup.sweep_staging(Hub()) == 0  # type: ignore[arg-type]  # asked once


async def test_the_sweep_waits_for_a_member_whose_watch_has_not_listed() -> None:
    ctl = controller(_record("Succeeded"))
    conn = connection("a")
    member = StagingMember([_mover("2")])
    ctl.access.registered.append(conn)
    ctl.access.members["a"] = member  # type: ignore[assignment]
    assert await ctl.cleanup.sweep_staging(Hub()) == 0  # type: ignore[arg-type]
    assert member.removed == []
