"""Upstream workload controllers in a member: JobSet, LeaderWorkerSet and KubeRay run on kwok's pods.

Objects are created directly in the member, no operator involved: this checks the substrate the
workload adapters are tested on, with the CRDs and admission webhooks as upstream ships them. Then
tasks of each kind run through the operator on those controllers. A RayJob's head dashboard is
played by computenet.testing.rayhead on this machine's network address, which KubeRay reaches
through the member API server's service proxy; a K8sJobMode submitter pod's command is played here.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from computenet.api.constants import DEFAULT_TARGET_NAMESPACE
from computenet.dispatch.naming import job_name
from computenet.members.connection import DISCOVERY_INTERVAL_S
from computenet.testing import controllers, devenv, rayhead
from computenet.testing.federation import Cluster, Federation
from computenet.testing.topology import MemberShape, default_shape
from computenet.workloads.kinds import kind_named
from support.settings import OPERATOR_ENV
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

SIM = {"sim.computenet.io/run-duration": "2s"}


SHAPES: list[MemberShape] = [
    dataclasses.replace(default_shape(1), controllers=controllers.WORKLOAD_CONTROLLERS),
    default_shape(2),
]
"""member-1 runs every upstream controller; member-2 runs none (it serves no workload CRD)."""


@pytest.fixture(scope="module")
def federation_with_controllers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    fed = Federation.start(tmp_path_factory.mktemp("federation"), shapes=SHAPES)
    try:
        yield fed
    finally:
        fed.stop()


@pytest.fixture(scope="module")
def served(federation_with_controllers: Federation) -> Cluster:
    return federation_with_controllers.members[0]


def _container(name: str) -> dict[str, Any]:
    return {"name": name, "image": "busybox", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}


def _pod_template(name: str) -> dict[str, Any]:
    return {"metadata": {"annotations": SIM}, "spec": {"containers": [_container(name)]}}


def _apply(cluster: Cluster, obj: dict[str, Any]) -> None:
    cluster.kubectl("create", "-f", "-", input=yaml.safe_dump(obj))


def _get(cluster: Cluster, *args: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return out


def _condition(obj: dict[str, Any], kind: str) -> str | None:
    return next((c["status"] for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind), None)


def test_a_jobset_of_one_leader_and_two_workers_completes_with_upstream_defaults(served: Cluster) -> None:
    def replicated(name: str, replicas: int) -> dict[str, Any]:
        return {"name": name, "replicas": replicas, "template": {"spec": {"template": _pod_template(name)}}}

    _apply(
        served,
        {
            "apiVersion": "jobset.x-k8s.io/v1alpha2",
            "kind": "JobSet",
            "metadata": {"name": "train", "namespace": "default"},
            "spec": {"replicatedJobs": [replicated("leader", 1), replicated("workers", 2)]},
        },
    )

    stored = _get(served, "jobset", "train", "-n", "default")
    # The mutating webhook ran: upstream's defaulting (pkg/webhooks/jobset_webhook.go, Default).
    assert stored["spec"]["successPolicy"] == {"operator": "All"}
    assert {r["template"]["spec"]["completionMode"] for r in stored["spec"]["replicatedJobs"]} == {"Indexed"}

    def completed() -> bool:
        js = _get(served, "jobset", "train", "-n", "default")
        assert _condition(js, "Completed") == "True", js.get("status")
        return True

    eventually(completed, JOB_S)
    pods = _get(served, "pods", "-n", "default", "-l", "jobset.sigs.k8s.io/jobset-name=train")["items"]
    assert sorted(p["metadata"]["labels"]["jobset.sigs.k8s.io/replicatedjob-name"] for p in pods) == [
        "leader",
        "workers",
        "workers",
    ]
    assert {p["status"]["phase"] for p in pods} == {"Succeeded"}


def test_the_jobset_validating_webhook_rejects_an_invalid_jobset(served: Cluster) -> None:
    bad = {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "metadata": {"name": "bad", "namespace": "default"},
        "spec": {
            "replicatedJobs": [{"name": "w", "replicas": 1, "template": {"spec": {"template": _pod_template("w")}}}],
            "successPolicy": {"operator": "All", "targetReplicatedJobs": ["missing"]},
        },
    }
    out = served.kubectl("create", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert out.returncode != 0
    assert "vjobset.kb.io" in out.stderr
    assert "missing" in out.stderr


def test_a_leaderworkerset_group_of_three_becomes_available(served: Cluster) -> None:
    _apply(
        served,
        {
            "apiVersion": "leaderworkerset.x-k8s.io/v1",
            "kind": "LeaderWorkerSet",
            "metadata": {"name": "serve", "namespace": "default"},
            "spec": {
                "replicas": 1,
                "leaderWorkerTemplate": {"size": 3, "workerTemplate": _pod_template("worker")},
            },
        },
    )
    stored = _get(served, "lws", "serve", "-n", "default")
    # Upstream's defaulting (pkg/webhooks/leaderworkerset_webhook.go, Default).
    assert stored["spec"]["leaderWorkerTemplate"]["restartPolicy"] == "RecreateGroupOnPodRestart"
    assert stored["spec"]["networkConfig"] == {"subdomainPolicy": "Shared"}

    def available() -> bool:
        lws = _get(served, "lws", "serve", "-n", "default")
        assert _condition(lws, "Available") == "True", lws.get("status")
        return True

    eventually(available, JOB_S)
    pods = _get(served, "pods", "-n", "default", "-l", "leaderworkerset.sigs.k8s.io/name=serve")["items"]
    assert len(pods) == 3
    assert {p["status"]["phase"] for p in pods} == {"Running"}


def test_a_raycluster_of_a_head_and_two_workers_becomes_ready(served: Cluster) -> None:
    def ray_template(name: str) -> dict[str, Any]:
        return {
            "metadata": {"annotations": SIM},
            "spec": {"containers": [{**_container(name), "image": "rayproject/ray"}]},
        }

    _apply(
        served,
        {
            "apiVersion": "ray.io/v1",
            "kind": "RayCluster",
            "metadata": {"name": "ray", "namespace": "default"},
            "spec": {
                "headGroupSpec": {"rayStartParams": {}, "template": ray_template("ray-head")},
                "workerGroupSpecs": [
                    {
                        "groupName": "w",
                        "replicas": 2,
                        "minReplicas": 2,
                        "maxReplicas": 2,
                        "rayStartParams": {},
                        "template": ray_template("ray-worker"),
                    }
                ],
            },
        },
    )

    def ready() -> bool:
        rc = _get(served, "raycluster", "ray", "-n", "default")
        assert rc.get("status", {}).get("state") == "ready", rc.get("status")
        return True

    eventually(ready, JOB_S)
    pods = _get(served, "pods", "-n", "default", "-l", "ray.io/cluster=ray")["items"]
    assert sorted(p["metadata"]["labels"]["ray.io/node-type"] for p in pods) == ["head", "worker", "worker"]


def test_a_member_without_controllers_serves_none_of_their_kinds(federation_with_controllers: Federation) -> None:
    plain = federation_with_controllers.members[1]
    crds = _get(plain, "crd")["items"]
    groups = {c["spec"]["group"] for c in crds}
    assert groups.isdisjoint({g for ctl in controllers.CONTROLLERS.values() for g, _ in ctl.kinds})
    out = plain.kubectl("get", "jobsets", check=False)
    assert out.returncode != 0
    assert "the server doesn't have a resource type" in out.stderr


def test_controllers_run_as_member_components(served: Cluster, federation_with_controllers: Federation) -> None:
    names = federation_with_controllers.supervisor.names()
    for ctl in controllers.WORKLOAD_CONTROLLERS:
        assert f"{served.name}/{ctl}" in served.components
        federation_with_controllers.supervisor.check_running(f"{served.name}/{ctl}")
    assert not any(n.startswith("member-2/") and n.split("/")[1] in controllers.CONTROLLERS for n in names)
    hooks = json.loads(Path(served.dir / "jobset" / "webhooks.json").read_text())
    urls = {h["clientConfig"]["url"] for config in hooks for h in config["webhooks"]}
    assert urls, "jobset ships webhooks"
    assert all(u.startswith("https://127.0.0.1:") for u in urls)


def test_the_identifier_lists_the_kinds_its_member_serves(federation_with_controllers: Federation) -> None:
    fed = federation_with_controllers
    devenv.install_crds(fed.hub)
    devenv.register_members(fed, SHAPES)
    devenv.start_operator(fed, OPERATOR_ENV)
    built_in = ["apps/v1 Deployment", "apps/v1 StatefulSet", "batch/v1 Job", "v1 Pod"]
    upstream = [
        "jobset.x-k8s.io/v1alpha2 JobSet",
        "leaderworkerset.x-k8s.io/v1 LeaderWorkerSet",
        "ray.io/v1 RayCluster",
        "ray.io/v1 RayJob",
    ]

    def kinds_of(name: str) -> list[str]:
        cid = _get(fed.hub, "computeidentifier", name)
        kinds: list[str] = cid.get("status", {}).get("workloadKinds") or []
        assert kinds, f"{name} lists no workload kinds yet"
        return kinds

    assert eventually(lambda: kinds_of("member-1"), STATE_S) == sorted([*built_in, *upstream])
    assert eventually(lambda: kinds_of("member-2"), STATE_S) == built_in


def test_a_jobset_task_runs_through_the_operator_on_the_member_that_serves_jobsets(
    federation_with_controllers: Federation,
) -> None:
    """A JobSet of 1 leader + 2 workers with 8 GPUs each: placed role by role on one identifier, run by the
    member's own JobSet controller to Succeeded, exactly one remote JobSet, every pod where it was placed."""
    fed = federation_with_controllers
    hub = fed.hub
    if devenv.OPERATOR not in fed.supervisor.names():
        devenv.install_crds(hub)
        devenv.register_members(fed, SHAPES)
        devenv.start_operator(fed, OPERATOR_ENV)

    def role(name: str, replicas: int, gpus: int) -> dict[str, Any]:
        container = _container(name)
        if gpus:
            container["resources"]["limits"] = {"nvidia.com/gpu": gpus}
        pod = {"metadata": {"annotations": SIM}, "spec": {"restartPolicy": "Never", "containers": [container]}}
        return {"name": name, "replicas": replicas, "template": {"spec": {"backoffLimit": 0, "template": pod}}}

    task = {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": "jobset-train", "namespace": "default"},
        "spec": {
            "resources": {"accelerators": {"vendor": "nvidia", "models": ["NVIDIA-H100-80GB-HBM3"]}},
            "workload": {
                "apiVersion": "jobset.x-k8s.io/v1alpha2",
                "kind": "JobSet",
                "spec": {"replicatedJobs": [role("leader", 1, 0), role("workers", 2, 8)]},
            },
        },
    }
    devenv.apply(hub, task)

    def succeeded() -> dict[str, Any]:
        st = _get(hub, "computetask", "jobset-train").get("status") or {}
        assert st.get("phase") == "Succeeded", st.get("phase")
        return st

    st = eventually(succeeded, JOB_S)
    assert st["placement"]["identifier"] == "member-1", "member-2 serves no JobSet and has no H100s"
    placed = {s["role"]: set(s.get("nodes") or ()) for s in st["placement"]["podSets"]}
    uid = _get(hub, "computetask", "jobset-train")["metadata"]["uid"]
    jobsets = _get(served_member(fed), "jobsets", "-A", "-l", f"computenet.io/task-uid={uid}")["items"]
    assert len(jobsets) == 1, "exactly one remote JobSet"
    pods = _get(served_member(fed), "pods", "-A", "-l", f"computenet.io/task-uid={uid}")["items"]
    by_role: dict[str, list[str]] = {}
    for p in pods:
        by_role.setdefault(p["metadata"]["labels"]["computenet.io/role"], []).append(p["spec"]["nodeName"])
    assert sorted(len(v) for v in by_role.values()) == [1, 2]
    for role_name, nodes in by_role.items():
        assert set(nodes) <= placed[role_name], (role_name, nodes, placed)
    assert len(set(by_role["workers"])) == 2, "8 GPUs each: one worker per H100 node"
    roles = st["usage"]["podSets"]
    assert set(roles) == {"leader", "workers"}, "usage per role"
    assert roles["workers"]["gpuSeconds"] > 0
    assert roles["leader"]["gpuSeconds"] == 0
    assert st["usage"]["gpuSeconds"] == roles["workers"]["gpuSeconds"]


