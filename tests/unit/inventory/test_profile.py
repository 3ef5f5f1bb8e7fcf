"""What a ClusterProfile says about an identifier, and when the published one must change."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from computenet.api.conditions import read_conditions, to_json
from computenet.inventory.model import LABEL_CLUSTER_MANAGER, ClusterProfile
from computenet.inventory.profile import (
    IdentifierFacts,
    conditions,
    desired,
    metadata_differs,
    price_text,
    properties,
    published,
    status_differs,
)

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=5)

H100 = IdentifierFacts(
    name="member-1",
    uri="cpi://east-cloud/cn-east/member-1",
    provider="east-cloud",
    region="cn-east",
    zone="cn-east-a",
    compute_class="ai",
    ready=True,
    reachable=True,
    accelerators={"NVIDIA-H100-80GB-HBM3": 16, "NVIDIA-A100": 0},
    currency="USD",
    price_per_accelerator_hour={"NVIDIA-H100-80GB-HBM3": 2.5},
    price_per_cpu_core_hour=0.04,
    price_per_gib_hour=0.005,
)
BARE = IdentifierFacts(
    name="edge-1",
    uri="cpi://edge/cn-west/edge-1",
    provider="edge",
    region="cn-west",
    compute_class="edge",
    ready=True,
    reachable=True,
)


def test_an_identifier_with_accelerators_and_prices_states_them_all() -> None:
    assert {p.name: p.value for p in properties(H100)} == {
        "computenet.io/uri": "cpi://east-cloud/cn-east/member-1",
        "computenet.io/provider": "east-cloud",
        "computenet.io/region": "cn-east",
        "computenet.io/zone": "cn-east-a",
        "computenet.io/compute-class": "ai",
        "computenet.io/accelerator-models": "NVIDIA-H100-80GB-HBM3",
        "computenet.io/accelerators.NVIDIA-H100-80GB-HBM3": "16",
        "computenet.io/currency": "USD",
        "computenet.io/price.accelerator-hour.NVIDIA-H100-80GB-HBM3": "2.5",
        "computenet.io/price.cpu-core-hour": "0.04",
        "computenet.io/price.gib-hour": "0.005",
    }


def test_what_an_identifier_does_not_state_is_left_out_not_empty() -> None:
    assert [p.name for p in properties(BARE)] == [
        "computenet.io/compute-class",
        "computenet.io/provider",
        "computenet.io/region",
        "computenet.io/uri",
    ]


def test_properties_are_sorted_by_name_so_equal_facts_give_equal_lists() -> None:
    names = [p.name for p in properties(H100)]
    assert names == sorted(names)


@pytest.mark.parametrize(
    ("price", "text"),
    [
        pytest.param(2.5, "2.5", id="a half"),
        pytest.param(0.04, "0.04", id="cents"),
        pytest.param(3.0, "3", id="a whole number has no decimals"),
        pytest.param(1_000_000.0, "1000000", id="no exponent for large prices"),
        pytest.param(0.00001, "0.00001", id="no exponent for tiny prices"),
    ],
)
def test_price_text(price: float, text: str) -> None:
    assert price_text(price) == text


@pytest.mark.parametrize(
    ("reachable", "expected"),
    [
        pytest.param(True, "True", id="answering member: control plane healthy"),
        pytest.param(False, "False", id="silent member: control plane not healthy"),
        pytest.param(None, "Unknown", id="not known yet: Unknown"),
    ],
)
def test_control_plane_healthy_follows_reachable(reachable: bool | None, expected: str) -> None:
    found = {c["type"]: c for c in to_json(conditions(replace(H100, reachable=reachable), "computenet", None, NOW))}
    assert found["ControlPlaneHealthy"]["status"] == expected
    assert found["Joined"]["status"] == "True"


def test_a_condition_keeps_its_transition_time_while_its_status_holds() -> None:
    first = conditions(H100, "computenet", None, NOW)
    again = {c["type"]: c for c in to_json(conditions(H100, "computenet", first, LATER))}
    down = {c["type"]: c for c in to_json(conditions(replace(H100, reachable=False), "computenet", first, LATER))}
    assert again["ControlPlaneHealthy"]["lastTransitionTime"] == "2026-11-30T12:00:00Z"
    assert down["ControlPlaneHealthy"]["lastTransitionTime"] == "2026-11-30T12:05:00Z"
    assert down["Joined"]["lastTransitionTime"] == "2026-11-30T12:00:00Z"


def test_another_writers_conditions_are_kept() -> None:
    theirs = {
        "type": "Scheduled",
        "status": "True",
        "reason": "X",
        "message": "",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    found = {c.type for c in conditions(H100, "computenet", read_conditions({"conditions": [theirs]}), NOW)}
    assert found == {"ControlPlaneHealthy", "Joined", "Scheduled"}


def test_the_profile_carries_both_marks_of_its_manager() -> None:
    profile = desired(H100, manager="computenet", namespace="fleet", previous=None, now=NOW)
    assert profile.metadata.labels[LABEL_CLUSTER_MANAGER] == "computenet"
    assert profile.spec.cluster_manager.name == "computenet"
    assert (profile.metadata.name, profile.metadata.namespace) == ("member-1", "fleet")
    assert profile.owned_by("computenet")
    assert not profile.owned_by("other")


@pytest.mark.parametrize(
    ("ready", "has_profile", "expected"),
    [
        pytest.param(True, False, True, id="ready and unpublished: published"),
        pytest.param(False, False, False, id="never ready: not published"),
        pytest.param(False, True, True, id="ready once, now not: the profile stays and says so"),
        pytest.param(True, True, True, id="ready and published: stays"),
    ],
)
def test_published(ready: bool, has_profile: bool, expected: bool) -> None:
    assert published(replace(H100, ready=ready), has_profile) is expected


def _published(facts: IdentifierFacts, at: dt.datetime = NOW) -> ClusterProfile:
    return desired(facts, manager="computenet", namespace="fleet", previous=None, now=at)


@pytest.mark.parametrize(
    ("now_facts", "differs"),
    [
        pytest.param(H100, False, id="same facts later: nothing to write (times do not count)"),
        pytest.param(replace(H100, price_per_cpu_core_hour=0.05), True, id="a price changed"),
        pytest.param(replace(H100, accelerators={"NVIDIA-H100-80GB-HBM3": 8}), True, id="a node with GPUs left"),
        pytest.param(replace(H100, reachable=False), True, id="the member stopped answering"),
        pytest.param(replace(H100, ready=False), False, id="readiness alone is not published"),
    ],
)
def test_status_differs(now_facts: IdentifierFacts, differs: bool) -> None:
    current = _published(H100)
    wanted = desired(now_facts, manager="computenet", namespace="fleet", previous=current, now=LATER)
    assert status_differs(current, wanted) is differs


def test_a_label_removed_by_someone_is_put_back() -> None:
    current = _published(H100)
    edited = current.model_copy(deep=True)
    edited.metadata.labels.pop("computenet.io/identifier")
    assert metadata_differs(edited, current)
    assert not metadata_differs(current, current)
