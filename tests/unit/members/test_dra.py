"""DRA objects become facts: devices per node by driver and model, free by allocated claims, and the catalog."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from computenet.api.common import AcceleratorAmounts
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.members.capacity import model_of, summarize
from computenet.members.dra import (
    CEL,
    SliceFacts,
    claim_facts,
    class_facts,
    device_shape,
    node_devices,
    slice_facts,
    template_facts,
)
from computenet.members.dra_state import CatalogSink, DeviceSink
from computenet.members.facts import node_facts
from computenet.members.identifiers import TrackedIdentifier
from computenet.members.pull import PullConnection
from computenet.members.state import MemberState, NodeSink
from computenet.placement import Demand, Identifier, SnapshotBuilder, place
from computenet.placement.devices import (
    ClaimTemplate,
    DeviceClass,
    DeviceRequest,
    NodeDevices,
    PodClaim,
    extended_resource_classes,
)
from computenet.placement.dra_cel import DeviceShape, Selector
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
    found = slice_facts(obj)
    assert dataclasses.replace(found, devices=tuple((n, m) for n, m, _ in found.devices)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        pytest.param(
            {
                "name": "gpu-0",
                "attributes": {
                    "productName": {"string": "H100"},
                    "gpu.example.com/index": {"int": 0},
                    "driverVersion": {"version": "550.54.15"},
                    "mig": {"bool": False},
                },
                "capacity": {"memory": {"value": "80Gi"}},
                "allowMultipleAllocations": True,
            },
            DeviceShape(
                DRIVER,
                (
                    ("driverVersion", ("version", "550.54.15")),
                    ("gpu.example.com/index", ("int", 0)),
                    ("mig", ("bool", False)),
                    ("productName", ("string", "H100")),
                ),
                (("memory", Decimal(80 * 2**30)),),
                True,
            ),
            id="attributes by kind, capacity as exact quantities, multiple allocations",
        ),
        pytest.param(
            {"name": "gpu-0", "attributes": {"uuids": {"strings": ["a"]}}, "capacity": {"bad": {"value": "lots"}}},
            DeviceShape(DRIVER, (("uuids", ("unsupported", None)),)),
            id="an attribute of no supported kind stays, a capacity that is no quantity does not",
        ),
    ],
)
def test_device_shape(device: dict[str, Any], expected: DeviceShape) -> None:
    assert device_shape(DRIVER, device) == expected


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


def compiled(*expressions: str) -> tuple[Selector, ...]:
    found = tuple(CEL.compile(e) for e in expressions)
    assert all(isinstance(f, Selector) for f in found)
    return found  # type: ignore[return-value]


GPU_CLASS = DeviceClass("gpu", compiled(f'device.driver == "{DRIVER}"'))


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(device_class(f'device.driver == "{DRIVER}"'), GPU_CLASS, id="a class of one driver"),
        pytest.param(device_class(), DeviceClass("gpu"), id="a class without selectors admits every device"),
        pytest.param(
            device_class(f'device.driver == "{DRIVER}"', 'device.capacity["x"].memory.compareTo(quantity("1Gi")) >= 0'),
            DeviceClass(
                "gpu",
                compiled(f'device.driver == "{DRIVER}"', 'device.capacity["x"].memory.compareTo(quantity("1Gi")) >= 0'),
            ),
            id="every selector is compiled, in order",
        ),
        pytest.param(
            device_class(f'device.driver == "{DRIVER}"', "device.attributes[1"),
            DeviceClass(
                "gpu",
                (),
                "has a selector placement cannot evaluate: spec.selectors[1].cel.expression "
                "'device.attributes[1': compilation failed: Syntax error: unexpected input at line 1, column 19",
            ),
            id="a selector that does not compile is named by its field",
        ),
        pytest.param(
            device_class("device.model == 1"),
            DeviceClass(
                "gpu",
                (),
                "has a selector placement cannot evaluate: spec.selectors[0].cel.expression "
                "'device.model == 1': compilation failed: undefined field 'model'",
            ),
            id="a field the device does not have is a compile error",
        ),
    ],
)
def test_class_facts(obj: dict[str, Any], expected: DeviceClass) -> None:
    found = class_facts(obj)
    assert (found.name, found.selectors) == (expected.name, expected.selectors)
    assert found.problem == expected.problem


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
            ClaimTemplate("one-gpu", (DeviceRequest("gpu", "gpu", 1, selectors=compiled("true")),)),
            id="a request's own selectors are compiled",
        ),
        pytest.param(
            template(exactly(), exactly(selectors=[{"cel": {"expression": "true"}}, {"cel": {"expression": "1"}}])),
            ClaimTemplate(
                "one-gpu",
                (
                    DeviceRequest("gpu", "gpu", 1),
                    DeviceRequest(
                        "gpu",
                        "gpu",
                        problem="the template's spec.spec.devices.requests[1].exactly.selectors[1].cel.expression "
                        "'1': compilation failed: must evaluate to bool or the unknown type, not int",
                    ),
                ),
            ),
            id="a request's selector that does not compile is named by its field",
        ),
        pytest.param(
            template({"name": "gpu", "firstAvailable": [{"name": "a", "deviceClassName": "gpu"}]}),
            ClaimTemplate(
                "one-gpu",
                (
                    DeviceRequest(
                        "gpu", "", problem="it lists firstAvailable subrequests, which placement does not evaluate"
                    ),
                ),
            ),
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
    assert counted(node_devices(slices, in_use)) == counted(expected)


def counted(by_node: dict[str, tuple[NodeDevices, ...]]) -> dict[str, tuple[tuple[str, str, int, int], ...]]:
    """Per node, (driver, model, total, free) of its devices: what the pool rules decide, shapes aside."""
    return {n: tuple((d.driver, d.model, d.total, d.free) for d in devices) for n, devices in by_node.items()}


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
    assert counted({"n1": state.nodes["n1"].devices}) == {"n1": ((DRIVER, H100, 2, 2),)}
    assert state.nodes["n2"].devices == ()
    assert heard[-1] == frozenset({"n1"})

    found = claim_facts(allocated((DRIVER, "n1", "gpu-0")))
    assert found is not None
    claims.upsert("w/c", found)
    assert counted({"n1": state.nodes["n1"].devices}) == {"n1": ((DRIVER, H100, 2, 1),)}

    NodeSink(state).upsert("n1", node_facts(node("n1").cpu("16").build()))  # a node update keeps its devices
    assert counted({"n1": state.nodes["n1"].devices}) == {"n1": ((DRIVER, H100, 2, 1),)}

    claims.delete("w/c")
    slices.delete("s1")
    assert state.nodes["n1"].devices == ()
    assert heard[-1] == frozenset({"n1"})


def test_the_catalog_holds_the_classes_and_the_templates_of_one_namespace() -> None:
    state = MemberState()
    heard: list[frozenset[str] | None] = []
    state.subscribe(heard.append)
    CatalogSink[DeviceClass](state, "classes").upsert("gpu", GPU_CLASS)
    templates = CatalogSink[ClaimTemplate](state, "templates")
    templates.upsert("w/one-gpu", ClaimTemplate("one-gpu", (DeviceRequest("gpu", "gpu"),)))
    templates.upsert("other/two-gpu", ClaimTemplate("two-gpu"))
    assert heard[-1] == frozenset()  # no node changed, but placement must hear of it

    catalog = state.dra.catalog("w")
    assert set(catalog.templates) == {"one-gpu"}
    assert catalog.classes == {"gpu": GPU_CLASS}
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


# ---- KEP-5004: a class serving an extended resource; the same GPUs are counted once ----


def test_gpus_of_a_node_with_the_plugins_resource_are_not_counted_again_as_dra_devices() -> None:
    conn = PullConnection("provider-acme", "agent-x", None)  # type: ignore[arg-type]  # no client needed
    NodeSink(conn.state).replace({"h-0": node_facts(node("h-0").gpus(8, H100).build())})
    DeviceSink[SliceFacts](conn.state, "slices").upsert("s", slice_facts(resource_slice("h-0", "gpu-0", "gpu-1")))
    item = TrackedIdentifier("x", spec=spec())
    item.attach(conn)
    assert set(item.status(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).accelerators or {}) == {H100, f"{H100} ({DRIVER})"}

    served = device_class(f'device.driver == "{DRIVER}"')
    served["spec"]["extendedResourceName"] = "nvidia.com/gpu"
    CatalogSink[DeviceClass](conn.state, "classes").upsert("gpu", class_facts(served))

    accelerators = item.status(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).accelerators or {}
    assert set(accelerators) == {H100}
    assert accelerators[H100].allocatable == 8


def test_a_request_dra_serves_counts_as_its_claims_devices_not_as_a_request_too() -> None:
    served = device_class(f'device.driver == "{DRIVER}"')
    served["spec"]["extendedResourceName"] = "nvidia.com/gpu"
    classes = extended_resource_classes([class_facts(served)])
    dra_node = dataclasses.replace(
        node_facts(node("d-0").build()), devices=(NodeDevices(DRIVER, H100, 2, 1),)
    )  # one device held by the pod's extended-resource claim

    cap = summarize([dra_node], lambda _: {"nvidia.com/gpu": 1, "cpu": 1000}, model_of, classes)

    assert cap.accelerators[H100].allocated == 1
    assert "nvidia.com/gpu" not in cap.allocated
    plain = summarize([dra_node], lambda _: {"nvidia.com/gpu": 1, "cpu": 1000}, model_of)
    assert plain.allocated["nvidia.com/gpu"] == 1  # without the class: a request nothing advertises


def test_class_facts_read_the_extended_resource_and_the_creation_time() -> None:
    obj = device_class(f'device.driver == "{DRIVER}"')
    obj["spec"]["extendedResourceName"] = "nvidia.com/gpu"
    obj["metadata"]["creationTimestamp"] = "2026-03-01T10:00:00Z"
    found = class_facts(obj)
    assert (found.extended_resource, found.created) == ("nvidia.com/gpu", "2026-03-01T10:00:00Z")


def test_devices_of_one_model_in_several_shapes_count_once_per_node() -> None:
    one = DeviceShape(DRIVER, (("uuid", ("string", "GPU-0")),))
    other = DeviceShape(DRIVER, (("uuid", ("string", "GPU-1")),))
    facts = dataclasses.replace(
        node_facts(node("d-0").build()),
        devices=(NodeDevices(DRIVER, H100, 1, 1, one), NodeDevices(DRIVER, H100, 1, 0, other)),
    )
    model = summarize([facts], lambda _: {}, model_of).accelerators[H100]
    assert (model.nodes, model.allocatable, model.free, model.largest_free_slot) == (1, 2, 1, 1)
