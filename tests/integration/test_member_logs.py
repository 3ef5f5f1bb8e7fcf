"""Pod logs on the local members, the real way: the member's API server proxies them from the node.

Each member's kwok serves the kubelet API on a loopback port its nodes advertise
(`status.daemonEndpoints`), over TLS the API server verifies; every container's log is the lines
of `computenet.testing.podlogs`. So `kubectl logs` and `kubectl logs -f` work on a member as on a
real cluster, and the operator's logs endpoint is tested against them.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from computenet.testing import podlogs
from computenet.testing.federation import Cluster, Federation
from support.tasks import unique
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually


def _pod(name: str) -> dict[str, Any]:
    """A bare pod: no Job owns it, so kwok keeps it Running until it is deleted."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]},
    }


def _phase(member: Cluster, name: str) -> str:
    return member.kubectl("get", "pod", name, "-o", "jsonpath={.status.phase}").stdout


@pytest.fixture
def running_pod(member: Cluster) -> Iterator[str]:
    name = unique("logs")
    member.kubectl("apply", "-f", "-", input=yaml.safe_dump(_pod(name)))
    eventually(lambda: _phase(member, name) == "Running", timeout=STATE_S)
    yield name
    member.kubectl("delete", "pod", name, "--wait=false")


def test_nodes_advertise_kwok_as_their_kubelet(federation: Federation) -> None:
    ports: set[int] = set()
    for member in federation.members:
        nodes = yaml.safe_load(member.kubectl("get", "nodes", "-o", "yaml").stdout)["items"]
        internal = {a["address"] for n in nodes for a in n["status"]["addresses"] if a["type"] == "InternalIP"}
        assert internal == {"127.0.0.1"}
        member_ports = {n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] for n in nodes}
        assert len(member_ports) == 1, f"{member.name}: one kwok serves all its nodes, got {member_ports}"
        ports |= member_ports
    assert len(ports) == len(federation.members), "each member runs a kwok of its own"


def test_logs_of_a_running_pod_are_the_configured_lines(member: Cluster, running_pod: str) -> None:
    result = member.kubectl("logs", running_pod, "-c", "main", check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == list(podlogs.LINES)
    last = member.kubectl("logs", running_pod, "--tail=1").stdout
    assert last.splitlines() == [podlogs.LINES[-1]]


def test_followed_logs_stream_the_lines_and_stay_open(member: Cluster, running_pod: str) -> None:
    proc = subprocess.Popen(
        ["kubectl", "--kubeconfig", str(member.kubeconfig), "logs", "-f", running_pod],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    watchdog = threading.Timer(STATE_S, proc.kill)  # ends the reads below if the lines never come
    watchdog.start()
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().rstrip("\n") for _ in podlogs.LINES]
        exited = proc.poll()
    finally:
        watchdog.cancel()
        proc.kill()
        _, stderr = proc.communicate(timeout=STATE_S)
    assert lines == list(podlogs.LINES), stderr
    assert exited is None, f"kubectl logs -f ended by itself: {stderr}"


def test_logs_stay_readable_after_a_job_pod_completes(member: Cluster) -> None:
    name = unique("logs-done")
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {"sim.computenet.io/run-duration": "1s"}},
                "spec": _pod(name)["spec"],
            },
        },
    }
    member.kubectl("apply", "-f", "-", input=yaml.safe_dump(job))
    try:
        eventually(
            lambda: member.kubectl("get", "job", name, "-o", "jsonpath={.status.succeeded}").stdout == "1",
            timeout=JOB_S,
        )
        result = member.kubectl("logs", f"job/{name}", check=False)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == list(podlogs.LINES)
    finally:
        member.kubectl("delete", "job", name, "--cascade=background", "--wait=false")
