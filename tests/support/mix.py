"""A seeded random mix of ComputeTasks that exercises what placement fidelity is about.

`mix(seed, count)` is pure: the same seed and count give the same manifests. Each `MixTask` carries
its ComputeTask manifest (a plain dict, ready for ``kubectl apply``), the `kind` of demand it was
drawn as (for reports) and whether it must `fit_nowhere` in the default test topology
(``computenet.testing.topology``) with `TAINT` put on every L40S node of member-3.

Kinds and what they exercise:

- ``cpu``: cpu and memory only, sometimes left out of ``spec.resources`` (derived from the template);
- ``multi``: two containers whose requests add up to the reservation;
- ``sidecar``: a native sidecar (an init container with ``restartPolicy: Always``) holding cpu and,
  for GPU tasks, one device beside the main container's;
- ``nvidia-model`` / ``amd-model`` / ``nvidia-vendor`` / ``amd-vendor``: accelerators by ``models``
  or by vendor alone, replicas 1-4 (gangs);
- ``selector``, ``affinity-in``, ``affinity-notin``, ``affinity-exists``, ``affinity-gt``,
  ``preferred``: node selectors, required node affinity (In, NotIn, Exists, Gt) and preferred affinity;
- ``tolerates``: L40S tasks that tolerate `TAINT`;
- ``nowhere-*``: too many GPUs on one node, a model nobody has, an affinity no node matches, L40S
  without the toleration.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from computenet.testing.topology import AMD_GPU, NVIDIA_GPU

API_VERSION = "computenet.io/v1alpha1"
RUN_ANNOTATION = "sim.computenet.io/run-duration"
MIX_LABEL = "mix.computenet.io/run"
"""Label on every task of one run, valued with the run's name."""

TAINT = {"key": "mix.computenet.io/reserved", "value": "l40s", "effect": "NoSchedule"}
"""Put by the test on every L40S node of member-3 (whose nodes carry no taint of their own)."""
TAINTED_MEMBER = "member-3"
TAINTED_GROUP = "l40s"
TOLERATION = {"key": TAINT["key"], "operator": "Equal", "value": TAINT["value"], "effect": TAINT["effect"]}

NVIDIA_MODELS = ("NVIDIA-H100-80GB-HBM3", "NVIDIA-A100-SXM4-80GB", "NVIDIA-L4", "NVIDIA-GH200-480GB")
L40S = "NVIDIA-L40S"
MI300X = "AMD-Instinct-MI300X"
MISSING_MODEL = "NVIDIA-B300-SXM6-AC"

# (kind, weight): most tasks are small and CPU-only or have few GPUs, so most fit at once.
KINDS: tuple[tuple[str, int], ...] = (
    ("cpu", 30),
    ("multi", 10),
    ("sidecar", 10),
    ("nvidia-model", 8),
    ("amd-model", 3),
    ("nvidia-vendor", 4),
    ("amd-vendor", 2),
    ("selector", 6),
    ("affinity-in", 4),
    ("affinity-notin", 4),
    ("affinity-exists", 3),
    ("affinity-gt", 2),
    ("preferred", 4),
    ("tolerates", 3),
    ("nowhere-gpus", 1),
    ("nowhere-model", 1),
    ("nowhere-affinity", 1),
    ("nowhere-taint", 1),
)


@dataclass(frozen=True)
class MixTask:
    """One drawn task: its manifest, the kind it was drawn as, and whether it must fit nowhere."""

    name: str
    kind: str
    fit_nowhere: bool
    manifest: dict[str, Any]

    @property
    def replicas(self) -> int:
        return int(self.manifest["spec"].get("replicas", 1))


def mix(seed: int, count: int, *, run: str = "mix", namespace: str = "default", run_for: str = "30s") -> list[MixTask]:
    """`count` tasks named ``{run}-{i:04d}``, drawn with ``random.Random(seed)``; pure and repeatable.

    `run_for` is each pod's simulated run time (kwok's ``sim.computenet.io/run-duration``).
    Raises ValueError for a negative count.
    """
    if count < 0:
        raise ValueError(f"count must be at least 0, got {count}")
    rng = random.Random(seed)
    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    out = []
    for i in range(count):
        kind = rng.choices(kinds, weights)[0]
        name = f"{run}-{i:04d}"
        spec = _DRAW[kind](rng)
        out.append(MixTask(name, kind, kind.startswith("nowhere-"), _manifest(name, run, namespace, run_for, spec)))
    return out


