"""Data-aware placement: what moving a task's data costs in time and money, caps on both, and the score.

The world: data in cn-east; `east` computes there, `west` is 30 ms away behind a 1 Gbit/s link.
Each region's store charges for what leaves it (east 0.10, west 0.05 USD per GiB).
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from computenet.placement import Snapshot, place, reasons
from computenet.placement.demand import AcceleratorDemand, Variant
from computenet.placement.resources import GIB
from computenet.placement.transfer import MIXED, NONE, moves

from .builders import H100, MI300X, IdentifierBuilder, identifier, node, pool, task

EAST_PRICE = 10.0
HUNDRED_GIB = 100 * GIB
WEST_SECONDS = HUNDRED_GIB * 8 / 1e9  # over west's 1 Gbit/s, the slower end of the link
EAST_EGRESS = 0.10


def east(*, store: bool = True) -> IdentifierBuilder:
    b = identifier("east").region("cn-east").price({H100: EAST_PRICE}).network({"cn-west": 30.0}, bandwidth_gbps=10.0)
    b = b.store(EAST_EGRESS) if store else b
    return b.nodes(node("e1").gpus(8, H100))


def west(price: float, *, bandwidth: float | None = 1.0, store: bool = True) -> IdentifierBuilder:
    b = identifier("west").region("cn-west").price({H100: price}).network({"cn-east": 30.0}, bandwidth_gbps=bandwidth)
    b = b.store(0.05) if store else b
    return b.nodes(node("w1").gpus(8, H100))


def world(west_price: float = 8.0, **west_facts: float | bool | None) -> Snapshot:
    return pool(east(), west(west_price, **west_facts))  # type: ignore[arg-type]


def figures(snapshot: Snapshot, **data: object) -> dict[str, tuple[float, float, float]]:
    demand = task().gpus(1, H100).data("cn-east", HUNDRED_GIB, **data).build()  # type: ignore[arg-type]
    m = moves(snapshot, demand.data)
    return {
        ident.name: (float(m.bytes[i]), float(m.seconds[i]), float(m.cost[i]))
        for i, ident in enumerate(snapshot.identifiers)
    }


# ---- the figures ----


def test_data_in_the_identifiers_region_moves_nothing_and_costs_nothing() -> None:
    assert figures(world())["east"] == (0.0, 0.0, 0.0)


def test_data_moved_across_regions_takes_size_over_the_slower_end_and_costs_the_source_stores_egress() -> None:
    moved, seconds, cost = figures(world())["west"]
    assert moved == HUNDRED_GIB
    assert seconds == pytest.approx(WEST_SECONDS)
    assert cost == pytest.approx(100 * EAST_EGRESS)  # east's store holds the data: its price, not west's


def test_a_faster_destination_is_held_to_the_bandwidth_of_the_source_region() -> None:
    _, seconds, _ = figures(world(bandwidth=100.0))["west"]
    assert seconds == pytest.approx(HUNDRED_GIB * 8 / 10e9)  # east declares 10 Gbit/s


@pytest.mark.parametrize(
    ("snapshot", "unknown"),
    [
        pytest.param(world(bandwidth=None), "seconds", id="no bandwidth declared: the time is unknown"),
        pytest.param(
            pool(east(store=False), west(8.0)),
            "cost",
            id="no store declared where the data is: the cost is unknown",
        ),
    ],
)
def test_unknown_figures_are_nan_not_guessed(snapshot: Snapshot, unknown: str) -> None:
    _, seconds, cost = figures(snapshot)["west"]
    assert math.isnan(seconds if unknown == "seconds" else cost)
    assert not math.isnan(cost if unknown == "seconds" else seconds)


@pytest.mark.parametrize(
    ("pieces", "west_bytes", "west_cost"),
    [
        pytest.param(((HUNDRED_GIB, ("cn-east", "cn-west")),), 0, 0.0, id="a replica in the region makes it free"),
        pytest.param(
            ((HUNDRED_GIB, ("cn-east",)), (HUNDRED_GIB, ("cn-west",))),
            HUNDRED_GIB,
            100 * EAST_EGRESS,
            id="only the pieces not already in the region move",
        ),
        pytest.param(
            ((HUNDRED_GIB, ("cn-north", "cn-east")),),
            HUNDRED_GIB,
            100 * EAST_EGRESS,
            id="a dataset is copied from its nearest replica by the identifier's latency",
        ),
    ],
)
def test_pieces_move_from_their_nearest_copy(
    pieces: tuple[tuple[int, tuple[str, ...]], ...], west_bytes: int, west_cost: float
) -> None:
    snapshot = pool(east(), west(8.0).network({"cn-east": 30.0, "cn-north": 90.0}, bandwidth_gbps=1.0))
    demand = task().gpus(1, H100).data("", 0, *pieces).build()
    m = moves(snapshot, demand.data)
    w = snapshot.index["west"]
    assert (m.bytes[w], m.cost[w]) == (west_bytes, pytest.approx(west_cost))


def test_a_region_of_several_stores_is_priced_by_the_one_staging_copies_from() -> None:
    snapshot = pool(east(), identifier("east-2").region("cn-east").store(0.30), west(8.0))
    assert figures(snapshot)["west"][2] == pytest.approx(100 * EAST_EGRESS)  # "east" is first by name


def test_pieces_priced_in_two_currencies_have_no_cost() -> None:
    snapshot = pool(east(), identifier("north").region("cn-north").store(0.02, "EUR"), west(8.0))
    demand = task().gpus(1, H100).data("", 0, (GIB, ("cn-east",)), (GIB, ("cn-north",))).build()
    m = moves(snapshot, demand.data)
    w = snapshot.index["west"]
    assert m.currency[w] == MIXED
    assert math.isnan(m.cost[w])
    assert m.currency[snapshot.index["east"]] != NONE  # east still moves the cn-north piece, in EUR alone


# ---- the score: money against money ----


@pytest.mark.parametrize(
    ("west_price", "hours", "chosen"),
    [
        pytest.param(8.0, 1.0, "east", id="west cheaper by 2/h for one hour does not pay for 10 of egress"),
        pytest.param(8.0, 10.0, "west", id="west cheaper by 20 over ten hours pays for 10 of egress"),
        pytest.param(9.5, 10.0, "east", id="west cheaper by 5 over ten hours does not"),
        pytest.param(0.5, 1.0, "east", id="west cheaper by 9.5 in one hour still does not pay for 10 of egress"),
        pytest.param(0.5, 2.0, "west", id="west cheaper by 19 over two hours pays for 10 of egress"),
    ],
)
def test_data_in_east_runs_west_when_west_is_cheaper_by_more_than_moving_the_data(
    west_price: float, hours: float, chosen: str
) -> None:
    demand = task().gpus(1, H100).data("cn-east", HUNDRED_GIB, hours=hours).weights(locality=0.0).build()
    decision = place(world(west_price), demand)
    assert decision.chosen is not None
    assert decision.chosen.identifier == chosen


def test_the_price_score_weighs_the_whole_cost() -> None:
    demand = task().gpus(1, H100).data("cn-east", HUNDRED_GIB, hours=10.0).build()
    scores = {c.identifier: c.scores["Price"] for c in place(world(8.0), demand).candidates}
    assert scores == {"west": 100.0, "east": pytest.approx(100 * (8.0 * 10 + 10.0) / (10.0 * 10))}


def test_without_data_the_price_score_is_the_price_per_hour_alone() -> None:
    scores = {c.identifier: c.scores["Price"] for c in place(world(8.0), task().gpus(1, H100).build()).candidates}
    assert scores == {"west": 100.0, "east": pytest.approx(80.0)}


def test_candidates_carry_the_datas_eta_and_cost() -> None:
    decision = place(world(), task().gpus(1, H100).data("cn-east", HUNDRED_GIB).build())
    by_name = {c.identifier: c for c in decision.candidates}
    w, e = by_name["west"], by_name["east"]
    assert (w.data_bytes, w.data_seconds, w.data_cost, w.data_currency) == (
        HUNDRED_GIB,
        pytest.approx(WEST_SECONDS),
        pytest.approx(10.0),
        "USD",
    )
    assert (e.data_bytes, e.data_seconds, e.data_cost) == (0, 0.0, 0.0)


# ---- the caps ----


@pytest.mark.parametrize(
    ("snapshot", "caps", "code", "phrase", "message"),
    [
        pytest.param(
            world(),
            {"max_transfer_seconds": 600},
            reasons.TRANSFER_ABOVE_MAX,
            "data transfer above 600 s",
            "data transfer 859 s > maxTransferSeconds 600 (100.0 GiB from cn-east)",
            id="a transfer longer than maxTransferSeconds is refused with its figure",
        ),
        pytest.param(
            world(bandwidth=None),
            {"max_transfer_seconds": 600},
            reasons.TRANSFER_TIME_UNKNOWN,
            "data transfer time unknown",
            "data transfer time unknown: no bandwidth is known for moving 100.0 GiB from cn-east",
            id="an identifier that declares no bandwidth cannot promise a transfer time",
        ),
        pytest.param(
            world(),
            {"max_cost": 5.0},
            reasons.DATA_COST_ABOVE_MAX,
            "data cost above 5.00 USD",
            "data cost 10.00 USD > maxDataCost 5.00 (100.0 GiB from cn-east)",
            id="a data cost above maxDataCost is refused with its figure",
        ),
        pytest.param(
            pool(east(store=False), west(8.0)),
            {"max_cost": 5.0},
            reasons.DATA_COST_UNKNOWN,
            "data cost unknown",
            "data cost unknown: no store with an egress price is known for moving 100.0 GiB from cn-east",
            id="no store priced where the data is: the cost cannot be held to the cap",
        ),
    ],
)
def test_caps_refuse_the_identifiers_beyond_them(
    snapshot: Snapshot, caps: dict[str, float], code: str, phrase: str, message: str
) -> None:
    demand = task().gpus(1, H100).data("cn-east", HUNDRED_GIB, **caps).max_price(1000.0, "USD").build()
    decision = place(snapshot, demand)
    assert decision.chosen is not None
    assert decision.chosen.identifier == "east"  # in place: nothing to cap
    rejected = decision.rejections["west"]
    assert (rejected.reason, rejected.phrase, rejected.message) == (code, phrase, message)
    assert decision.summary.endswith(f"rejected: 1 {phrase}")


def test_a_cap_in_another_currency_than_the_stores_is_refused_as_such() -> None:
    demand = task().gpus(1, H100).data("cn-east", HUNDRED_GIB, max_cost=50.0).max_price(1000.0, "EUR").build()
    eur = pool(east().price({H100: 1.0}, currency="EUR"), west(8.0).price({H100: 1.0}, currency="EUR"))
    decision = place(eur, demand)
    rejected = decision.rejections["west"]
    assert (rejected.reason, rejected.message) == (
        reasons.DATA_COST_CURRENCY,
        "data cost priced in USD, the task pays in EUR",
    )


@pytest.mark.parametrize(
    "caps",
    [
        pytest.param({"max_transfer_seconds": 900}, id="a transfer within maxTransferSeconds passes"),
        pytest.param({"max_cost": 10.0}, id="a data cost equal to maxDataCost passes"),
        pytest.param({"max_transfer_seconds": 0, "max_cost": 0.0}, id="zero caps pass where the data already is"),
    ],
)
def test_caps_let_through_what_is_within_them(caps: dict[str, float]) -> None:
    demand = task().gpus(1, H100).data("cn-east", HUNDRED_GIB, **caps).build()
    decision = place(world(), demand)
    expected = {"east"} if 0 in caps.values() else {"east", "west"}
    assert {c.identifier for c in decision.candidates} == expected


def test_a_task_without_caps_is_not_filtered_on_its_data() -> None:
    decision = place(world(bandwidth=None), task().gpus(1, H100).data("cn-east", HUNDRED_GIB).build())
    by_name = {c.identifier: c for c in decision.candidates}
    assert set(by_name) == {"east", "west"}
    assert by_name["west"].data_seconds is None  # unknown, and said so, but not a reason to refuse


def test_a_task_of_several_pod_sets_is_capped_once_and_priced_with_its_data() -> None:
    leader_and_workers = task().pod_set("leader", 1, cpu="1").pod_set("workers", 2, gpus=1, models=(H100,))
    demand = leader_and_workers.data("cn-east", HUNDRED_GIB, hours=10.0, max_transfer_seconds=600).build()
    decision = place(world(8.0), demand)
    assert [c.identifier for c in decision.candidates] == ["east"]
    assert decision.rejections["west"].message == (
        "data transfer 859 s > maxTransferSeconds 600 (100.0 GiB from cn-east)"
    )  # once, not once per pod set
    uncapped = place(world(8.0), leader_and_workers.data("cn-east", HUNDRED_GIB, hours=10.0).build())
    scores = {c.identifier: c.scores["Price"] for c in uncapped.candidates}
    assert scores == {"west": 100.0, "east": pytest.approx(100 * (2 * 8.0 * 10 + 10.0) / (2 * 10.0 * 10))}


def test_across_variants_the_price_floor_is_the_whole_cost_with_the_data() -> None:
    """nv computes where the data is for 24/h; amd for 16/h, but 10 of egress away: nv is the cheapest."""
    h100, mi300x = Variant(AcceleratorDemand(8, "nvidia"), "h100"), Variant(AcceleratorDemand(8, "amd"), "mi300x")
    demand = task().cpu("8").memory("64Gi").data("cn-east", HUNDRED_GIB).weights(locality=0.0).build()
    demand = replace(demand, variants=(h100, mi300x), accelerators=h100.accelerators)
    snapshot = pool(
        identifier("nv").region("cn-east").store(EAST_EGRESS).price({H100: 3.0}).nodes(node("n1").gpus(8, H100)),
        identifier("amd")
        .region("cn-west")
        .network({"cn-east": 30.0}, bandwidth_gbps=1.0)
        .price({MI300X: 2.0})
        .nodes(node("a1").gpus(8, MI300X)),
    )
    decision = place(snapshot, demand)
    prices = {c.identifier: c.scores["Price"] for c in decision.candidates}
    assert decision.chosen is not None
    assert decision.chosen.identifier == "nv"
    assert prices == {"nv": 100.0, "amd": pytest.approx(100 * 24 / 26)}
