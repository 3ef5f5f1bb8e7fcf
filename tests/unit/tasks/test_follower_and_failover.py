"""The follower (Jobs seen, stale, vanished) and the failover (member lost, since when), without a cluster."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from computenet.api.common import Condition
from computenet.api.constants import ConditionType, Reason
from computenet.api.data import TaskDataStatus
from computenet.api.identifier import Pricing
from computenet.dispatch.jobs import JobFacts
from computenet.dispatch.remote import MemberAnswer
from computenet.dispatch.store import JobStore
from computenet.members.connection import Health
from computenet.tasks import follower as follower_module
from computenet.tasks import lifecycle as lc
from computenet.tasks.failover import Failover
from computenet.tasks.follower import Follower
from computenet.tasks.lifecycle.startup import NO_POD_GRACE_S, PULL_GRACE_S, StartView
from computenet.tasks.record import TaskRecord
from computenet.workloads.kinds import DEPLOYMENT
from tasks.builders import IDENTIFIER, REMOTE, identifier_spec, record

NOW = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.UTC)
STARTED = NOW - dt.timedelta(seconds=100)


def job(attempt: int = 1, phase: str = "Running", identifier: str = IDENTIFIER, **extra: Any) -> JobFacts:
    fields: dict[str, Any] = {
        "namespace": "computenet-workloads",
        "name": f"train-4f2a9c1e-{attempt}",
        "uid": "job-uid-1" if attempt == 1 else f"job-uid-{attempt}",
        "task_uid": "task-uid-1",
        "attempt": attempt,
        "identifier": identifier,
        "phase": phase,
        "start_time": STARTED,
        "completion_time": NOW if phase in ("Succeeded", "Failed") else None,
        "message": "BackoffLimitExceeded: Job has reached the specified backoff limit" if phase == "Failed" else None,
        "deleting": False,
        "origin": "research/train",
        **extra,
    }
    return JobFacts(**fields)


class Remote:
    def __init__(
        self, existing: dict[str, Any] | None = None, words: str | None = "", refuse: MemberAnswer | None = None
    ) -> None:
        self.existing = existing
        self.words = words
        self.refuse = refuse
        self.deleted: list[str] = []

    async def delete(self, namespace: str, name: str, kind: object = None) -> bool:
        if self.refuse is not None:
            raise self.refuse
        self.deleted.append(name)
        return True

    async def warnings(self, namespace: str, name: str, uid: str) -> str | None:
        return self.words

    async def read(self, namespace: str, name: str, kind: object = None) -> dict[str, Any] | None:
        return self.existing


@dataclass
class Conn:
    key: str = "member-1-server"
    server: str = "https://member-1:6443"
    jobs: JobStore = field(default_factory=JobStore)
    health: Health = field(default_factory=lambda: Health(reachable=True))
    watch_problem: str = ""
    """What ``optional_problem`` says of the workload kinds' watches."""

    def stale(self) -> str:
        return ""

    def optional_problem(self, names: Any) -> str:
        return self.watch_problem


class Access:
    def __init__(self, jobs: list[JobFacts], remote: Remote, synced: bool = True) -> None:
        self.conn = Conn()
        self.conn.jobs.replace({f"{j.namespace}/{j.name}": j for j in jobs})
        self.conn.jobs.synced = synced
        self.remote_ = remote

    def jobs_of(self, task_uid: str) -> list[tuple[Conn, JobFacts]]:
        return [(self.conn, j) for j in self.conn.jobs.of_task(task_uid)]

    def connection_of(self, identifier: str | None) -> Conn | None:
        return self.conn if identifier == IDENTIFIER else None

    kept_for: frozenset[str] = frozenset()
    """Identifiers whose previous connection is kept for their work."""

    def kept(self, identifier: str) -> bool:
        return identifier in self.kept_for

    def remote(self, conn: Conn) -> Remote:
        return self.remote_

    def pricing_of(self, identifier: str) -> Pricing | None:
        return Pricing(currency="USD", per_cpu_core_hour=3.6)

    stuck: str | None = None
    pods: tuple[str, ...] | None = None
    """The current attempt's pods' waiting problems (None: the member's picture is not current)."""

    def start_view(self, identifier: str, job: JobFacts, created: dt.datetime) -> StartView | None:
        if self.pods is None:
            return None
        return StartView(created, () if not job.has_pods else self.pods)

    def unschedulable(
        self, identifier: str, task_uid: str, attempt: int, now: dt.datetime, grace_s: float
    ) -> str | None:
        return self.stuck


