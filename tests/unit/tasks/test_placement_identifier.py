"""An identifier as placement reads it: prices and network as floats, usable or why not, the member's facts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from computenet.api.identifier import ComputeIdentifierSpec
from computenet.members.identifier_status import Problem
from computenet.members.identifiers import TrackedIdentifier
from computenet.members.pull import PullConnection
from computenet.placement import Network, Pricing, Store
from computenet.tasks.placement_identifier import (
    placement_identifier,
    placement_network,
    placement_pricing,
    placement_store,
)


def spec(**extra: Any) -> ComputeIdentifierSpec:
    return ComputeIdentifierSpec.model_validate(
        {
            "uri": "cpi://acme/cn-east/m0",
            "provider": "acme",
            "region": "cn-east",
            "zone": "cn-east-1a",
            "computeClass": "ai",
            "architectures": ["amd64"],
            "connection": {"agent": {"namespace": "provider-acme", "name": "agent-m0"}},
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("pricing", "want"),
    [
        pytest.param(None, None, id="no prices: placement knows no price"),
        pytest.param(
            {"currency": "USD", "perAcceleratorHour": {"NVIDIA-H100": 2.5}},
            Pricing("USD", None, None, {"NVIDIA-H100": 2.5}),
            id="device prices only: cpu and memory unpriced",
        ),
        pytest.param(
            {"currency": "EUR", "perCpuCoreHour": 0.04, "perGiBHour": 0.005},
            Pricing("EUR", 0.04, 0.005, {}),
            id="core and GiB hours as floats",
        ),
    ],
)
def test_prices(pricing: dict[str, Any] | None, want: Pricing | None) -> None:
    assert placement_pricing(spec(**({"pricing": pricing} if pricing else {})).pricing) == want


@pytest.mark.parametrize(
    ("network", "want"),
    [
        pytest.param(None, Network(), id="no network facts: empty"),
        pytest.param({"latencyMs": {"cn-west": 30}}, Network({"cn-west": 30.0}, None), id="latency in ms as floats"),
        pytest.param({"bandwidthGbps": 100.0}, Network({}, 100.0), id="bandwidth alone"),
    ],
)
def test_network(network: dict[str, Any] | None, want: Network) -> None:
    assert placement_network(spec(**({"network": network} if network else {}))) == want


STORE = {
    "endpoint": "https://s3.cn-east.example",
    "bucket": "staging",
    "secretRef": {"name": "store-keys", "namespace": "computenet-system"},
    "egressPricePerGiB": 0.02,
}


@pytest.mark.parametrize(
    ("extra", "want"),
    [
        pytest.param({}, None, id="no store near it: placement prices no transfer"),
        pytest.param(
            {"storage": STORE, "pricing": {"currency": "EUR"}},
            Store(0.02, "EUR", "https://s3.cn-east.example"),
            id="egress priced in the identifier's pricing currency",
        ),
        pytest.param(
            {"storage": STORE},
            Store(0.02, "USD", "https://s3.cn-east.example"),
            id="no pricing: egress in the default currency; the endpoint locates URI inputs in it",
        ),
    ],
)
def test_store(extra: dict[str, Any], want: Store | None) -> None:
    assert placement_store(spec(**extra)) == want


def test_an_identifier_is_usable_only_as_its_readiness_rule_says() -> None:
    conn = PullConnection("provider-acme", "agent-m0", None)  # type: ignore[arg-type]  # no client needed
    conn.state.synced = True
    conn.health.reachable = True
    conn.last_report = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    conn.jobs.replace({})  # as the agent's first report makes it
    item = TrackedIdentifier("m0", spec=spec())
    item.attach(conn)
    ident = placement_identifier(item, spec(), conn)
    assert (ident.ready, ident.not_ready_reason) == (True, "")
    assert (ident.provider, ident.region, ident.zone, ident.architectures) == (
        "acme",
        "cn-east",
        "cn-east-1a",
        ("amd64",),
    )
    assert ident.cluster == conn.key
    item.problem = Problem("InvalidSpec", "spec.uri: bad")
    assert (
        placement_identifier(item, spec(), conn).ready,
        placement_identifier(item, spec(), conn).not_ready_reason,
    ) == (
        False,
        "spec.uri: bad",
    )
    item.problem = None
    conn.health.reachable, conn.health.message = False, "no report for 60s"
    unreachable = placement_identifier(item, spec(), conn)
    assert (unreachable.ready, unreachable.not_ready_reason) == (False, "no report for 60s")
