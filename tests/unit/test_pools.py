"""ComputePool status: which identifiers a pool selects, the sum of its Ready members, their worth.

Identifiers are real `TrackedIdentifier`s; a Ready one holds a `MemberConnection` without watches
that is reachable (the state a synced member connection is in), an unready one a problem or no
connection. Capacity is given per identifier, as `aggregate` takes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from computenet.api.constants import COMPUTE_CLASS_LABEL, PROVIDER_LABEL, REGION_LABEL, ZONE_LABEL, Reason
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.api.pool import ComputePoolSpec, TaskCounts
from computenet.members.capacity import Capacity, ModelCapacity
from computenet.members.connection import MemberConnection
from computenet.members.identifier_status import Problem
from computenet.members.identifiers import TrackedIdentifier
from computenet.pools import aggregate, pool_selector, pool_status, selection_labels

GIB = 1 << 30
H100 = "NVIDIA-H100-80GB-HBM3"
PEAKS: dict[str, Mapping[str, float]] = {H100: {"fp16": 989.5, "fp64": 67.0}}


def spec(provider: str = "east-cloud", region: str = "cn-east", zone: str | None = None) -> ComputeIdentifierSpec:
    return ComputeIdentifierSpec.model_validate(
        {
            "uri": f"cpi://{provider}/{region}/x",
            "provider": provider,
            "region": region,
            **({"zone": zone} if zone else {}),
            "computeClass": "ai",
            "connection": {"secretRef": {"name": "kubeconfig", "namespace": "computenet-system"}},
        }
    )


def reachable() -> MemberConnection:
    conn = MemberConnection("key", "https://member.example", None, watch=False)  # type: ignore[arg-type]
    conn.health.reachable = True
    return conn


def identifier(
    name: str, *, ready: bool = True, labels: dict[str, str] | None = None, **attrs: Any
) -> TrackedIdentifier:
    item = TrackedIdentifier(name, spec=spec(**attrs), labels=dict(labels or {}))
    if ready:
        item.connection = reachable()
    else:
        item.problem = Problem(Reason.UNREACHABLE, "connection refused")
    return item


def capacity(
    cpu: int = 8000, memory: int = 32 * GIB, gpus: int = 0, free: int | None = None, slot: int = 0
) -> Capacity:
    amounts = {"cpu": cpu, "memory": memory}
    cap = Capacity(
        nodes_total=1,
        nodes_ready=1,
        nodes_schedulable=1,
        capacity=dict(amounts),
        allocatable=dict(amounts),
        allocated={"cpu": 1000, "memory": GIB},
        free={"cpu": cpu - 1000, "memory": memory - GIB},
    )
    if gpus:
        left = gpus if free is None else free
        cap.accelerators[H100] = ModelCapacity(
            resource="nvidia.com/gpu",
            capacity=gpus,
            allocatable=gpus,
            allocated=gpus - left,
            free=left,
            largest_free_slot=slot,
        )
        cap.devices_total, cap.devices_free = gpus, left
    return cap


EVERY = {"matchExpressions": [{"key": PROVIDER_LABEL, "operator": "Exists"}]}
"""A selector on an attribute every identifier has (an empty selector is refused by the API)."""


def pool(selector: dict[str, Any]) -> ComputePoolSpec:
    return ComputePoolSpec.model_validate({"identifierSelector": selector})


def totals_of(selector: dict[str, Any], *items: tuple[TrackedIdentifier, Capacity]) -> Any:
    caps = {i.name: c for i, c in items}
    return aggregate(pool_selector(pool(selector)), [i for i, _ in items], lambda i: caps[i.name], PEAKS.get)


# ---- selection ----


def test_an_identifiers_attributes_are_labels_a_pool_may_select_on() -> None:
    labels = selection_labels(identifier("a", labels={"team": "ml"}, zone="cn-east-1a"))
    assert labels == {
        "team": "ml",
        PROVIDER_LABEL: "east-cloud",
        REGION_LABEL: "cn-east",
        COMPUTE_CLASS_LABEL: "ai",
        ZONE_LABEL: "cn-east-1a",
    }


def test_a_label_the_identifier_carries_wins_over_its_attribute() -> None:
    labels = selection_labels(identifier("a", labels={REGION_LABEL: "elsewhere"}))
    assert labels[REGION_LABEL] == "elsewhere"
    assert ZONE_LABEL not in labels


def test_the_gpu_summary_counts_the_devices_behind_slices_not_the_slices() -> None:
    cap = capacity()
    mig = "NVIDIA-A100-SXM4-80GB-MIG-1g.10gb"
    cap.accelerators[mig] = ModelCapacity(
        resource="nvidia.com/mig-1g.10gb", allocatable=28, free=21, partition="1g.10gb"
    )
    cap.devices_total, cap.devices_free = 4, 3
    status, _ = pool_status(totals_of(EVERY, (identifier("a"), cap)), TaskCounts())
    assert status.accelerators is not None
    assert status.accelerators[mig].allocatable == 28
    assert status.summary is not None
    assert status.summary.gpus == "3/4"


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        pytest.param(EVERY, ["east", "west", "down"], id="Exists on the provider selects every identifier"),
        pytest.param({"matchLabels": {REGION_LABEL: "cn-west"}}, ["west"], id="matchLabels on an attribute"),
        pytest.param({"matchLabels": {"team": "ml"}}, ["east", "down"], id="matchLabels on a label"),
        pytest.param(
            {"matchExpressions": [{"key": PROVIDER_LABEL, "operator": "In", "values": ["west-cloud"]}]},
            ["west"],
            id="In on the provider",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]},
            ["west"],
            id="DoesNotExist on a label",
        ),
        pytest.param({"matchLabels": {"team": "nobody"}}, [], id="a selector that matches nothing"),
    ],
)
def test_the_pool_counts_the_identifiers_its_selector_matches(selector: dict[str, Any], selected: list[str]) -> None:
    totals = totals_of(
        selector,
        (identifier("east", labels={"team": "ml"}), capacity()),
        (identifier("west", region="cn-west", provider="west-cloud"), capacity()),
        (identifier("down", ready=False, labels={"team": "ml"}), capacity()),
    )
    assert totals.member_names == selected
    assert totals.members_total == len(selected)


def test_an_identifier_whose_spec_does_not_parse_is_not_a_member() -> None:
    broken = TrackedIdentifier("broken", spec=None)
    broken.connection = reachable()
    totals = totals_of(EVERY, (broken, capacity()), (identifier("a"), capacity()))
    assert (totals.member_names, totals.members_total) == (["a"], 1)


# ---- totals ----


@pytest.mark.parametrize(
    ("unready", "cap"),
    [
        pytest.param(identifier("u", ready=False), capacity(), id="an unreachable member"),
        pytest.param(TrackedIdentifier("u", spec=spec()), capacity(), id="a member waiting for its kubeconfig"),
        pytest.param(
            identifier("u"),
            Capacity(nodes_total=2, capacity={"cpu": 4000}, allocatable={"cpu": 4000}, free={"cpu": 4000}),
            id="a member with no schedulable node",
        ),
    ],
)
def test_only_ready_members_add_capacity(unready: TrackedIdentifier, cap: Capacity) -> None:
    totals = totals_of(EVERY, (identifier("a"), capacity(cpu=8000)), (unready, cap))
    assert (totals.members_ready, totals.members_total) == (1, 2)
    assert totals.resources["allocatable"]["cpu"] == 8000


def test_resources_add_up_per_view_over_ready_members() -> None:
    totals = totals_of(EVERY, (identifier("a"), capacity(cpu=8000)), (identifier("b"), capacity(cpu=16000)))
    assert totals.resources == {
        "capacity": {"cpu": 24000, "memory": 64 * GIB},
        "allocatable": {"cpu": 24000, "memory": 64 * GIB},
        "allocated": {"cpu": 2000, "memory": 2 * GIB},
        "free": {"cpu": 22000, "memory": 62 * GIB},
    }


def test_accelerators_add_up_per_model_and_the_largest_free_slot_is_the_largest_of_any_member() -> None:
    totals = totals_of(
        EVERY,
        (identifier("a"), capacity(gpus=8, free=2, slot=2)),
        (identifier("b"), capacity(gpus=8, free=6, slot=4)),
    )
    assert totals.accelerators[H100] == {
        "capacity": 16,
        "allocatable": 16,
        "allocated": 8,
        "free": 8,
        "largestFreeSlot": 4,
    }
    assert totals.resource_of_model == {H100: "nvidia.com/gpu"}


def test_tflops_are_peak_per_device_times_allocatable_and_free_devices() -> None:
    totals = totals_of(EVERY, (identifier("a"), capacity(gpus=8, free=2)))
    assert totals.tflops == {"fp16": pytest.approx(8 * 989.5), "fp64": pytest.approx(8 * 67.0)}
    assert totals.tflops_free == {"fp16": pytest.approx(2 * 989.5), "fp64": pytest.approx(2 * 67.0)}
    assert totals.unknown_models == set()


def test_a_model_the_catalogue_does_not_know_is_listed_and_left_out_of_the_tflops() -> None:
    cap = capacity()
    cap.accelerators["Mystery-X1"] = ModelCapacity(resource="example.com/npu", capacity=4, allocatable=4, free=4)
    totals = totals_of(EVERY, (identifier("a"), cap))
    assert totals.unknown_models == {"Mystery-X1"}
    assert totals.tflops == {}
    assert totals.accelerators["Mystery-X1"]["allocatable"] == 4


# ---- status ----


def test_the_status_formats_quantities_sums_gpus_and_rounds_tflops_to_a_tenth() -> None:
    totals = totals_of(
        EVERY, (identifier("a"), capacity(cpu=8500, gpus=8, free=3)), (identifier("down", ready=False), capacity())
    )
    totals.tflops["fp16"] = 7916.04
    status, _ = pool_status(totals, TaskCounts(running=2))
    body = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert body["members"] == {"ready": 1, "total": 2}
    assert body["resources"]["allocatable"] == {"cpu": "8500m", "memory": "32Gi"}
    assert body["accelerators"][H100]["resource"] == "nvidia.com/gpu"
    assert body["tflops"]["fp16"] == 7916.0
    assert body["tasks"] == {"queued": 0, "running": 2}
    assert body["summary"] == {"members": "1/2", "gpus": "3/8"}
    assert body["unknownModels"] == []


@pytest.mark.parametrize(
    ("items", "state", "reason", "message"),
    [
        pytest.param(
            [identifier("a"), identifier("b", ready=False)],
            True,
            Reason.READY,
            "1/2 members Ready",
            id="any ready member",
        ),
        pytest.param(
            [identifier("a", ready=False)],
            False,
            Reason.NO_READY_MEMBERS,
            "none of 1 members is Ready",
            id="members but none ready",
        ),
        pytest.param(
            [], False, Reason.NO_READY_MEMBERS, "the identifierSelector matches no identifier", id="no member"
        ),
    ],
)
def test_the_pool_is_ready_when_any_member_is(
    items: list[TrackedIdentifier], state: bool, reason: str, message: str
) -> None:
    totals = totals_of(EVERY, *((i, capacity()) for i in items))
    _, ready = pool_status(totals, TaskCounts())
    assert (ready.type, ready.status, ready.reason, ready.message) == ("Ready", state, reason, message)
