"""The executor carries out what the lifecycle decided: the write, Events, timers, releases, metrics.

The transition itself is tested pair by pair in test_lifecycle.py; here it is replaced by a table
of given outcomes so each effect's execution is checked on its own. The book's writer, the event
recorder and the assumptions are small recording stand-ins; Metrics is the real registry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from computenet.api.constants import TASK, KindInfo, Phase
from computenet.api.task import ComputeTaskStatus
from computenet.events import ObjectRef
from computenet.metrics import Metrics
from computenet.tasks import executor as executor_module
from computenet.tasks.book import TaskBook
from computenet.tasks.executor import Executor, Ports, facts_of
from computenet.tasks.lifecycle import (
    CountDispatched,
    CountFailover,
    CountFinished,
    Deleted,
    Dispatch,
    Effect,
    Emit,
    Fence,
    MeterData,
    Outcome,
    RecheckAt,
    Release,
    RetryAt,
    RetryDue,
    Wake,
)
from computenet.tasks.metering import Metered
from computenet.tasks.record import TaskRecord
from computenet.tasks.staging.transfers import Charge
from tasks.builders import CREATED, record, spec

NOW = CREATED + dt.timedelta(seconds=30)
LONG = dt.timedelta(hours=1)


@dataclass
class Writes:
    calls: list[tuple[str, str, ComputeTaskStatus, float]] = field(default_factory=list)

    def write(self, kind: KindInfo, namespace: str, name: str, status: ComputeTaskStatus, delay: float = 0.0) -> None:
        assert kind is TASK
        self.calls.append((namespace, name, status, delay))


@dataclass
class Events:
    calls: list[tuple[ObjectRef, str, str, bool]] = field(default_factory=list)

    def record(self, ref: ObjectRef, reason: str, message: str, warning: bool = False) -> None:
        self.calls.append((ref, reason, message, warning))


@dataclass
class Held:
    forgotten: list[str] = field(default_factory=list)

    def forget(self, task_uid: str) -> bool:
        self.forgotten.append(task_uid)
        return True


@dataclass
class Calls:
    dispatch: list[str] = field(default_factory=list)
    fence: list[str] = field(default_factory=list)
    recheck: list[str] = field(default_factory=list)

    def ports(self) -> Ports:
        return Ports(
            dispatch=lambda r: self.dispatch.append(r.uid),
            fence=lambda r: self.fence.append(r.uid),
            recheck=lambda r: self.recheck.append(r.uid),
        )


@dataclass
class Rig:
    executor: Executor
    book: TaskBook
    writes: Writes
    events: Events
    held: Held
    calls: Calls
    metrics: Metrics
    record: TaskRecord

    def sample(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


def rig(task: TaskRecord | None = None, clock: Callable[[], dt.datetime] = lambda: NOW) -> Rig:
    writes, events, held, calls = Writes(), Events(), Held(), Calls()
    book = TaskBook(writes, events)  # type: ignore[arg-type]
    task = task or record("Running")
    book.records[task.uid] = task
    metrics = Metrics.create()
    ex = Executor(book, held, metrics, clock, calls.ports())  # type: ignore[arg-type]
    return Rig(ex, book, writes, events, held, calls, metrics, task)


@pytest.fixture
def given(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make the transition answer with these effects (and this status, if given)."""

    def answer(*effects: Effect, status: ComputeTaskStatus | None = None, write_after: float = 0.0) -> None:
        def transition(current: ComputeTaskStatus, *_: object) -> Outcome:
            return Outcome(status or current, effects, write_after=write_after)

        monkeypatch.setattr(executor_module, "transition", transition)

    return answer


# ---- the status write ----


def test_a_changed_status_is_written_with_its_delay_and_the_phase_clock_restarts(given: Callable[..., None]) -> None:
    r = rig(record("Dispatching"))
    given(status=ComputeTaskStatus(phase=Phase.RUNNING, attempt=1), write_after=0.5)
    r.executor.handle(r.record, RetryDue())
    assert r.record.status.phase == Phase.RUNNING
    assert r.record.phase_since == NOW
    ((namespace, name, body, delay),) = r.writes.calls
    assert (namespace, name, body.phase, delay) == ("research", "train", Phase.RUNNING, 0.5)


