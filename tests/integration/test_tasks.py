"""ComputeTasks travel the whole way on the real hub and members: place, dispatch, follow, end."""

from __future__ import annotations

import json
import random
import re
import uuid
from collections import Counter
from typing import Any

import pytest

from computenet.api.constants import TASK_UID_LABEL
from computenet.podresources import pod_requests
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from support.settings import OPERATOR_ENV, add_h100_node
from support.tasks import (
    TERMINAL,
    apply,
    condition,
    events,
    phase_is,
    remote_jobs,
    status,
    task,
    tasks,
    unique,
)
from support.timeouts import BURST_S, JOB_S, MEMBER_DOWN_S, STATE_S
from support.wait import eventually


def test_gpu_task_runs_to_succeeded_with_usage_cost_and_events(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    name = unique("h100")
    apply(hub, task(name, gpus=8, models=["NVIDIA-H100-80GB-HBM3"], run="2s"))
    st = eventually(lambda: phase_is(hub, name, "Succeeded"), timeout=JOB_S)
    assert st["placement"]["identifier"] == "member-1"  # the only member with H100s
    assert st["placement"]["acceleratorModel"] == "NVIDIA-H100-80GB-HBM3"
    assert condition(st, "Dispatched")["status"] == "True"
    assert st["usage"]["gpuSeconds"] >= 8  # 8 GPUs for at least a second
    assert st["usage"]["gpuSecondsByModel"]["NVIDIA-H100-80GB-HBM3"] == st["usage"]["gpuSeconds"]
    assert st["cost"]["amount"] > 0
    assert st["cost"]["currency"] == "USD"
    uid = json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"]
    jobs = remote_jobs(federation)[uid]
    assert [m for m, _ in jobs] == ["member-1"]
    job = jobs[0][1]
    assert job["metadata"]["name"] == st["remote"]["name"]
    assert pod_requests(job["spec"]["template"]["spec"])["nvidia.com/gpu"] == 8
    # Two Events tell the story (where it went, how it ended); the rest is in the status.
    reasons = eventually(lambda: (r := events(hub, name)) and {"Dispatched", "JobSucceeded"} <= set(r) and r)
    assert sorted(reasons) == ["Dispatched", "JobSucceeded"]


def test_failing_job_fails_the_task_with_its_message(operator: devenv.OperatorProcess, hub: Cluster) -> None:
    name = unique("fails")
    apply(hub, task(name, outcome="Failed"))
    st = eventually(lambda: phase_is(hub, name, "Failed"), timeout=JOB_S)
    assert "BackoffLimitExceeded" in st["message"]
    eventually(lambda: "JobFailed" in events(hub, name))


def test_gang_lands_in_one_identifier_as_an_indexed_job(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    name = unique("gang")
    apply(hub, task(name, gpus=4, replicas=3, run="2s", models=["NVIDIA-A100-SXM4-80GB"]))
    st = eventually(lambda: phase_is(hub, name, "Succeeded"), timeout=JOB_S)
    uid = json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"]
    ((member, job),) = remote_jobs(federation)[uid]
    assert member == st["placement"]["identifier"] == "member-2"
    assert (job["spec"]["parallelism"], job["spec"]["completions"]) == (3, 3)
    assert job["spec"]["completionMode"] == "Indexed"


CLIQUE = "nvidia.com/gpu.clique"


def test_a_gang_that_requires_one_clique_lands_inside_one_or_waits_saying_why(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    """member-1's four H100 nodes form two NVLink cliques of two (testing/topology.py)."""
    fits, too_big = unique("clique"), unique("clique-big")
    h100 = ["NVIDIA-H100-80GB-HBM3"]
    for name, replicas in ((fits, 2), (too_big, 3)):
        manifest = task(name, gpus=8, replicas=replicas, run="2s", models=h100)
        manifest["spec"]["topology"] = {"required": CLIQUE}
        apply(hub, manifest)
    try:
        st = eventually(lambda: phase_is(hub, fits, "Succeeded"), timeout=JOB_S)
        member = next(m for m in federation.members if m.name == st["placement"]["identifier"])
        nodes = json.loads(member.kubectl("get", "nodes", "-o", "json").stdout)["items"]
        clique_of = {n["metadata"]["name"]: n["metadata"]["labels"].get(CLIQUE) for n in nodes}
        placed = st["placement"]["nodes"]
        assert len(placed) == 2
        assert len({clique_of[n] for n in placed}) == 1, placed
        waiting = eventually(lambda: (c := condition(status(hub, too_big), "Placed")).get("reason") == "NoFit" and c)
        assert f"no single {CLIQUE} domain holds all 3 replicas (the largest holds 2)" in waiting["message"]
        assert status(hub, too_big)["phase"] == "Pending"
    finally:
        hub.kubectl("delete", "ctask", fits, too_big, "--wait=false")


RACK = "topology.computenet.io/rack"


def test_a_gang_names_a_level_the_identifier_declares_and_the_identifier_tells_its_domains(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    """member-2 declares `rack` (its A100 nodes form two racks of two); a gang requiring one rack by name."""
    racks = [{"level": "rack", "nodeLabel": RACK, "domains": 2, "largestFreeAccelerators": 8, "largestFreeNodes": 2}]

    def told() -> list[dict[str, Any]]:
        topology: list[dict[str, Any]] = status_of_identifier(hub, "member-2").get("topology") or []
        assert topology == racks, topology  # both racks idle: 2 nodes of 4 A100s each
        return topology

    eventually(told)
    fits, too_big = unique("rack"), unique("rack-big")
    a100 = ["NVIDIA-A100-SXM4-80GB"]
    for name, replicas in ((fits, 2), (too_big, 3)):
        manifest = task(name, gpus=4, replicas=replicas, run="2s", models=a100)
        manifest["spec"]["topology"] = {"required": "rack"}
        apply(hub, manifest)
    try:
        st = eventually(lambda: phase_is(hub, fits, "Succeeded"), timeout=JOB_S)
        assert st["placement"]["identifier"] == "member-2"
        member = next(m for m in federation.members if m.name == "member-2")
        nodes = json.loads(member.kubectl("get", "nodes", "-o", "json").stdout)["items"]
        rack_of = {n["metadata"]["name"]: n["metadata"]["labels"].get(RACK) for n in nodes}
        assert len({rack_of[n] for n in st["placement"]["nodes"]}) == 1, st["placement"]["nodes"]
        waiting = eventually(lambda: (c := condition(status(hub, too_big), "Placed")).get("reason") == "NoFit" and c)
        assert "no single rack domain holds all 3 replicas (the largest holds 2)" in waiting["message"]
    finally:
        hub.kubectl("delete", "ctask", fits, too_big, "--wait=false")


def status_of_identifier(hub: Cluster, name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(hub.kubectl("get", "computeidentifier", name, "-o", "json").stdout)
    return found.get("status") or {}


def test_task_that_fits_nowhere_waits_with_a_reason_and_runs_when_capacity_appears(
    operator: devenv.OperatorProcess, hub: Cluster, member: Cluster
) -> None:
    name = unique("waits")
    apply(hub, task(name, gpus=16, models=["NVIDIA-H100-80GB-HBM3"]))
    placed = eventually(lambda: (c := condition(status(hub, name), "Placed")).get("reason") == "NoFit" and c)
    assert placed["message"].startswith("0/")
    assert "identifiers fit" in placed["message"]
    assert status(hub, name)["phase"] == "Pending"
    assert "NoFit" in eventually(lambda: events(hub, name))
    # A node big enough appears in member-1: the task is placed without anyone touching it.
    node = f"h100x16-{uuid.uuid4().hex[:5]}"
    add_h100_node(member, node, 16)
    try:
        st = eventually(lambda: phase_is(hub, name, "Succeeded"), timeout=JOB_S)
        assert st["placement"]["identifier"] == "member-1"
    finally:
        member.kubectl("delete", "node", node, "--wait=false")


def test_suspended_task_offers_then_runs_on_the_best_offer(operator: devenv.OperatorProcess, hub: Cluster) -> None:
    name = unique("offers")
    apply(hub, task(name, gpus=1, suspend=True))
    st = eventually(lambda: phase_is(hub, name, "Offered"))
    offers = st["offers"]
    assert 1 <= len(offers) <= 3
    assert [o["score"] for o in offers] == sorted((o["score"] for o in offers), reverse=True)
    assert all(o["pricePerHour"] > 0 for o in offers)
    assert "remote" not in st
    hub.kubectl("patch", "computetask", name, "--type=merge", "-p", '{"spec":{"suspend":false}}')
    st = eventually(lambda: phase_is(hub, name, "Succeeded"), timeout=JOB_S)
    assert st["placement"]["identifier"] == offers[0]["identifier"]


def test_invalid_template_is_reported_on_the_object_and_never_dispatched(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    name = unique("greedy")
    manifest = task(name, gpus=1)
    container = manifest["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]
    container["resources"]["limits"]["nvidia.com/gpu"] = 4  # more than spec.resources reserves
    apply(hub, manifest)
    valid = eventually(lambda: (c := condition(status(hub, name), "Valid")).get("status") == "False" and c)
    assert valid["reason"] == "InvalidSpec"
    assert "nvidia.com/gpu" in valid["message"]
    assert "InvalidSpec" in eventually(lambda: events(hub, name))
    uid = json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"]
    assert uid not in remote_jobs(federation)
    hub.kubectl("delete", "ctask", name)


def test_deleting_tasks_mid_flight_removes_their_jobs(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    label = unique("cancel")
    names = [f"{label}-{i}" for i in range(5)]
    objs = [task(n, run="600s") for n in names]
    for o in objs:
        o["metadata"]["labels"] = {"batch": label}
    apply(hub, *objs)
    eventually(
        lambda: (
            all(t.get("status", {}).get("phase") == "Running" for t in tasks(hub, selector=f"batch={label}"))
            and len(tasks(hub, selector=f"batch={label}")) == 5
        ),
        timeout=JOB_S,
    )
    uids = {t["metadata"]["uid"] for t in tasks(hub, selector=f"batch={label}")}
    assert uids <= set(remote_jobs(federation))
    hub.kubectl("delete", "computetasks", "-l", f"batch={label}", "--timeout=60s")
    assert tasks(hub, selector=f"batch={label}") == []
    eventually(lambda: not (uids & set(remote_jobs(federation))))


def test_orphan_sweep_removes_jobs_whose_task_is_gone(
    operator: devenv.OperatorProcess, hub: Cluster, member: Cluster
) -> None:
    name = unique("orphan")
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": "computenet-workloads",
            "labels": {
                "app.kubernetes.io/managed-by": "computenet",
                "computenet.io/hub": "hub",
                TASK_UID_LABEL: str(uuid.uuid4()),
                "computenet.io/attempt": "1",
            },
            "annotations": {"computenet.io/origin": f"default/{name}"},
        },
        "spec": {
            "template": {
                "metadata": {"annotations": {"sim.computenet.io/run-duration": "600s"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]},
            }
        },
    }
    member.kubectl("create", "namespace", "computenet-workloads", check=False)
    member.kubectl("apply", "-f", "-", input=json.dumps(job))
    eventually(lambda: _not_found(member, "job", name, "-n", "computenet-workloads"), timeout=STATE_S)


def _not_found(cluster: Cluster, kind: str, name: str, *args: str) -> bool:
    """Whether the API server answers NotFound for the object: False while it exists, and any
    other failure of `kubectl get` (a refused connection, a missing kind, RBAC) fails the test."""
    got = cluster.kubectl("get", kind, name, *args, "-o", "name", check=False)
    if got.returncode == 0:
        return False
    if re.fullmatch(rf'Error from server \(NotFound\): [\w.]+ "{re.escape(name)}" not found\n?', got.stderr):
        return True
    pytest.fail(f"kubectl get {kind} {name} failed for another reason than NotFound: {got.stderr}")


def _all_terminal(hub: Cluster, selector: str, count: int) -> list[dict[str, Any]]:
    items = tasks(hub, selector=selector)
    assert len(items) == count
    phases = Counter((t.get("status") or {}).get("phase") for t in items)
    assert set(phases) <= TERMINAL, phases
    return items


def _exactly_one_job_each(federation: Federation, items: list[dict[str, Any]]) -> None:
    jobs = remote_jobs(federation)
    for t in items:
        found = jobs.get(t["metadata"]["uid"], [])
        assert len(found) == 1, (t["metadata"]["name"], [(m, j["metadata"]["name"]) for m, j in found])


def test_two_hundred_tasks_across_three_members_each_run_once(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    label = unique("burst")
    objs = [task(f"{label}-{i:03d}", cpu="100m", run="1s") for i in range(200)]
    for o in objs:
        o["metadata"]["labels"] = {"batch": label}
    apply(hub, *objs)
    items = eventually(lambda: _all_terminal(hub, f"batch={label}", 200), timeout=BURST_S)
    assert Counter(t["status"]["phase"] for t in items) == {"Succeeded": 200}
    _exactly_one_job_each(federation, items)


def _progress(hub: Cluster, selector: str) -> int:
    """Tasks past placement: the operator has done work on them that a crash could duplicate."""
    return sum(
        1
        for t in tasks(hub, selector=selector)
        if (t.get("status") or {}).get("phase") in ("Dispatching", "Running", "Succeeded")
    )


def test_operator_killed_at_random_moments_loses_nothing_and_duplicates_nothing(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    label = unique("chaos")
    selector = f"batch={label}"
    objs = [task(f"{label}-{i:03d}", cpu="100m", run="3s") for i in range(100)]
    for o in objs:
        o["metadata"]["labels"] = {"batch": label}
    kill_points = sorted(random.Random(2026).sample(range(1, 90), 6))
    apply(hub, *objs[:60])
    for n, point in enumerate(kill_points):
        target = min(point, 59 if n < 2 else 99)
        eventually(lambda t=target: _progress(hub, selector) >= t, timeout=BURST_S)
        devenv.kill_and_restart_operator(operator, OPERATOR_ENV)
        if n == 1:
            apply(hub, *objs[60:])  # more work arrives around a restart
    items = eventually(lambda: _all_terminal(hub, selector, 100), timeout=BURST_S)
    assert Counter(t["status"]["phase"] for t in items) == {"Succeeded": 100}
    _exactly_one_job_each(federation, items)
    log = operator.log_text()
    assert log.count("Activity 'startup' succeeded") >= len(kill_points)


def test_lost_member_tasks_fail_over_and_stale_jobs_are_removed_on_return(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    victim = federation.members[-1]
    region = {"member-1": "cn-east", "member-2": "cn-west", "member-3": "cn-north"}[victim.name]
    label = unique("failover")
    objs = [task(f"{label}-{i}", cpu="100m", run="20s", grace=5) for i in range(4)]
    for o in objs:
        o["metadata"]["labels"] = {"batch": label}
        # Prefer the victim's region strongly by requiring it until the outage, then relax below.
        o["spec"]["constraints"] = {"regions": {"preferred": [region]}}
    # Pin to the victim first: suspend, then lift only once offers exist, so they all land there.
    apply(hub, *[{**o, "spec": {**o["spec"], "constraints": {"regions": {"required": [region]}}}} for o in objs])
    eventually(
        lambda: (
            all((t.get("status") or {}).get("phase") == "Running" for t in tasks(hub, selector=f"batch={label}"))
            and len(tasks(hub, selector=f"batch={label}")) == 4
        ),
        timeout=JOB_S,
    )
    # Let them run anywhere from now on (the required region would forbid a failover target).
    for o in objs:
        hub.kubectl(
            "patch", "ctask", o["metadata"]["name"], "--type=json",
            "-p", '[{"op":"replace","path":"/spec/constraints","value":{"regions":{"preferred":["' + region + '"]}}}]',
        )  # fmt: skip
    before = {t["metadata"]["uid"] for t in tasks(hub, selector=f"batch={label}")}
    federation.stop_apiserver(victim)
    try:
        items = eventually(lambda: _all_terminal(hub, f"batch={label}", 4), timeout=MEMBER_DOWN_S + JOB_S + 30)
        for t in items:
            assert t["status"]["phase"] == "Succeeded"
            assert t["status"]["attempt"] == 2
            assert t["status"]["placement"]["identifier"] != victim.name
        assert all("Requeued" in events(hub, t["metadata"]["name"]) for t in items)
    finally:
        federation.start_apiserver(victim)

    def stale_gone() -> bool:
        jobs = remote_jobs(federation)
        for uid in before:
            members = [m for m, _ in jobs.get(uid, [])]
            assert victim.name not in members, (uid, members)
        return True

    eventually(stale_gone, timeout=MEMBER_DOWN_S)


def test_task_naming_a_missing_pool_waits_and_says_so(operator: devenv.OperatorProcess, hub: Cluster) -> None:
    name = unique("nopool")
    manifest = task(name)
    manifest["spec"]["pool"] = "no-such-pool"
    apply(hub, manifest)
    placed = eventually(lambda: (c := condition(status(hub, name), "Placed")).get("reason") == "PoolNotFound" and c)
    assert "no-such-pool" in placed["message"]
    assert status(hub, name)["phase"] == "Pending"
    hub.kubectl("delete", "ctask", name)


def test_task_is_placed_only_on_its_pools_members(operator: devenv.OperatorProcess, hub: Cluster) -> None:
    pool = unique("east-pool")
    devenv.apply(
        hub,
        {
            "apiVersion": "computenet.io/v1alpha1",
            "kind": "ComputePool",
            "metadata": {"name": pool},
            "spec": {"identifierSelector": {"matchLabels": {"computenet.io/region": "cn-east"}}},
        },
    )
    try:
        # The cheapest GPU for one device is elsewhere; the pool still keeps the task in cn-east.
        name = unique("pooled")
        manifest = task(name, gpus=1)
        manifest["spec"]["pool"] = pool
        apply(hub, manifest)
        st = eventually(lambda: phase_is(hub, name, "Succeeded"), timeout=JOB_S)
        assert st["placement"]["identifier"] == "member-1"
        big = unique("pooled-big")
        manifest = task(big, gpus=4, models=["NVIDIA-A100-SXM4-80GB"])
        manifest["spec"]["pool"] = pool
        apply(hub, manifest)
        placed = eventually(lambda: (c := condition(status(hub, big), "Placed")).get("reason") == "NoFit" and c)
        assert placed["message"].startswith("0/1 identifiers fit")
    finally:
        hub.kubectl("delete", "computepool", pool)
