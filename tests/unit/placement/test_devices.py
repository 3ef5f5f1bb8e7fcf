"""Placement of tasks claiming DRA devices: fit node by node on free devices, or refuse naming the claim."""

from __future__ import annotations

import json

import pytest

from computenet.placement import Assumptions, Demand, Snapshot, place
from computenet.placement.devices import (
    ANY_DRIVER,
    ClaimTemplate,
    DeviceCatalog,
    DeviceClass,
    ExtendedSupply,
    Need,
    NodeDevices,
    PodClaim,
    counted_once,
    device_filter,
    device_need,
    extended_needs,
    extended_resource_classes,
    extended_supply,
    is_dra_extended_resource_name,
    node_slots,
    table_of,
)
from computenet.placement.dra_cel import AttributeValue, DeviceShape
from placement.builders import IdentifierBuilder, NodeBuilder, identifier, node, pool, request, selectors, task

DRV = "gpu.example.com"
NIC = "nic.example.com"
CLASSES: dict[str, str | tuple[str, ...] | None] = {"gpu": DRV, "nic": NIC, "anything": None}
TEMPLATES = {
    "one-gpu": (request("gpu"),),
    "two-gpus": (request("gpu", 2),),
    "three-gpus": (request("gpu", 3),),
    "all-gpus": (request("gpu", all=True),),
    "gpu-and-nic": (request("gpu"), request("nic")),
    "any-two": (request("anything", 2),),
    "picky": (request("gpu", problem="it sets capacity, which placement does not evaluate"),),
    "fancy-class": (request("fancy"),),
    "no-class": (request("missing"),),
}


def member(*nodes: NodeBuilder, name: str = "m1") -> IdentifierBuilder:
    fancy = {"fancy": "has a selector placement cannot evaluate: spec.selectors[0] has no cel.expression"}
    return identifier(name).dra(CLASSES, TEMPLATES, unevaluated=fancy).nodes(*nodes)


def cpu_node(name: str) -> NodeBuilder:
    return node(name).cpu("8").memory("32Gi")


CASE_30 = member(cpu_node("cpu-0"), cpu_node("cpu-1").dra(DRV, 2, model="NVIDIA-H100-80GB-HBM3"))


def claiming(*templates: str, replicas: int = 1, uid: str = "t1") -> Demand:
    return task(uid).cpu("2").memory("4Gi").claims(*templates).replicas(replicas).build()


@pytest.mark.parametrize(
    ("members", "demand", "nodes"),
    [
        pytest.param(
            [CASE_30], claiming("one-gpu"), {"cpu-1": 1}, id="one device lands on the only node publishing devices"
        ),
        pytest.param(
            [CASE_30],
            claiming("one-gpu", replicas=2),
            {"cpu-1": 2},
            id="a gang of two one-device replicas shares a node",
        ),
        pytest.param([CASE_30], claiming("two-gpus"), {"cpu-1": 1}, id="two devices for one replica on one node"),
        pytest.param(
            [member(cpu_node("a").dra(DRV, 2, free=0), cpu_node("b").dra(DRV, 1))],
            claiming("one-gpu"),
            {"b": 1},
            id="devices an allocated claim holds are not free",
        ),
        pytest.param(
            [member(cpu_node("a").dra(DRV, 2, free=1), cpu_node("b").dra(DRV, 2))],
            claiming("all-gpus"),
            {"b": 1},
            id="All needs every device of the node free",
        ),
        pytest.param(
            [member(cpu_node("a").dra(DRV, 1), cpu_node("b").dra(DRV, 1).dra(NIC, 1))],
            claiming("gpu-and-nic"),
            {"b": 1},
            id="requests of two classes need both drivers on one node",
        ),
        pytest.param(
            [member(cpu_node("a").dra(DRV, 1), cpu_node("b").dra(DRV, 1).dra(NIC, 1))],
            claiming("any-two"),
            {"b": 1},
            id="a class without selectors takes devices of any driver",
        ),
        pytest.param(
            [member(cpu_node("a").dra(DRV, 1).cpu("1"), cpu_node("b").dra(DRV, 1))],
            claiming("one-gpu"),
            {"b": 1},
            id="the node with devices must also hold the replica's cpu",
        ),
        pytest.param(
            [member(cpu_node("x").dra(DRV, 1), name="a"), member(cpu_node("y").dra(DRV, 1), name="b")],
            claiming("one-gpu", "one-gpu"),
            None,
            id="two claims of one device each need two devices on a node",
        ),
    ],
)
def test_a_task_claiming_devices_lands_where_they_are_free(
    members: list[IdentifierBuilder], demand: Demand, nodes: dict[str, int] | None
) -> None:
    decision = place(pool(*members), demand)
    if nodes is None:
        assert decision.chosen is None
        return
    assert decision.chosen is not None, decision.summary
    assert {slot.node: slot.replicas for slot in decision.assignment} == nodes
    assert "not evaluated by placement" not in decision.summary


