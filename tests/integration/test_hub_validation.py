"""Kubernetes' own validation of a task's Job, by a dry run on the real hub, before the task is placed.

The operator's checks pass these templates; a member would refuse their Job. The hub refuses it
first: the task gets Valid=False naming the field on its own path, and no member ever sees a Job.
The check's shell (`tasks/hub_check.py`) is also driven directly against the hub: one call for
many identical Jobs, no verdict (fail open) without RBAC, and a verdict with exactly one Role.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.aio import config as aio_config
from kubernetes.aio.client import ApiClient, Configuration

from computenet.api.constants import TASK_UID_LABEL
from computenet.api.contract import resolve_resources
from computenet.api.task import ComputeTaskSpec
from computenet.metrics import Metrics
from computenet.tasks import hub_check
from computenet.tasks.hub_check import HubCheck
from computenet.tasks.hub_validation import Result, Verdict
from computenet.testing import devenv
from computenet.testing.federation import OPERATOR_USER, Cluster, Federation, free_port
from support.settings import OPERATOR_ENV
from support.tasks import apply, condition, events, phase_is, remote_jobs, status, task, unique
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually, eventually_async

POD_SPEC = "spec.template.spec.template.spec"
REPO = Path(__file__).resolve().parents[2]

PodSpec = dict[str, Any]


def _lowercase_toleration(pod: PodSpec) -> None:
    pod["tolerations"] = [{"key": "dedicated", "operator": "exists", "effect": "NoSchedule"}]


def _lowercase_sidecar(pod: PodSpec) -> None:
    pod["initContainers"] = [{"name": "proxy", "image": "busybox", "restartPolicy": "always"}]


def _pod_level_gpu(pod: PodSpec) -> None:
    pod["resources"] = {"requests": {"cpu": "500m", "nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "1"}}


def pod_spec(manifest: dict[str, Any]) -> PodSpec:
    spec: PodSpec = manifest["spec"]["template"]["spec"]["template"]["spec"]
    return spec


def uid_of(hub: Cluster, name: str) -> str:
    return str(json.loads(hub.kubectl("get", "ctask", name, "-o", "json").stdout)["metadata"]["uid"])


def refused(hub: Cluster, name: str) -> dict[str, Any]:
    valid = condition(status(hub, name), "Valid")
    assert valid.get("status") == "False", valid
    return valid


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        pytest.param(
            _lowercase_toleration,
            f"{POD_SPEC}.tolerations[0].operator",
            id="a toleration operator written 'exists' is refused naming the field",
        ),
        pytest.param(
            _lowercase_sidecar,
            f"{POD_SPEC}.initContainers[0].restartPolicy",
            id="a sidecar restartPolicy written 'always' is refused naming the field",
        ),
        pytest.param(
            _pod_level_gpu,
            f"{POD_SPEC}.resources",
            id="an extended resource in pod-level resources is refused naming the field",
        ),
    ],
)
def test_a_job_kubernetes_refuses_makes_the_task_invalid_and_is_never_dispatched(
    operator: devenv.OperatorProcess,
    hub: Cluster,
    federation: Federation,
    mutate: Callable[[PodSpec], None],
    field: str,
) -> None:
    name = unique("k8s-invalid")
    manifest = task(name)
    mutate(pod_spec(manifest))
    apply(hub, manifest)
    valid = eventually(lambda: refused(hub, name), timeout=STATE_S)
    assert valid["reason"] == "InvalidSpec"
    assert valid["message"].startswith(field), valid["message"]
    assert "dry run on the hub" in valid["message"]
    assert "InvalidSpec" in eventually(lambda: events(hub, name))
    st = status(hub, name)
    assert st["phase"] == "Pending"
    assert "placement" not in st
    assert uid_of(hub, name) not in remote_jobs(federation)
    hub.kubectl("delete", "ctask", name)


def as_deployment(manifest: dict[str, Any]) -> dict[str, Any]:
    """The task with its pod template as a Deployment (``spec.workload``) instead of a Job."""
    job = manifest["spec"].pop("template")
    pod = job["spec"]["template"]
    pod["spec"].pop("restartPolicy", None)
    manifest["spec"]["workload"] = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": pod}}
    return manifest


def deployments_of(federation: Federation, uid: str) -> list[Any]:
    selector = f"{TASK_UID_LABEL}={uid}"
    return [
        d
        for m in federation.members
        for d in json.loads(m.kubectl("get", "deployments", "-A", "-l", selector, "-o", "json").stdout)["items"]
    ]


def test_a_deployment_kubernetes_refuses_is_named_under_spec_workload_and_never_dispatched(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    name = unique("k8s-invalid-deploy")
    manifest = as_deployment(task(name))
    _lowercase_sidecar(manifest["spec"]["workload"]["spec"]["template"]["spec"])
    apply(hub, manifest)
    valid = eventually(lambda: refused(hub, name), timeout=STATE_S)
    assert valid["reason"] == "InvalidSpec"
    assert valid["message"].startswith("spec.workload.spec.template.spec.initContainers[0].restartPolicy: ")
    assert "Kubernetes refuses the Deployment" in valid["message"]
    assert deployments_of(federation, uid_of(hub, name)) == []
    hub.kubectl("delete", "ctask", name)


def jobset_task(name: str) -> dict[str, Any]:
    """The sample JobSet task (a leader and two workers of 8 GPUs each) under ``name``."""
    manifest: dict[str, Any] = yaml.safe_load((REPO / "samples" / "task-jobset.yaml").read_text())
    manifest["metadata"] = {"name": name, "namespace": "default"}
    return manifest


def test_a_jobset_role_kubernetes_refuses_is_named_on_its_path_and_never_placed(
    operator: devenv.OperatorProcess, hub: Cluster
) -> None:
    """The hub serves no JobSet: each role's pod template is judged as a PodTemplate instead."""
    name = unique("k8s-invalid-jobset")
    manifest = jobset_task(name)
    workers = manifest["spec"]["workload"]["spec"]["replicatedJobs"][1]["template"]["spec"]["template"]["spec"]
    _lowercase_toleration(workers)
    apply(hub, manifest)
    valid = eventually(lambda: refused(hub, name), timeout=STATE_S)
    assert valid["reason"] == "InvalidSpec"
    path = "spec.workload.spec.replicatedJobs[1].template.spec.template.spec.tolerations[0].operator"
    assert valid["message"].startswith(f"{path}: Unsupported value: "), valid["message"]
    assert "Kubernetes refuses the pod template of role workers of the JobSet" in valid["message"]
    assert "placement" not in status(hub, name)
    hub.kubectl("delete", "ctask", name)