def test_a_change_within_the_phase_is_written_but_keeps_the_phase_clock(given: Callable[..., None]) -> None:
    r = rig(record("Running"))
    given(status=r.record.status.model_copy(update={"message": "still running"}))
    r.executor.handle(r.record, RetryDue())
    assert r.record.phase_since is None
    assert [c[2].message for c in r.writes.calls] == ["still running"]


def test_an_unchanged_status_is_not_written(given: Callable[..., None]) -> None:
    r = rig()
    given()
    r.executor.handle(r.record, RetryDue())
    assert r.writes.calls == []


def test_a_task_gone_from_the_hub_is_updated_in_memory_but_not_written(given: Callable[..., None]) -> None:
    r = rig()
    r.record.gone = True
    given(status=ComputeTaskStatus(phase=Phase.CANCELLED, attempt=1))
    r.executor.handle(r.record, RetryDue())
    assert r.record.status.phase == Phase.CANCELLED
    assert r.writes.calls == []


def test_a_transition_that_raises_leaves_the_task_as_it_was_and_does_not_raise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_: object) -> Outcome:
        raise ValueError("a bug in a rule")

    monkeypatch.setattr(executor_module, "transition", broken)
    r = rig()
    before = r.record.status
    outcome = r.executor.handle(r.record, RetryDue())
    assert (outcome.status, outcome.effects, outcome.note) == (before, (), "transition failed")
    assert r.record.status is before
    assert r.writes.calls == []


def test_one_failing_effect_does_not_drop_the_ones_after_it(given: Callable[..., None]) -> None:
    r = rig()

    def fail(_: TaskRecord) -> None:
        raise RuntimeError("member gone")

    r.executor.ports = Ports(dispatch=fail, fence=lambda t: r.calls.fence.append(t.uid))
    given(Dispatch(attempt=1), Fence(), Emit("Fenced", "removed a stale Job"))
    r.executor.handle(r.record, RetryDue())
    assert r.calls.fence == ["task-uid-1"]
    assert [c[1] for c in r.events.calls] == ["Fenced"]


# ---- each effect ----


def test_dispatch_and_fence_call_their_ports(given: Callable[..., None]) -> None:
    r = rig()
    given(Dispatch(attempt=1), Fence())
    r.executor.handle(r.record, RetryDue())
    assert (r.calls.dispatch, r.calls.fence, r.calls.recheck) == (["task-uid-1"], ["task-uid-1"], [])


@pytest.mark.parametrize(
    "effect",
    [
        pytest.param(Emit("Placed", "placed on member-1"), id="an Emit records a normal Event on the task"),
        pytest.param(Emit("DispatchFailed", "quota exceeded", warning=True), id="a warning Emit records a Warning"),
    ],
)
def test_emit(given: Callable[..., None], effect: Emit) -> None:
    r = rig()
    given(effect)
    r.executor.handle(r.record, RetryDue())
    ((ref, reason, message, warning),) = r.events.calls
    assert (ref.kind, ref.namespace, ref.name, ref.uid) == ("ComputeTask", "research", "train", "task-uid-1")
    assert (reason, message, warning) == (effect.reason, effect.message, effect.warning)


def test_release_forgets_the_tasks_assumption_and_wakes_the_scheduler(given: Callable[..., None]) -> None:
    r = rig()
    seen = r.book.wake.version
    given(Release())
    r.executor.handle(r.record, RetryDue())
    assert r.held.forgotten == ["task-uid-1"]
    assert r.book.wake.version == seen + 1


def test_release_also_removes_what_staging_left_in_the_member(given: Callable[..., None]) -> None:
    r = rig()
    cleaned: list[str] = []
    r.executor.ports = Ports(release=lambda t: cleaned.append(t.uid))
    given(Release())
    r.executor.handle(r.record, RetryDue())
    assert cleaned == ["task-uid-1"]


