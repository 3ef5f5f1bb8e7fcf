"""One admission cycle on a real snapshot: quota, borrowing, reclaim, reservation, budget, no queue."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest
from placement.builders import A100, H100, MI300X, identifier, node, pool, task

from computenet.placement import AcceleratorDemand, Assumptions, Demand, Snapshot, Variant, schedule
from computenet.placement.demand import ComputeDemand
from computenet.queueing import (
    Holder,
    QueueQuota,
    Queues,
    ReclaimWithinPool,
    Reservation,
    Reservations,
    Slot,
    Verdict,
    Waiting,
    WithinQueue,
    admit,
    cycle,
)

NODES = {"m1": ("c1", ("n1", "n2")), "m2": ("c2", ("n3", "n4"))}
"""Two members of two 8-GPU nodes each: 32 GPUs in the pool."""


def snapshot(holders: Sequence[Holder] = ()) -> Snapshot:
    """The pool with the holders' pods on their nodes, as the member watches would show them."""
    used: dict[tuple[str, str], int] = {}
    for h in holders:
        for slot in h.slots:
            used[(slot.cluster, slot.node)] = used.get((slot.cluster, slot.node), 0) + slot.devices
    return pool(
        *(
            identifier(name, cluster).nodes(
                *(node(n).gpus(8, H100).used(gpus=used.get((cluster, n), 0)) for n in names)
            )
            for name, (cluster, names) in NODES.items()
        )
    )


CAPACITY = Queues(capacity={"default": {H100: 32}})


def queues(*quotas: QueueQuota, **over: str) -> Queues:
    return dataclasses.replace(CAPACITY, quotas=quotas, over_budget={k.replace("_", "-"): v for k, v in over.items()})


def team(name: str, gpus: int = 16, **policy: object) -> QueueQuota:
    return QueueQuota(name, "default", {H100: gpus}, **policy)  # type: ignore[arg-type]


def gpus(uid: str, n: int, replicas: int = 1, *, ns: str = "team-a", priority: int = 0, created: float = 0.0) -> Demand:
    demand = task(uid).gpus(n, H100).replicas(replicas).priority(priority).created(created).build()
    return dataclasses.replace(demand, namespace=ns, name=uid)


def running(uid: str, queue: str | None, on: str, nodes: Sequence[tuple[str, str, int]], priority: int = 0) -> Holder:
    """A running task holding `devices` GPUs on each (cluster, node, devices)."""
    slots = tuple(Slot(c, n, 0, 0, d) for c, n, d in nodes)
    return Holder(uid, f"{queue}/{uid}", queue, priority, 0.0, on, {H100: sum(d for _, _, d in nodes)}, slots)


def run(
    waiting: Sequence[Waiting],
    holders: Sequence[Holder] = (),
    qs: Queues = CAPACITY,
    reservations: Reservations | None = None,
    now: float = 1000.0,
) -> dict[str, Verdict]:
    verdicts = admit(
        waiting,
        holders,
        qs,
        snapshot(holders),
        Assumptions(),
        Reservations() if reservations is None else reservations,
        now=now,
    )
    return {v.demand.uid: v for v in verdicts}


def test_without_queues_a_cycle_decides_what_schedule_decides() -> None:
    demands = [gpus(f"t{i}", 8 if i % 2 else 4, created=float(i), priority=i % 3) for i in range(10)]
    expected = {
        d.uid: dec.chosen.identifier if dec.chosen else None
        for d, dec in schedule(demands, snapshot(), Assumptions(), now=0.0)
    }
    got = run([Waiting(d) for d in demands])
    assert {
        uid: v.decision.chosen.identifier if v.decision and v.decision.chosen else None for uid, v in got.items()
    } == expected


def test_a_queue_at_quota_waits_with_the_quota_line_while_the_pool_has_room() -> None:
    qs = queues(team("team-a", 8, borrowing_limit={H100: 0}), team("team-b", 24))
    got = run([Waiting(gpus("a1", 8, created=1), "team-a"), Waiting(gpus("a2", 8, created=2), "team-a")], qs=qs)
    assert got["a1"].placed
    assert not got["a2"].placed
    assert got["a2"].message == "queue team-a at quota for NVIDIA-H100-80GB-HBM3: 8/8 GPUs"


