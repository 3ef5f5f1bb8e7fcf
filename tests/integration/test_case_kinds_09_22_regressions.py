"""Other inputs of the kinds of field cases 09 and 22, and of the new workload kinds, that fail today.

Each test is one input a first-time user tried on the local federation; its docstring says what
happened and what should happen instead:

- two tasks naming one ConfigMap on one identifier (what travels with the workload);
- an identifier deleted together with its kubeconfig Secret, and an identifier re-pointed at another
  member, while a task runs on it (case 09's kind: the work must not run twice);
- a member that accepts a Deployment, JobSet or LeaderWorkerSet and refuses its pods (case 22's kind:
  the task must carry the member's words, as it does for a Job);
- a JobSet task whose name starts with a digit (a valid ComputeTask name).

member-1 runs the upstream JobSet and LeaderWorkerSet controllers; member-2 runs none.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from computenet.testing import controllers, devenv
from computenet.testing.federation import Cluster, Federation
from computenet.testing.topology import MemberShape, default_shape
from support.settings import OPERATOR_ENV
from support.tasks import apply, condition, phase_is, status, task, unique
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

SHAPES: list[MemberShape] = [
    dataclasses.replace(default_shape(1), controllers=controllers.WORKLOAD_CONTROLLERS),
    default_shape(2),
]
START_BOUND_S = 180.0
"""Case 22's bound: within 180 s of the dispatch the first attempt is over."""


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    federation = Federation.start(tmp_path_factory.mktemp("federation"), shapes=SHAPES)
    try:
        devenv.install_crds(federation.hub)
        devenv.register_members(federation, SHAPES)
        devenv.start_operator(federation, OPERATOR_ENV)
        yield federation
    finally:
        federation.stop()


def _namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}


