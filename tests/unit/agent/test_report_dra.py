"""A report carries a member's DRA objects to the hub: the hub's DRA state is the push path's own."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from members.builders import node

from computenet.api.agent import MAX_REPORTED_DEVICES
from computenet.api.common import AcceleratorAmounts
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.members.dra import DeviceId, SliceFacts, claim_facts, class_facts, slice_facts
from computenet.members.dra_state import CatalogSink, DeviceSink
from computenet.members.facts import node_facts
from computenet.members.identifiers import TrackedIdentifier
from computenet.members.pull import PullConnection
from computenet.members.report import build_report, report_body, report_facts
from computenet.members.state import MemberState, NodeSink
from computenet.placement.devices import DeviceClass

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
DRIVER = "gpu.example.com"
H100 = "NVIDIA-H100-80GB-HBM3"


def resource_slice(
    name: str, node_name: str | None, *devices: str, pool: str = "", generation: int = 1, count: int = 1
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "driver": DRIVER,
        "pool": {"name": pool or node_name or "shared", "generation": generation, "resourceSliceCount": count},
        "devices": [
            {
                "name": d,
                "attributes": {
                    "productName": {"string": H100},
                    f"{DRIVER}/index": {"int": i},
                    "mig": {"bool": False},
                    "driverVersion": {"version": "1.2.3"},
                    "future": {"listOfThings": ["a"]},
                },
                "capacity": {"memory": {"value": "80Gi"}, "share": {"value": "500m"}},
                "allowMultipleAllocations": i == 1,
            }
            for i, d in enumerate(devices)
        ],
    }
    if node_name:
        spec["nodeName"] = node_name
    else:
        spec["allNodes"] = True
    return {"metadata": {"name": name}, "spec": spec}


def allocated(name: str, *devices: DeviceId) -> dict[str, Any]:
    results = [{"request": "gpu", "driver": d, "pool": p, "device": n} for d, p, n in devices]
    return {"metadata": {"name": name, "namespace": "w"}, "status": {"allocation": {"devices": {"results": results}}}}


def device_class(name: str, *expressions: str, extended: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"selectors": [{"cel": {"expression": e}} for e in expressions]}
    if extended:
        spec["extendedResourceName"] = extended
    return {"metadata": {"name": name, "creationTimestamp": "2026-12-01T00:00:00Z"}, "spec": spec}


SLICES = [
    resource_slice("n1-gpus", "n1", "gpu-0", "gpu-1"),
    resource_slice("n2-old", "n2", "gpu-0", generation=1),
    resource_slice("n2-new", "n2", "gpu-0", "gpu-1", generation=2),
    resource_slice("n3-half", "n3", "gpu-0", count=2),
    resource_slice("shared", None, "gpu-9"),
]
CLAIMS = [allocated("c1", (DRIVER, "n1", "gpu-0")), allocated("c2", (DRIVER, "n2", "gpu-1"), (DRIVER, "n2", "gpu-0"))]
CLASSES = [
    device_class("gpu", f'device.driver == "{DRIVER}"', extended="example.com/gpu"),
    device_class("big", "device.capacity['gpu.example.com'].memory.compareTo(quantity('40Gi')) >= 0"),
    device_class("broken", "device.driver =="),
    device_class("any"),
]


def push_state() -> MemberState:
    """What a push member's watches make of the objects (`MemberConnection._watch_dra`'s sinks)."""
    state = MemberState()
    NodeSink(state).replace({n: node_facts(node(n).build()) for n in ("n1", "n2", "n3")})
    DeviceSink[SliceFacts](state, "slices").replace({o["metadata"]["name"]: slice_facts(o) for o in SLICES})
    claims = {f"w/{o['metadata']['name']}": claim_facts(o) for o in CLAIMS}
    DeviceSink[tuple[DeviceId, ...]](state, "claims").replace({k: v for k, v in claims.items() if v is not None})
    CatalogSink[DeviceClass](state, "classes").replace({o["metadata"]["name"]: class_facts(o) for o in CLASSES})
    return state


def through_the_hub(*states: MemberState, problem: str | None = "") -> PullConnection:
    """Each state's report, JSON-encoded as the API server stores it, applied in turn to one pull connection."""
    conn = PullConnection("provider-a", "agent-1", None)  # type: ignore[arg-type]  # no client needed
    for i, state in enumerate(states):
        report = build_report(report_body(state, dra_problem=problem), NOW + dt.timedelta(seconds=i), "test")
        facts = report_facts(json.loads(json.dumps({"status": {"report": report}})))
        assert facts is not None
        conn.apply_report(facts)
    return conn