class Book:
    def __init__(self, *records: TaskRecord) -> None:
        self.records = {r.uid: r for r in records}
        self.events: list[str] = []

    def __iter__(self) -> Any:
        return iter(list(self.records.values()))

    def get(self, uid: str) -> TaskRecord | None:
        return self.records.get(uid)

    def event(self, record: TaskRecord, reason: str, message: str, warning: bool = False) -> None:
        self.events.append(reason)


def _follower(rec: TaskRecord, access: Access) -> tuple[Follower, list[lc.Event], list[Any]]:
    delivered: list[lc.Event] = []
    spawned: list[Any] = []
    follower = Follower(
        Book(rec),  # type: ignore[arg-type]
        access,  # type: ignore[arg-type]
        lambda r, e: delivered.append(e),
        lambda coro, name: spawned.append(coro),
        lambda: NOW,
    )
    return follower, delivered, spawned


async def _run(spawned: list[Any]) -> None:
    while spawned:
        await asyncio.gather(*[spawned.pop() for _ in range(len(spawned))])


async def test_the_current_attempts_job_is_mirrored() -> None:
    rec = record("Dispatching", remote=REMOTE)
    follower, delivered, _ = _follower(rec, Access([job(1, "Running")], Remote()))
    follower.follow(rec)
    assert delivered == [lc.JobRunning(REMOTE, 1, STARTED)]


async def test_a_finished_job_is_metered_from_what_the_attempt_dispatched() -> None:
    rec = record("Running", remote=REMOTE, start_time=STARTED)
    follower, delivered, _ = _follower(rec, Access([job(1, "Succeeded")], Remote()))
    follower.follow(rec)
    (event,) = delivered
    assert isinstance(event, lc.JobFinished)
    assert event.succeeded
    assert event.ran.seconds == 100
    assert event.ran.core_seconds == 100  # 1 replica x 1 cpu (status.placement.resources) x 100 s
    assert round(event.ran.cost, 6) == 0.1  # 3.6 per core-hour


class Outputs:
    """Reads a finished attempt's output pushes: answers `pushed`, or refuses as an unreachable member first."""

    def __init__(self, pushed: lc.OutputsPushed | None, refusals: int = 0) -> None:
        self.pushed, self.refusals, self.calls = pushed, refusals, 0

    async def __call__(
        self, record: TaskRecord, member: object, namespace: str, identifier: str, succeeded: bool
    ) -> lc.OutputsPushed | None:
        self.calls += 1
        if self.calls <= self.refusals:
            raise MemberAnswer(None, "connection refused")
        return self.pushed


def _with_outputs(rec: TaskRecord) -> TaskRecord:
    body = rec.spec.model_dump(by_alias=True, exclude_none=True)
    body["data"] = {
        "outputs": [{"mountPath": "/out", "uri": "s3://results/r/"}],
        "credentials": [{"bucket": "results", "endpoint": "http://r:1", "secretName": "keys"}],
    }
    rec.spec = type(rec.spec).model_validate(body)
    return rec


async def test_a_finished_attempt_with_outputs_is_delivered_once_its_pushes_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(follower_module, "RETRY_S", 0.0)
    rec = _with_outputs(record("Running", remote=REMOTE, start_time=STARTED))
    pushed = lc.OutputsPushed(TaskDataStatus(identifier=IDENTIFIER, attempt=1), "p", moved=10)
    reader = Outputs(pushed, refusals=1)  # the member does not answer the first read
    follower, delivered, spawned = _follower(rec, Access([job(1, "Succeeded")], Remote()))
    follower.outputs = reader
    follower.follow(rec)
    follower.follow(rec)  # a second watch event while the read runs starts no second read
    assert delivered == []
    await _run(spawned)
    (event,) = delivered
    assert isinstance(event, lc.JobFinished)
    assert event.outputs is pushed
    assert reader.calls == 2