H100 = 'device.attributes["gpu.example.com"].model == "NVIDIA-H100-80GB-HBM3"'
A100 = 'device.attributes["gpu.example.com"].model == "NVIDIA-A100-SXM4-80GB"'
DESCRIBED = member(
    cpu_node("cpu-0"),
    cpu_node("cpu-1").dra(
        DRV, 2, model="NVIDIA-H100-80GB-HBM3", attributes={f"{DRV}/model": ("string", "NVIDIA-H100-80GB-HBM3")}
    ),
)
"""Case 30's member, its devices describing their model."""


@pytest.mark.parametrize(
    ("members", "demand", "nodes"),
    [
        pytest.param(
            [CASE_30],
            task().cpu("2").claims("hub-gpu").hub_templates(**{"hub-gpu": (request("gpu"),)}).build(),
            {"cpu-1": 1},
            id="a template only the hub holds is evaluated: the task fits a member without it",
        ),
        pytest.param(
            [CASE_30],
            task().cpu("2").claims("one-gpu").hub_templates(**{"one-gpu": (request("gpu", 3),)}).build(),
            None,
            id="the hub's template takes precedence over the member's of the same name",
        ),
        pytest.param(
            [CASE_30],
            task().cpu("2").claims("three-gpus").hub_templates(**{"three-gpus": (request("gpu"),)}).build(),
            {"cpu-1": 1},
            id="the hub's smaller template fits where the member's same-named one does not",
        ),
        pytest.param(
            [DESCRIBED],
            task().cpu("2").claims("hub-h100").hub_templates(**{"hub-h100": (request("gpu", cel=(H100,)),)}).build(),
            {"cpu-1": 1},
            id="the hub's template's CEL selector admits the member's devices",
        ),
        pytest.param(
            [DESCRIBED],
            task().cpu("2").claims("hub-a100").hub_templates(**{"hub-a100": (request("gpu", cel=(A100,)),)}).build(),
            None,
            id="the hub's template's CEL selector admits none of the member's devices",
        ),
        pytest.param(
            [CASE_30],
            task().cpu("2").claims("one-gpu", "hub-gpu").hub_templates(**{"hub-gpu": (request("gpu"),)}).build(),
            {"cpu-1": 1},
            id="one claim from the member's template and one from the hub's count together",
        ),
    ],
)
def test_a_task_with_its_own_templates_is_placed_by_them(
    members: list[IdentifierBuilder], demand: Demand, nodes: dict[str, int] | None
) -> None:
    decision = place(pool(*members), demand)
    if nodes is None:
        assert decision.chosen is None
        assert "insufficient DRA devices" in decision.summary, decision.summary
        return
    assert decision.chosen is not None, decision.summary
    assert {slot.node: slot.replicas for slot in decision.assignment} == nodes


def test_the_hubs_template_is_evaluated_against_the_members_classes() -> None:
    catalog = DeviceCatalog({"gpu": DeviceClass("gpu", selectors(f'device.driver == "{DRV}"'))}, {})
    own = {"hub-gpu": ClaimTemplate("hub-gpu", (request("gpu", 2),)), "odd": ClaimTemplate("odd", (request("x"),))}
    assert device_need(catalog, (PodClaim("c", template="hub-gpu"),), own) == {DRV: Need(2)}
    assert device_need(catalog, (PodClaim("c", template="odd"),), own) == (
        "resourceClaims 'c', request 'req': DeviceClass 'x' does not exist in the member"
    )
    assert "does not exist in the target namespace" in str(device_need(catalog, (PodClaim("c", template="hub-gpu"),)))


