"""The array helpers placement's decisions lean on answer as NumPy's own functions do."""

from __future__ import annotations

import numpy as np
import pytest

from computenet.placement.arrays import distinct, distinct_pairs, group_sum


@pytest.mark.parametrize(
    "values",
    [
        pytest.param([], id="nothing"),
        pytest.param([7], id="one value"),
        pytest.param([3, 3, 3], id="one value repeated"),
        pytest.param([5, 1, 4, 1, 5, 9, 2, 6, 5, 3], id="unsorted with repeats"),
        pytest.param([-2, 0, -2, 2**62, -(2**62), 0], id="negative and large values"),
        pytest.param(list(range(10, 0, -1)), id="all distinct, descending"),
    ],
)
def test_distinct_is_numpys_unique(values: list[int]) -> None:
    array = np.array(values, dtype=np.int64)
    found = distinct(array)
    assert found.dtype == np.int64
    assert found.tolist() == np.unique(array).tolist()
    assert array.tolist() == values  # the input is left as it was


def test_distinct_over_many_values_is_numpys_unique() -> None:
    array = np.random.default_rng(7).integers(0, 5000, 200_000, dtype=np.int64)
    assert distinct(array).tolist() == np.unique(array).tolist()


@pytest.mark.parametrize(
    ("keys", "values", "size"),
    [
        pytest.param([], [], 3, id="nothing to sum: zeros"),
        pytest.param([0, 2, 0, 2, 2], [1, 2, 3, 4, 5], 4, id="repeated keys add up, absent keys are 0"),
        pytest.param([1, 1, 0], [True, True, False], 2, id="booleans count"),
        pytest.param([0, 0], [2**52, 2**52 + 1], 1, id="large sums stay exact"),
        pytest.param([3, 1], [-4, 7], 5, id="negative values"),
    ],
)
def test_group_sum_adds_the_values_of_each_key(keys: list[int], values: list[int], size: int) -> None:
    k = np.array(keys, dtype=np.int64)
    v = np.array(values)
    found = group_sum(k, v, size)
    assert found.dtype == np.int64
    assert found.tolist() == [sum(int(x) for key, x in zip(keys, values, strict=True) if key == i) for i in range(size)]


@pytest.mark.parametrize(
    ("groups", "values", "width"),
    [
        pytest.param([], [], 5, id="no pairs"),
        pytest.param([0], [4], 5, id="one pair"),
        pytest.param([2, 0, 2, 0, 1], [1, 3, 1, 0, 3], 4, id="repeated pairs once each, by group then value"),
        pytest.param([0, 0, 1], [0, 0, 0], 1, id="width one: one value per group"),
        pytest.param([3, 3, 0], [2**33, 1, 2**33], 2**34, id="pairs beyond int32 are kept as int64"),
    ],
)
def test_distinct_pairs_are_the_distinct_combined_keys(groups: list[int], values: list[int], width: int) -> None:
    found = distinct_pairs(np.array(groups, dtype=np.int64), np.array(values, dtype=np.int64), width)
    assert found.dtype == np.int64
    assert found.tolist() == sorted({g * width + v for g, v in zip(groups, values, strict=True)})
