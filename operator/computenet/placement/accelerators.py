"""What an accelerator model is: vendor, Kubernetes resource, device memory and peak throughput.

Nodes name their accelerator by a label (`nvidia.com/gpu.product` from NVIDIA GPU feature
discovery, `amd.com/gpu.product-name` from the AMD node labeller, and the other vendors' labels in
`device_plugins`, which also tells whole devices from MIG slices and shared replicas). Placement
needs the model to honour "any of these models" and "at least this much device memory"; pool
status needs it to turn device counts into normalised compute. Lookups of a model not in the table return None: a wrong
number in status or a wrong placement is worse than an honest "unknown".

Table conventions (per schedulable device, i.e. per unit of the Kubernetes resource):
- `memory_gib` is the capacity the vendor sells the device by (80 for an H100 80GB). Drivers report
  less once ECC and reserved memory are taken out (an H100 80GB shows 81559 MiB, an L4 23034 MiB),
  so minimum-memory requests are compared with this nominal size when the model is known.
- `tflops` are peak *dense* figures (no structured sparsity) from the vendor datasheet; where a
  datasheet only gives sparse figures they are halved. fp64 and fp32 take the higher of the vector
  and tensor/matrix figures; tf32/bf16/fp16/fp8 are tensor (matrix) figures; int8 is TOPS. A
  precision the device lacks, or the datasheet does not publish, is absent rather than estimated.
- The AMD device plugin exposes each MI250X graphics compute die (GCD) as one `amd.com/gpu`, so the
  MI250X entry is one GCD: half the package's memory and throughput.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from computenet.placement.resources import AMD_GPU, NVIDIA_GPU

NVIDIA_PRODUCT_LABEL = "nvidia.com/gpu.product"
NVIDIA_MEMORY_LABEL = "nvidia.com/gpu.memory"
AMD_PRODUCT_LABEL = "amd.com/gpu.product-name"
AMD_MEMORY_LABEL = "amd.com/gpu.vram"
ARCH_LABEL = "kubernetes.io/arch"
HOSTNAME_LABEL = "kubernetes.io/hostname"

PRECISIONS = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8")


@dataclass(frozen=True, slots=True)
class AcceleratorModel:
    name: str
    vendor: str
    resource: str
    memory_gib: int
    tflops: Mapping[str, float]

    @property
    def memory_mib(self) -> int:
        return self.memory_gib * 1024


_: None = None  # a precision the device lacks or the datasheet does not publish
_Row = tuple[
    str,
    str,
    int,
    float | None,
    float | None,
    float | None,
    float | None,
    float | None,
    float | None,
    float | None,
]
# fmt: off
_TABLE: tuple[_Row, ...] = (
    # name                   vendor  GiB   fp64    fp32   tf32    bf16    fp16    fp8     int8
    ("NVIDIA-B200",           "nvidia", 180, 37.0,  75.0,  1125.0, 2250.0, 2250.0, 4500.0, 4500.0),
    ("NVIDIA-H200",           "nvidia", 141, 67.0,  67.0,  494.5,  989.5,  989.5,  1979.0, 1979.0),
    ("NVIDIA-H100-80GB-HBM3", "nvidia", 80,  67.0,  67.0,  494.5,  989.5,  989.5,  1979.0, 1979.0),
    ("NVIDIA-A100-SXM4-80GB", "nvidia", 80,  19.5,  19.5,  156.0,  312.0,  312.0,  _,      624.0),
    ("NVIDIA-A100-SXM4-40GB", "nvidia", 40,  19.5,  19.5,  156.0,  312.0,  312.0,  _,      624.0),
    ("NVIDIA-L40S",           "nvidia", 48,  _,     91.6,  183.0,  362.0,  362.0,  733.0,  733.0),
    ("NVIDIA-L4",             "nvidia", 24,  _,     30.3,  60.0,   121.0,  121.0,  242.5,  242.5),
    ("NVIDIA-A10",            "nvidia", 24,  _,     31.2,  62.5,   125.0,  125.0,  _,      250.0),
    ("Tesla-T4",              "nvidia", 16,  _,     8.1,   _,      _,      65.0,   _,      130.0),
    ("AMD-Instinct-MI300X",   "amd",    192, 163.4, 163.4, 653.7,  1307.4, 1307.4, 2614.9, 2614.9),
    ("AMD-Instinct-MI250X",   "amd",    64,  47.85, 47.85, _,      191.5,  191.5,  _,      191.5),
)
# fmt: on


def _model(row: _Row) -> AcceleratorModel:
    name, vendor, memory_gib, *figures = row
    tflops = {p: f for p, f in zip(PRECISIONS, figures, strict=True) if f is not None}
    resource = NVIDIA_GPU if vendor == "nvidia" else AMD_GPU
    return AcceleratorModel(name, vendor, resource, memory_gib, MappingProxyType(tflops))


MODELS: Mapping[str, AcceleratorModel] = MappingProxyType({row[0]: _model(row) for row in _TABLE})

_FORM_FACTOR = re.compile(r"-(OAM)$")


def canonical(name: str) -> str:
    """The table's spelling of a model label, or the label itself when the model is unknown.

    The AMD labeller writes `AMD_Instinct_MI300X_OAM`; the table says `AMD-Instinct-MI300X`.
    Only separators and the OAM form-factor suffix are normalised: anything else would be a guess.
    """
    if name in MODELS:
        return name
    spelled = _FORM_FACTOR.sub("", re.sub(r"[\s_]+", "-", name.strip()))
    return spelled if spelled in MODELS else name


def lookup(name: str | None) -> AcceleratorModel | None:
    return MODELS.get(canonical(name)) if name else None


def peak_tflops(counts: Mapping[str, int], precision: str) -> float | None:
    """Aggregate peak throughput of devices per model; None if any model's figure is unknown."""
    total = 0.0
    for name, count in counts.items():
        model = lookup(name)
        figure = model.tflops.get(precision) if model else None
        if figure is None:
            return None
        total += figure * count
    return total


def amd_vram_mib(value: str) -> int | None:
    """The AMD labeller's ``amd.com/gpu.vram`` (``192G``, ``512M``) in MiB; None if it is not such a value."""
    match = re.fullmatch(r"(\d+)([GM])", value.strip())
    if not match:
        return None
    return int(match[1]) * (1024 if match[2] == "G" else 1)
