"""Settlement: the money. Cost accrues per queue, namespace and provider from what each attempt
dispatched, at its identifier's prices, once; a queue's spend belongs to the calendar month (UTC).

Real collaborators throughout (TaskBook, QueueBook, Tenancy, Metrics on a fresh registry); the
book's writer and event recorder and the hub are never used here, and `_Untouchable` proves it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel

from computenet.api.constants import QUEUE, ConditionType, KindInfo, Phase, Reason
from computenet.api.identifier import Pricing
from computenet.api.queue import ComputeQueueStatus
from computenet.api.task import ComputeTaskStatus, DispatchedResources, Placement
from computenet.events import ObjectRef
from computenet.metrics import Metrics
from computenet.quantity import format_amount
from computenet.statuses.writer import status_body
from computenet.tasks.book import TaskBook
from computenet.tasks.queues import QueueBook
from computenet.tasks.record import TaskRecord
from computenet.tasks.settlement import Settlement, base_units
from computenet.tasks.tenancy import Tenancy
from tasks.builders import spec

UTC = dt.UTC
STARTED = dt.datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
"""When the operator process (and so the settlement) started."""
HOUR = dt.timedelta(hours=1)

PRICES = {
    "member-1": Pricing.model_validate(
        {"currency": "USD", "perCpuCoreHour": 3.6, "perGiBHour": 0.5, "perAcceleratorHour": {"NVIDIA-H100": 2.5}}
    ),
    "member-eur": Pricing.model_validate({"currency": "EUR", "perCpuCoreHour": 1.0}),
}
PROVIDERS = {"member-1": "east-cloud", "member-eur": "euro-cloud", "member-free": "donated"}


class _Untouchable:
    """Stands for the book's writer and event recorder, and the hub: settlement never writes a task,
    and what is tested here (accrue, status_of) never writes to the hub."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"settlement used {name} of a collaborator it must not touch")


def queue_body(
    name: str = "research",
    *,
    budget: float | None = None,
    currency: str = "USD",
    cpu: str = "8",
    gpus: dict[str, int] | None = None,
    spend: dict[str, Any] | None = None,
    spec_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": name, "uid": f"uid-{name}", "generation": 1},
        "spec": {
            "pool": "default",
            "namespaces": ["research"],
            "nominalQuota": {"cpu": cpu, "memory": "64Gi", **({"accelerators": gpus} if gpus else {})},
            **({"budget": {"amount": budget, "currency": currency}} if budget is not None else {}),
            **(spec_extra or {}),
        },
    }
    if spend is not None:
        body["status"] = {"spend": spend}
    return body


def attempt(
    uid: str = "t1",
    *,
    phase: Phase = Phase.RUNNING,
    started: dt.datetime = STARTED,
    completed: dt.datetime | None = None,
    identifier: str = "member-1",
    queue: str | None = "research",
    cpu: str = "2",
    memory: str = "0",
    replicas: int = 1,
    gpus: int = 0,
    model: str | None = None,
    namespace: str = "research",
    attempt_no: int = 1,
) -> TaskRecord:
    placement = Placement(
        identifier=identifier,
        queue=queue,
        accelerator_model=model,
        resources=DispatchedResources(replicas=replicas, cpu=cpu, memory=memory, accelerators=gpus),
    )
    s = spec()
    return TaskRecord(
        uid=uid,
        namespace=namespace,
        name=f"task-{uid}",
        created=STARTED - HOUR,
        generation=1,
        spec=s,
        template=s.template.model_dump(by_alias=True, exclude_none=True),
        status=ComputeTaskStatus(
            phase=phase, placement=placement, attempt=attempt_no, start_time=started, completion_time=completed
        ),
    )


def waiting(uid: str, namespace: str = "research", queue: str | None = "research") -> TaskRecord:
    s = spec(**({"queueName": queue} if queue else {}))
    return TaskRecord(
        uid=uid,
        namespace=namespace,
        name=f"task-{uid}",
        created=STARTED,
        generation=1,
        spec=s,
        template=s.template.model_dump(by_alias=True, exclude_none=True),
        status=ComputeTaskStatus(phase=Phase.PENDING),
    )


