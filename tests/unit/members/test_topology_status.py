"""An identifier tells its declared topology levels' domains in its status: how many, and the roomiest."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from computenet.api.identifier import IdentifierTopology, TopologyDomains
from computenet.members.capacity import LevelDomains, summarize
from computenet.members.facts import NodeFacts
from computenet.members.identifier_status import identifier_status
from computenet.placement.devices import NodeDevices

H100 = "NVIDIA-H100-80GB-HBM3"
RACK, CLIQUE = "topology.computenet.io/rack", "nvidia.com/gpu.clique"
LEVELS = (("rack", RACK), ("clique", CLIQUE))


def h100(name: str, rack: str, clique: str | None = None, *, ready: bool = True, **extra: Any) -> NodeFacts:
    labels = {"nvidia.com/gpu.product": H100, RACK: rack, **({CLIQUE: clique} if clique else {})}
    allocatable = {"nvidia.com/gpu": 8, "pods": 110, **extra.get("allocatable", {})}
    return NodeFacts(name, labels, allocatable, allocatable, (), ready, False, extra.get("devices", ()))


NODES = [
    h100("a", "r0", "c0"),
    h100("b", "r0", "c0"),
    h100("c", "r0", "c1"),
    h100("d", "r1"),  # no clique label: in no clique domain
    h100("e", "r1", ready=False),  # its GPUs are not free, and it has no room
]
USED = {"a": {"nvidia.com/gpu": 8, "pods": 1}, "c": {"nvidia.com/gpu": 2, "pods": 1}}


def counted(nodes: list[NodeFacts], levels: tuple[tuple[str, str], ...] = LEVELS) -> list[LevelDomains]:
    cap = summarize(
        nodes, lambda n: USED.get(n, {}), lambda labels, _: labels.get("nvidia.com/gpu.product"), None, levels
    )
    return cap.topology


def test_each_level_counts_its_domains_and_the_roomiest() -> None:
    assert counted(NODES) == [
        LevelDomains("rack", RACK, 2, 14, 3),  # r0: 0 + 8 + 6 free, a, b and c have room; r1: 8 free on d
        LevelDomains("clique", CLIQUE, 2, 8, 2),  # c0: 0 + 8 (a and b), c1: 6
    ]


def test_dra_devices_free_in_a_domain_count_too() -> None:
    dra = h100("f", "r2", devices=(NodeDevices("gpu.example.com", H100, 4, 3),), allocatable={"nvidia.com/gpu": 0})
    assert counted([dra], (("rack", RACK),)) == [LevelDomains("rack", RACK, 1, 3, 1)]


def test_without_levels_the_status_says_nothing_of_topology() -> None:
    assert counted(NODES, ()) == []


def test_the_status_shows_the_levels_coarsest_first() -> None:
    cap = summarize(NODES, lambda n: USED.get(n, {}), lambda labels, _: None, None, LEVELS)
    now = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
    status = identifier_status(generation=1, previous=(), told=(), cap=cap, link=None, pricing=None, now=now)
    assert status.topology == [
        TopologyDomains(level="rack", node_label=RACK, domains=2, largest_free_accelerators=14, largest_free_nodes=3),
        TopologyDomains(
            level="clique", node_label=CLIQUE, domains=2, largest_free_accelerators=8, largest_free_nodes=2
        ),
    ]
    shown = status.model_dump(by_alias=True, exclude_none=True)["topology"][0]
    assert shown == {
        "level": "rack",
        "nodeLabel": RACK,
        "domains": 2,
        "largestFreeAccelerators": 14,
        "largestFreeNodes": 3,
    }


@pytest.mark.parametrize(
    ("levels", "words"),
    [
        pytest.param(
            [{"name": "rack", "nodeLabel": RACK}, {"name": "rack", "nodeLabel": CLIQUE}],
            "level names must be unique",
            id="one name twice",
        ),
        pytest.param(
            [{"name": "rack", "nodeLabel": RACK}, {"name": "pod", "nodeLabel": RACK}],
            "each node label names one level",
            id="one label twice",
        ),
        pytest.param([{"name": "Rack", "nodeLabel": RACK}], "name", id="a name that is not a DNS label"),
        pytest.param([{"name": "rack", "nodeLabel": "not a label!"}], "nodeLabel", id="not a label key"),
        pytest.param([], "levels", id="no level"),
    ],
)
def test_levels_that_name_no_one_ladder_are_refused_naming_the_field(levels: list[dict[str, str]], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        IdentifierTopology.model_validate({"levels": levels})


def test_levels_are_read_coarsest_first() -> None:
    topology = IdentifierTopology.model_validate(
        {
            "levels": [
                {"name": "block", "nodeLabel": "cloud.google.com/gce-topology-block"},
                {"name": "rack", "nodeLabel": RACK},
            ]
        }
    )
    assert [(lv.name, lv.node_label) for lv in topology.levels] == [
        ("block", "cloud.google.com/gce-topology-block"),
        ("rack", RACK),
    ]
