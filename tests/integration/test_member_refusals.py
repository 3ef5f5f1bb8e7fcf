"""Nothing stuck when a member refuses after accepting, and nothing run twice when an identifier goes.

Field cases 22 (a member's ResourceQuota or LimitRange refuses the pods of an accepted Job) and 09
(an identifier deleted while its member still answers), and the other kinds of the same faults: a
quota that is merely full, an admission policy that denies the Job with HTTP 403 (not RBAC: it never
passes), and a target namespace the operator's identity may not create. Each identifier here is
a view of a dev member through the operator's own member identity (deploy/member-rbac.yaml), with a
target namespace the test prepares in that member.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from support.members import member_identity
from support.tasks import apply, condition, phase_is, remote_jobs, status, task, unique
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

START_BOUND_S = 180.0
"""Case 22's bound: within 180 s of the dispatch the first attempt is over (the operator's own is 60 s)."""


def _identifier(name: str, member: Cluster, target_namespace: str, region: str, pool: str) -> dict[str, Any]:
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeIdentifier",
        "metadata": {"name": name, "labels": {"cases.computenet.io/pool": pool}},
        "spec": {
            "uri": f"cpi://cases/{region}/{name}",
            "provider": "cases",
            "region": region,
            "computeClass": "ai",
            "architectures": ["amd64"],
            "connection": {
                "secretRef": {"name": f"{member.name}-kubeconfig", "namespace": devenv.NAMESPACE},
                "targetNamespace": target_namespace,
            },
        },
    }


def _pool(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputePool",
        "metadata": {"name": name},
        "spec": {"identifierSelector": {"matchLabels": {"cases.computenet.io/pool": name}}},
    }


def _namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}


def _ready(hub: Cluster, identifier: str) -> bool:
    st = json.loads(hub.kubectl("get", "cid", identifier, "-o", "json").stdout).get("status") or {}
    return condition(st, "Ready").get("status") == "True"


def _pinned(name: str, namespace: str, pool: str, identifier: str, cpu: str, policy: str) -> dict[str, Any]:
    manifest = task(name, namespace=namespace, cpu=cpu, run="5s")
    manifest["spec"]["pool"] = pool
    manifest["spec"]["identifier"] = identifier
    manifest["spec"]["failover"] = {"policy": policy, "gracePeriodSeconds": 10}
    container = manifest["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {"requests": {"cpu": cpu}}  # no memory limit: what case 22's quota requires
    return manifest


@pytest.fixture
def case(hub: Cluster, member: Cluster, operator: devenv.OperatorProcess) -> Iterator[str]:
    """A name for the test's hub namespace, pool and identifiers, all removed afterwards."""
    name = unique("refusal")
    apply(hub, _namespace(name), _pool(name))
    try:
        yield name
    finally:
        hub.kubectl("delete", "ctask", "--all", "-n", name, "--ignore-not-found", "--wait=false")
        hub.kubectl("delete", "cid", "-l", f"cases.computenet.io/pool={name}", "--ignore-not-found")
        hub.kubectl("delete", "cpool", name, "--ignore-not-found")
        hub.kubectl("delete", "ns", name, "--ignore-not-found", "--wait=false")


# ---- 22: the member accepts the Job and refuses its pods ----


@dataclass(frozen=True)
class Refusal:
    """One member rule that refuses a task's pods, and what the task must say once its attempt ends."""

    name: str
    rule: dict[str, Any]
    cpu: str
    policy: str
    words: str


