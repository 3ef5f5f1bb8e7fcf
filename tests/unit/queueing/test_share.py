"""Dominant-resource fair share and the order it gives between queues (Armada's fairness)."""

from __future__ import annotations

import pytest

from computenet.queueing import CPU, dominant_share, fair

H100 = "NVIDIA-H100-80GB-HBM3"
CAPACITY = {H100: 64, CPU: 1_000_000}


@pytest.mark.parametrize(
    ("usage", "weight", "share"),
    [
        pytest.param({}, 1.0, 0.0, id="nothing held: share 0"),
        pytest.param({H100: 16, CPU: 100_000}, 1.0, 0.25, id="the dominant resource decides: GPUs, not cpu"),
        pytest.param({H100: 8, CPU: 500_000}, 1.0, 0.5, id="a cpu-heavy queue is dominated by cpu"),
        pytest.param({H100: 16}, 2.0, 0.125, id="weight 2 halves the share"),
        pytest.param({"NVIDIA-L4": 4}, 1.0, 0.0, id="a resource the pool has none of is skipped"),
    ],
)
def test_dominant_share(usage: dict[str, int], weight: float, share: float) -> None:
    assert dominant_share(usage, CAPACITY, weight) == pytest.approx(share)


def test_fair_order_gives_the_next_turn_to_the_lowest_share_and_counts_each_admission() -> None:
    usage = {"a": {H100: 0}, "b": {H100: 0}}
    weights = {"a": 1.0, "b": 2.0}
    picked = []
    tasks = {"a": [f"a{i}" for i in range(6)], "b": [f"b{i}" for i in range(6)]}
    for queue, task in fair(tasks, lambda q: dominant_share(usage[q], CAPACITY, weights[q])):
        picked.append(task)
        usage[queue][H100] += 8  # every task admitted, 8 GPUs each
    # b (weight 2) gets two turns for each of a's once both hold something
    assert picked[:6] == ["a0", "b0", "b1", "a1", "b2", "b3"]
    assert sorted(picked) == sorted(tasks["a"] + tasks["b"])


def test_a_queue_whose_tasks_are_not_admitted_keeps_its_low_share() -> None:
    usage = {"a": 0, "b": 32}
    order = [t for _, t in fair({"a": ["a0", "a1"], "b": ["b0"]}, lambda q: usage[q] / 64)]
    assert order == ["a0", "a1", "b0"]