async def test_a_finished_attempt_whose_member_stages_nothing_is_delivered_as_it_is() -> None:
    rec = _with_outputs(record("Running", remote=REMOTE, start_time=STARTED))
    follower, delivered, spawned = _follower(rec, Access([job(1, "Succeeded")], Remote()))
    follower.outputs = Outputs(None)
    follower.follow(rec)
    await _run(spawned)
    (event,) = delivered
    assert isinstance(event, lc.JobFinished)
    assert event.outputs is None


async def test_stale_jobs_are_removed_and_not_mirrored() -> None:
    second = REMOTE.model_copy(update={"name": "train-4f2a9c1e-2", "uid": "job-uid-2"})
    rec = record("Running", remote=second, attempt=2)
    remote = Remote(existing={"metadata": {"uid": "job-uid-2"}})  # attempt 2 exists, the watch lags
    follower, delivered, spawned = _follower(rec, Access([job(1, "Running")], remote))
    follower.follow(rec)
    await _run(spawned)
    assert remote.deleted == ["train-4f2a9c1e-1"]
    assert delivered == []


async def test_nothing_is_judged_while_a_create_is_in_flight() -> None:
    rec = record("Pending")
    rec.dispatching = True
    remote = Remote()
    follower, _, spawned = _follower(rec, Access([job(1, "Running")], remote))
    follower.follow(rec)
    assert spawned == []


async def test_a_job_missing_from_a_synced_watch_and_from_the_member_is_gone() -> None:
    rec = record("Running", remote=REMOTE, start_time=STARTED)
    follower, delivered, spawned = _follower(rec, Access([], Remote(existing=None)))
    follower.follow(rec)
    await _run(spawned)
    (event,) = delivered
    assert isinstance(event, lc.JobGone)
    assert (event.identifier, event.attempt) == (IDENTIFIER, 1)
    assert "was deleted" in event.message
    assert event.ran is not None
    assert event.ran.seconds == 100


async def test_a_job_deleted_while_no_event_could_say_so_is_found_by_the_periodic_check() -> None:
    rec = record("Running", remote=REMOTE, start_time=STARTED)
    follower, delivered, spawned = _follower(rec, Access([], Remote(existing=None)))
    follower.check_all()
    await _run(spawned)
    assert [type(e) for e in delivered] == [lc.JobGone]


async def test_the_periodic_check_leaves_visible_jobs_alone() -> None:
    rec = record("Running", remote=REMOTE, start_time=STARTED)
    follower, delivered, spawned = _follower(rec, Access([job(1, "Running")], Remote(existing=None)))
    follower.check_all()
    assert spawned == []
    assert delivered == []


async def test_a_pod_no_node_takes_for_too_long_ends_the_attempt() -> None:
    rec = record("Running", remote=REMOTE, start_time=STARTED)
    access = Access([job(1, "Running")], Remote())
    access.stuck = "a pod found no node for 130s: 0/10 nodes are available"
    follower, delivered, _ = _follower(rec, access)
    follower.check_all()
    assert delivered == [lc.PodsUnschedulable(IDENTIFIER, 1, access.stuck)]


async def test_a_job_the_watch_has_not_seen_yet_is_not_gone() -> None:
    rec = record("Dispatching", remote=REMOTE)
    follower, delivered, spawned = _follower(rec, Access([], Remote(existing={"metadata": {"uid": "job-uid-1"}})))
    follower.follow(rec)
    await _run(spawned)
    assert delivered == []


async def test_an_unsynced_watch_proves_nothing() -> None:
    rec = record("Running", remote=REMOTE)
    follower, delivered, spawned = _follower(rec, Access([], Remote(existing=None), synced=False))
    follower.follow(rec)
    assert spawned == []
    assert delivered == []


# ---- serving workloads that are not available ----

WORDS = "1/2 replicas available (1 ready); Available=False MinimumReplicasUnavailable: ..."
SERVING = REMOTE.model_copy(update={"api_version": "apps/v1", "kind": "Deployment"})


def _serving_job(**extra: Any) -> JobFacts:
    return job(1, "Pending", kind=DEPLOYMENT, start_time=None, message=WORDS, **extra)


def _since(type_: str, status: str, seconds: float) -> list[Condition]:
    at = NOW - dt.timedelta(seconds=seconds)
    return [Condition(type=type_, status=status, reason="R", message="m", last_transition_time=at)]


