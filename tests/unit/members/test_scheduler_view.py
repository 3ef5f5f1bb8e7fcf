"""Member capacity and placement see nodes and pods as kube-scheduler (v1.36.3) does.

Which pods hold resources on a node (bound and not Succeeded/Failed, terminating ones included),
what each holds (``computenet.podresources``), which nodes offer free capacity (Ready, not cordoned,
no node-condition taint, a pod slot left), and that placement, fed from the same member state the
way the operator feeds it, never picks a node the scheduler would reject.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from placement.builders import task

from computenet.api.constants import ATTEMPT_LABEL, TASK_UID_LABEL
from computenet.members.capacity import Capacity, model_of, summarize
from computenet.members.facts import node_facts, pod_facts, pod_requests
from computenet.members.state import MemberState, NodeSink, PodSink, SummarySink
from computenet.placement import Identifier, SnapshotBuilder, place
from members.builders import NodeBuilder, gpu_sidecar_pod, node, pod, pod_of

L4 = "NVIDIA-L4"
GPU = "nvidia.com/gpu"


def l4(name: str) -> NodeBuilder:
    return node(name).cpu("16").gpus(2, L4)


def state_of(nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> MemberState:
    state = MemberState()
    NodeSink(state).replace({n["metadata"]["name"]: node_facts(n) for n in nodes})
    facts = {f"default/{p['metadata']['name']}": pod_facts(p) for p in pods}
    PodSink(state).replace({k: v for k, v in facts.items() if v is not None})
    return state


def capacity_of(state: MemberState) -> Capacity:
    return summarize(state.nodes.values(), state.requested_on, model_of)


def builder_from(state: MemberState) -> SnapshotBuilder:
    """What the operator's task view does: every node upserted with the member's running sums."""
    builder = SnapshotBuilder()
    builder.upsert_identifier(Identifier("m", "m"))
    for name, facts in state.nodes.items():
        builder.upsert_node("m", facts, state.requested_on(name))
    return builder


# ---- which pods count, and how much ----

CPU_1 = {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}


@pytest.mark.parametrize(
    ("obj", "node_name"),
    [
        pytest.param(pod_of("p", "n1", CPU_1), "n1", id="a bound running pod counts on its node"),
        pytest.param(pod_of("p", "n1", CPU_1, phase="Pending"), "n1", id="a bound pod not started yet counts"),
        pytest.param(pod_of("p", "n1", CPU_1, phase="Unknown"), "n1", id="a pod in phase Unknown counts"),
        pytest.param(
            pod_of("p", "n1", CPU_1, deleting=True), "n1", id="a terminating pod holds its requests until it is gone"
        ),
        pytest.param(pod_of("p", None, CPU_1, phase="Pending"), None, id="an unbound pod is on no node"),
    ],
)
def test_pods_that_hold_resources(obj: dict[str, Any], node_name: str | None) -> None:
    facts = pod_facts(obj)
    assert facts is not None
    assert facts.node == node_name
    assert facts.requests == {"cpu": 1000, "pods": 1}


@pytest.mark.parametrize("phase", [pytest.param("Succeeded", id="Succeeded"), pytest.param("Failed", id="Failed")])
def test_terminal_pods_hold_nothing(phase: str) -> None:
    assert pod_facts(pod_of("p", "n1", CPU_1, phase=phase, deleting=True)) is None


@pytest.mark.parametrize(
    ("spec", "status", "expected"),
    [
        pytest.param(
            gpu_sidecar_pod("p", "n1")["spec"], None, {GPU: 2, "pods": 1}, id="case 01: sidecar GPU and main GPU"
        ),
        pytest.param(
            {**CPU_1, "overhead": {"cpu": "250m", "memory": "120Mi"}},
            None,
            {"cpu": 1250, "memory": 120 << 20, "pods": 1},
            id="overhead is added",
        ),
        pytest.param(
            {**CPU_1, "resources": {"requests": {"cpu": "3"}}},
            None,
            {"cpu": 3000, "pods": 1},
            id="pod-level requests replace the containers' sum",
        ),
        pytest.param(
            CPU_1,
            {"containerStatuses": [{"name": "c", "resources": {"requests": {"cpu": "2"}}}]},
            {"cpu": 2000, "pods": 1},
            id="a bound pod resized in place counts the larger actual requests",
        ),
        pytest.param({"containers": "junk"}, None, {"pods": 1}, id="malformed containers still take a pod slot"),
    ],
)
def test_pod_requests_of_the_member_layer(
    spec: dict[str, Any], status: dict[str, Any] | None, expected: dict[str, int]
) -> None:
    assert pod_requests(spec, status) == expected


def test_a_resize_reported_in_status_reaches_the_node_totals() -> None:
    resized = pod_of(
        "p", "n1", CPU_1, status={"containerStatuses": [{"name": "c", "resources": {"requests": {"cpu": "3"}}}]}
    )
    state = state_of([node("n1").build()], [resized])
    assert state.requested_on("n1") == {"cpu": 3000, "pods": 1}


# ---- which nodes offer free capacity ----

NODES = [
    pytest.param(l4("n"), 2, id="a Ready node offers its GPUs"),
    pytest.param(l4("n").not_ready(), 0, id="a NotReady node offers nothing"),
    pytest.param(l4("n").cordoned(), 0, id="a cordoned node offers nothing"),
    pytest.param(
        l4("n").taint("node.kubernetes.io/not-ready"), 0, id="a node tainted not-ready offers nothing while still Ready"
    ),
    pytest.param(l4("n").taint("node.kubernetes.io/unreachable", "NoExecute"), 0, id="an unreachable node"),
    pytest.param(l4("n").taint("node.kubernetes.io/unschedulable"), 0, id="the unschedulable taint alone"),
    pytest.param(l4("n").taint("node.kubernetes.io/memory-pressure"), 0, id="a node under memory pressure"),
    pytest.param(
        l4("n").taint("node.kubernetes.io/not-ready", "PreferNoSchedule"), 2, id="a condition taint that only prefers"
    ),
    pytest.param(
        l4("n").taint(GPU, value="present"),
        2,
        id="the cluster's own GPU taint leaves capacity to tolerating tasks",
    ),
]


@pytest.mark.parametrize(("builder", "free"), NODES)
def test_free_capacity_only_where_the_scheduler_binds(builder: NodeBuilder, free: int) -> None:
    cap = capacity_of(state_of([builder.build()], []))
    m = cap.accelerators[L4]
    assert (m.allocatable, m.allocated, m.free, m.largest_free_slot) == (2, 0, free, free)
    assert cap.free["cpu"] == (16000 if free else 0)
    assert cap.nodes_schedulable == (1 if free else 0)


@pytest.mark.parametrize(
    ("pods", "allocated", "free"),
    [
        pytest.param([gpu_sidecar_pod("s", "n")], 2, 0, id="case 01: a sidecar's GPU is allocated"),
        pytest.param(
            [
                pod_of(
                    "i",
                    "n",
                    {
                        "initContainers": [{"name": "setup", "resources": {"limits": {GPU: 1}}}],
                        "containers": [{"name": "main", "resources": {"limits": {GPU: 1}}}],
                    },
                )
            ],
            1,
            1,
            id="an ordinary init container's GPU is not added to the main container's",
        ),
        pytest.param([gpu_sidecar_pod("s", "n", phase="Succeeded")], 0, 2, id="a finished sidecar pod holds nothing"),
        pytest.param([gpu_sidecar_pod("s", None, phase="Pending")], 0, 2, id="an unbound sidecar pod holds nothing"),
    ],
)
def test_sidecar_gpus_in_identifier_capacity(pods: list[dict[str, Any]], allocated: int, free: int) -> None:
    cap = capacity_of(state_of([l4("n").build()], pods))
    m = cap.accelerators[L4]
    assert (m.allocated, m.free, m.largest_free_slot) == (allocated, free, free)


def test_a_node_whose_pod_slots_are_full_has_nothing_free() -> None:
    pods = [pod("a", "n", cpu="100m"), pod("b", "n", cpu="100m")]
    cap = capacity_of(state_of([l4("n").pods(2).build()], pods))
    m = cap.accelerators[L4]
    assert (m.allocated, m.free, m.largest_free_slot) == (0, 0, 0)
    assert cap.free["cpu"] == 0
    assert cap.free["pods"] == 0
    assert cap.allocated["pods"] == 2
    assert cap.nodes_schedulable == 1


def test_a_node_with_a_pod_slot_left_keeps_its_free_capacity() -> None:
    cap = capacity_of(state_of([l4("n").pods(3).build()], [pod("a", "n", cpu="100m"), pod("b", "n", cpu="100m")]))
    assert cap.accelerators[L4].free == 2
    assert cap.free["pods"] == 1


# ---- placement from the same member state ----


@pytest.mark.parametrize(
    ("unusable", "pods"),
    [
        pytest.param(l4("bad").not_ready(), [], id="NotReady"),
        pytest.param(l4("bad").cordoned(), [], id="cordoned"),
        pytest.param(l4("bad").taint("node.kubernetes.io/not-ready"), [], id="tainted not-ready"),
        pytest.param(
            l4("bad").taint("dedicated", "NoExecute", "infra"), [], id="tainted with a taint the task ignores"
        ),
        pytest.param(l4("bad").pods(1), [pod("x", "bad", cpu="100m")], id="pod slots full"),
        pytest.param(l4("bad"), [gpu_sidecar_pod("s", "bad")], id="both GPUs held by a sidecar pod"),
    ],
)
def test_placement_never_picks_a_node_the_scheduler_rejects(unusable: NodeBuilder, pods: list[dict[str, Any]]) -> None:
    # "bad" sorts before "ok": with equal scores it would be the first choice if it were allowed.
    state = state_of([unusable.build(), l4("ok").build()], pods)
    decision = place(builder_from(state).snapshot(), task().gpus(1, L4).cpu("1").build())
    assert decision.chosen is not None
    assert [slot.node for slot in decision.assignment] == ["ok"]

    alone = state_of([unusable.build()], pods)
    assert place(builder_from(alone).snapshot(), task().gpus(1, L4).cpu("1").build()).chosen is None


def test_identifier_status_and_placement_snapshot_count_the_same_free_gpus() -> None:
    nodes = [
        l4("a").build(),
        l4("b").build(),
        l4("c").pods(1).build(),
        l4("d").cordoned().build(),
        l4("e").not_ready().build(),
    ]
    pods = [gpu_sidecar_pod("s", "a"), pod("x", "c", cpu="100m"), pod("y", "b", gpus=1)]
    state = state_of(nodes, pods)
    status = capacity_of(state).accelerators[L4]
    snapshot = builder_from(state).snapshot().capacity("m").accelerators[0]
    assert (status.free, status.largest_free_slot) == (1, 1)
    assert (snapshot.free, snapshot.largest_free_slot) == (status.free, status.largest_free_slot)


def test_set_requested_applies_the_pod_slot_rule_too() -> None:
    state = state_of([l4("n").pods(1).build()], [])
    builder = builder_from(state)
    demand = task().gpus(1, L4).cpu("1").build()
    assert place(builder.snapshot(), demand).chosen is not None
    builder.set_requested("m", "n", {"cpu": 100, "pods": 1})
    assert place(builder.snapshot(), demand).chosen is None
    builder.set_requested("m", "n", {})
    assert place(builder.snapshot(), demand).chosen is not None


def test_an_unbound_pod_the_scheduler_cannot_place_says_since_when() -> None:
    pod: dict[str, Any] = {
        "metadata": {
            "name": "p",
            "namespace": "w",
            "labels": {"computenet.io/task-uid": "u", "computenet.io/attempt": "2"},
        },
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]},
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/10 nodes are available: 4 Insufficient nvidia.com/gpu.",
                    "lastTransitionTime": "2026-11-30T12:00:00Z",
                }
            ],
        },
    }
    facts = pod_facts(pod)
    assert facts is not None
    assert facts.unschedulable_since == dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    assert facts.unschedulable_message.startswith("0/10 nodes are available")
    pod["spec"]["nodeName"] = "n1"
    bound = pod_facts(pod)
    assert bound is not None
    assert bound.unschedulable_since is None


def test_bound_pods_are_counted_per_attempt_so_an_old_attempts_pods_never_confirm_a_new_one() -> None:
    """A requeued task's old pods, still bound while their Job is removed, are not the new attempt's."""

    def of(attempt: str) -> dict[str, str]:
        return {TASK_UID_LABEL: "uid-1", ATTEMPT_LABEL: attempt}

    state = state_of(
        [l4("n1").build(), l4("n2").build()],
        [pod("old-0", "n1", labels=of("1")), pod("old-1", "n2", labels=of("1")), pod("new-0", None, labels=of("2"))],
    )
    assert state.bound_by_attempt == {("uid-1", "1"): 2}
    PodSink(state).upsert("default/new-0", pod_facts(pod("new-0", "n1", labels=of("2"))))  # type: ignore[arg-type]
    PodSink(state).delete("default/old-0")
    assert state.bound_by_attempt == {("uid-1", "1"): 1, ("uid-1", "2"): 1}


def test_the_tasks_whose_pods_were_bound_are_told_once_and_a_whole_list_tells_any() -> None:
    """The scheduler confirms assumptions of these tasks only, between its sweeps of all of them."""

    def of(uid: str) -> dict[str, str]:
        return {TASK_UID_LABEL: uid, ATTEMPT_LABEL: "1"}

    state = state_of([l4("n1").build()], [pod("a-0", "n1", labels=of("uid-a"))])
    assert state.take_bound() is None  # the first list: any task's pods may be bound
    assert state.take_bound() == set()
    sink = PodSink(state)
    sink.upsert("default/b-0", pod_facts(pod("b-0", None, labels=of("uid-b"))))  # type: ignore[arg-type]
    assert state.take_bound() == set()  # created, not bound yet
    sink.upsert("default/b-0", pod_facts(pod("b-0", "n1", labels=of("uid-b"))))  # type: ignore[arg-type]
    sink.delete("default/a-0")
    assert state.take_bound() == {"uid-b"}  # bound; a pod that went confirms nothing
    assert state.take_bound() == set()
    SummarySink(state).replace({}, {}, {})
    assert state.take_bound() is None