def test_a_queue_borrows_idle_quota_of_the_pool() -> None:
    qs = queues(team("team-a"), team("team-b"))
    waiting = [Waiting(gpus(f"a{i}", 8, created=i), "team-a") for i in range(4)]
    got = run(waiting, qs=qs)
    assert all(v.placed for v in got.values())
    assert sum(v.charged[H100] for v in got.values() if v.charged) == 32


def test_fair_share_alternates_between_queues_of_equal_weight() -> None:
    qs = queues(team("team-a"), team("team-b"))
    waiting = [Waiting(gpus(f"a{i}", 8, created=i), "team-a") for i in range(4)]
    waiting += [Waiting(gpus(f"b{i}", 8, ns="team-b", created=10 + i), "team-b") for i in range(4)]
    got = run(waiting, qs=qs)
    assert sorted(uid for uid, v in got.items() if v.placed) == ["a0", "a1", "b0", "b1"]


def test_reclaim_preempts_the_fewest_borrowed_tasks_on_one_member() -> None:
    qs = queues(team("team-a", reclaim_within_pool=ReclaimWithinPool.ANY), team("team-b"))
    holders = [
        running("b1", "team-b", "m1", [("c1", "n1", 8)]),
        running("b2", "team-b", "m1", [("c1", "n2", 4)]),
        running("b3", "team-b", "m1", [("c1", "n2", 4)]),
        running("b4", "team-b", "m2", [("c2", "n3", 8), ("c2", "n4", 8)]),
    ]
    reservations = Reservations()
    got = run([Waiting(gpus("a1", 8), "team-a")], holders, qs, reservations)
    verdict = got["a1"]
    assert not verdict.placed
    assert [v.uid for v in verdict.preempted] == ["b1"]
    assert verdict.message == (
        "queue team-a below quota for NVIDIA-H100-80GB-HBM3 (0/16 GPUs) but the pool lent the rest to other queues; "
        "preempting 1 on m1 for it: team-b/b1"
    )
    held = reservations.get("a1")
    assert held is not None
    assert (held.identifier, held.preempting) == ("m1", True)


def test_a_borrowing_queue_cannot_take_back_the_member_its_task_was_preempted_from() -> None:
    qs = queues(team("team-a", reclaim_within_pool=ReclaimWithinPool.ANY), team("team-b"))
    holders = [running("b2", "team-b", "m2", [("c2", "n3", 8), ("c2", "n4", 8)])]
    reservations = Reservations()
    run(
        [Waiting(gpus("a1", 8, 2), "team-a")],
        [*holders, running("b1", "team-b", "m1", [("c1", "n1", 8), ("c1", "n2", 8)])],
        qs,
        reservations,
    )
    # b1 was preempted and waits again; its pods are gone from m1 now; a1 still waits for the member
    got = run(
        [Waiting(gpus("b1", 8, 2, ns="team-b"), "team-b"), Waiting(gpus("a1", 8, 2), "team-a")],
        holders,
        qs,
        reservations,
    )
    assert got["a1"].placed
    assert got["a1"].decision is not None
    assert got["a1"].decision.chosen is not None
    assert got["a1"].decision.chosen.identifier == "m1"
    assert not got["b1"].placed
    assert got["b1"].blocked.startswith("queue team-b at quota for NVIDIA-H100-80GB-HBM3: 16/16 GPUs")


def test_within_the_queue_only_lower_priority_is_preempted_and_never_for_nothing() -> None:
    qs = queues(team("team-a", 32, within_queue=WithinQueue.LOWER_PRIORITY))
    holders = [
        running("low", "team-a", "m1", [("c1", "n1", 8), ("c1", "n2", 8)], priority=1),
        running("high", "team-a", "m2", [("c2", "n3", 8), ("c2", "n4", 8)], priority=9),
    ]
    got = run([Waiting(gpus("urgent", 8, 2, priority=5), "team-a")], holders, qs)
    assert [v.uid for v in got["urgent"].preempted] == ["low"]
    too_big = run([Waiting(gpus("huge", 8, 3, priority=5), "team-a")], holders, qs)
    assert too_big["huge"].preempted == ()