def _identifier(name: str, secret: str, target_namespace: str, region: str, pool: str) -> dict[str, Any]:
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeIdentifier",
        "metadata": {"name": name, "labels": {"cases.computenet.io/pool": pool}},
        "spec": {
            "uri": f"cpi://cases/{region}/{name}",
            "provider": "cases",
            "region": region,
            "computeClass": "ai",
            "architectures": ["amd64", "arm64"],
            "connection": {
                "secretRef": {"name": secret, "namespace": devenv.NAMESPACE},
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


def _ready(hub: Cluster, identifier: str) -> bool:
    st = json.loads(hub.kubectl("get", "cid", identifier, "-o", "json").stdout).get("status") or {}
    return condition(st, "Ready").get("status") == "True"


def _said(st: dict[str, Any]) -> str:
    return " ".join([st.get("message") or "", *(c.get("message", "") for c in st.get("conditions") or ())])


def _none_running(member: Cluster, uid: str) -> bool:
    left = _jobs_of(member, uid)
    assert left == [], f"still running in {member.name}: {left}"
    return True


def _jobs_of(member: Cluster, uid: str) -> list[str]:
    out = member.kubectl("get", "jobs", "-A", "-l", f"computenet.io/task-uid={uid}", "-o", "json").stdout
    return [
        f"{j['metadata']['namespace']}/{j['metadata']['name']}"
        for j in json.loads(out)["items"]
        if not any(
            c["type"] in {"Complete", "Failed"} and c["status"] == "True" for c in j["status"].get("conditions") or ()
        )
    ]


@pytest.fixture
def case(fed: Federation) -> Iterator[str]:
    name = unique("kinds")
    apply(fed.hub, _namespace(name), _pool(name))
    try:
        yield name
    finally:
        fed.hub.kubectl("delete", "ctask", "--all", "-n", name, "--ignore-not-found", "--wait=false")
        fed.hub.kubectl("delete", "cid", "-l", f"cases.computenet.io/pool={name}", "--ignore-not-found")
        fed.hub.kubectl("delete", "cpool", name, "--ignore-not-found")
        fed.hub.kubectl("delete", "ns", name, "--ignore-not-found", "--wait=false")


# ---- what travels with the workload: one ConfigMap, two tasks ----


def test_two_tasks_naming_one_configmap_both_run_on_one_identifier(fed: Federation, case: str) -> None:
    """Today the first task's copy of the ConfigMap stays in the member, owned by its finished Job, until
    that task is deleted on the hub; the second task is refused at once and Fails: "ConfigMap
    computenet-workloads/train-config exists in the member and is not this task's: it is never
    overwritten". Two tasks of one namespace sharing a ConfigMap (or a ResourceClaimTemplate) is the
    ordinary case; both must run."""
    hub = fed.hub
    hub.kubectl("-n", case, "create", "configmap", "train-config", "--from-literal=lr=0.1")

    def one(name: str) -> dict[str, Any]:
        manifest = task(name, namespace=case, cpu="500m", run="2s")
        manifest["spec"]["identifier"] = "member-1"
        manifest["spec"]["pool"] = "default"
        container = manifest["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]
        container["envFrom"] = [{"configMapRef": {"name": "train-config"}}]
        return manifest

    apply(hub, one("first"))
    eventually(lambda: phase_is(hub, "first", "Succeeded", case), timeout=JOB_S)
    apply(hub, one("second"))

    def ended() -> dict[str, Any]:
        st = status(hub, "second", case)
        assert st.get("phase") in {"Succeeded", "Failed"}, st.get("phase")
        return st

    st = eventually(ended, timeout=JOB_S)
    assert st["phase"] == "Succeeded", _said(st)


# ---- case 09's kind: the identifier goes, or moves, while its task runs ----


@pytest.fixture
def alone_west(fed: Federation) -> Iterator[Cluster]:
    """member-2 with no identifier of its own (a member registered only through the test's identifiers),
    so nothing else watches it and fences for the operator; re-registered afterwards."""
    fed.hub.kubectl("delete", "cid", "member-2")
    try:
        yield fed.members[1]
    finally:
        devenv.register_members(fed, SHAPES)


def _west_runner(case: str) -> dict[str, Any]:
    manifest = task("west-runner", namespace=case, cpu="1", run="600s")
    manifest["spec"]["pool"] = case
    manifest["spec"]["constraints"] = {"regions": {"preferred": ["cases-west"]}}
    manifest["spec"]["failover"] = {"policy": "Requeue", "gracePeriodSeconds": 10}
    return manifest


def _copy_secret(hub: Cluster, source: str, name: str) -> None:
    secret = json.loads(hub.kubectl("-n", devenv.NAMESPACE, "get", "secret", source, "-o", "json").stdout)
    secret["metadata"] = {"name": name, "namespace": devenv.NAMESPACE}
    apply(hub, secret)


def _running_west(hub: Cluster, case: str, leaving: str, staying: str) -> str:
    for name in (leaving, staying):
        eventually(lambda name=name: _ready(hub, name), timeout=STATE_S)
    apply(hub, _west_runner(case))
    st = eventually(lambda: phase_is(hub, "west-runner", "Running", case), timeout=JOB_S)
    assert st["placement"]["identifier"] == leaving
    uid = json.loads(hub.kubectl("get", "ctask", "west-runner", "-n", case, "-o", "json").stdout)["metadata"]["uid"]
    return uid


def test_an_identifier_deleted_with_its_secret_leaves_no_copy_running(
    fed: Federation, case: str, alone_west: Cluster
) -> None:
    """`kubectl delete -f` of a file holding the Secret and then the identifier: the Secret's deletion
    drops the connection, so the identifier's deletion finds nothing to drain with. Today the task is
    requeued as attempt 2 elsewhere ("lost ... identifier was deleted") and attempt 1's Job keeps
    running in member-2 for ever: the work runs twice. The connection should be kept for the drain (or
    the attempt not abandoned while its Job may run)."""
    hub, east = fed.hub, fed.members[0]
    leaving, staying, secret = f"{case}-west", f"{case}-east", f"{case}-west-kubeconfig"
    _copy_secret(hub, "member-2-kubeconfig", secret)
    apply(
        hub,
        _identifier(leaving, secret, f"{case}-work", "cases-west", case),
        _identifier(staying, f"{east.name}-kubeconfig", f"{case}-work", "cases-east", case),
    )
    uid = _running_west(hub, case, leaving, staying)

    hub.kubectl("-n", devenv.NAMESPACE, "delete", "secret", secret)
    hub.kubectl("delete", "cid", leaving, "--wait=false")

    def elsewhere() -> bool:
        now = status(hub, "west-runner", case)
        assert now.get("attempt") == 2
        assert (now.get("placement") or {}).get("identifier") == staying
        return True

    eventually(elsewhere, timeout=60)
    eventually(lambda: _none_running(alone_west, uid), timeout=STATE_S)


def test_an_identifier_pointed_at_another_member_leaves_no_copy_running(
    fed: Federation, case: str, alone_west: Cluster
) -> None:
    """An administrator edits a running identifier's `spec.connection.secretRef` to another member's
    kubeconfig (the API accepts it). Today the operator looks for attempt 1's Job in the new member,
    does not find it, says "Job ... was deleted in the member before it finished" (it was not) and
    places attempt 2 there, while attempt 1 keeps running in the old member for ever. The old member
    should be drained first (as a deletion is), or the edit refused while tasks run."""
    hub, east = fed.hub, fed.members[0]
    moving, staying = f"{case}-west", f"{case}-east"
    apply(
        hub,
        _identifier(moving, "member-2-kubeconfig", f"{case}-work", "cases-west", case),
        _identifier(staying, f"{east.name}-kubeconfig", f"{case}-work", "cases-east", case),
    )
    uid = _running_west(hub, case, moving, staying)

    hub.kubectl(
        "patch",
        "cid",
        moving,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"connection": {"secretRef": {"name": f"{east.name}-kubeconfig"}}}}),
    )

    def moved_on() -> dict[str, Any]:
        now = status(hub, "west-runner", case)
        assert now.get("attempt", 1) > 1 or now.get("phase") != "Running", now.get("attempt")
        return now

    after = eventually(moved_on, timeout=60)
    assert "was deleted in the member" not in _said(after)
    eventually(lambda: _none_running(alone_west, uid), timeout=STATE_S)