def served_member(fed: Federation) -> Cluster:
    return fed.members[0]


def _jobset_crd_file() -> Path:
    """The JobSet CRD as sigs.k8s.io/jobset v0.10.1 ships it (the Go module cache), without its webhooks."""
    found = subprocess.run(
        ["go", "mod", "download", "-json", "sigs.k8s.io/jobset@v0.10.1"], check=True, capture_output=True, text=True
    )
    return Path(json.loads(found.stdout)["Dir"]) / "config/components/crd/bases/jobset.x-k8s.io_jobsets.yaml"


def _jobset_watches(member: Cluster) -> float:
    """How many watches of jobsets the member's API server holds open (``apiserver_longrunning_requests``)."""
    raw = member.kubectl("get", "--raw", "/metrics").stdout
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in raw.splitlines()
        if line.startswith("apiserver_longrunning_requests{")
        and 'resource="jobsets"' in line
        and 'verb="WATCH"' in line
    )


def test_a_kind_is_watched_only_where_its_member_serves_it(federation_with_controllers: Federation) -> None:
    """member-2 serves no JobSet: it gets no JobSet watch, so no 404 retried in the operator's log; once
    the CRD is installed the operator watches JobSets there, and stops when the CRD goes."""
    fed = federation_with_controllers
    if devenv.OPERATOR not in fed.supervisor.names():
        devenv.install_crds(fed.hub)
        devenv.register_members(fed, SHAPES)
        devenv.start_operator(fed, OPERATOR_ENV)
    plain = fed.members[1]
    log = fed.state_dir / f"{devenv.OPERATOR}.log"
    jobsets_there = f"{plain.server} jobsets"
    served = "jobset.x-k8s.io/v1alpha2 JobSet"

    def kinds_of(name: str) -> list[str]:
        kinds: list[str] = _get(fed.hub, "cid", name).get("status", {}).get("workloadKinds") or []
        return kinds

    eventually(lambda: served in kinds_of("member-1") and kinds_of("member-2"), STATE_S)
    assert jobsets_there not in log.read_text(errors="replace"), "no watch of a kind the member does not serve"
    assert _jobset_watches(plain) == 0

    plain.kubectl("apply", "--server-side", "-f", str(_jobset_crd_file()))
    try:
        eventually(lambda: _jobset_watches(plain) >= 1, DISCOVERY_INTERVAL_S + STATE_S)
        eventually(lambda: served in kinds_of("member-2"), STATE_S)
    finally:
        plain.kubectl("delete", "crd", "jobsets.jobset.x-k8s.io", "--ignore-not-found")
    stopped = f"{plain.server}: stopped watching {served}"
    eventually(lambda: stopped in log.read_text(errors="replace"), DISCOVERY_INTERVAL_S + STATE_S)
    eventually(lambda: _jobset_watches(plain) == 0, STATE_S)
    text = log.read_text(errors="replace")
    after = text[text.index(stopped) :]
    assert f"{jobsets_there}: HTTP 404" not in after, "the watch stopped: nothing retries it"
    assert text.count(f"{jobsets_there}: HTTP 404") <= 3, "the 404 of a removed CRD asks discovery at once"