async def test_a_running_serving_workload_that_reads_unavailable_is_reported_in_the_members_words() -> None:
    rec = record("Running", remote=SERVING, start_time=STARTED)
    follower, delivered, _ = _follower(rec, Access([_serving_job()], Remote()))
    follower.follow(rec)
    assert delivered == [
        lc.ReplicasUnavailable(IDENTIFIER, 1, f"Deployment computenet-workloads/train-4f2a9c1e-1: {WORDS}")
    ]


async def test_a_serving_workload_never_available_past_its_bound_after_dispatch_ends_the_attempt() -> None:
    rec = record("Dispatching", remote=SERVING, conditions=_since("Dispatched", "True", 601))
    follower, delivered, _ = _follower(rec, Access([_serving_job()], Remote()))
    follower.check_all()
    (event,) = delivered
    assert isinstance(event, lc.UnavailableTooLong)
    assert (event.identifier, event.attempt, event.ran) == (IDENTIFIER, 1, None)
    assert event.message.startswith("replicas not all available 601s after dispatch")
    assert event.message.endswith(f"Deployment computenet-workloads/train-4f2a9c1e-1: {WORDS}")


async def test_a_serving_workload_within_its_bound_is_left_alone() -> None:
    rec = record("Dispatching", remote=SERVING, conditions=_since("Dispatched", "True", 30))
    follower, delivered, _ = _follower(rec, Access([_serving_job()], Remote()))
    follower.check_all()
    assert delivered == []


async def test_a_running_serving_workload_unavailable_past_its_bound_ends_the_attempt_metered() -> None:
    rec = record("Running", remote=SERVING, start_time=STARTED, conditions=_since("Available", "False", 601))
    follower, delivered, _ = _follower(rec, Access([_serving_job()], Remote()))
    follower.check_all()
    (event,) = delivered
    assert isinstance(event, lc.UnavailableTooLong)
    assert event.message.startswith("replicas unavailable for 601s")
    assert event.ran is not None
    assert event.ran.seconds == 100


async def test_a_deployment_past_its_progress_deadline_ends_the_attempt_at_once() -> None:
    rec = record("Dispatching", remote=SERVING, conditions=_since("Dispatched", "True", 30))
    follower, delivered, _ = _follower(rec, Access([_serving_job(stalled=True)], Remote()))
    follower.check_all()
    assert [type(e) for e in delivered] == [lc.UnavailableTooLong]


async def test_no_unavailability_verdict_while_the_watch_of_its_kind_is_not_current() -> None:
    rec = record("Dispatching", remote=SERVING, conditions=_since("Dispatched", "True", 601))
    access = Access([_serving_job()], Remote())
    access.conn.watch_problem = "the member's deployments watch is not current (HTTP 500: ...)"
    follower, delivered, _ = _follower(rec, access)
    follower.check_all()
    assert delivered == []


async def test_a_job_is_never_judged_by_the_serving_bound() -> None:
    rec = record("Dispatching", remote=REMOTE, conditions=_since("Dispatched", "True", 6000))
    access = Access([job(1, "Pending", has_pods=True)], Remote())
    access.pods = ("",)
    follower, delivered, _ = _follower(rec, access)
    follower.check_all()
    assert delivered == []


# ---- failover ----


@dataclass
class Problem:
    reason: str
    message: str


@dataclass
class Item:
    name: str = IDENTIFIER
    connection: Conn | None = field(default_factory=Conn)
    problem: Problem | None = None
    spec: Any = field(default_factory=identifier_spec)


@dataclass
class Identifiers:
    items: dict[str, Item] = field(default_factory=dict)
    removed: dict[str, dt.datetime] = field(default_factory=dict)
    draining: dict[str, Conn] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)
    detached: dict[str, dt.datetime] = field(default_factory=dict)

    settled_: list[str] = field(default_factory=list)

    async def drained(self, name: str) -> None:
        self.draining.pop(name, None)
        self.released.append(name)

    def settled(self, name: str) -> None:
        self.settled_.append(name)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


def _failover(
    rec: TaskRecord, identifiers: Identifiers, clock: Clock, access: Access | None = None
) -> tuple[Failover, list[lc.Event]]:
    failover, delivered, _ = _failover_spawning(rec, identifiers, clock, access)
    return failover, delivered


