"""Pull mode on the real hub and members: member-3 joins through its agent instead of a kubeconfig.

The agent runs as a real process with a hub token limited to its provider namespace (a ServiceAccount
token from the hub's TokenRequest API); the operator holds no credential for member-3. Tasks placed
there run to Succeeded with the same status and events as on a push member; killing the agent is a
lost member (its Lease expires), failover moves the work, and the agent removes the stale attempt
when it comes back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from computenet.agent.run import DISCOVERY_EVERY_S
from computenet.api.constants import AGENT_LABEL, TASK_UID_LABEL
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from computenet.testing.topology import default_shape
from support.settings import OPERATOR_ENV
from support.tasks import TERMINAL, apply, condition, events, phase_is, remote_jobs, status, task, tasks, unique
from support.timeouts import BURST_S, JOB_S, MEMBER_DOWN_S, STATE_S
from support.wait import eventually

PULL_INDEX = 3
REGION = "cn-north"
AGENT_KINDS = ["apps/v1 Deployment", "apps/v1 StatefulSet", "batch/v1 Job"]
"""What the dev agent runs in member-3 (``devenv.DEV_AGENT_KINDS`` and Jobs), as its identifier lists them."""
PLUGIN = Path(sys.executable).parent / "kubectl-computenet"


def _regions() -> list[str]:
    return [default_shape(i).region for i in range(1, 4)]


def _identifier(hub: Cluster, name: str) -> dict[str, Any]:
    return json.loads(hub.kubectl("get", "cid", name, "-o", "json").stdout)


def _ready(hub: Cluster, name: str) -> dict[str, Any]:
    """Ready as a pull member: Reachable through the agent's Lease, not through a kubeconfig."""
    st = _identifier(hub, name).get("status") or {}
    assert condition(st, "Reachable").get("message") == "the agent renews its Lease (or reports)", condition(
        st, "Reachable"
    )
    assert condition(st, "Ready").get("status") == "True", condition(st, "Ready")
    return st


@pytest.fixture(scope="module")
def pull_member(operator: devenv.OperatorProcess, federation: Federation) -> Iterator[devenv.AgentProcess]:
    """member-3 in pull mode for this module; in push mode again afterwards."""
    agent = devenv.register_pull_member(federation, PULL_INDEX, default_shape(PULL_INDEX), _regions())
    member = federation.members[PULL_INDEX - 1]
    try:
        eventually(lambda: _ready(federation.hub, member.name), timeout=STATE_S)
        yield agent
    finally:
        if agent.process in federation.supervisor.names():
            devenv.stop_agent(agent)
        push = devenv.identifier_manifest(PULL_INDEX, member, default_shape(PULL_INDEX), _regions())
        devenv.apply(federation.hub, push)


def _works(hub: Cluster, namespace: str) -> list[dict[str, Any]]:
    return json.loads(hub.kubectl("get", "computeworks", "-n", namespace, "-o", "json").stdout)["items"]


def _kinds(hub: Cluster, name: str) -> list[str]:
    kinds: list[str] = (_identifier(hub, name).get("status") or {}).get("workloadKinds") or []
    return kinds


def _lists(hub: Cluster, name: str, *kinds: str) -> list[str]:
    """The identifier's kinds once they are these (a restarted agent reports what its member serves)."""
    listed = _kinds(hub, name)
    assert listed == sorted(kinds), listed
    return listed


def _why(hub: Cluster, name: str) -> dict[str, dict[str, Any]]:
    """`kubectl computenet why <task> -o json`: each identifier's row, by identifier."""
    env = {**os.environ, "KUBECONFIG": str(hub.kubeconfig)}
    out = subprocess.run(
        [str(PLUGIN), "why", name, "-o", "json"], env=env, text=True, capture_output=True, timeout=120, check=True
    )
    return {row["identifier"]: row for row in json.loads(out.stdout)["identifiers"]}


def _report_time(hub: Cluster, agent: devenv.AgentProcess) -> str:
    obj = json.loads(hub.kubectl("get", "computeagent", agent.name, "-n", agent.namespace, "-o", "json").stdout)
    return str(((obj.get("status") or {}).get("report") or {}).get("reportTime") or "")


