"""What is dispatched is what was placed (field cases 03 and 13), on the real hub and members.

Case 03: two containers with one GPU each carry a 2-GPU reservation; the Job must ask for 2, not 3.
Case 13: container quantities written as YAML numbers (``cpu: 0.5``, ``limits: {cpu: 2}``) are read
exactly, checked like strings, and dispatched as strings. Beside them, the other inputs of these
kinds: a sidecar holding a GPU, a template asking for more than the reservation, a spec that leaves
cpu to the template, exponent quantities. Every rendered Job's effective request, counted as
kube-scheduler counts it, is the reservation; and a member's API server accepts each rendered Job
(server-side dry run), so no refusal is left for dispatch to find.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from computenet.api.constants import TASK_UID_LABEL
from computenet.dispatch.render import Target, TaskRef, render_job
from computenet.podresources import pod_requests
from computenet.quantity import cpu_millis, to_int_units
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

GPU = "nvidia.com/gpu"
POD = "spec.template.spec.template.spec"
L4 = {"vendor": "nvidia", "models": ["NVIDIA-L4"]}


@pytest.fixture(scope="module")
def namespace(hub: Cluster) -> Iterator[str]:
    name = f"contract-{uuid.uuid4().hex[:6]}"
    hub.kubectl("create", "namespace", name)
    yield name
    hub.kubectl("delete", "namespace", name, "--wait=false", check=False)


def container(name: str, requests: dict[str, Any] | None = None, limits: dict[str, Any] | None = None) -> dict:
    """A container as a user writes it; quantities may be YAML numbers (JSON numbers on the hub)."""
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v is not None}
    return {"name": name, "image": f"registry.example/{name}:1.0", **({"resources": resources} if resources else {})}


def ctask(
    name: str,
    namespace: str,
    resources: dict[str, Any],
    *containers: dict[str, Any],
    init: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    pod: dict[str, Any] = {"containers": list(containers)}
    if init:
        pod["initContainers"] = init
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "resources": resources,
            "template": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {"metadata": {"annotations": {"sim.computenet.io/run-duration": "2s"}}, "spec": pod},
                }
            },
        },
    }


def submit(hub: Cluster, document: dict[str, Any]) -> str:
    """Apply the task as JSON (numbers stay numbers) and return its name."""
    hub.kubectl("apply", "-f", "-", input=json.dumps(document))
    return str(document["metadata"]["name"])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def task_object(hub: Cluster, name: str, namespace: str) -> dict[str, Any]:
    return dict(json.loads(hub.kubectl("get", "ctask", name, "-n", namespace, "-o", "json").stdout))


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == type_), {})


def succeeded(hub: Cluster, name: str, namespace: str) -> dict[str, Any]:
    obj = task_object(hub, name, namespace)
    assert obj.get("status", {}).get("phase") == "Succeeded", obj.get("status")
    return obj


def dispatched_pod_spec(federation: Federation, hub: Cluster, name: str, namespace: str) -> dict[str, Any]:
    """The pod template of the Job the task was dispatched as, read from the member that holds it."""
    uid = task_object(hub, name, namespace)["metadata"]["uid"]

    def job() -> dict[str, Any]:
        for member in federation.members:
            found = json.loads(
                member.kubectl("get", "jobs", "-A", "-l", f"{TASK_UID_LABEL}={uid}", "-o", "json").stdout
            )["items"]
            if found:
                return dict(found[0]["spec"]["template"]["spec"])
        raise AssertionError(f"no Job for {namespace}/{name} yet")

    return eventually(job, timeout=JOB_S)


def assert_requests_the_reservation(pod: dict[str, Any], cpu: str, memory: str, gpus: int = 0) -> None:
    effective = pod_requests(pod)
    assert effective["cpu"] == cpu_millis(cpu)
    assert effective["memory"] == to_int_units(memory)
    assert effective.get(GPU, 0) == gpus


def gpu_limits(pod: dict[str, Any]) -> int:
    return sum(int((c.get("resources") or {}).get("limits", {}).get(GPU, 0)) for c in pod["containers"])


def test_case_03_two_containers_with_a_gpu_each_dispatch_two_gpus(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation, namespace: str
) -> None:
    name = submit(
        hub,
        ctask(
            unique("two-gpu-containers"),
            namespace,
            {"cpu": "4", "memory": "16Gi", "accelerators": {"count": 2, **L4}},
            container("encoder", limits={GPU: "1"}),
            container("decoder", limits={GPU: "1"}),
        ),
    )
    pod = dispatched_pod_spec(federation, hub, name, namespace)
    assert gpu_limits(pod) == 2
    assert_requests_the_reservation(pod, "4", "16Gi", 2)
    eventually(lambda: succeeded(hub, name, namespace), timeout=JOB_S)


def test_case_13_a_float_requests_are_valid_and_run(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation, namespace: str
) -> None:
    name = submit(
        hub,
        ctask(
            unique("float-cpu"),
            namespace,
            {"cpu": "2", "memory": "2Gi"},
            container("main", requests={"cpu": 0.5, "memory": "512Mi"}, limits={"cpu": 1.5, "memory": "1Gi"}),
        ),
    )
    pod = dispatched_pod_spec(federation, hub, name, namespace)
    assert pod["containers"][0]["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "1500m", "memory": "1Gi"},
    }
    assert pod["resources"]["requests"] == {"cpu": "2", "memory": "2Gi"}, "the rest is the pod-level request"
    assert_requests_the_reservation(pod, "2", "2Gi")
    obj = eventually(lambda: succeeded(hub, name, namespace), timeout=JOB_S)
    assert condition(obj, "Valid")["status"] == "True"


def test_case_13_b_int_limits_run(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation, namespace: str
) -> None:
    name = submit(
        hub,
        ctask(
            unique("int-cpu-limit"),
            namespace,
            {"cpu": "2", "memory": "2Gi"},
            container("main", limits={"cpu": 2, "memory": "2Gi"}),
        ),
    )
    obj = eventually(lambda: succeeded(hub, name, namespace), timeout=JOB_S)
    assert condition(obj, "Valid")["status"] == "True"
    pod = dispatched_pod_spec(federation, hub, name, namespace)
    assert pod["containers"][0]["resources"]["limits"] == {"cpu": "2", "memory": "2Gi"}
    assert_requests_the_reservation(pod, "2", "2Gi")


def test_a_sidecar_gpu_counts_toward_the_reservation(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation, namespace: str
) -> None:
    sidecar = {**container("telemetry", limits={GPU: 1}), "restartPolicy": "Always"}
    name = submit(
        hub,
        ctask(
            unique("sidecar-gpu"),
            namespace,
            {"cpu": "4", "memory": "8Gi", "accelerators": {"count": 2, **L4}},
            container("trainer"),
            init=[sidecar],
        ),
    )
    pod = dispatched_pod_spec(federation, hub, name, namespace)
    assert pod["containers"][0]["resources"]["limits"] == {GPU: "1"}, "the trainer receives the GPU left"
    assert_requests_the_reservation(pod, "4", "8Gi", 2)
    eventually(lambda: succeeded(hub, name, namespace), timeout=JOB_S)


def test_requests_above_the_reservation_are_refused_naming_the_container(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation, namespace: str
) -> None:
    name = submit(
        hub,
        ctask(
            unique("too-much"),
            namespace,
            {"cpu": "4", "memory": "8Gi"},
            container("a", requests={"cpu": 2}),
            container("b", requests={"cpu": 3}),
        ),
    )

    def refused() -> dict[str, Any]:
        valid = condition(task_object(hub, name, namespace), "Valid")
        assert valid.get("status") == "False", valid
        return valid

    valid = eventually(refused, timeout=STATE_S)
    assert valid["reason"] == "InvalidSpec"
    assert f"{POD}.containers[1].resources.requests.cpu" in valid["message"]
    assert "more than the 4 reserved" in valid["message"]
    uid = task_object(hub, name, namespace)["metadata"]["uid"]
    for member in federation.members:
        jobs = json.loads(member.kubectl("get", "jobs", "-A", "-l", f"{TASK_UID_LABEL}={uid}", "-o", "json").stdout)
        assert jobs["items"] == [], "nothing is dispatched"


def test_cpu_left_out_is_taken_from_the_template(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation, namespace: str
) -> None:
    name = submit(
        hub,
        ctask(unique("derived-cpu"), namespace, {"memory": "1Gi"}, container("main", requests={"cpu": 0.75})),
    )
    pod = dispatched_pod_spec(federation, hub, name, namespace)
    assert_requests_the_reservation(pod, "750m", "1Gi")
    obj = eventually(lambda: succeeded(hub, name, namespace), timeout=JOB_S)
    assert "cpu" not in obj["spec"]["resources"], "the stored spec is the user's; the operator derives"


def test_exponent_quantities_run(
    operator: devenv.OperatorProcess, hub: Cluster, federation: Federation, namespace: str
) -> None:
    name = submit(
        hub,
        ctask(
            unique("exponents"),
            namespace,
            {"cpu": "1e0", "memory": "2e9"},
            container("main", requests={"cpu": "1000e-3", "memory": "2e9"}),
        ),
    )
    pod = dispatched_pod_spec(federation, hub, name, namespace)
    assert pod["containers"][0]["resources"]["requests"] == {"cpu": "1", "memory": "2e9"}
    assert_requests_the_reservation(pod, "1", "2G")
    eventually(lambda: succeeded(hub, name, namespace), timeout=JOB_S)


# ---- every rendered Job is one a member's API server accepts ----

TASK = TaskRef("research", "dry-run", "0b9c2d0e-1111-2222-3333-444455556666")


@pytest.mark.parametrize(
    ("pod", "cpu", "memory", "gpus"),
    [
        pytest.param({"containers": [container("main")]}, "8", "64Gi", 8, id="one container receives everything"),
        pytest.param(
            {"containers": [container("encoder", limits={GPU: "1"}), container("decoder", limits={GPU: "1"})]},
            "4",
            "16Gi",
            2,
            id="case 03",
        ),
        pytest.param(
            {
                "containers": [
                    container("main", requests={"cpu": 0.5, "memory": "512Mi"}, limits={"cpu": 1.5, "memory": "1Gi"})
                ]
            },
            "2",
            "2Gi",
            0,
            id="case 13 A: the rest as pod-level requests",
        ),
        pytest.param(
            {"containers": [container("main", limits={"cpu": 2, "memory": "2Gi"})]}, "2", "2Gi", 0, id="case 13 B"
        ),
        pytest.param(
            {
                "containers": [container("trainer")],
                "initContainers": [{**container("telemetry", limits={GPU: 1}), "restartPolicy": "Always"}],
            },
            "4",
            "8Gi",
            2,
            id="a sidecar holding a GPU",
        ),
        pytest.param(
            {
                "containers": [container("main")],
                "initContainers": [container("fetch", requests={"cpu": 3, "memory": "8Gi"})],
            },
            "4",
            "8Gi",
            0,
            id="an ordinary init container",
        ),
        pytest.param(
            {"containers": [container("a", requests={"cpu": "1"}), container("b"), container("c")]},
            "4",
            "1Gi",
            0,
            id="the remainder to the first container without a request",
        ),
        pytest.param(
            {
                "containers": [container("main", requests={"cpu": "1"})],
                "resources": {"limits": {"cpu": 4, "memory": "4Gi"}},
            },
            "4",
            "4Gi",
            0,
            id="pod-level limits",
        ),
        pytest.param(
            {"containers": [container("main", requests={"cpu": "1e0", "memory": "2e9"}, limits={"memory": 2.5e9})]},
            "1",
            "2e9",
            0,
            id="exponents and a float limit",
        ),
        pytest.param(
            {"containers": [container("main", limits={"rdma/hca": 1, "ephemeral-storage": 1e9})]},
            "1",
            "1Gi",
            0,
            id="resources placement does not reserve pass through",
        ),
    ],
)
def test_rendered_job_passes_a_server_side_dry_run(
    member: Cluster, pod: dict[str, Any], cpu: str, memory: str, gpus: int
) -> None:
    target = Target("member-1", "default", {}, [], GPU if gpus else None, None)
    template = {"spec": {"template": {"spec": pod}}}
    job = render_job(TASK, template, 1, {"cpu": cpu, "memory": memory}, gpus, target, 1, "hub-a")
    assert_requests_the_reservation(job["spec"]["template"]["spec"], cpu, memory, gpus)
    result = member.kubectl("create", "--dry-run=server", "-o", "json", "-f", "-", input=json.dumps(job), check=False)
    assert result.returncode == 0, result.stderr
    stored = json.loads(result.stdout)["spec"]["template"]["spec"]
    assert_requests_the_reservation(stored, cpu, memory, gpus)


def test_kubernetes_refuses_the_quantities_the_contract_refuses(member: Cluster) -> None:
    """``1e3m`` and a GPU request without a limit: refused by validate_task, and by a member too."""
    for resources in ({"requests": {"cpu": "1e3m"}}, {"requests": {GPU: "1"}}):
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "refused", "namespace": "default"},
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{**container("main"), "resources": resources}]}
                }
            },
        }
        result = member.kubectl("create", "--dry-run=server", "-f", "-", input=yaml.safe_dump(job), check=False)
        assert result.returncode != 0, resources
