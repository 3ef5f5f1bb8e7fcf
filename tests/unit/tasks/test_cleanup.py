"""Removing a task's remote work: which Jobs `cancel` deletes, how long it waits for unreachable
members, and which Jobs the orphan sweep leaves alone.

The member side is a stand-in for the member access port (`tasks/access.py`): it reports the Jobs
the member watches saw and records the deletes asked of each member, or answers as an unreachable
member does. The deletes themselves, and the sweep's check on the hub, run against real API servers
in tests/integration/test_tasks.py (deleting tasks mid-flight, the orphan sweep).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from computenet.api.constants import Reason
from computenet.api.task import RemoteRef
from computenet.dispatch.jobs import JobFacts
from computenet.dispatch.remote import MemberAnswer
from computenet.dispatch.store import JobStore
from computenet.events import ObjectRef
from computenet.members.connection import MemberConnection
from computenet.tasks.book import TaskBook
from computenet.tasks.cleanup import CANCEL_TIMEOUT_S, CancelPending, Cleanup
from computenet.tasks.lifecycle import Deleted, Event
from computenet.tasks.record import TaskRecord
from tasks.builders import record

DELETING_SINCE = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def connection(key: str) -> MemberConnection:
    conn = MemberConnection(key, f"https://{key}.example", None, watch=False)  # type: ignore[arg-type]
    conn.jobs = JobStore()  # as watch_workloads attaches a push member's workload watch
    return conn


def job(name: str, task_uid: str = "task-uid-1", *, origin: str = "research/train", deleting: bool = False) -> JobFacts:
    return JobFacts(
        namespace="computenet-workloads",
        name=name,
        uid=f"uid-{name}",
        task_uid=task_uid,
        attempt=1,
        identifier="member-1",
        phase="Running",
        start_time=None,
        completion_time=None,
        message=None,
        deleting=deleting,
        origin=origin,
    )


@dataclass
class Member:
    """What the access port's `remote(conn)` returns: deletes a Job, or fails as an unreachable member."""

    unreachable: bool = False
    deleted: list[tuple[str, str]] = field(default_factory=list)

    async def delete(self, namespace: str, name: str, kind: object = None) -> bool:
        if self.unreachable:
            raise MemberAnswer(None, "connection refused")
        self.deleted.append((namespace, name))
        return True


@dataclass
class Access:
    seen: list[tuple[MemberConnection, JobFacts]] = field(default_factory=list)
    by_identifier: dict[str, MemberConnection] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    registered: list[MemberConnection] = field(default_factory=list)

    def jobs_of(self, task_uid: str) -> list[tuple[MemberConnection, JobFacts]]:
        return [(c, j) for c, j in self.seen if j.task_uid == task_uid]

    def connection_of(self, identifier: str | None) -> MemberConnection | None:
        return self.by_identifier.get(identifier or "")

    def remote(self, conn: MemberConnection) -> Member:
        return self.members.setdefault(conn.key, Member())

    def connections(self) -> list[MemberConnection]:
        return self.registered


@dataclass
class Events:
    calls: list[tuple[ObjectRef, str, str, bool]] = field(default_factory=list)

    def record(self, ref: ObjectRef, reason: str, message: str, warning: bool = False) -> None:
        self.calls.append((ref, reason, message, warning))


@dataclass
class Controller:
    """What cleanup is given: the book, the members, the lifecycle's entry, the timers and a clock."""

    book: TaskBook
    access: Access = field(default_factory=Access)
    now: dt.datetime = DELETING_SINCE
    handled: list[tuple[str, Event]] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)

    def clock(self) -> dt.datetime:
        return self.now

    def handle(self, task: TaskRecord, event: Event) -> None:
        self.handled.append((task.uid, event))

    def forget(self, uid: str) -> None:
        self.forgotten.append(uid)

    @property
    def cleanup(self) -> Cleanup:
        return Cleanup(self.book, self.access, self.handle, self.forget, self.clock)


def controller(*tasks: TaskRecord) -> Controller:
    book = TaskBook(None, Events())  # type: ignore[arg-type]  # cleanup writes no status
    for t in tasks:
        book.records[t.uid] = t
    return Controller(book)


def events(ctl: Controller) -> list[tuple[str, str, bool]]:
    return [(reason, message, warning) for _, reason, message, warning in ctl.book.events.calls]  # type: ignore[attr-defined]


# ---- cancel ----


async def test_cancel_deletes_every_job_of_the_task_on_every_member_and_drops_the_task() -> None:
    task = record("Running")
    ctl = controller(task)
    a, b = connection("a"), connection("b")
    ctl.access.seen = [(a, job("train-1")), (b, job("train-2")), (b, job("other-1", task_uid="other"))]
    assert await ctl.cleanup.cancel(task, DELETING_SINCE) == 2
    assert ctl.access.members["a"].deleted == [("computenet-workloads", "train-1")]
    assert ctl.access.members["b"].deleted == [("computenet-workloads", "train-2")]
    assert ctl.book.get(task.uid) is None
    assert events(ctl) == []