def test_pull_identifier_reports_the_members_nodes_like_push(pull_member: devenv.AgentProcess, hub: Cluster) -> None:
    st = _ready(hub, pull_member.member.name)
    assert st["nodes"] == {"total": 10, "ready": 10, "schedulable": 10}
    assert st["accelerators"]["NVIDIA-L40S"]["allocatable"] == 16
    assert st["accelerators"]["NVIDIA-L40S"]["largestFreeSlot"] == 4
    assert condition(st, "Reachable")["reason"] == "Reachable"
    agent_status = json.loads(
        hub.kubectl("get", "computeagent", pull_member.name, "-n", pull_member.namespace, "-o", "json").stdout
    )["status"]
    assert sum(len(entry["names"]) for entry in agent_status["report"]["nodes"]) == 10
    assert len(agent_status["report"]["shapes"]) == 3  # gh200, l40s and cpu nodes
    assert len(agent_status["report"]["nodes"]) == 3  # idle nodes of one shape share one entry
    assert condition(agent_status, "Approved")["status"] == "True"
    # The kinds the agent runs there, read from its member's discovery, listed as a push member's are.
    assert eventually(lambda: _lists(hub, pull_member.member.name, *AGENT_KINDS), timeout=STATE_S) == AGENT_KINDS
    reported = json.loads(
        hub.kubectl("get", "computeagent", pull_member.name, "-n", pull_member.namespace, "-o", "json").stdout
    )["status"]["report"]
    assert reported["workloadKinds"] == AGENT_KINDS


DRA_DRIVER = "gpu.pull.example"
DRA_MODEL = "PULL-TEST-GPU"


def _dra_objects(node: str) -> list[dict[str, Any]]:
    """A DeviceClass of a made-up driver and a ResourceSlice with two of its devices on `node`."""
    return [
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "DeviceClass",
            "metadata": {"name": DRA_DRIVER},
            "spec": {"selectors": [{"cel": {"expression": f'device.driver == "{DRA_DRIVER}"'}}]},
        },
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceSlice",
            "metadata": {"name": f"pull-dra-{node}"},
            "spec": {
                "driver": DRA_DRIVER,
                "nodeName": node,
                "pool": {"name": node, "generation": 1, "resourceSliceCount": 1},
                "devices": [
                    {
                        "name": f"gpu-{i}",
                        "attributes": {"model": {"string": DRA_MODEL}},
                        "capacity": {"memory": {"value": "80Gi"}},
                    }
                    for i in range(2)
                ],
            },
        },
    ]


def test_the_agent_reports_its_members_dra_devices_and_the_identifier_shows_them(
    pull_member: devenv.AgentProcess, hub: Cluster
) -> None:
    member = pull_member.member
    node = json.loads(member.kubectl("get", "nodes", "-o", "json").stdout)["items"][0]["metadata"]["name"]
    devenv.apply(member, *_dra_objects(node))

    def shown() -> dict[str, Any]:
        st = _ready(hub, member.name)
        found: dict[str, Any] = (st.get("accelerators") or {}).get(DRA_MODEL) or {}
        assert found == {
            "driver": DRA_DRIVER,
            "capacity": 2,
            "allocatable": 2,
            "allocated": 0,
            "free": 2,
            "largestFreeSlot": 2,
        }, st.get("accelerators")
        return found

    try:
        eventually(shown, timeout=STATE_S)
        reported = json.loads(
            hub.kubectl("get", "computeagent", pull_member.name, "-n", pull_member.namespace, "-o", "json").stdout
        )["status"]["report"]["dra"]
        assert "problem" not in reported, reported
        (sent,) = [s for s in reported["slices"] if s["driver"] == DRA_DRIVER]
        assert [d["name"] for d in sent["devices"]] == ["gpu-0", "gpu-1"]  # compact records, not the objects
        assert DRA_DRIVER in [c["name"] for c in reported["classes"]]
    finally:
        member.kubectl("delete", "resourceslice", f"pull-dra-{node}", "--ignore-not-found")
        member.kubectl("delete", "deviceclass", DRA_DRIVER, "--ignore-not-found")
    eventually(lambda: DRA_MODEL not in (_ready(hub, member.name).get("accelerators") or {}), timeout=STATE_S)


