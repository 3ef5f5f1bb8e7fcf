"""Case 05: the Job template's node affinity decides the member, over soft preferences that point elsewhere.

The case's federation is the dev one: member-1 (cn-east, amd64 only) and member-2 (cn-west, with
four arm64 "arm" nodes). The test federation has a third member with arm64 nodes too, so the
case's pool selects the first two members only, by a label put on their identifiers here. Every
task prefers cn-east (preferred region, 2Ti of data there), or cn-west where the constraint
points east, so only a hard constraint taken seriously sends it where its pods can run. Each
task's pods must also land, in the member, on a node the constraint admits.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

CASE_LABEL = "case-05.computenet.io/dev-member"
DEV_MEMBERS = ("member-1", "member-2")
WORKLOADS = "computenet-workloads"
ARM64 = {"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}


@pytest.fixture(scope="module")
def case_pool(operator: devenv.OperatorProcess, hub: Cluster) -> Iterator[str]:
    """A pool over member-1 and member-2, like the case's bug-pool on the dev federation."""
    for name in DEV_MEMBERS:
        hub.kubectl("label", "computeidentifier", name, f"{CASE_LABEL}=true", "--overwrite")
    pool = f"case-05-{uuid.uuid4().hex[:5]}"
    namespace = pool
    manifest = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": "computenet.io/v1alpha1",
            "kind": "ComputePool",
            "metadata": {"name": pool},
            "spec": {"identifierSelector": {"matchLabels": {CASE_LABEL: "true"}}},
        },
    ]
    devenv.apply(hub, *manifest)
    try:
        yield pool
    finally:
        hub.kubectl("delete", "namespace", namespace, "--wait=false")
        hub.kubectl("delete", "computepool", pool, "--wait=false")
        for name in DEV_MEMBERS:
            hub.kubectl("label", "computeidentifier", name, f"{CASE_LABEL}-")


def case_task(name: str, pool: str, pod: dict[str, Any], *, prefer: str = "cn-east", run: str = "3s") -> dict[str, Any]:
    """Case 05's task: 2 cores and 4Gi on cpu only, preferring `prefer` with its 2Ti of data there."""
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": pool},
        "spec": {
            "pool": pool,
            "resources": {"cpu": "2", "memory": "4Gi"},
            "constraints": {"regions": {"preferred": [prefer]}},
            "data": {"region": prefer, "size": "2Ti"},
            "template": {
                "spec": {
                    "template": {
                        "metadata": {"annotations": {"sim.computenet.io/run-duration": run}},
                        "spec": {**pod, "containers": [{"name": "main", "image": "registry.example/arm-only:1.0"}]},
                    }
                }
            },
        },
    }