def _operator_metrics_port(fed: Federation) -> int:
    records = json.loads((fed.state_dir / "processes.json").read_text())
    argv = next(r["argv"] for r in records if r["name"] == devenv.OPERATOR)
    return int(next(a.split("=", 1)[1] for a in argv if a.startswith("--metrics-port=")))


def _spent(fed: Federation, namespace: str) -> float:
    """``computenet_spend_total`` of the operator for tasks of `namespace`, every queue, provider and currency."""
    with urllib.request.urlopen(f"http://127.0.0.1:{_operator_metrics_port(fed)}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("computenet_spend_total{") and f'namespace="{namespace}"' in line
    )


def test_a_leaderworkerset_serving_task_runs_while_available_is_metered_and_goes_with_its_task(
    federation_with_controllers: Federation,
) -> None:
    """A LeaderWorkerSet of one group (a leader and two workers) through the operator: placed on the member
    that serves the kind, Running once the member's LWS controller says Available, metered while it
    runs, and removed with its pods, exactly one remote object, when the task is deleted."""
    fed = federation_with_controllers
    hub = fed.hub
    if devenv.OPERATOR not in fed.supervisor.names():
        devenv.install_crds(hub)
        devenv.register_members(fed, SHAPES)
        devenv.start_operator(fed, OPERATOR_ENV)
    pod = {"metadata": {"annotations": SIM}, "spec": {"containers": [_container("server")]}}
    task = {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": "lws-serve", "namespace": "default"},
        "spec": {
            "resources": {},
            "workload": {
                "apiVersion": "leaderworkerset.x-k8s.io/v1",
                "kind": "LeaderWorkerSet",
                "spec": {"replicas": 1, "leaderWorkerTemplate": {"size": 3, "workerTemplate": pod}},
            },
        },
    }
    devenv.apply(hub, task)
    member = served_member(fed)
    uid = _get(hub, "computetask", "lws-serve")["metadata"]["uid"]
    try:

        def running() -> dict[str, Any]:
            st = _get(hub, "computetask", "lws-serve").get("status") or {}
            assert st.get("phase") == "Running", (st.get("phase"), st.get("conditions"))
            return st

        st = eventually(running, JOB_S)
        assert st["placement"]["identifier"] == "member-1", "member-2 serves no LeaderWorkerSet"
        assert (st["remote"]["apiVersion"], st["remote"]["kind"]) == ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")
        (lws,) = _get(member, "lws", "-A", "-l", f"computenet.io/task-uid={uid}")["items"]
        assert _condition(lws, "Available") == "True"
        pods = _get(member, "pods", "-A", "-l", f"computenet.io/task-uid={uid}")["items"]
        assert len(pods) == 3
        assert {p["status"]["phase"] for p in pods} == {"Running"}
        placed = {n for s in st["placement"]["podSets"] for n in s.get("nodes") or ()}
        assert {p["spec"]["nodeName"] for p in pods} <= placed
        # Metered while it runs: the namespace's spend grows at the next settlement ticks.
        first = eventually(lambda: _spent(fed, "default"), STATE_S)
        eventually(lambda: _spent(fed, "default") > first, STATE_S)
        assert _get(hub, "computetask", "lws-serve")["status"]["phase"] == "Running", "serving: it never ends itself"
    finally:
        hub.kubectl("delete", "computetask", "lws-serve", "--wait=false")
    eventually(lambda: not _get(member, "lws", "-A", "-l", f"computenet.io/task-uid={uid}")["items"], STATE_S)
    eventually(lambda: not _get(member, "pods", "-A", "-l", f"computenet.io/task-uid={uid}")["items"], STATE_S)
    eventually(lambda: hub.kubectl("get", "computetask", "lws-serve", check=False).returncode != 0, STATE_S)


# ---- RayJobs to their end: KubeRay reads it from a played head -----------------------------------

RAY_IMAGE = "rayproject/ray:2.41.0"


@pytest.fixture(scope="module")
def ray_head() -> Iterator[rayhead.RayHead]:
    """The dashboard of every Ray head pod of these tests, on this machine's network address."""
    head = rayhead.RayHead(rayhead.host_address())
    try:
        yield head
    finally:
        head.stop()


def _with_operator(fed: Federation) -> None:
    if devenv.OPERATOR not in fed.supervisor.names():
        devenv.install_crds(fed.hub)
        devenv.register_members(fed, SHAPES)
        devenv.start_operator(fed, OPERATOR_ENV)


def _ray_task(name: str, head: rayhead.RayHead, mode: str, metadata: dict[str, str]) -> dict[str, Any]:
    """samples/task-rayjob.yaml's shape (a head, two L4 workers, KubeRay's submitter in K8sJobMode) whose
    head pod kwok gives the played head's address, its dashboard port the one the head listens on."""

    def container(name: str, cpu: str, memory: str) -> dict[str, Any]:
        return {"name": name, "image": RAY_IMAGE, "resources": {"requests": {"cpu": cpu, "memory": memory}}}

    head_container = container("ray-head", "2", "8Gi")
    head_container["ports"] = [{"name": "dashboard", "containerPort": head.port}]
    worker = container("ray-worker", "4", "16Gi")
    worker["resources"]["limits"] = {"nvidia.com/gpu": 1}
    spec: dict[str, Any] = {
        "entrypoint": "python /home/ray/samples/batch_inference.py",
        "shutdownAfterJobFinishes": True,
        "metadata": metadata,
        "rayClusterSpec": {
            "rayVersion": "2.41.0",  # KubeRay passes metadata to `ray job submit` only from Ray 2.6.0 on
            "headGroupSpec": {
                "rayStartParams": {},
                "template": {
                    "metadata": {"annotations": {rayhead.SIM_POD_IP: head.address}},
                    "spec": {"containers": [head_container]},
                },
            },
            "workerGroupSpecs": [
                {
                    "groupName": "gpus",
                    "replicas": 2,
                    "rayStartParams": {},
                    "template": {"spec": {"containers": [worker]}},
                }
            ],
        },
    }
    if mode == "K8sJobMode":
        spec["submitterPodTemplate"] = {
            "metadata": {"annotations": {rayhead.SIM_PLAYED_BY: "test_member_controllers"}},
            "spec": {"restartPolicy": "Never", "containers": [container("ray-job-submitter", "500m", "200Mi")]},
        }
    else:
        spec["submissionMode"] = mode
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "resources": {"accelerators": {"vendor": "nvidia", "models": ["NVIDIA-L4"]}},
            "workload": {
                "apiVersion": "ray.io/v1",
                "kind": "RayJob",
                "metadata": {"labels": {"app": name}},
                "spec": spec,
            },
        },
    }