def test_task_runs_through_the_agent_to_succeeded_with_push_status_and_events(
    pull_member: devenv.AgentProcess, hub: Cluster, federation: Federation
) -> None:
    name = unique("pulled")
    apply(hub, task(name, gpus=4, models=["NVIDIA-L40S"], run="2s", regions=[REGION]))
    st = eventually(lambda: phase_is(hub, name, "Succeeded"), timeout=JOB_S)
    assert st["placement"]["identifier"] == pull_member.member.name
    assert st["placement"]["acceleratorModel"] == "NVIDIA-L40S"
    assert condition(st, "Dispatched")["status"] == "True"
    assert st["usage"]["gpuSeconds"] >= 4
    assert st["cost"]["amount"] > 0
    uid = json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"]
    ((member, job),) = remote_jobs(federation)[uid]
    assert member == pull_member.member.name
    assert job["metadata"]["name"] == st["remote"]["name"]
    assert job["metadata"]["labels"][AGENT_LABEL] == pull_member.name
    assert st["remote"]["uid"] == job["metadata"]["uid"]
    (work,) = [w for w in _works(hub, pull_member.namespace) if w["metadata"]["labels"][TASK_UID_LABEL] == uid]
    assert work["metadata"]["name"] == job["metadata"]["name"]
    assert condition(work["status"], "Applied")["reason"] == "Created"
    assert work["status"]["job"]["succeeded"] == 1
    reasons = eventually(lambda: (r := events(hub, name)) and {"Dispatched", "JobSucceeded"} <= set(r) and r)
    assert sorted(reasons) == ["Dispatched", "JobSucceeded"]


def test_lost_agent_fails_over_and_its_stale_jobs_go_when_it_returns(
    pull_member: devenv.AgentProcess, hub: Cluster, federation: Federation
) -> None:
    victim = pull_member.member
    label = unique("pullover")
    objs = [task(f"{label}-{i}", cpu="100m", run="30s", grace=5, regions=[REGION]) for i in range(3)]
    for o in objs:
        o["metadata"]["labels"] = {"batch": label}
    apply(hub, *objs)
    selector = f"batch={label}"
    eventually(
        lambda: [(t.get("status") or {}).get("phase") for t in tasks(hub, selector=selector)] == ["Running"] * 3,
        timeout=JOB_S,
    )
    for o in objs:  # from now on they may run anywhere (the required region forbids a failover target)
        hub.kubectl(
            "patch", "ctask", o["metadata"]["name"], "--type=json",
            "-p", '[{"op":"replace","path":"/spec/constraints","value":{"regions":{"preferred":["' + REGION + '"]}}}]',
        )  # fmt: skip
    before = {t["metadata"]["uid"] for t in tasks(hub, selector=selector)}
    devenv.stop_agent(pull_member, signal.SIGKILL)
    lost = eventually(
        lambda: (c := condition(_identifier(hub, victim.name)["status"], "Reachable"))["status"] == "False" and c,
        timeout=MEMBER_DOWN_S,
    )
    assert lost["reason"] == "AgentLeaseExpired"
    try:
        moved = eventually(
            lambda: (
                all(
                    (t.get("status") or {}).get("attempt") == 2
                    and (t["status"].get("placement") or {}).get("identifier") != victim.name
                    and t["status"].get("phase") in ("Running", "Succeeded")
                    for t in tasks(hub, selector=selector)
                )
                and tasks(hub, selector=selector)
            ),
            timeout=MEMBER_DOWN_S + JOB_S,
        )
        assert all("Requeued" in events(hub, t["metadata"]["name"]) for t in moved)
        # The hub removed the stale attempts' work at once; their Jobs still run in the member, unreachable.
        assert not [w for w in _works(hub, pull_member.namespace) if w["metadata"]["labels"][TASK_UID_LABEL] in before]
        stale = [uid for uid in before if victim.name in [m for m, _ in remote_jobs(federation).get(uid, [])]]
        assert sorted(stale) == sorted(before)
    finally:
        devenv.start_agent(federation, victim, pull_member.hub_kubeconfig, pull_member.namespace, pull_member.name)

    def stale_gone() -> bool:
        jobs = remote_jobs(federation)
        for uid in before:
            members = [m for m, _ in jobs.get(uid, [])]
            assert victim.name not in members, (uid, members)
        return True

    eventually(stale_gone, timeout=STATE_S)
    eventually(lambda: _ready(hub, victim.name), timeout=STATE_S)
    for t in tasks(hub, selector=selector):
        assert status(hub, t["metadata"]["name"])["attempt"] == 2


def _past_placement(hub: Cluster, selector: str) -> int:
    return sum(
        1
        for t in tasks(hub, selector=selector)
        if (t.get("status") or {}).get("phase") in ("Dispatching", "Running", "Succeeded")
    )


