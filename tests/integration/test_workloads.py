"""Workloads of other kinds than a Job, run by the members' own controllers: Deployments and StatefulSets.

A serving task runs while every replica is available, never succeeds by itself, and is removed
from its member when the task is deleted; its pods land on the nodes placement chose.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from computenet.testing import devenv
from computenet.testing.federation import Federation
from support.tasks import apply, phase_is, status, unique
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually


def serving(name: str, kind: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "resources": {"cpu": "500m", "memory": "512Mi"},
            "workload": {
                "apiVersion": "apps/v1",
                "kind": kind,
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "server", "image": "registry.example/server:1"}]},
                    }
                },
            },
        },
    }


def _member_object(federation: Federation, remote: dict[str, Any]) -> dict[str, Any] | None:
    member = next(m for m in federation.members if m.name == remote["identifier"])
    out = member.kubectl(
        "-n", remote["namespace"], "get", remote["kind"].lower(), remote["name"], "--ignore-not-found", "-o", "json"
    ).stdout
    return json.loads(out) if out.strip() else None


def _pods(federation: Federation, remote: dict[str, Any], uid: str) -> list[dict[str, Any]]:
    member = next(m for m in federation.members if m.name == remote["identifier"])
    out = member.kubectl("-n", remote["namespace"], "get", "pods", "-l", f"computenet.io/task-uid={uid}", "-o", "json")
    return list(json.loads(out.stdout)["items"])


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_a_serving_workload_runs_while_available_and_goes_with_its_task(
    operator: devenv.OperatorProcess, federation: Federation, kind: str
) -> None:
    hub = federation.hub
    name = unique(kind.lower())
    apply(hub, serving(name, kind))
    try:
        st = eventually(lambda: phase_is(hub, name, "Running"), timeout=JOB_S)
        remote = st["remote"]
        assert (remote["apiVersion"], remote["kind"]) == ("apps/v1", kind)
        obj = _member_object(federation, remote)
        assert obj is not None
        assert obj["spec"]["replicas"] == 2
        assert (obj["status"].get("availableReplicas") or 0) == 2
        uid = json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"]
        pods = _pods(federation, remote, uid)
        assert len(pods) == 2
        assert {p["spec"]["nodeName"] for p in pods} <= set(st["placement"]["nodes"])
        assert all(p["metadata"]["labels"]["app"] == name for p in pods)
        # Serving: it does not end by itself, and reads as Running while available.
        again = status(hub, name)
        assert again["phase"] == "Running"
        assert "completionTime" not in again
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")
    eventually(lambda: _member_object(federation, remote) is None, timeout=STATE_S)


def test_a_workload_whose_replicas_disagree_with_the_task_is_invalid(
    operator: devenv.OperatorProcess, federation: Federation
) -> None:
    hub = federation.hub
    name = unique("replicas")
    manifest = serving(name, "Deployment")
    manifest["spec"]["workload"]["spec"]["replicas"] = 3
    apply(hub, manifest)
    try:
        st = eventually(
            lambda: (
                (s := status(hub, name))
                and any(c["type"] == "Valid" and c["status"] == "False" for c in s.get("conditions") or [])
                and s
            ),
            timeout=STATE_S,
        )
        valid = next(c for c in st["conditions"] if c["type"] == "Valid")
        assert "spec.workload.spec.replicas" in valid["message"]
        assert "remote" not in st
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")


def test_a_kind_the_api_does_not_take_is_refused_at_apply(federation: Federation) -> None:
    manifest = serving(unique("daemon"), "Deployment")
    manifest["spec"]["workload"]["kind"] = "DaemonSet"
    refused = federation.hub.kubectl("apply", "-f", "-", input=json.dumps(manifest), check=False)
    assert refused.returncode != 0
    assert "spec.workload.kind" in refused.stderr
    assert "DaemonSet" in refused.stderr