REFUSALS = (
    Refusal(
        "quota",  # case 22: a quota requiring memory limits; requeued as attempt 2
        {"kind": "ResourceQuota", "spec": {"hard": {"requests.cpu": "16", "limits.memory": "64Gi"}}},
        "1",
        "Requeue",
        "must specify limits.memory",
    ),
    Refusal(
        "limits",  # case 22: a LimitRange capping cpu per container; policy Never fails in the member's words
        {"kind": "LimitRange", "spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}}]}},
        "4",
        "Never",
        "cpu limit of 2",
    ),
    Refusal(
        "full",  # a quota too small for the pod: the attempt ends too
        {"kind": "ResourceQuota", "spec": {"hard": {"requests.cpu": "1"}}},
        "2",
        "Never",
        "exceeded quota",
    ),
)


def test_pods_the_member_refuses_end_the_attempt_in_its_words(case: str, hub: Cluster, member: Cluster) -> None:
    """Case 22 and another input of its kind, side by side (one wait for the bound serves all three)."""
    jobs: dict[str, dict[str, Any]] = {}
    try:
        for r in REFUSALS:
            target = f"{case}-{r.name}"
            devenv.apply(
                member,
                _namespace(target),
                {"apiVersion": "v1", "metadata": {"name": "rule", "namespace": target}, **r.rule},
            )
            apply(hub, _identifier(f"{case}-{r.name}", member, target, "cases-east", case))
        for r in REFUSALS:
            eventually(lambda r=r: _ready(hub, f"{case}-{r.name}"), timeout=STATE_S)
            apply(hub, _pinned(r.name, case, case, f"{case}-{r.name}", r.cpu, r.policy))
        for r in REFUSALS:
            st = eventually(lambda r=r: (s := status(hub, r.name, case)).get("remote") and s, timeout=JOB_S)
            jobs[r.name] = st["remote"]
            # The member took the Job and made no pod of it.
            assert member.kubectl(
                "-n", st["remote"]["namespace"], "get", "job", st["remote"]["name"], "-o", "name"
            ).stdout

        for r in REFUSALS:

            def over(r: Refusal = r) -> dict[str, Any]:
                now = status(hub, r.name, case)
                assert now.get("phase") == "Failed" or now.get("attempt", 1) > 1, (r.name, now.get("phase"))
                return now

            after = eventually(over, timeout=START_BOUND_S)
            said = " ".join(
                [after.get("message") or "", *(c.get("message", "") for c in after.get("conditions") or ())]
            )
            assert r.words in said, (r.name, said)
            assert "the member created no pod of the workload" in said
            if r.policy == "Never":
                assert after["phase"] == "Failed"
                assert condition(after, "Dispatched")["reason"] == "PodsNotStarted"
            else:
                assert after["attempt"] == 2
                assert condition(after, "Placed")["reason"] in {"PodsNotStarted", "Placed"}
        for r in REFUSALS:  # the refused attempt's Job does not stay behind in the member
            job = jobs[r.name]
            eventually(
                lambda job=job: (
                    member.kubectl(
                        "-n", job["namespace"], "get", "job", job["name"], "--ignore-not-found", "-o", "name"
                    ).stdout.strip()
                    == ""
                ),
                timeout=STATE_S,
            )
    finally:
        hub.kubectl("delete", "ctask", "--all", "-n", case, "--ignore-not-found", "--wait=true")
        for r in REFUSALS:
            member.kubectl("delete", "ns", f"{case}-{r.name}", "--ignore-not-found", "--wait=false")


# ---- a 403 that is an admission policy's, not RBAC's ----


def test_a_job_an_admission_policy_denies_fails_with_the_policys_message(
    case: str, hub: Cluster, member: Cluster
) -> None:
    target = f"{case}-work"
    policy = f"{case}-trusted-images"
    message = "images must come from registry.trusted"
    devenv.apply(
        member,
        _namespace(target),
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": policy},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["jobs"]}
                    ]
                },
                "validations": [
                    {
                        "expression": "object.spec.template.spec.containers.all("
                        "c, c.image.startsWith('registry.trusted/'))",
                        "message": message,
                        "reason": "Forbidden",
                    }
                ],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": policy},
            "spec": {
                "policyName": policy,
                "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": target}}},
            },
        },
    )
    try:
        # The policy is in force once the member itself denies a Job with it.
        def denies() -> bool:
            probe = member.kubectl(
                "-n", target, "create", "job", "probe", "--image=busybox", "--dry-run=server", check=False
            )
            assert message in probe.stderr, probe.stderr
            return True

        eventually(denies, timeout=STATE_S)
        identifier = f"{case}-m1"
        apply(hub, _identifier(identifier, member, target, "cases-east", case))
        eventually(lambda: _ready(hub, identifier), timeout=STATE_S)
        apply(hub, _pinned("denied", case, case, identifier, "1", "Requeue"))
        st = eventually(lambda: phase_is(hub, "denied", "Failed", case), timeout=STATE_S)
        assert message in st["message"]
        assert "403" in st["message"]
        assert condition(st, "Dispatched")["reason"] == "DispatchFailed"
    finally:
        member.kubectl("delete", "validatingadmissionpolicybinding", policy, "--ignore-not-found")
        member.kubectl("delete", "validatingadmissionpolicy", policy, "--ignore-not-found")
        member.kubectl("delete", "ns", target, "--ignore-not-found", "--wait=false")


# ---- 09: an identifier deleted while its member answers is drained ----