def test_agent_and_operator_killed_mid_flight_run_every_task_once(
    pull_member: devenv.AgentProcess, operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    label = unique("pullkill")
    selector = f"batch={label}"
    objs = [task(f"{label}-{i:02d}", cpu="100m", run="3s", regions=[REGION]) for i in range(30)]
    for o in objs:
        o["metadata"]["labels"] = {"batch": label}
    apply(hub, *objs)
    eventually(lambda: _past_placement(hub, selector) >= 8 or None, timeout=JOB_S)
    # Both sides die without cleanup while work is being dispatched, created and mirrored.
    devenv.stop_agent(pull_member, signal.SIGKILL)
    devenv.kill_operator(operator)
    devenv.start_agent(
        federation, pull_member.member, pull_member.hub_kubeconfig, pull_member.namespace, pull_member.name
    )
    devenv.start_operator(
        federation, OPERATOR_ENV, ports=(operator.metrics_port, operator.health_port), until=(devenv.LEADING,)
    )

    def all_done() -> list[dict[str, Any]]:
        items = tasks(hub, selector=selector)
        assert len(items) == 30
        assert {(t.get("status") or {}).get("phase") for t in items} <= TERMINAL
        return items

    items = eventually(all_done, timeout=BURST_S)
    assert {t["status"]["phase"] for t in items} == {"Succeeded"}
    assert {t["status"]["attempt"] for t in items} == {1}
    jobs = remote_jobs(federation)
    works = _works(hub, pull_member.namespace)
    for t in items:
        uid = t["metadata"]["uid"]
        found = jobs.get(uid, [])
        assert [m for m, _ in found] == [pull_member.member.name], (t["metadata"]["name"], found)
        assert len([w for w in works if w["metadata"]["labels"][TASK_UID_LABEL] == uid]) == 1


def test_a_deployment_runs_through_the_agent_while_available_and_goes_with_its_task(
    pull_member: devenv.AgentProcess, hub: Cluster
) -> None:
    """Pull mode runs any kind its agent enables (the dev agents: Deployments and StatefulSets)."""
    name = unique("pulled-serving")
    manifest = {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": 2,
            "resources": {"cpu": "500m", "memory": "512Mi"},
            "constraints": {"regions": {"required": [REGION]}},
            "workload": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
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
    member = pull_member.member

    def deployment() -> dict[str, Any] | None:
        out = member.kubectl(
            "-n", remote["namespace"], "get", "deployment", remote["name"], "--ignore-not-found", "-o", "json"
        ).stdout
        return json.loads(out) if out.strip() else None

    apply(hub, manifest)
    try:
        st = eventually(lambda: phase_is(hub, name, "Running"), timeout=JOB_S)
        remote = st["remote"]
        assert st["placement"]["identifier"] == member.name
        assert (remote["apiVersion"], remote["kind"]) == ("apps/v1", "Deployment")
        obj = deployment()
        assert obj is not None
        assert obj["metadata"]["labels"][AGENT_LABEL] == pull_member.name
        assert (obj["status"].get("availableReplicas") or 0) == 2
        uid = json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"]
        (work,) = [w for w in _works(hub, pull_member.namespace) if w["metadata"]["labels"][TASK_UID_LABEL] == uid]
        mirrored = work["status"]["job"]
        assert (mirrored["apiVersion"], mirrored["kind"]) == ("apps/v1", "Deployment")
        assert mirrored["status"]["availableReplicas"] == 2
        assert status(hub, name)["phase"] == "Running", "serving: it does not end by itself"
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")
    eventually(lambda: deployment() is None, timeout=STATE_S)
    eventually(lambda: not [w for w in _works(hub, pull_member.namespace) if w["metadata"]["name"] == remote["name"]])


# ---- a kind declared on the hub, and what travels with a workload, in pull mode ----

WIDGETS = "widgets.pull.example.com"
"""A declared kind whose CRD only the pull member serves; the test plays its controller (it writes its status)."""


def _widget_crd() -> dict[str, Any]:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": WIDGETS},
        "spec": {
            "group": "pull.example.com",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def _widget_kind() -> dict[str, Any]:
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeWorkloadKind",
        "metadata": {"name": WIDGETS},
        "spec": {
            "apiVersion": "pull.example.com/v1alpha1",
            "kind": "Widget",
            "plural": "widgets",
            "podSets": [{"role": "worker", "count": "spec.workers", "resources": "spec.resources"}],
            "status": {
                "failed": {"path": "status.phase", "equals": "Failed"},
                "succeeded": {"path": "status.phase", "equals": "Succeeded"},
                "running": {"cel": 'has(self.status.phase) && self.status.phase == "Running"'},
                "message": "status.message",
            },
        },
    }


@pytest.fixture(scope="module")
def widgets(pull_member: devenv.AgentProcess, hub: Cluster) -> Iterator[None]:
    """The Widget CRD in the pull member (its member RBAC too, as the provider adds it), declared on the hub."""
    member = pull_member.member
    devenv.apply(member, _widget_crd())
    member.kubectl("wait", "--for=condition=Established", f"crd/{WIDGETS}", "--timeout=60s")
    verbs = ["get", "list", "watch", "create", "delete", "patch"]
    rule = {"apiGroups": ["pull.example.com"], "resources": ["widgets"], "verbs": verbs}
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "computenet-member-widgets", "labels": {"computenet.io/member-workload-kind": "true"}},
        "rules": [rule],
    }
    devenv.apply(member, role)
    devenv.apply(hub, _widget_kind())

    def accepted() -> bool:
        cwk = json.loads(hub.kubectl("get", "computeworkloadkind", WIDGETS, "-o", "json").stdout)
        assert condition(cwk.get("status") or {}, "Accepted").get("status") == "True", cwk.get("status")
        return True

    eventually(accepted, timeout=STATE_S)
    try:
        yield
    finally:
        hub.kubectl("delete", "computeworkloadkind", WIDGETS, "--ignore-not-found")
        member.kubectl("delete", "crd", WIDGETS, "--ignore-not-found", "--wait=false")