def test_meter_data_counts_the_bytes_and_books_each_charge_to_the_queue_that_admitted_the_attempt(
    given: Callable[..., None],
) -> None:
    r = rig()
    booked: list[tuple[str, str, float, str, str | None]] = []

    def charge(t: TaskRecord, provider: str, amount: float, currency: str, queue: str | None = None) -> None:
        booked.append((t.uid, provider, amount, currency, queue))

    r.executor.ports = Ports(charge=charge)
    given(MeterData("west-cloud", "team-a", 4096, (Charge("west-cloud", 0.25, "USD"),)))
    r.executor.handle(r.record, RetryDue())
    assert r.sample("computenet_data_moved_bytes_total", provider="west-cloud", queue="team-a") == 4096
    assert booked == [("task-uid-1", "west-cloud", 0.25, "USD", "team-a")]


def test_wake_wakes_the_scheduler_and_releases_nothing(given: Callable[..., None]) -> None:
    r = rig()
    seen = r.book.wake.version
    given(Wake())
    r.executor.handle(r.record, RetryDue())
    assert r.book.wake.version == seen + 1
    assert r.held.forgotten == []


RAN = Metered(
    seconds=100.0,
    accelerator_seconds=800.0,
    model="NVIDIA-H100",
    core_seconds=200.0,
    memory_gib_seconds=400.0,
    cost=12.5,
    currency="USD",
)


def test_a_finished_task_counts_its_usage_and_cost_by_pool_identifier_and_namespace(given: Callable[..., None]) -> None:
    r = rig()
    given(CountFinished(Phase.SUCCEEDED, "member-1", RAN))
    r.executor.handle(r.record, RetryDue())
    where = {"pool": "default", "identifier": "member-1", "namespace": "research"}
    assert r.sample("computenet_tasks_finished_total", namespace="research", phase="Succeeded") == 1
    assert r.sample("computenet_usage_accelerator_seconds_total", **where, model="NVIDIA-H100") == 800.0
    assert r.sample("computenet_usage_cpu_core_seconds_total", **where) == 200.0
    assert r.sample("computenet_usage_memory_byte_seconds_total", **where) == 400.0 * (1 << 30)
    assert r.sample("computenet_cost_total", **where, currency="USD") == 12.5


def test_a_cancelled_task_counts_as_finished_but_its_usage_is_not_counted(given: Callable[..., None]) -> None:
    r = rig()
    given(CountFinished(Phase.CANCELLED, "member-1", RAN))
    r.executor.handle(r.record, RetryDue())
    assert r.sample("computenet_tasks_finished_total", namespace="research", phase="Cancelled") == 1
    where = {"pool": "default", "identifier": "member-1", "namespace": "research"}
    assert r.sample("computenet_usage_cpu_core_seconds_total", **where) == 0
    assert r.sample("computenet_cost_total", **where, currency="USD") == 0


def test_a_failover_is_counted_against_the_identifier_it_left(given: Callable[..., None]) -> None:
    r = rig()
    given(CountFailover("member-2"))
    r.executor.handle(r.record, RetryDue())
    assert r.sample("computenet_failovers_total", identifier="member-2", namespace="research") == 1


def test_dispatch_latency_is_measured_from_the_tasks_creation(given: Callable[..., None]) -> None:
    r = rig()
    given(CountDispatched("member-1"))
    r.executor.handle(r.record, RetryDue())
    assert r.sample("computenet_dispatch_latency_seconds_sum", identifier="member-1") == 30.0
    assert r.sample("computenet_dispatch_latency_seconds_count", identifier="member-1") == 1


# ---- timers ----


async def test_a_recheck_due_now_calls_the_failover_check_once(given: Callable[..., None]) -> None:
    r = rig()
    fired = asyncio.get_running_loop().create_future()
    r.executor.ports = Ports(recheck=lambda t: fired.set_result(t.uid))
    given(RecheckAt(NOW - LONG))
    r.executor.handle(r.record, RetryDue())
    assert await asyncio.wait_for(fired, 5) == "task-uid-1"


