"""Offers for suspended tasks and the one-line explanation for the status condition."""

from __future__ import annotations

import pytest

from computenet.placement import offers, place

from .builders import H100, identifier, node, pool, task


def test_offers_are_the_top_candidates_with_price_and_fit() -> None:
    snapshot = pool(
        identifier("cheap").price({H100: 2.0}).nodes(node("a").gpus(8, H100)),
        identifier("mid").price({H100: 3.0}).nodes(node("b").gpus(8, H100)),
        identifier("dear").price({H100: 8.0}).nodes(node("c").gpus(8, H100)),
    )
    made = offers(place(snapshot, task().gpus(4, H100).replicas(2).suspended().build()), k=2)
    assert [(o.identifier, o.price_per_hour, o.model) for o in made] == [
        ("cheap", 16.0, H100),
        ("mid", 24.0, H100),
    ]
    assert made[0].fit == pytest.approx(100.0)
    assert (made[0].data_bytes, made[0].data_seconds, made[0].data_cost) == (None, None, None)


def test_no_offers_when_nothing_fits() -> None:
    snapshot = pool(identifier("p").nodes(node("a").gpus(2, H100)))
    assert offers(place(snapshot, task().gpus(4, H100).build())) == ()


def test_explanation_groups_identifiers_by_reason() -> None:
    fragmented = [
        identifier(f"frag-{i}")
        .price({H100: 1.0})
        .nodes(*(node(f"f{i}-{j}").gpus(8, H100).used(gpus=6) for j in range(4)))
        for i in range(3)
    ]
    dear = [identifier(f"dear-{i}").price({H100: 9.0}).nodes(node(f"d{i}").gpus(8, H100)) for i in range(2)]
    decision = place(pool(*fragmented, *dear), task().gpus(8, H100).max_price(4.0).build())
    assert decision.summary == (
        "0/5 identifiers fit: 3 insufficient nvidia.com/gpu (NVIDIA-H100-80GB-HBM3) on any single node, "
        "2 price above 4.00/h"
    )
    assert decision.rejections["dear-0"].message == (
        "price 72.00 USD/h with NVIDIA-H100-80GB-HBM3, the task allows 4.00/h"
    )


def test_explanation_when_placed_names_the_choice() -> None:
    snapshot = pool(
        identifier("up").nodes(node("a").cpu("8")), identifier("down").not_ready().nodes(node("b").cpu("8"))
    )
    summary = place(snapshot, task().cpu("1").build()).summary
    assert summary.startswith("placed on up (score ")
    assert summary.endswith("; 1/2 identifiers fit; rejected: 1 not Ready")


def test_explanation_of_an_empty_pool() -> None:
    assert place(pool(), task().cpu("1").build()).summary == "0/0 identifiers fit: the pool has no identifiers"