# ---- case 22's kind for the other workload kinds ----


def _pod(cpu: str, restart: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": "main", "image": "busybox", "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]
    }
    if restart:
        spec["restartPolicy"] = restart
    return {"metadata": {"annotations": {"sim.computenet.io/run-duration": "600s"}}, "spec": spec}


WORKLOADS = {
    "deployment": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {"template": {**_pod("1", None), "metadata": {"labels": {"app": "x"}}}},
    },
    "jobset": {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "spec": {
            "replicatedJobs": [
                {
                    "name": "workers",
                    "replicas": 2,
                    "template": {"spec": {"backoffLimit": 0, "template": _pod("1", "Never")}},
                }
            ]
        },
    },
    "lws": {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "spec": {"replicas": 1, "leaderWorkerTemplate": {"size": 2, "workerTemplate": _pod("1", None)}},
    },
}


@pytest.mark.parametrize("kind", sorted(WORKLOADS))
def test_pods_a_member_refuses_end_the_attempt_in_its_words_for_every_kind(
    fed: Federation, case: str, kind: str
) -> None:
    """Case 22's quota (every pod must state a memory limit) under a Deployment, a JobSet and a
    LeaderWorkerSet. Today the attempt ends within the bound, but the task says only "the member created
    no pod of the workload in 65s": the FailedCreate events are on the ReplicaSet, the child Jobs and
    the StatefulSet, not on the object the operator created, so the member's words never reach the
    task (for a Job they do: "failed quota: ...: must specify limits.memory")."""
    hub, member = fed.hub, fed.members[0]
    target = f"{case}-{kind}"
    devenv.apply(
        member,
        _namespace(target),
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "rule", "namespace": target},
            "spec": {"hard": {"requests.cpu": "16", "limits.memory": "64Gi"}},
        },
    )
    try:
        identifier = f"{case}-{kind}"
        apply(hub, _identifier(identifier, f"{member.name}-kubeconfig", target, "cases-east", case))
        eventually(lambda: _ready(hub, identifier), timeout=STATE_S)
        apply(
            hub,
            {
                "apiVersion": "computenet.io/v1alpha1",
                "kind": "ComputeTask",
                "metadata": {"name": kind, "namespace": case},
                "spec": {
                    "pool": case,
                    "identifier": identifier,
                    "resources": {},
                    "failover": {"policy": "Never", "gracePeriodSeconds": 10},
                    "workload": WORKLOADS[kind],
                },
            },
        )
        st = eventually(lambda: phase_is(hub, kind, "Failed", case), timeout=START_BOUND_S)
        assert "must specify limits.memory" in _said(st), _said(st)
    finally:
        hub.kubectl("delete", "ctask", kind, "-n", case, "--ignore-not-found", "--wait=true")
        member.kubectl("delete", "ns", target, "--ignore-not-found", "--wait=false")