def requiring(*expressions: dict[str, Any], fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    term: dict[str, Any] = {"matchExpressions": list(expressions)} if expressions else {}
    if fields:
        term["matchFields"] = fields
    selector = {"nodeSelectorTerms": [term]}
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": selector}}}


def status(hub: Cluster, name: str, namespace: str) -> dict[str, Any]:
    obj = json.loads(hub.kubectl("get", "computetask", name, "-n", namespace, "-o", "json").stdout)
    return obj.get("status") or {}


def succeeded(hub: Cluster, name: str, namespace: str) -> dict[str, Any]:
    st = status(hub, name, namespace)
    assert st.get("phase") == "Succeeded", (st.get("phase"), st.get("conditions"))
    return st


def pod_nodes(federation: Federation, member: str, job: str) -> list[dict[str, str]]:
    """Labels of the nodes the Job's pods ran on, in that member."""
    cluster = next(m for m in federation.members if m.name == member)
    pods = json.loads(cluster.kubectl("get", "pods", "-n", WORKLOADS, "-l", f"job-name={job}", "-o", "json").stdout)
    names = [p["spec"]["nodeName"] for p in pods["items"]]
    assert names, f"no pods of {job} in {member}"
    nodes = [json.loads(cluster.kubectl("get", "node", n, "-o", "json").stdout) for n in names]
    return [{**n["metadata"]["labels"], "metadata.name": n["metadata"]["name"]} for n in nodes]


def runs_on(hub: Cluster, federation: Federation, name: str, namespace: str) -> tuple[str, list[dict[str, str]]]:
    """Wait for the task to succeed; its identifier and the labels of the nodes its pods ran on."""
    st = eventually(lambda: succeeded(hub, name, namespace), timeout=JOB_S)
    identifier = st["placement"]["identifier"]
    return identifier, pod_nodes(federation, identifier, st["remote"]["name"])


def test_case_05_affinity_and_its_nodeselector_control_both_land_on_arm64(
    case_pool: str, hub: Cluster, federation: Federation
) -> None:
    affinity, selector = "arm-only-affinity", "arm-only-selector"
    devenv.apply(
        hub,
        case_task(affinity, case_pool, requiring(ARM64)),
        case_task(selector, case_pool, {"nodeSelector": {"kubernetes.io/arch": "arm64"}}),
    )
    for name in (affinity, selector):
        identifier, nodes = runs_on(hub, federation, name, case_pool)
        assert identifier == "member-2", name
        assert {n["kubernetes.io/arch"] for n in nodes} == {"arm64"}, name


@pytest.mark.parametrize(
    ("pod", "prefer", "member", "admits"),
    [
        pytest.param(
            requiring({"key": "kubernetes.io/arch", "operator": "NotIn", "values": ["amd64"]}),
            "cn-east",
            "member-2",
            lambda node: node["kubernetes.io/arch"] != "amd64",
            id="NotIn amd64 goes west although east is preferred",
        ),
        pytest.param(
            requiring({"key": "nvidia.com/gpu.count", "operator": "Gt", "values": ["4"]}),
            "cn-west",
            "member-1",
            lambda node: int(node["nvidia.com/gpu.count"]) > 4,
            id="Gt 4 on the GPU count label goes to the 8-GPU nodes east although west is preferred",
        ),
        pytest.param(
            requiring(fields=[{"key": "metadata.name", "operator": "In", "values": ["arm-2"]}]),
            "cn-east",
            "member-2",
            lambda node: node["metadata.name"] == "arm-2",
            id="matchFields metadata.name pins the node arm-2",
        ),
    ],
)
def test_other_required_affinities_pick_the_member_whose_nodes_match(
    case_pool: str,
    hub: Cluster,
    federation: Federation,
    pod: dict[str, Any],
    prefer: str,
    member: str,
    admits: Any,
) -> None:
    name = f"affinity-{uuid.uuid4().hex[:6]}"
    devenv.apply(hub, case_task(name, case_pool, pod, prefer=prefer))
    identifier, nodes = runs_on(hub, federation, name, case_pool)
    assert identifier == member
    assert all(admits(n) for n in nodes), nodes


def test_an_affinity_no_node_matches_keeps_the_task_pending_and_says_so(
    case_pool: str, hub: Cluster, federation: Federation
) -> None:
    name = f"s390x-{uuid.uuid4().hex[:6]}"
    pod = {
        **requiring({"key": "kubernetes.io/arch", "operator": "In", "values": ["s390x"]}),
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule"}
        ],
    }
    devenv.apply(hub, case_task(name, case_pool, pod))

    expected = (
        "0/2 identifiers fit: 2 no node matches the pod's required node affinity; "
        "not evaluated by placement: topologySpreadConstraints"
    )

    def placed_says_why() -> dict[str, Any]:
        st = status(hub, name, case_pool)
        placed = next((c for c in st.get("conditions") or [] if c["type"] == "Placed"), {})
        assert (placed.get("status"), placed.get("message")) == ("False", expected), placed
        return st | {"placed": placed}

    st = eventually(placed_says_why, timeout=STATE_S)
    assert st["phase"] == "Pending"
    assert st["placed"]["reason"] == "NoFit"
    assert "remote" not in st
