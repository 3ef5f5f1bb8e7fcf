"""`kubectl computenet` logs, top and simulate through the operator's HTTPS endpoint, on the real hub.

The session's operator is restarted once with a serving certificate (a throwaway CA the plugin
verifies; TLS is never skipped). Users are ServiceAccounts of the hub with tokens from the
TokenRequest API, each in a kubeconfig of its own: one may read task logs and the snapshot, one
may read tasks but holds no RBAC for their logs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from computenet.testing import devenv, pki, podlogs
from computenet.testing.federation import Cluster, Federation, free_port
from computenet.testing.topology import default_shape
from support.settings import OPERATOR_ENV
from support.tasks import TERMINAL, apply, condition, status, task, tasks, unique
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

PLUGIN = Path(sys.executable).parent / "kubectl-computenet"
NAMESPACE = "default"


@dataclass(frozen=True)
class Endpoint:
    url: str
    ca_file: Path


@dataclass(frozen=True)
class Users:
    reader: Path
    """May get tasks, their logs, and list identifiers (the snapshot)."""
    stranger: Path
    """May get tasks, nothing else."""


@pytest.fixture(scope="module")
def endpoint(
    operator: devenv.OperatorProcess, federation: Federation, tmp_path_factory: pytest.TempPathFactory
) -> Endpoint:
    """The session's operator, restarted (same name and ports) with the endpoint on a loopback port."""
    directory = tmp_path_factory.mktemp("endpoint")
    ca = pki.CertificateAuthority("computenet-endpoint-ca")
    serving = ca.serving("127.0.0.1")
    (directory / "ca.crt").write_bytes(ca.cert_pem)
    (directory / "tls.crt").write_bytes(serving.cert_pem)
    pki.write_private(directory / "tls.key", serving.key_pem)
    port = free_port()
    env = {
        **OPERATOR_ENV,
        "COMPUTENET_ENDPOINT_PORT": str(port),
        "COMPUTENET_ENDPOINT_CERT_FILE": str(directory / "tls.crt"),
        "COMPUTENET_ENDPOINT_KEY_FILE": str(directory / "tls.key"),
    }
    devenv.stop_operator(federation, operator.name)
    devenv.start_operator(federation, env, ports=(operator.metrics_port, operator.health_port), name=operator.name)
    return Endpoint(f"https://127.0.0.1:{port}", directory / "ca.crt")


def _token_kubeconfig(hub: Cluster, account: str, path: Path) -> Path:
    token = hub.kubectl("create", "token", account, "-n", NAMESPACE, "--duration=1h").stdout.strip()
    config = yaml.safe_load(hub.kubeconfig.read_text())
    config["users"] = [{"name": account, "user": {"token": token}}]
    config["contexts"][0]["context"]["user"] = account
    config["contexts"][0]["context"]["namespace"] = NAMESPACE
    pki.write_private(path, yaml.safe_dump(config).encode())
    return path


@pytest.fixture(scope="module")
def users(hub: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Users]:
    suffix = unique("u")
    reader, stranger = f"reader-{suffix}", f"stranger-{suffix}"
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": reader, "namespace": NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": stranger, "namespace": NAMESPACE}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": f"task-reader-{suffix}", "namespace": NAMESPACE},
            "rules": [{"apiGroups": ["computenet.io"], "resources": ["computetasks"], "verbs": ["get", "list"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": f"task-logs-{suffix}", "namespace": NAMESPACE},
            "rules": [{"apiGroups": ["computenet.io"], "resources": ["computetasks/log"], "verbs": ["get"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"identifier-reader-{suffix}"},
            "rules": [{"apiGroups": ["computenet.io"], "resources": ["computeidentifiers"], "verbs": ["list"]}],
        },
    ]
    bindings = [
        ("RoleBinding", f"task-reader-{suffix}", "Role", reader),
        ("RoleBinding", f"task-reader-{suffix}", "Role", stranger),
        ("RoleBinding", f"task-logs-{suffix}", "Role", reader),
        ("ClusterRoleBinding", f"identifier-reader-{suffix}", "ClusterRole", reader),
    ]
    for kind, role, role_kind, account in bindings:
        meta: dict[str, Any] = {"name": f"{role}-{account}"}
        if kind == "RoleBinding":
            meta["namespace"] = NAMESPACE
        objects.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": kind,
                "metadata": meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}],
            }
        )
    apply(hub, *objects)
    directory = tmp_path_factory.mktemp("users")
    yield Users(
        _token_kubeconfig(hub, reader, directory / "reader.kubeconfig"),
        _token_kubeconfig(hub, stranger, directory / "stranger.kubeconfig"),
    )
    hub.kubectl("delete", "-f", "-", "--wait=false", input=yaml.safe_dump_all(objects), check=False)