def test_a_valid_sidecar_and_toleration_pass_the_hub_and_the_task_runs(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    name = unique("k8s-valid")
    manifest = task(name, run="1s")
    pod = pod_spec(manifest)
    pod["tolerations"] = [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]
    pod["initContainers"] = [{"name": "proxy", "image": "busybox", "restartPolicy": "Always"}]
    apply(hub, manifest)
    st = eventually(lambda: phase_is(hub, name, "Succeeded"), timeout=JOB_S)
    assert condition(st, "Valid")["status"] == "True"
    ((_, job),) = remote_jobs(federation)[uid_of(hub, name)]
    assert job["spec"]["template"]["spec"]["initContainers"][0]["restartPolicy"] == "Always"


def test_after_a_restart_verdicts_stand_and_nothing_is_told_again(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    invalid, waiting, marker = unique("refused"), unique("fits-nowhere"), unique("marker")
    refused_task = task(invalid)
    _lowercase_toleration(pod_spec(refused_task))
    apply(hub, refused_task, task(waiting, gpus=16, models=["NVIDIA-H100-80GB-HBM3"]))
    eventually(lambda: refused(hub, invalid))
    placed = eventually(lambda: (c := condition(status(hub, waiting), "Placed")).get("reason") == "NoFit" and c)
    valid_before = condition(status(hub, waiting), "Valid")
    assert valid_before["status"] == "True"
    assert eventually(lambda: events(hub, invalid)).count("InvalidSpec") == 1
    try:
        devenv.kill_and_restart_operator(operator, OPERATOR_ENV)
        marker_task = task(marker)
        _lowercase_toleration(pod_spec(marker_task))
        apply(hub, marker_task)
        eventually(lambda: refused(hub, marker))  # the restarted operator has taken in every task by now
        assert events(hub, invalid).count("InvalidSpec") == 1
        assert condition(status(hub, waiting), "Valid") == valid_before  # not rewritten while re-judged
        assert condition(status(hub, waiting), "Placed")["reason"] == placed["reason"]
        assert refused(hub, invalid)["reason"] == "InvalidSpec"
    finally:
        hub.kubectl("delete", "ctask", invalid, waiting, marker, "--ignore-not-found", "--wait=false")


def hub_validations(op: devenv.OperatorProcess) -> dict[str, float]:
    """The operator's computenet_hub_validations_total by result, scraped from its metrics endpoint."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{op.metrics_port}/metrics", timeout=10).read().decode()
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("computenet_hub_validations_total{"):
            labels, _, value = line.partition("} ")
            found[labels.split('result="')[1].rstrip('"')] = float(value)
    return found


def test_a_burst_of_identical_invalid_tasks_costs_the_hub_one_dry_run(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    label = unique("burst")
    before = hub_validations(operator).get("invalid", 0.0)
    objects = []
    for i in range(30):
        manifest = task(f"{label}-{i}")
        manifest["metadata"]["labels"] = {"batch": label}
        pod = pod_spec(manifest)
        _lowercase_toleration(pod)
        pod["containers"][0]["env"] = [{"name": "BATCH", "value": label}]  # a Job no earlier test asked about
        objects.append(manifest)
    apply(hub, *objects)
    for manifest in objects:
        eventually(lambda m=manifest: refused(hub, m["metadata"]["name"]), timeout=STATE_S)
    assert hub_validations(operator).get("invalid", 0.0) - before == 1
    hub.kubectl("delete", "ctask", "-l", f"batch={label}")


def test_when_the_hub_gives_no_verdict_the_task_is_placed_all_the_same(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation
) -> None:
    """Fail open: a quota of no Jobs in the operator's namespace makes the hub answer 403 to a valid Job's dry run.

    (Kubernetes validates before quota admission, so an invalid Job still gets its 422 there.)
    """
    quota = unique("no-jobs")
    name = unique("unchecked")
    before = hub_validations(operator).get("unavailable", 0.0)
    devenv.apply(
        hub,
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": quota, "namespace": devenv.NAMESPACE},
            "spec": {"hard": {"count/jobs.batch": "0"}},
        },
    )
    try:
        eventually(
            lambda: "exceeded quota" in hub.kubectl(
                "create", "job", unique("probe"), "--image=busybox", "-n", devenv.NAMESPACE, "--dry-run=server",
                check=False,
            ).stderr
        )  # fmt: skip
        manifest = task(name, run="1s")
        pod_spec(manifest)["containers"][0]["env"] = [{"name": "PROBE", "value": uuid.uuid4().hex}]  # a new Job
        apply(hub, manifest)
        st = eventually(lambda: phase_is(hub, name, "Succeeded"), timeout=JOB_S)
        assert condition(st, "Valid")["status"] == "True"
        assert hub_validations(operator).get("unavailable", 0.0) - before == 1
        assert "the hub gave no verdict on a task's Job (HTTP 403: " in operator.log_text()
    finally:
        hub.kubectl("delete", "resourcequota", quota, "-n", devenv.NAMESPACE, "--ignore-not-found")
        hub.kubectl("delete", "ctask", name, "--ignore-not-found", "--wait=false")


# ---- the shell against the hub, in process ----


def spec_and_template(manifest: dict[str, Any]) -> tuple[ComputeTaskSpec, dict[str, Any], dict[str, Any]]:
    spec = resolve_resources(ComputeTaskSpec.model_validate(manifest["spec"]))
    return spec, manifest["spec"].get("template") or {}, manifest["spec"].get("workload") or {}


class Checks:
    """HubChecks on the real hub, with their background calls and metrics."""

    def __init__(self) -> None:
        self.running: set[asyncio.Task[None]] = set()
        self.metrics = Metrics.create()

    def spawn(self, coro: Any, name: str) -> None:
        t = asyncio.create_task(coro, name=name)
        self.running.add(t)
        t.add_done_callback(self.running.discard)

    def check(self, client: ApiClient, namespace: str = devenv.NAMESPACE) -> HubCheck:
        return HubCheck(client, namespace, "hub", self.metrics, self.spawn)

    def calls(self) -> dict[str, float]:
        return {
            s.labels["result"]: s.value
            for family in self.metrics.registry.collect()
            for s in family.samples
            if s.name == "computenet_hub_validations_total"
        }


async def ask(check: HubCheck, manifest: dict[str, Any]) -> Verdict:
    """The verdict on a manifest's Job: at once from the cache, or once the hub has answered."""
    spec, template, workload = spec_and_template(manifest)
    ready = asyncio.Event()
    verdict = check.verdict(spec, template, workload, ready.set)
    if verdict is None:
        await asyncio.wait_for(ready.wait(), STATE_S)
        verdict = check.verdict(spec, template, workload, ready.set)
    assert verdict is not None
    return verdict


def fresh_task(mutate: Callable[[PodSpec], None] | None = None) -> dict[str, Any]:
    """A task whose Job no check has seen (a unique env value)."""
    manifest = task(unique("probe"))
    pod = pod_spec(manifest)
    pod["containers"][0]["env"] = [{"name": "PROBE", "value": uuid.uuid4().hex}]
    if mutate is not None:
        mutate(pod)
    return manifest


@pytest.fixture
def checks() -> Checks:
    return Checks()


async def test_many_tasks_waiting_for_one_job_cost_one_call_and_all_hear_the_verdict(
    hub_api: ApiClient, hub: Cluster, checks: Checks
) -> None:
    hub.kubectl("create", "namespace", devenv.NAMESPACE, check=False)  # the operator's namespace
    check = checks.check(hub_api)
    spec, template, workload = spec_and_template(fresh_task(_lowercase_toleration))
    heard: list[int] = []
    for i in range(50):
        assert check.verdict(spec, template, workload, lambda i=i: heard.append(i)) is None
    await asyncio.wait_for(asyncio.gather(*checks.running), STATE_S)
    assert sorted(heard) == list(range(50))
    verdict = check.verdict(spec, template, workload, lambda: None)
    assert verdict is not None
    assert verdict.result is Result.INVALID
    assert verdict.problems[0].field == f"{POD_SPEC}.tolerations[0].operator"
    assert checks.calls() == {"invalid": 1.0}


async def test_a_spec_seen_before_finds_its_verdict_without_rendering_its_job_again(
    hub_api: ApiClient, hub: Cluster, checks: Checks, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.kubectl("create", "namespace", devenv.NAMESPACE, check=False)
    check = checks.check(hub_api)
    manifest = fresh_task()
    spec, template, workload = spec_and_template(manifest)
    rendered: list[str] = []
    real = hub_check.probes_of

    def counted(*args: Any) -> Any:
        rendered.append("probe")
        return real(*args)

    monkeypatch.setattr(hub_check, "probes_of", counted)
    ready = asyncio.Event()
    assert check.verdict(spec, template, workload, ready.set, manifest["spec"]) is None
    await asyncio.wait_for(ready.wait(), STATE_S)
    for _ in range(20):  # a burst of tasks written alike (a copy of the spec each)
        verdict = check.verdict(spec, template, workload, lambda: None, json.loads(json.dumps(manifest["spec"])))
        assert verdict is not None
        assert verdict.result is Result.VALID
    assert rendered == ["probe"]
    other = fresh_task()
    o_spec, o_template, o_workload = spec_and_template(other)
    assert check.verdict(o_spec, o_template, o_workload, lambda: None, other["spec"]) is None  # asked anew
    assert rendered == ["probe", "probe"]


async def test_without_rbac_the_hub_gives_no_verdict_and_one_role_in_its_namespace_is_enough(
    hub: Cluster, checks: Checks
) -> None:
    hub.kubectl("create", "namespace", devenv.NAMESPACE, check=False)
    client = await aio_config.new_client_from_config(config_file=str(hub.operator_kubeconfig))
    role = unique("dry-run")
    try:
        forbidden = await ask(checks.check(client), fresh_task(_lowercase_toleration))
        assert forbidden.result is Result.UNAVAILABLE
        assert forbidden.status == 403
        assert forbidden.answer.startswith("HTTP 403: ")
        rule = {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]}
        grant = [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": role, "namespace": devenv.NAMESPACE},
                "rules": [rule],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": role, "namespace": devenv.NAMESPACE},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": OPERATOR_USER}],
            },
        ]
        for obj in grant:
            devenv.apply(hub, obj)

        async def judged(manifest: dict[str, Any]) -> Verdict:
            verdict = await ask(checks.check(client), manifest)  # a fresh cache: RBAC takes a moment
            assert verdict.result is not Result.UNAVAILABLE, verdict.answer
            return verdict

        valid = await eventually_async(lambda: judged(fresh_task()))
        assert valid.result is Result.VALID
        invalid = await judged(fresh_task(_lowercase_sidecar))
        assert invalid.result is Result.INVALID
        assert [p.field for p in invalid.problems] == [f"{POD_SPEC}.initContainers[0].restartPolicy"]
        elsewhere = await ask(checks.check(client, namespace="default"), fresh_task())
        assert elsewhere.status == 403  # only its own namespace
        assert not [job for job in hub_jobs(hub) if job.startswith("computenet-dry-run-")]  # nothing was stored
    finally:
        await client.close()
        hub.kubectl("delete", "role,rolebinding", role, "-n", devenv.NAMESPACE, "--ignore-not-found")