@pytest.mark.parametrize(
    ("demand", "phrase"),
    [
        pytest.param(
            claiming("three-gpus"),
            "insufficient DRA devices (3 gpu.example.com devices per replica) on any single node",
            id="more devices than a node has: waits naming the devices",
        ),
        pytest.param(
            claiming("one-gpu", replicas=3),
            "insufficient DRA devices (1 gpu.example.com device per replica) in total",
            id="a gang needing more devices than the identifier has",
        ),
        pytest.param(
            claiming("nope"),
            "resourceClaims 'claim-0': ResourceClaimTemplate 'nope' does not exist in the target namespace, "
            "nor in the task's namespace on the hub (from where it would travel with the workload)",
            id="a template neither the member nor the hub has is named",
        ),
        pytest.param(
            claiming("no-class"),
            "resourceClaims 'claim-0', request 'req': DeviceClass 'missing' does not exist in the member",
            id="a class the member does not have is named",
        ),
        pytest.param(
            claiming("fancy-class"),
            "resourceClaims 'claim-0', request 'req': DeviceClass 'fancy' has a selector placement cannot "
            "evaluate: spec.selectors[0] has no cel.expression",
            id="a class selector placement cannot evaluate refuses the claim, not placed blind",
        ),
        pytest.param(
            claiming("picky"),
            "resourceClaims 'claim-0', request 'req': it sets capacity, which placement does not evaluate",
            id="a request setting what placement does not evaluate refuses the claim",
        ),
        pytest.param(
            task().cpu("1").claims(existing="shared-gpu").build(),
            "resourceClaims 'existing' names ResourceClaim 'shared-gpu': placement evaluates only claims made "
            "from a resourceClaimTemplateName",
            id="a claim by name is refused, naming it",
        ),
    ],
)
def test_a_task_whose_claims_do_not_fit_waits_saying_why(demand: Demand, phrase: str) -> None:
    decision = place(pool(CASE_30), demand)
    assert decision.chosen is None
    assert decision.summary == f"0/1 identifiers fit: 1 {phrase}"


@pytest.mark.parametrize(
    ("ident", "message"),
    [
        pytest.param(
            identifier("m1").nodes(cpu_node("n")),
            "resourceClaims 'claim-0': the member's DRA devices are not known to the operator",
            id="an identifier without DRA knowledge is refused",
        ),
        pytest.param(
            identifier("m1").dra(
                CLASSES, TEMPLATES, problem="the member's resourceslices are not listed yet (HTTP 403)"
            ),
            "resourceClaims 'claim-0': the member's resourceslices are not listed yet (HTTP 403)",
            id="a member whose DRA objects cannot be read says why",
        ),
    ],
)
def test_without_the_members_dra_facts_nothing_is_placed_blind(ident: IdentifierBuilder, message: str) -> None:
    decision = place(pool(ident.nodes(cpu_node("n").dra(DRV, 4))), claiming("one-gpu"))
    assert decision.chosen is None
    assert decision.rejections["m1"].message == message
    assert decision.rejections["m1"].reason == "DeviceClaimNotEvaluated"


def test_the_rejection_detail_gives_the_identifiers_numbers() -> None:
    decision = place(pool(CASE_30), claiming("three-gpus"))
    assert decision.rejections["m1"].message == (
        "2 DRA devices on 1 schedulable node publishing devices match the claims' selectors, 2 free; a replica "
        "claims 3 gpu.example.com devices, 0 of 1 replicas fit (at most 0 on one node)"
    )


def test_the_partition_and_the_pod_constraints_bound_the_devices() -> None:
    ident = member(cpu_node("a").label("pool", "x"), cpu_node("b").label("pool", "y").dra(DRV, 2)).selector(pool="x")
    assert place(pool(ident), claiming("one-gpu")).chosen is None
    other = member(cpu_node("a").label("pool", "x").dra(DRV, 1), cpu_node("b").label("pool", "y").dra(DRV, 2))
    selected = task().cpu("2").claims("two-gpus").node_selector({"pool": "x"}).build()
    assert place(pool(other), selected).chosen is None


