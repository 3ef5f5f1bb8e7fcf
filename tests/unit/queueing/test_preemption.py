"""Preemption: Kueue's candidates and order, and the fewest victims on one member."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from computenet.queueing import Holder, Ledger, QueueQuota, ReclaimWithinPool, WithinQueue, candidates, choose

H100 = "NVIDIA-H100-80GB-HBM3"


def holder(uid: str, queue: str | None, priority: int = 0, gpus: int = 8, on: str = "m1", at: float = 0.0) -> Holder:
    return Holder(uid, f"ns/{uid}", queue, priority, at, on, {H100: gpus})


def book(a: QueueQuota, holders: Sequence[Holder]) -> Ledger:
    ledger = Ledger([a, QueueQuota("team-b", "default", {H100: 16})])
    for h in holders:
        if h.queue:
            ledger.charge(h.queue, h.amounts)
    return ledger


RECLAIM = QueueQuota("team-a", "default", {H100: 16}, reclaim_within_pool=ReclaimWithinPool.ANY)
LOWER = QueueQuota("team-a", "default", {H100: 16}, within_queue=WithinQueue.LOWER_PRIORITY)


@pytest.mark.parametrize(
    ("queue", "priority", "holders", "expected"),
    [
        pytest.param(
            LOWER,
            5,
            [holder("low", "team-a", 1), holder("same", "team-a", 5), holder("high", "team-a", 9)],
            ["low"],
            id="within the queue only lower priorities are candidates",
        ),
        pytest.param(
            QueueQuota("team-a", "default", {H100: 16}),
            5,
            [holder("low", "team-a", 1)],
            [],
            id="a queue that never preempts has no candidates",
        ),
        pytest.param(
            RECLAIM,
            0,
            [
                holder("b1", "team-b", 9, at=1),
                holder("b2", "team-b", 9, at=2),
                holder("b3", "team-b", 9, at=3),
                holder("b4", "team-b", 9, at=4),
            ],
            ["b4", "b3", "b2", "b1"],
            id="reclaim Any takes a borrowing queue's tasks of any priority, the most recent first",
        ),
        pytest.param(
            RECLAIM,
            0,
            [holder("b1", "team-b", 9), holder("b2", "team-b", 9)],
            [],
            id="a queue within its own quota is not borrowing: nothing to reclaim",
        ),
        pytest.param(
            QueueQuota("team-a", "default", {H100: 16}, reclaim_within_pool=ReclaimWithinPool.LOWER_PRIORITY),
            5,
            [holder("b1", "team-b", 1, at=1), holder("b2", "team-b", 9, at=2), holder("b3", "team-b", 1, at=3)],
            ["b3", "b1"],
            id="reclaim LowerPriority leaves the borrower's higher priorities alone",
        ),
        pytest.param(
            QueueQuota("team-a", "default", {H100: 16}, reclaim_within_pool=ReclaimWithinPool.ANY),
            0,
            [holder("a1", "team-a", 0, gpus=16), holder("b1", "team-b", 0, gpus=24)],
            [],
            id="no reclaim when the preemptor would go above its own nominal quota",
        ),
        pytest.param(
            QueueQuota(
                "team-a",
                "default",
                {H100: 16},
                within_queue=WithinQueue.LOWER_PRIORITY,
                reclaim_within_pool=ReclaimWithinPool.ANY,
            ),
            5,
            [holder("mine", "team-a", 0, gpus=4), holder("b1", "team-b", 9, gpus=24), holder("free", None, 0)],
            ["b1", "mine"],
            id="other queues' tasks come first; tasks without a queue are never candidates",
        ),
    ],
)
def test_candidates(queue: QueueQuota, priority: int, holders: list[Holder], expected: list[str]) -> None:
    found = candidates("team-a", priority, {H100: 8}, book(queue, holders), holders)
    assert [h.uid for h in found] == expected


def gpus_free_after(free: dict[str, int], need: int) -> Callable[[str, Sequence[Holder]], bool]:
    """A fits callback: the member's free GPUs plus what the victims give back must reach `need`."""

    def fits(member: str, victims: Sequence[Holder]) -> bool:
        return free.get(member, 0) + sum(v.amounts[H100] for v in victims) >= need

    return fits


@pytest.mark.parametrize(
    ("pool", "free", "need", "expected"),
    [
        pytest.param(
            [
                holder("a", None, gpus=4, on="m1"),
                holder("b", None, gpus=4, on="m1"),
                holder("c", None, gpus=8, on="m2"),
            ],
            {},
            8,
            ("m2", ["c"]),
            id="the member needing the fewest victims wins",
        ),
        pytest.param(
            [
                holder("x", None, gpus=2, on="m1"),
                holder("y", None, gpus=2, on="m1"),
                holder("z", None, gpus=8, on="m1"),
            ],
            {},
            8,
            ("m1", ["z"]),
            id="fill back gives back the small victims taken first but not needed",
        ),
        pytest.param(
            [holder("a", None, gpus=4, on="m1"), holder("b", None, gpus=4, on="m2")],
            {},
            8,
            None,
            id="never across members: 4 + 4 on two members is no choice",
        ),
        pytest.param(
            [holder("a", None, gpus=2, on="m1")],
            {"m1": 4},
            8,
            None,
            id="nothing is preempted when the preemptor would still not fit",
        ),
        pytest.param(
            [holder("a", None, 9, gpus=8, on="m1"), holder("b", None, 1, gpus=8, on="m2")],
            {},
            8,
            ("m2", ["b"]),
            id="equal counts: the member whose victims have the lower priority",
        ),
    ],
)
def test_choose_victims_on_one_member(
    pool: list[Holder], free: dict[str, int], need: int, expected: tuple[str, list[str]] | None
) -> None:
    choice = choose(pool, gpus_free_after(free, need))
    assert (None if choice is None else (choice.identifier, [v.uid for v in choice.victims])) == expected