def _play_submitter(member: Cluster, uid: str) -> dict[str, Any]:
    """Run the submitter pod's command as its kubelet would, and report its end in its status.

    The command is KubeRay's: submit the job unless the head has it, then follow it to its end
    (``ray job logs --follow`` exits 0 whatever the job's end: ray dashboard/modules/job/cli.py,
    logs). Returns the job's details at its end.
    """

    def running_pod() -> dict[str, Any]:
        pods = _get(member, "pods", "-A", "-l", f"computenet.io/task-uid={uid},computenet.io/role=submitter")["items"]
        assert pods, "no submitter pod yet"
        assert pods[0]["status"].get("phase") == "Running", pods[0]["status"].get("phase")
        return pods[0]

    pod = eventually(running_pod, JOB_S)
    (container,) = pod["spec"]["containers"]
    command = rayhead.parse_submitter(container["args"][0])
    env = {e["name"]: e.get("value") for e in container.get("env") or ()}
    assert env["RAY_JOB_SUBMISSION_ID"] == command.submission_id
    dashboard = rayhead.ServiceDashboard(member.api, rayhead.Service.of(command.address))
    if dashboard.job(command.submission_id) is None:  # `ray job status` found none
        dashboard.submit(command)

    def ended() -> dict[str, Any]:
        info = dashboard.job(command.submission_id)
        assert info is not None, "the head has no such job"
        assert info["status"] in rayhead.TERMINAL, info
        return info

    info = eventually(ended, JOB_S)
    terminated = {"exitCode": 0, "reason": "Completed", "startedAt": pod["status"]["startTime"]}
    patch = {
        "status": {
            "phase": "Succeeded",
            "containerStatuses": [
                {
                    "name": container["name"],
                    "image": container["image"],
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "state": {"terminated": terminated},
                }
            ],
        }
    }
    member.kubectl(
        "patch", "pod", pod["metadata"]["name"], "-n", pod["metadata"]["namespace"], "--subresource=status",
        "--type=merge", "-p", json.dumps(patch),
    )  # fmt: skip
    return info