def _widget_task(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "constraints": {"regions": {"required": [REGION]}},
            "workload": {
                "apiVersion": "pull.example.com/v1alpha1",
                "kind": "Widget",
                "spec": {"workers": 2, "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}, **spec},
            },
        },
    }


def _restart_agent(agent: devenv.AgentProcess, kinds: str = devenv.DEV_AGENT_KINDS, secrets: bool = False) -> None:
    devenv.stop_agent(agent)
    devenv.start_agent(
        agent.fed, agent.member, agent.hub_kubeconfig, agent.namespace, agent.name, kinds=kinds, secrets=secrets
    )


@pytest.mark.usefixtures("widgets")
def test_a_declared_kind_its_agent_does_not_enable_is_not_placed_there(
    pull_member: devenv.AgentProcess, hub: Cluster
) -> None:
    """member-3 serves the Widget CRD, but its agent does not run Widgets: its identifier does not list the
    kind, so a Widget task that must run in its region waits, saying why, instead of failing there."""
    name = unique("pulled-widget-off")
    apply(hub, _widget_task(name))
    try:
        placed = eventually(
            lambda: (c := condition(status(hub, name), "Placed")).get("reason") == "NoFit" and c, timeout=STATE_S
        )
        assert "serves no pull.example.com/v1alpha1 Widget" in placed["message"], placed
        assert status(hub, name)["phase"] == "Pending"
        assert _kinds(hub, pull_member.member.name) == AGENT_KINDS
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")


