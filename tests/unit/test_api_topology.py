"""spec.topology: one interconnect domain for all of a task's pods, required or preferred."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from tasks.builders import record

from computenet.api.task import ComputeTaskSpec, TopologyRequest
from computenet.placement import Topology
from computenet.tasks.demand import demand_of


def spec(topology: dict[str, Any]) -> ComputeTaskSpec:
    body = record().spec.model_dump(by_alias=True, exclude_none=True)
    return ComputeTaskSpec.model_validate({**body, "topology": topology})


@pytest.mark.parametrize(
    ("given", "level", "required"),
    [
        pytest.param({"required": "nvidia.com/gpu.clique"}, "nvidia.com/gpu.clique", True, id="a required clique"),
        pytest.param({"preferred": "topology.computenet.io/rack"}, "topology.computenet.io/rack", False, id="a rack"),
    ],
)
def test_a_task_asks_for_one_domain_and_placement_is_told(given: dict[str, str], level: str, required: bool) -> None:
    task = record()
    task.spec = spec(given)
    assert demand_of(task, None).topology == Topology(level, required)


@pytest.mark.parametrize(
    ("given", "words"),
    [
        pytest.param({}, "set exactly one of required and preferred", id="neither"),
        pytest.param({"required": "a/b", "preferred": "a/b"}, "set exactly one of required and preferred", id="both"),
        pytest.param({"required": "not a label!"}, "required", id="not a label key"),
    ],
)
def test_a_topology_that_names_no_one_label_is_refused_naming_the_field(given: dict[str, str], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        TopologyRequest.model_validate(given)


def test_no_topology_asks_for_none() -> None:
    assert demand_of(record(), None).topology is None