def _failover_spawning(
    rec: TaskRecord, identifiers: Identifiers, clock: Clock, access: Access | None = None
) -> tuple[Failover, list[lc.Event], list[Any]]:
    delivered: list[lc.Event] = []
    spawned: list[Any] = []
    failover = Failover(
        Book(rec),  # type: ignore[arg-type]
        identifiers,  # type: ignore[arg-type]
        access or Access([], Remote()),  # type: ignore[arg-type]
        lambda r, e: delivered.append(e),
        lambda coro, name: spawned.append(coro),
        clock,
    )
    return failover, delivered, spawned


def test_a_usable_member_is_not_lost() -> None:
    rec = record("Running", remote=REMOTE)
    failover, delivered = _failover(rec, Identifiers({IDENTIFIER: Item()}), Clock())
    failover.check_all()
    assert delivered == []


def test_an_unreachable_member_is_lost_since_its_health_says() -> None:
    rec = record("Running", remote=REMOTE, start_time=STARTED)
    down = NOW - dt.timedelta(seconds=40)
    conn = Conn(health=Health(reachable=False, message="connection refused", since=down))
    failover, delivered = _failover(rec, Identifiers({IDENTIFIER: Item(connection=conn)}), Clock())
    failover.check_all()
    (event,) = delivered
    assert isinstance(event, lc.MemberLost)
    assert (event.since, event.why) == (down, "connection refused")
    assert event.ran is not None
    assert event.ran.seconds == 60  # metered up to the start of the outage


def test_a_missing_secret_is_a_loss_that_starts_when_first_seen() -> None:
    rec = record("Running", remote=REMOTE)
    clock = Clock()
    item = Item(connection=None, problem=Problem("SecretNotFound", "Secret computenet-system/x not found"))
    failover, delivered = _failover(rec, Identifiers({IDENTIFIER: item}), clock)
    failover.check_all()
    clock.now = NOW + dt.timedelta(seconds=30)
    failover.check_all()
    first, second = delivered
    assert isinstance(first, lc.MemberLost)
    assert isinstance(second, lc.MemberLost)
    assert first.since == second.since == NOW
    assert "not found" in first.why


def test_a_deleted_identifier_is_lost_since_its_deletion() -> None:
    rec = record("Dispatching", remote=REMOTE)
    gone = NOW - dt.timedelta(seconds=5)
    failover, delivered = _failover(rec, Identifiers({}, {IDENTIFIER: gone}), Clock())
    failover.check(rec)
    (event,) = delivered
    assert isinstance(event, lc.MemberLost)
    assert event.since == gone
    assert "deleted" in event.why


def test_a_member_back_is_announced_only_to_tasks_that_waited_for_it() -> None:
    waiting = record("Running", remote=REMOTE)
    lost = lc.transition(waiting.status, lc.MemberLost(IDENTIFIER, NOW, "down"), NOW, lc.TaskFacts(grace_period_s=60))
    waiting.status = lost.status
    failover, delivered = _failover(waiting, Identifiers({IDENTIFIER: Item()}), Clock())
    failover.check_all()
    assert delivered == [lc.MemberBack(IDENTIFIER)]


# ---- a deleted identifier of a member that answers is drained ----


async def test_a_deleted_identifier_whose_member_answers_is_drained_before_the_attempt_ends() -> None:
    rec = record("Running", remote=REMOTE, start_time=STARTED)
    remote = Remote()
    access = Access([job(1, "Running")], remote)
    identifiers = Identifiers({}, {IDENTIFIER: NOW - dt.timedelta(seconds=1)}, {IDENTIFIER: access.conn})
    failover, delivered, spawned = _failover_spawning(rec, identifiers, Clock(), access)
    failover.check_all()
    assert delivered == []  # nothing ends before the member has removed the Job
    await _run(spawned)
    assert remote.deleted == ["train-4f2a9c1e-1"]
    (event,) = delivered
    assert isinstance(event, lc.Drained)
    assert (event.identifier, event.attempt) == (IDENTIFIER, 1)
    assert "computenet-workloads/train-4f2a9c1e-1" in event.message
    assert event.ran is not None
    assert event.ran.seconds == 100