@dataclass
class World:
    settlement: Settlement
    queues: QueueBook
    book: TaskBook
    metrics: Metrics
    clock: list[dt.datetime] = field(default_factory=list)

    def spend(self, queue: str = "research") -> float:
        return self.queues.items[queue].spend.amount

    def counted(self, queue: str, namespace: str, provider: str, currency: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "computenet_spend_total",
            {"queue": queue, "namespace": namespace, "provider": provider, "currency": currency},
        )
        return 0.0 if value is None else value


def world(
    *records: TaskRecord, queues: tuple[dict[str, Any], ...] = (queue_body(),), started: dt.datetime = STARTED
) -> World:
    book = TaskBook(_Untouchable(), _Untouchable())  # type: ignore[arg-type]
    for r in records:
        book.records[r.uid] = r
    queue_book = QueueBook()
    for q in queues:
        queue_book.upsert(q["metadata"]["name"], q)
    tenancy = Tenancy(queue_book, lambda _identifier, _uid: None, PRICES.get)
    metrics = Metrics.create()
    writer = _Untouchable()  # accrue and status_of never write a status
    settlement = Settlement(book, tenancy, writer, metrics, PRICES.get, PROVIDERS.__getitem__, lambda: started)  # type: ignore[arg-type]
    return World(settlement, queue_book, book, metrics)


@pytest.mark.parametrize(
    ("record", "hours", "cost"),
    [
        pytest.param(attempt(cpu="2"), 1, 7.2, id="two cores for an hour at 3.60 per core-hour cost 7.20"),
        pytest.param(attempt(cpu="500m"), 2, 3.6, id="half a core for two hours costs one core-hour"),
        pytest.param(attempt(cpu="1", replicas=4), 1, 14.4, id="replicas multiply the per-replica requests"),
        pytest.param(attempt(cpu="0", memory="4Gi"), 1, 2.0, id="memory is priced per GiB-hour"),
        pytest.param(
            attempt(cpu="0", gpus=8, model="NVIDIA-H100"), 0.5, 10.0, id="eight H100 for half an hour at 2.50 cost 10"
        ),
        pytest.param(
            attempt(cpu="0", gpus=8, model="NVIDIA-A100"),
            1,
            0.0,
            id="a model the identifier does not price costs nothing",
        ),
        pytest.param(attempt(identifier="member-free"), 1, 0.0, id="an identifier without prices costs nothing"),
    ],
)
def test_a_running_attempt_accrues_what_it_dispatched_at_its_identifiers_prices(
    record: TaskRecord, hours: float, cost: float
) -> None:
    w = world(record)
    w.settlement.accrue(STARTED + dt.timedelta(hours=hours))
    assert w.spend() == pytest.approx(cost)
    provider = PROVIDERS[record.status.placement.identifier]  # type: ignore[union-attr]
    assert w.counted("research", "research", provider, "USD") == pytest.approx(cost)


def test_successive_ticks_add_up_to_one_tick_over_the_whole_time() -> None:
    w = world(attempt(cpu="2"))
    for minutes in (10, 20, 45, 60):
        w.settlement.accrue(STARTED + dt.timedelta(minutes=minutes))
    assert w.spend() == pytest.approx(7.2)
    assert w.counted("research", "research", "east-cloud", "USD") == pytest.approx(7.2)


def test_a_tick_at_the_same_instant_books_nothing_more() -> None:
    w = world(attempt(cpu="2"))
    w.settlement.accrue(STARTED + HOUR)
    w.settlement.accrue(STARTED + HOUR)
    assert w.spend() == pytest.approx(7.2)


@pytest.mark.parametrize(
    "phase", [pytest.param(p, id=f"{p} up to its completion") for p in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED)]
)
def test_a_finished_attempt_is_metered_to_its_completion_once(phase: Phase) -> None:
    w = world(attempt(phase=phase, completed=STARTED + HOUR))
    w.settlement.accrue(STARTED + 3 * HOUR)
    w.settlement.accrue(STARTED + 5 * HOUR)
    assert w.spend() == pytest.approx(7.2)