# ---- names ----


def test_a_jobset_task_whose_name_starts_with_a_digit_runs(fed: Federation) -> None:
    """`9js-train` is a valid ComputeTask name (a DNS subdomain). Today the remote JobSet is named
    `9js-train-<hash>-1`, and the member's JobSet webhook refuses it (its Job names must be DNS-1035
    labels, starting with a letter): the task is placed, then Fails with "HTTP 403: admission webhook
    vjobset.kb.io denied the request". The operator cuts names to what each kind's controller derives
    (docs/workloads.md, Names); it should make them start with a letter too (or refuse the task at once,
    naming metadata.name)."""
    hub = fed.hub
    name = f"9js-{unique('t')}"
    apply(
        hub,
        {
            "apiVersion": "computenet.io/v1alpha1",
            "kind": "ComputeTask",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "pool": "default",
                "identifier": "member-1",
                "resources": {},
                "workload": {
                    "apiVersion": "jobset.x-k8s.io/v1alpha2",
                    "kind": "JobSet",
                    "spec": {
                        "replicatedJobs": [
                            {
                                "name": "w",
                                "replicas": 1,
                                "template": {
                                    "spec": {
                                        "backoffLimit": 0,
                                        "template": {
                                            **_pod("100m", "Never"),
                                            "metadata": {"annotations": {"sim.computenet.io/run-duration": "2s"}},
                                        },
                                    }
                                },
                            }
                        ]
                    },
                },
            },
        },
    )
    try:

        def ended() -> dict[str, Any]:
            st = status(hub, name)
            assert st.get("phase") in {"Succeeded", "Failed"}, st.get("phase")
            return st

        st = eventually(ended, timeout=JOB_S)
        assert st["phase"] == "Succeeded", _said(st)
    finally:
        hub.kubectl("delete", "ctask", name, "--ignore-not-found", "--wait=false")


# ---- an identifier restored from a backup ----


def test_an_identifier_restored_from_a_backup_is_followed(fed: Federation, case: str) -> None:
    """`kubectl get cid x -o yaml > backup.yaml`, the identifier deleted, then `kubectl create -f
    backup.yaml` (or a Velero restore, or a GitOps export applied to another hub). The backup carries the
    operator's own annotation `computenet.io/last-handled-configuration`, so kopf takes the new object
    for one it already handled: no handler runs, and today the identifier stays with no status and no
    condition for ever (until the operator restarts). The same holds for ComputePools and
    ComputeWorkloadKinds. It should be configured like any new identifier."""
    hub, east = fed.hub, fed.members[0]
    name = f"{case}-restored"
    apply(hub, _identifier(name, f"{east.name}-kubeconfig", f"{case}-work", "cases-east", case))
    eventually(lambda: _ready(hub, name), timeout=STATE_S)
    backup = json.loads(hub.kubectl("get", "cid", name, "-o", "json").stdout)
    assert "computenet.io/last-handled-configuration" in backup["metadata"]["annotations"]
    backup.pop("status", None)
    for field in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "finalizers"):
        backup["metadata"].pop(field, None)
    hub.kubectl("delete", "cid", name)
    hub.kubectl("create", "-f", "-", input=json.dumps(backup))
    eventually(lambda: _ready(hub, name), timeout=STATE_S)
