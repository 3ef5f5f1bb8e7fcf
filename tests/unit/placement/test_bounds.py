"""Bounds that decide a gang without reading node rows, and the choice of model among the fitting ones.

- `summary.level_bounds` (nodes grouped by free devices) brackets what the nodes really hold, and
  is exact when the nodes of one level are alike in cpu, memory and pod slots.
- `fit.choose_models`: the cheapest fitting model, unknown prices last, the first column among
  equals; with none fitting, the model holding the most.
- The column-by-column summaries (`EntryTable.columns`) and the level tables stay what the rows
  say, after a change of requests and under assumptions.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from computenet.placement import Assumptions, Snapshot, place
from computenet.placement import summary as sm
from computenet.placement.fit import choose_models

from .builders import H100, builder_of, identifier, node, pool, task


def _gpu_pool(used: list[tuple[int, int, int]]) -> Snapshot:
    """One identifier of 8-GPU nodes, 64 cores and 512 GiB each, with (gpus, cores, GiB) in use per node."""
    return pool(
        identifier("a").nodes(
            *(
                node(f"n{i}").gpus(8, H100).cpu(64).memory("512Gi").used(gpus=g, cpu=c, memory=f"{m}Gi")
                for i, (g, c, m) in enumerate(used)
            )
        )
    )


def _slots(used: list[tuple[int, int, int]], need: tuple[int, int, int], cap: int) -> int:
    """Brute force: replicas of `need` (gpus, cores, GiB) the nodes hold together, each node at most `cap`."""
    total = 0
    for g, c, m in used:
        total += min(cap, (8 - g) // need[0], max(64 - c, 0) // need[1], max(512 - m, 0) // need[2])
    return min(total, cap)


def _bounds(snapshot: Snapshot, need: tuple[int, int, int], cap: int) -> tuple[int, int]:
    e = snapshot.entries
    entry = np.array([0])
    gib = 2**30
    most, least = sm.level_bounds(
        e.levels[entry], e.columns[:, entry], (need[0], need[1] * 1000, need[2] * gib, 1), cap
    )
    return int(most[0]), int(least[0])


usage = st.lists(st.tuples(st.integers(0, 8), st.integers(0, 70), st.integers(0, 520)), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    used=usage,
    need=st.tuples(st.integers(1, 8), st.integers(1, 32), st.integers(1, 256)),
    cap=st.integers(1, 16),
)
def test_level_bounds_bracket_what_the_nodes_hold(
    used: list[tuple[int, int, int]], need: tuple[int, int, int], cap: int
) -> None:
    most, least = _bounds(_gpu_pool(used), need, cap)
    assert least <= _slots(used, need, cap) <= most


@pytest.mark.parametrize(
    ("used", "need", "cap", "expected"),
    [
        pytest.param(
            [(0, 0, 0), (4, 0, 0), (8, 0, 0), (6, 0, 0)],
            (8, 8, 64),
            4,
            1,
            id="one whole free node holds one 8-GPU replica",
        ),
        pytest.param(
            [(0, 0, 0), (4, 0, 0), (4, 0, 0), (6, 0, 0)],
            (4, 8, 64),
            8,
            4,
            id="two free halves and a whole node hold four 4-GPU replicas",
        ),
        pytest.param(
            [(0, 16, 100), (0, 16, 100), (8, 60, 500)], (8, 8, 64), 2, 2, id="a gang of two on the two free nodes"
        ),
        pytest.param([(2, 0, 0)] * 5, (2, 4, 32), 3, 3, id="each node holds the whole gang: the gang size"),
    ],
)
def test_level_bounds_are_exact_where_each_level_is_alike(
    used: list[tuple[int, int, int]], need: tuple[int, int, int], cap: int, expected: int
) -> None:
    assert _slots(used, need, cap) == expected
    assert _bounds(_gpu_pool(used), need, cap) == (expected, expected)


def test_a_node_short_of_cpu_in_a_level_leaves_that_level_unsure() -> None:
    used = [(0, 0, 0), (0, 60, 0)]  # both 8 GPUs free, the second has 4 cores left
    most, least = _bounds(_gpu_pool(used), (8, 8, 64), 2)
    assert (most, least) == (2, 0)  # the rows decide: one replica fits
    assert _slots(used, (8, 8, 64), 2) == 1


NAN = float("nan")


@pytest.mark.parametrize(
    ("most", "fits", "prices", "chosen", "price"),
    [
        pytest.param(
            [[2, 2, 2]],
            [[True, True, True]],
            [[3.0, 1.0, 1.0]],
            [1],
            [1.0],
            id="the cheapest fitting, the first of equals",
        ),
        pytest.param([[2, 2]], [[True, True]], [[NAN, 5.0]], [1], [5.0], id="a known price before an unknown one"),
        pytest.param([[2, 2]], [[True, True]], [[NAN, NAN]], [0], [NAN], id="only unknown prices: the first column"),
        pytest.param(
            [[2, 5, 1]],
            [[True, False, False]],
            [[9.0, 1.0, 1.0]],
            [0],
            [9.0],
            id="a cheaper model that does not fit is never chosen",
        ),
        pytest.param(
            [[1, 3, 3]],
            [[False, False, False]],
            [[1.0, 1.0, 1.0]],
            [1],
            [NAN],
            id="none fits: the first model holding the most",
        ),
        pytest.param(
            [[0, 0]], [[False, False]], [[1.0, 1.0]], [0], [NAN], id="nothing held anywhere: the first column"
        ),
        pytest.param(
            [[0, 4], [4, 4]],
            [[False, True], [True, True]],
            [[1.0, 2.0], [7.0, 6.0]],
            [1, 1],
            [2.0, 6.0],
            id="each identifier on its own",
        ),
    ],
)
def test_choose_models(
    most: list[list[int]], fits: list[list[bool]], prices: list[list[float]], chosen: list[int], price: list[float]
) -> None:
    table = np.array(prices)
    width = table.shape[1]
    got, cost = choose_models(
        np.array(most, dtype=np.int64).ravel(), np.array(fits).ravel(), width, lambda at, column: table[at, column]
    )
    assert got.tolist() == chosen
    np.testing.assert_array_equal(cost, np.array(price))


def _assert_tables_match_rows(snapshot: Snapshot) -> None:
    e = snapshot.entries
    every = np.arange(len(e.kind), dtype=np.int64)
    assert e.columns.tolist() == sm.summarize(e.indptr, e.rows, every, snapshot.nodes).T.tolist()
    assert e.levels.tolist() == sm.level_table(e.indptr, e.rows, every, snapshot.nodes).tolist()
    free = snapshot.nodes.free_devices(e.rows)
    for entry in every.tolist():
        lo, hi = int(e.indptr[entry]), int(e.indptr[entry + 1])
        rows, devices = e.rows[lo:hi].tolist(), free[lo:hi].tolist()
        by_level = sorted(range(hi - lo), key=lambda k: (-min(max(devices[k], 0), sm.LEVELS - 1), k))
        assert e.level_rows[lo:hi].tolist() == [rows[k] for k in by_level]  # most free first, then in row order
        for asked in range(1, sm.LEVELS + 2):
            least = min(asked, sm.LEVELS - 1)  # the last level: LEVELS - 1 free or more
            roomy = sorted(r for r, d in zip(rows, devices, strict=True) if d >= least)
            assert sm.nodes_at_least(e.levels, np.array([entry]), asked).tolist() == [len(roomy)]
            assert sorted(e.level_rows[lo : lo + len(roomy)].tolist()) == roomy  # the first of its span
            order, start, stop = e.reading_order(np.array([entry]), asked)
            assert sorted(order[int(start[0]) : int(stop[0])].tolist()) == roomy
        order, start, stop = e.reading_order(np.array([entry]), 0)  # no devices asked: every row
        assert order[int(start[0]) : int(stop[0])].tolist() == rows
        span = slice(int(e.label_indptr[entry]), int(e.label_indptr[entry + 1]))
        sets = e.label_sets[span].tolist()
        assert sets == sorted({int(snapshot.nodes.labels[r]) for r in rows})
        in_level_order = e.level_rows[lo:hi].tolist()
        heads = [next(r for r in in_level_order if int(snapshot.nodes.labels[r]) == s) for s in sets]
        assert e.label_heads[span].tolist() == heads  # each label set's roomiest node
        assert e.label_head_free[span].tolist() == snapshot.nodes.free_amounts(np.array(heads)).tolist()


def test_tables_follow_a_change_of_requests() -> None:
    builder = builder_of(
        identifier("a").nodes(*(node(f"n{i}").gpus(8, H100).cpu(64).memory("512Gi") for i in range(6)))
    )
    first = builder.snapshot()
    builder.add_requested("a", "n2", {"nvidia.com/gpu": 5, "cpu": 40_000})
    second = builder.snapshot()
    assert second.entries.rows is first.entries.rows  # the same layout: only the changed entry recomputed
    _assert_tables_match_rows(second)
    assert second.entries.levels[0, 3, sm.L_COUNT] == 1  # n2 has 3 GPUs free
    assert second.entries.levels[0, sm.LEVELS - 1, sm.L_COUNT] == 5


def test_label_sets_follow_a_relabelled_node() -> None:
    nodes = [node(f"n{i}").gpus(8, H100).cpu(64).memory("512Gi").label("rack", str(i % 2)) for i in range(4)]
    builder = builder_of(identifier("a").nodes(*nodes))
    first = builder.snapshot()
    _assert_tables_match_rows(first)
    assert len(first.entries.label_sets) == 2  # racks 0 and 1
    builder.upsert_node("a", node("n3").gpus(8, H100).cpu(64).memory("512Gi").label("rack", "7").build())
    second = builder.snapshot()
    _assert_tables_match_rows(second)
    racks = {dict(second.vocabulary.label_sets[s]).get("rack") for s in second.entries.label_sets.tolist()}
    assert racks == {"0", "1", "7"}


def test_summary_columns_are_what_the_rows_say_under_assumptions() -> None:
    snapshot = pool(
        identifier("a").nodes(*(node(f"n{i}").gpus(8, H100).cpu(64).memory("512Gi") for i in range(4))),
        identifier("b").nodes(*(node(f"m{i}").gpus(8, H100).cpu(64).memory("512Gi") for i in range(4))),
    )
    held = Assumptions()
    decision = place(snapshot, task("t1").gpus(8, H100).cpu(8).memory("64Gi").replicas(2).build(), assumptions=held)
    held.assume(decision, now=0.0)
    overlay = held.overlay(snapshot)
    e = snapshot.entries
    for entries in (np.arange(len(e.kind)), np.array([1]), np.array([0])):
        after = sm.summarize(e.indptr, e.rows, entries, snapshot.nodes, overlay)  # the rows, assumptions taken off
        assert overlay.summary_columns(e.columns, entries).tolist() == after.T.tolist()
    assert overlay.summary_columns(e.columns, np.arange(len(e.kind))).tolist() != e.columns.tolist()  # assumed
