"""Placement decisions become lifecycle events, without a cluster."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from placement.builders import identifier, node, pool, task

from computenet.api.constants import ConditionType
from computenet.placement import place
from computenet.tasks import lifecycle as lc
from computenet.tasks.demand import demand_of
from computenet.tasks.scheduler import cpu_timed, decision_event
from tasks.builders import record, spec

NOW = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.UTC)
SNAPSHOT = pool(identifier("member-1").nodes(node("n1").cpu("8").memory("32Gi")))


def test_a_fitting_task_is_placed_with_what_it_will_dispatch() -> None:
    rec = record("Pending")
    rec.spec = spec(resources={"cpu": "1500m", "memory": "1536Mi"})
    decision = place(SNAPSHOT, task().cpu("1500m").memory("1536Mi").build())
    event = decision_event(rec, decision, NOW)
    assert isinstance(event, lc.Placed)
    assert event.placement.identifier == "member-1"
    assert event.placement.time == NOW
    assert event.placement.resources is not None
    assert (event.placement.resources.cpu, event.placement.resources.memory) == ("1500m", "1536Mi")
    assert event.placement.nodes == ["n1"]  # the pods are held to the node placement counted on
    assert event.message.startswith("member-1 (score ")


def test_a_task_that_fits_nowhere_waits_with_the_decisions_line_and_every_verdict() -> None:
    decision = place(SNAPSHOT, task().cpu("64").memory("1Gi").build())
    rec = record("Pending")
    event = decision_event(rec, decision, NOW)
    assert isinstance(event, lc.NoFit)
    assert event.message == decision.summary
    assert event.message.startswith("0/1 identifiers fit")
    assert event.explanation is not None
    assert [(v.identifier, v.filter) for v in event.explanation.rejected or []] == [("member-1", "Resources")]
    written = lc.transition(rec.status, event, NOW, lc.TaskFacts()).status
    assert written.explanation == event.explanation  # `kubectl computenet why` reads it there


def test_a_task_that_already_says_why_is_not_explained_again() -> None:
    decision = place(SNAPSHOT, task().cpu("64").memory("1Gi").build())
    rec = record("Pending")
    rec.status = lc.transition(rec.status, decision_event(rec, decision, NOW), NOW, lc.TaskFacts()).status
    again = decision_event(rec, decision, NOW)
    assert again == lc.NoFit(decision.summary)  # nothing computed: the transition writes nothing for it
    assert lc.transition(rec.status, again, NOW, lc.TaskFacts()).status == rec.status


def test_a_placed_task_keeps_its_explanation_in_the_placement_only() -> None:
    rec = record("Pending")
    waiting = decision_event(rec, place(SNAPSHOT, task().cpu("64").memory("1Gi").build()), NOW)
    rec.status = lc.transition(rec.status, waiting, NOW, lc.TaskFacts()).status
    assert rec.status.explanation is not None
    rec.spec = spec(resources={"cpu": "1", "memory": "1Gi"})
    placed = decision_event(rec, place(SNAPSHOT, task().cpu("1").memory("1Gi").build()), NOW)
    status = lc.transition(rec.status, placed, NOW, lc.TaskFacts()).status
    assert status.explanation is None
    assert status.placement is not None
    assert status.placement.explanation is not None


def test_a_suspended_task_gets_offers_and_is_never_placed() -> None:
    rec = record("Pending")
    rec.spec = spec(suspend=True)
    event = decision_event(rec, place(SNAPSHOT, task().cpu("1").memory("1Gi").build()), NOW)
    assert isinstance(event, lc.OffersFound)
    assert [o.identifier for o in event.offers] == ["member-1"]
    assert "set spec.suspend to false" in event.message


def test_a_placement_names_what_placement_did_not_evaluate() -> None:
    rec = record("Pending")
    template = rec.template
    template["spec"]["template"]["spec"]["topologySpreadConstraints"] = [
        {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
    ]
    decision = place(SNAPSHOT, demand_of(rec, None))
    event = decision_event(rec, decision, NOW)
    assert isinstance(event, lc.Placed)
    assert event.caveat == "not evaluated by placement: topologySpreadConstraints"
    placed = lc.condition(lc.transition(rec.status, event, NOW, lc.TaskFacts()).status, ConditionType.PLACED)
    assert placed is not None
    assert placed.message == (f"{event.message} for attempt 1; not evaluated by placement: topologySpreadConstraints")


def test_cpu_timed_observes_each_items_own_cpu_and_not_the_callers_work() -> None:
    def busy(n: int) -> int:
        return sum(i * i for i in range(n))

    def produce() -> Iterator[int]:
        yield busy(10)
        yield busy(2_000_000)  # this item's CPU is spent producing it
        yield busy(10)

    seen: list[float] = []
    out = []
    for item in cpu_timed(produce(), seen.append):
        out.append(item)
        busy(2_000_000)  # the caller's own work between two items is not counted
    assert out == [busy(10), busy(2_000_000), busy(10)]
    assert len(seen) == 3
    assert seen[1] > 10 * max(seen[0], seen[2], 1e-6)