def test_a_burst_does_not_overcommit_the_devices_and_a_forgotten_decision_frees_them() -> None:
    snapshot: Snapshot = pool(CASE_30)
    assumptions = Assumptions()
    held = []
    for uid in ("t1", "t2", "t3"):
        decision = place(snapshot, claiming("one-gpu", uid=uid), assumptions=assumptions)
        if decision.chosen is not None:
            assumptions.assume(decision, now=0.0)
            held.append(uid)
    assert held == ["t1", "t2"]
    refused = place(snapshot, claiming("one-gpu", uid="t3"), assumptions=assumptions)
    assert "after reservations assumed for pending tasks" in refused.rejections["m1"].message
    assumptions.forget("t1")
    again = place(snapshot, claiming("one-gpu", uid="t3"), assumptions=assumptions)
    assert again.chosen is not None
    assert again.assignment[0].devices == ((DRV, 1),)


def test_a_decision_assumes_what_all_mode_takes_on_its_node() -> None:
    decision = place(pool(CASE_30), claiming("all-gpus"))
    assert [(s.node, s.most, s.devices) for s in decision.assignment] == [("cpu-1", 1, ((DRV, 2),))]


def test_a_task_without_claims_ignores_dra_devices() -> None:
    decision = place(pool(CASE_30), task().cpu("8").memory("32Gi").replicas(2).build())
    assert decision.chosen is not None
    assert {s.node for s in decision.assignment} == {"cpu-0", "cpu-1"}
    assert all(s.devices == () for s in decision.assignment)


# ---- the pure rules ----


@pytest.mark.parametrize(
    ("devices", "needs", "held", "slots"),
    [
        pytest.param((NodeDevices(DRV, "", 4, 4),), {DRV: Need(1)}, {}, 4, id="one device each: four on four"),
        pytest.param((NodeDevices(DRV, "", 4, 3),), {DRV: Need(2)}, {}, 1, id="two each on three free: one"),
        pytest.param((NodeDevices(DRV, "", 4, 4),), {DRV: Need(1)}, {DRV: 3}, 1, id="assumed devices are not free"),
        pytest.param(
            (NodeDevices(DRV, "A", 2, 2), NodeDevices(DRV, "B", 2, 2)),
            {DRV: Need(1)},
            {},
            4,
            id="every model of the driver counts",
        ),
        pytest.param((NodeDevices(DRV, "", 2, 2),), {DRV: Need(0, all=True)}, {}, 1, id="All: one replica at most"),
        pytest.param((NodeDevices(DRV, "", 2, 2),), {DRV: Need(1, all=True)}, {}, 0, id="All plus one more: none"),
        pytest.param(
            (NodeDevices(DRV, "", 1, 1), NodeDevices(NIC, "", 1, 1)),
            {DRV: Need(1), ANY_DRIVER: Need(1)},
            {},
            1,
            id="any-driver competes with the driver's own need",
        ),
        pytest.param(
            (NodeDevices(DRV, "", 1, 1), NodeDevices(NIC, "", 1, 1)),
            {DRV: Need(1), ANY_DRIVER: Need(2)},
            {},
            0,
            id="three devices claimed of two on the node: none",
        ),
    ],
)
def test_node_slots(devices: tuple[NodeDevices, ...], needs: dict[str, Need], held: dict[str, int], slots: int) -> None:
    assert node_slots(devices, needs, held, 8) == slots


def test_claims_of_one_driver_add_up() -> None:
    catalog = pool(CASE_30).identifier("m1").devices
    assert isinstance(catalog, DeviceCatalog)
    claims = (
        PodClaim("a", template="one-gpu"),
        PodClaim("b", template="two-gpus"),
        PodClaim("c", template="gpu-and-nic"),
    )
    assert device_need(catalog, claims) == {DRV: Need(4), NIC: Need(1)}


# ---- CEL selectors: only the devices they admit count ----

H100: dict[str, AttributeValue] = {"model": ("string", "H100"), "cudaComputeCapability": ("version", "9.0.0")}
A100: dict[str, AttributeValue] = {"model": ("string", "A100"), "cudaComputeCapability": ("version", "8.0.0")}
IS_H100 = 'device.attributes["gpu.example.com"].model == "H100"'
BIG = 'device.capacity["gpu.example.com"].memory.compareTo(quantity("40Gi")) >= 0'
SELECTING: dict[str, str | tuple[str, ...] | None] = {
    **CLASSES,
    "h100": (f'device.driver == "{DRV}"', IS_H100),
    "modern": (
        f'device.driver == "{DRV}"',
        'device.attributes["gpu.example.com"].cudaComputeCapability.isGreaterThan(semver("8.5.0"))',
    ),
}
SELECTED = {
    "one-h100": (request("h100"),),
    "two-h100": (request("h100", 2),),
    "big-gpu": (request("gpu", cel=(BIG,)),),
    "modern-gpu": (request("modern"),),
    "h100-and-big": (request("h100"), request("gpu", cel=(BIG,))),
    "model-of-any": (request("anything", cel=(IS_H100,)),),
}