@pytest.mark.usefixtures("widgets")
def test_a_declared_kind_runs_through_the_agent_with_its_configmap_and_secret_which_go_with_it(
    pull_member: devenv.AgentProcess, hub: Cluster
) -> None:
    """The work carries the kind's rules, the task's ConfigMap and named Secret; the test plays Widget's controller."""
    member = pull_member.member
    _restart_agent(pull_member, f"{devenv.DEV_AGENT_KINDS},{WIDGETS}", secrets=True)
    eventually(lambda: _lists(hub, member.name, *AGENT_KINDS, "pull.example.com/v1alpha1 Widget"), timeout=STATE_S)
    name = unique("pulled-widget")
    config, secret = f"{name}-settings", f"{name}-token"
    hub.kubectl("-n", "default", "create", "configmap", config, "--from-literal=mode=fast")
    hub.kubectl("-n", "default", "create", "secret", "generic", secret, "--from-literal=token=s3cr3t")
    pod = {"spec": {"containers": [{"name": "w", "image": "widget:1", "envFrom": [
        {"configMapRef": {"name": config}}, {"secretRef": {"name": secret}}]}]}}  # fmt: skip
    manifest = _widget_task(name, podTemplate=pod)
    manifest["spec"]["dependencies"] = {"secrets": [secret]}
    apply(hub, manifest)

    def in_member(kind: str, object_name: str) -> dict[str, Any] | None:
        out = member.kubectl(
            "-n", remote["namespace"], "get", kind, object_name, "--ignore-not-found", "-o", "json"
        ).stdout
        return json.loads(out) if out.strip() else None

    def set_phase(phase: str) -> None:
        patch = json.dumps({"status": {"phase": phase}})
        member.kubectl(
            "-n", remote["namespace"], "patch", WIDGETS, remote["name"],
            "--subresource=status", "--type=merge", "-p", patch,
        )  # fmt: skip

    try:
        remote = eventually(lambda: (st := status(hub, name)).get("remote") and st["remote"], timeout=JOB_S)
        assert st_identifier(hub, name) == member.name
        assert (remote["apiVersion"], remote["kind"]) == ("pull.example.com/v1alpha1", "Widget")
        widget = in_member(WIDGETS, remote["name"])
        assert widget is not None
        assert widget["metadata"]["labels"][AGENT_LABEL] == pull_member.name
        assert widget["metadata"]["uid"] == remote["uid"]
        uid = json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"]
        (work,) = [w for w in _works(hub, pull_member.namespace) if w["metadata"]["labels"][TASK_UID_LABEL] == uid]
        assert work["spec"]["workloadKind"]["plural"] == "widgets"
        assert work["spec"]["workloadKind"]["status"]["succeeded"] == {"path": "status.phase", "equals": "Succeeded"}
        assert sorted(d["kind"] for d in work["spec"]["dependencies"]) == ["ConfigMap", "Secret"]
        for kind, object_name in (("configmap", config), ("secret", secret)):
            copy = in_member(kind, object_name)
            assert copy is not None, (kind, object_name)
            ((owner,),) = [copy["metadata"]["ownerReferences"]]
            assert (owner["kind"], owner["name"], owner["uid"]) == ("Widget", remote["name"], remote["uid"])
            assert copy["metadata"]["labels"][AGENT_LABEL] == pull_member.name
        assert in_member("configmap", config)["data"] == {"mode": "fast"}  # type: ignore[index]

        set_phase("Running")
        eventually(lambda: phase_is(hub, name, "Running"), timeout=JOB_S)
        set_phase("Succeeded")
        eventually(lambda: phase_is(hub, name, "Succeeded"), timeout=JOB_S)
        (work,) = [w for w in _works(hub, pull_member.namespace) if w["metadata"]["labels"][TASK_UID_LABEL] == uid]
        assert work["status"]["job"]["status"] == {"phase": "Succeeded"}
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")
    # The agent deletes the Widget with its work; the member's garbage collector removes what it owned.
    copies = ((WIDGETS, remote["name"]), ("configmap", config), ("secret", secret))
    eventually(lambda: all(in_member(k, n) is None for k, n in copies), timeout=STATE_S)
    hub.kubectl("-n", "default", "delete", "configmap", config, "secret", secret, "--ignore-not-found")
    _restart_agent(pull_member)


@pytest.mark.usefixtures("widgets")
def test_a_declared_kinds_object_whose_work_went_while_its_agent_was_away_is_deleted_when_it_returns(
    pull_member: devenv.AgentProcess, hub: Cluster
) -> None:
    """Fencing as for built-in kinds: the returning agent lists the kind (the member's discovery) and deletes it."""
    member = pull_member.member
    enabled = f"{devenv.DEV_AGENT_KINDS},{WIDGETS}"
    _restart_agent(pull_member, enabled)
    eventually(lambda: _lists(hub, member.name, *AGENT_KINDS, "pull.example.com/v1alpha1 Widget"), timeout=STATE_S)
    name = unique("pulled-widget-fenced")
    apply(hub, _widget_task(name))
    remote = eventually(lambda: (st := status(hub, name)).get("remote") and st["remote"], timeout=JOB_S)

    def widget() -> dict[str, Any] | None:
        out = member.kubectl(
            "-n", remote["namespace"], "get", WIDGETS, remote["name"], "--ignore-not-found", "-o", "json"
        ).stdout
        return json.loads(out) if out.strip() else None

    assert widget() is not None
    devenv.stop_agent(pull_member, signal.SIGKILL)
    try:
        hub.kubectl("delete", "ctask", name, "--wait=true", "--timeout=60s")
        assert not [w for w in _works(hub, pull_member.namespace) if w["metadata"]["name"] == remote["name"]]
        assert widget() is not None, "nothing in the member removes it while its agent is away"
    finally:
        devenv.start_agent(
            pull_member.fed, member, pull_member.hub_kubeconfig, pull_member.namespace, pull_member.name, kinds=enabled
        )
    eventually(lambda: widget() is None, timeout=STATE_S)
    _restart_agent(pull_member)