def test_an_attempt_that_finishes_between_ticks_is_metered_to_its_completion_not_to_the_tick() -> None:
    record = attempt(cpu="2")
    w = world(record)
    w.settlement.accrue(STARTED + HOUR)
    record.status = record.status.model_copy(
        update={"phase": Phase.SUCCEEDED, "completion_time": STARTED + 90 * dt.timedelta(minutes=1)}
    )
    w.settlement.accrue(STARTED + 3 * HOUR)
    w.settlement.accrue(STARTED + 4 * HOUR)
    assert w.spend() == pytest.approx(7.2 * 1.5)


def test_each_attempt_of_a_task_is_metered_on_its_own() -> None:
    first = attempt(phase=Phase.FAILED, completed=STARTED + HOUR)
    w = world(first)
    w.settlement.accrue(STARTED + HOUR)
    w.book.records["t1"] = attempt(started=STARTED + 2 * HOUR, attempt_no=2)
    w.settlement.accrue(STARTED + 3 * HOUR)
    assert w.spend() == pytest.approx(7.2 * 2)


def never_started() -> TaskRecord:
    record = attempt()
    record.status = record.status.model_copy(update={"start_time": None})
    return record


def unplaced_resources() -> TaskRecord:
    record = attempt()
    placement = record.status.placement
    assert placement is not None
    record.status = record.status.model_copy(update={"placement": placement.model_copy(update={"resources": None})})
    return record


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(attempt(phase=Phase.PENDING), id="a pending task"),
        pytest.param(attempt(phase=Phase.SUCCEEDED, completed=None), id="a finished attempt without a completion time"),
        pytest.param(never_started(), id="an attempt that never started"),
        pytest.param(unplaced_resources(), id="an attempt whose placement does not say what it dispatched"),
        pytest.param(attempt(cpu="lots"), id="an attempt whose dispatched cpu does not parse"),
    ],
)
def test_nothing_accrues_for(record: TaskRecord) -> None:
    w = world(record)
    w.settlement.accrue(STARTED + HOUR)
    assert w.spend() == 0.0
    assert w.counted("research", "research", "east-cloud", "USD") == 0.0


def test_what_ran_before_the_operator_started_is_not_counted_again() -> None:
    w = world(attempt(started=STARTED - 5 * HOUR), started=STARTED)
    w.settlement.accrue(STARTED + HOUR)
    assert w.spend() == pytest.approx(7.2)


def test_after_a_restart_a_running_attempt_resumes_from_the_queues_last_settlement() -> None:
    settled = STARTED - 2 * HOUR
    spend = {
        "amount": 100.0,
        "currency": "USD",
        "periodStart": "2026-11-01T00:00:00Z",
        "lastSettled": "2026-11-30T07:00:00Z",
    }
    w = world(attempt(started=STARTED - 5 * HOUR), queues=(queue_body(spend=spend),), started=STARTED)
    assert w.queues.items["research"].spend.last_settled == settled
    w.settlement.accrue(STARTED + HOUR)
    assert w.spend() == pytest.approx(100.0 + 3 * 7.2)


def test_every_tick_records_when_the_queues_were_settled() -> None:
    w = world(queues=(queue_body("a"), queue_body("b")))
    w.settlement.accrue(STARTED + HOUR)
    assert {e.spend.last_settled for e in w.queues.items.values()} == {STARTED + HOUR}


MONTH_END = dt.datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
DECEMBER = dt.datetime(2026, 12, 1, tzinfo=UTC)


def test_a_new_month_starts_the_queues_spend_from_zero_in_the_budget_currency() -> None:
    spend = {"amount": 80.0, "currency": "USD", "periodStart": "2026-11-01T00:00:00Z"}
    w = world(queues=(queue_body(budget=100, currency="EUR", spend=spend),), started=MONTH_END)
    w.settlement.accrue(DECEMBER + HOUR)
    after = w.queues.items["research"].spend
    assert (after.amount, after.currency, after.period_start) == (0.0, "EUR", DECEMBER)


def test_an_attempt_first_seen_in_a_new_month_books_to_it_only_what_ran_since_the_month_began() -> None:
    spend = {"amount": 80.0, "currency": "USD", "periodStart": "2026-11-01T00:00:00Z"}
    w = world(
        attempt(started=MONTH_END - HOUR),
        queues=(queue_body(spend=spend),),
        started=MONTH_END - 2 * HOUR,
    )
    w.settlement.accrue(DECEMBER + HOUR)
    assert w.queues.items["research"].spend.period_start == DECEMBER
    assert w.spend() == pytest.approx(7.2)


