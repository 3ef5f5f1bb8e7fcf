"""No task is left in a phase that nothing will move: the field cases of the lifecycle, on real members.

Each test replays one kind of fault reported against other multi-cluster schedulers (the case
number refers to the project's shared case list) and asserts the value the case gives, plus other
inputs of the same kind: a Job that vanishes, a member credential that vanishes, a member that
refuses for a while, a refusal longer than the API allows, a template the client library would
have refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from support.members import member_identity
from support.tasks import apply, condition, events, phase_is, remote_jobs, status, task, unique
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

WORKLOADS = "computenet-workloads"


def _uid(hub: Cluster, name: str, namespace: str = "default") -> str:
    return str(json.loads(hub.kubectl("get", "ctask", name, "-n", namespace, "-o", "json").stdout)["metadata"]["uid"])


def _jobs_of(federation: Federation, uid: str) -> list[tuple[str, dict[str, Any]]]:
    return remote_jobs(federation).get(uid, [])


def _member(federation: Federation, name: str) -> Cluster:
    return next(m for m in federation.members if m.name == name)


def _identifier_and_pool(hub: Cluster, name: str, target_namespace: str) -> None:
    devenv.apply(
        hub,
        {
            "apiVersion": "computenet.io/v1alpha1",
            "kind": "ComputeIdentifier",
            "metadata": {"name": name, "labels": {"cases.computenet.io/pool": name}},
            "spec": {
                "uri": f"cpi://cases/cases-east/{name}",
                "provider": "cases",
                "region": "cases-east",
                "computeClass": "ai",
                "architectures": ["amd64"],
                "connection": {
                    "secretRef": {"name": f"{name}-kubeconfig", "namespace": devenv.NAMESPACE},
                    "targetNamespace": target_namespace,
                },
            },
        },
        {
            "apiVersion": "computenet.io/v1alpha1",
            "kind": "ComputePool",
            "metadata": {"name": name},
            "spec": {"identifierSelector": {"matchLabels": {"cases.computenet.io/pool": name}}},
        },
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    eventually(lambda: _ready(hub, name), timeout=STATE_S)


def _ready(hub: Cluster, identifier: str) -> bool:
    st = json.loads(hub.kubectl("get", "cid", identifier, "-o", "json").stdout).get("status") or {}
    return condition(st, "Ready").get("status") == "True"


def _remove(hub: Cluster, member: Cluster, name: str) -> None:
    hub.kubectl("delete", "ctask", "--all", "-n", name, "--ignore-not-found", "--wait=false")
    hub.kubectl("delete", "cid", name, "--ignore-not-found")
    hub.kubectl("delete", "cpool", name, "--ignore-not-found")
    hub.kubectl("delete", "secret", f"{name}-kubeconfig", "-n", devenv.NAMESPACE, "--ignore-not-found")
    member.kubectl("delete", "clusterrolebinding", name, "--ignore-not-found")


# ---- 07: the remote Job disappears while the task runs ----


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        pytest.param("Requeue", "a new attempt", id="case 07: requeued as attempt 2"),
        pytest.param("Never", "Failed", id="policy Never: Failed, saying the Job was deleted"),
    ],
)
def test_a_job_deleted_in_the_member_ends_its_attempt(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation, policy: str, expected: str
) -> None:
    name = unique("long-runner")
    manifest = task(name, cpu="1", run="600s")
    manifest["spec"]["failover"] = {"policy": policy, "gracePeriodSeconds": 10}
    apply(hub, manifest)
    try:
        st = eventually(lambda: phase_is(hub, name, "Running"), timeout=JOB_S)
        member = _member(federation, st["remote"]["identifier"])
        member.kubectl("-n", st["remote"]["namespace"], "delete", "job", st["remote"]["name"], "--wait=false")

        def moved_on() -> dict[str, Any]:
            now = status(hub, name)
            assert not (now.get("phase") == "Running" and now.get("attempt") == 1), now.get("phase")
            return now

        after = eventually(moved_on, timeout=60)
        if expected == "Failed":
            after = eventually(lambda: phase_is(hub, name, "Failed"), timeout=STATE_S)
            assert "deleted" in after["message"]
            assert condition(after, "Dispatched")["reason"] == "JobGone"
        else:
            after = eventually(lambda: (s := status(hub, name)).get("attempt") == 2 and s.get("remote") and s)
            jobs = _jobs_of(federation, _uid(hub, name))
            assert [j["metadata"]["labels"]["computenet.io/attempt"] for _, j in jobs] == ["2"]
            assert "Requeued" in eventually(lambda: events(hub, name))
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")


# ---- 08: the member's kubeconfig Secret is deleted ----


@pytest.fixture
def secret_identity(hub: Cluster, member: Cluster, operator: devenv.OperatorProcess) -> Iterator[str]:
    name = unique("secret-gone")
    member_identity(member, hub, name, "computenet-member", None)
    _identifier_and_pool(hub, name, f"{name}-work")
    try:
        yield name
    finally:
        _remove(hub, member, name)


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param("Never", id="case 08: policy Never fails with MemberLost"),
        pytest.param("Requeue", id="policy Requeue: waits again, the abandoned Job is removed"),
    ],
)
def test_a_deleted_member_secret_is_a_lost_member(
    secret_identity: str, hub: Cluster, member: Cluster, federation: Federation, policy: str
) -> None:
    name = secret_identity
    manifest = task("must-not-run-twice", namespace=name, cpu="1", run="600s")
    manifest["spec"]["pool"] = name
    manifest["spec"]["failover"] = {"policy": policy, "gracePeriodSeconds": 10}
    apply(hub, manifest)
    eventually(lambda: phase_is(hub, "must-not-run-twice", "Running", name), timeout=JOB_S)
    uid = _uid(hub, "must-not-run-twice", name)
    assert len(_jobs_of(federation, uid)) == 1
    hub.kubectl("-n", devenv.NAMESPACE, "delete", "secret", f"{name}-kubeconfig")

    ready = eventually(
        lambda: (
            (c := condition(json.loads(hub.kubectl("get", "cid", name, "-o", "json").stdout)["status"], "Ready")).get(
                "reason"
            )
            == "SecretNotFound"
            and c
        )
    )
    assert ready["status"] == "False"
    if policy == "Never":
        st = eventually(lambda: phase_is(hub, "must-not-run-twice", "Failed", name), timeout=60)
        assert condition(st, "Dispatched")["reason"] == "MemberLost"
    else:
        st = eventually(
            lambda: (s := status(hub, "must-not-run-twice", name)).get("phase") == "Pending" and s, timeout=60
        )
        assert condition(st, "Placed")["reason"] in {"MemberLost", "NoFit"}
    # The abandoned attempt does not run on: member-1's own watch sees its Job, which is removed.
    eventually(lambda: _jobs_of(federation, uid) == [], timeout=STATE_S)


# ---- 10: the member forbids creating Jobs, then allows it ----

_MEMBER_RULES_WITHOUT_CREATE = [
    {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "create"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch", "delete", "patch"]},
]


def test_a_forbidden_create_waits_with_the_reason_and_runs_once_granted(
    operator: devenv.OperatorProcess, hub: Cluster, member: Cluster
) -> None:
    name = unique("forbidden")
    role = f"{name}-member"
    member_identity(member, hub, name, role, _MEMBER_RULES_WITHOUT_CREATE)
    try:
        _identifier_and_pool(hub, name, f"{name}-work")
        manifest = task("rbac-probe", namespace=name, cpu="1", run="3s")
        manifest["spec"]["pool"] = name
        apply(hub, manifest)
        st = eventually(
            lambda: (
                (s := status(hub, "rbac-probe", name)) and condition(s, "Dispatched").get("reason") == "Forbidden" and s
            )
        )
        assert st["phase"] == "Dispatching"
        dispatched = condition(st, "Dispatched")
        assert dispatched["status"] == "False"
        assert "403" in dispatched["message"]
        assert "next try at" in dispatched["message"]
        assert "Forbidden" in eventually(lambda: events(hub, "rbac-probe", name))
        # Still not failed after a few retries.
        eventually(lambda: "try 3 failed" in condition(status(hub, "rbac-probe", name), "Dispatched")["message"])
        assert status(hub, "rbac-probe", name)["phase"] == "Dispatching"

        member.kubectl(
            "patch", "clusterrole", role, "--type=json",
            "-p", '[{"op":"add","path":"/rules/2/verbs/-","value":"create"}]',
        )  # fmt: skip
        eventually(lambda: phase_is(hub, "rbac-probe", "Succeeded", name), timeout=60)
    finally:
        _remove(hub, member, name)
        member.kubectl("delete", "clusterrole", role, "--ignore-not-found")


# ---- 12: a refusal longer than the API allows ----


def _noisy(name: str, resources: bool) -> dict[str, Any]:
    manifest = task(name, cpu="1", run="3s")
    container = manifest["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]
    if resources:  # the case: 40 made-up resource names, each refused twice
        container["resources"]["requests"].update({f"bogus-{i:02d}": "1" for i in range(40)})
    else:  # another input of the kind: mounts of volumes that do not exist
        container["volumeMounts"] = [{"name": f"missing-volume-{i:03d}", "mountPath": f"/m/{i}"} for i in range(120)]
    return manifest


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(True, id="case 12: 40 bogus resource names"),
        pytest.param(False, id="120 mounts of missing volumes"),
    ],
)
def test_a_huge_refusal_fails_the_task_with_a_message_the_hub_accepts(
    operator: devenv.OperatorProcess, hub: Cluster, resources: bool
) -> None:
    name = unique("noisy-refusal")
    apply(hub, _noisy(name, resources))
    try:
        st = eventually(lambda: phase_is(hub, name, "Failed"), timeout=45)
        assert condition(st, "Dispatched")["reason"] == "DispatchFailed"
        message = st["message"]
        assert len(message) <= 4096
        assert message.startswith(st["placement"]["identifier"])
        assert "more characters cut]" in message
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")


# ---- 13 B: an integer quantity in the template ----


def test_integer_quantities_in_the_template_are_dispatched(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    name = unique("int-cpu-limit")
    manifest = task(name, cpu="2", run="3s")
    manifest["spec"]["resources"]["memory"] = "2Gi"
    container = manifest["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {"limits": {"cpu": 2, "memory": "2Gi"}}
    apply(hub, manifest)
    try:
        st = eventually(lambda: phase_is(hub, name, "Succeeded"), timeout=60)
        assert condition(st, "Valid")["status"] == "True"
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")


# ---- deletion: no finalizer now, and the one earlier versions left is released ----


def test_a_task_holding_an_earlier_versions_finalizer_is_deleted_with_its_job(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    name = unique("legacy-finalizer")
    manifest = task(name, cpu="500m", run="600s")
    manifest["metadata"]["finalizers"] = ["computenet.io/kopf"]
    apply(hub, manifest)
    eventually(lambda: phase_is(hub, name, "Running"), timeout=JOB_S)
    uid = _uid(hub, name)
    assert len(_jobs_of(federation, uid)) == 1
    hub.kubectl("delete", "ctask", name, "--wait=false")

    def gone() -> bool:
        found = hub.kubectl("get", "ctask", name, "--ignore-not-found", "-o", "name").stdout.strip()
        assert found == "", found
        return True

    eventually(gone, timeout=STATE_S)
    eventually(lambda: _jobs_of(federation, uid) == [], timeout=STATE_S)
