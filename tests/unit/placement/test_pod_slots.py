"""Pod slots are the fourth dimension placement fits, as kube-scheduler's NodeResourcesFit counts them.

kube-scheduler v1.36.3, ``pkg/scheduler/framework/plugins/noderesources/fit.go`` ``fitsRequest``:
``len(nodeInfo.Pods) + 1 > allowedPodNumber`` is "Too many pods", whatever cpu, memory and devices
are free. The cases follow upstream's ``TestEnoughRequests`` pod-count rows ("even without specified
resources, predicate fails when there's no space for additional pod", "... pod count"), per replica
of a gang, through the entry summaries, and through assumptions.
"""

from __future__ import annotations

import pytest

from computenet.placement import Assumptions, place
from computenet.placement import reasons as r

from .builders import H100, identifier, node, pool, task


@pytest.mark.parametrize(
    ("slots", "bound", "replicas", "fits"),
    [
        pytest.param(1, 1, 1, False, id="upstream: no space for an additional pod"),
        pytest.param(2, 1, 1, True, id="one slot left, one pod"),
        pytest.param(4, 2, 2, True, id="two slots left, gang of two"),
        pytest.param(4, 3, 2, False, id="one slot left, gang of two on one node"),
        pytest.param(0, 0, 1, False, id="a node that takes no pods"),
    ],
)
def test_one_node_holds_as_many_replicas_as_it_has_pod_slots(slots: int, bound: int, replicas: int, fits: bool) -> None:
    snapshot = pool(identifier("p").nodes(node("n1").cpu(64).pods(slots).used(cpu=1, pods=bound)))
    decision = place(snapshot, task().cpu(1).replicas(replicas).build())
    assert (decision.chosen is not None) == fits
    if not fits:
        assert "pod slots" in decision.rejections["p"].message


def test_a_node_that_reports_no_pod_limit_is_not_limited() -> None:
    snapshot = pool(identifier("p").nodes(node("n1").cpu(64)))
    decision = place(snapshot, task().cpu(1).replicas(60).build())
    assert decision.chosen is not None
    assert [s.replicas for s in decision.assignment] == [60]


def test_a_gang_spreads_over_nodes_by_their_pod_slots() -> None:
    nodes = [node(f"n{i}").cpu(64).pods(10).used(pods=9) for i in range(100)]
    snapshot = pool(identifier("p").nodes(*nodes))
    assert place(snapshot, task("fits").cpu(1).replicas(100).build()).chosen is not None
    too_many = place(snapshot, task("too-many").cpu(1).replicas(101).build())
    assert too_many.chosen is None
    assert too_many.rejections["p"].reason == r.INSUFFICIENT_RESOURCE
    assert "100 pod slots free in total" in too_many.rejections["p"].message


def test_pod_slots_are_named_first_as_kube_scheduler_names_too_many_pods_first() -> None:
    full = pool(identifier("p").nodes(node("n1").cpu(2).pods(2).used(pods=2)))
    assert "pod slots" in place(full, task().cpu(4).build()).rejections["p"].message
    roomy = pool(identifier("p").nodes(node("n1").cpu(2).pods(2).used(pods=1)))
    rejection = place(roomy, task().cpu(4).build()).rejections["p"]
    assert "cpu" in rejection.message
    assert "pod slots" not in rejection.message


def test_assumptions_hold_pod_slots_until_the_member_shows_the_pods() -> None:
    snapshot = pool(identifier("p").nodes(node("n1").gpus(8, H100).pods(3).used(pods=1)))
    held = Assumptions()
    first = place(snapshot, task("first").cpu(1).replicas(2).build(), assumptions=held)
    assert [(s.replicas, s.most) for s in first.assignment] == [(2, 2)]
    held.assume(first, now=0.0)
    late = place(snapshot, task("late").cpu(1).build(), assumptions=held)
    assert late.chosen is None
    assert "after reservations assumed for pending tasks" in late.rejections["p"].message
    held.confirm("first")
    assert place(snapshot, task("late").cpu(1).build(), assumptions=held).chosen is not None
