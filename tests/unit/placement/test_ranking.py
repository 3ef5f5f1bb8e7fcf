"""`Ranking` answers exactly as a full sort by (total rounded, descending; snapshot index), read in any order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from computenet.placement.ranking import TIE_DECIMALS, Ranking


def _sorted(alive: np.ndarray, totals: np.ndarray) -> list[int]:
    return alive[np.lexsort((alive, -np.round(totals, TIE_DECIMALS)))].tolist()


scores = st.one_of(st.sampled_from([0.0, 50.0, 50.0000001, 100.0, float("nan")]), st.floats(0, 100))


@settings(max_examples=200, deadline=None)
@given(
    totals=st.lists(scores, max_size=80),
    reads=st.lists(st.integers(0, 90), max_size=6),
    skip=st.integers(0, 5),
    data=st.data(),
)
def test_every_read_matches_the_full_sort(
    totals: list[float], reads: list[int], skip: int, data: st.DataObject
) -> None:
    n = len(totals)
    alive = np.array(sorted(data.draw(st.sets(st.integers(0, 500), min_size=n, max_size=n))), dtype=np.int64)
    values = np.array(totals, dtype=np.float64)
    expected = _sorted(alive, values)
    ranking = Ranking(alive, values)
    for rank in reads:  # parts first, in any order, then the whole
        if rank < n:
            assert ranking.ident(rank) == expected[rank]
    later = ranking.passed_over(min(skip, n))
    assert len(later) == n - min(skip, n)
    assert [later.ident(r) for r in range(len(later))] == expected[min(skip, n) :]
    assert later.ranked.tolist() == expected[min(skip, n) :]
    assert ranking.ranked.tolist() == expected


def test_the_first_candidates_are_found_without_sorting_every_one() -> None:
    rng = np.random.default_rng(1)
    totals = rng.random(10_000) * 100
    totals[[17, 4_000]] = 100.0  # two equal best: the lower index first
    ranking = Ranking(np.arange(10_000, dtype=np.int64), totals)
    assert [ranking.ident(0), ranking.ident(1)] == [17, 4_000]
    assert "order" not in ranking.__dict__  # only a head was sorted
    assert ranking.position(5) == int(np.lexsort((np.arange(10_000), -np.round(totals, TIE_DECIMALS)))[5])
