"""Queue order: priority, then creation time; a task that does not fit does not block others."""

from __future__ import annotations

from computenet.placement import Assumptions, order, schedule

from .builders import H100, identifier, node, pool, task


def test_order_is_priority_then_age() -> None:
    demands = [
        task("old-low").priority(0).created(1.0).build(),
        task("new-high").priority(10).created(9.0).build(),
        task("old-high").priority(10).created(2.0).build(),
        task("new-low").priority(0).created(5.0).build(),
    ]
    assert [d.uid for d in order(demands)] == ["old-high", "new-high", "old-low", "new-low"]


def test_a_task_that_does_not_fit_does_not_block_smaller_ones_behind_it() -> None:
    snapshot = pool(identifier("p").nodes(node("n1").gpus(8, H100)))
    demands = [
        task("huge").gpus(8, H100).replicas(4).priority(10).build(),
        task("small-1").gpus(4, H100).created(1.0).build(),
        task("small-2").gpus(4, H100).created(2.0).build(),
        task("small-3").gpus(4, H100).created(3.0).build(),
    ]
    held = Assumptions()
    placed = {
        d.uid: (dec.chosen.identifier if dec.chosen else None) for d, dec in schedule(demands, snapshot, held, now=0.0)
    }
    assert placed == {"huge": None, "small-1": "p", "small-2": "p", "small-3": None}
    assert sorted(a.task_uid for a in held) == ["small-1", "small-2"]


def test_suspended_task_gets_a_decision_but_holds_nothing() -> None:
    snapshot = pool(identifier("p").nodes(node("n1").gpus(8, H100)))
    held = Assumptions()
    results = list(schedule([task("s").gpus(8, H100).suspended().build()], snapshot, held, now=0.0))
    assert results[0][1].chosen is not None
    assert len(held) == 0


def test_schedule_releases_expired_assumptions_first() -> None:
    snapshot = pool(identifier("p").nodes(node("n1").gpus(8, H100)))
    held = Assumptions(ttl=30.0)
    list(schedule([task("first").gpus(8, H100).build()], snapshot, held, now=0.0))
    blocked = list(schedule([task("second").gpus(8, H100).build()], snapshot, held, now=10.0))
    assert blocked[0][1].chosen is None
    later = list(schedule([task("second").gpus(8, H100).build()], snapshot, held, now=31.0))
    assert later[0][1].chosen is not None
    assert [a.task_uid for a in held] == ["second"]


def test_an_injected_clock_times_each_decision() -> None:
    ticks = iter([10.0, 10.25, 20.0, 20.5])
    snapshot = pool(identifier("p").nodes(node("n1").gpus(8, H100)))
    demands = [task("a").gpus(1, H100).created(1.0).build(), task("b").gpus(1, H100).created(2.0).build()]
    timed = [
        decision.elapsed
        for _, decision in schedule(demands, snapshot, Assumptions(), now=0.0, clock=lambda: next(ticks))
    ]
    assert timed == [0.25, 0.5]
    _, untimed = next(schedule(demands[:1], snapshot, Assumptions(), now=0.0))
    assert untimed.elapsed == 0.0