async def test_a_drain_the_member_refuses_is_tried_again_and_never_ends_the_attempt_by_itself() -> None:
    rec = record("Running", remote=REMOTE)
    remote = Remote(refuse=MemberAnswer(403, 'HTTP 403: jobs.batch is forbidden: User "x" cannot delete'))
    access = Access([job(1, "Running")], remote)
    identifiers = Identifiers({}, {IDENTIFIER: NOW}, {IDENTIFIER: access.conn})
    failover, delivered, spawned = _failover_spawning(rec, identifiers, Clock(), access)
    failover.check_all()
    await _run(spawned)
    assert delivered == []
    failover.check_all()
    assert len(spawned) == 1  # tried again on the next pass
    await _run(spawned)
    assert delivered == []


async def test_a_drain_that_cannot_finish_within_the_grace_period_follows_the_lost_member_path() -> None:
    rec = record("Running", remote=REMOTE)
    access = Access([job(1, "Running")], Remote())
    gone = NOW - dt.timedelta(seconds=rec.spec.failover.grace_period_seconds + 1)
    identifiers = Identifiers({}, {IDENTIFIER: gone}, {IDENTIFIER: access.conn})
    failover, delivered, spawned = _failover_spawning(rec, identifiers, Clock(), access)
    failover.check_all()
    assert spawned == []
    assert [type(e) for e in delivered] == [lc.MemberLost]


async def test_a_deleted_identifier_whose_member_is_unreachable_is_lost_not_drained() -> None:
    rec = record("Running", remote=REMOTE)
    access = Access([job(1, "Running")], Remote())
    access.conn.health = Health(reachable=False, message="connection refused", since=NOW)
    identifiers = Identifiers({}, {IDENTIFIER: NOW}, {IDENTIFIER: access.conn})
    failover, delivered, spawned = _failover_spawning(rec, identifiers, Clock(), access)
    failover.check_all()
    assert spawned == []
    assert [type(e) for e in delivered] == [lc.MemberLost]


async def test_the_connection_of_a_drained_identifier_goes_once_no_task_runs_there() -> None:
    rec = record("Pending")
    access = Access([], Remote())
    identifiers = Identifiers({}, {IDENTIFIER: NOW}, {IDENTIFIER: access.conn})
    failover, _, spawned = _failover_spawning(rec, identifiers, Clock(), access)
    failover.check_all()
    await _run(spawned)
    assert identifiers.released == [IDENTIFIER]
    assert identifiers.draining == {}


# ---- an identifier that leaves the member its attempt runs in ----


def _moved(access: Access, since: dt.datetime = NOW) -> Identifiers:
    draining = Problem("Draining", "the connection now leads to https://member-2:6443")
    elsewhere = Item(connection=Conn(key="member-2-server", server="https://member-2:6443"), problem=draining)
    return Identifiers({IDENTIFIER: elsewhere}, {}, {IDENTIFIER: access.conn}, detached={IDENTIFIER: since})


async def test_an_identifier_pointed_at_another_member_is_drained_from_the_previous_one() -> None:
    rec = record("Running", remote=REMOTE, start_time=STARTED)
    remote = Remote()
    access = Access([job(1, "Running")], remote)
    failover, delivered, spawned = _failover_spawning(rec, _moved(access), Clock(), access)
    failover.check_all()
    assert delivered == []  # nothing ends before the previous member has removed the Job
    await _run(spawned)
    assert remote.deleted == ["train-4f2a9c1e-1"]
    (event,) = delivered
    assert isinstance(event, lc.Drained)
    assert (event.identifier, event.attempt) == (IDENTIFIER, 1)
    assert "now leads to https://member-2:6443" in event.message
    assert "removed from https://member-1:6443: computenet-workloads/train-4f2a9c1e-1" in event.message


async def test_a_moved_identifier_whose_previous_member_is_unreachable_is_lost_since_the_move() -> None:
    rec = record("Running", remote=REMOTE)
    access = Access([job(1, "Running")], Remote())
    access.conn.health = Health(reachable=False, message="connection refused", since=NOW)
    moved = NOW - dt.timedelta(seconds=3)
    failover, delivered, spawned = _failover_spawning(rec, _moved(access, moved), Clock(), access)
    failover.check_all()
    assert spawned == []
    (event,) = delivered
    assert isinstance(event, lc.MemberLost)
    assert event.since == moved
    assert "now leads to" in event.why


