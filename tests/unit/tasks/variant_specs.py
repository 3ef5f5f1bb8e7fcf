"""A task of two variants (H100 and MI300X builds of one trainer), as users write it."""

from __future__ import annotations

import copy
from typing import Any

from computenet.api.task import ComputeTaskSpec

TWO_VARIANTS: dict[str, Any] = {
    "resources": {"cpu": "4", "memory": "16Gi"},
    "template": {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "train",
                            "image": "registry.example/train:base",
                            "command": ["python", "train.py"],
                            "env": [{"name": "EPOCHS", "value": "3"}, {"name": "BACKEND", "value": "none"}],
                        },
                        {"name": "logger", "image": "registry.example/logger:1"},
                    ]
                }
            }
        }
    },
    "variants": [
        {
            "name": "h100",
            "accelerators": {"vendor": "nvidia", "models": ["NVIDIA-H100-80GB-HBM3"], "count": 2},
            "containers": [
                {
                    "name": "train",
                    "image": "registry.example/train:cuda12",
                    "env": [{"name": "BACKEND", "value": "cuda"}, {"name": "NCCL_DEBUG", "value": "WARN"}],
                }
            ],
        },
        {
            "name": "mi300x",
            "accelerators": {"vendor": "amd", "count": 1},
            "containers": [
                {
                    "name": "train",
                    "image": "registry.example/train:rocm6",
                    "args": ["--backend", "rocm"],
                    "env": [{"name": "BACKEND", "value": "rocm"}],
                }
            ],
        },
    ],
}


def body(**changes: Any) -> dict[str, Any]:
    """A deep copy of the two-variant task with top-level fields replaced (None removes one)."""
    out = copy.deepcopy(TWO_VARIANTS)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def two_variants(**changes: Any) -> ComputeTaskSpec:
    return ComputeTaskSpec.model_validate(body(**changes))
