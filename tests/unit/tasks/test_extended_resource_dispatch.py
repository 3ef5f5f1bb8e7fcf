"""A task placed on nodes whose nvidia.com/gpu DRA devices serve (KEP-5004) is dispatched so it can run there.

Such nodes need not carry GPU feature discovery's product label, so the pods are held to the chosen
nodes by name only; the placement names the DeviceClass that serves the resource.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from placement.builders import H100, identifier, node, pool, task

from computenet.api.task import ComputeTaskStatus, DispatchedResources, Placement
from computenet.placement import place
from computenet.tasks import lifecycle as lc
from computenet.tasks.dispatcher import manifest_of, target_of
from computenet.tasks.record import TaskRecord
from computenet.tasks.scheduler import decision_event
from tasks.builders import CREATED, IDENTIFIER, identifier_spec, spec

GPUS = {"resources": {"cpu": "1", "memory": "1Gi", "accelerators": {"count": 2, "vendor": "nvidia"}}}


def placed(device_class: str | None) -> TaskRecord:
    s = spec(**GPUS)
    placement = Placement(
        identifier=IDENTIFIER,
        score=80.0,
        accelerator_model=H100,
        device_class=device_class,
        resources=DispatchedResources(replicas=1, cpu="1", memory="1Gi", accelerators=2),
        nodes=["dra-1"],
    )
    return TaskRecord(
        uid="uid-1",
        namespace="research",
        name="train",
        created=CREATED,
        generation=1,
        spec=s,
        template=s.template.model_dump(by_alias=True, exclude_none=True) if s.template else {},
        status=ComputeTaskStatus(phase="Dispatching", placement=placement, attempt=1),
    )


def pod_of(record: TaskRecord) -> dict[str, Any]:
    manifest = manifest_of(record, target_of(record, IDENTIFIER, identifier_spec()), "hub-1")
    pod: dict[str, Any] = manifest["spec"]["template"]["spec"]
    return pod


@pytest.mark.parametrize(
    ("device_class", "selector"),
    [
        pytest.param("gpu", None, id="served by DRA devices: held to the nodes by name, no product label"),
        pytest.param(None, {"nvidia.com/gpu.product": H100}, id="a device plugin's GPUs: pinned to the product too"),
    ],
)
def test_the_pods_request_the_resource_and_are_pinned_as_the_nodes_allow(
    device_class: str | None, selector: dict[str, str] | None
) -> None:
    pod = pod_of(placed(device_class))
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert pod.get("nodeSelector") == selector
    (term,) = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchFields"] == [{"key": "metadata.name", "operator": "In", "values": ["dra-1"]}]


def test_the_placement_names_the_class_that_serves_the_resource() -> None:
    member = identifier(IDENTIFIER).dra({"gpu": "gpu.example.com"}, serving={"gpu": "nvidia.com/gpu"})
    snapshot = pool(member.nodes(node("dra-1").cpu("8").memory("32Gi").dra("gpu.example.com", 4, model=H100)))
    decision = place(snapshot, task("uid-1").cpu("1").memory("1Gi").gpus(2, vendor="nvidia").build())
    record = placed(None)
    event = decision_event(record, decision, CREATED + dt.timedelta(minutes=1))
    assert isinstance(event, lc.Placed)
    assert (event.placement.device_class, event.placement.accelerator_model) == ("gpu", H100)
    assert event.placement.nodes == ["dra-1"]
