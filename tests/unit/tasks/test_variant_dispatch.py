"""The dispatched workload is the chosen variant's: its image, command, args, env and device resource."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from placement.builders import H100, MI300X, identifier, node, pool

from computenet.api.task import ComputeTaskSpec, ComputeTaskStatus, DispatchedResources, Placement
from computenet.cli.why import explain
from computenet.placement import place
from computenet.tasks import lifecycle as lc
from computenet.tasks.demand import demand_of
from computenet.tasks.dispatcher import as_placed, manifest_of, target_of
from computenet.tasks.executor import facts_of
from computenet.tasks.record import TaskRecord
from computenet.tasks.scheduler import decision_event
from tasks.builders import IDENTIFIER, identifier_spec
from tasks.variant_specs import TWO_VARIANTS, body, two_variants

CREATED = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
NOW = CREATED + dt.timedelta(minutes=1)


def placed(spec: ComputeTaskSpec, variant: str | None, model: str | None, devices: int) -> TaskRecord:
    placement = Placement(
        identifier=IDENTIFIER,
        score=80.0,
        accelerator_model=model,
        variant=variant,
        resources=DispatchedResources(replicas=1, cpu="4", memory="16Gi", accelerators=devices),
    )
    return TaskRecord(
        uid="uid-1",
        namespace="research",
        name="train",
        created=CREATED,
        generation=1,
        spec=spec,
        template=spec.template.model_dump(by_alias=True, exclude_none=True) if spec.template else {},
        status=ComputeTaskStatus(phase="Dispatching", placement=placement, attempt=1),
    )


def dispatched(record: TaskRecord) -> dict[str, Any]:
    manifest = manifest_of(record, target_of(record, IDENTIFIER, identifier_spec()), "hub-1")
    pod: dict[str, Any] = manifest["spec"]["template"]["spec"]
    return pod


def container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in pod["containers"] if c["name"] == name)


@pytest.mark.parametrize(
    ("variant", "model", "image", "args", "backend", "resource", "devices", "product"),
    [
        pytest.param(
            "mi300x",
            "AMD-Instinct-MI300X",
            "registry.example/train:rocm6",
            ["--backend", "rocm"],
            "rocm",
            "amd.com/gpu",
            1,
            ("amd.com/gpu.product-name", "AMD-Instinct-MI300X"),
            id="placed with mi300x: the rocm image, its args and env, one amd.com/gpu, pinned to the MI300X",
        ),
        pytest.param(
            "h100",
            "NVIDIA-H100-80GB-HBM3",
            "registry.example/train:cuda12",
            None,
            "cuda",
            "nvidia.com/gpu",
            2,
            ("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"),
            id="placed with h100: the cuda image and env, two nvidia.com/gpu, pinned to the H100",
        ),
    ],
)
def test_the_workload_is_rendered_with_the_chosen_variant(
    variant: str,
    model: str,
    image: str,
    args: list[str] | None,
    backend: str,
    resource: str,
    devices: int,
    product: tuple[str, str],
) -> None:
    pod = dispatched(placed(two_variants(), variant, model, devices))
    train = container(pod, "train")
    assert train["image"] == image
    assert train.get("args") == args
    assert train["command"] == ["python", "train.py"], "what the variant does not change is kept"
    env = {e["name"]: e["value"] for e in train["env"]}
    assert env["BACKEND"] == backend
    assert env["EPOCHS"] == "3"
    assert [e["name"] for e in train["env"]][:2] == ["EPOCHS", "BACKEND"], "a replaced variable keeps its place"
    assert train["resources"]["requests"][resource] == str(devices)
    assert train["resources"]["limits"][resource] == str(devices)
    other = {"nvidia.com/gpu", "amd.com/gpu"} - {resource}
    assert not other & set(train["resources"]["requests"]), "no device of the other vendor"
    assert container(pod, "logger")["image"] == "registry.example/logger:1", "a container no variant names is kept"
    assert "resources" not in container(pod, "logger") or resource not in container(pod, "logger")["resources"].get(
        "requests", {}
    )
    assert pod["nodeSelector"][product[0]] == product[1]


def test_the_task_as_placed_is_the_variant_alone() -> None:
    spec, template, _ = as_placed(placed(two_variants(), "mi300x", "AMD-Instinct-MI300X", 1))
    assert spec.variants is None
    assert spec.resources.accelerators is not None
    assert (spec.resources.accelerators.vendor, spec.resources.accelerators.count) == ("amd", 1)
    assert template["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/train:rocm6"
    assert TWO_VARIANTS["template"]["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "registry.example/train:base"
    ), "the task as written is not changed"


def test_a_minimum_memory_beside_variants_is_a_floor_for_each() -> None:
    spec, _, _ = as_placed(
        placed(
            two_variants(resources={"cpu": "4", "memory": "16Gi", "accelerators": {"minMemory": "64Gi"}}),
            "mi300x",
            "AMD-Instinct-MI300X",
            1,
        )
    )
    assert spec.resources.accelerators is not None
    assert spec.resources.accelerators.min_memory == "64Gi"


def test_a_compute_request_is_rendered_with_the_model_and_count_placement_chose() -> None:
    spec = ComputeTaskSpec.model_validate(
        body(
            variants=None,
            resources={
                "cpu": "4",
                "memory": "16Gi",
                "accelerators": {"compute": {"tflops": 2000, "precision": "bf16"}, "minMemory": "80Gi"},
            },
        )
    )
    pod = dispatched(placed(spec, None, "AMD-Instinct-MI300X", 2))
    train = container(pod, "train")
    assert train["resources"]["requests"]["amd.com/gpu"] == "2"
    assert train["image"] == "registry.example/train:base"
    assert pod["nodeSelector"]["amd.com/gpu.product-name"] == "AMD-Instinct-MI300X"


def waiting(spec: ComputeTaskSpec, *, suspend: bool = False) -> TaskRecord:
    spec = spec.model_copy(update={"suspend": suspend})
    return TaskRecord(
        uid="uid-1",
        namespace="research",
        name="train",
        created=CREATED,
        generation=1,
        spec=spec,
        template=spec.template.model_dump(by_alias=True, exclude_none=True) if spec.template else {},
    )


NVIDIA_FULL = pool(
    identifier("nv").nodes(node("n1").gpus(8, H100).used(gpus=8)).price({H100: 1.0}),
    identifier("amd").nodes(node("a1").gpus(8, MI300X)).price({MI300X: 1.0}),
)


def test_the_placement_records_the_variant_and_its_devices_and_why_names_it() -> None:
    record = waiting(two_variants())
    decision = place(NVIDIA_FULL, demand_of(record, None))
    event = decision_event(record, decision, NOW)
    assert isinstance(event, lc.Placed)
    placement = event.placement
    assert (placement.identifier, placement.variant, placement.accelerator_model) == ("amd", "mi300x", MI300X)
    assert placement.resources is not None
    assert placement.resources.accelerators == 1, "the mi300x variant's count, which quotas and usage read"
    assert placement.explanation is not None
    assert placement.explanation.candidates is not None
    assert placement.explanation.candidates[0].variant == "mi300x"
    assert placement.explanation.rejected is not None
    assert placement.explanation.rejected[0].message.startswith("variant h100: 0 nvidia.com/gpu")


def test_offers_name_the_variant_each_identifier_would_run() -> None:
    record = waiting(two_variants(), suspend=True)
    free = pool(
        identifier("nv").nodes(node("n1").gpus(8, H100)).price({H100: 1.0}),
        identifier("amd").nodes(node("a1").gpus(8, MI300X)).price({MI300X: 1.0}),
    )
    event = decision_event(record, place(free, demand_of(record, None)), NOW)
    assert isinstance(event, lc.OffersFound)
    assert {(o.identifier, o.variant, o.accelerator_count) for o in event.offers} == {
        ("nv", "h100", 2),
        ("amd", "mi300x", 1),
    }


@pytest.mark.parametrize(
    ("spec", "gpus"),
    [
        pytest.param(two_variants(), "1x2|1x1", id="a task of variants shows each variant's devices"),
        pytest.param(
            ComputeTaskSpec.model_validate(
                body(variants=None, resources={"cpu": "4", "memory": "16Gi",
                                               "accelerators": {"compute": {"tflops": 800, "precision": "bf16"}}})
            ),
            "1x800bf16",
            id="a compute request shows the compute it asks for",
        ),
    ],
)  # fmt: skip
def test_kubectl_get_shows_what_each_replica_asks(spec: ComputeTaskSpec, gpus: str) -> None:
    summary = facts_of(waiting(spec)).summary
    assert summary is not None
    assert summary.gpus == gpus


def test_why_names_the_variant_each_identifier_runs() -> None:
    record = waiting(two_variants())
    event = decision_event(record, place(NVIDIA_FULL, demand_of(record, None)), NOW)
    assert isinstance(event, lc.Placed)
    task = {
        "metadata": {"namespace": "research", "name": "train"},
        "status": ComputeTaskStatus(phase="Running", placement=event.placement).model_dump(mode="json", by_alias=True),
    }
    rows = {row["identifier"]: row for row in explain(task)["identifiers"]}
    assert (rows["amd"]["verdict"], rows["amd"]["variant"], rows["amd"]["acceleratorCount"]) == ("chosen", "mi300x", 1)
    assert rows["nv"]["message"].startswith("variant h100: ")
