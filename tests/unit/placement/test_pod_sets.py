"""Tasks of several pod sets: every role on one identifier, each a gang, all of them together."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from computenet.placement import Assumptions, Demand, PodSetDemand, Snapshot, place
from computenet.placement import reasons as r

from .builders import A100, H100, NodeBuilder, identifier, node, pool, task


def gpu_node(name: str, gpus: int = 8, model: str = H100) -> NodeBuilder:
    return node(name).gpus(gpus, model).cpu(64).memory("512Gi")


def two_and_three() -> Snapshot:
    """Identifier "small" has two 8-GPU nodes, "large" three."""
    return pool(
        identifier("small").nodes(gpu_node("s1"), gpu_node("s2")),
        identifier("large").nodes(gpu_node("l1"), gpu_node("l2"), gpu_node("l3")),
    )


def leader_and_workers(workers: int = 2, gpus: int = 8) -> Demand:
    return task().pod_set("leader", 1, gpus=gpus, cpu=1).pod_set("workers", workers, gpus=gpus, cpu=1).build()


def placed(snapshot: Snapshot, demand: Demand) -> dict[str, dict[str, int]]:
    """Per role, pods per node of the decision."""
    decision = place(snapshot, demand)
    return {role: {s.node: s.replicas for s in slots} for role, slots in decision.pod_sets.items()}


@pytest.mark.parametrize(
    ("snapshot", "demand", "expected"),
    [
        pytest.param(
            two_and_three(),
            leader_and_workers(),
            {"leader": {"l1": 1}, "workers": {"l2": 1, "l3": 1}},
            id="leader and two workers of a whole node each take three nodes of the one identifier that has three",
        ),
        pytest.param(
            pool(identifier("p").nodes(gpu_node("n1"), gpu_node("n2"))),
            task().pod_set("leader", 1, cpu=1).pod_set("workers", 2, gpus=8, cpu=1).build(),
            {"leader": {"n1": 1}, "workers": {"n1": 1, "n2": 1}},
            id="a cpu-only leader shares a node with a worker that holds all its GPUs",
        ),
        pytest.param(
            pool(identifier("p").nodes(gpu_node("n1"), gpu_node("n2"))),
            task().pod_set("leader", 1, gpus=4, cpu=1).pod_set("workers", 3, gpus=4, cpu=1).build(),
            {"leader": {"n1": 1}, "workers": {"n1": 1, "n2": 2}},
            id="workers fill what the leader leaves of its node, then the next node",
        ),
        pytest.param(
            pool(identifier("p").nodes(gpu_node("n1").label("role", "head"), gpu_node("n2"), gpu_node("n3"))),
            task()
            .pod_set("head", 1, cpu=1, node_selector={"role": "head"})
            .pod_set("workers", 2, gpus=8, cpu=1)
            .build(),
            {"head": {"n1": 1}, "workers": {"n1": 1, "n2": 1}},
            id="each pod set keeps its own nodeSelector",
        ),
        pytest.param(
            pool(identifier("p").nodes(gpu_node("n1"), gpu_node("n2", model=A100))),
            task().pod_set("head", 1, gpus=8, models=(A100,)).pod_set("workers", 1, gpus=8, models=(H100,)).build(),
            {"head": {"n2": 1}, "workers": {"n1": 1}},
            id="each pod set lands on its own accelerator model",
        ),
        pytest.param(
            pool(identifier("p").nodes(gpu_node("n1"))),
            task().pod_set("leader", 1, gpus=8).pod_set("workers", 0, gpus=8).build(),
            {"leader": {"n1": 1}},
            id="a pod set of no pods asks for nothing",
        ),
    ],
)
def test_pod_sets_land_on_one_identifier_together(
    snapshot: Snapshot, demand: Demand, expected: dict[str, dict[str, int]]
) -> None:
    assert placed(snapshot, demand) == expected


@pytest.mark.parametrize(
    ("snapshot", "demand", "identifier", "reason", "message"),
    [
        pytest.param(
            two_and_three(),
            leader_and_workers(),
            "small",
            r.GANG_DOES_NOT_FIT,
            "pod set workers: at most 1 of 2 pods fit beside pod sets leader",
            id="each pod set fits alone but the workers do not fit beside the leader",
        ),
        pytest.param(
            two_and_three(),
            leader_and_workers(workers=4),
            "large",
            r.INSUFFICIENT_RESOURCE,
            "pod set workers: 24 nvidia.com/gpu (NVIDIA-H100-80GB-HBM3) free in total on 3 suitable nodes, "
            "the task needs 32",
            id="a pod set short of devices in total is named in the rejection",
        ),
        pytest.param(
            pool(identifier("p").nodes(gpu_node("n1"))),
            task().pod_set("head", 1, cpu=1).pod_set("workers", 1, gpus=8, models=(A100,)).build(),
            "p",
            r.ACCELERATOR_MISMATCH,
            "pod set workers: ",
            id="a pod set asking for a model the identifier lacks is named in the rejection",
        ),
    ],
)
def test_a_rejection_names_the_pod_set_that_does_not_fit(
    snapshot: Snapshot, demand: Demand, identifier: str, reason: str, message: str
) -> None:
    decision = place(snapshot, demand)
    rejection = decision.rejections[identifier]
    assert (rejection.reason, rejection.message[: len(message)]) == (reason, message)
    assert rejection.phrase.startswith("pod set workers: ")


def test_when_no_identifier_holds_every_pod_set_the_line_says_which_one_does_not_fit() -> None:
    snapshot = pool(identifier("a").nodes(gpu_node("a1"), gpu_node("a2")))
    decision = place(snapshot, leader_and_workers())
    assert decision.chosen is None
    assert decision.summary == "0/1 identifiers fit: 1 pod set workers: does not fit beside the other pod sets"


def test_task_level_rules_are_not_named_per_pod_set() -> None:
    snapshot = pool(identifier("east").region("r1").nodes(gpu_node("e1"), gpu_node("e2"), gpu_node("e3")))
    decision = place(snapshot, task().regions("r2").pod_set("a", 1, cpu=1).pod_set("b", 1, cpu=1).build())
    assert decision.rejections["east"].phrase.startswith("region")


@pytest.mark.parametrize(
    ("limit", "chosen"),
    [
        pytest.param(40.0, "p", id="price is the sum over pod sets: 3 x 8 GPUs at 1.50/h is 36/h, within 40/h"),
        pytest.param(30.0, None, id="each pod set alone within the limit, their sum of 36/h above 30/h"),
    ],
)
def test_max_price_holds_for_the_sum_of_the_pod_sets(limit: float, chosen: str | None) -> None:
    snapshot = pool(identifier("p").price({H100: 1.5}).nodes(gpu_node("n1"), gpu_node("n2"), gpu_node("n3")))
    demand = task().max_price(limit).pod_set("leader", 1, gpus=8, models=(H100,))
    decision = place(snapshot, demand.pod_set("workers", 2, gpus=8, models=(H100,)).build())
    assert (decision.chosen.identifier if decision.chosen else None) == chosen
    if decision.chosen:
        assert decision.chosen.price_per_hour == pytest.approx(36.0)
    else:
        assert "price 36.00 USD/h" in decision.rejections["p"].message


def test_one_pod_set_places_as_the_plain_gang_does() -> None:
    snapshot = two_and_three()
    plain = task().gpus(4, H100).cpu(2).replicas(5).build()
    as_set = task().pod_set("main", 5, gpus=4, models=(H100,), cpu=2).build()
    a, b = place(snapshot, plain), place(snapshot, as_set)
    assert a.chosen is not None
    assert b.chosen is not None
    assert (a.chosen.identifier, a.chosen.score) == (b.chosen.identifier, pytest.approx(b.chosen.score))
    assert [(s.node, s.replicas, s.most) for s in a.assignment] == [(s.node, s.replicas, s.most) for s in b.assignment]


def test_a_burst_of_pod_set_tasks_never_books_a_node_twice() -> None:
    snapshot, held = two_and_three(), Assumptions()
    chosen = []
    for i in range(3):
        decision = place(snapshot, replace(leader_and_workers(workers=1, gpus=4), uid=f"t{i}"), assumptions=held)
        held.assume(decision, now=0.0)
        chosen.append(decision.chosen.identifier if decision.chosen else None)
    gpus: Counter[str] = Counter()
    for a in held:
        for slot in a.nodes:
            assert slot.per_replica is not None
            gpus[slot.node] += slot.per_replica.accelerators * slot.most
    assert chosen == ["small", "small", "large"]
    assert max(gpus.values()) <= 8


@pytest.mark.parametrize(
    ("sets", "error"),
    [
        pytest.param((PodSetDemand("a", 1), PodSetDemand("a", 1)), "unique", id="two pod sets of one role"),
        pytest.param((PodSetDemand("a", 0),), "at least one pod", id="pod sets of no pods at all"),
    ],
)
def test_a_demand_refuses_pod_sets_that_mean_nothing(sets: tuple[PodSetDemand, ...], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Demand(uid="t", pod_sets=sets)


def test_a_pod_set_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match="pod set w: a negative count"):
        PodSetDemand("w", -1)


def test_narrowing_the_models_narrows_every_pod_set_with_devices() -> None:
    snapshot = pool(identifier("p").nodes(gpu_node("h1"), gpu_node("a1", model=A100), gpu_node("a2", model=A100)))
    demand = task().pod_set("head", 1, cpu=1).pod_set("workers", 2, gpus=8, models=(H100, A100)).build()
    assert placed(snapshot, demand)["workers"] == {"a1": 1, "a2": 1}, "the H100 node holds one worker, not two"
    narrowed = demand.with_models((H100,))
    assert [s.accelerators.models if s.accelerators else None for s in narrowed.pod_sets] == [None, (H100,)]
    assert place(snapshot, narrowed).chosen is None, "two 8-GPU workers on the one H100 node do not fit"


def test_an_assumption_holds_every_pod_set_on_a_node_they_share() -> None:
    snapshot, held = pool(identifier("p").nodes(gpu_node("n1"))), Assumptions()
    first = task("a").pod_set("leader", 1, cpu=32).pod_set("workers", 1, gpus=8, cpu=16).build()
    decision = place(snapshot, first, assumptions=held)
    assert {role: [s.node for s in slots] for role, slots in decision.pod_sets.items()} == {
        "leader": ["n1"],
        "workers": ["n1"],
    }
    held.assume(decision, now=0.0)
    assert place(snapshot, task("b").cpu(16).build(), assumptions=held).chosen is not None, "64 - 32 - 16 cores"
    assert place(snapshot, task("c").cpu(17).build(), assumptions=held).chosen is None, "not 17 of the 16 left"


def test_an_identifier_avoided_for_the_task_is_not_named_per_pod_set() -> None:
    snapshot = pool(identifier("east").nodes(gpu_node("e1")))
    roles = task().pod_set("a", 1, cpu=1).pod_set("b", 1, cpu=1).build()
    demand = replace(roles, avoided={"east": "pods never started"})
    rejection = place(snapshot, demand).rejections["east"]
    assert rejection.filter == "Avoided"
    assert not rejection.phrase.startswith("pod set")