def selecting(*nodes: NodeBuilder) -> IdentifierBuilder:
    return identifier("m1").dra(SELECTING, {**TEMPLATES, **SELECTED}).nodes(*nodes)


def gpus(
    name: str, attributes: dict[str, AttributeValue], n: int = 2, memory: str = "80Gi", free: int | None = None
) -> NodeBuilder:
    return cpu_node(name).dra(DRV, n, free=free, attributes=attributes, capacity={"memory": memory})


@pytest.mark.parametrize(
    ("nodes", "demand", "placed"),
    [
        pytest.param(
            [gpus("a", A100), gpus("b", H100)], claiming("one-h100"), {"b": 1}, id="a class selecting a model"
        ),
        pytest.param(
            [gpus("a", H100, free=1), gpus("b", H100)],
            claiming("two-h100"),
            {"b": 1},
            id="only free matching devices count",
        ),
        pytest.param(
            [gpus("a", H100, memory="24Gi"), gpus("b", A100, memory="40Gi")],
            claiming("big-gpu"),
            {"b": 1},
            id="a request's own selector on capacity, compared as quantities",
        ),
        pytest.param([gpus("a", A100), gpus("b", H100)], claiming("modern-gpu"), {"b": 1}, id="a semver attribute"),
        pytest.param(
            [gpus("a", H100, n=1), gpus("b", H100, n=2)],
            claiming("h100-and-big"),
            {"b": 1},
            id="two requests whose selectors admit the same devices compete for them",
        ),
        pytest.param(
            [cpu_node("a").dra(NIC, 2), gpus("b", H100)],
            claiming("model-of-any"),
            None,
            id="a selector failing on a device of the member: the member's scheduler would abort, so nothing fits",
        ),
        pytest.param(
            [cpu_node("a").dra(NIC, 2), gpus("b", H100)],
            claiming("one-h100"),
            {"b": 1},
            id="a class's driver selector stops before the model's lookup fails",
        ),
    ],
)
def test_selectors_count_only_the_devices_they_admit(
    nodes: list[NodeBuilder], demand: Demand, placed: dict[str, int] | None
) -> None:
    decision = place(pool(selecting(*nodes)), demand)
    if placed is None:
        assert decision.chosen is None
        return
    assert decision.chosen is not None, decision.summary
    assert {slot.node: slot.replicas for slot in decision.assignment} == placed


def test_why_says_how_many_devices_the_selectors_admit() -> None:
    decision = place(pool(selecting(gpus("a", A100), gpus("b", H100, free=0))), claiming("one-h100"))
    assert decision.chosen is None
    rejection = decision.rejections["m1"]
    assert rejection.reason == "InsufficientDevices"
    assert rejection.message == (
        "2 DRA devices on 2 schedulable nodes publishing devices match the claims' selectors, 0 free; a replica "
        f"claims 1 DeviceClass 'h100' (selectors: device.driver == \"{DRV}\"; {IS_H100}) device, 0 of 1 replicas "
        "fit (at most 0 on one node)"
    )


def test_why_names_the_devices_a_selector_fails_on_and_the_error() -> None:
    decision = place(pool(selecting(cpu_node("a").dra(NIC, 2), gpus("b", H100))), claiming("model-of-any"))
    rejection = decision.rejections["m1"]
    assert rejection.reason == "DeviceSelectorFails"
    assert rejection.message == (
        f"the claims' selectors (1 DeviceClass 'anything' (selectors: {IS_H100}) device) fail on 2 DRA devices of "
        "the identifier's schedulable nodes with a CEL runtime error (no such key: model); the member's "
        "scheduler aborts the pod's scheduling when it meets one, so the pod would stay pending"
    )


def test_a_failing_device_on_a_node_the_pod_cannot_use_does_not_matter() -> None:
    ident = selecting(cpu_node("a").label("pool", "x").dra(NIC, 2), gpus("b", H100).label("pool", "y"))
    demand = task().cpu("2").claims("model-of-any").node_selector({"pool": "y"}).build()
    decision = place(pool(ident), demand)
    assert [slot.node for slot in decision.assignment] == ["b"]


