"""A report carries a member's state to the hub and back without changing what placement reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from members.builders import node, pod

from computenet.api.constants import ATTEMPT_LABEL, TASK_UID_LABEL
from computenet.members.capacity import model_of, summarize
from computenet.members.facts import node_facts, pod_facts
from computenet.members.pull import PullConnection
from computenet.members.report import build_report, report_body, report_facts
from computenet.members.state import MemberState, NodeSink, PodSink

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
TASK = {TASK_UID_LABEL: "uid-1", ATTEMPT_LABEL: "1"}


def _state(nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> MemberState:
    state = MemberState()
    NodeSink(state).replace({n["metadata"]["name"]: node_facts(n) for n in nodes})
    facts = {p["metadata"]["name"]: pod_facts(p) for p in pods}
    PodSink(state).replace({k: v for k, v in facts.items() if v is not None})
    return state


def _through_the_hub(state: MemberState, when: dt.datetime = NOW) -> MemberState:
    agent_object = {"status": {"report": build_report(report_body(state), when, "test")}}
    facts = report_facts(agent_object)
    assert facts is not None
    conn = PullConnection("provider-a", "agent-1", None)  # type: ignore[arg-type]  # no client needed
    conn.apply_report(facts)
    return conn.state


def _capacity(state: MemberState) -> Any:
    return summarize(state.nodes.values(), state.requested_on, model_of)


CASES = [
    pytest.param([node("n1").gpus(8, "NVIDIA-H100").build()], [], id="an idle GPU node"),
    pytest.param(
        [node("n1").gpus(8, "NVIDIA-H100").build(), node("n2").gpus(8, "NVIDIA-H100").build()],
        [pod("a", "n1", gpus=6), pod("b", "n2", gpus=2, cpu="3"), pod("c", None, gpus=1)],
        id="fragmented GPUs and a pod waiting for a node",
    ),
    pytest.param(
        [node("n1").cordoned().build(), node("n2").not_ready().build(), node("n3").taint("gpu", "NoSchedule").build()],
        [pod("a", "n3", cpu="2", labels=TASK)],
        id="cordoned, not ready and tainted nodes with a dispatched pod",
    ),
]


@pytest.mark.parametrize(("nodes", "pods"), CASES)
def test_the_hub_reads_the_same_capacity_the_agent_saw(nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> None:
    agent = _state(nodes, pods)
    hub = _through_the_hub(agent)
    assert hub.nodes == agent.nodes
    assert hub.requested == agent.requested
    assert hub.bound_by_attempt == agent.bound_by_attempt
    assert _capacity(hub) == _capacity(agent)


def test_dispatched_pods_keep_their_attempt_and_why_they_wait() -> None:
    waiting = pod("w", None, labels=TASK)
    waiting["status"]["conditions"] = [
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": "0/1 nodes are available",
            "lastTransitionTime": "2026-11-30T11:58:00Z",
        }
    ]
    hub = _through_the_hub(_state([node("n1").build()], [waiting, pod("r", "n1", labels=TASK)]))
    (stuck,) = [p for p in hub.pods_of_task("uid-1") if p.node is None]
    assert (stuck.attempt, stuck.unschedulable_message) == ("1", "0/1 nodes are available")
    assert stuck.unschedulable_since == dt.datetime(2026, 11, 30, 11, 58, tzinfo=dt.UTC)
    assert hub.bound_by_attempt == {("uid-1", "1"): 1}


def test_a_later_report_changes_only_the_nodes_that_changed() -> None:
    agent = _state([node("n1").build(), node("n2").build()], [pod("a", "n1")])
    conn = PullConnection("provider-a", "agent-1", None)  # type: ignore[arg-type]
    first = report_facts({"status": {"report": build_report(report_body(agent), NOW, "t")}})
    assert first is not None
    conn.apply_report(first)
    changed: list[frozenset[str] | None] = []
    conn.state.subscribe(changed.append)
    PodSink(agent).upsert("b", pod_facts(pod("b", "n2", cpu="2")))  # type: ignore[arg-type]
    later = report_facts({"status": {"report": build_report(report_body(agent), NOW + dt.timedelta(seconds=20), "t")}})
    assert later is not None
    conn.apply_report(later)
    assert changed == [frozenset({"n2"})]
    assert conn.state.requested == agent.requested


def test_an_older_report_read_after_a_newer_one_is_ignored() -> None:
    conn = PullConnection("provider-a", "agent-1", None)  # type: ignore[arg-type]
    newer = report_facts({"status": {"report": build_report(report_body(_state([node("n1").build()], [])), NOW, "t")}})
    older_state = _state([node("n1").build(), node("n2").build()], [])
    older = report_facts(
        {"status": {"report": build_report(report_body(older_state), NOW - dt.timedelta(seconds=1), "t")}}
    )
    assert newer is not None
    assert older is not None
    conn.apply_report(newer)
    conn.apply_report(older)
    assert set(conn.state.nodes) == {"n1"}


def test_unchanged_state_gives_an_equal_body_so_nothing_is_written() -> None:
    state = _state([node("n1").build()], [pod("a", "n1")])
    assert report_body(state) == report_body(state)


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param({}, id="no status"),
        pytest.param({"status": {"report": None}}, id="no report yet"),
        pytest.param({"status": {"report": {"nodes": []}}}, id="a report without its time"),
    ],
)
def test_an_object_without_a_readable_report_gives_none(obj: dict[str, Any]) -> None:
    assert report_facts(obj) is None


def test_alike_nodes_share_one_shape_and_keep_their_hostnames() -> None:
    nodes = [node(f"n{i}").gpus(8, "NVIDIA-H100").build() for i in range(10)] + [node("c1").cpu("64").build()]
    agent = _state(nodes, [])
    body = report_body(agent)
    assert len(body["shapes"]) == 2
    assert all(shape["hostnameLabel"] for shape in body["shapes"])
    assert all("kubernetes.io/hostname" not in shape.get("labels", {}) for shape in body["shapes"])
    hub = _through_the_hub(agent)
    assert {n: f.labels["kubernetes.io/hostname"] for n, f in hub.nodes.items()} == {n: n for n in agent.nodes}


def test_nodes_alike_in_usage_share_one_entry() -> None:
    nodes = [node(f"n{i}").gpus(8, "NVIDIA-H100").build() for i in range(6)]
    pods = [pod("a", "n1", gpus=8), pod("b", "n4", gpus=8), pod("c", "n5", gpus=2)]
    agent = _state(nodes, pods)
    body = report_body(agent)
    assert [entry["names"] for entry in body["nodes"]] == [["n0", "n2", "n3"], ["n1", "n4"], ["n5"]]
    hub = _through_the_hub(agent)
    assert hub.nodes == agent.nodes
    assert hub.requested == agent.requested


def test_a_hostname_other_than_the_name_is_kept_per_node() -> None:
    odd = node("n2").gpus(8, "NVIDIA-H100").build()
    odd["metadata"]["labels"]["kubernetes.io/hostname"] = "host-2"
    agent = _state([node("n1").gpus(8, "NVIDIA-H100").build(), odd], [])
    body = report_body(agent)
    assert len(body["shapes"]) == 2  # one shape says hostname = name, the other does not
    assert [entry.get("labels") for entry in body["nodes"]] == [None, {"kubernetes.io/hostname": "host-2"}]
    assert _through_the_hub(agent).nodes == agent.nodes


def test_a_report_of_one_record_per_node_is_still_read() -> None:
    """Reports of agents that name each node in its own entry, with its hostname among its labels."""
    shape = {"labels": {"nvidia.com/gpu.product": "NVIDIA-H100"}, "capacity": {"nvidia.com/gpu": 8}}
    nodes = [
        {"name": n, "shape": 0, "labels": {"kubernetes.io/hostname": n}, "requested": {"nvidia.com/gpu": 2}}
        for n in ("n1", "n2")
    ]
    report = {"reportTime": "2026-11-30T12:00:00.000000Z", "shapes": [shape], "nodes": nodes, "pods": []}
    facts = report_facts({"status": {"report": report}})
    assert facts is not None
    assert {n: dict(f.labels) for n, f in facts.nodes.items()} == {
        n: {"nvidia.com/gpu.product": "NVIDIA-H100", "kubernetes.io/hostname": n} for n in ("n1", "n2")
    }
    assert {n: dict(r) for n, r in facts.requested.items()} == {
        "n1": {"nvidia.com/gpu": 2},
        "n2": {"nvidia.com/gpu": 2},
    }
    assert facts.pods == {}


def test_a_report_delivered_again_is_no_news() -> None:
    conn = PullConnection("provider-a", "agent-1", None)  # type: ignore[arg-type]
    report = report_facts({"status": {"report": build_report(report_body(_state([node("n1").build()], [])), NOW, "t")}})
    assert report is not None
    assert conn.apply_report(report)
    assert not conn.apply_report(report)


def test_shared_labels_read_as_the_node_s_own() -> None:
    agent = _state([node("n1").gpus(8, "NVIDIA-H100").label("rack", "7").build()], [])
    labels = _through_the_hub(agent).nodes["n1"].labels
    assert dict(labels) == dict(agent.nodes["n1"].labels)
    assert labels == agent.nodes["n1"].labels
    assert labels.get("kubernetes.io/hostname") == "n1"
    assert labels.get("rack") == "7"
    assert "rack" in labels
    assert labels.get("missing") is None
    assert {**labels, "extra": "x"}["extra"] == "x"


def test_a_stale_picture_travels_in_the_report_and_tells_the_hub_until_a_current_one() -> None:
    agent = _state([node("n1").build()], [])
    conn = PullConnection("provider-a", "agent-1", None)  # type: ignore[arg-type]
    told: list[str] = []
    conn.on_health_change(lambda: told.append(conn.stale()))
    why = "the member's pods watch is not current (HTTP 403: pods is forbidden): waiting for it to resume"
    body = report_body(agent, why)
    assert body != report_body(agent)  # a flip is news: the agent writes it
    stale = report_facts({"status": {"report": build_report(body, NOW, "t")}})
    assert stale is not None
    conn.apply_report(stale)
    assert conn.stale() == f"the agent reports: {why}"
    assert told == [conn.stale()]
    current = report_facts({"status": {"report": build_report(report_body(agent), NOW + dt.timedelta(seconds=5), "t")}})
    assert current is not None
    conn.apply_report(current)
    assert conn.stale() == ""
    assert told[-1] == ""


JOBSET_KINDS = ("batch/v1 Job", "jobset.x-k8s.io/v1alpha2 JobSet")


@pytest.mark.parametrize(
    ("reports", "expected", "tellings"),
    [
        pytest.param([JOBSET_KINDS], JOBSET_KINDS, 1, id="the kinds the agent reports are the pull member's kinds"),
        pytest.param([None], None, 0, id="an agent that does not say: not known, so no member is passed over"),
        pytest.param(
            [JOBSET_KINDS, ("batch/v1 Job",)], ("batch/v1 Job",), 2, id="a kind the member stops serving goes"
        ),
        pytest.param([JOBSET_KINDS, JOBSET_KINDS], JOBSET_KINDS, 1, id="the same kinds again tell nobody"),
    ],
)
def test_a_pull_member_serves_the_kinds_its_agent_reports(
    reports: list[tuple[str, ...] | None], expected: tuple[str, ...] | None, tellings: int
) -> None:
    state = _state([node("n1").build()], [])
    conn = PullConnection("provider-a", "agent-1", None)  # type: ignore[arg-type]
    told: list[tuple[str, ...] | None] = []
    conn.on_health_change(lambda: told.append(conn.workload_kinds))
    for i, kinds in enumerate(reports):
        body = report_body(state, "", kinds)
        facts = report_facts({"status": {"report": build_report(body, NOW + dt.timedelta(seconds=i), "t")}})
        assert facts is not None
        conn.apply_report(facts)
    assert conn.workload_kinds == expected
    assert len([k for k in told if k is not None]) == tellings
    assert conn.watched_kinds == frozenset(), "the hub opens no watch of a pull member's kinds"


def test_a_change_of_kinds_is_news_the_agent_writes() -> None:
    state = _state([node("n1").build()], [])
    assert report_body(state, "", JOBSET_KINDS) != report_body(state, "", ("batch/v1 Job",))
    assert "workloadKinds" not in report_body(state)
