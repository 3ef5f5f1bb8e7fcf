"""The accelerator table and what node labels say about a node's devices."""

from __future__ import annotations

import pytest

from computenet.placement import MODELS, accelerator_facts, lookup, peak_tflops
from computenet.placement.node_accelerator import AcceleratorFacts

REQUIRED = [
    "NVIDIA-H100-80GB-HBM3",
    "NVIDIA-A100-SXM4-80GB",
    "NVIDIA-A100-SXM4-40GB",
    "NVIDIA-L40S",
    "NVIDIA-L4",
    "NVIDIA-A10",
    "Tesla-T4",
    "NVIDIA-H200",
    "NVIDIA-B200",
    "AMD-Instinct-MI300X",
    "AMD-Instinct-MI250X",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_required_models_are_in_the_table(name: str) -> None:
    model = lookup(name)
    assert model is not None
    assert model.resource == ("amd.com/gpu" if name.startswith("AMD") else "nvidia.com/gpu")
    assert model.memory_gib > 0
    assert all(figure > 0 for figure in model.tflops.values())


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        pytest.param("AMD_Instinct_MI300X_OAM", "AMD-Instinct-MI300X", id="AMD labeller spelling"),
        pytest.param("NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-80GB-HBM3", id="GPU feature discovery spelling"),
        pytest.param("NVIDIA-GeForce-RTX-4090", None, id="unknown model is unknown, not guessed"),
        pytest.param("NVIDIA-A100-SXM4-40GB-MIG-1g.5gb", None, id="a MIG slice is not the whole GPU"),
        pytest.param(None, None, id="no label"),
    ],
)
def test_lookup(label: str | None, expected: str | None) -> None:
    model = lookup(label)
    assert (model.name if model else None) == expected


def test_peak_tflops_adds_up_and_refuses_unknowns() -> None:
    assert peak_tflops({"NVIDIA-H100-80GB-HBM3": 8, "NVIDIA-L4": 2}, "bf16") == pytest.approx(8 * 989.5 + 2 * 121.0)
    assert peak_tflops({"Tesla-T4": 1}, "bf16") is None  # Turing has no bf16
    assert peak_tflops({"NVIDIA-GeForce-RTX-4090": 1}, "fp16") is None


@pytest.mark.parametrize(
    ("labels", "allocatable", "expected"),
    [
        pytest.param(
            {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu.memory": "81559"},
            {"nvidia.com/gpu": 8},
            AcceleratorFacts("nvidia.com/gpu", "nvidia", "NVIDIA-H100-80GB-HBM3", 81559),
            id="NVIDIA memory label wins",
        ),
        pytest.param(
            {"nvidia.com/gpu.product": "NVIDIA-L4"},
            {"nvidia.com/gpu": 1},
            AcceleratorFacts("nvidia.com/gpu", "nvidia", "NVIDIA-L4", 24 * 1024),
            id="memory from the table without a label",
        ),
        pytest.param(
            {"amd.com/gpu.product-name": "AMD_Instinct_MI300X_OAM", "amd.com/gpu.vram": "192G"},
            {"amd.com/gpu": 8},
            AcceleratorFacts("amd.com/gpu", "amd", "AMD-Instinct-MI300X", 192 * 1024),
            id="AMD labels",
        ),
        pytest.param(
            {},
            {"nvidia.com/gpu": 4},
            AcceleratorFacts("nvidia.com/gpu", "nvidia", None, None),
            id="unlabelled GPUs",
        ),
        pytest.param({"kubernetes.io/arch": "arm64"}, {"cpu": 64000}, None, id="cpu-only node"),
    ],
)
def test_accelerator_facts(
    labels: dict[str, str], allocatable: dict[str, int], expected: AcceleratorFacts | None
) -> None:
    assert accelerator_facts(labels, allocatable) == expected


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        MODELS["x"] = MODELS["NVIDIA-L4"]  # type: ignore[index]