def test_devices_assumed_for_one_selector_are_not_free_for_another_that_admits_them() -> None:
    snapshot = pool(selecting(gpus("a", H100, n=1)))
    assumptions = Assumptions()
    first = place(snapshot, claiming("one-h100", uid="t1"), assumptions=assumptions)
    assert first.chosen is not None
    assumptions.assume(first, now=0.0)
    assert place(snapshot, claiming("big-gpu", uid="t2"), assumptions=assumptions).chosen is None
    other = pool(selecting(gpus("a", H100, n=1), cpu_node("n").dra(NIC, 1)))
    held = Assumptions()
    nic = place(other, task("t3").cpu("1").claims("one-gpu").build(), assumptions=held)
    assert nic.chosen is not None


def test_needs_are_keyed_by_the_driver_or_by_the_selectors() -> None:
    catalog = pool(selecting(gpus("a", H100))).identifier("m1").devices
    assert isinstance(catalog, DeviceCatalog)
    needs = device_need(catalog, (PodClaim("a", template="one-gpu"), PodClaim("b", template="two-h100")))
    assert isinstance(needs, dict)
    assert needs[DRV] == Need(1)
    (key,) = set(needs) - {DRV}
    assert json.loads(key) == [f'device.driver == "{DRV}"', IS_H100]
    assert needs[key] == Need(2)


@pytest.mark.parametrize(
    ("devices", "needs", "slots"),
    [
        pytest.param(
            (NodeDevices(DRV, "", 2, 2, DeviceShape(DRV, (("model", ("string", "H100")),))),),
            {"h": Need(1), "any": Need(1)},
            1,
            id="two filters over the same two devices: one replica",
        ),
        pytest.param(
            (
                NodeDevices(DRV, "", 1, 1, DeviceShape(DRV, (("model", ("string", "H100")),))),
                NodeDevices(DRV, "", 3, 3, DeviceShape(DRV, (("model", ("string", "A100")),))),
            ),
            {"h": Need(1), "any": Need(1)},
            1,
            id="the single H100 bounds the replicas however many others there are",
        ),
    ],
)
def test_node_slots_under_competing_selectors(
    devices: tuple[NodeDevices, ...], needs: dict[str, Need], slots: int
) -> None:
    h = device_filter("h", selectors(IS_H100)).key
    anything = device_filter("any", selectors(f'device.driver == "{DRV}" && true')).key
    keyed = {h if k == "h" else anything: v for k, v in needs.items()}
    assert node_slots(devices, keyed, {}, 8) == slots


# ---- KEP-5004: extended resources served by DRA devices, counted once ----


def gpu_class(name: str, extended: str | None = "nvidia.com/gpu", created: str = "2026-01-01T00:00:00Z") -> DeviceClass:
    return DeviceClass(name, selectors(f'device.driver == "{DRV}"'), "", extended, created)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("nvidia.com/gpu", True, id="a vendor's resource"),
        pytest.param("deviceclass.resource.kubernetes.io/gpu", True, id="a class's implicit name"),
        pytest.param("cpu", False, id="a native resource"),
        pytest.param("kubernetes.io/batch", False, id="the kubernetes.io domain is native"),
        pytest.param("hugepages-2Mi", False, id="hugepages have no domain"),
        pytest.param("example.com/bad name", False, id="not a qualified name"),
    ],
)
def test_dra_extended_resource_names(name: str, expected: bool) -> None:
    assert is_dra_extended_resource_name(name) is expected


@pytest.mark.parametrize(
    ("classes", "expected"),
    [
        pytest.param(
            [gpu_class("gpu")],
            {"nvidia.com/gpu": "gpu", "deviceclass.resource.kubernetes.io/gpu": "gpu"},
            id="a class serves its extended resource and its implicit name",
        ),
        pytest.param(
            [gpu_class("gpu", None)],
            {"deviceclass.resource.kubernetes.io/gpu": "gpu"},
            id="without extendedResourceName only the implicit name",
        ),
        pytest.param(
            [gpu_class("old", created="2026-01-01T00:00:00Z"), gpu_class("new", created="2026-02-01T00:00:00Z")],
            {
                "nvidia.com/gpu": "new",
                "deviceclass.resource.kubernetes.io/old": "old",
                "deviceclass.resource.kubernetes.io/new": "new",
            },
            id="two classes serving one name: the newer wins",
        ),
        pytest.param(
            [gpu_class("b"), gpu_class("a")],
            {
                "nvidia.com/gpu": "a",
                "deviceclass.resource.kubernetes.io/a": "a",
                "deviceclass.resource.kubernetes.io/b": "b",
            },
            id="created together: the lower name wins",
        ),
    ],
)
def test_which_class_serves_an_extended_resource(classes: list[DeviceClass], expected: dict[str, str]) -> None:
    assert {k: c.name for k, c in extended_resource_classes(classes).items()} == expected


