"""A placement keeps its runners-up and every rejection in status, bounded, for `kubectl computenet why`."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from placement.builders import H100, identifier, node, pool, task

from computenet.api.task import ComputeTaskStatus, Placement
from computenet.placement import Snapshot, offers, place, reasons
from computenet.placement.demand import AcceleratorDemand, Variant
from computenet.tasks import lifecycle as lc
from computenet.tasks.candidates import explanation, offer_status
from computenet.tasks.demand import demand_of
from computenet.tasks.scheduler import decision_event
from tasks.builders import record, spec

NOW = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.UTC)


def members(fitting: int, full: int) -> Snapshot:
    return pool(
        *(identifier(f"fit-{i}").nodes(node(f"f{i}").gpus(8, H100)).price({H100: 1.0 + i}) for i in range(fitting)),
        *(identifier(f"full-{i}").nodes(node(f"u{i}").gpus(8, H100).used(gpus=8)) for i in range(full)),
    )


@pytest.mark.parametrize(
    ("fitting", "full", "runners_up", "verdicts", "kept_candidates", "kept_rejected", "omitted"),
    [
        pytest.param(3, 2, 5, 32, 3, 2, 0, id="small pool: every identifier appears, fitting or rejected"),
        pytest.param(8, 0, 5, 32, 5, 0, 0, id="eight fit: the best five are kept, all eight counted"),
        pytest.param(1, 6, 5, 4, 1, 4, 2, id="more rejections than the cap: the rest are counted, not listed"),
    ],
)
def test_the_explanation_is_bounded_and_counts_everything(
    fitting: int, full: int, runners_up: int, verdicts: int, kept_candidates: int, kept_rejected: int, omitted: int
) -> None:
    decision = place(members(fitting, full), task().gpus(8, H100).build())
    e = explanation(decision, runners_up, verdicts)
    assert (e.considered, e.fitting) == (fitting + full, fitting)
    assert len(e.candidates or []) == kept_candidates
    assert len(e.rejected or []) == kept_rejected
    assert e.rejected_omitted == omitted


def test_candidates_are_best_first_with_their_components_and_rejections_name_the_filter() -> None:
    decision = place(members(3, 1), task().gpus(8, H100).build())
    e = explanation(decision)
    assert [c.identifier for c in e.candidates or []] == ["fit-0", "fit-1", "fit-2"]  # cheapest first
    first = (e.candidates or [])[0]
    assert first.scores is not None
    assert set(first.scores) >= {"Fit", "Price"}
    assert first.accelerator_model == H100
    assert first.price_per_hour == 8.0
    [rejected] = e.rejected or []
    assert (rejected.identifier, rejected.filter, rejected.reason) == (
        "full-0",
        "Resources",
        reasons.INSUFFICIENT_RESOURCE,
    )


def test_a_placed_task_carries_its_explanation_into_status() -> None:
    rec = record("Pending")
    rec.spec = spec(resources={"cpu": "1", "memory": "1Gi", "accelerators": {"count": 8}})
    decision = place(members(2, 1), task().gpus(8, H100).cpu("1").memory("1Gi").build())
    event = decision_event(rec, decision, NOW)
    assert isinstance(event, lc.Placed)
    status = lc.transition(rec.status, event, NOW, lc.TaskFacts()).status
    assert status.placement is not None
    assert status.placement.explanation is not None
    written = ComputeTaskStatus.model_validate(status.model_dump(mode="json", exclude_none=True))
    assert written.placement == Placement.model_validate(status.placement.model_dump(mode="json"))
    assert [c.identifier for c in status.placement.explanation.candidates or []] == ["fit-0", "fit-1"]


def test_offers_carry_their_score_components() -> None:
    rec = record("Pending")
    rec.spec = spec(suspend=True)
    event = decision_event(rec, place(members(2, 0), task().gpus(8, H100).build()), NOW)
    assert isinstance(event, lc.OffersFound)
    assert all(o.scores and "Fit" in o.scores for o in event.offers)


def test_a_pinned_spec_reaches_placement() -> None:
    rec = record("Pending")
    rec.spec = spec(identifier="fit-1", resources={"cpu": "1", "memory": "1Gi", "accelerators": {"count": 8}})
    decision = place(members(2, 0), demand_of(rec, None))
    assert decision.chosen is not None
    assert decision.chosen.identifier == "fit-1"
    assert decision.rejections["fit-0"].reason == reasons.NOT_PINNED


def test_a_large_pool_counts_its_rejections_without_explaining_them_on_the_loop() -> None:
    decision = place(members(1, 6), task().gpus(8, H100).build())
    e = explanation(decision, list_up_to=5)
    assert (e.fitting, e.rejected, e.rejected_omitted) == (1, None, 6)
    assert [c.identifier for c in e.candidates or []] == ["fit-0"]
    assert len(explanation(decision, list_up_to=None).rejected or []) == 6


def test_an_offer_in_status_has_price_fit_scores_and_no_data_fields_without_data() -> None:
    snapshot = pool(identifier("cheap").price({H100: 2.0}).nodes(node("a").gpus(8, H100)))
    decision = place(snapshot, task().gpus(4, H100).replicas(2).suspended().build())
    (made,) = offers(decision, 1)
    entry = offer_status(made, decision.top(1)[0])
    assert entry.model_dump(mode="json", exclude_none=True) == {
        "identifier": "cheap",
        "uri": "cpi://test/cheap",
        "score": 100.0,
        "pricePerHour": 16.0,
        "currency": "USD",
        "acceleratorModel": H100,
        "fit": 100.0,
        "scores": {"Fit": 100.0, "Price": 100.0, "Reliability": 100.0},
    }


def test_an_offer_in_status_carries_the_datas_eta_and_cost() -> None:
    snapshot = pool(
        identifier("east").region("cn-east").price({H100: 1.0}).store(0.1).nodes(node("e").gpus(8, H100)),
        identifier("west")
        .region("cn-west")
        .price({H100: 1.0})
        .network({"cn-east": 30.0}, bandwidth_gbps=1.0)
        .nodes(node("w").gpus(8, H100)),
    )
    decision = place(snapshot, task().gpus(1, H100).data("cn-east", 10 << 30).suspended().build())
    found = {o.identifier: offer_status(o, c) for o, c in zip(offers(decision), decision.top(3), strict=True)}
    west = found["west"].model_dump(mode="json", exclude_none=True)
    assert {k: v for k, v in west.items() if k.startswith("data")} == {
        "dataBytes": 10 << 30,
        "dataTransferSeconds": round((10 << 30) * 8 / 1e9, 1),
        "dataCost": 1.0,
        "dataCurrency": "USD",
    }
    east = found["east"].model_dump(mode="json", exclude_none=True)
    assert {k: v for k, v in east.items() if k.startswith("data")} == {
        "dataBytes": 0,
        "dataTransferSeconds": 0.0,
        "dataCost": 0.0,
        "dataCurrency": "USD",
    }


def test_an_offer_in_status_names_the_variant_it_would_run_and_its_devices() -> None:
    h100 = Variant(AcceleratorDemand(8, "nvidia"), "h100")
    demand = replace(
        task().cpu("8").memory("64Gi").suspended().build(), variants=(h100,), accelerators=h100.accelerators
    )
    snapshot = pool(identifier("nv").nodes(node("n1").gpus(8, H100)).price({H100: 3.0}))
    decision = place(snapshot, demand)
    (made,) = offers(decision, 1)
    entry = offer_status(made, decision.top(1)[0]).model_dump(mode="json", exclude_none=True)
    assert (entry["variant"], entry["acceleratorCount"]) == ("h100", 8)
