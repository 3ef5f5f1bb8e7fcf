"""Placement of tasks claiming DRA devices: fit node by node on free devices, or refuse naming the claim."""

from __future__ import annotations

import pytest

from computenet.placement import Assumptions, Demand, Snapshot, place
from computenet.placement.devices import (
    ANY_DRIVER,
    DeviceCatalog,
    Need,
    NodeDevices,
    PodClaim,
    device_need,
    node_slots,
)
from placement.builders import IdentifierBuilder, NodeBuilder, identifier, node, pool, request, task

DRV = "gpu.example.com"
NIC = "nic.example.com"
CLASSES: dict[str, str | None] = {"gpu": DRV, "nic": NIC, "anything": None}
TEMPLATES = {
    "one-gpu": (request("gpu"),),
    "two-gpus": (request("gpu", 2),),
    "three-gpus": (request("gpu", 3),),
    "all-gpus": (request("gpu", all=True),),
    "gpu-and-nic": (request("gpu"), request("nic")),
    "any-two": (request("anything", 2),),
    "picky": (request("gpu", problem="it sets selectors"),),
    "fancy-class": (request("fancy"),),
    "no-class": (request("missing"),),
}


def member(*nodes: NodeBuilder, name: str = "m1") -> IdentifierBuilder:
    fancy = {"fancy": 'has a selector placement does not evaluate yet (device.attributes["x"].y)'}
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
            "resourceClaims 'claim-0': ResourceClaimTemplate 'nope' does not exist in the target namespace",
            id="a template the member does not have is named",
        ),
        pytest.param(
            claiming("no-class"),
            "resourceClaims 'claim-0', request 'req': DeviceClass 'missing' does not exist in the member",
            id="a class the member does not have is named",
        ),
        pytest.param(
            claiming("fancy-class"),
            "resourceClaims 'claim-0', request 'req': DeviceClass 'fancy' has a selector placement does not "
            'evaluate yet (device.attributes["x"].y)',
            id="a class selector placement cannot evaluate refuses the claim, not placed blind",
        ),
        pytest.param(
            claiming("picky"),
            "resourceClaims 'claim-0', request 'req': it sets selectors, which placement does not evaluate",
            id="a request's own selectors refuse the claim",
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
        "2 claimable DRA devices free on 1 schedulable node publishing devices; a replica claims 3 "
        "gpu.example.com devices, 0 of 1 replicas fit (at most 0 on one node)"
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
