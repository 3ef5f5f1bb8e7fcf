"""A workload of several roles on the real federation: a JobSet of a leader and GPU workers.

The members do not run the JobSet controller here, so the JobSet's own CRD (sigs.k8s.io/jobset
v0.10.1, from the Go module cache) is installed in every member and what is checked is what the
operator does: one identifier for every role, exactly one remote JobSet, each replicated Job's
pods held to the nodes placed for it, and the JobSet removed with its task.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from support.tasks import apply, status, unique
from support.timeouts import STATE_S
from support.wait import eventually

JOBSET_MODULE = "sigs.k8s.io/jobset@v0.10.1"
JOBSET_CRD = "jobsets.jobset.x-k8s.io"


def _crd_file() -> Path:
    found = subprocess.run(
        ["go", "mod", "download", "-json", JOBSET_MODULE], check=True, capture_output=True, text=True
    )
    return Path(json.loads(found.stdout)["Dir"]) / "config/components/crd/bases/jobset.x-k8s.io_jobsets.yaml"


@pytest.fixture(scope="session")
def jobset_crd(federation: Federation) -> Iterator[None]:
    """The JobSet CRD in every member (before the operator starts, so its JobSet watches find it at once)."""
    crd = str(_crd_file())
    for member in federation.members:
        applied = member.kubectl("apply", "--server-side", "-f", crd, check=False)
        assert applied.returncode == 0, applied.stderr
    for member in federation.members:
        eventually(lambda m=member: _established(m), timeout=STATE_S)
    yield
    for member in federation.members:
        member.kubectl("delete", "crd", JOBSET_CRD, "--ignore-not-found", "--wait=false")


def _established(member: Cluster) -> bool:
    got = member.kubectl("get", "crd", JOBSET_CRD, "-o", "json", check=False)
    conditions = json.loads(got.stdout).get("status", {}).get("conditions", []) if got.returncode == 0 else []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def container(gpus: int = 0) -> dict[str, Any]:
    resources: dict[str, Any] = {"requests": {"cpu": "250m", "memory": "256Mi"}}
    if gpus:
        resources["limits"] = {"nvidia.com/gpu": gpus}
    return {"name": "main", "image": "registry.example/trainer:1", "resources": resources}


def jobset_task(name: str) -> dict[str, Any]:
    def replicated(role: str, replicas: int, gpus: int) -> dict[str, Any]:
        pod = {"spec": {"restartPolicy": "Never", "containers": [container(gpus)]}}
        return {"name": role, "replicas": replicas, "template": {"spec": {"backoffLimit": 0, "template": pod}}}

    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "resources": {"accelerators": {"vendor": "nvidia"}},
            "workload": {
                "apiVersion": "jobset.x-k8s.io/v1alpha2",
                "kind": "JobSet",
                "spec": {"replicatedJobs": [replicated("leader", 1, 0), replicated("workers", 2, 1)]},
            },
        },
    }


def jobsets(member: Cluster, uid: str) -> list[dict[str, Any]]:
    out = member.kubectl("get", "jobsets", "-A", "-l", f"computenet.io/task-uid={uid}", "-o", "json").stdout
    return list(json.loads(out)["items"])


def pinned(pod_spec: dict[str, Any]) -> set[str]:
    """The nodes a pod template is held to by its required node affinity on metadata.name."""
    terms = pod_spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    return {f["values"][0] for t in terms for f in t.get("matchFields", ()) if f["key"] == "metadata.name"}


def test_a_jobset_is_placed_on_one_identifier_and_each_replicated_job_held_to_its_nodes(
    federation: Federation, jobset_crd: None, operator: devenv.OperatorProcess
) -> None:
    hub = federation.hub
    name = unique("jobset")
    apply(hub, jobset_task(name))
    uid = json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"]
    try:
        st = eventually(lambda: (s := status(hub, name)).get("remote") and s, timeout=STATE_S)
        placement, remote = st["placement"], st["remote"]
        roles = {s["role"]: s for s in placement["podSets"]}
        assert {r: (s["replicas"], s["accelerators"]) for r, s in roles.items()} == {
            "leader": (1, 0),
            "workers": (2, 1),
        }
        assert (remote["kind"], remote["identifier"]) == ("JobSet", placement["identifier"])
        found = {m.name: jobsets(m, uid) for m in federation.members}
        assert sum(len(items) for items in found.values()) == 1, "exactly one remote JobSet"
        (obj,) = found[remote["identifier"]]
        member = next(m for m in federation.members if m.name == remote["identifier"])
        nodes = {
            n["metadata"]["name"] for n in json.loads(member.kubectl("get", "nodes", "-o", "json").stdout)["items"]
        }
        for replicated in obj["spec"]["replicatedJobs"]:
            pod = replicated["template"]["spec"]["template"]
            placed = set(roles[replicated["name"]]["nodes"])
            assert pinned(pod["spec"]) == placed, replicated["name"]
            assert placed <= nodes, "the placed nodes are the identifier's member's"
            assert pod["metadata"]["labels"]["computenet.io/task-uid"] == uid
        workers = next(r for r in obj["spec"]["replicatedJobs"] if r["name"] == "workers")
        requests = workers["template"]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
        assert requests["nvidia.com/gpu"] == "1", "what is dispatched is what was placed"
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")
    eventually(lambda: not any(jobsets(m, uid) for m in federation.members), timeout=STATE_S)
