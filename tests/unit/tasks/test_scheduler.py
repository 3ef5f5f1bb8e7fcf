"""Placement decisions become lifecycle events, without a cluster."""

from __future__ import annotations

import datetime as dt

from placement.builders import identifier, node, pool, task

from computenet.api.constants import ConditionType
from computenet.placement import place
from computenet.tasks import lifecycle as lc
from computenet.tasks.demand import demand_of
from computenet.tasks.scheduler import decision_event
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


def test_a_task_that_fits_nowhere_waits_with_the_decisions_line() -> None:
    decision = place(SNAPSHOT, task().cpu("64").memory("1Gi").build())
    event = decision_event(record("Pending"), decision, NOW)
    assert event == lc.NoFit(decision.summary)
    assert event.message.startswith("0/1 identifiers fit")


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