GIZMOS = "gizmos.pull.example.com"
GIZMO = "pull.example.com/v1alpha1 Gizmo"


def _jobset_task(name: str) -> dict[str, Any]:
    def role(role_name: str, replicas: int) -> dict[str, Any]:
        container = {"name": "main", "image": "trainer:1", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}
        pod = {"spec": {"restartPolicy": "Never", "containers": [container]}}
        return {"name": role_name, "replicas": replicas, "template": {"spec": {"template": pod}}}

    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "constraints": {"regions": {"required": [REGION]}},
            "workload": {
                "apiVersion": "jobset.x-k8s.io/v1alpha2",
                "kind": "JobSet",
                "spec": {"replicatedJobs": [role("leader", 1), role("workers", 2)]},
            },
        },
    }


@pytest.mark.usefixtures("widgets")
def test_kinds_enabled_without_their_crds_stall_nothing_and_their_tasks_pass_the_member_by_saying_why(
    pull_member: devenv.AgentProcess, hub: Cluster
) -> None:
    """The agent enables JobSet (built in) and Gizmo (declared), whose CRDs member-3 lacks: it still reports and
    runs Jobs; its identifier lists neither kind, so placement passes over it as over a push member without
    them, and `why` names the kind. Once the Gizmo CRD is installed the kind is listed within a discovery
    round, and a member identity that may not list it is named on the work until it may."""
    member = pull_member.member
    gizmos = {**_widget_kind(), "metadata": {"name": GIZMOS}}
    gizmos["spec"] = {**gizmos["spec"], "kind": "Gizmo", "plural": "gizmos"}
    devenv.apply(hub, gizmos)
    before = _report_time(hub, pull_member)
    _restart_agent(pull_member, f"{devenv.DEV_AGENT_KINDS},JobSet,{GIZMOS}")
    job, jobset, gizmo = unique("pulled-job"), unique("pulled-jobset"), unique("pulled-gizmo")
    gizmo_task = _widget_task(gizmo)
    gizmo_task["spec"]["workload"]["kind"] = "Gizmo"
    crd = {**_widget_crd(), "metadata": {"name": GIZMOS}}
    crd["spec"] = {
        **crd["spec"],
        "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "listKind": "GizmoList"},
    }

    def accepted() -> bool:
        cwk = json.loads(hub.kubectl("get", "computeworkloadkind", GIZMOS, "-o", "json").stdout)
        return condition(cwk.get("status") or {}, "Accepted").get("status") == "True"

    def refused_listing() -> dict[str, Any]:
        uid = json.loads(hub.kubectl("get", "ctask", gizmo, "-o", "json").stdout)["metadata"]["uid"]
        (work,) = [w for w in _works(hub, pull_member.namespace) if w["metadata"]["labels"][TASK_UID_LABEL] == uid]
        applied = condition(work.get("status") or {}, "Applied")
        assert applied.get("reason") == "Forbidden", applied
        return applied

    try:
        eventually(accepted, timeout=STATE_S)
        # A fresh report from the restarted agent, listing the kinds it runs there: neither JobSet nor Gizmo.
        eventually(lambda: _report_time(hub, pull_member) > before or None, timeout=STATE_S)
        assert eventually(lambda: _lists(hub, member.name, *AGENT_KINDS), timeout=STATE_S) == AGENT_KINDS
        apply(hub, task(job, cpu="100m", run="1s", regions=[REGION]), _jobset_task(jobset), gizmo_task)
        assert eventually(lambda: phase_is(hub, job, "Succeeded"), timeout=JOB_S)["placement"]["identifier"] == (
            member.name
        )
        for name, kind in ((jobset, "jobset.x-k8s.io/v1alpha2 JobSet"), (gizmo, GIZMO)):
            placed = eventually(
                lambda n=name: (c := condition(status(hub, n), "Placed")).get("reason") == "NoFit" and c,
                timeout=STATE_S,
            )
            assert f"serves no {kind}" in placed["message"], placed
            row = _why(hub, name)[member.name]
            assert (row["verdict"], row["filter"]) == ("rejected", "Kinds"), row
            assert kind in row["message"], row
        # The Gizmo CRD arrives (its member RBAC not yet): listed within a discovery round, the task goes there.
        devenv.apply(member, crd)
        member.kubectl("wait", "--for=condition=Established", f"crd/{GIZMOS}", "--timeout=60s")
        eventually(lambda: _lists(hub, member.name, *AGENT_KINDS, GIZMO), timeout=DISCOVERY_EVERY_S + STATE_S)
        said = eventually(refused_listing, timeout=JOB_S)["message"]
        assert said.startswith(f"the agent cannot list {GIZMOS} in its member yet: HTTP 403"), said
        assert status(hub, gizmo)["phase"] == "Dispatching"
        verbs = ["get", "list", "watch", "create", "delete", "patch"]
        role = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "computenet-member-gizmos", "labels": {"computenet.io/member-workload-kind": "true"}},
            "rules": [{"apiGroups": ["pull.example.com"], "resources": ["gizmos"], "verbs": verbs}],
        }
        devenv.apply(member, role)  # as the agent chart grants an enabled kind
        remote = eventually(lambda: (st := status(hub, gizmo)).get("remote") and st["remote"], timeout=JOB_S)
        assert (remote["apiVersion"], remote["kind"]) == ("pull.example.com/v1alpha1", "Gizmo")
        dispatched = condition(status(hub, gizmo), "Dispatched")
        assert dispatched["status"] == "True", dispatched
    finally:
        hub.kubectl("delete", "ctask", job, jobset, gizmo, "--wait=false", "--ignore-not-found")
        hub.kubectl("delete", "computeworkloadkind", GIZMOS, "--ignore-not-found")
        member.kubectl("delete", "crd", GIZMOS, "--ignore-not-found", "--wait=false")
        member.kubectl("delete", "clusterrole", "computenet-member-gizmos", "--ignore-not-found")
        _restart_agent(pull_member)