def test_an_attempt_running_across_midnight_books_to_the_new_month_only_what_ran_after_it() -> None:
    spend = {"amount": 80.0, "currency": "USD", "periodStart": "2026-11-01T00:00:00Z"}
    half = dt.timedelta(minutes=30)
    w = world(attempt(started=DECEMBER - 2 * HOUR), queues=(queue_body(spend=spend),), started=DECEMBER - 3 * HOUR)
    w.settlement.accrue(DECEMBER - half)  # the last tick of November
    w.settlement.accrue(DECEMBER + half)  # the first of December: 30 minutes before midnight, 30 after
    assert w.queues.items["research"].spend.period_start == DECEMBER
    assert w.spend() == pytest.approx(7.2 / 2)
    assert w.counted("research", "research", "east-cloud", "USD") == pytest.approx(7.2 * 2.5), "all of it is counted"


def test_a_month_kept_in_the_queues_status_goes_on_accruing() -> None:
    spend = {"amount": 80.0, "currency": "USD", "periodStart": "2026-11-01T00:00:00Z"}
    w = world(attempt(), queues=(queue_body(spend=spend),))
    w.settlement.accrue(STARTED + HOUR)
    assert w.spend() == pytest.approx(87.2)


def test_cost_in_another_currency_is_counted_but_not_added_to_the_queues_spend() -> None:
    w = world(attempt(identifier="member-eur", cpu="2"))
    w.settlement.accrue(STARTED + HOUR)
    assert w.spend() == 0.0
    assert w.counted("research", "research", "euro-cloud", "EUR") == pytest.approx(2.0)


def test_a_task_admitted_through_no_queue_is_counted_with_an_empty_queue_label() -> None:
    w = world(attempt(queue=None))
    w.settlement.accrue(STARTED + HOUR)
    assert w.counted("", "research", "east-cloud", "USD") == pytest.approx(7.2)
    assert w.spend() == 0.0


def test_cost_is_counted_per_queue_namespace_and_provider() -> None:
    w = world(
        attempt("a", cpu="1"),
        attempt("b", cpu="2", namespace="vision"),
        attempt("c", cpu="1", queue="batch"),
        attempt("d", cpu="1", identifier="member-eur"),
        queues=(queue_body("research"), queue_body("batch")),
    )
    w.settlement.accrue(STARTED + HOUR)
    assert w.counted("research", "research", "east-cloud", "USD") == pytest.approx(3.6)
    assert w.counted("research", "vision", "east-cloud", "USD") == pytest.approx(7.2)
    assert w.counted("batch", "research", "east-cloud", "USD") == pytest.approx(3.6)
    assert w.counted("research", "research", "euro-cloud", "EUR") == pytest.approx(1.0)
    assert (w.spend("research"), w.spend("batch")) == (pytest.approx(10.8), pytest.approx(3.6))


def test_a_task_read_again_after_it_left_the_book_resumes_from_the_queues_last_settlement() -> None:
    record = attempt()
    w = world(record)
    w.settlement.accrue(STARTED + HOUR)
    del w.book.records["t1"]
    w.settlement.accrue(STARTED + 2 * HOUR)
    w.book.records["t1"] = record
    w.settlement.accrue(STARTED + 3 * HOUR)
    # the queue was settled at +2h, so the third tick books only the third hour
    assert w.spend() == pytest.approx(2 * 7.2)


# ---- the queue's status ----


def status(w: World, queue: str = "research", now: dt.datetime = STARTED + HOUR) -> dict[str, Any]:
    """The queue's status as the hub stores it."""
    return status_body(w.settlement.status_of(w.queues.items[queue], now))


def test_status_counts_admitted_tasks_usage_and_what_is_borrowed_above_the_nominal_quota() -> None:
    w = world(
        attempt("a", cpu="6", memory="16Gi"),
        attempt("b", cpu="4", memory="16Gi", phase=Phase.DISPATCHING),
        attempt("c", cpu="4", phase=Phase.SUCCEEDED, completed=STARTED),
        attempt("d", cpu="4", queue="batch"),
        waiting("e"),
        waiting("f", namespace="other"),
        waiting("g", queue=None),
        waiting("h", queue="batch"),
        queues=(queue_body("research", cpu="8"), queue_body("batch")),
    )
    body = status(w)
    assert body["usage"] == [
        {"resource": "cpu", "nominal": "8", "used": "10", "borrowed": "2"},
        {"resource": "memory", "nominal": "64Gi", "used": "32Gi", "borrowed": "0"},
    ]
    assert body["tasks"] == {"admitted": 2, "waiting": 1}
    assert body["observedGeneration"] == 1


