"""One task, two vendors, on the real federation: the AMD variant runs on the AMD member while the H100s are full.

A pool of two one-node identifiers: an H100 node of member-1 and an MI300X node of member-2. A pod
created directly in member-1 takes all 8 H100s (bound by the member's own kube-scheduler), and the
identifier shows the node full. A task of two variants (h100 first, mi300x second, each with its
own image, args and env) then goes to the pool: it must run on the MI300X identifier, its Job in
member-2 rendered with the mi300x variant (the ROCm image and env, ``amd.com/gpu``, pinned to the
MI300X), and its status must name the variant and say what the h100 variant lacked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from computenet.api.constants import TASK_UID_LABEL
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from computenet.testing.topology import default_shape
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

NAMESPACE = "variants"
POOL = "variants"
CASE_LABEL = "case.computenet.io/pool"
H100 = "NVIDIA-H100-80GB-HBM3"
MI300X = "AMD-Instinct-MI300X"
NV, AMD = "variants-h100", "variants-mi300x"


def _get(cluster: Cluster, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return result


def _idle(member: Cluster, group: str) -> str:
    """A node of `group` in `member` without a pod that holds resources."""
    for node in _get(member, "nodes", "-l", f"computenet.io/node-group={group}")["items"]:
        name = node["metadata"]["name"]
        selector = f"spec.nodeName={name},status.phase!=Succeeded,status.phase!=Failed"
        if not _get(member, "pods", "-A", "--field-selector", selector)["items"]:
            return str(name)
    raise AssertionError(f"every {group} node of {member.name} runs pods")


def _identifier(index: int, member: Cluster, name: str, node: str) -> dict[str, Any]:
    shape = default_shape(index)
    manifest = devenv.identifier_manifest(index, member, shape, [shape.region])
    manifest["metadata"] = {"name": name, "labels": {CASE_LABEL: "variants"}}
    manifest["spec"]["uri"] = f"cpi://{manifest['spec']['provider']}/{shape.region}/{member.name}/{name}"
    manifest["spec"]["connection"]["nodeSelector"] = {"matchLabels": {"kubernetes.io/hostname": node}}
    return manifest


def _free(hub: Cluster, identifier: str, model: str) -> int | None:
    status = _get(hub, "computeidentifier", identifier).get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), {})
    if ready.get("status") != "True":
        return None
    row = (status.get("accelerators") or {}).get(model) or {}
    return row.get("free")


@pytest.fixture(scope="module")
def h100_full(operator: devenv.OperatorProcess, hub: Cluster, federation: Federation) -> Iterator[None]:
    """The two-identifier pool, with every H100 of its NVIDIA identifier held by a pod of member-1."""
    nvidia, amd = federation.members[0], federation.members[1]
    h100_node, mi300x_node = _idle(nvidia, "h100"), _idle(amd, "mi300x")
    pool = {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputePool",
        "metadata": {"name": POOL},
        "spec": {"identifierSelector": {"matchLabels": {CASE_LABEL: "variants"}}},
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    holder = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "h100-holder", "namespace": NAMESPACE},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": h100_node},
            "containers": [
                {
                    "name": "holder",
                    "image": "registry.example/holder:1",
                    "resources": {"requests": {"cpu": "1"}, "limits": {"nvidia.com/gpu": 8}},
                }
            ],
        },
    }
    devenv.apply(hub, _identifier(1, nvidia, NV, h100_node), _identifier(2, amd, AMD, mi300x_node), pool, namespace)
    devenv.apply(nvidia, namespace, holder)
    try:
        eventually(lambda: _get(nvidia, "pod", "h100-holder", "-n", NAMESPACE)["spec"].get("nodeName") == h100_node,
                   timeout=STATE_S)  # fmt: skip
        eventually(lambda: _free(hub, NV, H100) == 0, timeout=JOB_S)
        eventually(lambda: _free(hub, AMD, MI300X) == 8, timeout=STATE_S)
        yield
    finally:
        hub.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)
        hub.kubectl("delete", "computepool", POOL, "--ignore-not-found", check=False)
        hub.kubectl("delete", "computeidentifier", NV, AMD, "--ignore-not-found", check=False)
        nvidia.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


def _task() -> dict[str, Any]:
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": "train", "namespace": NAMESPACE},
        "spec": {
            "pool": POOL,
            "resources": {"cpu": "2", "memory": "8Gi"},
            "variants": [
                {
                    "name": "h100",
                    "accelerators": {"vendor": "nvidia", "models": [H100], "count": 8},
                    "containers": [
                        {"name": "train", "image": "registry.example/train:cuda12",
                         "env": [{"name": "BACKEND", "value": "cuda"}]}
                    ],
                },
                {
                    "name": "mi300x",
                    "accelerators": {"vendor": "amd", "count": 4},
                    "containers": [
                        {"name": "train", "image": "registry.example/train:rocm6", "args": ["--backend", "rocm"],
                         "env": [{"name": "BACKEND", "value": "rocm"}]}
                    ],
                },
            ],
            "template": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "metadata": {"annotations": {"sim.computenet.io/run-duration": "10s"}},
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [
                                {"name": "train", "image": "registry.example/train:base",
                                 "env": [{"name": "BACKEND", "value": "none"}, {"name": "EPOCHS", "value": "1"}]}
                            ],
                        },
                    },
                }
            },
        },
    }  # fmt: skip


def test_a_two_variant_task_runs_the_amd_variant_on_the_amd_member_while_the_h100s_are_full(
    h100_full: None, hub: Cluster, federation: Federation
) -> None:
    amd = federation.members[1]
    devenv.apply(hub, _task())

    def dispatched_job() -> dict[str, Any] | None:
        uid = _get(hub, "computetask", "train", "-n", NAMESPACE)["metadata"]["uid"]
        jobs = _get(amd, "jobs", "-A", "-l", f"{TASK_UID_LABEL}={uid}")["items"]
        return jobs[0] if jobs else None

    job = eventually(dispatched_job, timeout=JOB_S)
    pod = job["spec"]["template"]["spec"]
    train = pod["containers"][0]
    assert train["image"] == "registry.example/train:rocm6"
    assert train["args"] == ["--backend", "rocm"]
    assert {e["name"]: e["value"] for e in train["env"]} == {"BACKEND": "rocm", "EPOCHS": "1"}
    assert train["resources"]["limits"]["amd.com/gpu"] == "4"
    assert "nvidia.com/gpu" not in train["resources"]["limits"]
    assert pod["nodeSelector"]["amd.com/gpu.product-name"] == MI300X

    task = eventually(
        lambda: (t := _get(hub, "computetask", "train", "-n", NAMESPACE))["status"].get("phase") == "Succeeded" and t,
        timeout=JOB_S,
    )
    placement = task["status"]["placement"]
    assert (placement["identifier"], placement["variant"], placement["acceleratorModel"]) == (AMD, "mi300x", MI300X)
    assert placement["resources"]["accelerators"] == 4
    assert task["status"]["usage"]["gpuSecondsByModel"].get(MI300X, 0) > 0, "usage counts the MI300X devices"
    rejected = {v["identifier"]: v["message"] for v in placement["explanation"].get("rejected") or []}
    assert rejected[NV].startswith("variant h100: 0 nvidia.com/gpu"), rejected
    assert placement["explanation"]["candidates"][0]["variant"] == "mi300x"
