"""Data-aware placement through the operator: east data runs west only when west is cheaper by more.

member-1 (cn-east) and member-2 (cn-west) each declare a store with an egress price; member-2's
cores are made cheaper. The pool weighs price alone, so the choice is the money comparison: the
compute saved in the west against the egress of moving the data out of cn-east's store. The tasks
are suspended: their offers, written by the operator through the real API server, are the ranking
placement made, with each identifier's data ETA and cost.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from computenet.testing import devenv
from computenet.testing.federation import Cluster
from support.tasks import apply, status
from support.timeouts import STATE_S
from support.wait import eventually

LABEL = "data-placement.computenet.io/member"
MEMBERS = ("member-1", "member-2")
EGRESS = {"member-1": 0.08, "member-2": 0.05}
"""USD per GiB moved out of each member's region's store (cn-east, cn-west)."""
WEST_CORE_HOUR = 0.01
"""member-2's cores, four times cheaper than member-1's 0.04: 4 cores save 0.12 USD an hour."""
GIB = 1 << 30


def storage(member: str) -> dict[str, Any]:
    region = {"member-1": "cn-east", "member-2": "cn-west"}[member]
    return {
        "endpoint": f"http://store.{region}.invalid:8333",
        "bucket": f"{region}-data",
        "secretRef": {"name": f"store-{region}", "namespace": "computenet-system"},
        "egressPricePerGiB": EGRESS[member],
    }


def spec_of(hub: Cluster, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(hub.kubectl("get", "computeidentifier", name, "-o", "json").stdout)["spec"]
    return spec


def patch(hub: Cluster, name: str, spec: dict[str, Any]) -> None:
    hub.kubectl("patch", "computeidentifier", name, "--type=merge", "-p", json.dumps({"spec": spec}))


@pytest.fixture(scope="module")
def pool(operator: devenv.OperatorProcess, hub: Cluster) -> Iterator[str]:
    """A pool of member-1 and member-2 that weighs price alone; their stores and prices set for the test."""
    before = {name: spec_of(hub, name) for name in MEMBERS}
    for name in MEMBERS:
        hub.kubectl("label", "computeidentifier", name, f"{LABEL}=true", "--overwrite")
        patch(hub, name, {"storage": storage(name)})
    west_pricing = {**before["member-2"]["pricing"], "perCpuCoreHour": WEST_CORE_HOUR}
    patch(hub, "member-2", {"pricing": west_pricing})
    name = f"data-{uuid.uuid4().hex[:5]}"
    weights = {"fit": 0, "price": 100, "locality": 0, "reliability": 0, "affinity": 0}
    devenv.apply(
        hub,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        {
            "apiVersion": "computenet.io/v1alpha1",
            "kind": "ComputePool",
            "metadata": {"name": name},
            "spec": {"identifierSelector": {"matchLabels": {LABEL: "true"}}, "placement": {"weights": weights}},
        },
    )
    try:
        yield name
    finally:
        hub.kubectl("delete", "namespace", name, "--wait=false")
        hub.kubectl("delete", "computepool", name, "--wait=false")
        for member, spec in before.items():
            patch(hub, member, {"storage": spec.get("storage"), "pricing": spec["pricing"]})
            hub.kubectl("label", "computeidentifier", member, f"{LABEL}-")


def data_task(name: str, pool: str, data: dict[str, Any]) -> dict[str, Any]:
    container = {"name": "main", "image": "busybox", "resources": {"requests": {"cpu": "4", "memory": "1Gi"}}}
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": pool},
        "spec": {
            "pool": pool,
            "suspend": True,
            "resources": {"cpu": "4", "memory": "1Gi"},
            "data": data,
            "template": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container]}}}},
        },
    }


def offers_of(hub: Cluster, name: str, pool: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = status(hub, name, pool).get("offers") or []
    return found


@pytest.mark.parametrize(
    ("size", "first", "second"),
    [
        pytest.param("1Gi", "member-2", "member-1", id="0.12 saved an hour beats 0.08 of egress: the task goes west"),
        pytest.param("2Gi", "member-1", "member-2", id="0.12 saved does not pay 0.16 of egress: it stays east"),
    ],
)
def test_east_data_goes_west_only_when_west_is_cheaper_by_more_than_moving_it(
    hub: Cluster, pool: str, size: str, first: str, second: str
) -> None:
    name = f"east-data-{size.lower()}"
    apply(hub, data_task(name, pool, {"region": "cn-east", "size": size}))
    offers = eventually(lambda: len(o := offers_of(hub, name, pool)) == 2 and o, timeout=STATE_S)
    assert [o["identifier"] for o in offers] == [first, second]
    by_name = {o["identifier"]: o for o in offers}
    moved = int(size[0]) * GIB
    east, west = by_name["member-1"], by_name["member-2"]
    assert (east["dataBytes"], east["dataTransferSeconds"], east["dataCost"]) == (0, 0.0, 0.0)
    assert (west["dataBytes"], west["dataCost"], west["dataCurrency"]) == (moved, round(moved / GIB * 0.08, 4), "USD")
    assert west["dataTransferSeconds"] == pytest.approx(moved * 8 / 10e9, abs=0.1)  # both ends declare 10 Gbit/s


def test_a_transfer_cap_leaves_out_the_identifiers_beyond_it_naming_the_figure(hub: Cluster, pool: str) -> None:
    name = "capped"
    apply(hub, data_task(name, pool, {"region": "cn-east", "size": "1Gi", "maxTransferSeconds": 0}))
    st = eventually(
        lambda: (s := status(hub, name, pool)).get("offers") and s.get("explanation") and s, timeout=STATE_S
    )
    assert [o["identifier"] for o in st["offers"]] == ["member-1"]
    (rejected,) = st["explanation"]["rejected"]
    assert (rejected["identifier"], rejected["filter"], rejected["reason"]) == (
        "member-2",
        "MaxTransfer",
        "TransferAboveMax",
    )
    assert rejected["message"] == "data transfer 1 s > maxTransferSeconds 0 (1.0 GiB from cn-east)"


def test_caps_without_a_data_location_are_refused_by_the_api_server(hub: Cluster, pool: str) -> None:
    manifest = data_task("no-location", pool, {"maxDataCost": 5})
    result = hub.kubectl("apply", "--dry-run=server", "-f", "-", input=json.dumps(manifest), check=False)
    assert result.returncode != 0
    assert "maxTransferSeconds and maxDataCost cap moving the data: set spec.data.region or spec.data.inputs" in (
        result.stderr
    )