def test_a_task_placed_through_the_new_connection_is_not_drained_by_the_kept_one() -> None:
    rec = record("Running", remote=REMOTE)
    access = Access([], Remote())
    settled = Item(connection=Conn(key="member-2-server", server="https://member-2:6443"))
    identifiers = Identifiers({IDENTIFIER: settled}, {}, {IDENTIFIER: access.conn}, detached={IDENTIFIER: NOW})
    failover, delivered, spawned = _failover_spawning(rec, identifiers, Clock(), access)
    failover.check_all()
    assert (delivered, spawned) == ([], [])


def _secret_gone(access: Access) -> Identifiers:
    item = Item(connection=None, problem=Problem("SecretNotFound", "Secret computenet-system/x does not exist"))
    return Identifiers({IDENTIFIER: item}, {}, {IDENTIFIER: access.conn})


async def test_a_deleted_secret_within_the_grace_period_leaves_the_workload_running() -> None:
    rec = record("Running", remote=REMOTE)
    remote = Remote()
    access = Access([job(1, "Running")], remote)
    failover, delivered, spawned = _failover_spawning(rec, _secret_gone(access), Clock(), access)
    failover.check_all()
    assert spawned == []
    assert remote.deleted == []
    assert [type(e) for e in delivered] == [lc.MemberLost]


async def test_a_deleted_secret_past_the_grace_period_removes_the_workload_before_the_attempt_is_lost() -> None:
    rec = record("Running", remote=REMOTE)
    remote = Remote()
    access = Access([job(1, "Running")], remote)
    clock = Clock()
    failover, delivered, spawned = _failover_spawning(rec, _secret_gone(access), clock, access)
    failover.check_all()  # the loss is first seen now
    delivered.clear()
    clock.now = NOW + dt.timedelta(seconds=rec.spec.failover.grace_period_seconds + 1)
    failover.check_all()
    assert delivered == []
    await _run(spawned)
    assert remote.deleted == ["train-4f2a9c1e-1"]
    (event,) = delivered
    assert isinstance(event, lc.MemberLost)
    assert event.since == NOW
    assert "removed from https://member-1:6443: computenet-workloads/train-4f2a9c1e-1" in event.why


async def test_a_refused_removal_past_the_grace_period_still_ends_the_attempt_and_leaves_it_to_fencing() -> None:
    rec = record("Running", remote=REMOTE)
    remote = Remote(refuse=MemberAnswer(503, "HTTP 503: unavailable"))
    access = Access([job(1, "Running")], remote)
    identifiers = _secret_gone(access)
    failover, delivered, spawned = _failover_spawning(rec, identifiers, Clock(), access)
    failover._unusable_since[IDENTIFIER] = NOW - dt.timedelta(seconds=rec.spec.failover.grace_period_seconds + 1)
    failover.check_all()
    await _run(spawned)
    (event,) = delivered
    assert isinstance(event, lc.MemberLost)
    assert "not removed from https://member-1:6443 yet" in event.why


async def test_a_kept_connection_stays_while_an_abandoned_workload_remains_in_its_member() -> None:
    requeued = record("Pending", attempt=2)
    access = Access([job(1, "Running")], Remote())
    access.conn.health = Health(reachable=False, message="connection refused", since=NOW)
    identifiers = Identifiers({}, {IDENTIFIER: NOW}, {IDENTIFIER: access.conn})
    failover, _, spawned = _failover_spawning(requeued, identifiers, Clock(), access)
    failover.check_all()
    assert spawned == []  # the member must answer again so fencing can remove attempt 1
    assert identifiers.settled_ == [IDENTIFIER]  # placement need not wait for that
    access.conn.health = Health(reachable=True)
    access.conn.jobs.replace({})
    failover.check_all()
    await _run(spawned)
    assert identifiers.released == [IDENTIFIER]


async def test_a_job_of_an_identifier_that_left_its_member_is_not_judged_gone_by_the_new_member() -> None:
    rec = record("Running", remote=REMOTE, start_time=STARTED)
    access = Access([], Remote(existing=None))
    access.kept_for = frozenset({IDENTIFIER})
    follower, delivered, spawned = _follower(rec, access)
    follower.follow(rec)
    await _run(spawned)
    assert spawned == []
    assert delivered == []