def test_a_starving_gang_reserves_the_member_and_small_tasks_go_elsewhere_or_wait() -> None:
    qs = queues(team("team-a", 32, reserve_after_s=60.0))
    holders = [
        running("s1", "team-a", "m1", [("c1", "n1", 4)]),
        running("s2", "team-a", "m2", [("c2", "n3", 2)]),
        running("s3", "team-a", "m2", [("c2", "n4", 2)]),
    ]
    gang = gpus("gang", 8, 2, created=0.0)
    smalls = [Waiting(gpus(f"small{i}", 4, created=10.0 + i), "team-a", since=10.0 + i) for i in range(3)]
    reservations = Reservations()
    young = run([Waiting(gang, "team-a", since=990.0), *smalls], holders, qs, reservations)
    assert reservations.get("gang") is None
    assert young["small0"].placed
    got = run([Waiting(gang, "team-a", since=0.0), *smalls], holders, qs, reservations)
    held = reservations.get("gang")
    assert held is not None
    assert held.identifier == "m1"  # one task must finish there, two on m2
    assert "m1 is reserved for team-a/gang until it runs" in got["gang"].message
    placed_on = {
        uid: v.decision.chosen.identifier for uid, v in got.items() if v.placed and v.decision and v.decision.chosen
    }
    assert "m1" not in placed_on.values()
    assert placed_on == {"small0": "m2", "small1": "m2"}
    assert got["small2"].message.endswith("; m1 is reserved for team-a/gang until it runs (it has waited longest)")


def test_a_queue_over_budget_admits_nothing_and_says_so() -> None:
    qs = queues(team("team-a"), team_a="queue team-a over budget: spent 120.00 of 100.00 USD this month")
    got = run([Waiting(gpus("a1", 1), "team-a")], qs=qs)
    assert got["a1"].decision is None
    assert got["a1"].message == "queue team-a over budget: spent 120.00 of 100.00 USD this month"


def test_a_starving_gang_blocked_by_its_own_queues_quota_holds_that_quota_too() -> None:
    qs = queues(team("team-a", 32, borrowing_limit={H100: 0}, reserve_after_s=60.0))
    holders = [running(f"s{i}", "team-a", "m1" if i < 4 else "m2", [(*NODE_OF[i], 4)]) for i in range(7)]
    gang = gpus("gang", 8, 2, created=0.0)
    small = Waiting(gpus("small", 4, created=5.0), "team-a", since=5.0)
    reservations = Reservations()
    got = run([Waiting(gang, "team-a", since=0.0), small], holders, qs, reservations)
    assert got["gang"].blocked.startswith("queue team-a short of quota")
    held = reservations.get("gang")
    assert held is not None
    assert held.identifier == "m2"  # three tasks must finish there (quota and nodes), four on m1
    assert not got["small"].placed  # 28 held + 16 kept for the gang: no room in the quota
    assert got["small"].blocked == "queue team-a at quota for NVIDIA-H100-80GB-HBM3: 44/32 GPUs"


NODE_OF = [("c1", "n1"), ("c1", "n1"), ("c1", "n2"), ("c1", "n2"), ("c2", "n3"), ("c2", "n3"), ("c2", "n4")]


def test_a_task_above_what_its_queue_can_ever_hold_says_so_and_waits_for_nothing() -> None:
    qs = queues(team("team-a", 4, borrowing_limit={H100: 4}), team("team-b"))
    got = run([Waiting(gpus("huge", 8, 2), "team-a"), Waiting(gpus("fits", 8), "team-a")], qs=qs)
    huge = got["huge"]
    assert huge.never_fits
    assert huge.decision is None
    assert huge.message == (
        "needs 16 NVIDIA-H100-80GB-HBM3 GPUs but queue team-a can never hold more than 8 "
        "(nominal 4 + borrowing limit 4)"
    )
    assert got["fits"].placed  # exactly nominal plus borrowing limit
    assert not got["fits"].never_fits