SERVED = extended_resource_classes([gpu_class("gpu")])


@pytest.mark.parametrize(
    ("requests", "allocatable", "expected"),
    [
        pytest.param(
            {"nvidia.com/gpu": 2},
            {"cpu": 8000},
            ExtendedSupply({"gpu": 2}),
            id="a node without the resource: DRA serves it",
        ),
        pytest.param(
            {"nvidia.com/gpu": 2},
            {"nvidia.com/gpu": 8},
            ExtendedSupply({}, ("nvidia.com/gpu",)),
            id="a node whose allocatable has it: the device plugin, never DRA too",
        ),
        pytest.param(
            {"nvidia.com/gpu": 2},
            {"nvidia.com/gpu": 0},
            ExtendedSupply({"gpu": 2}),
            id="an allocatable of zero is no device plugin: DRA serves it",
        ),
        pytest.param(
            {"deviceclass.resource.kubernetes.io/gpu": 1}, {}, ExtendedSupply({"gpu": 1}), id="the implicit name"
        ),
        pytest.param(
            {"example.com/fpga": 1}, {}, ExtendedSupply({}, (), ("example.com/fpga",)), id="neither serves it: no fit"
        ),
        pytest.param(
            {"example.com/fpga": 1},
            {"example.com/fpga": 0},
            ExtendedSupply({}, ("example.com/fpga",)),
            id="advertised at zero and not DRA's: NodeResourcesFit decides",
        ),
        pytest.param(
            {"nvidia.com/gpu": 0, "cpu": 1000},
            {},
            ExtendedSupply(),
            id="zero requests and native resources ask nothing",
        ),
    ],
)
def test_extended_supply_follows_the_scheduler(
    requests: dict[str, int], allocatable: dict[str, int], expected: ExtendedSupply
) -> None:
    assert extended_supply(requests, allocatable, SERVED) == expected


def test_extended_requests_served_by_dra_fit_the_class_devices() -> None:
    classes = {"gpu": gpu_class("gpu")}
    needs = extended_needs(extended_supply({"nvidia.com/gpu": 2}, {}, SERVED), classes)
    assert needs == {DRV: Need(2)}
    assert node_slots((NodeDevices(DRV, "", 8, 5),), needs, {}, 8) == 2


@pytest.mark.parametrize(
    ("allocatable", "kept"),
    [
        pytest.param({"nvidia.com/gpu": 8}, [NIC], id="the device plugin's GPUs are not counted again as DRA devices"),
        pytest.param({}, [DRV, NIC], id="without the plugin's resource every DRA device counts"),
    ],
)
def test_devices_are_counted_once(allocatable: dict[str, int], kept: list[str]) -> None:
    devices = (NodeDevices(DRV, "H100", 8, 8), NodeDevices(NIC, "", 2, 2))
    assert [d.driver for d in counted_once(devices, allocatable, SERVED)] == kept


def test_a_table_built_from_the_previous_one_equals_one_built_afresh() -> None:
    def devices(model: str, free: int) -> tuple[NodeDevices, ...]:
        return (NodeDevices(DRV, model, 4, free, DeviceShape(DRV, (("model", ("string", model)),))),)

    first = {3: devices("H100", 4), 7: devices("A100", 2), 9: devices("H100", 1)}
    second = {3: first[3], 5: devices("L4", 1), 9: devices("H100", 0)}  # 7 gone, 5 new, 9 changed
    previous = table_of(first)
    reused, fresh = table_of(second, previous), table_of(second)
    for name in ("rows", "indptr", "shape", "total", "free", "index", "at"):
        assert getattr(reused, name).tolist() == getattr(fresh, name).tolist(), name
    h100 = device_filter("h", selectors(IS_H100)).key
    assert reused.counts((h100,))[1].tolist() == [4, 0, 0]
