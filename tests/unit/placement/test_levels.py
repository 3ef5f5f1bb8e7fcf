"""Levels: a changed copy answers like a plain dict of the same changes, and the original stays as it was."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computenet.placement import levels
from computenet.placement.levels import Levels, empty_levels, merged

WIDTH = 2

Change = list[tuple[int, tuple[int, int]]]


def apply(lv: Levels, change: Change) -> Levels:
    rows = dict(change)  # the last value of a key wins
    keys = np.array(sorted(rows), dtype=np.int64)
    values = np.array([rows[k] for k in sorted(rows)], dtype=np.int64).reshape(-1, WIDTH)
    return lv.replaced(keys, values)


def expected(model: dict[int, tuple[int, int]], drop_zeros: bool) -> dict[int, tuple[int, int]]:
    return {k: v for k, v in sorted(model.items()) if not drop_zeros or any(v)}


def as_dict(lv: Levels) -> dict[int, tuple[int, int]]:
    keys, values = lv.flat()
    return {int(k): (int(a), int(b)) for k, (a, b) in zip(keys.tolist(), values.tolist(), strict=True)}


changes = st.lists(
    st.lists(st.tuples(st.integers(0, 40), st.tuples(st.integers(0, 3), st.integers(0, 3))), max_size=6), max_size=25
)


@settings(max_examples=200, deadline=None)
@given(changes=changes, drop_zeros=st.booleans(), recent_min=st.integers(0, 8), share=st.integers(1, 4))
def test_levels_answer_like_a_dict_and_never_change(
    changes: list[Change], drop_zeros: bool, recent_min: int, share: int
) -> None:
    with pytest.MonkeyPatch.context() as mp:  # small limits, so that the recent level is merged often
        mp.setattr(levels, "RECENT_MIN", recent_min)
        mp.setattr(levels, "RECENT_SHARE", share)
        lv, model = empty_levels(WIDTH, drop_zeros=drop_zeros), dict[int, tuple[int, int]]()
        history: list[tuple[Levels, dict[int, tuple[int, int]]]] = []
        for change in changes:
            history.append((lv, dict(model)))
            lv = apply(lv, change)
            model.update(change)
            assert as_dict(lv) == expected(model, drop_zeros)
            query = np.arange(-1, 42, dtype=np.int64)[::-1]  # any order, keys absent included
            where, values = lv.find(query)
            found = {int(query[w]): (int(a), int(b)) for w, (a, b) in zip(where.tolist(), values.tolist(), strict=True)}
            assert {k: v for k, v in found.items() if not drop_zeros or any(v)} == expected(model, drop_zeros)
            assert set(found) <= set(model)
        for old, then in history:
            assert as_dict(old) == expected(then, drop_zeros)


@pytest.mark.parametrize(
    ("keys", "new", "want"),
    [
        pytest.param([], [3], [3], id="into nothing"),
        pytest.param([2, 5], [1], [1, 2, 5], id="before every key"),
        pytest.param([2, 5], [9], [2, 5, 9], id="after every key"),
        pytest.param([2, 5, 8], [3, 5, 6, 9], [2, 3, 5, 6, 8, 9], id="between keys and on one"),
        pytest.param([2, 5], [2, 5], [2, 5], id="only replacing"),
    ],
)
def test_merged_keeps_keys_sorted_and_new_values_win(keys: list[int], new: list[int], want: list[int]) -> None:
    old_keys = np.array(keys, dtype=np.int64)
    old_values = (old_keys * 10).reshape(-1, 1)
    out_keys, out_values = merged(old_keys, old_values, np.array(new, dtype=np.int64), -np.array(new).reshape(-1, 1))
    assert out_keys.tolist() == want
    assert out_values[:, 0].tolist() == [-k if k in new else k * 10 for k in want]
    assert old_values[:, 0].tolist() == [k * 10 for k in keys]  # the input is not changed
