"""Ranking among identifiers that all fit: weights, strategies, locality against price, ties."""

from __future__ import annotations

import pytest

from computenet.placement import Demand, Snapshot, place

from .builders import H100, IdentifierBuilder, identifier, node, pool, task

TB = 10**12


def east_data_west_compute(far_price: float) -> Snapshot:
    """Data in eu-west-1; `near` computes there for 10/h, `far` is 70 ms and 10 Gbps away."""
    return pool(
        identifier("near").region("eu-west-1").price({H100: 10.0}).nodes(node("n1").gpus(8, H100)),
        identifier("far")
        .region("us-east-1")
        .price({H100: far_price})
        .network({"eu-west-1": 70.0}, bandwidth_gbps=10.0)
        .nodes(node("n2").gpus(8, H100)),
    )


@pytest.mark.parametrize(
    ("far_price", "weights", "chosen"),
    [
        pytest.param(9.0, {}, "near", id="near wins when far is only 10% cheaper"),
        pytest.param(4.0, {}, "far", id="far wins when it is less than half the price"),
        pytest.param(4.0, {"locality": 3.0}, "near", id="a heavier locality weight flips it back"),
        pytest.param(9.0, {"locality": 0.0}, "far", id="with locality weighted 0 the cheaper one wins"),
    ],
)
def test_data_locality_against_price(far_price: float, weights: dict[str, float], chosen: str) -> None:
    demand = task().gpus(1, H100).data("eu-west-1", size=TB).weights(**weights).build()
    decision = place(east_data_west_compute(far_price), demand)
    assert decision.chosen is not None
    assert decision.chosen.identifier == chosen


def test_locality_scores_latency_and_transfer_time() -> None:
    decision = place(east_data_west_compute(10.0), task().gpus(1, H100).data("eu-west-1", size=TB).build())
    scores = {c.identifier: c.scores["Locality"] for c in decision.candidates}
    # far: latency 70 ms -> 100*50/120; 1 TB over 10 Gbps = 800 s -> 100*600/1400
    assert scores == {"near": 100.0, "far": pytest.approx((100 * 50 / 120 + 100 * 600 / 1400) / 2)}


def test_locality_does_not_apply_without_data() -> None:
    decision = place(east_data_west_compute(10.0), task().gpus(1, H100).build())
    assert decision.chosen is not None
    assert "Locality" not in decision.chosen.scores


def busy_and_idle() -> Snapshot:
    return pool(
        identifier("idle").nodes(node("i1").gpus(8, H100), node("i2").gpus(8, H100)),
        identifier("busy").nodes(node("b1").gpus(8, H100).used(gpus=6), node("b2").gpus(8, H100).used(gpus=4)),
    )


@pytest.mark.parametrize(
    ("demand", "chosen"),
    [
        pytest.param(task().gpus(2, H100).build(), "busy", id="binpack fills the busy identifier"),
        pytest.param(task().gpus(2, H100).spread().build(), "idle", id="spread prefers the idle identifier"),
    ],
)
def test_fit_strategy(demand: Demand, chosen: str) -> None:
    decision = place(busy_and_idle(), demand)
    assert decision.chosen is not None
    assert decision.chosen.identifier == chosen


def test_binpack_fit_score_is_utilization_after_placement() -> None:
    decision = place(busy_and_idle(), task().gpus(2, H100).build())
    fit = {c.identifier: c.scores["Fit"] for c in decision.candidates}
    assert fit == {"busy": pytest.approx(100 * 12 / 16), "idle": pytest.approx(100 * 2 / 16)}


def twins(*names: str) -> list[IdentifierBuilder]:
    return [identifier(n).nodes(node(f"{n}-1").gpus(8, H100)) for n in names]


def test_ties_break_by_name_whatever_the_insertion_order() -> None:
    demand = task().gpus(1, H100).build()
    forward = place(pool(*twins("alpha", "bravo", "charlie")), demand)
    backward = place(pool(*twins("charlie", "bravo", "alpha")), demand)
    assert [c.identifier for c in forward.candidates] == ["alpha", "bravo", "charlie"]
    assert [c.identifier for c in backward.candidates] == ["alpha", "bravo", "charlie"]
    assert forward.chosen == backward.chosen


def test_reliability_prefers_the_member_without_recent_failures() -> None:
    snapshot = pool(
        identifier("flaky").failures(3).nodes(node("f1").cpu("8")),
        identifier("steady").nodes(node("s1").cpu("8")),
    )
    decision = place(snapshot, task().cpu("1").build())
    assert [(c.identifier, c.scores["Reliability"]) for c in decision.candidates] == [
        ("steady", 100.0),
        ("flaky", 25.0),
    ]


def test_preferred_region_breaks_an_otherwise_even_race() -> None:
    snapshot = pool(
        identifier("a-east").region("us-east-1").nodes(node("e1").cpu("8")),
        identifier("b-west").region("us-west-2").nodes(node("w1").cpu("8")),
    )
    decision = place(snapshot, task().cpu("1").regions(preferred=("us-west-2",)).build())
    assert decision.chosen is not None
    assert decision.chosen.identifier == "b-west"


def test_price_score_is_proportional_and_unknown_scores_zero() -> None:
    snapshot = pool(
        identifier("two").price({H100: 2.0}).nodes(node("a").gpus(8, H100)),
        identifier("four").price({H100: 4.0}).nodes(node("b").gpus(8, H100)),
        identifier("unpriced").nodes(node("c").gpus(8, H100)),
    )
    decision = place(snapshot, task().gpus(1, H100).build())
    assert {c.identifier: c.scores["Price"] for c in decision.candidates} == {
        "two": 100.0,
        "four": 50.0,
        "unpriced": 0.0,
    }


def test_total_is_the_weighted_mean_of_applicable_scores() -> None:
    snapshot = pool(identifier("only").failures(1).nodes(node("a").gpus(8, H100)))
    decision = place(snapshot, task().gpus(2, H100).weights(fit=2.0, price=0.0, reliability=2.0).build())
    chosen = decision.chosen
    assert chosen is not None
    assert chosen.score == pytest.approx((2 * chosen.scores["Fit"] + 2 * 50.0) / 4)
    assert all(0.0 <= s <= 100.0 for s in chosen.scores.values())