# ---- one drawn task: a small description, turned into a manifest ------------------------------------------


@dataclass(frozen=True)
class _Draw:
    cpu_m: int = 500
    memory_mi: int = 256
    replicas: int = 1
    gpus: int = 0
    resource: str = NVIDIA_GPU
    vendor: str | None = None
    models: tuple[str, ...] = ()
    containers: int = 1
    sidecar: bool = False
    derive: bool = False
    pod: tuple[tuple[str, Any], ...] = ()


def _small_cpu(rng: random.Random) -> int:
    return rng.choice((100, 250, 500, 1000, 2000))


def _gang(rng: random.Random) -> int:
    return rng.choice((1, 1, 2, 3, 4))


def _required(*expressions: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    terms = {"nodeSelectorTerms": [{"matchExpressions": list(expressions)}]}
    return (("affinity", {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": terms}}),)


def _cpu(rng: random.Random) -> _Draw:
    return _Draw(cpu_m=_small_cpu(rng), replicas=_gang(rng), derive=rng.random() < 0.4)


def _multi(rng: random.Random) -> _Draw:
    return _Draw(cpu_m=_small_cpu(rng) * 2, memory_mi=512, containers=rng.choice((2, 3)), replicas=_gang(rng))


def _sidecar(rng: random.Random) -> _Draw:
    gpus = rng.choice((0, 0, 1, 2))
    models = (rng.choice(("NVIDIA-H100-80GB-HBM3", "NVIDIA-A100-SXM4-80GB")),) if gpus else ()
    return _Draw(cpu_m=1000, gpus=gpus, vendor="nvidia" if gpus else None, models=models, sidecar=True)


def _nvidia_model(rng: random.Random) -> _Draw:
    models = tuple(sorted(rng.sample(NVIDIA_MODELS, rng.choice((1, 1, 2)))))
    return _Draw(gpus=1, vendor="nvidia", models=models, replicas=rng.choice((1, 1, 2)))


def _amd_model(rng: random.Random) -> _Draw:
    return _Draw(gpus=rng.choice((1, 2)), resource=AMD_GPU, vendor="amd", models=(MI300X,), replicas=_gang(rng))


def _nvidia_vendor(rng: random.Random) -> _Draw:
    return _Draw(gpus=rng.choice((1, 2)), vendor="nvidia", replicas=rng.choice((1, 2)), derive=rng.random() < 0.5)


def _amd_vendor(rng: random.Random) -> _Draw:
    return _Draw(gpus=1, resource=AMD_GPU, vendor="amd", derive=rng.random() < 0.5)


def _selector(rng: random.Random) -> _Draw:
    selector = rng.choice(
        (
            {"kubernetes.io/arch": "arm64"},
            {"computenet.io/node-group": "cpu"},
            {"topology.kubernetes.io/zone": "cn-west-1b"},
        )
    )
    return _Draw(cpu_m=_small_cpu(rng), replicas=_gang(rng), pod=(("nodeSelector", selector),))


def _affinity_in(rng: random.Random) -> _Draw:
    groups = sorted(rng.sample(("cpu", "arm", "h100", "mi300x"), 2))
    return _Draw(
        cpu_m=_small_cpu(rng), pod=_required({"key": "computenet.io/node-group", "operator": "In", "values": groups})
    )


def _affinity_notin(rng: random.Random) -> _Draw:
    expression = {"key": "kubernetes.io/arch", "operator": "NotIn", "values": ["amd64"]}
    return _Draw(cpu_m=_small_cpu(rng), replicas=_gang(rng), pod=_required(expression))


def _affinity_exists(rng: random.Random) -> _Draw:
    expression = {"key": "nvidia.com/gpu.product", "operator": "Exists"}
    return _Draw(cpu_m=_small_cpu(rng), gpus=1, vendor="nvidia", pod=_required(expression))


def _affinity_gt(rng: random.Random) -> _Draw:
    expression = {"key": "nvidia.com/gpu.count", "operator": "Gt", "values": ["3"]}
    return _Draw(gpus=rng.choice((1, 2)), vendor="nvidia", pod=_required(expression))


def _preferred(rng: random.Random) -> _Draw:
    term = {
        "weight": 50,
        "preference": {
            "matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["cn-west-1b"]}]
        },
    }
    affinity = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [term]}}
    return _Draw(cpu_m=_small_cpu(rng), replicas=_gang(rng), pod=(("affinity", affinity),))


def _tolerates(rng: random.Random) -> _Draw:
    return _Draw(gpus=rng.choice((1, 2)), vendor="nvidia", models=(L40S,), pod=(("tolerations", [TOLERATION]),))


def _nowhere_gpus(rng: random.Random) -> _Draw:
    return _Draw(gpus=16, vendor=rng.choice(("nvidia", "amd")), resource=NVIDIA_GPU)


def _nowhere_model(rng: random.Random) -> _Draw:
    return _Draw(gpus=1, vendor="nvidia", models=(MISSING_MODEL,))


def _nowhere_affinity(rng: random.Random) -> _Draw:
    return _Draw(pod=_required({"key": "kubernetes.io/arch", "operator": "In", "values": ["s390x"]}))


def _nowhere_taint(rng: random.Random) -> _Draw:
    return _Draw(gpus=1, vendor="nvidia", models=(L40S,))


_DRAW = {
    "cpu": _cpu,
    "multi": _multi,
    "sidecar": _sidecar,
    "nvidia-model": _nvidia_model,
    "amd-model": _amd_model,
    "nvidia-vendor": _nvidia_vendor,
    "amd-vendor": _amd_vendor,
    "selector": _selector,
    "affinity-in": _affinity_in,
    "affinity-notin": _affinity_notin,
    "affinity-exists": _affinity_exists,
    "affinity-gt": _affinity_gt,
    "preferred": _preferred,
    "tolerates": _tolerates,
    "nowhere-gpus": _nowhere_gpus,
    "nowhere-model": _nowhere_model,
    "nowhere-affinity": _nowhere_affinity,
    "nowhere-taint": _nowhere_taint,
}


def _manifest(name: str, run: str, namespace: str, run_for: str, d: _Draw) -> dict[str, Any]:
    resource = AMD_GPU if d.vendor == "amd" else d.resource
    containers = _containers(d, resource)
    init = []
    if d.sidecar:
        sidecar: dict[str, Any] = {"requests": {"cpu": "250m", "memory": "64Mi"}}
        if d.gpus:
            sidecar["limits"] = {resource: 1}
        init.append({"name": "sidecar", "image": "busybox", "restartPolicy": "Always", "resources": sidecar})
    resources: dict[str, Any] = {}
    if not d.derive:
        resources["cpu"] = f"{d.cpu_m + (250 if d.sidecar else 0)}m"
        resources["memory"] = f"{d.memory_mi + (64 if d.sidecar else 0)}Mi"
    if d.gpus:
        accelerators: dict[str, Any] = {"vendor": d.vendor} if d.vendor else {}
        if d.models:
            accelerators["models"] = list(d.models)
        if not d.derive:
            accelerators["count"] = d.gpus
        resources["accelerators"] = accelerators
    pod_spec: dict[str, Any] = {"restartPolicy": "Never", "containers": containers, **dict(d.pod)}
    if init:
        pod_spec["initContainers"] = init
    spec: dict[str, Any] = {
        "replicas": d.replicas,
        "template": {
            "spec": {
                "backoffLimit": 0,
                "template": {"metadata": {"annotations": {RUN_ANNOTATION: run_for}}, "spec": pod_spec},
            }
        },
    }
    if resources:
        spec["resources"] = resources
    return {
        "apiVersion": API_VERSION,
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": namespace, "labels": {MIX_LABEL: run}},
        "spec": spec,
    }


def _containers(d: _Draw, resource: str) -> list[dict[str, Any]]:
    """`d.containers` containers whose requests add up to the draw's cpu and memory (and GPUs)."""
    n = d.containers
    cpu = [d.cpu_m // n + (d.cpu_m % n if i == 0 else 0) for i in range(n)]
    memory = [d.memory_mi // n + (d.memory_mi % n if i == 0 else 0) for i in range(n)]
    out = []
    for i in range(n):
        res: dict[str, Any] = {"requests": {"cpu": f"{cpu[i]}m", "memory": f"{memory[i]}Mi"}}
        gpus = d.gpus - (1 if d.sidecar and d.gpus else 0)
        if i == 0 and gpus:
            res["limits"] = {resource: gpus}
        out.append({"name": "main" if i == 0 else f"worker-{i}", "image": "busybox", "resources": res})
    return out