def test_a_rayjob_task_succeeds_through_kuberay_reading_its_head_through_the_service_proxy(
    federation_with_controllers: Federation, ray_head: rayhead.RayHead
) -> None:
    """The sample's RayJob shape in K8sJobMode: placed role by role on member-1, its submitter submits
    the job to the head Service, KubeRay follows it on the head's dashboard to SUCCEEDED, and the
    task Succeeds, metered, with exactly one remote RayJob."""
    fed = federation_with_controllers
    _with_operator(fed)
    hub, member = fed.hub, served_member(fed)
    devenv.apply(hub, _ray_task("ray-batch", ray_head, "K8sJobMode", {rayhead.SIM_RUN_DURATION: "2s"}))
    uid = _get(hub, "computetask", "ray-batch")["metadata"]["uid"]

    info = _play_submitter(member, uid)
    assert info["status"] == "SUCCEEDED"
    assert info["entrypoint"] == "python /home/ray/samples/batch_inference.py"

    def succeeded() -> dict[str, Any]:
        st = _get(hub, "computetask", "ray-batch").get("status") or {}
        assert st.get("phase") == "Succeeded", (st.get("phase"), st.get("message"))
        return st

    st = eventually(succeeded, JOB_S)
    assert st["placement"]["identifier"] == "member-1", "member-2 serves no RayJob"
    assert {s["role"] for s in st["placement"]["podSets"]} == {"head", "gpus", "submitter"}
    (rayjob,) = _get(member, "rayjobs", "-A", "-l", f"computenet.io/task-uid={uid}")["items"]
    assert rayjob["status"]["jobStatus"] == "SUCCEEDED", rayjob["status"]
    assert rayjob["status"]["jobDeploymentStatus"] == "Complete"
    assert rayjob["status"]["jobId"] == info["submission_id"]
    assert ray_head.jobs.submitted().count(info["submission_id"]) == 1, "submitted once"
    assert f"GET /api/jobs/{info['submission_id']}" in ray_head.requests
    usage = st["usage"]
    assert usage["gpuSeconds"] > 0, usage
    assert usage["coreSeconds"] > 0, usage