async def test_a_retry_due_delivers_retry_due_to_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    r = rig()
    delivered = asyncio.get_running_loop().create_future()

    def transition(current: ComputeTaskStatus, event: object, *_: object) -> Outcome:
        if isinstance(event, RetryDue):
            delivered.set_result(event)
            return Outcome(current)
        return Outcome(current, (RetryAt(NOW),))

    monkeypatch.setattr(executor_module, "transition", transition)
    r.executor.handle(r.record, Deleted())
    assert isinstance(await asyncio.wait_for(delivered, 5), RetryDue)


async def _after_due_timers() -> None:
    """Return once timers due now have run (a later timer cannot run before them)."""
    done = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.05, done.set_result, None)
    await done


@pytest.mark.parametrize(
    ("first", "second", "fired"),
    [
        pytest.param(NOW - LONG, NOW + LONG, 0, id="a later recheck replaces one due now"),
        pytest.param(NOW + LONG, NOW - LONG, 1, id="a recheck due now replaces a later one and fires once"),
    ],
)
async def test_a_new_timer_of_the_same_kind_replaces_the_old(
    given: Callable[..., None], first: dt.datetime, second: dt.datetime, fired: int
) -> None:
    r = rig()
    given(RecheckAt(first))
    r.executor.handle(r.record, RetryDue())
    given(RecheckAt(second))
    r.executor.handle(r.record, RetryDue())
    await _after_due_timers()
    assert len(r.calls.recheck) == fired
    r.executor.close()


async def test_a_timer_set_again_for_the_same_time_is_kept_and_fires_once(given: Callable[..., None]) -> None:
    """A grace period's "recheck at T", said again on every check, neither resets nor doubles the timer."""
    r = rig()
    given(RecheckAt(NOW + dt.timedelta(seconds=0.02)))
    r.executor.handle(r.record, RetryDue())
    (kept,) = r.executor._timers[r.record.uid].values()
    for _ in range(3):
        r.executor.handle(r.record, RetryDue())
    assert r.executor._timers[r.record.uid]["recheck"] is kept
    await _after_due_timers()
    assert r.calls.recheck == [r.record.uid]
    assert r.executor._timers == {}  # a timer that fired is gone


async def test_forget_cancels_only_that_tasks_timers(given: Callable[..., None]) -> None:
    other = record("Running")
    other.uid = "task-uid-2"
    r = rig()
    r.book.records[other.uid] = other
    given(RecheckAt(NOW))
    r.executor.handle(r.record, RetryDue())
    r.executor.handle(other, RetryDue())
    r.executor.forget("task-uid-1")
    await _after_due_timers()
    assert r.calls.recheck == ["task-uid-2"]


async def test_a_timer_of_a_task_no_longer_in_the_book_does_nothing(given: Callable[..., None]) -> None:
    r = rig()
    given(RecheckAt(NOW))
    r.executor.handle(r.record, RetryDue())
    r.book.drop(r.record.uid)
    await _after_due_timers()
    assert r.calls.recheck == []


async def test_close_cancels_every_timer(given: Callable[..., None]) -> None:
    r = rig()
    given(RecheckAt(NOW))
    r.executor.handle(r.record, RetryDue())
    r.executor.close()
    await _after_due_timers()
    assert r.calls.recheck == []


# ---- the facts the transition is given ----


@pytest.mark.parametrize(
    ("extra", "failover", "grace", "gpus"),
    [
        pytest.param({}, "Requeue", 300.0, "-", id="defaults: requeue after five minutes, no accelerators"),
        pytest.param(
            {"failover": {"policy": "Never", "gracePeriodSeconds": 60}},
            "Never",
            60.0,
            "-",
            id="the task's failover policy",
        ),
        pytest.param(
            {"replicas": 2, "resources": {"cpu": "1", "memory": "1Gi", "accelerators": {"count": 8}}},
            "Requeue",
            300.0,
            "2x8",
            id="replicas by accelerators per replica in the summary",
        ),
    ],
)
def test_facts_of(extra: dict[str, Any], failover: str, grace: float, gpus: str) -> None:
    task = record("Running")
    task.spec = spec(**extra)
    facts = facts_of(task)
    assert (facts.generation, facts.failover, facts.grace_period_s) == (1, failover, grace)
    assert facts.summary is not None
    assert facts.summary.gpus == gpus
