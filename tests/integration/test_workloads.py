"""Workloads of other kinds than a Job, run by the members' own controllers: Deployments and StatefulSets.

A serving task runs while every replica is available, never succeeds by itself, and is removed
from its member when the task is deleted; its pods land on the nodes placement chose.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from computenet.tasks.scheduler import PATIENCE_S
from computenet.testing import devenv
from computenet.testing.federation import Federation
from support.tasks import apply, condition, events, phase_is, status, task, unique
from support.timeouts import JOB_S, MEMBER_DOWN_S, STATE_S
from support.wait import eventually


def serving(name: str, kind: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "resources": {"cpu": "500m", "memory": "512Mi"},
            "workload": {
                "apiVersion": "apps/v1",
                "kind": kind,
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


def _member_object(federation: Federation, remote: dict[str, Any]) -> dict[str, Any] | None:
    member = next(m for m in federation.members if m.name == remote["identifier"])
    out = member.kubectl(
        "-n", remote["namespace"], "get", remote["kind"].lower(), remote["name"], "--ignore-not-found", "-o", "json"
    ).stdout
    return json.loads(out) if out.strip() else None


def _pods(federation: Federation, remote: dict[str, Any], uid: str) -> list[dict[str, Any]]:
    member = next(m for m in federation.members if m.name == remote["identifier"])
    out = member.kubectl("-n", remote["namespace"], "get", "pods", "-l", f"computenet.io/task-uid={uid}", "-o", "json")
    return list(json.loads(out.stdout)["items"])


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_a_serving_workload_runs_while_available_and_goes_with_its_task(
    operator: devenv.OperatorProcess, federation: Federation, kind: str
) -> None:
    hub = federation.hub
    name = unique(kind.lower())
    apply(hub, serving(name, kind))
    try:
        st = eventually(lambda: phase_is(hub, name, "Running"), timeout=JOB_S)
        remote = st["remote"]
        assert (remote["apiVersion"], remote["kind"]) == ("apps/v1", kind)
        obj = _member_object(federation, remote)
        assert obj is not None
        assert obj["spec"]["replicas"] == 2
        assert (obj["status"].get("availableReplicas") or 0) == 2
        uid = json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"]
        pods = _pods(federation, remote, uid)
        assert len(pods) == 2
        assert {p["spec"]["nodeName"] for p in pods} <= set(st["placement"]["nodes"])
        assert all(p["metadata"]["labels"]["app"] == name for p in pods)
        # Serving: it does not end by itself, and reads as Running while available.
        again = status(hub, name)
        assert again["phase"] == "Running"
        assert "completionTime" not in again
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")
    eventually(lambda: _member_object(federation, remote) is None, timeout=STATE_S)


def test_a_workload_whose_replicas_disagree_with_the_task_is_invalid(
    operator: devenv.OperatorProcess, federation: Federation
) -> None:
    hub = federation.hub
    name = unique("replicas")
    manifest = serving(name, "Deployment")
    manifest["spec"]["workload"]["spec"]["replicas"] = 3
    apply(hub, manifest)
    try:
        st = eventually(
            lambda: (
                (s := status(hub, name))
                and any(c["type"] == "Valid" and c["status"] == "False" for c in s.get("conditions") or [])
                and s
            ),
            timeout=STATE_S,
        )
        valid = next(c for c in st["conditions"] if c["type"] == "Valid")
        assert "spec.workload.spec.replicas" in valid["message"]
        assert "remote" not in st
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")


def test_a_kind_the_api_does_not_take_is_refused_at_apply(federation: Federation) -> None:
    manifest = serving(unique("daemon"), "Deployment")
    manifest["spec"]["workload"]["kind"] = "DaemonSet"
    refused = federation.hub.kubectl("apply", "-f", "-", input=json.dumps(manifest), check=False)
    assert refused.returncode != 0
    assert "spec.workload.kind" in refused.stderr
    assert "DaemonSet" in refused.stderr


def test_the_configmaps_and_named_secrets_a_workload_needs_travel_with_it_and_go_with_it(
    operator: devenv.OperatorProcess, federation: Federation
) -> None:
    """karmada#1887: what a workload's pods reference reaches the member, owned by the workload."""
    hub = federation.hub
    name = unique("deps")
    config, secret = f"{name}-settings", f"{name}-token"
    hub.kubectl("-n", "default", "create", "configmap", config, "--from-literal=mode=fast")
    hub.kubectl("-n", "default", "create", "secret", "generic", secret, "--from-literal=token=s3cr3t")
    manifest = task(name, cpu="100m", run="30s")
    container = manifest["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]
    container["envFrom"] = [{"configMapRef": {"name": config}}, {"secretRef": {"name": secret}}]
    manifest["spec"]["dependencies"] = {"secrets": [secret]}
    apply(hub, manifest)
    try:

        def dispatched() -> dict[str, Any]:
            st = status(hub, name)
            assert st.get("remote"), st
            return st

        remote = eventually(dispatched, timeout=JOB_S)["remote"]
        member = next(m for m in federation.members if m.name == remote["identifier"])

        def copied(kind: str, object_name: str) -> dict[str, Any] | None:
            out = member.kubectl(
                "-n", remote["namespace"], "get", kind, object_name, "--ignore-not-found", "-o", "json"
            ).stdout
            return json.loads(out) if out.strip() else None

        cm = eventually(
            lambda: (c := copied("configmap", config)) and c.get("metadata", {}).get("ownerReferences") and c
        )
        assert cm["data"] == {"mode": "fast"}
        ((owner,),) = [cm["metadata"]["ownerReferences"]]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("Job", remote["name"], remote["uid"])
        sec = copied("secret", secret)
        assert sec is not None
        assert sec["metadata"]["ownerReferences"][0]["uid"] == remote["uid"]
        assert sec["metadata"]["labels"]["computenet.io/task-uid"] == cm["metadata"]["labels"]["computenet.io/task-uid"]
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")
    # The member's garbage collector removes them with the workload.
    eventually(lambda: copied("configmap", config) is None and copied("secret", secret) is None, timeout=STATE_S)
    hub.kubectl("-n", "default", "delete", "configmap", config, "secret", secret, "--ignore-not-found")


def test_a_configmap_two_tasks_need_is_shared_and_a_changed_one_waits_until_the_older_copy_is_gone(
    operator: devenv.OperatorProcess, federation: Federation
) -> None:
    """Tasks of one namespace naming one ConfigMap on one identifier both run on one shared copy; after
    the hub's ConfigMap changed, the next task waits (never changing the copy the others run with) and
    runs with the new content once the older copy went with the last workload owning it."""
    hub = federation.hub
    name = unique("shared")
    config = f"{name}-settings"
    hub.kubectl("-n", "default", "create", "configmap", config, "--from-literal=lr=0.1")

    def one(task_name: str) -> dict[str, Any]:
        manifest = task(task_name, cpu="100m", run="1s")
        manifest["spec"]["identifier"] = "member-1"
        manifest["spec"]["pool"] = "default"
        container = manifest["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]
        container["envFrom"] = [{"configMapRef": {"name": config}}]
        return manifest

    first, second, third = f"{name}-a", f"{name}-b", f"{name}-c"
    try:
        apply(hub, one(first))
        eventually(lambda: phase_is(hub, first, "Succeeded"), timeout=JOB_S)
        apply(hub, one(second))
        eventually(lambda: phase_is(hub, second, "Succeeded"), timeout=JOB_S)
        remote = status(hub, second)["remote"]
        member = next(m for m in federation.members if m.name == remote["identifier"])

        def copied() -> dict[str, Any] | None:
            out = member.kubectl(
                "-n", remote["namespace"], "get", "configmap", config, "--ignore-not-found", "-o", "json"
            ).stdout
            return json.loads(out) if out.strip() else None

        shared = copied()
        assert shared is not None
        owners = {o["uid"] for o in shared["metadata"]["ownerReferences"]}
        assert owners == {status(hub, first)["remote"]["uid"], remote["uid"]}, shared["metadata"]

        hub.kubectl("-n", "default", "patch", "configmap", config, "--type=merge", "-p", '{"data": {"lr": "0.2"}}')
        apply(hub, one(third))
        waiting = eventually(
            lambda: (c := condition(status(hub, third), "Dispatched")).get("reason") == "DependencyInUse" and c,
            timeout=STATE_S,
        )
        assert f"ConfigMap {remote['namespace']}/{config} in the member is the copy another task" in waiting["message"]
        kept = copied()
        assert kept is not None
        assert kept["data"] == {"lr": "0.1"}, "the copy the others run with was changed"

        hub.kubectl("delete", "ctask", first, second, "--wait=false")
        eventually(lambda: phase_is(hub, third, "Succeeded"), timeout=JOB_S + STATE_S)
        fresh = copied()
        assert fresh is not None
        assert fresh["data"] == {"lr": "0.2"}
        assert [o["uid"] for o in fresh["metadata"]["ownerReferences"]] == [status(hub, third)["remote"]["uid"]]
    finally:
        hub.kubectl("delete", "ctask", first, second, third, "--ignore-not-found", "--wait=false")
        hub.kubectl("-n", "default", "delete", "configmap", config, "--ignore-not-found")


def test_a_workload_whose_configmap_does_not_exist_waits_naming_it(
    operator: devenv.OperatorProcess, federation: Federation
) -> None:
    hub = federation.hub
    name = unique("nodeps")
    manifest = task(name, cpu="100m", run="1s")
    container = manifest["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]
    container["envFrom"] = [{"configMapRef": {"name": f"{name}-absent"}}]
    apply(hub, manifest)
    try:
        waiting = eventually(
            lambda: (c := condition(status(hub, name), "Dispatched")).get("reason") == "DependencyMissing" and c,
            timeout=STATE_S,
        )
        assert (
            f"ConfigMap {name}-absent, which the workload needs, does not exist in namespace default"
            in waiting["message"]
        )
        hub.kubectl("-n", "default", "create", "configmap", f"{name}-absent", "--from-literal=a=b")
        eventually(lambda: phase_is(hub, name, "Succeeded"), timeout=JOB_S)
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")
        hub.kubectl("-n", "default", "delete", "configmap", f"{name}-absent", "--ignore-not-found")


def test_a_deployment_whose_pods_never_become_ready_is_failed_over_within_its_bound_in_the_members_words(
    operator: devenv.OperatorProcess, federation: Federation
) -> None:
    """Pods that run but are never ready (kwok's ``sim.computenet.io/ready: "false"``, a readiness probe
    that never passes): past ``spec.failover.unavailableSeconds`` the attempt ends, quoting the
    Deployment's own conditions, the next attempt avoids that identifier, and the first one's
    Deployment is removed from its member."""
    hub = federation.hub
    name = unique("unready")
    bound = 12
    manifest = serving(name, "Deployment", replicas=1)
    manifest["spec"]["failover"] = {"unavailableSeconds": bound}
    manifest["spec"]["workload"]["spec"]["template"]["metadata"]["annotations"] = {"sim.computenet.io/ready": "false"}
    apply(hub, manifest)
    try:
        first = eventually(lambda: (s := status(hub, name)).get("remote") and s, timeout=JOB_S)
        assert first["attempt"] == 1
        assert first["phase"] == "Dispatching", "never available: it never runs"
        remote = first["remote"]

        def abandoned() -> dict[str, Any]:
            st = status(hub, name)
            assert (st.get("message") or "").startswith(f"attempt 1 on {remote['identifier']} abandoned"), st
            return st

        # The next attempt fails the same way a bound later: what the first left is read before that.
        st = eventually(abandoned, timeout=bound + STATE_S)
        message = st["message"]
        assert "replicas not all available" in message
        assert f"(spec.failover.unavailableSeconds: {bound})" in message
        assert f"Deployment {remote['namespace']}/{remote['name']}: 0/1 replicas available (0 ready)" in message
        assert "Available=False MinimumReplicasUnavailable: Deployment does not have minimum availability." in message
        waited = float(message.split("replicas not all available ")[1].split("s after dispatch")[0])
        assert bound < waited <= bound + 2 * PATIENCE_S, "judged within a scheduling pass of the bound"
        assert [a["identifier"] for a in st.get("avoidedIdentifiers") or ()] == [remote["identifier"]]
        assert "Requeued" in eventually(lambda: (r := events(hub, name)) and "Requeued" in r and r)
        eventually(lambda: _member_object(federation, remote) is None, timeout=STATE_S)
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")


def test_a_deployment_task_is_failed_over_when_its_member_is_lost_and_the_stale_copy_goes_on_return(
    operator: devenv.OperatorProcess, federation: Federation
) -> None:
    """A serving task never ends by itself, so the failover is the only way it moves: its member lost past
    the grace period, it runs again elsewhere as attempt 2, and the member that comes back has its
    attempt-1 Deployment removed."""
    hub = federation.hub
    victim = federation.members[-1]
    region = {"member-1": "cn-east", "member-2": "cn-west", "member-3": "cn-north"}[victim.name]
    name = unique("serve-lost")
    manifest = serving(name, "Deployment", replicas=1)
    manifest["spec"]["failover"] = {"gracePeriodSeconds": 5}
    manifest["spec"]["constraints"] = {"regions": {"required": [region]}}
    apply(hub, manifest)
    try:
        first = eventually(lambda: phase_is(hub, name, "Running"), timeout=JOB_S)
        remote = first["remote"]
        assert remote["identifier"] == victim.name
        # Let it run anywhere from now on (the required region would forbid a failover target).
        hub.kubectl(
            "patch", "ctask", name, "--type=merge",
            "-p", json.dumps({"spec": {"constraints": {"regions": {"required": None, "preferred": [region]}}}}),
        )  # fmt: skip
        federation.stop_apiserver(victim)
        try:

            def moved() -> dict[str, Any]:
                st = status(hub, name)
                assert (st.get("attempt"), st.get("phase")) == (2, "Running"), st.get("message")
                return st

            st = eventually(moved, timeout=MEMBER_DOWN_S + JOB_S)
            assert st["placement"]["identifier"] != victim.name
            assert st["message"].startswith(f"attempt 1 on {victim.name} abandoned: lost since")
            assert "Requeued" in events(hub, name)
            again = _member_object(federation, st["remote"])
            assert again is not None
            assert (again["status"].get("availableReplicas") or 0) == 1
        finally:
            federation.start_apiserver(victim)
        eventually(lambda: _member_object(federation, remote) is None, timeout=MEMBER_DOWN_S)
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")


def test_a_running_deployment_that_loses_its_replicas_says_so_and_is_failed_over_past_its_bound(
    operator: devenv.OperatorProcess, federation: Federation
) -> None:
    """Its node cordoned and its pod deleted, the replacement finds no node (pods are held to the placed
    nodes): the Running task gets ``Available=False`` in the Deployment's words at once, and past
    ``spec.failover.unavailableSeconds`` (well before the unschedulable bound) the attempt ends."""
    hub = federation.hub
    name = unique("lost-replicas")
    bound = 10
    manifest = serving(name, "Deployment", replicas=1)
    manifest["spec"]["failover"] = {"unavailableSeconds": bound}
    apply(hub, manifest)
    cordoned: list[str] = []
    member = None
    try:
        st = eventually(lambda: phase_is(hub, name, "Running"), timeout=JOB_S)
        remote = st["remote"]
        member = next(m for m in federation.members if m.name == remote["identifier"])
        uid = json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"]
        cordoned = list(st["placement"]["nodes"])
        for node in cordoned:
            member.kubectl("cordon", node)
        member.kubectl(
            "-n", remote["namespace"], "delete", "pods", "-l", f"computenet.io/task-uid={uid}", "--wait=false"
        )

        def unavailable() -> dict[str, Any]:
            s = status(hub, name)
            cond = condition(s, "Available")
            assert (cond.get("status"), cond.get("reason")) == ("False", "Unavailable"), s.get("conditions")
            return s

        down = eventually(unavailable, timeout=STATE_S)
        assert down["phase"] == "Running", "a serving task that lost replicas stays Running while its bound runs"
        said = condition(down, "Available")["message"]
        assert said.startswith(f"{remote['identifier']}: Deployment {remote['namespace']}/{remote['name']}: 0/1")
        assert "failover policy Requeue applies at" in said
        assert "Unavailable" in eventually(lambda: (r := events(hub, name)) and "Unavailable" in r and r)

        def abandoned() -> dict[str, Any]:
            s = status(hub, name)
            assert (s.get("message") or "").startswith(f"attempt 1 on {remote['identifier']} abandoned"), s
            return s

        st = eventually(abandoned, timeout=bound + STATE_S)
        assert "replicas unavailable for" in st["message"]
        assert f"(spec.failover.unavailableSeconds: {bound})" in st["message"]
        assert remote["identifier"] in [a["identifier"] for a in st.get("avoidedIdentifiers") or ()]
    finally:
        hub.kubectl("delete", "ctask", name, "--wait=false")
        for node in cordoned:
            if member is not None:
                member.kubectl("uncordon", node)
