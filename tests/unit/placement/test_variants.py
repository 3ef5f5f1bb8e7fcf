"""One task, several ways to run: variants per vendor or model, and compute requests, as placement decides them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from computenet.placement import Assumptions, Demand, Snapshot, offers, place
from computenet.placement import reasons as r
from computenet.placement.compute import choices
from computenet.placement.demand import AcceleratorDemand, ComputeDemand, Variant

from .builders import A100, H100, L4, MI300X, identifier, node, pool, task

NVIDIA = Variant(AcceleratorDemand(8, "nvidia"), "h100")
AMD = Variant(AcceleratorDemand(8, "amd"), "mi300x")


def variants(*ways: Variant) -> Demand:
    return replace(task().cpu("8").memory("64Gi").build(), variants=ways, accelerators=ways[0].accelerators)


def compute(tflops: float, precision: str = "bf16", *, min_memory_gib: int = 0, vendor: str | None = None) -> Demand:
    acc = AcceleratorDemand(0, vendor, min_memory_mib=min_memory_gib * 1024, compute=ComputeDemand(tflops, precision))
    return replace(task().cpu("8").memory("64Gi").build(), accelerators=acc)


def nvidia(free: int = 8, price: float = 3.0) -> object:
    return identifier("nv").nodes(node("n1").gpus(8, H100).used(gpus=8 - free)).price({H100: price})


def amd(free: int = 8, price: float = 3.0) -> object:
    return identifier("amd").nodes(node("a1").gpus(8, MI300X).used(gpus=8 - free)).price({MI300X: price})


@pytest.mark.parametrize(
    ("snapshot", "ways", "chosen", "variant"),
    [
        pytest.param(pool(nvidia(free=0), amd()), (NVIDIA, AMD), "amd", "mi300x",
                     id="the NVIDIA nodes full: the AMD variant runs on the AMD member"),
        pytest.param(pool(nvidia(), amd(free=0)), (NVIDIA, AMD), "nv", "h100",
                     id="the AMD nodes full: the NVIDIA variant runs on the NVIDIA member"),
        pytest.param(pool(nvidia(), amd()), (NVIDIA, AMD), "nv", "h100",
                     id="both free at one score: the variant listed first wins"),
        pytest.param(pool(nvidia(), amd()), (AMD, NVIDIA), "amd", "mi300x",
                     id="the order of the variants is the tie-break, whatever the vendor"),
        pytest.param(pool(nvidia(price=3.0), amd(price=1.0)), (NVIDIA, AMD), "amd", "mi300x",
                     id="a later variant that scores better (cheaper) wins over the first"),
    ],
)  # fmt: skip
def test_the_best_scoring_identifier_and_variant_pair_wins(
    snapshot: Snapshot, ways: tuple[Variant, ...], chosen: str, variant: str
) -> None:
    decision = place(snapshot, variants(*ways))
    assert decision.chosen is not None
    assert (decision.chosen.identifier, decision.chosen.variant) == (chosen, variant)
    assert decision.variant is not None
    assert decision.variant.name == variant
    assert decision.per_replica.accelerators == 8
    assert f"with variant {variant}" in decision.summary


def test_no_variant_fits_says_what_each_lacks() -> None:
    decision = place(pool(nvidia(free=0)), variants(NVIDIA, AMD))
    assert decision.chosen is None
    assert decision.summary == (
        "0/1 identifiers fit any variant: variant h100: 1 insufficient nvidia.com/gpu in total; "
        "variant mi300x: 1 no amd.com/gpu"
    )
    rejection = decision.rejections["nv"]
    assert rejection.reason == r.INSUFFICIENT_RESOURCE, "the first variant's reason"
    assert rejection.message.startswith("variant h100: 0 nvidia.com/gpu")
    assert "; variant mi300x: its schedulable nodes offer NVIDIA-H100-80GB-HBM3" in rejection.message


def test_offers_and_candidates_name_each_identifier_s_best_variant() -> None:
    decision = place(pool(nvidia(price=1.0), amd(price=2.0)), replace(variants(NVIDIA, AMD), suspended=True))
    found = {o.identifier: (o.variant, o.devices, o.model) for o in offers(decision)}
    assert found == {"nv": ("h100", 8, H100), "amd": ("mi300x", 8, MI300X)}
    assert [c.identifier for c in decision.candidates] == ["nv", "amd"], "each identifier once, best first"
    assert offers(decision)[0].variant == "h100", "the best offer runs its best variant"
    assert decision.rejections == {}


def test_an_identifier_one_variant_fits_is_not_rejected() -> None:
    decision = place(pool(nvidia(free=0), amd()), variants(NVIDIA, AMD))
    assert set(decision.rejections) == {"nv"}
    assert sum(count for count, _ in decision.reasons) == 1


def test_the_chosen_variant_is_assumed_so_a_burst_moves_to_the_other_vendor() -> None:
    snapshot = pool(nvidia(), amd())
    assumptions = Assumptions(ttl=300)
    first = place(snapshot, replace(variants(NVIDIA, AMD), uid="a"), assumptions=assumptions)
    assumptions.assume(first, now=0.0)
    second = place(snapshot, replace(variants(NVIDIA, AMD), uid="b"), assumptions=assumptions)
    assert first.chosen is not None
    assert second.chosen is not None
    assert (first.chosen.variant, second.chosen.variant) == ("h100", "mi300x")


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        pytest.param(ComputeDemand(2000, "bf16"), [("NVIDIA-B200", 1), (MI300X, 2), ("NVIDIA-H200", 3), (H100, 3)],
                     id="fewest devices first, then catalogue order: 1 B200, 2 MI300X, 3 H200 or 3 H100 ..."),
        pytest.param(ComputeDemand(989.5, "bf16"), [("NVIDIA-B200", 1), ("NVIDIA-H200", 1), (H100, 1), (MI300X, 1)],
                     id="an ask equal to one device's figure needs that one device"),
        pytest.param(ComputeDemand(60, "fp64"), [("NVIDIA-H200", 1), (H100, 1), (MI300X, 1), ("NVIDIA-B200", 2)],
                     id="fp64: 1 H200, H100 or MI300X, 2 B200 (37 each), and none of the models without fp64"),
    ],
)  # fmt: skip
def test_a_compute_request_becomes_the_smallest_count_of_each_model(
    request_: ComputeDemand, expected: list[tuple[str, int]]
) -> None:
    found = [(c.models[0], c.count) for c in choices(AcceleratorDemand(0, compute=request_))]
    assert found[: len(expected)] == expected
    if request_.precision == "fp64":
        assert L4 not in {model for model, _ in found}, "no fp64 figure: never chosen"


@pytest.mark.parametrize(
    ("acc", "models"),
    [
        pytest.param(AcceleratorDemand(0, min_memory_mib=100 * 1024, compute=ComputeDemand(1000, "bf16")),
                     {"NVIDIA-B200", "NVIDIA-H200", MI300X}, id="a memory floor leaves out the 80 GiB devices"),
        pytest.param(AcceleratorDemand(0, "amd", compute=ComputeDemand(1000, "bf16")),
                     {MI300X, "AMD-Instinct-MI250X"}, id="a vendor keeps that vendor's models only"),
        pytest.param(AcceleratorDemand(0, models=(A100, H100), compute=ComputeDemand(1000, "bf16")),
                     {A100, H100}, id="models narrow the choice"),
        pytest.param(AcceleratorDemand(0, compute=ComputeDemand(200_000, "bf16")), set(),
                     id="more than 64 devices of any model: no choice"),
    ],
)  # fmt: skip
def test_what_a_compute_request_may_choose(acc: AcceleratorDemand, models: set[str]) -> None:
    assert {c.models[0] for c in choices(acc)} == models


@pytest.mark.parametrize(
    ("snapshot", "ask", "model", "count"),
    [
        pytest.param(pool(nvidia(), amd()), compute(2000, min_memory_gib=80), MI300X, 2,
                     id="2000 bf16 TFLOPS: 2 MI300X beat 3 H100 (fewer devices fill the node less)"),
        pytest.param(pool(nvidia(), amd(free=1)), compute(2000, min_memory_gib=80), H100, 3,
                     id="the MI300X node has one free: 3 H100 instead"),
        pytest.param(pool(nvidia(), amd()), compute(2000, min_memory_gib=100), MI300X, 2,
                     id="a floor above 80 GiB rules the H100 out"),
        pytest.param(pool(nvidia(), amd()), compute(500, vendor="nvidia"), H100, 1,
                     id="a vendor keeps to its models"),
    ],
)  # fmt: skip
def test_placement_picks_the_model_and_count_of_a_compute_request(
    snapshot: Snapshot, ask: Demand, model: str, count: int
) -> None:
    decision = place(snapshot, ask)
    assert decision.chosen is not None
    assert (decision.chosen.model, decision.chosen.devices, decision.chosen.variant) == (model, count, None)
    assert decision.per_replica.accelerators == count
    assert f"with {count} x {model}" in decision.summary


def test_a_compute_request_no_model_meets_waits_saying_so() -> None:
    decision = place(pool(nvidia(), amd()), compute(200_000))
    assert decision.chosen is None
    assert {name: rej.reason for name, rej in decision.rejections.items()} == {
        "nv": r.NO_MODEL_MEETS_COMPUTE,
        "amd": r.NO_MODEL_MEETS_COMPUTE,
    }
    assert decision.summary == "0/2 identifiers fit: 2 no catalogue model meets 200000 bf16 TFLOPS per replica"


def test_a_compute_request_that_fits_nowhere_names_the_models_it_tried_there() -> None:
    decision = place(pool(nvidia(free=2)), compute(2000, min_memory_gib=80))
    assert decision.chosen is None
    assert decision.rejections["nv"].message.startswith("3 x NVIDIA-H100-80GB-HBM3: 2 nvidia.com/gpu")
    assert "B200" not in decision.rejections["nv"].message, "models the identifier lacks are not listed"


def test_a_variant_asking_for_compute_is_named_with_its_choice() -> None:
    way = Variant(AcceleratorDemand(0, "amd", compute=ComputeDemand(2000, "bf16")), "rocm")
    decision = place(pool(amd()), variants(NVIDIA, way))
    assert decision.chosen is not None
    assert decision.chosen.variant == "rocm"
    assert decision.chosen.devices == 2
    assert "with variant rocm, 2 x AMD-Instinct-MI300X" in decision.summary
