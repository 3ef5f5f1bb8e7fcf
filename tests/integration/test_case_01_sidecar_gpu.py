"""Case 01: requests a pod holds on a node are counted as kube-scheduler counts them.

A one-node partition identifier of member-1 (an idle L4 node, 2 GPUs, 16 cpu) and a pool of just
that identifier. Pods created directly in the member fill the node in ways the old accounting got
wrong: a native sidecar (``restartPolicy: Always``) holding a GPU beside the main container's, and
a sidecar plus an init container plus RuntimeClass overhead holding cpu. Each time the member's
own kube-scheduler is asked first (a pod that needs the rest stays Unschedulable), then the
identifier's status must show the node as full and a probe task must wait with Placed=NoFit and
nothing dispatched. Freeing the node lets the first probe run, so the wait was about capacity.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from computenet.api.constants import TASK_UID_LABEL
from computenet.testing import devenv
from computenet.testing.federation import Cluster
from computenet.testing.topology import default_shape
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

NAMESPACE = "case-01"
IDENTIFIER = "case-01-l4"
POOL = "case-01"
CASE_LABEL = "case.computenet.io/pool"
RUNTIME_CLASS = "case-01-overhead"
L4 = "NVIDIA-L4"
L4_NODES = ("l4-3", "l4-2", "l4-1", "l4-0")


def _get(cluster: Cluster, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return result


def _identifier_status(hub: Cluster) -> dict[str, Any]:
    return _get(hub, "computeidentifier", IDENTIFIER).get("status") or {}


def _condition(obj_status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in obj_status.get("conditions") or [] if c["type"] == type_), {})


def _leading(operator: devenv.OperatorProcess) -> bool:
    """Whether the operator holds the leader Lease and works (its ``computenet_leader`` gauge is 1)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except (urllib.error.URLError, OSError):
        return False
    return "computenet_leader 1.0" in text.splitlines()


def _ready(hub: Cluster) -> bool:
    status = _identifier_status(hub)
    assert _condition(status, "Ready").get("status") == "True", status
    return True


def _idle_l4_node(member: Cluster) -> str:
    """An L4 node of member-1 without a pod that holds resources."""
    for name in L4_NODES:
        selector = f"spec.nodeName={name},status.phase!=Succeeded,status.phase!=Failed"
        if not _get(member, "pods", "-A", "--field-selector", selector)["items"]:
            return name
    raise AssertionError(f"every L4 node of {member.name} runs pods: {L4_NODES}")


@pytest.fixture(scope="module")
def partition(operator: devenv.OperatorProcess, hub: Cluster, member: Cluster) -> Iterator[str]:
    """The one-node identifier and its pool; yields the node's name."""
    node = _idle_l4_node(member)
    identifier = devenv.identifier_manifest(1, member, default_shape(1), ["cn-east"])
    identifier["metadata"] = {"name": IDENTIFIER, "labels": {CASE_LABEL: "c01"}}
    identifier["spec"]["uri"] = f"cpi://east-cloud/cn-east/{member.name}/case-01"
    identifier["spec"]["connection"]["nodeSelector"] = {"matchLabels": {"kubernetes.io/hostname": node}}
    pool = {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputePool",
        "metadata": {"name": POOL},
        "spec": {"identifierSelector": {"matchLabels": {CASE_LABEL: "c01"}}},
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    runtime_class = {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": RUNTIME_CLASS},
        "handler": "runc",
        "overhead": {"podFixed": {"cpu": "1", "memory": "1Gi"}},
    }
    # A restarted operator stands by while it loads; on a loaded machine that takes a while.
    eventually(lambda: _leading(operator), timeout=JOB_S)
    devenv.apply(hub, identifier, pool, namespace)
    devenv.apply(member, namespace, runtime_class)
    try:
        eventually(lambda: _ready(hub), timeout=STATE_S)
        yield node
    finally:
        hub.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)
        hub.kubectl("delete", "computepool", POOL, "--ignore-not-found", check=False)
        hub.kubectl("delete", "computeidentifier", IDENTIFIER, "--ignore-not-found", check=False)
        member.kubectl("delete", "namespace", NAMESPACE, check=False)
        member.kubectl("delete", "runtimeclass", RUNTIME_CLASS, "--ignore-not-found", check=False)


def _pod(name: str, node: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"nodeSelector": {"kubernetes.io/hostname": node}, **spec},
    }


def _container(name: str, resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "registry.example/case-01:1.0", "resources": resources, **extra}


def _bound_to(member: Cluster, name: str, node: str) -> bool:
    return bool(_get(member, "pod", name, "-n", NAMESPACE)["spec"].get("nodeName") == node)


def _unschedulable(member: Cluster, name: str) -> dict[str, Any]:
    """The PodScheduled=False condition kube-scheduler left on a pod it could not place."""
    scheduled = _condition(_get(member, "pod", name, "-n", NAMESPACE).get("status") or {}, "PodScheduled")
    assert (scheduled.get("status"), scheduled.get("reason")) == ("False", "Unschedulable"), scheduled
    return scheduled


