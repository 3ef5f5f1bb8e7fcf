"""Builders for Kubernetes node and pod objects as a member's API server returns them."""

from __future__ import annotations

from typing import Any


class NodeBuilder:
    def __init__(self, name: str) -> None:
        self.obj: dict[str, Any] = {
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {},
            "status": {
                "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }

    def cpu(self, q: str) -> NodeBuilder:
        self.obj["status"]["capacity"]["cpu"] = self.obj["status"]["allocatable"]["cpu"] = q
        return self

    def gpus(self, count: int, product: str, resource: str = "nvidia.com/gpu") -> NodeBuilder:
        for key in ("capacity", "allocatable"):
            self.obj["status"][key][resource] = str(count)
        label = "nvidia.com/gpu.product" if resource == "nvidia.com/gpu" else "amd.com/gpu.product-name"
        self.obj["metadata"]["labels"][label] = product
        return self

    def units(self, resource: str, count: int, **labels: str) -> NodeBuilder:
        """`count` units of any device-plugin resource (MIG slices, shared replicas) and the labeller's labels."""
        for key in ("capacity", "allocatable"):
            self.obj["status"][key][resource] = str(count)
        self.obj["metadata"]["labels"].update(labels)
        return self

    def label(self, key: str, value: str) -> NodeBuilder:
        self.obj["metadata"]["labels"][key] = value
        return self

    def not_ready(self) -> NodeBuilder:
        self.obj["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
        return self

    def cordoned(self) -> NodeBuilder:
        self.obj["spec"]["unschedulable"] = True
        return self

    def taint(self, key: str, effect: str = "NoSchedule", value: str = "") -> NodeBuilder:
        self.obj["spec"].setdefault("taints", []).append({"key": key, "value": value, "effect": effect})
        return self

    def pods(self, slots: int) -> NodeBuilder:
        for key in ("capacity", "allocatable"):
            self.obj["status"][key]["pods"] = str(slots)
        return self

    def build(self) -> dict[str, Any]:
        return self.obj


def node(name: str) -> NodeBuilder:
    return NodeBuilder(name)


def pod(
    name: str,
    node_name: str | None,
    *,
    cpu: str = "1",
    gpus: int = 0,
    phase: str = "Running",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    limits = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    return {
        "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
        "spec": {
            **({"nodeName": node_name} if node_name else {}),
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}, "limits": limits}}],
        },
        "status": {"phase": phase},
    }


def pod_of(
    name: str,
    node_name: str | None,
    spec: dict[str, Any],
    *,
    phase: str = "Running",
    deleting: bool = False,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A pod with the given spec (containers, initContainers, overhead, resources)."""
    metadata: dict[str, Any] = {"name": name, "namespace": "default", "labels": {}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "metadata": metadata,
        "spec": {**({"nodeName": node_name} if node_name else {}), **spec},
        "status": {"phase": phase, **(status or {})},
    }


def gpu_sidecar_pod(name: str, node_name: str | None, *, phase: str = "Running") -> dict[str, Any]:
    """Case 01's pod: a native sidecar and the main container each hold one GPU (limits only)."""
    gpu = {"limits": {"nvidia.com/gpu": 1}}
    spec = {
        "initContainers": [{"name": "telemetry-sidecar", "restartPolicy": "Always", "resources": gpu}],
        "containers": [{"name": "trainer", "resources": gpu}],
    }
    return pod_of(name, node_name, spec, phase=phase)
