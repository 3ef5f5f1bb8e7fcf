"""A kind declared on the hub (ComputeWorkloadKind) runs through the operator: a Kubeflow TrainJob.

member-1 runs the upstream JobSet controller and the Kubeflow trainer (v2.0.0), whose controller
turns a TrainJob into a JobSet, and has a ClusterTrainingRuntime whose pods kwok completes; member-2
runs neither and serves no TrainJob. The TrainJob kind is declared by samples/workloadkind-trainjob.yaml
and nothing else: the operator has no code for it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from computenet.testing.topology import MemberShape, default_shape
from support.settings import OPERATOR_ENV
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

ROOT = Path(__file__).resolve().parents[2]
SIM = {"sim.computenet.io/run-duration": "2s"}
SHAPES: list[MemberShape] = [
    dataclasses.replace(default_shape(1), controllers=("jobset", "trainer")),
    default_shape(2),
]
RUNTIME = {
    "apiVersion": "trainer.kubeflow.org/v1alpha1",
    "kind": "ClusterTrainingRuntime",
    "metadata": {"name": "kwok-torch", "labels": {"trainer.kubeflow.org/framework": "torch"}},
    "spec": {
        "mlPolicy": {"numNodes": 1, "torch": {"numProcPerNode": "auto"}},
        "template": {
            "spec": {
                "replicatedJobs": [
                    {
                        "name": "node",
                        "template": {
                            "metadata": {"labels": {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}},
                            "spec": {
                                "template": {
                                    "metadata": {"annotations": SIM},
                                    "spec": {"containers": [{"name": "node", "image": "pytorch/pytorch:2.7.1"}]},
                                }
                            },
                        },
                    }
                ]
            }
        },
    },
}
"""A torch runtime like upstream's torch-distributed, its pods run by kwok for two seconds."""


def _sample(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "samples" / name).read_text())
    return document


def _get(cluster: Cluster, *args: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return out


def _accepted(hub: Cluster, name: str) -> dict[str, Any]:
    cwk = _get(hub, "computeworkloadkind", name)
    cond = next((c for c in cwk.get("status", {}).get("conditions") or () if c["type"] == "Accepted"), None)
    assert cond is not None, cwk.get("status")
    return {**cond, "memberRule": cwk["status"].get("memberRule")}


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    federation = Federation.start(tmp_path_factory.mktemp("federation"), shapes=SHAPES)
    try:
        devenv.install_crds(federation.hub)
        devenv.register_members(federation, SHAPES)
        devenv.start_operator(federation, OPERATOR_ENV)
        federation.members[0].kubectl("create", "-f", "-", input=yaml.safe_dump(RUNTIME))
        yield federation
    finally:
        federation.stop()


def test_an_invalid_declaration_is_not_accepted_and_names_the_field(fed: Federation) -> None:
    bad = copy.deepcopy(_sample("workloadkind-trainjob.yaml"))
    bad["metadata"]["name"] = "broken"
    bad["spec"]["kind"] = "BrokenJob"
    bad["spec"]["podSets"][0]["count"] = "spec..numNodes"
    devenv.apply(fed.hub, bad)

    def refused() -> dict[str, Any]:
        cond = _accepted(fed.hub, "broken")
        assert cond["status"] == "False", cond
        return cond

    cond = eventually(refused, STATE_S)
    assert cond["message"].startswith("spec.podSets[0].count: 'spec..numNodes' is not a field path"), cond


def test_a_declared_trainjob_runs_to_succeeded_through_its_members_trainer(fed: Federation) -> None:
    hub, member_1 = fed.hub, fed.members[0]
    devenv.apply(hub, _sample("workloadkind-trainjob.yaml"))

    def accepted() -> dict[str, Any]:
        cond = _accepted(hub, "trainjobs.trainer.kubeflow.org")
        assert cond["status"] == "True", cond
        return cond

    rule = eventually(accepted, STATE_S)["memberRule"]
    assert rule == {
        "apiGroups": ["trainer.kubeflow.org"],
        "resources": ["trainjobs"],
        "verbs": ["get", "list", "watch", "create", "delete", "patch"],
    }
    # What the provider adds for a declared kind: deploy/member-rbac.yaml aggregates it for the operator.
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "computenet-member-trainjobs", "labels": {"computenet.io/member-workload-kind": "true"}},
        "rules": [rule],
    }
    member_1.kubectl("create", "-f", "-", input=yaml.safe_dump(role))

    task = _sample("task-trainjob.yaml")
    task["metadata"] = {"name": "trainjob", "namespace": "default"}
    task["spec"].pop("pool", None)
    task["spec"]["workload"]["spec"]["runtimeRef"]["name"] = "kwok-torch"
    devenv.apply(hub, task)

    def succeeded() -> dict[str, Any]:
        st = _get(hub, "computetask", "trainjob").get("status") or {}
        assert st.get("phase") == "Succeeded", (st.get("phase"), st.get("conditions"))
        return st

    st = eventually(succeeded, JOB_S)
    assert st["placement"]["identifier"] == "member-1", "member-2 serves no TrainJob"
    (pod_set,) = st["placement"]["podSets"]
    assert pod_set["role"] == "node"
    assert len(pod_set["nodes"]) == 2, "8 GPUs a node: one pod per H100 node"
    uid = _get(hub, "computetask", "trainjob")["metadata"]["uid"]
    trainjobs = _get(member_1, "trainjobs", "-A", "-l", f"computenet.io/task-uid={uid}")["items"]
    assert len(trainjobs) == 1, "exactly one remote TrainJob"
    remote = trainjobs[0]
    assert remote["metadata"]["annotations"]["computenet.io/origin"] == "default/trainjob"
    jobset = _get(member_1, "jobset", remote["metadata"]["name"], "-n", remote["metadata"]["namespace"])
    assert jobset["metadata"]["ownerReferences"][0]["kind"] == "TrainJob", "the trainer built it"
    pods = _get(
        member_1, "pods", "-n", remote["metadata"]["namespace"], "-l",
        f"jobset.sigs.k8s.io/jobset-name={remote['metadata']['name']}",
    )["items"]  # fmt: skip
    assert len(pods) == 2
    assert {p["status"]["phase"] for p in pods} == {"Succeeded"}
    for pod in pods:
        requests = pod["spec"]["containers"][0]["resources"]["requests"]
        assert requests["nvidia.com/gpu"] == "8", "resourcesPerNode reached the pods: what was placed ran"

    fed.hub.kubectl("delete", "computetask", "trainjob", "-n", "default", "--wait=false")

    def removed() -> bool:
        left = _get(member_1, "trainjobs", "-A", "-l", f"computenet.io/task-uid={uid}")["items"]
        assert left == [], [t["metadata"]["name"] for t in left]
        return True

    eventually(removed, STATE_S)