def _probe(name: str, *, cpu: str, gpus: int) -> dict[str, Any]:
    resources: dict[str, Any] = {"cpu": cpu, "memory": "1Gi"}
    container: dict[str, Any] = {"requests": {"cpu": cpu, "memory": "1Gi"}}
    if gpus:
        resources["accelerators"] = {"count": gpus, "vendor": "nvidia", "models": [L4]}
        container["limits"] = {"nvidia.com/gpu": gpus}
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "pool": POOL,
            "resources": resources,
            "template": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "metadata": {"annotations": {"sim.computenet.io/run-duration": "1s"}},
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [
                                {"name": "main", "image": "registry.example/probe:1.0", "resources": container}
                            ],
                        },
                    },
                }
            },
        },
    }


def _task(hub: Cluster, name: str) -> dict[str, Any]:
    return _get(hub, "computetask", name, "-n", NAMESPACE)


def _waits_with_no_fit(hub: Cluster, member: Cluster, name: str) -> dict[str, Any]:
    """The probe's Placed=False NoFit condition, once it is there; it is Pending and has no Job."""
    placed = eventually(
        lambda: (c := _condition(_task(hub, name).get("status") or {}, "Placed")).get("reason") == "NoFit" and c
    )
    task = _task(hub, name)
    assert placed["status"] == "False"
    assert task["status"]["phase"] == "Pending"
    uid = task["metadata"]["uid"]
    assert not _get(member, "jobs", "-A", "-l", f"{TASK_UID_LABEL}={uid}")["items"]
    return placed


def _l4(hub: Cluster) -> dict[str, Any]:
    accelerators: dict[str, Any] = _identifier_status(hub).get("accelerators") or {}
    return accelerators.get(L4) or {}


def test_sidecar_gpu_fills_the_node_and_the_probe_waits(partition: str, hub: Cluster, member: Cluster) -> None:
    node = partition
    gpu = {"limits": {"nvidia.com/gpu": 1}}
    holder = _pod(
        "sidecar-holder",
        node,
        {
            "initContainers": [_container("telemetry-sidecar", gpu, restartPolicy="Always")],
            "containers": [_container("trainer", gpu)],
        },
    )
    one_more = _pod("one-more-gpu", node, {"containers": [_container("main", gpu)]})
    devenv.apply(member, holder)
    eventually(lambda: _bound_to(member, "sidecar-holder", node))
    # The member's own scheduler has given both GPUs away: one more GPU pod cannot be placed.
    devenv.apply(member, one_more)
    eventually(lambda: _unschedulable(member, "one-more-gpu"))

    l4 = eventually(lambda: (s := _l4(hub)).get("allocated") == 2 and s)
    assert (l4["allocatable"], l4["allocated"], l4["free"], l4["largestFreeSlot"]) == (2, 2, 0, 0)

    devenv.apply(hub, _probe("probe", cpu="1", gpus=1))
    placed = _waits_with_no_fit(hub, member, "probe")
    assert placed["message"].startswith("0/1 identifiers fit"), placed["message"]

    # Freeing the node lets the same probe run there: it waited for capacity, nothing else.
    member.kubectl("delete", "pod", "sidecar-holder", "one-more-gpu", "-n", NAMESPACE)
    done = eventually(lambda: (t := _task(hub, "probe")["status"]).get("phase") == "Succeeded" and t, timeout=JOB_S)
    assert done["placement"]["identifier"] == IDENTIFIER


def test_sidecar_init_container_and_overhead_cpu_fill_the_node(partition: str, hub: Cluster, member: Cluster) -> None:
    node = partition
    eventually(lambda: _l4(hub).get("allocated") == 0 and _identifier_status(hub)["resources"]["free"]["cpu"] == "16")
    # Charged 15 of the node's 16 cpu: main 6 + sidecar 8 (its init step, setup 2 + sidecar 8, is
    # less) + RuntimeClass overhead 1. Counting the init containers as a max would give 8 + 1.
    holder = _pod(
        "cpu-holder",
        node,
        {
            "runtimeClassName": RUNTIME_CLASS,
            "initContainers": [
                _container("proxy", {"requests": {"cpu": "8"}}, restartPolicy="Always"),
                _container("setup", {"requests": {"cpu": "2"}}),
            ],
            "containers": [_container("main", {"requests": {"cpu": "6"}})],
        },
    )
    devenv.apply(member, holder)
    eventually(lambda: _bound_to(member, "cpu-holder", node))
    assert _get(member, "pod", "cpu-holder", "-n", NAMESPACE)["spec"]["overhead"] == {"cpu": "1", "memory": "1Gi"}
    devenv.apply(member, _pod("two-more-cpu", node, {"containers": [_container("main", {"requests": {"cpu": "2"}})]}))
    eventually(lambda: _unschedulable(member, "two-more-cpu"))

    resources = eventually(lambda: (r := _identifier_status(hub)["resources"])["allocated"].get("cpu") == "15" and r)
    assert resources["free"]["cpu"] == "1"
    assert resources["allocated"]["memory"] == "1Gi"
    assert resources["allocated"]["pods"] == "1"

    devenv.apply(hub, _probe("cpu-probe", cpu="2", gpus=0))
    _waits_with_no_fit(hub, member, "cpu-probe")
