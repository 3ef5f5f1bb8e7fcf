"""ComputeTasks as the tests build and read them on the real hub and members."""

from __future__ import annotations

import json
import uuid
from typing import Any

import yaml

from computenet.api.constants import TASK_UID_LABEL
from computenet.testing.federation import Cluster, Federation

TERMINAL = {"Succeeded", "Failed", "Cancelled"}


def task(
    name: str,
    *,
    namespace: str = "default",
    cpu: str = "500m",
    gpus: int = 0,
    models: list[str] | None = None,
    replicas: int = 1,
    run: str = "1s",
    suspend: bool = False,
    regions: list[str] | None = None,
    grace: int | None = None,
    outcome: str | None = None,
) -> dict[str, Any]:
    resources: dict[str, Any] = {"cpu": cpu, "memory": "1Gi"}
    container_resources: dict[str, Any] = {"requests": {"cpu": cpu, "memory": "1Gi"}}
    if gpus:
        resources["accelerators"] = {"count": gpus, "vendor": "nvidia", **({"models": models} if models else {})}
        container_resources["limits"] = {"nvidia.com/gpu": gpus}
    annotations = {"sim.computenet.io/run-duration": run}
    if outcome:
        annotations["sim.computenet.io/outcome"] = outcome
    spec: dict[str, Any] = {
        "replicas": replicas,
        "resources": resources,
        "suspend": suspend,
        "template": {
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"annotations": annotations},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "main", "image": "busybox", "resources": container_resources}],
                    },
                },
            }
        },
    }
    if regions:
        spec["constraints"] = {"regions": {"required": regions}}
    if grace is not None:
        spec["failover"] = {"policy": "Requeue", "gracePeriodSeconds": grace}
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def apply(hub: Cluster, *objects: dict[str, Any]) -> None:
    for start in range(0, len(objects), 100):
        hub.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects[start : start + 100]))


def tasks(hub: Cluster, namespace: str = "default", selector: str | None = None) -> list[dict[str, Any]]:
    args = ["get", "computetasks", "-n", namespace, "-o", "json"]
    if selector:
        args += ["-l", selector]
    return json.loads(hub.kubectl(*args).stdout)["items"]


def status(hub: Cluster, name: str, namespace: str = "default") -> dict[str, Any]:
    obj = json.loads(hub.kubectl("get", "computetask", name, "-n", namespace, "-o", "json").stdout)
    return obj.get("status") or {}


def condition(st: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in st.get("conditions") or [] if c["type"] == type_), {})


def remote_jobs(federation: Federation) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Every Job with our origin labels in every member, by task UID."""
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for member in federation.members:
        items = json.loads(member.kubectl("get", "jobs", "-A", "-l", TASK_UID_LABEL, "-o", "json").stdout)["items"]
        for job in items:
            found.setdefault(job["metadata"]["labels"][TASK_UID_LABEL], []).append((member.name, job))
    return found


def events(hub: Cluster, name: str, namespace: str = "default") -> list[str]:
    items = json.loads(
        hub.kubectl(
            "get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}", "-o", "json"
        ).stdout
    )["items"]
    return [e["reason"] for e in items]


def phase_is(hub: Cluster, name: str, phase: str, namespace: str = "default") -> dict[str, Any]:
    st = status(hub, name, namespace)
    assert st.get("phase") == phase, st.get("phase")
    return st


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
