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

    def label(self, key: str, value: str) -> NodeBuilder:
        self.obj["metadata"]["labels"][key] = value
        return self

    def not_ready(self) -> NodeBuilder:
        self.obj["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
        return self

    def cordoned(self) -> NodeBuilder:
        self.obj["spec"]["unschedulable"] = True
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