def test_the_hub_holds_the_dra_state_the_push_path_makes_of_the_same_objects() -> None:
    pushed = push_state()

    pulled = through_the_hub(pushed).state

    assert pulled.dra.slices == pushed.dra.slices
    assert pulled.dra.claims == pushed.dra.claims
    assert pulled.dra.classes == pushed.dra.classes
    assert pulled.dra.devices == pushed.dra.devices
    assert pulled.dra.served() == pushed.dra.served()
    assert {n: f.devices for n, f in pulled.nodes.items()} == {n: f.devices for n, f in pushed.nodes.items()}
    assert [(d.total, d.free) for d in pulled.nodes["n2"].devices] == [(1, 0), (1, 0)]  # newest pool, both claimed
    assert pulled.dra.classes["broken"].problem.startswith("has a selector placement cannot evaluate")


def test_a_later_report_tells_the_nodes_whose_devices_changed_and_moves_the_catalog_only_when_classes_do() -> None:
    first, second = push_state(), push_state()
    DeviceSink[tuple[DeviceId, ...]](second, "claims").delete("w/c1")
    conn = through_the_hub(first)
    version = conn.state.dra.catalog_version
    heard: list[frozenset[str] | None] = []
    conn.state.subscribe(heard.append)

    conn.apply_report(_facts(second, NOW + dt.timedelta(seconds=1)))
    assert heard == [frozenset({"n1"})]
    assert conn.state.dra.catalog_version == version
    assert [(d.total, d.free) for d in conn.state.nodes["n1"].devices] == [(1, 1), (1, 1)]

    CatalogSink[DeviceClass](second, "classes").delete("any")
    conn.apply_report(_facts(second, NOW + dt.timedelta(seconds=2)))
    assert heard[-1] == frozenset()
    assert conn.state.dra.catalog_version == version + 1
    assert "any" not in conn.state.dra.classes


def _facts(state: MemberState, when: dt.datetime) -> Any:
    facts = report_facts({"status": {"report": build_report(report_body(state, dra_problem=""), when, "test")}})
    assert facts is not None
    return facts


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        pytest.param(None, "the member's agent does not report DRA devices yet", id="an agent without DRA says so"),
        pytest.param("", "", id="an agent whose DRA watches are current leaves no problem"),
        pytest.param(
            "the member's resourceslices are not listed yet (HTTP 403)",
            "the agent reports: the member's resourceslices are not listed yet (HTTP 403)",
            id="an agent that may not read DRA objects says why",
        ),
    ],
)
def test_the_hub_tells_why_a_pull_members_dra_devices_are_unknown(problem: str | None, expected: str) -> None:
    assert through_the_hub(push_state(), problem=problem).dra_problem() == expected


def test_a_member_with_more_devices_than_a_report_carries_reports_none_and_says_so() -> None:
    state = MemberState()
    names = [f"gpu-{i}" for i in range(128)]
    many = {f"s{i}": slice_facts(resource_slice(f"s{i}", f"n{i}", *names)) for i in range(16)}
    DeviceSink[SliceFacts](state, "slices").replace(many)

    body = report_body(state, dra_problem="")

    assert body["dra"]["problem"] == (
        f"the cluster publishes 2048 DRA devices, more than a report carries ({MAX_REPORTED_DEVICES})"
    )
    assert "slices" not in body["dra"]
    assert through_the_hub(state).state.dra.devices == {}


def test_an_agent_that_reports_dra_devices_shows_them_in_its_identifiers_status() -> None:
    conn = through_the_hub(push_state())
    spec = ComputeIdentifierSpec.model_validate(
        {
            "uri": "cpi://acme/cn-east/x",
            "provider": "acme",
            "region": "cn-east",
            "connection": {"agent": {"namespace": "provider-a", "name": "agent-1"}},
        }
    )
    item = TrackedIdentifier("x", spec=spec)
    item.attach(conn)

    status = item.status(NOW)

    assert status.accelerators == {
        H100: AcceleratorAmounts(driver=DRIVER, capacity=4, allocatable=4, allocated=3, free=1, largest_free_slot=1)
    }