async def test_a_hub_that_does_not_answer_gives_no_verdict(checks: Checks) -> None:
    nobody = Configuration(host=f"https://127.0.0.1:{free_port()}")
    async with ApiClient(nobody) as client:
        verdict = await ask(checks.check(client), fresh_task())
    assert verdict.result is Result.UNAVAILABLE
    assert verdict.status is None
    assert verdict.answer.startswith("no answer (")
    assert checks.calls() == {"unavailable": 1.0}


async def test_the_least_recently_used_verdict_is_the_one_forgotten(hub_api: ApiClient, checks: Checks) -> None:
    check = HubCheck(hub_api, devenv.NAMESPACE, "hub", checks.metrics, checks.spawn, size=2)
    a, b, c = fresh_task(), fresh_task(), fresh_task(_lowercase_toleration)
    for manifest in (a, b, a, c):  # a is used again after b, so b goes when c comes
        await ask(check, manifest)
    assert checks.calls() == {"valid": 2.0, "invalid": 1.0}
    await ask(check, a)
    assert checks.calls() == {"valid": 2.0, "invalid": 1.0}  # still known
    await ask(check, b)
    assert checks.calls() == {"valid": 3.0, "invalid": 1.0}  # asked again


def hub_jobs(hub: Cluster) -> list[str]:
    items = json.loads(hub.kubectl("get", "jobs", "-A", "-o", "json").stdout)["items"]
    return [j["metadata"]["name"] for j in items]
