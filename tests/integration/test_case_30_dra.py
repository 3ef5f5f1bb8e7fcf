"""Case 30: GPUs published only through DRA are counted, and a task claiming one lands where it is.

Member-1 gets a DeviceClass of a made-up driver, a ResourceSlice with two devices on its CPU-only
node cpu-1, and, in the dispatch namespace, the ResourceClaimTemplates users name: one device, and
three (more than any node has). The hub gets a partition identifier over cpu-0 and cpu-1 and a pool
of just that identifier. No node advertises these devices as an extended resource.

First the member's own kube-scheduler is shown to allocate such a claim (a plain pod); then the
identifier must show the two devices, a task claiming one device must run on cpu-1 with its claim
allocated by the member's scheduler, and a task claiming three must wait saying which devices it
lacks, with nothing dispatched. A template only the hub holds is placed on, travels with the Job
(owned by it, allocated by the member, removed with it), and never overwrites the member's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from computenet.testing import devenv
from computenet.testing.federation import Cluster
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

DRIVER = "gpu.bugs.example"
MODEL = "NVIDIA-H100-80GB-HBM3"
IDENTIFIER = "case-30-m1"
POOL = "case-30"
NAMESPACE = "case-30"
WORK = "case-30-work"
SLICE = "case-30-cpu-1"
CASE_LABEL = "case.computenet.io/pool"
NODE_A, NODE_B = "cpu-0", "cpu-1"
RUN = "sim.computenet.io/run-duration"
BIG_H100 = (
    f'device.attributes["{DRIVER}"].model == "{MODEL}" && '
    f'device.capacity["{DRIVER}"].memory.compareTo(quantity("40Gi")) >= 0'
)
HUGE = f'device.capacity["{DRIVER}"].memory.isGreaterThan(quantity("100Gi"))'


def _template(name: str, count: int, *selectors: str) -> dict[str, Any]:
    request: dict[str, Any] = {"deviceClassName": DRIVER, "allocationMode": "ExactCount", "count": count}
    if selectors:
        request["selectors"] = [{"cel": {"expression": e}} for e in selectors]
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaimTemplate",
        "metadata": {"name": name, "namespace": WORK},
        "spec": {"spec": {"devices": {"requests": [{"name": "gpu", "exactly": request}]}}},
    }


MEMBER_OBJECTS: list[dict[str, Any]] = [
    {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "DeviceClass",
        "metadata": {"name": DRIVER},
        "spec": {"selectors": [{"cel": {"expression": f'device.driver == "{DRIVER}"'}}]},
    },
    {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceSlice",
        "metadata": {"name": SLICE},
        "spec": {
            "driver": DRIVER,
            "nodeName": NODE_B,
            "pool": {"name": NODE_B, "generation": 1, "resourceSliceCount": 1},
            "devices": [
                {
                    "name": f"gpu-{i}",
                    "attributes": {"model": {"string": MODEL}},
                    "capacity": {"memory": {"value": "80Gi"}},
                }
                for i in range(2)
            ],
        },
    },
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": WORK}},
    _template("one-gpu", 1),
    _template("three-gpus", 3),
    _template("big-h100", 1, BIG_H100),
    _template("huge-gpu", 1, HUGE),
]


def _pod_spec(template: str) -> dict[str, Any]:
    return {
        "restartPolicy": "Never",
        "resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": template}],
        "containers": [
            {"name": "main", "image": "registry.example/sim:1.0", "resources": {"claims": [{"name": "gpu"}]}}
        ],
    }


def _task(name: str, template: str, run: str = "10s") -> dict[str, Any]:
    pod = _pod_spec(template)
    del pod["restartPolicy"]  # the Job's rendering sets it
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "pool": POOL,
            "resources": {"cpu": "2", "memory": "4Gi"},
            "template": {"spec": {"template": {"metadata": {"annotations": {RUN: run}}, "spec": pod}}},
        },
    }


def _get(cluster: Cluster, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return result


def _condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c["type"] == type_), {})


def _task_status(hub: Cluster, name: str) -> dict[str, Any]:
    return _get(hub, "computetask", name, "-n", NAMESPACE).get("status") or {}


def _claims(member: Cluster) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _get(member, "resourceclaims", "-n", WORK)["items"]
    return items


@pytest.fixture(scope="module")
def case(operator: devenv.OperatorProcess, hub: Cluster, member: Cluster) -> Iterator[None]:
    devenv.apply(member, *MEMBER_OBJECTS)
    selector = {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [NODE_A, NODE_B]}]}
    devenv.apply(
        hub,
        {
            "apiVersion": "computenet.io/v1alpha1",
            "kind": "ComputeIdentifier",
            "metadata": {"name": IDENTIFIER, "labels": {CASE_LABEL: POOL}},
            "spec": {
                "uri": "cpi://bugs/bugs-east/member-1/case-30",
                "provider": "bugs",
                "region": "bugs-east",
                "computeClass": "ai",
                "architectures": ["amd64"],
                "connection": {
                    "secretRef": {"name": f"{member.name}-kubeconfig", "namespace": devenv.NAMESPACE},
                    "targetNamespace": WORK,
                    "nodeSelector": selector,
                },
            },
        },
        {
            "apiVersion": "computenet.io/v1alpha1",
            "kind": "ComputePool",
            "metadata": {"name": POOL},
            "spec": {"identifierSelector": {"matchLabels": {CASE_LABEL: POOL}}},
        },
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
    )
    try:
        yield
    finally:
        hub.kubectl("delete", "namespace", NAMESPACE, "--wait=true", "--timeout=60s")
        hub.kubectl("delete", "computepool", POOL, "--ignore-not-found")
        hub.kubectl("delete", "computeidentifier", IDENTIFIER, "--ignore-not-found")
        member.kubectl("delete", "namespace", WORK, "--wait=true", "--timeout=60s")
        member.kubectl("delete", "resourceslice", SLICE, "--ignore-not-found")
        member.kubectl("delete", "deviceclass", DRIVER, "--ignore-not-found")


def test_the_members_scheduler_allocates_the_claim_of_a_plain_pod(case: None, member: Cluster) -> None:
    probe = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "namespace": WORK}}
    devenv.apply(member, {**probe, "spec": _pod_spec("one-gpu")})

    def scheduled() -> str:
        pod = _get(member, "pod", "probe", "-n", WORK)
        node: str = pod["spec"].get("nodeName", "")
        return node

    assert eventually(scheduled, timeout=STATE_S) == NODE_B
    (claim,) = _claims(member)
    results = claim["status"]["allocation"]["devices"]["results"]
    assert [(r["driver"], r["pool"]) for r in results] == [(DRIVER, NODE_B)]
    member.kubectl("delete", "pod", "probe", "-n", WORK, "--wait=true")
    eventually(lambda: _claims(member) == [], timeout=STATE_S)


def test_the_identifier_shows_the_two_dra_devices(case: None, hub: Cluster) -> None:
    def counted() -> dict[str, Any]:
        status = _get(hub, "computeidentifier", IDENTIFIER).get("status") or {}
        assert _condition(status, "Ready").get("status") == "True", status.get("conditions")
        assert status.get("accelerators") == {
            MODEL: {"driver": DRIVER, "capacity": 2, "allocatable": 2, "allocated": 0, "free": 2, "largestFreeSlot": 2}
        }, status.get("accelerators")
        return status

    status = eventually(counted, timeout=STATE_S)
    assert status["summary"]["gpus"] == "2/2"
    assert "nvidia.com/gpu" not in status["resources"]["allocatable"]  # no extended resource: DRA only


def test_a_task_claiming_one_device_runs_on_the_node_that_has_it(case: None, hub: Cluster, member: Cluster) -> None:
    devenv.apply(hub, _task("dra-gpu", "one-gpu"))

    def allocated() -> list[dict[str, Any]]:
        claims = [c for c in _claims(member) if (c.get("status") or {}).get("allocation")]
        assert claims, "no allocated claim in the member yet"
        return claims

    (claim,) = eventually(allocated, timeout=JOB_S)
    results = claim["status"]["allocation"]["devices"]["results"]
    assert [(r["driver"], r["pool"]) for r in results] == [(DRIVER, NODE_B)]

    def succeeded() -> dict[str, Any]:
        status = _task_status(hub, "dra-gpu")
        assert status.get("phase") == "Succeeded", (status.get("phase"), status.get("conditions"))
        return status

    status = eventually(succeeded, timeout=JOB_S)
    assert status["placement"]["identifier"] == IDENTIFIER
    assert status["placement"]["nodes"] == [NODE_B]
    assert "not evaluated by placement" not in _condition(status, "Placed")["message"]
    job = _get(member, "job", status["remote"]["name"], "-n", WORK)
    pod = job["spec"]["template"]["spec"]
    assert pod["resourceClaims"] == [{"name": "gpu", "resourceClaimTemplateName": "one-gpu"}]  # kept as written
    pods = _get(member, "pods", "-n", WORK, "-l", f"job-name={status['remote']['name']}")["items"]
    assert {p["spec"]["nodeName"] for p in pods} == {NODE_B}


def test_a_task_claiming_more_devices_than_a_node_has_waits_naming_them(case: None, hub: Cluster) -> None:
    devenv.apply(hub, _task("dra-too-many", "three-gpus"))

    def waiting() -> dict[str, Any]:
        status = _task_status(hub, "dra-too-many")
        placed = _condition(status, "Placed")
        assert placed.get("status") == "False", status.get("conditions")
        assert "insufficient DRA devices (3 gpu.bugs.example devices per replica)" in placed["message"], placed
        return status

    status = eventually(waiting, timeout=STATE_S)
    assert status.get("phase") == "Pending"
    assert not status.get("remote")


def test_a_task_whose_selector_admits_the_devices_runs_with_the_claim_the_member_allocates(
    case: None, hub: Cluster, member: Cluster
) -> None:
    devenv.apply(hub, _task("dra-selected", "big-h100"))

    def allocated() -> dict[str, Any]:
        claims = [
            c
            for c in _claims(member)
            if (c.get("status") or {}).get("allocation")
            and c["spec"]["devices"]["requests"][0]["exactly"].get("selectors")
        ]
        assert claims, "no allocated claim with the selector in the member yet"
        return claims[0]

    claim = eventually(allocated, timeout=JOB_S)
    assert claim["spec"]["devices"]["requests"][0]["exactly"]["selectors"][0]["cel"]["expression"] == BIG_H100
    assert [r["pool"] for r in claim["status"]["allocation"]["devices"]["results"]] == [NODE_B]

    def succeeded() -> dict[str, Any]:
        status = _task_status(hub, "dra-selected")
        assert status.get("phase") == "Succeeded", (status.get("phase"), status.get("conditions"))
        return status

    status = eventually(succeeded, timeout=JOB_S)
    assert status["placement"]["nodes"] == [NODE_B]


def test_a_task_whose_selector_admits_no_device_waits_saying_none_match(case: None, hub: Cluster) -> None:
    devenv.apply(hub, _task("dra-huge", "huge-gpu"))

    def waiting() -> dict[str, Any]:
        status = _task_status(hub, "dra-huge")
        placed = _condition(status, "Placed")
        assert placed.get("status") == "False", status.get("conditions")
        assert "insufficient DRA devices (1 DeviceClass" in placed["message"], placed
        return status

    status = eventually(waiting, timeout=STATE_S)
    assert status.get("phase") == "Pending"
    assert not status.get("remote")


FULL_MEMORY = f'device.capacity["{DRIVER}"].memory.compareTo(quantity("80Gi")) >= 0'


def test_a_template_only_the_hub_holds_travels_with_the_workload_and_goes_with_it(
    case: None, hub: Cluster, member: Cluster
) -> None:
    """kueue#8775: placement evaluates the hub's template, which reaches the member owned by the Job.

    Then a same-named template of the member's own stays as it is, and the task says so.
    """
    name = "hub-only-gpu"
    devenv.apply(hub, {**_template(name, 1, FULL_MEMORY), "metadata": {"name": name, "namespace": NAMESPACE}})

    def in_member() -> dict[str, Any] | None:
        out = member.kubectl("get", "resourceclaimtemplate", name, "-n", WORK, "--ignore-not-found", "-o", "json")
        return json.loads(out.stdout) if out.stdout.strip() else None

    assert in_member() is None
    devenv.apply(hub, _task("dra-hub-template", name, run="300s"))
    try:

        def dispatched() -> dict[str, Any]:
            status = _task_status(hub, "dra-hub-template")
            assert status.get("remote"), (status.get("phase"), status.get("conditions"))
            return status

        status = eventually(dispatched, timeout=JOB_S)
        assert (status["placement"]["identifier"], status["placement"]["nodes"]) == (IDENTIFIER, [NODE_B])
        remote = status["remote"]

        def owned() -> dict[str, Any]:
            copy = in_member()
            assert copy is not None, "the template has not reached the member yet"
            assert copy["metadata"].get("ownerReferences"), copy
            return copy

        copy = eventually(owned, timeout=STATE_S)
        ((owner,),) = [copy["metadata"]["ownerReferences"]]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("Job", remote["name"], remote["uid"])
        assert copy["spec"]["spec"]["devices"]["requests"][0]["exactly"]["selectors"][0]["cel"]["expression"] == (
            FULL_MEMORY
        )

        def allocated() -> dict[str, Any]:
            claims = [
                c
                for c in _claims(member)
                if (c.get("status") or {}).get("allocation")
                and (c["spec"]["devices"]["requests"][0]["exactly"].get("selectors") or [{}])[0]
                .get("cel", {})
                .get("expression")
                == FULL_MEMORY
            ]
            assert claims, "no allocated claim from the hub's template in the member yet"
            return claims[0]

        claim = eventually(allocated, timeout=JOB_S)
        assert [(r["driver"], r["pool"]) for r in claim["status"]["allocation"]["devices"]["results"]] == [
            (DRIVER, NODE_B)
        ]
    finally:
        hub.kubectl("delete", "computetask", "dra-hub-template", "-n", NAMESPACE, "--wait=false")
    # The member's garbage collector removes the copy with the Job.
    eventually(lambda: in_member() is None, timeout=STATE_S)

    # A same-named template of the member's own is never overwritten: the dispatch is refused, naming it.
    devenv.apply(member, _template(name, 2))
    devenv.apply(hub, _task("dra-hub-template-taken", name))
    try:

        def refused() -> dict[str, Any]:
            dispatched = _condition(_task_status(hub, "dra-hub-template-taken"), "Dispatched")
            assert f"ResourceClaimTemplate {WORK}/{name} exists in the member and is not this hub's copy" in (
                dispatched.get("message") or ""
            ), dispatched
            return dispatched

        eventually(refused, timeout=JOB_S)
        kept = in_member()
        assert kept is not None
        assert kept["spec"]["spec"]["devices"]["requests"][0]["exactly"]["count"] == 2
        assert not kept["metadata"].get("ownerReferences")
    finally:
        hub.kubectl("delete", "computetask", "dra-hub-template-taken", "-n", NAMESPACE, "--wait=false")


# ---- KEP-5004: nvidia.com/gpu served by the DRA devices of a class that names it ----

SERVING_CLASS = "case-30-nvidia-gpu"
EXTENDED_CLAIM = "resource.kubernetes.io/extended-resource-claim"


def _gpu_task(name: str, count: int, run: str = "10s") -> dict[str, Any]:
    pod = {"containers": [{"name": "main", "image": "registry.example/sim:1.0"}]}
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "pool": POOL,
            "resources": {"cpu": "2", "memory": "4Gi", "accelerators": {"count": count, "vendor": "nvidia"}},
            "template": {"spec": {"template": {"metadata": {"annotations": {RUN: run}}, "spec": pod}}},
        },
    }


@pytest.fixture(scope="module")
def serving(case: None, member: Cluster) -> Iterator[None]:
    """A second class over the same devices, serving nvidia.com/gpu (DRAExtendedResource, on in 1.36)."""
    devenv.apply(
        member,
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "DeviceClass",
            "metadata": {"name": SERVING_CLASS},
            "spec": {
                "selectors": [{"cel": {"expression": f'device.driver == "{DRIVER}"'}}],
                "extendedResourceName": "nvidia.com/gpu",
            },
        },
    )
    try:
        yield
    finally:
        member.kubectl("delete", "deviceclass", SERVING_CLASS, "--ignore-not-found")


def test_extended_a_plain_gpu_request_runs_on_the_dra_devices_of_the_class_that_serves_it(
    serving: None, hub: Cluster, member: Cluster
) -> None:
    """The task asks for nvidia.com/gpu; only cpu-1's DRA devices serve it there, and the member's scheduler
    allocates one through the extended-resource claim it makes for the pod."""
    devenv.apply(hub, _gpu_task("extended-gpu", 1, run="30s"))

    def allocated() -> tuple[dict[str, Any], dict[str, Any]]:
        claims = {c["metadata"]["name"]: c for c in _claims(member)}
        for pod in _get(member, "pods", "-n", WORK)["items"]:
            named = ((pod.get("status") or {}).get("extendedResourceClaimStatus") or {}).get("resourceClaimName")
            claim = claims.get(named or "")
            if claim is not None and (claim.get("status") or {}).get("allocation"):
                return pod, claim
        raise AssertionError(f"no pod with an allocated extended-resource claim yet: {sorted(claims)}")

    pod, claim = eventually(allocated, timeout=JOB_S)
    assert pod["spec"]["nodeName"] == NODE_B
    assert "nodeSelector" not in pod["spec"]  # cpu-1 carries no product label: held to it by name only
    assert claim["metadata"]["annotations"][EXTENDED_CLAIM] == "true"
    assert claim["spec"]["devices"]["requests"][0]["exactly"]["deviceClassName"] == SERVING_CLASS
    results = claim["status"]["allocation"]["devices"]["results"]
    assert [(r["driver"], r["pool"]) for r in results] == [(DRIVER, NODE_B)]

    def succeeded() -> dict[str, Any]:
        status = _task_status(hub, "extended-gpu")
        assert status.get("phase") == "Succeeded", (status.get("phase"), status.get("conditions"))
        return status

    status = eventually(succeeded, timeout=JOB_S)
    placement = status["placement"]
    assert (placement["nodes"], placement["deviceClass"], placement["acceleratorModel"]) == (
        [NODE_B],
        SERVING_CLASS,
        MODEL,
    )


def test_extended_the_identifier_counts_the_devices_once_and_a_larger_request_waits_saying_why(
    serving: None, hub: Cluster
) -> None:
    status = _get(hub, "computeidentifier", IDENTIFIER)["status"]
    assert status["summary"]["gpus"].endswith("/2")  # the two devices, not also as nvidia.com/gpu
    assert "nvidia.com/gpu" not in status["resources"]["allocatable"]
    devenv.apply(hub, _gpu_task("extended-too-many", 3))

    def waiting() -> dict[str, Any]:
        status = _task_status(hub, "extended-too-many")
        placed = _condition(status, "Placed")
        assert placed.get("status") == "False", status.get("conditions")
        assert "insufficient nvidia.com/gpu in total" in placed["message"], placed
        return status

    status = eventually(waiting, timeout=STATE_S)
    assert status.get("phase") == "Pending"
    assert not status.get("remote")
    rejection = next(r for r in status["explanation"]["rejected"] if r["identifier"] == IDENTIFIER)
    assert rejection["message"].endswith(
        f"nvidia.com/gpu ({MODEL}) free in total on 1 suitable node, the task needs 3; "
        f"nvidia.com/gpu is served by DRA devices of DeviceClass {SERVING_CLASS} on 1 node"
    )