def test_a_task_within_the_ceiling_waits_with_the_quota_line_while_the_pool_is_lent_out() -> None:
    qs = queues(team("team-a", 4, borrowing_limit={H100: 4}), team("team-b"))
    holders = [running("b1", "team-b", "m1", [("c1", "n1", 8), ("c1", "n2", 8)])]
    got = run([Waiting(gpus("a1", 8), "team-a")], holders, qs)
    assert not got["a1"].never_fits
    assert got["a1"].message.startswith("queue team-a short of quota for NVIDIA-H100-80GB-HBM3")


def test_the_ceiling_is_told_before_the_budget() -> None:
    qs = queues(team("team-a", 4, borrowing_limit={H100: 0}), team_a="queue team-a over budget: spent 1 of 1 USD")
    got = run([Waiting(gpus("huge", 8), "team-a")], qs=qs)
    assert got["huge"].never_fits
    assert got["huge"].message.startswith("needs 8 NVIDIA-H100-80GB-HBM3 GPUs but queue team-a can never hold")


def test_a_task_that_can_never_fit_neither_preempts_nor_spends_the_cycles_preemption_searches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cycle, "PREEMPTIONS_PER_CYCLE", 1)
    qs = queues(team("team-a", 8, borrowing_limit={H100: 0}, within_queue=WithinQueue.LOWER_PRIORITY))
    holders = [running("low", "team-a", "m1", [("c1", "n1", 4)], priority=1)]
    waiting = [Waiting(gpus("huge", 8, 2, priority=9), "team-a"), Waiting(gpus("urgent", 8, priority=5), "team-a")]
    got = run(waiting, holders, qs)
    assert [v.uid for v in got["urgent"].preempted] == ["low"]  # the one search was left for it
    assert got["huge"].never_fits
    assert got["huge"].preempted == ()


def test_a_starving_task_that_can_never_fit_reserves_nothing_and_loses_a_hold_it_had() -> None:
    qs = queues(team("team-a", 8, borrowing_limit={H100: 0}, reserve_after_s=60.0))
    reservations = Reservations()
    # a hold taken while the queue was larger: the quota shrank since
    reservations.hold(Reservation("gang", "team-a/gang", "m1", 0, 0.0, False, {H100: 16}))
    waiting = [Waiting(gpus("gang", 8, 2), "team-a", since=0.0), Waiting(gpus("small", 8, created=5.0), "team-a")]
    got = run(waiting, qs=qs, reservations=reservations)
    assert got["gang"].never_fits
    assert got["gang"].reservation is None
    assert reservations.get("gang") is None
    assert got["small"].placed  # neither the member nor the quota is kept for the gang
    assert got["small"].closed == ()


def test_a_model_its_queue_can_never_hold_is_taken_out_of_the_tasks_choice() -> None:
    snap = pool(
        identifier("m1", "c1").nodes(node("n1").gpus(8, H100), node("n2").gpus(8, H100)),
        identifier("m2", "c2").nodes(node("n3").gpus(8, A100), node("n4").gpus(8, A100)),
    )
    qs = queues(QueueQuota("team-a", "default", {H100: 8, A100: 16}, {H100: 0}))
    demand = dataclasses.replace(task("both").gpus(8, H100, A100).replicas(2).build(), namespace="team-a")
    verdicts = list(admit([Waiting(demand, "team-a")], [], qs, snap, Assumptions(), Reservations(), now=0.0))
    assert verdicts[0].placed
    assert verdicts[0].decision is not None
    assert verdicts[0].decision.chosen is not None
    assert verdicts[0].decision.chosen.model == A100


