"""The array helpers placement's decisions lean on answer as NumPy's own functions do."""

from __future__ import annotations

import numpy as np
import pytest

from computenet.placement.arrays import distinct


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
