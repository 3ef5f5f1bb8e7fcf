"""A member's state sums each node's requests as pods come and go, and tells listeners what changed."""

from __future__ import annotations

from computenet.members.facts import NodeFacts, PodFacts
from computenet.members.state import MemberState, PodSink, SummarySink

GPU = "nvidia.com/gpu"


def bound(node: str | None, task: str | None = None, **requests: int) -> PodFacts:
    return PodFacts(node=node, requests=requests, task_uid=task, attempt="1" if task else None)


def plain(name: str) -> NodeFacts:
    return NodeFacts(name, {}, {"cpu": 8000}, {"cpu": 8000}, (), True, False)


def test_sums_follow_pods_and_never_change_a_pod_s_own_requests() -> None:
    state = MemberState()
    pods = PodSink(state)
    a, b = bound("n1", cpu=1000), bound("n1", cpu=500, pods=1)
    pods.upsert("a", a)
    assert state.requested_on("n1") == {"cpu": 1000}
    pods.upsert("b", b)
    assert state.requested_on("n1") == {"cpu": 1500, "pods": 1}
    assert (a.requests, b.requests) == ({"cpu": 1000}, {"cpu": 500, "pods": 1})
    pods.delete("a")
    assert state.requested_on("n1") == {"cpu": 500, "pods": 1}
    pods.upsert("c", bound("n1", cpu=250))
    assert state.requested_on("n1") == {"cpu": 750, "pods": 1}
    assert b.requests == {"cpu": 500, "pods": 1}
    pods.delete("b")
    pods.delete("c")
    assert state.requested == {}


def test_a_pod_without_requests_leaves_the_sum_alone() -> None:
    state = MemberState()
    pods = PodSink(state)
    pods.upsert("a", bound("n1", cpu=1000))
    pods.upsert("t", bound("n1", task="uid-1"))
    assert state.requested == {"n1": {"cpu": 1000}}
    assert state.bound_by_attempt == {("uid-1", "1"): 1}


def test_a_summary_tells_once_which_nodes_changed() -> None:
    state = MemberState()
    sink = SummarySink(state)
    told: list[frozenset[str] | None] = []
    state.subscribe(told.append)
    eight = {GPU: 8}
    sink.replace({"n1": plain("n1"), "n2": plain("n2")}, {"n1": eight}, {"t/0": bound("n1", task="uid-1")})
    assert told == [None]
    assert state.bound_by_attempt == {("uid-1", "1"): 1}

    sink.update({"n1": plain("n1"), "n2": plain("n2")}, {"n1": eight}, {"t/0": bound("n1", task="uid-1")})
    assert told == [None]  # the same summary again: no news

    sink.update({"n1": plain("n1"), "n3": plain("n3")}, {"n1": {GPU: 4}, "n3": eight}, {})
    assert told[1:] == [frozenset({"n1", "n2", "n3"})]
    assert state.requested == {"n1": {GPU: 4}, "n3": eight}
    assert set(state.nodes) == {"n1", "n3"}
    assert state.bound_by_attempt == {}

    waiting = {"t/0": bound(None, task="uid-2")}
    sink.update({"n1": plain("n1"), "n3": plain("n3")}, {"n1": {GPU: 4}, "n3": eight}, waiting)
    assert told[2:] == [frozenset()]  # a pod waiting for a node concerns no node, but is news
    assert state.pods_of_task("uid-2") == [waiting["t/0"]]


def test_a_tasks_pods_follow_every_change_of_the_members_pods() -> None:
    state = MemberState()
    pods = PodSink(state)
    pods.replace({"a": bound("n1", task="t1", cpu=1), "b": bound(None, task="t2")})
    assert [p.node for p in state.pods_of_task("t1")] == ["n1"]
    moved = bound("n2", task="t1", cpu=1)
    pods.upsert("a", moved)
    assert state.pods_of_task("t1") == [moved]
    pods.upsert("c", bound("n3", task="t1"))
    assert sorted(p.node or "" for p in state.pods_of_task("t1")) == ["n2", "n3"]
    pods.delete("a")
    assert [p.node for p in state.pods_of_task("t1")] == ["n3"]
    assert state.pods_of_task("nobody") == []
    found = state.pods_of_task("t2")
    found.clear()  # a caller's list is its own
    assert len(state.pods_of_task("t2")) == 1
