"""Registration with consent and the exact hub RBAC of an agent, against the real hub API server.

Every credential here is a real hub ServiceAccount token (TokenRequest, or the token the operator
issues on approval); nothing is faked. An agent registers with a bootstrap credential, cannot approve
itself, is approved with one `kubectl label`, receives a credential limited to its namespace, and
with it is refused (403) everything outside its own work, report and Lease.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from computenet.api.constants import APPROVED_LABEL
from computenet.members.pull_rbac import agent_access, agent_account, bootstrap_access, credential_secret
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from support.tasks import condition
from support.timeouts import STATE_S
from support.wait import eventually


def kubectl_as(kubeconfig: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args], input=input, text=True, capture_output=True, timeout=60
    )


def forbidden(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode != 0 and "Forbidden" in result.stderr


def agent_object(namespace: str, name: str, labels: dict[str, str] | None = None) -> str:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, **({"labels": labels} if labels else {})}
    return json.dumps({"apiVersion": "computenet.io/v1alpha1", "kind": "ComputeAgent", "metadata": meta, "spec": {}})


def work_object(namespace: str, name: str, agent: str) -> dict[str, Any]:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"namespace": "computenet-workloads", "name": name}}
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeWork",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"agent": agent, "identifier": "x", "manifest": job},
    }


def _approved(hub: Cluster, namespace: str, name: str) -> dict[str, Any]:
    obj = json.loads(hub.kubectl("get", "computeagent", name, "-n", namespace, "-o", "json").stdout)
    st = obj.get("status") or {}
    assert condition(st, "Approved").get("status") == "True", condition(st, "Approved")
    return st


@pytest.fixture(scope="module")
def policy(operator: devenv.OperatorProcess, hub: Cluster) -> Path:
    devenv.install_approval_policy(hub)
    return devenv.APPROVAL_POLICY


def test_an_agent_registers_is_approved_by_one_label_and_is_held_to_its_namespace(
    policy: Path, hub: Cluster, federation: Federation, tmp_path: Path
) -> None:
    ns, name = "provider-reg", "agent-reg"
    devenv.apply(hub, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    devenv.apply(hub, *bootstrap_access(ns, name))
    token = devenv.service_account_token(hub, ns, f"computenet-bootstrap-{name}")
    bootstrap = devenv.token_kubeconfig(hub, token, tmp_path / "bootstrap.kubeconfig")

    # The bootstrap credential cannot approve itself, at creation or later, nor read anything else.
    created_approved = kubectl_as(
        bootstrap, "create", "-f", "-", input=agent_object(ns, name, {APPROVED_LABEL: "true"})
    )
    assert forbidden(created_approved), created_approved.stderr
    assert "only a hub administrator may approve" in created_approved.stderr
    assert kubectl_as(bootstrap, "create", "-f", "-", input=agent_object(ns, name)).returncode == 0
    assert forbidden(kubectl_as(bootstrap, "label", "computeagent", name, "-n", ns, f"{APPROVED_LABEL}=true"))
    assert forbidden(kubectl_as(bootstrap, "get", "computeworks", "-n", ns))
    assert forbidden(kubectl_as(bootstrap, "get", "secrets", "-n", ns))

    pending = eventually(
        lambda: (
            (
                c := condition(
                    json.loads(hub.kubectl("get", "computeagent", name, "-n", ns, "-o", "json").stdout).get("status")
                    or {},
                    "Approved",
                )
            )
            and c
        )
    )
    assert pending["status"] == "False"
    assert pending["reason"] == "PendingApproval"
    assert f"kubectl label computeagent {name} -n {ns} {APPROVED_LABEL}=true" in pending["message"]

    # The real agent, given only the bootstrap credential, waits for approval.
    member = federation.members[1]
    agent = tmp_path / "issued" / "hub.kubeconfig"
    argv = [
        sys.executable, "-m", "computenet", "agent", f"--bootstrap-kubeconfig={bootstrap}", f"--hub-kubeconfig={agent}",
        f"--kubeconfig={member.operator_kubeconfig}", f"--namespace={ns}", f"--name={name}", "--cluster=member-2",
    ]  # fmt: skip
    process = "registering-agent"
    federation.supervisor.start(
        process, argv, tmp_path / "agent.log", env={"PYTHONUNBUFFERED": "1", **devenv.AGENT_TIMING_ENV}
    )
    try:
        # The administrator approves with one command; the operator issues a credential limited to the namespace.
        hub.kubectl("label", "computeagent", name, "-n", ns, f"{APPROVED_LABEL}=true")
        st = eventually(lambda: _approved(hub, ns, name), timeout=STATE_S)
        assert st["credentialSecret"] == credential_secret(name)
        eventually(lambda: agent.exists(), timeout=STATE_S)
        reported = eventually(lambda: _approved(hub, ns, name).get("report"), timeout=STATE_S)
        nodes = json.loads(member.kubectl("get", "nodes", "-o", "json").stdout)["items"]
        assert sum(len(e["names"]) for e in reported["nodes"]) == len(nodes)  # member-2's, with the issued credential
    finally:
        federation.supervisor.stop(process)
    assert kubectl_as(bootstrap, "get", "secret", credential_secret(name), "-n", ns).returncode == 0
    who = json.loads(kubectl_as(agent, "auth", "whoami", "-o", "json").stdout)
    assert who["status"]["userInfo"]["username"] == f"system:serviceaccount:{ns}:{agent_account(name)}"

    # A second provider with its own agent and a work placed on it.
    other_ns, other = "provider-other", "agent-other"
    devenv.grant_agent(hub, other_ns, other)
    devenv.apply(hub, work_object(other_ns, "theirs", other), work_object(ns, "mine", name))
    other_kc = devenv.token_kubeconfig(
        hub, devenv.service_account_token(hub, other_ns, agent_account(other)), tmp_path / "other.kubeconfig"
    )

    status_patch = '{"status":{"conditions":[]}}'
    for me, my_ns, their_ns, theirs in ((agent, ns, other_ns, "theirs"), (other_kc, other_ns, ns, "mine")):
        # Its own work: read, watch, write status; never write the spec or create work for itself.
        assert kubectl_as(me, "get", "computeworks", "-n", my_ns).returncode == 0
        mine = "mine" if my_ns == ns else "theirs"
        assert (
            kubectl_as(
                me,
                "patch",
                "computework",
                mine,
                "-n",
                my_ns,
                "--subresource=status",
                "--type=merge",
                "-p",
                status_patch,
            ).returncode
            == 0
        )
        assert forbidden(
            kubectl_as(
                me, "patch", "computework", mine, "-n", my_ns, "--type=merge", "-p", '{"spec":{"identifier":"y"}}'
            )
        )
        assert forbidden(kubectl_as(me, "create", "-f", "-", input=json.dumps(work_object(my_ns, "self-made", name))))
        # Another provider's work, report, Lease and Secrets: 403 each time.
        assert forbidden(kubectl_as(me, "get", "computeworks", "-n", their_ns))
        assert forbidden(kubectl_as(me, "get", "computework", theirs, "-n", their_ns))
        assert forbidden(
            kubectl_as(
                me,
                "patch",
                "computework",
                theirs,
                "-n",
                their_ns,
                "--subresource=status",
                "--type=merge",
                "-p",
                status_patch,
            )
        )
        assert forbidden(kubectl_as(me, "get", "computeagents", "-n", their_ns))
        assert forbidden(kubectl_as(me, "get", "leases", "-n", their_ns))
        # No Secrets anywhere, not even in its own namespace; nothing cluster-wide.
        assert forbidden(kubectl_as(me, "get", "secrets", "-n", my_ns))
        assert forbidden(kubectl_as(me, "get", "secret", credential_secret(name), "-n", ns))
        assert forbidden(kubectl_as(me, "get", "computeidentifiers"))
        assert forbidden(kubectl_as(me, "get", "computetasks", "-A"))
    assert agent_access(ns, name)[1]["rules"]  # the Role the operator made is the documented one
    role = json.loads(hub.kubectl("get", "role", agent_account(name), "-n", ns, "-o", "json").stdout)
    assert role["rules"] == agent_access(ns, name)[1]["rules"]

    # Withdrawing approval revokes the credential.
    hub.kubectl("label", "computeagent", name, "-n", ns, f"{APPROVED_LABEL}-")
    eventually(lambda: forbidden(kubectl_as(agent, "get", "computeworks", "-n", ns)) or None, timeout=STATE_S)
