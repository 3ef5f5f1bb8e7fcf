"""The array helpers placement's decisions lean on answer as NumPy's own functions do."""

from __future__ import annotations

import numpy as np
import pytest

from computenet.placement.arrays import distinct, group_sum


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
