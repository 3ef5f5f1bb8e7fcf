"""Variants and compute requests in the API: what is accepted, and what is refused naming the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tasks.variant_specs import body

from computenet.api import validate_task
from computenet.api.task import ComputeTaskSpec
from computenet.placement.demand import ComputeDemand
from computenet.tasks.demand import accelerators_of, variants_of

POD = "spec.template.spec.template.spec"


def variant(index: int, **changes: Any) -> dict[str, Any]:
    """The two-variant task with `changes` merged into its variant `index`'s accelerators or other fields."""
    out = body()
    chosen = out["variants"][index]
    for key, value in changes.items():
        if key == "accelerators":
            chosen["accelerators"] = value
        else:
            chosen[key] = value
    return out


def with_template_gpu(data: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["template"]["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": 1}}
    return out


def problems(data: dict[str, Any]) -> list[str]:
    return [str(p) for p in validate_task(data)]


def test_a_task_of_two_variants_is_valid_and_placement_sees_both_in_order() -> None:
    data = body()
    assert problems(data) == []
    ways = variants_of(ComputeTaskSpec.model_validate(data))
    assert [(v.name, v.accelerators.vendor, v.accelerators.count) for v in ways if v.accelerators] == [
        ("h100", "nvidia", 2),
        ("mi300x", "amd", 1),
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            body(variants=[body()["variants"][0], body()["variants"][0]]),
            "spec.variants: variant names must be unique",
            id="two variants of one name",
        ),
        pytest.param(
            variant(1, accelerators={"resource": "example.com/npu", "count": 1}),
            "spec.variants[1].accelerators.resource: example.com/npu is not a device resource of a known vendor",
            id="a variant whose resource is of no known vendor",
        ),
        pytest.param(
            variant(1, accelerators={"vendor": "nvidia", "resource": "amd.com/gpu", "count": 1}),
            "spec.variants[1].accelerators.resource: amd.com/gpu is a amd resource, but vendor is nvidia",
            id="a variant whose resource is another vendor's",
        ),
        pytest.param(
            variant(1, accelerators={"models": ["Vendor-X-9000"], "count": 1}),
            "spec.variants[1].accelerators: names no device resource its pods could request",
            id="a variant whose vendor and resource are unknown",
        ),
        pytest.param(
            variant(0, accelerators={"vendor": "nvidia"}),
            "spec.variants[0].accelerators.count: is required",
            id="a variant saying neither count nor compute",
        ),
        pytest.param(
            body(resources={"cpu": "4", "memory": "16Gi", "accelerators": {"vendor": "nvidia", "count": 1}}),
            "spec.resources.accelerators: conflicts with spec.variants",
            id="variants together with top-level accelerators that say which devices",
        ),
        pytest.param(
            variant(0, containers=[{"name": "trainer", "image": "x"}]),
            "spec.variants[0].containers[0].name: no container 'trainer' in the template (it has logger, train)",
            id="a variant changing a container the template does not have",
        ),
        pytest.param(
            with_template_gpu(body()),
            f"{POD}.containers[0].resources.limits: requests nvidia.com/gpu: with spec.variants, leave device",
            id="a template requesting devices beside variants",
        ),
        pytest.param(
            variant(1, accelerators={"vendor": "amd", "count": 1, "compute": {"tflops": 100, "precision": "bf16"}}),
            "spec.variants[1].accelerators.count: compute chooses the count per replica",
            id="a variant with both count and compute",
        ),
        pytest.param(
            body(variants=None, resources={"cpu": "4", "memory": "16Gi",
                                           "accelerators": {"compute": {"tflops": 200000, "precision": "bf16"}}}),
            "spec.resources.accelerators.compute: no model of the accelerator catalogue meets 200000 bf16 TFLOPS",
            id="a compute request no catalogue model meets",
        ),
        pytest.param(
            with_template_gpu(body(variants=None, resources={"cpu": "4", "memory": "16Gi",
                                   "accelerators": {"compute": {"tflops": 100, "precision": "bf16"}}})),
            "spec.resources.accelerators.compute: chooses the devices, but the template's containers request",
            id="a compute request beside a template that requests devices",
        ),
        pytest.param(
            body(variants=None, resources={"cpu": "4", "memory": "16Gi", "accelerators": {
                "compute": {"tflops": 100, "precision": "bf16"}, "partition": "1g.10gb"}}),
            "spec.resources.accelerators.compute: a compute request counts whole devices",
            id="a compute request for slices",
        ),
        pytest.param(
            body(variants=None, resources={"cpu": "4", "memory": "16Gi", "accelerators": {
                "compute": {"tflops": 100, "precision": "fp4"}}}),
            "spec.resources.accelerators.compute.precision",
            id="a precision the catalogue has no figures for",
        ),
    ],
)  # fmt: skip
def test_what_is_refused_names_its_field(data: dict[str, Any], expected: str) -> None:
    found = problems(data)
    assert any(p.startswith(expected) for p in found), found


def test_a_minimum_memory_beside_variants_is_accepted() -> None:
    assert problems(body(resources={"cpu": "4", "memory": "16Gi", "accelerators": {"minMemory": "64Gi"}})) == []


def test_a_compute_request_is_read_as_normalized_compute() -> None:
    spec = ComputeTaskSpec.model_validate(
        body(variants=None, resources={"cpu": "4", "memory": "16Gi", "accelerators": {
            "compute": {"tflops": 800, "precision": "bf16"}, "minMemory": "80Gi", "vendor": "nvidia"}})
    )  # fmt: skip
    assert problems(spec.model_dump(by_alias=True, exclude_none=True)) == []
    acc = accelerators_of(spec)
    assert acc is not None
    assert (acc.compute, acc.min_memory_mib, acc.vendor, acc.count) == (
        ComputeDemand(800, "bf16"),
        80 * 1024,
        "nvidia",
        0,
    )


def test_variants_are_not_taken_for_a_kind_of_several_roles_yet() -> None:
    data = body(template=None, workload={
        "apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet",
        "spec": {"replicatedJobs": [{"name": "w", "replicas": 1, "template": {"spec": {"template": {"spec": {
            "containers": [{"name": "train", "image": "x", "resources": {"requests": {"cpu": 1, "memory": "1Gi"}}}]
        }}}}}]},
    })  # fmt: skip
    assert "spec.variants: are not supported for a JobSet yet, whose roles request their own devices" in problems(data)