def test_a_failing_ray_job_fails_its_task_with_kuberays_message(
    federation_with_controllers: Federation, ray_head: rayhead.RayHead
) -> None:
    """HTTPMode: KubeRay itself submits the job to the head through the service proxy; the job fails,
    and the task Fails with what KubeRay read from the head."""
    fed = federation_with_controllers
    _with_operator(fed)
    hub, member = fed.hub, served_member(fed)
    metadata = {rayhead.SIM_RUN_DURATION: "1s", rayhead.SIM_OUTCOME: "Failed"}
    devenv.apply(hub, _ray_task("ray-fails", ray_head, "HTTPMode", metadata))
    uid = _get(hub, "computetask", "ray-fails")["metadata"]["uid"]

    def failed() -> dict[str, Any]:
        st = _get(hub, "computetask", "ray-fails").get("status") or {}
        assert st.get("phase") == "Failed", (st.get("phase"), st.get("message"))
        return st

    st = eventually(failed, JOB_S)
    assert st["message"].startswith("Failed: Job entrypoint command failed with exit code 1"), st["message"]
    assert {s["role"] for s in st["placement"]["podSets"]} == {"head", "gpus"}, "no submitter in HTTPMode"
    (rayjob,) = _get(member, "rayjobs", "-A", "-l", f"computenet.io/task-uid={uid}")["items"]
    assert (rayjob["status"]["jobStatus"], rayjob["status"]["reason"]) == ("FAILED", "AppFailed")
    assert "POST /api/jobs/" in ray_head.requests


# ---- Faults users of other federations met, each a test ------------------------------------------


def _jobset_task(name: str, run: str, **spec: Any) -> dict[str, Any]:
    """A JobSet task of one replicated Job of one pod, which kwok runs for ``run``."""
    pod = {
        "metadata": {"annotations": {"sim.computenet.io/run-duration": run}},
        "spec": {"restartPolicy": "Never", "containers": [_container("main")]},
    }
    job = {"name": "main", "replicas": 1, "template": {"spec": {"backoffLimit": 0, "template": pod}}}
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "resources": {},
            "identifier": "member-1",
            "workload": {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "spec": {"replicatedJobs": [job]}},
            **spec,
        },
    }


def _status(hub: Cluster, name: str) -> dict[str, Any]:
    st: dict[str, Any] = _get(hub, "computetask", name).get("status") or {}
    return st


def _in_phase(hub: Cluster, name: str, phase: str, attempt: int | None = None) -> dict[str, Any]:
    st = _status(hub, name)
    assert st.get("phase") == phase, (st.get("phase"), st.get("message"))
    assert attempt is None or st.get("attempt") == attempt, st.get("attempt")
    return st


