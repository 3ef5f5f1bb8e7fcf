"""The placement view rebuilds an identifier's placement record only when what it is built from changed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from placement.builders import selectors

from computenet.api.identifier import ComputeIdentifierSpec
from computenet.members.dra_state import CatalogSink
from computenet.members.facts import NodeFacts
from computenet.members.identifiers import TrackedIdentifier
from computenet.members.pull import PullConnection
from computenet.members.report import ReportFacts
from computenet.placement import Store
from computenet.placement.devices import DeviceClass, NodeDevices
from computenet.placement.dra_cel import DeviceShape
from computenet.tasks import placement_view as view_module
from computenet.tasks.placement_view import PlacementView

T0 = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


def spec(name: str) -> ComputeIdentifierSpec:
    return ComputeIdentifierSpec.model_validate(
        {
            "uri": f"cpi://acme/cn-east/{name}",
            "provider": "acme",
            "region": "cn-east",
            "computeClass": "ai",
            "connection": {"agent": {"namespace": "provider-acme", "name": f"agent-{name}"}},
        }
    )


@dataclass
class Identifiers:
    items: dict[str, TrackedIdentifier] = field(default_factory=dict)


@dataclass
class Registry:
    connections: list[PullConnection] = field(default_factory=list)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the identifiers whose placement record was built, in order."""
    names: list[str] = []
    real = view_module.placement_identifier

    def counting(item: TrackedIdentifier, *args: Any) -> Any:
        names.append(item.name)
        return real(item, *args)

    monkeypatch.setattr(view_module, "placement_identifier", counting)
    return names


def test_only_identifiers_whose_inputs_changed_are_rebuilt(built: list[str]) -> None:
    now = [T0]
    identifiers, registry = Identifiers(), Registry()
    for name in ("a", "b", "c"):
        conn = PullConnection("provider-acme", f"agent-{name}", None, clock=lambda: now[0])  # type: ignore[arg-type]
        conn.jobs.replace({})
        conn.observe_lease(T0, 6)
        conn.apply_report(ReportFacts(T0, {}, {}))
        registry.connections.append(conn)
        item = TrackedIdentifier(name, spec=spec(name))
        item.attach(conn)
        identifiers.items[name] = item
    view = PlacementView(identifiers, registry, lambda: None)  # type: ignore[arg-type]

    first = view.snapshot()
    assert sorted(built) == ["a", "b", "c"]
    assert all(first.identifier(n).ready for n in "abc")

    built.clear()
    view.snapshot()
    assert built == []  # nothing changed: no record is rebuilt

    now[0] = T0 + dt.timedelta(seconds=7)
    conn_b = registry.connections[1]
    conn_b.check_lease()  # b's agent is lost
    later = view.snapshot()
    assert built == ["b"]
    assert not later.identifier("b").ready
    assert later.identifier("a").ready

    built.clear()
    identifiers.items["c"].spec = spec("c")  # a new spec, as configure sets it
    view.snapshot()
    assert built == ["c"]

    built.clear()
    del identifiers.items["a"]
    gone = view.snapshot()
    assert built == []
    assert "a" not in gone.index


STORAGE = {
    "endpoint": "http://store.cn-east.internal:8333",
    "bucket": "cn-east-data",
    "secretRef": {"name": "store-cn-east", "namespace": "computenet-system"},
    "egressPricePerGiB": 0.08,
}


@pytest.mark.parametrize(
    ("extra", "store"),
    [
        pytest.param({}, None, id="no storage: no store for placement to price"),
        pytest.param(
            {"storage": STORAGE},
            Store(0.08, "USD", "http://store.cn-east.internal:8333"),
            id="a store without pricing is priced in USD",
        ),
        pytest.param(
            {"storage": STORAGE, "pricing": {"currency": "EUR"}},
            Store(0.08, "EUR", "http://store.cn-east.internal:8333"),
            id="the egress price is in the identifier's pricing currency",
        ),
    ],
)
def test_an_identifiers_store_reaches_placement_with_its_egress_price(
    extra: dict[str, Any], store: Store | None
) -> None:
    conn = PullConnection("provider-acme", "agent-s", None, clock=lambda: T0)  # type: ignore[arg-type]
    given = ComputeIdentifierSpec.model_validate({**spec("s").model_dump(mode="json", exclude_none=True), **extra})
    item = TrackedIdentifier("s", spec=given)
    item.attach(conn)
    assert view_module.placement_identifier(item, given, conn).store == store  # type: ignore[arg-type]


def test_a_class_that_comes_to_serve_nvidia_gpu_reaches_the_nodes_whose_gpus_only_dra_publishes() -> None:
    """KEP-5004: the member's DeviceClasses decide which nodes offer nvidia.com/gpu; a class edit re-reads them."""
    driver = "gpu.example.com"
    identifiers, registry = Identifiers(), Registry()
    conn = PullConnection("provider-acme", "agent-a", None, clock=lambda: T0)  # type: ignore[arg-type]
    conn.jobs.replace({})
    conn.observe_lease(T0, 6)
    devices = (NodeDevices(driver, "NVIDIA-H100-80GB-HBM3", 4, 3, DeviceShape(driver)),)
    node = NodeFacts("dra-1", {}, {"cpu": 8000, "pods": 110}, {"cpu": 8000, "pods": 110}, (), True, False, devices)
    conn.apply_report(ReportFacts(T0, {"dra-1": node}, {}))
    conn.state.dra.devices = {"dra-1": devices}  # as the member's ResourceSlices counted them (`dra_state`)
    registry.connections.append(conn)
    item = TrackedIdentifier("a", spec=spec("a"))
    item.attach(conn)
    identifiers.items["a"] = item
    view = PlacementView(identifiers, registry, lambda: None)  # type: ignore[arg-type]

    before = view.snapshot()
    assert dict(before.nodes.served) == {}
    classes = CatalogSink(conn.state, "classes")
    classes.upsert("gpu", DeviceClass("gpu", selectors(f'device.driver == "{driver}"'), "", "nvidia.com/gpu"))
    after = view.snapshot()
    ((row, served),) = after.nodes.served.items()
    assert after.nodes.names[row] == "dra-1"
    assert (served.resource, served.device_class, served.total, served.free) == ("nvidia.com/gpu", "gpu", 4, 3)
    assert int(after.nodes.acc_alloc[row]) == 4
    classes.delete("gpu")
    assert dict(view.snapshot().nodes.served) == {}
