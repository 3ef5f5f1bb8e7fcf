"""An identifier's capacity is computed once per change of its nodes or their pods, and always current."""

from __future__ import annotations

from computenet.api.identifier import ComputeIdentifierSpec
from computenet.members.facts import node_facts, pod_facts
from computenet.members.identifiers import TrackedIdentifier, selector_of
from computenet.members.pull import PullConnection
from computenet.members.state import NodeSink, PodSink
from members.builders import node, pod

H100 = "NVIDIA-H100"


def spec(selector: dict[str, str] | None = None) -> ComputeIdentifierSpec:
    return ComputeIdentifierSpec.model_validate(
        {
            "uri": "cpi://acme/cn-east/x" + ("/a" if selector else ""),
            "provider": "acme",
            "region": "cn-east",
            "computeClass": "ai",
            "connection": {
                "agent": {"namespace": "provider-acme", "name": "agent-x"},
                **({"nodeSelector": {"matchLabels": selector}} if selector else {}),
            },
        }
    )


def test_capacity_is_cached_until_a_node_or_pod_of_the_identifier_changes() -> None:
    conn = PullConnection("provider-acme", "agent-x", None)  # type: ignore[arg-type]  # no client needed
    nodes = [node("n1").gpus(8, H100).label("pool", "a").build(), node("n2").gpus(8, H100).build()]
    NodeSink(conn.state).replace({n["metadata"]["name"]: node_facts(n) for n in nodes})
    item = TrackedIdentifier("x", spec=spec())
    item.attach(conn)

    first = item.capacity()
    assert item.capacity() is first  # readers share one computation
    assert first.accelerators[H100].free == 16

    facts = pod_facts(pod("a", "n1", gpus=6))
    assert facts is not None
    PodSink(conn.state).upsert("default/a", facts)
    bound = item.capacity()
    assert bound is not first
    assert bound.accelerators[H100].free == 10

    PodSink(conn.state).delete("default/a")
    assert item.capacity().accelerators[H100].free == 16

    item.spec = spec({"pool": "a"})
    item.selector = selector_of(item.spec)  # as configure does, then attaches again
    item.attach(conn)
    assert item.capacity().accelerators[H100].allocatable == 8


def test_an_identifier_without_a_selector_follows_every_node_of_its_member() -> None:
    conn = PullConnection("provider-acme", "agent-x", None)  # type: ignore[arg-type]  # no client needed
    nodes = NodeSink(conn.state)
    nodes.replace({"n1": node_facts(node("n1").gpus(8, H100).build())})
    item = TrackedIdentifier("x", spec=spec())
    item.attach(conn)
    assert set(item.nodes) == {"n1"}
    assert item.capacity().accelerators[H100].allocatable == 8

    item.dirty.clear()
    nodes.upsert("n2", node_facts(node("n2").gpus(8, H100).build()))
    assert item.dirty.is_set()
    assert set(item.nodes) == {"n1", "n2"}
    assert item.capacity().accelerators[H100].allocatable == 16

    item.dirty.clear()
    nodes.delete("n1")  # a node gone is ours too, though the member no longer names it
    assert item.dirty.is_set()
    assert set(item.nodes) == {"n2"}
    assert item.capacity().accelerators[H100].allocatable == 8

    nodes.replace({"n3": node_facts(node("n3").build())})  # a re-list: the member's nodes are a new mapping
    assert set(item.nodes) == {"n3"}
    assert H100 not in item.capacity().accelerators


def test_an_identifier_with_a_selector_keeps_only_the_nodes_it_selects() -> None:
    conn = PullConnection("provider-acme", "agent-x", None)  # type: ignore[arg-type]  # no client needed
    nodes = NodeSink(conn.state)
    nodes.replace({"n1": node_facts(node("n1").label("pool", "a").build())})
    item = TrackedIdentifier("x", spec=spec({"pool": "a"}))
    item.selector = selector_of(spec({"pool": "a"}))
    item.attach(conn)
    item.dirty.clear()
    nodes.upsert("n2", node_facts(node("n2").build()))
    assert not item.dirty.is_set()  # not ours: nothing to recompute
    nodes.upsert("n2", node_facts(node("n2").label("pool", "a").build()))
    assert item.dirty.is_set()
    assert item.nodes == {"n1", "n2"}
    nodes.delete("n1")
    assert item.nodes == {"n2"}