def plugin(
    kubeconfig: Path, *args: str, endpoint: Endpoint | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    if endpoint is not None:
        env |= {"COMPUTENET_ENDPOINT": endpoint.url, "COMPUTENET_CA_FILE": str(endpoint.ca_file)}
    return subprocess.run([str(PLUGIN), *args], env=env, text=True, capture_output=True, timeout=timeout, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def running(hub: Cluster, name: str) -> dict[str, Any]:
    st = status(hub, name)
    assert st.get("phase") == "Running", st.get("phase")
    return st


def test_logs_are_refused_without_the_rbac_and_without_a_token(endpoint: Endpoint, users: Users, hub: Cluster) -> None:
    name = unique("logs-403")
    apply(hub, task(name, run="1s"))
    refused = plugin(users.stranger, "logs", name, endpoint=endpoint)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: the operator answered HTTP 403: forbidden: User ")
    assert "cannot get computetasks/log.computenet.io" in refused.stderr
    # The admin's kubeconfig authenticates with a client certificate: there is no token to forward.
    admin = plugin(hub.kubeconfig, "logs", name, endpoint=endpoint)
    assert admin.returncode == 1
    assert "has no bearer token" in admin.stderr
    # An unknown task is not revealed before authorization, and is a clean 404 after it.
    missing = plugin(users.reader, "logs", "no-such-task", endpoint=endpoint)
    assert missing.returncode == 1
    assert missing.stderr == (
        'error: the operator answered HTTP 404: computetask "no-such-task" not found in namespace "default"\n'
    )


def _first_lines(
    kubeconfig: Path, *args: str, endpoint: Endpoint, count: int, timeout: float
) -> tuple[list[str], int | None]:
    """Start the plugin, read its first `count` stdout lines as they stream, then stop it.

    Returns the lines and the exit code the plugin had on its own once they were read (None: it
    still ran, as a followed log does). Past `timeout` the plugin is killed, which ends the read.
    """
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    env |= {"COMPUTENET_ENDPOINT": endpoint.url, "COMPUTENET_CA_FILE": str(endpoint.ca_file)}
    proc = subprocess.Popen([str(PLUGIN), *args], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        lines = [line for line in (proc.stdout.readline() for _ in range(count)) if line]
        still = proc.poll()
    finally:
        watchdog.cancel()
        proc.kill()
        _, stderr = proc.communicate(timeout=STATE_S)
    assert len(lines) == count, f"{len(lines)} of {count} lines before exit/timeout; stderr: {stderr}"
    return [line.rstrip("\n") for line in lines], still


def test_logs_follow_of_a_running_task_goes_through_the_operator_to_the_member(
    endpoint: Endpoint, users: Users, hub: Cluster
) -> None:
    """The request is admitted, the task's Job's pod found in its member and its log streamed from there.

    The member's API server proxies the pod's log from the node's kubelet (kwok's, serving the
    lines `podlogs.LINES` for every container); the operator streams it on to the plugin. A plain
    read prints the whole log and exits 0; `-f` prints it and keeps the stream open.
    """
    name = unique("logs")
    apply(hub, task(name, run="120s"))
    eventually(lambda: running(hub, name), timeout=JOB_S)
    try:
        plain = plugin(users.reader, "logs", name, "--attempt", "1", "--replica", "0", endpoint=endpoint, timeout=60)
        assert plain.returncode == 0, plain.stderr
        assert plain.stdout.splitlines() == list(podlogs.LINES)
        followed, exited = _first_lines(
            users.reader, "logs", name, "-f", endpoint=endpoint, count=len(podlogs.LINES), timeout=60
        )
        assert followed == list(podlogs.LINES)
        assert exited is None, "a followed log of a running task ended by itself"
        wrong = plugin(users.reader, "logs", name, "--replica", "3", endpoint=endpoint)
        assert wrong.returncode == 1
        assert "HTTP 400: replica 3 out of range" in wrong.stderr
        gone = plugin(users.reader, "logs", name, "--attempt", "7", endpoint=endpoint)
        assert gone.returncode == 1
        assert "HTTP 404: attempt 7 of default/" in gone.stderr
    finally:
        hub.kubectl("delete", "computetask", name, "--wait=false")


def _host_address() -> str:
    """A non-loopback IPv4 address of this machine: the hub's service proxy refuses loopback endpoints."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # sends nothing: only picks the interface a packet would leave by
        address: str = s.getsockname()[0]
    assert not address.startswith("127."), address
    return address


def test_logs_reach_the_operator_through_the_hubs_service_proxy_by_default(
    endpoint: Endpoint, users: Users, hub: Cluster
) -> None:
    """Without --endpoint the plugin goes through the hub: Service computenet-logs:443 in the operator's namespace.

    The operator runs as a process here, so the Service has no selector; its Endpoints name this
    machine's address and the endpoint's port, and a Pod object holding that address stands for the
    operator's pod. The hub strips Authorization on the way; the token rides in
    X-Computenet-Authorization and the operator still reviews it. A user without `get services/proxy`
    is refused by the hub itself.
    """
    port = int(endpoint.url.rsplit(":", 1)[1])
    address = _host_address()
    reader = yaml.safe_load(users.reader.read_text())["users"][0]["name"]
    suffix = unique("proxy")
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "computenet-logs", "namespace": devenv.NAMESPACE},
            "spec": {"ports": [{"port": 443, "targetPort": port, "protocol": "TCP"}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"operator-{suffix}", "namespace": devenv.NAMESPACE},
            "spec": {"containers": [{"name": "operator", "image": "computenet"}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "computenet-logs", "namespace": devenv.NAMESPACE},
            "subsets": [
                {
                    "addresses": [
                        {
                            "ip": address,
                            "targetRef": {"kind": "Pod", "name": f"operator-{suffix}", "namespace": devenv.NAMESPACE},
                        }
                    ],
                    "ports": [{"port": port, "protocol": "TCP"}],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": f"endpoint-proxy-{suffix}", "namespace": devenv.NAMESPACE},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["services/proxy"],
                    "resourceNames": ["computenet-logs", "https:computenet-logs:443"],
                    "verbs": ["get"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"endpoint-proxy-{suffix}", "namespace": devenv.NAMESPACE},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"endpoint-proxy-{suffix}"},
            "subjects": [{"kind": "ServiceAccount", "name": reader, "namespace": NAMESPACE}],
        },
    ]
    apply(hub, *objects)
    # The hub proxies only to an address a Pod of the namespace has (kube-apiserver v1.36.3
    # pkg/registry/core/service/storage/storage.go, isValidAddress): the operator's pod, in a cluster.
    ips = {"podIP": address, "podIPs": [{"ip": address}]}
    hub.kubectl(
        "patch",
        "pod",
        f"operator-{suffix}",
        "-n",
        devenv.NAMESPACE,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": ips}),
    )
    name = unique("logs-proxy")
    apply(hub, task(name, run="120s"))
    try:
        eventually(lambda: running(hub, name), timeout=JOB_S)
        through_hub = plugin(users.reader, "logs", name, timeout=60)
        assert through_hub.returncode == 0, through_hub.stderr
        assert through_hub.stdout.splitlines() == list(podlogs.LINES)
        top = json.loads(ok(plugin(users.reader, "top", "-o", "json")))
        assert top["rows"], "the snapshot came through the hub too"
        refused = plugin(users.stranger, "logs", name)
        assert refused.returncode == 1
        assert "HTTP 403" in refused.stderr
        assert refused.stderr.startswith("error: the hub answered HTTP 403"), "refused by the hub, before the operator"
    finally:
        hub.kubectl("delete", "computetask", name, "--wait=false")
        hub.kubectl("delete", "-f", "-", "--wait=false", input=yaml.safe_dump_all(objects), check=False)


def test_top_shows_capacity_allocated_and_free_per_pool_region_and_model(
    endpoint: Endpoint, users: Users, hub: Cluster
) -> None:
    doc = json.loads(ok(plugin(users.reader, "top", "-o", "json", endpoint=endpoint)))
    rows = {(r["pool"], r["region"], r["resource"]): r for r in doc["rows"]}
    h100 = rows[("default", "cn-east", "NVIDIA-H100-80GB-HBM3")]
    assert h100["capacity"] >= 32  # member-1: 4 nodes x 8 (tests may add nodes)
    assert h100["allocated"] + h100["free"] == h100["capacity"]
    assert {("default", "cn-west", "AMD-Instinct-MI300X"), ("default", "cn-north", "cpu")} <= set(rows)
    table = ok(plugin(users.reader, "top", endpoint=endpoint)).splitlines()
    assert table[0].split() == ["POOL", "REGION", "RESOURCE", "CAPACITY", "ALLOCATED", "FREE"]
    assert len(table) == 1 + len(rows)
    wide = ok(plugin(users.reader, "top", "-o", "wide", endpoint=endpoint)).splitlines()
    assert wide[0].split()[-2:] == ["LARGEST-FREE-SLOT", "IDENTIFIERS"]
    assert len(wide) == len(table)
    as_yaml = yaml.safe_load(ok(plugin(users.reader, "top", "-o", "yaml", endpoint=endpoint)))
    assert {(r["pool"], r["region"], r["resource"]) for r in as_yaml["rows"]} == set(rows)
    refused = plugin(users.stranger, "top", endpoint=endpoint)
    assert refused.returncode == 1
    assert "HTTP 403" in refused.stderr


def _idle(hub: Cluster) -> bool:
    active = [t["metadata"]["name"] for t in tasks(hub) if (t.get("status") or {}).get("phase") not in TERMINAL]
    assert not active, active
    return True


def test_simulate_agrees_with_what_the_operator_then_does_on_an_idle_pool(
    endpoint: Endpoint, users: Users, hub: Cluster, tmp_path: Path
) -> None:
    eventually(lambda: _idle(hub), timeout=JOB_S)
    suffix = unique("sim")
    h100 = ["NVIDIA-H100-80GB-HBM3"]
    specs = [
        task(f"{suffix}-a", gpus=8, models=h100, replicas=2, run="120s"),
        task(f"{suffix}-b", gpus=8, models=h100, replicas=2, run="120s"),
        task(f"{suffix}-c", gpus=8, models=h100, run="120s"),
        task(f"{suffix}-d", cpu="4", run="120s"),
        task(f"{suffix}-e", gpus=64, run="120s"),  # more devices than any node has: waits everywhere
    ]
    for priority, spec in zip((50, 40, 30, 20, 10), specs, strict=True):
        spec["spec"]["priority"] = priority
    path = tmp_path / "tasks.yaml"
    path.write_text(yaml.safe_dump_all(specs))
    saved = tmp_path / "snapshot.json"
    saved.write_text(ok(plugin(users.reader, "snapshot", endpoint=endpoint)))
    saved_yaml = tmp_path / "snapshot.yaml"
    saved_yaml.write_text(ok(plugin(users.reader, "snapshot", "-o", "yaml", endpoint=endpoint)))
    live = json.loads(ok(plugin(users.reader, "simulate", "-f", str(path), "-o", "json", endpoint=endpoint)))
    offline = json.loads(ok(plugin(users.reader, "simulate", "-f", str(path), "--snapshot", str(saved), "-o", "json")))
    assert [t["result"] for t in live["tasks"]] == [t["result"] for t in offline["tasks"]]
    from_yaml = yaml.safe_load(
        ok(plugin(users.reader, "simulate", "-f", str(path), "--snapshot", str(saved_yaml), "-o", "yaml"))
    )
    assert [t["result"] for t in from_yaml["tasks"]] == [t["result"] for t in offline["tasks"]]
    wide = ok(plugin(users.reader, "simulate", "-f", str(path), "--snapshot", str(saved), "-o", "wide")).splitlines()
    assert {"PRIORITY", "MODEL", "NODES"} <= set(wide[0].split())
    assert len(wide) == 1 + len(specs) + 1  # header, one line per task, the footer
    assert [t["task"] for t in live["tasks"]] == [f"default/{s['metadata']['name']}" for s in specs]
    assert live["tasks"][0]["result"] == "placed"
    assert live["tasks"][-1]["result"] == "waits"
    table = ok(plugin(users.reader, "simulate", "-f", str(path), "--snapshot", str(saved)))
    assert "nothing was dispatched" in table
    assert not [t for t in tasks(hub) if t["metadata"]["name"].startswith(suffix)]  # the what-if created nothing

    try:
        for spec, predicted in zip(specs, live["tasks"], strict=True):
            name = spec["metadata"]["name"]
            apply(hub, spec)  # one at a time, in the queue's order, as the what-if took them
            if predicted["result"] == "placed":
                st = eventually(lambda n=name: status(hub, n).get("placement") or None, timeout=STATE_S)
                assert st["identifier"] == predicted["identifier"], name
            else:
                placed = eventually(
                    lambda n=name: (c := condition(status(hub, n), "Placed")).get("status") == "False" and c,
                    timeout=STATE_S,
                )
                assert placed["message"] == predicted["reason"], name
    finally:
        hub.kubectl("delete", "computetasks", *(s["metadata"]["name"] for s in specs), "--wait=false", check=False)


def test_why_live_gives_every_verdict_of_a_waiting_task_as_the_operator_decided_it(
    endpoint: Endpoint, users: Users, hub: Cluster
) -> None:
    name = unique("why-live")
    apply(hub, task(name, gpus=64, run="1s"))  # more devices than any node has
    try:
        placed = eventually(
            lambda: (c := condition(status(hub, name), "Placed")).get("status") == "False" and c, timeout=STATE_S
        )
        # Without --live: the verdicts the operator wrote with that line (status.explanation).
        plain = json.loads(ok(plugin(users.reader, "why", name, "-o", "json", endpoint=endpoint)))
        assert {row["verdict"] for row in plain["identifiers"]} == {"rejected"}
        assert len(plain["identifiers"]) == plain["considered"] == 3
        doc = json.loads(ok(plugin(users.reader, "why", name, "--live", "-o", "json", endpoint=endpoint)))
        assert {row["verdict"] for row in doc["identifiers"]} == {"rejected"}
        assert len(doc["identifiers"]) == doc["considered"] == 3
        assert all(row["filter"] and row["message"] for row in doc["identifiers"])
        assert doc["live"].endswith(f": {placed['message']}")  # the operator's own line, decided again
        by_filter = {(r["identifier"], r["filter"]) for r in doc["identifiers"]}
        assert {(r["identifier"], r["filter"]) for r in plain["identifiers"]} == by_filter
    finally:
        hub.kubectl("delete", "computetask", name, "--wait=false")


def test_why_live_reads_the_tasks_datasets_with_the_users_own_rights(
    endpoint: Endpoint, users: Users, hub: Cluster, federation: Federation
) -> None:
    """A dataset whose only replica is in cn-west, a task that may move no data: cn-west is the only
    identifier it fits, and `why --live` says so once the user may list the namespace's datasets."""
    shapes = [default_shape(i) for i in range(1, len(federation.members) + 1)]
    west = next(m.name for m, s in zip(federation.members, shapes, strict=True) if s.region == "cn-west")
    dataset = unique("near-west")
    name = unique("why-data")
    body = task(name, suspend=True)  # collects offers: nothing is dispatched
    body["spec"]["data"] = {
        "region": "cn-east",
        "maxTransferSeconds": 0,
        "inputs": [{"dataset": dataset, "mountPath": "/data/c", "size": "10Gi"}],
    }
    replicas = [{"region": "cn-west", "uri": f"s3://cn-west-data/{dataset}/"}]
    account = yaml.safe_load(users.reader.read_text())["users"][0]["name"]
    grant: list[dict[str, Any]] = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": f"datasets-{name}", "namespace": NAMESPACE},
            "rules": [{"apiGroups": ["computenet.io"], "resources": ["computedatasets"], "verbs": ["list"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"datasets-{name}", "namespace": NAMESPACE},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"datasets-{name}"},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}],
        },
    ]
    apply(
        hub,
        {
            "apiVersion": "computenet.io/v1alpha1",
            "kind": "ComputeDataset",
            "metadata": {"name": dataset, "namespace": NAMESPACE},
            "spec": {"replicas": replicas},
        },
        body,
    )
    try:
        # Without the right to list datasets: recomputed all the same, saying what it could not read.
        doc = json.loads(ok(plugin(users.reader, "why", name, "--live", "-o", "json", endpoint=endpoint)))
        assert f"ComputeDatasets of {NAMESPACE} not read" in doc["live"]
        verdicts = {row["identifier"]: row["verdict"] for row in doc["identifiers"]}
        assert verdicts[west] == "rejected"  # its 10Gi counted in cn-east
        apply(hub, *grant)

        def live_with_datasets() -> dict[str, Any]:
            found = json.loads(ok(plugin(users.reader, "why", name, "--live", "-o", "json", endpoint=endpoint)))
            assert "not read" not in found["live"], found["live"]
            return found

        doc = eventually(live_with_datasets, timeout=STATE_S)
        verdicts = {row["identifier"]: row["verdict"] for row in doc["identifiers"]}
        assert verdicts[west] == "chosen", verdicts  # the replica is there: nothing to move
        assert {v for i, v in verdicts.items() if i != west} == {"rejected"}
    finally:
        hub.kubectl("delete", "computetask", name, "--wait=false")
        hub.kubectl("delete", "computedataset", dataset, "-n", NAMESPACE, "--wait=false")
        hub.kubectl("delete", "-f", "-", "--wait=false", input=yaml.safe_dump_all(grant), check=False)