def test_a_task_naming_no_queue_waits_in_the_default_queue_of_its_namespace() -> None:
    w = world(waiting("a", queue=None), queues=(queue_body("research", spec_extra={"default": True}),))
    assert status(w)["tasks"] == {"admitted": 0, "waiting": 1}


def test_status_sums_accelerators_over_models_in_the_summary() -> None:
    w = world(
        attempt("a", cpu="0", gpus=4, model="NVIDIA-H100"),
        attempt("b", cpu="0", gpus=2, replicas=2, model="NVIDIA-A100"),
        queues=(queue_body(gpus={"NVIDIA-H100": 8, "NVIDIA-A100": 8}),),
    )
    body = status(w)
    assert body["summary"]["gpus"] == "8/16"
    used = {u["resource"]: u["used"] for u in body["usage"]}
    assert (used["NVIDIA-H100"], used["NVIDIA-A100"]) == ("4", "4")


@pytest.mark.parametrize(
    ("queue", "amount", "summary"),
    [
        pytest.param(queue_body(budget=100), 7.199999, "7.20/100 USD", id="spend against the budget, to the cent"),
        pytest.param(queue_body(budget=12.5, currency="EUR"), 0.0, "0.00/12.5 EUR", id="a fractional budget as given"),
        pytest.param(queue_body(), 1234.5, "1234.50 USD", id="without a budget, the spend alone"),
    ],
)
def test_status_summary_of_spend(queue: dict[str, Any], amount: float, summary: str) -> None:
    w = world(queues=(queue,))
    entry = w.queues.items["research"]
    entry.spend = entry.spend.model_copy(update={"amount": amount})
    assert status(w)["summary"]["spend"] == summary
    assert "gpus" not in status(w)["summary"]


def active(body: dict[str, Any]) -> tuple[str, str, str]:
    (cond,) = [c for c in body["conditions"] if c["type"] == ConditionType.ACTIVE]
    return cond["status"], cond["reason"], cond["message"]


def test_a_queue_within_its_budget_is_active_and_says_into_which_pool_it_admits() -> None:
    w = world(queues=(queue_body(budget=100),))
    assert active(status(w)) == ("True", Reason.ADMITTING, "admitting tasks into pool default")


def test_a_queue_at_its_budget_is_not_active_and_says_what_it_spent() -> None:
    spend = {"amount": 100.0, "currency": "USD", "periodStart": "2026-11-01T00:00:00Z"}
    w = world(queues=(queue_body(budget=100, spend=spend),))
    assert active(status(w)) == (
        "False",
        Reason.OVER_BUDGET,
        "queue research over budget: spent 100.00 of 100.00 USD this month",
    )


def test_last_months_spend_does_not_hold_a_queue_over_budget() -> None:
    spend = {"amount": 500.0, "currency": "USD", "periodStart": "2026-10-01T00:00:00Z"}
    w = world(queues=(queue_body(budget=100, spend=spend),))
    assert active(status(w))[0] == "True"


def test_a_queue_whose_spec_does_not_parse_is_not_active_and_says_why() -> None:
    w = world(queues=(queue_body(cpu="a lot"),))
    state, reason, message = active(status(w))
    assert (state, reason) == ("False", Reason.INVALID_SPEC)
    assert message.startswith("spec does not parse")
    assert "usage" not in status(w)


@pytest.mark.parametrize(
    ("resource", "amount", "text", "gauge"),
    [
        pytest.param("cpu", 2500, "2500m", 2.5, id="cpu is written as a quantity and gauged in cores"),
        pytest.param("cpu", 64000, "64", 64.0, id="whole cores are written without a unit"),
        pytest.param(
            "memory", 64 << 30, "64Gi", float(64 << 30), id="memory is written in binary units, gauged in bytes"
        ),
        pytest.param("NVIDIA-H100", 8, "8", 8.0, id="devices are counted as they are"),
    ],
)
def test_quantities_in_the_status_and_the_gauges(resource: str, amount: int, text: str, gauge: float) -> None:
    assert format_amount(resource, amount) == text
    assert base_units(resource, amount) == gauge