def test_a_jobs_configmap_travels_to_the_pull_member_and_goes_with_it_and_a_secret_only_where_enabled(
    pull_member: devenv.AgentProcess, hub: Cluster
) -> None:
    """The dev agent takes ConfigMaps (always) but no Secrets (dependencies.secrets is off)."""
    member = pull_member.member
    name = unique("pulled-deps")
    config, secret = f"{name}-settings", f"{name}-token"
    hub.kubectl("-n", "default", "create", "configmap", config, "--from-literal=mode=fast")
    hub.kubectl("-n", "default", "create", "secret", "generic", secret, "--from-literal=token=s3cr3t")
    with_config = task(name, cpu="100m", run="30s", regions=[REGION])
    container = with_config["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]
    container["envFrom"] = [{"configMapRef": {"name": config}}]
    with_secret = task(f"{name}-s", cpu="100m", run="30s", regions=[REGION])
    with_secret["spec"]["dependencies"] = {"secrets": [secret]}
    apply(hub, with_config, with_secret)

    def copied() -> dict[str, Any] | None:
        out = member.kubectl(
            "-n", remote["namespace"], "get", "configmap", config, "--ignore-not-found", "-o", "json"
        ).stdout
        return json.loads(out) if out.strip() else None

    try:
        remote = eventually(lambda: (st := status(hub, name)).get("remote") and st["remote"], timeout=JOB_S)
        cm = eventually(lambda: (c := copied()) and c["metadata"].get("ownerReferences") and c, timeout=STATE_S)
        assert cm["data"] == {"mode": "fast"}
        ((owner,),) = [cm["metadata"]["ownerReferences"]]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("Job", remote["name"], remote["uid"])
        refused = eventually(lambda: phase_is(hub, f"{name}-s", "Failed"), timeout=JOB_S)
        assert f"carries Secret {secret}): enable dependencies.secrets" in refused.get("message", ""), refused
    finally:
        hub.kubectl("delete", "ctask", name, f"{name}-s", "--wait=false")
    eventually(lambda: copied() is None, timeout=STATE_S)
    hub.kubectl("-n", "default", "delete", "configmap", config, "secret", secret, "--ignore-not-found")


def st_identifier(hub: Cluster, name: str) -> str:
    return str((status(hub, name).get("placement") or {}).get("identifier"))