def _remote(member: Cluster, plural: str, uid: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _get(member, plural, "-A", "-l", f"computenet.io/task-uid={uid}")["items"]
    return items


def _gone(hub: Cluster, name: str) -> None:
    hub.kubectl("delete", "computetask", name, "--wait=false", check=False)
    eventually(lambda: hub.kubectl("get", "computetask", name, check=False).returncode != 0, STATE_S)


def test_a_jobset_its_ttl_deletes_as_it_finishes_is_succeeded_and_never_dispatched_again(
    federation_with_controllers: Federation,
) -> None:
    """kueue#14779: a worker-side TTL deleted the object before its final status was mirrored, and the
    workload ran again. Here the JobSet controller deletes the JobSet the moment it completes
    (``ttlSecondsAfterFinished: 0``): the task is Succeeded on its first attempt and stays so."""
    fed = federation_with_controllers
    _with_operator(fed)
    hub, member = fed.hub, served_member(fed)
    task = _jobset_task("jobset-ttl", "1s")
    task["spec"]["workload"]["spec"]["ttlSecondsAfterFinished"] = 0
    devenv.apply(hub, task)
    uid = _get(hub, "computetask", "jobset-ttl")["metadata"]["uid"]
    try:
        eventually(lambda: _in_phase(hub, "jobset-ttl", "Succeeded", attempt=1), JOB_S)
        eventually(lambda: not _remote(member, "jobsets", uid), STATE_S)  # the TTL did delete it
        eventually(lambda: not _remote(member, "pods", uid), STATE_S)
        st = _in_phase(hub, "jobset-ttl", "Succeeded", attempt=1)
        assert _condition({"status": st}, "Succeeded") in (None, "True")
        assert not _remote(member, "jobsets", uid), "not dispatched again"
    finally:
        _gone(hub, "jobset-ttl")


def test_a_suspended_jobset_task_keeps_no_remote_jobset_and_resumes_as_a_fresh_attempt(
    federation_with_controllers: Federation,
) -> None:
    """kueue#8162: a suspended remote JobSet kept its stale replicatedJobsStatus. Suspending a task ends
    its attempt: the remote JobSet is removed, not suspended in place, and nothing of it stays in the
    task's status; resuming runs attempt 2 from a new JobSet."""
    fed = federation_with_controllers
    _with_operator(fed)
    hub, member = fed.hub, served_member(fed)
    devenv.apply(hub, _jobset_task("jobset-suspend", "600s"))
    uid = _get(hub, "computetask", "jobset-suspend")["metadata"]["uid"]
    try:
        first = eventually(lambda: _in_phase(hub, "jobset-suspend", "Running", attempt=1), JOB_S)
        (jobset,) = _remote(member, "jobsets", uid)
        assert jobset["metadata"]["name"] == first["remote"]["name"]
        hub.kubectl("patch", "computetask", "jobset-suspend", "--type=merge", "-p", '{"spec":{"suspend":true}}')
        offered = eventually(lambda: _in_phase(hub, "jobset-suspend", "Offered"), STATE_S)
        assert "remote" not in offered, offered.get("remote")
        eventually(lambda: not _remote(member, "jobsets", uid), STATE_S)
        eventually(lambda: not _remote(member, "pods", uid), STATE_S)
        hub.kubectl("patch", "computetask", "jobset-suspend", "--type=merge", "-p", '{"spec":{"suspend":false}}')
        second = eventually(lambda: _in_phase(hub, "jobset-suspend", "Running", attempt=2), JOB_S)
        (resumed,) = _remote(member, "jobsets", uid)
        assert resumed["metadata"]["name"] == second["remote"]["name"] != first["remote"]["name"]
        assert resumed["metadata"]["labels"]["computenet.io/attempt"] == "2"
        assert not (resumed.get("spec") or {}).get("suspend"), "a fresh JobSet, not the old one suspended"
    finally:
        _gone(hub, "jobset-suspend")
    eventually(lambda: not _remote(member, "jobsets", uid), STATE_S)


def test_a_jobset_of_the_same_name_the_operator_did_not_make_is_never_touched(
    federation_with_controllers: Federation,
) -> None:
    """kueue#11849: dispatch deleted a same-named object it did not own. A JobSet of someone else holds the
    name the task's attempt would take: the operator says so on the task and never changes or deletes it,
    not while the task waits, nor when the task is deleted."""
    fed = federation_with_controllers
    _with_operator(fed)
    hub, member = fed.hub, served_member(fed)
    devenv.apply(hub, _jobset_task("jobset-foreign", "600s", suspend=True))
    uid = _get(hub, "computetask", "jobset-foreign")["metadata"]["uid"]
    eventually(lambda: _in_phase(hub, "jobset-foreign", "Offered"), STATE_S)
    jobset = kind_named("jobset.x-k8s.io/v1alpha2", "JobSet")
    name = job_name("jobset-foreign", uid, 1, jobset.name_max, jobset.letter_first)
    namespace = DEFAULT_TARGET_NAMESPACE
    if member.kubectl("get", "namespace", namespace, check=False).returncode != 0:
        member.kubectl("create", "namespace", namespace)
    foreign = _jobset_task(name, "600s")["spec"]["workload"]
    foreign["metadata"] = {"name": name, "namespace": namespace, "labels": {"owner": "someone-else"}}
    _apply(member, foreign)
    before = _get(member, "jobset", name, "-n", namespace)["metadata"]
    try:
        hub.kubectl("patch", "computetask", "jobset-foreign", "--type=merge", "-p", '{"spec":{"suspend":false}}')

        def says_the_name_is_taken() -> str:
            st = _status(hub, "jobset-foreign")
            assert st.get("phase") != "Running", st
            said = " ".join(f"{c.get('reason')} {c.get('message')}" for c in st.get("conditions") or ())
            said += f" {st.get('message') or ''}"
            assert "NameConflict" in said or name in said, said
            return said

        eventually(says_the_name_is_taken, JOB_S)
        now = _get(member, "jobset", name, "-n", namespace)["metadata"]
        assert now["uid"] == before["uid"]
        assert now["labels"] == before["labels"], "not labelled or adopted as the task's"
    finally:
        _gone(hub, "jobset-foreign")
    kept = _get(member, "jobset", name, "-n", namespace)["metadata"]
    assert kept["uid"] == before["uid"], "deleting the task does not delete what it did not make"
    member.kubectl("delete", "jobset", name, "-n", namespace, "--wait=false")


def test_a_jobset_task_outlives_an_operator_restart_with_its_jobset_never_rewritten(
    federation_with_controllers: Federation,
) -> None:
    """kueue#15210: a defaulting webhook that is not idempotent duplicated fields each time the federation
    wrote the remote object again. The operator creates a workload once and never writes its spec again:
    across an operator restart (SIGKILL) the JobSet, defaulted by the member's JobSet webhook, keeps
    generation 1 and the task runs to Succeeded on its first attempt."""
    fed = federation_with_controllers
    _with_operator(fed)
    hub, member = fed.hub, served_member(fed)
    devenv.apply(hub, _jobset_task("jobset-restart", "20s"))
    uid = _get(hub, "computetask", "jobset-restart")["metadata"]["uid"]
    try:
        eventually(lambda: _in_phase(hub, "jobset-restart", "Running", attempt=1), JOB_S)
        (jobset,) = _remote(member, "jobsets", uid)
        fed.supervisor.stop(devenv.OPERATOR, signal.SIGKILL)
        devenv.start_operator(fed, OPERATOR_ENV)
        eventually(lambda: _in_phase(hub, "jobset-restart", "Succeeded", attempt=1), JOB_S)
        (after,) = _remote(member, "jobsets", uid)
        assert after["metadata"]["uid"] == jobset["metadata"]["uid"], "the same JobSet, never made again"
        assert after["metadata"]["generation"] == 1, "its spec was never written again"
        assert after["spec"] == jobset["spec"]
    finally:
        _gone(hub, "jobset-restart")


def test_a_rayjob_deleted_in_the_member_ends_its_attempt_and_holds_nothing(
    federation_with_controllers: Federation, ray_head: rayhead.RayHead
) -> None:
    """kueue#15380, #15682: quota stayed held after a remote RayJob was deleted. A running RayJob deleted
    in the member ends the attempt (policy Never: the task Fails saying so), and the RayCluster and pods
    KubeRay made for it go with it, so nothing is held for it any more."""
    fed = federation_with_controllers
    _with_operator(fed)
    hub, member = fed.hub, served_member(fed)
    task = _ray_task("ray-deleted", ray_head, "HTTPMode", {rayhead.SIM_RUN_DURATION: "600s"})
    task["spec"]["failover"] = {"policy": "Never"}
    devenv.apply(hub, task)
    uid = _get(hub, "computetask", "ray-deleted")["metadata"]["uid"]
    try:
        st = eventually(lambda: _in_phase(hub, "ray-deleted", "Running", attempt=1), JOB_S)
        member.kubectl("delete", "rayjob", st["remote"]["name"], "-n", st["remote"]["namespace"], "--wait=false")
        failed = eventually(lambda: _in_phase(hub, "ray-deleted", "Failed", attempt=1), STATE_S)
        assert "deleted" in failed["message"], failed["message"]
        eventually(lambda: not _remote(member, "rayclusters", uid), STATE_S)
        eventually(lambda: not _remote(member, "pods", uid), STATE_S)
        assert _in_phase(hub, "ray-deleted", "Failed", attempt=1), "not dispatched again"
    finally:
        _gone(hub, "ray-deleted")


# ---- pull mode: member-1 joins through its agent, which runs JobSets on the member's controller -----


@pytest.fixture(scope="module")
def jobsets_through_an_agent(federation_with_controllers: Federation) -> Iterator[devenv.AgentProcess]:
    """member-1 in pull mode for the tests below, its agent enabled for JobSets; in push mode again afterwards.

    This module's federation already runs the JobSet controller in member-1, so pull mode costs one agent
    process here, not a federation of its own.
    """
    fed = federation_with_controllers
    _with_operator(fed)
    regions = [s.region for s in SHAPES]
    agent = devenv.register_pull_member(fed, 1, SHAPES[0], regions, kinds="JobSet")
    member = served_member(fed)

    def lists_jobsets() -> list[str]:
        kinds: list[str] = _get(fed.hub, "cid", member.name).get("status", {}).get("workloadKinds") or []
        assert kinds == ["batch/v1 Job", "jobset.x-k8s.io/v1alpha2 JobSet"], kinds
        return kinds

    try:
        eventually(lists_jobsets, STATE_S)
        yield agent
    finally:
        if agent.process in fed.supervisor.names():
            devenv.stop_agent(agent)
        devenv.apply(fed.hub, devenv.identifier_manifest(1, member, SHAPES[0], regions))


def test_a_jobset_task_runs_through_a_pull_members_agent_on_its_jobset_controller(
    federation_with_controllers: Federation, jobsets_through_an_agent: devenv.AgentProcess
) -> None:
    """The JobSet of the push test above (1 leader + 2 workers with 8 GPUs each), placed on member-1 now in pull
    mode: its agent creates the JobSet, the member's JobSet controller runs it to Succeeded, exactly one remote
    JobSet, every pod bound where it was placed, and its work mirrors the JobSet's status to the hub."""
    fed = federation_with_controllers
    hub, member, agent = fed.hub, served_member(fed), jobsets_through_an_agent
    name = "jobset-pulled"

    def role(role_name: str, replicas: int, gpus: int) -> dict[str, Any]:
        container = _container(role_name)
        if gpus:
            container["resources"]["limits"] = {"nvidia.com/gpu": gpus}
        pod = {"metadata": {"annotations": SIM}, "spec": {"restartPolicy": "Never", "containers": [container]}}
        return {"name": role_name, "replicas": replicas, "template": {"spec": {"backoffLimit": 0, "template": pod}}}

    task = {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "resources": {"accelerators": {"vendor": "nvidia", "models": ["NVIDIA-H100-80GB-HBM3"]}},
            "workload": {
                "apiVersion": "jobset.x-k8s.io/v1alpha2",
                "kind": "JobSet",
                "spec": {"replicatedJobs": [role("leader", 1, 0), role("workers", 2, 8)]},
            },
        },
    }
    devenv.apply(hub, task)
    uid = _get(hub, "computetask", name)["metadata"]["uid"]
    try:
        st = eventually(lambda: _in_phase(hub, name, "Succeeded", attempt=1), JOB_S)
        assert st["placement"]["identifier"] == member.name, "member-2 serves no JobSet and has no H100s"
        assert _condition({"status": st}, "Dispatched") == "True"
        (jobset,) = _remote(member, "jobsets", uid)  # exactly one remote JobSet
        assert jobset["metadata"]["name"] == st["remote"]["name"]
        assert jobset["metadata"]["uid"] == st["remote"]["uid"]
        assert jobset["metadata"]["labels"]["computenet.io/agent"] == agent.name, "made by the agent"
        assert _condition(jobset, "Completed") == "True"
        placed = {s["role"]: set(s.get("nodes") or ()) for s in st["placement"]["podSets"]}
        by_role: dict[str, list[str]] = {}
        for p in _remote(member, "pods", uid):
            by_role.setdefault(p["metadata"]["labels"]["computenet.io/role"], []).append(p["spec"]["nodeName"])
        assert sorted(len(v) for v in by_role.values()) == [1, 2]
        for role_name, nodes in by_role.items():
            assert set(nodes) <= placed[role_name], (role_name, nodes, placed)
        assert len(set(by_role["workers"])) == 2, "8 GPUs each: one worker per H100 node"
        (work,) = [
            w
            for w in _get(hub, "computeworks", "-n", agent.namespace)["items"]
            if w["metadata"]["labels"]["computenet.io/task-uid"] == uid
        ]
        mirrored = work["status"]["job"]
        assert (mirrored["apiVersion"], mirrored["kind"]) == ("jobset.x-k8s.io/v1alpha2", "JobSet")
        assert _condition({"status": mirrored["status"]}, "Completed") == "True"
    finally:
        _gone(hub, name)
    eventually(lambda: not _remote(member, "jobsets", uid), STATE_S)