@pytest.mark.parametrize(
    ("currency", "queue_spend"),
    [
        pytest.param("USD", 0.16, id="in the queue's currency the copy's egress joins the queue's spend"),
        pytest.param("EUR", 0.0, id="in another currency it is counted but not added to the queue's spend"),
    ],
)
def test_a_data_copys_egress_is_booked_once_where_compute_is(currency: str, queue_spend: float) -> None:
    record = attempt()
    w = world(record)
    w.settlement.charge_data(record, "west-cloud", 0.16, currency)
    assert w.spend() == pytest.approx(queue_spend)
    assert w.counted("research", "research", "west-cloud", currency) == pytest.approx(0.16)
    data_cost = w.metrics.registry.get_sample_value(
        "computenet_data_cost_total", {"provider": "west-cloud", "queue": "research", "currency": currency}
    )
    assert data_cost == pytest.approx(0.16)


# ---- the queues' status through their table (``statuses.queue_transitions``) and the one writer ----


class _Writer:
    """The one status writer as settlement uses it: every write lands at once, and is kept."""

    def __init__(self) -> None:
        self.written: list[tuple[str, ComputeQueueStatus]] = []

    def write(self, kind: KindInfo, namespace: str | None, name: str, status: BaseModel, delay: float = 0.0) -> None:
        assert (kind, namespace) == (QUEUE, None)
        assert isinstance(status, ComputeQueueStatus)
        self.written.append((name, status))

    def flush(self, kind: KindInfo, namespace: str | None, name: str) -> Awaitable[bool]:
        return asyncio.sleep(0, True)


class _Events:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, str, bool]] = []

    def record(self, ref: ObjectRef, reason: str, message: str, warning: bool = False) -> None:
        self.recorded.append((ref.kind, ref.name, reason, warning))


def test_a_tick_writes_a_queue_when_due_and_announces_that_it_went_over_budget() -> None:
    async def scenario() -> None:
        spend = {"amount": 99.0, "currency": "USD", "periodStart": "2026-11-01T00:00:00Z"}
        queues = QueueBook()
        queues.upsert("research", queue_body(budget=100, spend=spend))
        events, writer = _Events(), _Writer()
        book = TaskBook(_Untouchable(), events)  # type: ignore[arg-type]
        book.records["t1"] = attempt(cpu="2", started=STARTED)
        now = [STARTED]
        tenancy = Tenancy(queues, lambda _identifier, _uid: None, PRICES.get)
        settlement = Settlement(
            book,
            tenancy,
            writer,  # type: ignore[arg-type]
            Metrics.create(),
            PRICES.get,
            PROVIDERS.__getitem__,
            lambda: now[0],
        )
        await settlement.tick()
        assert [name for name, _ in writer.written] == ["research"], "first seen: written"
        assert events.recorded == [], "a queue that admits is no news"
        now[0] = STARTED + dt.timedelta(seconds=1)
        await settlement.tick()
        assert len(writer.written) == 2, "its spend grew: written"
        now[0] = STARTED + dt.timedelta(minutes=20)  # 2 cores at 3.60 an hour for 20 minutes: 2.40 more
        book.records["t1"] = attempt(cpu="2", phase=Phase.SUCCEEDED, completed=now[0])  # and then it ended
        await settlement.tick()
        last = writer.written[-1][1]
        assert active(status_body(last))[1] == Reason.OVER_BUDGET
        assert events.recorded == [("ComputeQueue", "research", Reason.OVER_BUDGET, True)]
        now[0] += dt.timedelta(seconds=10)  # nothing runs any more: the status stays as it is
        await settlement.tick()
        assert len(writer.written) == 3, "unchanged: not written again before the refresh"
        now[0] += dt.timedelta(seconds=60)
        await settlement.tick()
        assert len(writer.written) == 4, "refreshed after a minute (lastSettled)"
        assert len(events.recorded) == 1, "announced once"

    asyncio.run(scenario())