# ---- pods that never start ----


def _dispatched(created: dt.datetime) -> TaskRecord:
    dispatched = Condition(
        type=ConditionType.DISPATCHED,
        status="True",
        reason=Reason.DISPATCHED,
        message="created",
        last_transition_time=created,
    )
    return record("Dispatching", remote=REMOTE, conditions=[dispatched])


async def test_a_workload_the_member_makes_no_pod_for_ends_with_the_members_words() -> None:
    rec = _dispatched(NOW - dt.timedelta(seconds=NO_POD_GRACE_S + 1))
    words = 'FailedCreate: Error creating: pods "x" is forbidden: failed quota: q: must specify limits.memory'
    access = Access([job(1, "Pending", has_pods=False)], Remote(words=words))
    access.pods = ()
    follower, delivered, spawned = _follower(rec, access)
    follower.check_all()
    follower.check_all()  # one look at the member's events at a time
    assert len(spawned) == 1
    await _run(spawned)
    (event,) = delivered
    assert isinstance(event, lc.StartFailed)
    assert (event.identifier, event.attempt) == (IDENTIFIER, 1)
    assert event.message.startswith("the member created no pod of the workload in 61s: ")
    assert event.message.endswith(words)


async def test_unreadable_member_events_still_end_the_attempt_and_say_so() -> None:
    rec = _dispatched(NOW - dt.timedelta(seconds=NO_POD_GRACE_S + 1))
    access = Access([job(1, "Pending", has_pods=False)], Remote(words=None))
    access.pods = ()
    follower, delivered, spawned = _follower(rec, access)
    follower.check_all()
    await _run(spawned)
    (event,) = delivered
    assert isinstance(event, lc.StartFailed)
    assert "could not be read" in event.message


async def test_a_young_workload_without_pods_is_left_to_start() -> None:
    rec = _dispatched(NOW - dt.timedelta(seconds=NO_POD_GRACE_S - 1))
    access = Access([job(1, "Pending", has_pods=False)], Remote())
    access.pods = ()
    follower, delivered, spawned = _follower(rec, access)
    follower.check_all()
    assert (spawned, delivered) == ([], [])


async def test_a_container_that_cannot_start_ends_the_attempt_with_the_kubelets_words() -> None:
    rec = _dispatched(NOW - dt.timedelta(seconds=PULL_GRACE_S + 1))
    problem = 'main: CreateContainerConfigError: configmap "settings" not found'
    access = Access([job(1, "Pending", has_pods=True)], Remote())
    access.pods = ("", problem)
    follower, delivered, spawned = _follower(rec, access)
    follower.check_all()
    assert spawned == []
    (event,) = delivered
    assert isinstance(event, lc.StartFailed)
    assert event.message.endswith(problem)


async def test_no_verdict_on_a_member_picture_that_is_not_current() -> None:
    rec = _dispatched(NOW - dt.timedelta(seconds=3600))
    access = Access([job(1, "Pending", has_pods=False)], Remote())
    access.pods = None
    follower, delivered, spawned = _follower(rec, access)
    follower.check_all()
    assert (spawned, delivered) == ([], [])


async def test_a_running_task_is_not_judged_by_the_start_bound() -> None:
    rec = record("Running", remote=REMOTE, start_time=STARTED)
    access = Access([job(1, "Running", has_pods=False)], Remote())
    access.pods = ()
    follower, delivered, spawned = _follower(rec, access)
    follower.check_all()
    assert (spawned, delivered) == ([], [])


async def test_a_task_whose_create_is_in_flight_is_drained_once_it_is_answered() -> None:
    rec = record("Dispatching")
    rec.dispatching = True
    access = Access([], Remote())
    identifiers = Identifiers({}, {IDENTIFIER: NOW}, {IDENTIFIER: access.conn})
    failover, delivered, spawned = _failover_spawning(rec, identifiers, Clock(), access)
    failover.check_all()
    assert (spawned, delivered) == ([], [])
    rec.dispatching = False
    failover.check_all()
    await _run(spawned)
    assert [type(e) for e in delivered] == [lc.Drained]