def test_a_deleted_identifier_is_drained_before_its_task_runs_elsewhere(
    case: str, hub: Cluster, federation: Federation
) -> None:
    west, east = federation.members[1], federation.members[0]
    leaving, staying = f"{case}-west", f"{case}-east"
    apply(
        hub,
        _identifier(leaving, west, f"{case}-work", "cases-west", case),
        _identifier(staying, east, f"{case}-work", "cases-east", case),
    )
    for name in (leaving, staying):
        eventually(lambda name=name: _ready(hub, name), timeout=STATE_S)
    manifest = task("west-runner", namespace=case, cpu="1", run="600s")
    manifest["spec"]["pool"] = case
    manifest["spec"]["constraints"] = {"regions": {"preferred": ["cases-west"]}}
    manifest["spec"]["failover"] = {"policy": "Requeue", "gracePeriodSeconds": 10}
    apply(hub, manifest)
    st = eventually(lambda: phase_is(hub, "west-runner", "Running", case), timeout=JOB_S)
    assert st["placement"]["identifier"] == leaving
    first = st["remote"]
    uid = json.loads(hub.kubectl("get", "ctask", "west-runner", "-n", case, "-o", "json").stdout)["metadata"]["uid"]

    hub.kubectl("delete", "cid", leaving)

    def elsewhere() -> dict[str, Any]:
        now = status(hub, "west-runner", case)
        assert now.get("attempt") == 2, now.get("attempt")
        assert (now.get("placement") or {}).get("identifier") == staying
        assert now.get("remote")
        return now

    eventually(elsewhere, timeout=60)
    # One copy of the work runs anywhere: attempt 1's Job is gone from member-2.
    left = west.kubectl(
        "-n", first["namespace"], "get", "job", first["name"], "--ignore-not-found", "-o", "name"
    ).stdout.strip()
    assert left == ""
    jobs = remote_jobs(federation).get(uid, [])
    assert [(m, j["metadata"]["labels"]["computenet.io/attempt"]) for m, j in jobs] == [(east.name, "2")]


# ---- pods that are created but never start ----


@pytest.mark.parametrize(
    ("waiting", "grace"),
    [
        pytest.param(
            "CreateContainerConfigError",
            START_BOUND_S,
            id="a missing ConfigMap: the attempt ends in the kubelet's words",
        ),
    ],
)
def test_pods_that_never_start_end_the_attempt(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation, waiting: str, grace: float
) -> None:
    name = unique("never-starts")
    manifest = task(name, cpu="500m", run="600s")
    manifest["spec"]["failover"] = {"policy": "Never", "gracePeriodSeconds": 10}
    pod_meta = manifest["spec"]["template"]["spec"]["template"]["metadata"]
    pod_meta["annotations"]["sim.computenet.io/waiting"] = waiting
    apply(hub, manifest)
    try:
        st = eventually(lambda: phase_is(hub, name, "Failed"), timeout=grace)
        assert condition(st, "Dispatched")["reason"] == "PodsNotStarted"
        assert f"main: {waiting}" in st["message"]
        uid = json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"]
        eventually(lambda: remote_jobs(federation).get(uid, []) == [], timeout=STATE_S)
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")


# ---- a target namespace the operator may not create ----

_RULES_WITHOUT_NAMESPACE_CREATE = [
    {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch", "create", "delete", "patch"]},
]


def test_a_target_namespace_the_operator_may_not_create_is_named_until_it_exists(
    case: str, hub: Cluster, member: Cluster
) -> None:
    identity, role, target = f"{case}-id", f"{case}-member", f"{case}-missing"
    member_identity(member, hub, identity, role, _RULES_WITHOUT_NAMESPACE_CREATE)
    identifier = f"{case}-m1"
    ident = _identifier(identifier, member, target, "cases-east", case)
    ident["spec"]["connection"]["secretRef"]["name"] = f"{identity}-kubeconfig"
    try:
        apply(hub, ident)
        eventually(lambda: _ready(hub, identifier), timeout=STATE_S)
        apply(hub, _pinned("waits", case, case, identifier, "1", "Never"))

        def named() -> dict[str, Any]:
            st = status(hub, "waits", case)
            assert condition(st, "Dispatched").get("reason") == "TargetNamespaceUnavailable", condition(
                st, "Dispatched"
            )
            return st

        st = eventually(named, timeout=STATE_S)
        assert st["phase"] == "Dispatching"
        assert (
            f"target namespace {target} does not exist and could not be created"
            in condition(st, "Dispatched")["message"]
        )
        said = eventually(
            lambda: (
                (
                    c := condition(
                        json.loads(hub.kubectl("get", "cid", identifier, "-o", "json").stdout)["status"], "Dispatchable"
                    )
                )
                and c
            ),
            timeout=STATE_S,
        )
        assert (said["status"], said["reason"]) == ("False", "TargetNamespaceUnavailable")
        assert target in said["message"]
        # The member's administrator creates it: the next try goes through, with no resubmission.
        devenv.apply(member, _namespace(target))
        eventually(lambda: phase_is(hub, "waits", "Succeeded", case), timeout=90)
        works = condition(
            json.loads(hub.kubectl("get", "cid", identifier, "-o", "json").stdout)["status"], "Dispatchable"
        )
        assert works["status"] == "True"
    finally:
        hub.kubectl("delete", "ctask", "waits", "-n", case, "--ignore-not-found", "--wait=true")
        hub.kubectl("delete", "secret", f"{identity}-kubeconfig", "-n", devenv.NAMESPACE, "--ignore-not-found")
        member.kubectl("delete", "ns", target, identity, "--ignore-not-found", "--wait=false")
        member.kubectl("delete", "clusterrolebinding", identity, "--ignore-not-found")
        member.kubectl("delete", "clusterrole", role, "--ignore-not-found")
