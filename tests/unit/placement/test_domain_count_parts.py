"""The parts `domain_counts` ranks every domain's candidates with, in one pass.

Each domain is one decision whose Price score is relative to its own cheapest candidate
(`scores.price`), floored at the task's cheapest of every variant; the winning domain is then decided
among its chosen identifier alone, told that floor. The Fit score reads the fit's utilization, the
same in every domain. What each entry holds per domain is summed by key (`pair_sums`).
"""

from __future__ import annotations

import numpy as np
import pytest

from computenet.placement import fit
from computenet.placement.context import Context
from computenet.placement.demand import Demand
from computenet.placement.domain_counts import _cheapest, _price, _utilization, pair_sums

from .builders import A100, H100, identifier, node, pool, task

NAN = float("nan")
INF = float("inf")


@pytest.mark.parametrize(
    ("domain", "cost", "floor", "expected"),
    [
        pytest.param([0, 0, 1], [2.0, 1.0, 3.0], None, [1.0, 3.0], id="each domain's cheapest known cost"),
        pytest.param([0, 2], [2.0, 4.0], None, [2.0, INF, 4.0], id="a domain code without pairs has none"),
        pytest.param([0, 0], [NAN, 5.0], None, [5.0], id="an unknown cost is not the cheapest"),
        pytest.param([0, 1], [NAN, 5.0], None, [INF, 5.0], id="a domain of unknown costs only has none"),
        pytest.param([0, 1], [2.0, 5.0], 3.0, [2.0, 3.0], id="the task's floor where it is lower"),
        pytest.param([0, 1], [NAN, 5.0], 3.0, [3.0, 3.0], id="the floor where no cost is known"),
        pytest.param([], [], None, [], id="no pairs, no domains"),
    ],
)
def test_the_cheapest_per_domain(
    domain: list[int], cost: list[float], floor: float | None, expected: list[float]
) -> None:
    found = _cheapest(np.array(domain, dtype=np.int64), np.array(cost, dtype=np.float64), floor)
    assert found.tolist() == expected


@pytest.mark.parametrize(
    ("domain", "cost", "cheapest", "expected"),
    [
        pytest.param([0, 0], [1.0, 2.0], [1.0], [100.0, 50.0], id="proportional to the domain's cheapest"),
        pytest.param([0, 1], [2.0, 2.0], [1.0, 2.0], [50.0, 100.0], id="each against its own domain's"),
        pytest.param([0], [NAN], [INF], [0.0], id="an unknown cost scores 0"),
        pytest.param([0], [3.0], [3.0], [100.0], id="the cheapest scores 100 exactly"),
    ],
)
def test_the_price_score_per_pair(
    domain: list[int], cost: list[float], cheapest: list[float], expected: list[float]
) -> None:
    found = _price(np.array(domain, dtype=np.int64), np.array(cost, dtype=np.float64), np.array(cheapest))
    assert found.tolist() == expected


@pytest.mark.parametrize(
    ("keys", "values", "bound", "expected"),
    [
        pytest.param([3, 1, 3], [2, 5, 4], 4, ([1, 3], [5, 6]), id="summed per key, keys ascending (counted densely)"),
        pytest.param([900, 2, 900], [1, 1, 1], 1000, ([2, 900], [1, 2]), id="a sparse key space is sorted instead"),
        pytest.param([0, 0], [0, 0], 1, ([0], [0]), id="a key summing to 0 is kept"),
        pytest.param([], [], 8, ([], []), id="no keys"),
        pytest.param([1], [2**40], 2, ([1], [2**40]), id="large sums stay exact"),
    ],
)
def test_pair_sums(keys: list[int], values: list[int], bound: int, expected: tuple[list[int], list[int]]) -> None:
    found, sums = pair_sums(np.array(keys, dtype=np.int64), np.array(values, dtype=np.int64), bound)
    assert (found.tolist(), sums.tolist()) == expected
    assert sums.dtype == np.int64


@pytest.mark.parametrize(
    ("demand", "computed"),
    [
        pytest.param(task().gpus(4, H100).replicas(2).build(), True, id="one model, the fit kept it"),
        pytest.param(task().gpus(4, H100).replicas(2).build(), False, id="one model, not yet computed"),
        pytest.param(task().gpus(4, H100, A100).replicas(2).build(), True, id="two models: every column"),
    ],
)
def test_utilization_is_the_fits_per_model_column(demand: Demand, computed: bool) -> None:
    snapshot = pool(
        identifier("a").nodes(node("a1").gpus(8, H100).used(gpus=2), node("a2").gpus(8, A100)),
        identifier("b").nodes(node("b1").gpus(8, H100).used(gpus=6)),
    )
    ctx = Context(snapshot, demand)
    own = np.array([0, 1], dtype=np.int64)
    if computed:
        fit.ensure(ctx, own)
    assert _utilization(ctx, own).tolist() == fit.utilization(ctx, own).tolist()
