"""DRA objects become facts: devices per node by driver and model, free by allocated claims, and the catalog."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from computenet.api.common import AcceleratorAmounts
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.members.dra import (
    SliceFacts,
    claim_facts,
    class_facts,
    node_devices,
    selector_driver,
    slice_facts,
    template_facts,
)
from computenet.members.dra_state import CatalogSink, DeviceSink
from computenet.members.facts import node_facts
from computenet.members.identifiers import TrackedIdentifier
from computenet.members.pull import PullConnection
from computenet.members.state import MemberState, NodeSink
from computenet.placement import Demand, Identifier, SnapshotBuilder, place
from computenet.placement.devices import ClaimTemplate, DeviceClass, DeviceRequest, NodeDevices, PodClaim
from members.builders import node

DRIVER = "gpu.example.com"
H100 = "NVIDIA-H100-80GB-HBM3"


def resource_slice(
    node_name: str | None,
    *devices: str,
    pool: str | None = None,
    generation: int = 1,
    count: int = 1,
    model: str | None = H100,
    driver: str = DRIVER,
    attribute: str = "model",
) -> dict[str, Any]:
    attributes = {attribute: {"string": model}} if model else {}
    spec: dict[str, Any] = {
        "driver": driver,
        "pool": {"name": pool or node_name or "shared", "generation": generation, "resourceSliceCount": count},
        "devices": [{"name": d, "attributes": attributes, "capacity": {"memory": {"value": "80Gi"}}} for d in devices],
    }
    if node_name:
        spec["nodeName"] = node_name
    else:
        spec["allNodes"] = True
    return {"metadata": {"name": f"{node_name}-{pool}-{generation}"}, "spec": spec}


def allocated(*devices: tuple[str, str, str]) -> dict[str, Any]:
    results = [{"request": "gpu", "driver": d, "pool": p, "device": n} for d, p, n in devices]
    return {"metadata": {"name": "c", "namespace": "w"}, "status": {"allocation": {"devices": {"results": results}}}}


def device_class(*expressions: str, name: str = "gpu") -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"selectors": [{"cel": {"expression": e}} for e in expressions]}}


def template(*requests: dict[str, Any], constraints: list[Any] | None = None) -> dict[str, Any]:
    devices: dict[str, Any] = {"requests": list(requests)}
    if constraints:
        devices["constraints"] = constraints
    return {"metadata": {"name": "one-gpu", "namespace": "w"}, "spec": {"spec": {"devices": devices}}}


# ---- facts of one object ----


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            resource_slice("n1", "gpu-0", "gpu-1"),
            SliceFacts(DRIVER, "n1", 1, 1, "n1", (("gpu-0", H100), ("gpu-1", H100))),
            id="a node-local slice names its node and each device's model",
        ),
        pytest.param(
            resource_slice("n1", "gpu-0", attribute="productName", model="NVIDIA-A100"),
            SliceFacts(DRIVER, "n1", 1, 1, "n1", (("gpu-0", "NVIDIA-A100"),)),
            id="productName names the model too",
        ),
        pytest.param(
            resource_slice("n1", "gpu-0", attribute=f"{DRIVER}/productName", model="NVIDIA-L4"),
            SliceFacts(DRIVER, "n1", 1, 1, "n1", (("gpu-0", "NVIDIA-L4"),)),
            id="an attribute qualified by the driver's domain names the model",
        ),
        pytest.param(
            resource_slice("n1", "nic-0", model=None),
            SliceFacts(DRIVER, "n1", 1, 1, "n1", (("nic-0", ""),)),
            id="a device without a model attribute has an empty model",
        ),
        pytest.param(
            resource_slice(None, "gpu-0", pool="fabric"),
            SliceFacts(DRIVER, "fabric", 1, 1, None, (("gpu-0", H100),)),
            id="a slice for all nodes is local to none",
        ),
    ],
)
def test_slice_facts(obj: dict[str, Any], expected: SliceFacts) -> None:
    assert slice_facts(obj) == expected


def test_a_slice_without_a_driver_is_refused_so_the_reflector_skips_it() -> None:
    with pytest.raises(KeyError):
        slice_facts({"metadata": {"name": "s"}, "spec": {"pool": {"name": "p"}}})


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param({"metadata": {"name": "c"}, "status": {}}, None, id="an unallocated claim holds nothing"),
        pytest.param(
            allocated((DRIVER, "n1", "gpu-0"), (DRIVER, "n1", "gpu-1")),
            ((DRIVER, "n1", "gpu-0"), (DRIVER, "n1", "gpu-1")),
            id="an allocated claim holds every device its results list",
        ),
    ],
)
def test_claim_facts(obj: dict[str, Any], expected: object) -> None:
    assert claim_facts(obj) == expected


@pytest.mark.parametrize(
    ("expression", "driver"),
    [
        pytest.param('device.driver == "gpu.example.com"', DRIVER, id="driver equals a double-quoted name"),
        pytest.param("device.driver=='gpu.example.com'", DRIVER, id="single quotes and no spaces"),
        pytest.param('"gpu.example.com" == device.driver', DRIVER, id="the name on the left"),
        pytest.param('device.driver == "a" || device.driver == "b"', None, id="a disjunction is not evaluated"),
        pytest.param('device.attributes["x"].model == "H100"', None, id="attributes are not evaluated"),
    ],
)
def test_selector_driver(expression: str, driver: str | None) -> None:
    assert selector_driver(expression) == driver


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            device_class(f'device.driver == "{DRIVER}"'), DeviceClass("gpu", DRIVER), id="a class of one driver"
        ),
        pytest.param(device_class(), DeviceClass("gpu", None), id="a class without selectors admits every device"),
        pytest.param(
            device_class(f'device.driver == "{DRIVER}"', 'device.capacity["x"].memory.compareTo(quantity("1Gi")) >= 0'),
            DeviceClass(
                "gpu",
                None,
                "has a selector placement does not evaluate yet "
                """(device.capacity["x"].memory.compareTo(quantity("1Gi")) >= 0)""",
            ),
            id="any selector beyond the driver is named as not evaluated",
        ),
        pytest.param(
            device_class('device.driver == "a"', 'device.driver == "b"'),
            DeviceClass("gpu", None, "requires two drivers at once (a, b): no device matches"),
            id="two drivers at once match nothing",
        ),
    ],
)
def test_class_facts(obj: dict[str, Any], expected: DeviceClass) -> None:
    assert class_facts(obj) == expected


def exactly(**fields: Any) -> dict[str, Any]:
    return {"name": "gpu", "exactly": {"deviceClassName": "gpu", **fields}}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            template(exactly()),
            ClaimTemplate("one-gpu", (DeviceRequest("gpu", "gpu", 1),)),
            id="ExactCount defaults to one device",
        ),
        pytest.param(
            template(exactly(allocationMode="ExactCount", count=3)),
            ClaimTemplate("one-gpu", (DeviceRequest("gpu", "gpu", 3),)),
            id="ExactCount of three",
        ),
        pytest.param(
            template(exactly(allocationMode="All")),
            ClaimTemplate("one-gpu", (DeviceRequest("gpu", "gpu", 0, all=True),)),
            id="All takes every matching device",
        ),
        pytest.param(
            template(exactly(selectors=[{"cel": {"expression": "true"}}])),
            ClaimTemplate("one-gpu", (DeviceRequest("gpu", "gpu", 1, problem="it sets selectors"),)),
            id="a request's own selectors are named as not evaluated",
        ),
        pytest.param(
            template({"name": "gpu", "firstAvailable": [{"name": "a", "deviceClassName": "gpu"}]}),
            ClaimTemplate("one-gpu", (DeviceRequest("gpu", "", problem="it lists firstAvailable subrequests"),)),
            id="firstAvailable is named as not evaluated",
        ),
        pytest.param(
            template(exactly(), constraints=[{"matchAttribute": "x"}]),
            ClaimTemplate(
                "one-gpu",
                (DeviceRequest("gpu", "gpu", 1),),
                "has device constraints (matchAttribute), which placement does not evaluate",
            ),
            id="constraints across requests are named as not evaluated",
        ),
    ],
)
def test_template_facts(obj: dict[str, Any], expected: ClaimTemplate) -> None:
    assert template_facts(obj) == expected


# ---- devices per node: the allocator's pool rules ----


def facts(*objs: dict[str, Any]) -> list[SliceFacts]:
    return [slice_facts(o) for o in objs]


@pytest.mark.parametrize(
    ("slices", "in_use", "expected"),
    [
        pytest.param(
            facts(resource_slice("n1", "gpu-0", "gpu-1")),
            [],
            {"n1": (NodeDevices(DRIVER, H100, 2, 2),)},
            id="two devices on a node, both free",
        ),
        pytest.param(
            facts(resource_slice("n1", "gpu-0", "gpu-1")),
            [(DRIVER, "n1", "gpu-1")],
            {"n1": (NodeDevices(DRIVER, H100, 2, 1),)},
            id="a device an allocated claim lists is taken",
        ),
        pytest.param(
            facts(resource_slice("n1", "gpu-0")),
            [("other.example.com", "n1", "gpu-0")],
            {"n1": (NodeDevices(DRIVER, H100, 1, 1),)},
            id="a claim on another driver's device of the same name takes nothing",
        ),
        pytest.param(
            facts(
                resource_slice("n1", "gpu-0", pool="p", generation=1),
                resource_slice("n1", "gpu-0", "gpu-1", pool="p", generation=2),
            ),
            [],
            {"n1": (NodeDevices(DRIVER, H100, 2, 2),)},
            id="only the newest generation of a pool counts",
        ),
        pytest.param(
            facts(resource_slice("n1", "gpu-0", pool="p", count=2)),
            [],
            {},
            id="an incomplete pool offers nothing",
        ),
        pytest.param(
            facts(resource_slice("n1", "gpu-0", pool="p", count=2), resource_slice("n2", "gpu-1", pool="p", count=2)),
            [],
            {"n1": (NodeDevices(DRIVER, H100, 1, 1),), "n2": (NodeDevices(DRIVER, H100, 1, 1),)},
            id="a complete pool over two nodes counts on each",
        ),
        pytest.param(
            facts(resource_slice(None, "gpu-0", pool="fabric")),
            [],
            {},
            id="devices not local to one node are not counted yet",
        ),
        pytest.param(
            facts(resource_slice("n1", "gpu-0", model="A"), resource_slice("n1", "gpu-1", pool="q", model="B")),
            [],
            {"n1": (NodeDevices(DRIVER, "A", 1, 1), NodeDevices(DRIVER, "B", 1, 1))},
            id="devices are counted by driver and model",
        ),
    ],
)
def test_node_devices(
    slices: list[SliceFacts], in_use: list[tuple[str, str, str]], expected: dict[str, tuple[NodeDevices, ...]]
) -> None:
    assert node_devices(slices, in_use) == expected


# ---- the member state: devices ride on node facts ----


def test_devices_ride_on_the_node_facts_and_tell_the_listeners_which_node_changed() -> None:
    state = MemberState()
    heard: list[frozenset[str] | None] = []
    state.subscribe(heard.append)
    NodeSink(state).replace({"n1": node_facts(node("n1").build()), "n2": node_facts(node("n2").build())})
    slices, claims = (
        DeviceSink[SliceFacts](state, "slices"),
        DeviceSink[tuple[tuple[str, str, str], ...]](state, "claims"),
    )

    slices.upsert("s1", slice_facts(resource_slice("n1", "gpu-0", "gpu-1")))
    assert state.nodes["n1"].devices == (NodeDevices(DRIVER, H100, 2, 2),)
    assert state.nodes["n2"].devices == ()
    assert heard[-1] == frozenset({"n1"})

    found = claim_facts(allocated((DRIVER, "n1", "gpu-0")))
    assert found is not None
    claims.upsert("w/c", found)
    assert state.nodes["n1"].devices == (NodeDevices(DRIVER, H100, 2, 1),)

    NodeSink(state).upsert("n1", node_facts(node("n1").cpu("16").build()))  # a node update keeps its devices
    assert state.nodes["n1"].devices == (NodeDevices(DRIVER, H100, 2, 1),)

    claims.delete("w/c")
    slices.delete("s1")
    assert state.nodes["n1"].devices == ()
    assert heard[-1] == frozenset({"n1"})


def test_the_catalog_holds_the_classes_and_the_templates_of_one_namespace() -> None:
    state = MemberState()
    heard: list[frozenset[str] | None] = []
    state.subscribe(heard.append)
    CatalogSink[DeviceClass](state, "classes").upsert("gpu", DeviceClass("gpu", DRIVER))
    templates = CatalogSink[ClaimTemplate](state, "templates")
    templates.upsert("w/one-gpu", ClaimTemplate("one-gpu", (DeviceRequest("gpu", "gpu"),)))
    templates.upsert("other/two-gpu", ClaimTemplate("two-gpu"))
    assert heard[-1] == frozenset()  # no node changed, but placement must hear of it

    catalog = state.dra.catalog("w")
    assert set(catalog.templates) == {"one-gpu"}
    assert catalog.classes == {"gpu": DeviceClass("gpu", DRIVER)}
    assert state.dra.catalog("w") is catalog  # unchanged: the same object, so placement keeps its record
    templates.delete("w/one-gpu")
    assert state.dra.catalog("w").templates == {}
    assert state.dra.catalog("w", "not listed yet").problem == "not listed yet"


# ---- the identifier's status counts DRA devices like extended-resource GPUs ----


def spec() -> ComputeIdentifierSpec:
    return ComputeIdentifierSpec.model_validate(
        {
            "uri": "cpi://acme/cn-east/x",
            "provider": "acme",
            "region": "cn-east",
            "connection": {"agent": {"namespace": "provider-acme", "name": "agent-x"}},
        }
    )


def test_the_identifier_status_shows_dra_devices_by_model_with_their_driver() -> None:
    conn = PullConnection("provider-acme", "agent-x", None)  # type: ignore[arg-type]  # no client needed
    NodeSink(conn.state).replace(
        {"cpu-0": node_facts(node("cpu-0").build()), "cpu-1": node_facts(node("cpu-1").build())}
    )
    DeviceSink[SliceFacts](conn.state, "slices").upsert("s", slice_facts(resource_slice("cpu-1", "gpu-0", "gpu-1")))
    DeviceSink[tuple[tuple[str, str, str], ...]](conn.state, "claims").upsert("w/c", ((DRIVER, "cpu-1", "gpu-0"),))
    item = TrackedIdentifier("x", spec=spec())
    item.attach(conn)

    status = item.status(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    assert status.accelerators == {
        H100: AcceleratorAmounts(driver=DRIVER, capacity=2, allocatable=2, allocated=1, free=1, largest_free_slot=1)
    }
    assert status.summary is not None
    assert status.summary.gpus == "1/2"


def test_dra_devices_of_a_model_also_served_as_an_extended_resource_are_kept_apart() -> None:
    conn = PullConnection("provider-acme", "agent-x", None)  # type: ignore[arg-type]  # no client needed
    NodeSink(conn.state).replace(
        {"h-0": node_facts(node("h-0").gpus(8, H100).build()), "cpu-1": node_facts(node("cpu-1").build())}
    )
    DeviceSink[SliceFacts](conn.state, "slices").upsert("s", slice_facts(resource_slice("cpu-1", "gpu-0")))
    item = TrackedIdentifier("x", spec=spec())
    item.attach(conn)

    accelerators = item.status(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).accelerators or {}

    assert accelerators[H100].resource == "nvidia.com/gpu"
    assert accelerators[f"{H100} ({DRIVER})"].allocatable == 1


# ---- placement sees what the member state counts ----


def test_placement_fits_a_claim_on_the_devices_the_member_state_counts_and_not_once_they_are_taken() -> None:
    state = MemberState()
    NodeSink(state).replace({n: node_facts(node(n).build()) for n in ("cpu-0", "cpu-1")})
    DeviceSink[SliceFacts](state, "slices").upsert("s", slice_facts(resource_slice("cpu-1", "gpu-0", "gpu-1")))
    CatalogSink[DeviceClass](state, "classes").upsert("gpu", class_facts(device_class(f'device.driver == "{DRIVER}"')))
    CatalogSink[ClaimTemplate](state, "templates").upsert("w/one-gpu", template_facts(template(exactly())))
    builder = SnapshotBuilder()
    builder.upsert_identifier(Identifier("x", cluster="m", devices=state.dra.catalog("w")))

    def decide() -> tuple[str, ...]:
        for name, facts in state.nodes.items():
            builder.upsert_node("m", facts, state.requested_on(name))
        demand = Demand(uid="t", cpu=1000, claims=(PodClaim("gpu", template="one-gpu"),))
        return tuple(slot.node for slot in place(builder.snapshot(), demand).assignment)

    assert decide() == ("cpu-1",)
    DeviceSink[tuple[tuple[str, str, str], ...]](state, "claims").upsert(
        "w/other", ((DRIVER, "cpu-1", "gpu-0"), (DRIVER, "cpu-1", "gpu-1"))
    )
    assert decide() == ()