def test_a_task_whose_every_model_exceeds_its_queue_names_each() -> None:
    qs = queues(QueueQuota("team-a", "default", {H100: 8, A100: 4}, {H100: 0, A100: 0}))
    demand = dataclasses.replace(task("both").gpus(8, H100, A100).replicas(2).build(), namespace="team-a")
    got = run([Waiting(demand, "team-a")], qs=qs)
    assert got["both"].never_fits
    assert got["both"].message == (
        "needs 16 NVIDIA-H100-80GB-HBM3 GPUs but queue team-a can never hold more than 8 "
        "(nominal 8, borrowing limit 0); "
        "needs 16 NVIDIA-A100-SXM4-80GB GPUs but queue team-a can never hold more than 4 "
        "(nominal 4, borrowing limit 0)"
    )


def test_a_task_taking_any_model_is_not_told_never_since_another_model_may_join_the_pool() -> None:
    qs = queues(team("team-a", 8, borrowing_limit={H100: 0}))
    demand = dataclasses.replace(task("any").gpus(8).replicas(2).build(), namespace="team-a")
    got = run([Waiting(demand, "team-a")], qs=qs)
    assert not got["any"].never_fits
    assert got["any"].message == "queue team-a short of quota for NVIDIA-H100-80GB-HBM3: 0/8 GPUs, 16 asked"


def test_a_variant_its_queue_has_no_quota_for_is_taken_out_and_the_chosen_one_is_charged() -> None:
    snap = pool(
        identifier("m1", "c1").nodes(node("n1").gpus(8, H100)),
        identifier("m2", "c2").nodes(node("n3").gpus(8, MI300X)),
    )
    qs = dataclasses.replace(
        queues(QueueQuota("team-a", "default", {H100: 0, MI300X: 8}, {H100: 0, MI300X: 0})),
        capacity={"default": {H100: 8, MI300X: 8}},
    )
    ways = (
        Variant(AcceleratorDemand(4, "nvidia", (H100,)), "h100"),
        Variant(AcceleratorDemand(2, "amd", (MI300X,)), "mi300x"),
    )
    demand = dataclasses.replace(
        task("two").build(), namespace="team-a", variants=ways, accelerators=ways[0].accelerators
    )
    verdicts = list(admit([Waiting(demand, "team-a")], [], qs, snap, Assumptions(), Reservations(), now=0.0))
    assert verdicts[0].placed
    assert verdicts[0].decision is not None
    assert verdicts[0].decision.chosen is not None
    assert (verdicts[0].decision.chosen.identifier, verdicts[0].decision.chosen.variant) == ("m2", "mi300x")
    assert verdicts[0].charged is not None
    assert verdicts[0].charged[MI300X] == 2, "the chosen variant's devices, under its model"
    assert H100 not in verdicts[0].charged


def test_a_compute_request_takes_a_model_its_queue_has_quota_for_and_is_charged_its_count() -> None:
    snap = pool(
        identifier("m1", "c1").nodes(node("n1").gpus(8, H100)),
        identifier("m2", "c2").nodes(node("n3").gpus(8, MI300X)),
    )
    qs = dataclasses.replace(
        queues(QueueQuota("team-a", "default", {H100: 0, MI300X: 8}, {H100: 0, MI300X: 0})),
        capacity={"default": {H100: 8, MI300X: 8}},
    )
    acc = AcceleratorDemand(0, min_memory_mib=80 * 1024, compute=ComputeDemand(2000, "bf16"))
    demand = dataclasses.replace(task("tflops").build(), namespace="team-a", accelerators=acc)
    free = list(admit([Waiting(demand)], [], qs, snap, Assumptions(), Reservations(), now=0.0))
    assert free[0].decision is not None
    assert free[0].decision.chosen is not None
    assert free[0].decision.chosen.model == H100, "without a queue: 3 H100s pack the node best"
    verdicts = list(admit([Waiting(demand, "team-a")], [], qs, snap, Assumptions(), Reservations(), now=0.0))
    assert verdicts[0].decision is not None
    assert verdicts[0].decision.chosen is not None
    assert (verdicts[0].decision.chosen.model, verdicts[0].decision.chosen.devices) == (MI300X, 2)
    assert verdicts[0].charged is not None
    assert verdicts[0].charged[MI300X] == 2
    assert H100 not in verdicts[0].charged
