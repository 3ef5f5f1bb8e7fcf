"""The metrics collector's views of identifiers and pools, read from the runtime's own state.

Real identifiers over a member state filled from node objects as a member's API server returns
them (`members/builders.py`); the member connection has no watches and is marked reachable.
"""

from __future__ import annotations

import pytest
from members.builders import NodeBuilder, node

from computenet.api.constants import PROVIDER_LABEL
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.api.pool import ComputePoolSpec
from computenet.members.connection import MemberConnection
from computenet.members.facts import node_facts
from computenet.members.identifier_status import Problem
from computenet.members.identifiers import IdentifierSet
from computenet.members.registry import MemberRegistry
from computenet.members.secrets import SecretCache
from computenet.metric_views import identifier_views, pool_views
from computenet.metrics import AcceleratorView
from computenet.placement.accelerators import lookup

GIB = 1 << 30
H100 = "NVIDIA-H100-80GB-HBM3"


def spec(provider: str, region: str) -> ComputeIdentifierSpec:
    return ComputeIdentifierSpec.model_validate(
        {
            "uri": f"cpi://{provider}/{region}/x",
            "provider": provider,
            "region": region,
            "computeClass": "ai",
            "connection": {"secretRef": {"name": "kubeconfig", "namespace": "computenet-system"}},
        }
    )


def member(*nodes: NodeBuilder, reachable: bool = True) -> MemberConnection:
    conn = MemberConnection("key", "https://member.example", None, watch=False)  # type: ignore[arg-type]
    conn.health.reachable = reachable
    conn.state.nodes.update({n.obj["metadata"]["name"]: node_facts(n.build()) for n in nodes})
    return conn


def identifiers(**members: tuple[str, MemberConnection | None]) -> IdentifierSet:
    """name=(provider, member connection) for each identifier, all in region cn-east."""
    out = IdentifierSet(MemberRegistry(), SecretCache(), "computenet-system")
    for name, (provider, conn) in members.items():
        item = out.track(name)
        item.spec = spec(provider, "cn-east")
        item.attach(conn)
    return out


def test_an_identifier_view_shows_its_nodes_resources_in_base_units_and_accelerators() -> None:
    ids = identifiers(
        a=("east-cloud", member(node("n1").cpu("8").gpus(8, H100), node("n2").cpu("500m").not_ready())),
    )
    (view,) = identifier_views(ids)
    assert (view.name, view.region, view.ready, view.reachable) == ("a", "cn-east", True, True)
    assert view.nodes == {"total": 2, "ready": 1, "schedulable": 1}
    assert view.resources.allocatable["cpu"] == 8.5
    assert view.resources.allocatable["memory"] == 64.0 * GIB
    assert view.accelerators == {H100: AcceleratorView(8, 8, 0, 8, 8)}
    assert (view.watch_restarts, view.watch_errors) == (0, 0)


@pytest.mark.parametrize(
    ("conn", "ready", "reachable"),
    [
        pytest.param(member(node("n1"), reachable=False), False, False, id="an unreachable member: neither"),
        pytest.param(member(node("n1").cordoned()), False, True, id="no schedulable node: reachable, not ready"),
        pytest.param(None, False, False, id="no connection yet: neither"),
    ],
)
def test_an_identifier_view_says_whether_it_is_ready_and_reachable(
    conn: MemberConnection | None, ready: bool, reachable: bool
) -> None:
    (view,) = identifier_views(identifiers(a=("east-cloud", conn)))
    assert (view.ready, view.reachable) == (ready, reachable)


def test_an_identifier_without_a_parsed_spec_has_no_view() -> None:
    ids = identifiers(a=("east-cloud", member(node("n1"))))
    broken = ids.track("broken")
    broken.problem = Problem("InvalidSpec", "spec does not parse")
    assert [v.name for v in identifier_views(ids)] == ["a"]


def pool(provider: str) -> ComputePoolSpec:
    return ComputePoolSpec.model_validate({"identifierSelector": {"matchLabels": {PROVIDER_LABEL: provider}}})


def test_a_pool_view_sums_its_ready_members_and_prices_their_devices_from_the_catalogue() -> None:
    ids = identifiers(
        a=("east-cloud", member(node("n1").cpu("8").gpus(8, H100))),
        b=("east-cloud", member(node("n2").cpu("4").gpus(4, H100))),
        down=("east-cloud", member(node("n3").cpu("64"), reachable=False)),
        other=("west-cloud", member(node("n4").cpu("16"))),
    )
    views = {v.name: v for v in pool_views({"east": pool("east-cloud"), "west": pool("west-cloud")}, ids)}
    east = views["east"]
    assert (east.members_ready, east.members_total) == (2, 3)
    assert east.resources.allocatable["cpu"] == 12.0
    assert east.accelerators[H100] == AcceleratorView(12, 12, 0, 12, 8)
    known = lookup(H100)
    assert known is not None
    assert east.tflops == pytest.approx({p: 12 * v for p, v in known.tflops.items()})
    assert east.unknown_models == 0
    assert (views["west"].members_ready, views["west"].resources.allocatable["cpu"]) == (1, 16.0)


def test_a_pool_view_counts_the_devices_of_models_the_catalogue_does_not_know() -> None:
    ids = identifiers(a=("east-cloud", member(node("n1").gpus(4, "Mystery-X1"), node("n2").gpus(8, H100))))
    (view,) = pool_views({"east": pool("east-cloud")}, ids)
    assert view.unknown_models == 4
    assert "Mystery-X1" in view.accelerators


def test_a_pool_that_selects_nothing_has_an_empty_view() -> None:
    (view,) = pool_views({"nobody": pool("nobody")}, identifiers(a=("east-cloud", member(node("n1")))))
    assert (view.members_ready, view.members_total, view.tflops, view.accelerators) == (0, 0, {}, {})
    assert view.resources.allocatable == {}