@pytest.mark.parametrize(
    ("seen", "deleted"),
    [
        pytest.param(
            [], [("computenet-workloads", "train-4f2a9c1e-1")], id="the Job in status.remote, not seen by the watch yet"
        ),
        pytest.param(
            ["train-4f2a9c1e-1"],
            [("computenet-workloads", "train-4f2a9c1e-1")],
            id="the Job in status.remote and seen by the watch, deleted once",
        ),
    ],
)
async def test_cancel_deletes_the_job_the_status_names(seen: list[str], deleted: list[tuple[str, str]]) -> None:
    task = record(
        "Running", remote=RemoteRef(identifier="member-1", namespace="computenet-workloads", name="train-4f2a9c1e-1")
    )
    ctl = controller(task)
    conn = connection("a")
    ctl.access.by_identifier["member-1"] = conn
    ctl.access.seen = [(conn, job(name)) for name in seen]
    await ctl.cleanup.cancel(task, DELETING_SINCE)
    assert ctl.access.members["a"].deleted == deleted


async def test_cancel_tells_the_lifecycle_once_and_forgets_the_tasks_timers() -> None:
    task = record("Running")
    ctl = controller(task)
    conn = connection("a")
    ctl.access.seen = [(conn, job("train-1"))]
    ctl.access.members["a"] = Member(unreachable=True)
    with pytest.raises(CancelPending):
        await ctl.cleanup.cancel(task, DELETING_SINCE)
    ctl.access.members["a"] = Member()
    await ctl.cleanup.cancel(task, DELETING_SINCE)
    assert ctl.handled == [("task-uid-1", Deleted())]
    assert task.deleting is True
    assert ctl.forgotten == ["task-uid-1", "task-uid-1"]


async def test_an_unreachable_member_keeps_the_task_for_a_retry_and_the_reachable_ones_are_cleaned() -> None:
    task = record("Running")
    ctl = controller(task)
    down, up = connection("down"), connection("up")
    ctl.access.seen = [(down, job("train-1")), (up, job("train-2"))]
    ctl.access.members["down"] = Member(unreachable=True)
    ctl.now = DELETING_SINCE + dt.timedelta(seconds=CANCEL_TIMEOUT_S - 1)
    with pytest.raises(CancelPending, match=r"https://down\.example: connection refused"):
        await ctl.cleanup.cancel(task, DELETING_SINCE)
    assert ctl.access.members["up"].deleted == [("computenet-workloads", "train-2")]
    assert ctl.book.get(task.uid) is task
    assert events(ctl) == []


async def test_after_the_cancel_timeout_the_rest_is_left_to_the_sweep_with_a_warning() -> None:
    task = record("Running")
    ctl = controller(task)
    ctl.access.seen = [(connection("down"), job("train-1")), (connection("down2"), job("train-2"))]
    ctl.access.members["down"] = Member(unreachable=True)
    ctl.access.members["down2"] = Member(unreachable=True)
    ctl.now = DELETING_SINCE + dt.timedelta(seconds=CANCEL_TIMEOUT_S)
    assert await ctl.cleanup.cancel(task, DELETING_SINCE) == 0
    assert ctl.book.get(task.uid) is None
    assert events(ctl) == [
        (
            Reason.CANCEL_TIMED_OUT,
            "gave up waiting for 2 member(s) after 120s; the orphan sweep will remove the remaining Jobs when they "
            "are reachable",
            True,
        )
    ]


# ---- the orphan sweep ----


class Hub:
    """The hub's custom objects API, which the sweep must not ask about the Jobs it skips."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the sweep asked the hub ({name}) about a Job it should have skipped")


def sweeping(*jobs: JobFacts, synced: bool = True, known: tuple[str, ...] = ()) -> tuple[Controller, MemberConnection]:
    ctl = controller(*(_task(uid) for uid in known))
    conn = connection("a")
    store = conn.jobs
    assert store is not None
    if synced:
        store.replace({f"{j.namespace}/{j.name}": j for j in jobs})
    else:
        for j in jobs:
            store.upsert(f"{j.namespace}/{j.name}", j)
    ctl.access.registered.append(conn)
    return ctl, conn


def _task(uid: str) -> TaskRecord:
    t = record("Running")
    t.uid = uid
    return t


@pytest.mark.parametrize(
    ("jobs", "synced", "known"),
    [
        pytest.param([job("j1", "gone")], False, (), id="a member whose Job watch has not listed yet"),
        pytest.param([job("j1", "gone", deleting=True)], True, (), id="a Job already being deleted"),
        pytest.param([job("j1", "alive")], True, ("alive",), id="a Job whose task the operator holds"),
    ],
)
async def test_the_sweep_leaves_alone(jobs: list[JobFacts], synced: bool, known: tuple[str, ...]) -> None:
    ctl, _ = sweeping(*jobs, synced=synced, known=known)
    assert await ctl.cleanup.sweep(Hub()) == 0  # type: ignore[arg-type]
    assert ctl.access.members.get("a", Member()).deleted == []


async def test_the_sweep_skips_a_member_without_a_job_watch() -> None:
    ctl = controller()
    conn = MemberConnection("pull", "https://pull.example", None, watch=False)  # type: ignore[arg-type]
    ctl.access.registered.append(conn)
    assert await ctl.cleanup.sweep(Hub()) == 0  # type: ignore[arg-type]


async def test_a_job_without_an_origin_is_an_orphan_and_is_removed() -> None:
    ctl, _ = sweeping(job("j1", "gone", origin=""), job("j2", "alive"), known=("alive",))
    assert await ctl.cleanup.sweep(Hub()) == 1  # type: ignore[arg-type]
    assert ctl.access.members["a"].deleted == [("computenet-workloads", "j1")]


async def test_an_orphan_on_an_unreachable_member_is_left_for_the_next_sweep() -> None:
    ctl, _ = sweeping(job("j1", "gone", origin=""))
    ctl.access.members["a"] = Member(unreachable=True)
    assert await ctl.cleanup.sweep(Hub()) == 0  # type: ignore[arg-type]
