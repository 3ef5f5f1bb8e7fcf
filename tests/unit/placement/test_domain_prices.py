"""What the Price score divides by in each domain's decision, and each pair's Price score there.

`domain_counts` ranks every domain's candidates in one pass; each domain is one decision whose Price
score is relative to its own cheapest candidate (`scores.price`), floored at the task's cheapest of
every variant. The winning domain is then decided among its chosen identifier alone, told that floor.
"""

from __future__ import annotations

import numpy as np
import pytest

from computenet.placement.domain_counts import _cheapest, _price

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
