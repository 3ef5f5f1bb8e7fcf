"""Assumed reservations: a burst never double-books, and unconfirmed assumptions expire."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest

from computenet.placement import Assumptions, Demand, Snapshot, levels, place
from computenet.placement import reasons as r

from .builders import H100, builder_of, identifier, node, pool, task


def two_free_nodes() -> Snapshot:
    return pool(identifier("p").nodes(node("n1").gpus(8, H100), node("n2").gpus(8, H100)))


def burst(snapshot: Snapshot, demands: list[Demand], assumptions: Assumptions) -> list[str | None]:
    chosen = []
    for demand in demands:
        decision = place(snapshot, demand, assumptions=assumptions)
        assumptions.assume(decision, now=0.0)
        chosen.append(decision.chosen.identifier if decision.chosen else None)
    return chosen


def test_burst_of_whole_node_tasks_takes_each_slot_once() -> None:
    snapshot, held = two_free_nodes(), Assumptions()
    demands = [task(f"t{i}").gpus(8, H100).build() for i in range(3)]
    assert burst(snapshot, demands, held) == ["p", "p", None]
    nodes = [slot.node for a in held for slot in a.nodes]
    assert sorted(nodes) == ["n1", "n2"]
    third = place(snapshot, demands[2], assumptions=held)
    assert third.rejections["p"].reason == r.INSUFFICIENT_RESOURCE
    assert "after reservations assumed for pending tasks" in third.rejections["p"].message


def test_burst_of_small_tasks_packs_without_exceeding_any_node() -> None:
    snapshot, held = two_free_nodes(), Assumptions()
    demands = [task(f"t{i}").gpus(3, H100).build() for i in range(5)]
    assert burst(snapshot, demands, held) == ["p", "p", "p", "p", None]
    per_node = Counter()
    for a in held:
        for slot in a.nodes:
            per_node[slot.node] += slot.replicas * a.per_replica.accelerators
    assert max(per_node.values()) <= 8
    assert sum(per_node.values()) == 12


def test_assumption_on_one_partition_holds_the_nodes_it_shares_with_another() -> None:
    snapshot = pool(
        identifier("all", cluster="c"),
        identifier("h100s", cluster="c").selector(pool="h100"),
        clusters={"c": [node("n1").gpus(8, H100).label("pool", "h100")]},
    )
    held = Assumptions()
    first = place(snapshot, task("t1").gpus(8, H100).build(), assumptions=held)
    assert first.chosen is not None
    held.assume(first, now=0.0)
    second = place(snapshot, task("t2").gpus(8, H100).build(), assumptions=held)
    assert second.chosen is None
    assert set(second.rejections) == {"all", "h100s"}


def test_unconfirmed_assumption_expires() -> None:
    snapshot, held = pool(identifier("p").nodes(node("n1").gpus(8, H100))), Assumptions(ttl=60.0)
    held.assume(place(snapshot, task("t1").gpus(8, H100).build()), now=100.0)
    assert place(snapshot, task("t2").gpus(8, H100).build(), assumptions=held).chosen is None
    assert held.expire(159.9) == ()
    assert held.expire(160.0) == ("t1",)
    assert place(snapshot, task("t2").gpus(8, H100).build(), assumptions=held).chosen is not None


def test_confirm_hands_the_slot_over_to_the_reported_pods() -> None:
    b = builder_of(identifier("p").nodes(node("n1").gpus(8, H100)))
    held = Assumptions()
    decision = place(b.snapshot(), task("t1").gpus(8, H100).build(), assumptions=held)
    held.assume(decision, now=0.0)
    b.set_requested("p", "n1", {"nvidia.com/gpu": 8})  # the member reports the task's pod
    assert held.confirm("t1")
    assert not held.confirm("t1")
    after = place(b.snapshot(), task("t2").gpus(8, H100).build(), assumptions=held)
    assert after.chosen is None
    assert "assumed" not in after.rejections["p"].message


def test_forget_releases_immediately() -> None:
    snapshot, held = pool(identifier("p").nodes(node("n1").gpus(8, H100))), Assumptions()
    held.assume(place(snapshot, task("t1").gpus(8, H100).build()), now=0.0)
    assert "t1" in held
    assert held.forget("t1")
    assert len(held) == 0
    assert place(snapshot, task("t2").gpus(8, H100).build(), assumptions=held).chosen is not None


def test_a_task_is_not_blocked_by_its_own_assumption() -> None:
    snapshot, held = pool(identifier("p").nodes(node("n1").gpus(8, H100))), Assumptions()
    demand = task("t1").gpus(8, H100).build()
    held.assume(place(snapshot, demand), now=0.0)
    assert place(snapshot, demand, assumptions=held).chosen is not None


def test_assumption_on_a_vanished_node_holds_nothing() -> None:
    b = builder_of(identifier("p").nodes(node("n1").gpus(8, H100), node("n2").gpus(8, H100)))
    held = Assumptions()
    decision = place(b.snapshot(), task("t1").gpus(8, H100).build(), assumptions=held)
    held.assume(decision, now=0.0)
    gone = decision.assignment[0].node
    b.remove_node("p", gone)
    b.upsert_node("p", node("n3").gpus(8, H100).build())  # may reuse the vanished node's row
    after = place(b.snapshot(), task("t2").gpus(8, H100).replicas(2).build(), assumptions=held)
    assert after.chosen is not None
    assert {s.node for s in after.assignment} == {"n1", "n2", "n3"} - {gone}


def test_overlay_kept_up_to_date_equals_one_built_afresh() -> None:
    snapshot = pool(identifier("p").nodes(*(node(f"n{i}").gpus(8, H100) for i in range(4))))
    live, demands = Assumptions(), [task(f"t{i}").gpus(3, H100).build() for i in range(6)]
    for demand in demands:  # each place() merges the previous assumption into the cached overlay
        live.assume(place(snapshot, demand, assumptions=live), now=0.0)
    live.confirm("t2")
    live.forget("t4")
    fresh = Assumptions()
    for held in live:
        fresh._items[held.task_uid] = held  # rebuild the same set from scratch
        fresh._count(held, +1)
    a, b = live.overlay(snapshot), fresh.overlay(snapshot)
    assert a.rows.tolist() == b.rows.tolist()
    assert a.held.tolist() == b.held.tolist()
    assert a.ident_usage[:, 0].tolist() == b.ident_usage[:, 0].tolist() == [4 * 3]  # devices on the one identifier


def test_gang_over_two_nodes_holds_on_each_what_the_members_scheduler_may_put_there() -> None:
    # The gang is pinned to {n1, n2} as a set: the member's scheduler may bind both replicas on n2
    # instead of one on each, or on n1 once the pod using 4 of its GPUs has finished. Until it shows
    # where they went, neither node has 4 GPUs to promise.
    snapshot = pool(identifier("p").nodes(node("n1").gpus(8, H100).used(gpus=4), node("n2").gpus(8, H100)))
    held = Assumptions()
    gang = place(snapshot, task("gang").gpus(4, H100).replicas(2).build(), assumptions=held)
    assert {(s.node, s.replicas, s.most) for s in gang.assignment} == {("n1", 1, 2), ("n2", 1, 2)}
    held.assume(gang, now=0.0)
    late = place(snapshot, task("late").gpus(4, H100).build(), assumptions=held)
    assert late.chosen is None
    held.confirm("gang")  # the pods are bound: from now on the snapshot says where
    assert place(snapshot, task("late").gpus(4, H100).build(), assumptions=held).chosen is not None


def test_room_freed_on_a_pinned_node_before_the_gang_is_bound_is_not_promised_to_another_task() -> None:
    # Seen on a real member: a pod on n1 finished after the gang was placed and before the member's
    # scheduler got to it, so the scheduler put both replicas on n1. A task placed on the snapshot
    # that shows n1 empty must not count on n1's GPUs while the gang's assumption is held.
    busy = identifier("p").nodes(node("n1").gpus(8, H100).used(gpus=4), node("n2").gpus(8, H100).used(gpus=4))
    held = Assumptions()
    gang = place(pool(busy), task("gang").gpus(4, H100).replicas(2).build(), assumptions=held)
    assert {(s.node, s.replicas) for s in gang.assignment} == {("n1", 1), ("n2", 1)}
    held.assume(gang, now=0.0)
    freed = pool(identifier("p").nodes(node("n1").gpus(8, H100), node("n2").gpus(8, H100).used(gpus=4)))
    assert place(freed, task("late").gpus(4, H100).build(), assumptions=held).chosen is None
    held.confirm("gang")
    assert place(freed, task("late").gpus(4, H100).build(), assumptions=held).chosen is not None


@pytest.mark.parametrize(
    ("n1_memory", "n1_used", "most_on_n1", "late_fits_once_n1_is_empty"),
    [
        pytest.param(
            "77Gi",
            "75Gi",
            2,
            True,
            id="a roomy node with room for one replica now holds both, beyond its free room, within its allocatable",
        ),
        pytest.param(
            "4Gi",
            "2Gi",
            2,
            False,
            id="a busy node that fits the whole gang once its pods finish holds the whole gang",
        ),
        pytest.param(
            "3Gi",
            "1Gi",
            1,
            True,
            id="a busy node that never fits two replicas holds one and leaves the rest of its room free",
        ),
    ],
)
def test_a_gang_holds_on_a_busy_node_what_the_node_could_take_and_places_only_what_is_free(
    n1_memory: str, n1_used: str, most_on_n1: int, late_fits_once_n1_is_empty: bool
) -> None:
    # The smallest form of a burst-property counterexample: the gang is placed one replica per node
    # (n1 has room for one now), while its assumption holds on n1 what the member's scheduler could
    # put there once n1's pods finish. That hold may exceed n1's free room (never its allocatable):
    # it reserves room against later tasks and promises the gang nothing beyond its one replica.
    n0 = node("n0").memory("2Gi")
    busy = pool(identifier("p").nodes(n0, node("n1").memory(n1_memory).used(memory=n1_used)))
    held = Assumptions()
    gang = place(busy, task("gang").memory("2Gi").replicas(2).build(), assumptions=held)
    assert {(s.node, s.replicas, s.most) for s in gang.assignment} == {("n0", 1, 1), ("n1", 1, most_on_n1)}
    held.assume(gang, now=0.0)
    assert place(busy, task("late").memory("1Gi").build(), assumptions=held).chosen is None
    emptied = pool(identifier("p").nodes(n0, node("n1").memory(n1_memory)))
    late = place(emptied, task("late").memory("1Gi").build(), assumptions=held)
    assert (late.chosen is not None) is late_fits_once_n1_is_empty
    if late.chosen is not None:
        assert [(s.node, s.replicas) for s in late.assignment] == [("n1", 1)]


def test_gang_on_one_node_holds_its_replicas_only() -> None:
    snapshot = two_free_nodes()
    held = Assumptions()
    gang = place(snapshot, task("gang").gpus(2, H100).replicas(3).build(), assumptions=held)
    assert [(s.replicas, s.most) for s in gang.assignment] == [(3, 3)]
    held.assume(gang, now=0.0)
    assert burst(snapshot, [task(f"t{i}").gpus(2, H100).build() for i in range(6)], held) == ["p"] * 5 + [None]


def test_summaries_under_assumptions_equal_those_of_a_snapshot_where_the_pods_are_bound() -> None:
    # The overlay's entry summaries (what decisions read) match the summaries the builder computes
    # once the member reports the same requests: assumptions keep identifiers constant-time.
    nodes = [node(f"n{i}").gpus(8, H100) for i in range(6)]
    b = builder_of(identifier("p").nodes(*nodes), identifier("q", cluster="p"))
    snapshot, held = b.snapshot(), Assumptions()
    for demand in [task(f"t{i}").gpus(3, H100).cpu(2).replicas(2).build() for i in range(5)]:
        decision = place(snapshot, demand, assumptions=held)
        held.assume(decision, now=0.0)
    overlay = held.overlay(snapshot)
    for a in held:
        for slot in a.nodes:
            per = a.per_replica * slot.most
            b.add_requested(
                slot.cluster, slot.node, {"nvidia.com/gpu": per.accelerators, "cpu": per.cpu, "pods": slot.most}
            )
    bound = b.snapshot()
    entries = np.arange(len(snapshot.entries.kind))
    assert len(overlay.entries) == len(entries)  # both partitions hold the assumed nodes
    assert overlay.summary_columns(snapshot.entries.columns, entries).tolist() == bound.entries.columns.tolist()


def _decided(snapshot: Snapshot, demands: list[Demand]) -> list[tuple[object, ...]]:
    held, out, decisions = Assumptions(), [], []
    for demand in demands:
        decision = place(snapshot, demand, assumptions=held)
        held.assume(decision, now=0.0)
        decisions.append(decision)
        if demand.uid == "t3":
            held.forget("t1")
    for d in decisions:  # explained after every later change: each from the overlay it was made on
        rejections = {name: (x.reason, x.message) for name, x in d.rejections.items()}
        chosen = d.chosen.identifier if d.chosen else None
        out.append((chosen, [(s.node, s.replicas) for s in d.assignment], rejections))
    return out


def test_decisions_and_explanations_do_not_depend_on_when_assumed_rows_are_merged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nodes = [node(f"n{i}").gpus(8, H100).cpu(64) for i in range(5)]
    snapshot = pool(identifier("p").nodes(*nodes), identifier("q").nodes(node("m1").gpus(8, H100)))
    demands = [task(f"t{i}").gpus(3, H100).cpu(8).replicas(1 + i % 3).build() for i in range(12)]
    rarely = _decided(snapshot, demands)
    monkeypatch.setattr(levels, "RECENT_MIN", 0)  # the recent level is merged into the base on every change
    monkeypatch.setattr(levels, "RECENT_SHARE", 10**9)
    assert _decided(snapshot, demands) == rarely
    assert any(chosen is None for chosen, _, _ in rarely)  # the pool ran full: rejections were explained


def test_a_gang_over_several_nodes_waits_while_another_placement_on_them_is_unconfirmed() -> None:
    # Seen on a real member: a task was placed on n1 and, before its pods reached the member, a gang
    # pinned to {n1, n2} arrived; the member's scheduler put more of the gang on n1 than placement
    # counted and refused the task's pod. The gang waits until the task's pods are seen bound.
    def snapshot(n1_used: int) -> Snapshot:
        return pool(
            identifier("p").nodes(node("n1").gpus(8, H100).used(gpus=n1_used), node("n2").gpus(8, H100).used(gpus=4))
        )

    held = Assumptions()
    single = place(snapshot(0), task("single").gpus(1, H100).build(), assumptions=held)
    held.assume(single, now=0.0)
    gang = place(snapshot(0), task("gang").gpus(2, H100).replicas(4).build(), assumptions=held)
    assert gang.chosen is None
    assert gang.rejections["p"].reason == r.GANG_ORDER
    assert "not yet bound" in gang.summary
    held.confirm("single")  # its pod is bound: the member's scheduler counts it now
    gang = place(snapshot(1), task("gang").gpus(2, H100).replicas(4).build(), assumptions=held)
    assert gang.chosen is not None
    assert len(gang.assignment) == 2


def test_a_gang_goes_to_the_next_best_identifier_rather_than_into_unconfirmed_room() -> None:
    # "a" is cheaper, so it ranks first, but its gang would share a1 with the single task's room.
    cheap, dear = {H100: 1.0}, {H100: 9.0}
    risky = identifier("a").price(cheap).nodes(node("a1").gpus(8, H100), node("a2").gpus(8, H100).used(gpus=4))
    safe = (
        identifier("b").price(dear).nodes(node("b1").gpus(8, H100).used(gpus=2), node("b2").gpus(8, H100).used(gpus=4))
    )
    snapshot = pool(risky, safe)
    held = Assumptions()
    single = dataclasses.replace(task("single").gpus(1, H100).build(), identifiers=frozenset({"a"}))
    held.assume(place(snapshot, single, assumptions=held), now=0.0)
    gang = place(snapshot, task("gang").gpus(2, H100).replicas(4).build(), assumptions=held)
    assert gang.chosen is not None
    assert gang.chosen.identifier == "b"
    assert gang.rejections["a"].reason == r.GANG_ORDER
    held.confirm("single")
    assert place(snapshot, task("gang").gpus(2, H100).replicas(4).build()).chosen.identifier == "a"  # type: ignore[union-attr]


def test_a_gang_may_share_a_node_with_an_unconfirmed_placement_when_the_node_holds_it_whole() -> None:
    snapshot = pool(identifier("p").nodes(node("n1").gpus(8, H100), node("n2").gpus(8, H100).used(gpus=6)))
    held = Assumptions()
    held.assume(place(snapshot, task("single").gpus(1, H100).build(), assumptions=held), now=0.0)
    gang = place(snapshot, task("gang").gpus(2, H100).replicas(3).build(), assumptions=held)
    assert gang.chosen is not None  # n1 keeps room for all three replicas beside the single task


@pytest.mark.parametrize("seed", range(6))
def test_an_overlay_carried_to_a_snapshot_after_pod_changes_equals_one_built_afresh(seed: int) -> None:
    """Between snapshots that differ in free amounts only, the overlay is carried, not rebuilt (`Overlay.on`)."""
    rng = np.random.default_rng(seed)
    nodes = {c: [node(f"{c}-n{i}").gpus(8, H100) for i in range(6)] for c in ("a", "b", "c")}
    b = builder_of(*(identifier(c, cluster=c) for c in nodes), clusters=nodes)
    carried = Assumptions()
    last = b.snapshot()
    for step in range(12):
        for _ in range(3):  # pods come and go: free amounts change, nothing else
            cluster = str(rng.choice(list(nodes)))
            name = f"{cluster}-n{int(rng.integers(6))}"
            b.set_requested(
                cluster, name, {"cpu": int(rng.integers(0, 4000)), "nvidia.com/gpu": int(rng.integers(0, 4))}
            )
        snapshot = b.snapshot()
        assert snapshot.nodes.names is last.nodes.names  # the layout is shared: the carried path is taken
        demand = task(f"t{step}").gpus(int(rng.choice([1, 2, 4])), H100).build()
        decision = place(snapshot, demand, assumptions=carried)
        carried.assume(decision, now=0.0)
        if step % 4 == 3:
            carried.confirm(f"t{step - 2}")
        fresh = Assumptions()
        for held in carried:
            fresh._items[held.task_uid] = held
            fresh._count(held, +1)
        mine, theirs = carried.overlay(snapshot), fresh.overlay(snapshot)
        assert np.array_equal(mine.rows, theirs.rows)
        assert np.array_equal(mine.held, theirs.held)
        assert np.array_equal(mine.ident_usage, theirs.ident_usage)
        entries = np.arange(len(snapshot.entries.kind), dtype=np.int64)
        columns = snapshot.entries.columns
        assert np.array_equal(mine.summary_columns(columns, entries), theirs.summary_columns(columns, entries))
        last = snapshot
