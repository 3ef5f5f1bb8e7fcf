"""The local federation itself: real control planes, simulated nodes, real scheduling."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from computenet.testing.federation import Cluster, Federation, find_bin_dir
from computenet.testing.processes import ComponentFailed
from computenet.testing.topology import default_shape, node_manifests
from support.timeouts import JOB_S
from support.wait import eventually

REPO = Path(__file__).resolve().parents[2]


def _json(cluster: Cluster, *args: str) -> dict:
    return json.loads(cluster.kubectl(*args, "-o", "json").stdout)


def _job(name: str, *, cpu: str = "1", gpus: int = 0, run: str = "1s", outcome: str | None = None) -> str:
    annotations = {"sim.computenet.io/run-duration": run}
    if outcome:
        annotations["sim.computenet.io/outcome"] = outcome
    limits = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    return yaml.safe_dump(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"annotations": annotations},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "main",
                                "image": "busybox",
                                "resources": {"requests": {"cpu": cpu}, "limits": limits},
                            }
                        ],
                    },
                },
            },
        }
    )


def test_members_list_simulated_nodes_with_accelerators(federation: Federation) -> None:
    for index, member in enumerate(federation.members, start=1):
        expected = {n["metadata"]["name"]: n for n in node_manifests(default_shape(index))}
        nodes = _json(member, "get", "nodes")["items"]
        assert {n["metadata"]["name"] for n in nodes} == set(expected)
        for node in nodes:
            want = expected[node["metadata"]["name"]]
            assert node["status"]["allocatable"] == want["status"]["allocatable"]
            for key in ("kubernetes.io/arch", "topology.kubernetes.io/region", "topology.kubernetes.io/zone"):
                assert node["metadata"]["labels"][key] == want["metadata"]["labels"][key]
            ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
            assert ready == "True"


def test_default_members_differ_so_placement_has_choices(federation: Federation) -> None:
    def facts(member: Cluster) -> tuple[set[str], set[str], set[str], set[str]]:
        nodes = _json(member, "get", "nodes")["items"]
        labels = [n["metadata"]["labels"] for n in nodes]
        resources = {r for n in nodes for r in n["status"]["allocatable"] if "/" in r}
        products = {v for lb in labels for k, v in lb.items() if k.endswith((".product", ".product-name"))}
        return (
            resources,
            products,
            {lb["kubernetes.io/arch"] for lb in labels},
            {lb["topology.kubernetes.io/region"] for lb in labels},
        )

    m1, m2 = facts(federation.members[0]), facts(federation.members[1])
    assert "nvidia.com/gpu" in m1[0]
    assert "amd.com/gpu" in m2[0]
    assert m1[1].isdisjoint(m2[1])
    assert "arm64" in m2[2]
    assert m1[3] != m2[3]


def test_job_runs_to_succeeded_on_simulated_nodes(member: Cluster) -> None:
    name = f"ok-{uuid.uuid4().hex[:6]}"
    member.kubectl("apply", "-f", "-", input=_job(name, gpus=8))

    def complete() -> bool:
        job = _json(member, "get", "job", name)
        conds = {c["type"]: c["status"] for c in job["status"].get("conditions", [])}
        assert conds.get("Failed") != "True", job["status"]
        return conds.get("Complete") == "True"

    eventually(complete, timeout=JOB_S)
    pods = _json(member, "get", "pods", "-l", f"job-name={name}")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Succeeded"]
    assert pods[0]["spec"]["nodeName"].startswith("h100-")


def test_job_asked_to_fail_fails(member: Cluster) -> None:
    name = f"fail-{uuid.uuid4().hex[:6]}"
    member.kubectl("apply", "-f", "-", input=_job(name, outcome="Failed"))

    def failed() -> bool:
        job = _json(member, "get", "job", name)
        conds = {c["type"]: c["status"] for c in job["status"].get("conditions", [])}
        return conds.get("Failed") == "True"

    eventually(failed, timeout=JOB_S)


def test_oversized_pod_stays_pending_unschedulable(member: Cluster) -> None:
    name = f"huge-{uuid.uuid4().hex[:6]}"
    member.kubectl("apply", "-f", "-", input=_job(name, gpus=16))

    def unschedulable() -> dict:
        pods = _json(member, "get", "pods", "-l", f"job-name={name}")["items"]
        assert len(pods) == 1
        conds = {c["type"]: c for c in pods[0]["status"].get("conditions", [])}
        sched = conds.get("PodScheduled")
        assert sched is not None, conds
        assert (sched["status"], sched["reason"]) == ("False", "Unschedulable"), conds
        return pods[0]

    pod = eventually(unschedulable)
    assert pod["status"]["phase"] == "Pending"
    assert "nvidia.com/gpu" in pod["status"]["conditions"][0]["message"]


def test_api_servers_report_the_pinned_version(federation: Federation) -> None:
    pinned = re.search(r"require k8s.io/kubernetes (v\S+)", (REPO / "hack/tools/kube/go.mod").read_text())
    assert pinned
    for cluster in federation.clusters:
        version = _json(cluster, "version")["serverVersion"]
        assert version["gitVersion"] == pinned.group(1)


def test_hub_deletes_namespaces_and_collects_garbage(hub: Cluster) -> None:
    ns = f"gc-{uuid.uuid4().hex[:6]}"
    hub.kubectl("create", "namespace", ns)
    owner = json.loads(hub.kubectl("create", "configmap", "owner", "-n", ns, "-o", "json").stdout)
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "child",
            "namespace": ns,
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
            ],
        },
    }
    hub.kubectl("apply", "-f", "-", input=json.dumps(child))
    hub.kubectl("delete", "configmap", "owner", "-n", ns)
    eventually(lambda: _not_found(hub, "configmap", "child", "-n", ns))
    hub.kubectl("delete", "namespace", ns, "--wait=false")
    eventually(lambda: _not_found(hub, "namespace", ns), timeout=JOB_S)


def _not_found(cluster: Cluster, kind: str, name: str, *args: str) -> bool:
    """Whether the API server answers NotFound for the object: False while it exists, and any
    other failure of `kubectl get` (a refused connection, a missing kind, RBAC) fails the test."""
    got = cluster.kubectl("get", kind, name, *args, "-o", "name", check=False)
    if got.returncode == 0:
        return False
    if re.fullmatch(rf'Error from server \(NotFound\): [\w.]+ "{re.escape(name)}" not found\n?', got.stderr):
        return True
    pytest.fail(f"kubectl get {kind} {name} failed for another reason than NotFound: {got.stderr}")


def _listening_ports() -> set[int]:
    out = subprocess.run(["cat", "/proc/net/tcp", "/proc/net/tcp6"], capture_output=True, text=True).stdout
    ports = set()
    for line in out.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A":  # LISTEN
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _pid_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


@pytest.mark.cluster  # starts control planes of its own, without the session's federation
def test_dev_up_then_down_leaves_no_process_or_port(tmp_path: Path) -> None:
    state = tmp_path / "dev"
    up = subprocess.run(
        [sys.executable, "-m", "computenet.testing.federation", "up", "--dir", str(state), "--members", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert up.returncode == 0, up.stderr
    assert (state / "hub.kubeconfig").exists()
    assert (state / "member-1.kubeconfig").exists()
    records = json.loads((state / "processes.json").read_text())
    pids = [r["pid"] for r in records]
    fed = Federation.attach(state)
    ports = {c.port for c in fed.clusters} | {fed.etcd_port}
    assert len(records) == 1 + 2 + 4  # etcd; hub apiserver + cm; member apiserver, cm, scheduler, kwok
    assert ports <= _listening_ports()

    down = subprocess.run(
        [sys.executable, "-m", "computenet.testing.federation", "down", "--dir", str(state)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert down.returncode == 0, down.stderr
    assert [p for p in pids if _pid_alive(p)] == []
    assert ports.isdisjoint(_listening_ports())


@pytest.mark.cluster  # starts control planes of its own, without the session's federation
def test_failed_start_names_the_component_and_leaves_nothing_running(tmp_path: Path) -> None:
    bins = tmp_path / "bin"
    bins.mkdir()
    for b in ("etcd", "kube-apiserver", "kube-controller-manager", "kwok"):
        (bins / b).symlink_to(find_bin_dir() / b)
    broken = bins / "kube-scheduler"
    broken.write_text("#!/bin/sh\necho 'scheduler: cannot start, simulated' >&2\nexit 3\n")
    broken.chmod(0o755)

    with pytest.raises(ComponentFailed) as err:
        Federation.start(tmp_path / "state", members=1, bin_dir=bins)
    assert err.value.component == "member-1/kube-scheduler"
    assert "cannot start, simulated" in str(err.value)
    assert not (tmp_path / "state" / "processes.json").exists()
    assert _processes_mentioning(str(tmp_path)) == []


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found
