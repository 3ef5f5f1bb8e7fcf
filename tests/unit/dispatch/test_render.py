from __future__ import annotations

from typing import Any

import pytest

from computenet.api.constants import ATTEMPT_LABEL, HUB_LABEL, TASK_UID_LABEL
from computenet.api.problems import ContractError
from computenet.dispatch.jobs import job_facts
from computenet.dispatch.naming import job_name
from computenet.dispatch.render import Target, TaskRef, render_job
from computenet.podresources import pod_requests
from computenet.quantity import cpu_millis, to_int_units

TASK = TaskRef("research", "train-llama", "0b9c2d0e-1111-2222-3333-444455556666")
TEMPLATE = {
    "metadata": {"labels": {"team": "nlp"}},
    "spec": {
        "backoffLimit": 2,
        "template": {
            "metadata": {"annotations": {"a": "b"}},
            "spec": {"containers": [{"name": "main", "image": "trainer:1", "command": ["train"]}]},
        },
    },
}
TARGET = Target(
    identifier="member-1-h100",
    namespace="computenet-workloads",
    match_labels={"node-group": "h100"},
    match_expressions=[("kubernetes.io/arch", "In", ["amd64"])],
    accelerator_resource="nvidia.com/gpu",
    accelerator_model="NVIDIA-H100-80GB-HBM3",
)


def _render(replicas: int = 1, attempt: int = 1) -> dict:
    return render_job(TASK, TEMPLATE, replicas, {"cpu": "8", "memory": "64Gi"}, 8, TARGET, attempt, "hub-a")


def test_name_is_deterministic_per_task_and_attempt() -> None:
    assert _render()["metadata"]["name"] == _render()["metadata"]["name"]
    assert _render(attempt=1)["metadata"]["name"] != _render(attempt=2)["metadata"]["name"]
    assert job_name("x" * 100, TASK.uid, 12).endswith("-12")
    assert len(job_name("x" * 100, TASK.uid, 12)) <= 63


def test_job_carries_origin_labels_on_itself_and_its_pods() -> None:
    job = _render()
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        assert labels[TASK_UID_LABEL] == TASK.uid
        assert labels[ATTEMPT_LABEL] == "1"
        assert labels[HUB_LABEL] == "hub-a"
    assert job["metadata"]["labels"]["team"] == "nlp"
    assert job["metadata"]["annotations"]["computenet.io/origin"] == "research/train-llama"


def test_exactly_the_requested_resources_and_placement_pins() -> None:
    pod = _render()["spec"]["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "8"}
    assert resources["limits"] == {"nvidia.com/gpu": "8"}
    assert pod["nodeSelector"] == {"node-group": "h100", "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}]
    assert pod["containers"][0]["command"] == ["train"]


@pytest.mark.parametrize(("replicas", "mode"), [(1, None), (4, "Indexed")])
def test_gang_becomes_parallelism_and_completions(replicas: int, mode: str | None) -> None:
    spec = _render(replicas)["spec"]
    assert (spec["parallelism"], spec["completions"]) == (replicas, replicas)
    assert spec.get("completionMode") == mode
    assert spec["backoffLimit"] == 2


def test_template_is_not_modified() -> None:
    _render()
    assert "resources" not in TEMPLATE["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        pytest.param({}, "Pending", id="no status yet"),
        pytest.param({"active": 1, "ready": 1, "startTime": "2026-01-01T00:00:00Z"}, "Running", id="ready pod"),
        pytest.param(
            {
                "conditions": [{"type": "Complete", "status": "True"}],
                "completionTime": "2026-01-01T00:01:00Z",
            },
            "Succeeded",
            id="complete",
        ),
        pytest.param(
            {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "x"}]},
            "Failed",
            id="failed",
        ),
    ],
)
def test_job_phase_follows_conditions(status: dict, phase: str) -> None:
    job = _render()
    job["metadata"]["uid"] = "u"
    job["status"] = status
    facts = job_facts(job)
    assert facts is not None
    assert facts.phase == phase
    assert facts.attempt == 1
    if phase == "Failed":
        assert facts.message == "BackoffLimitExceeded: x"


# ---- the resource contract: what is dispatched is what was placed ----

GPU = "nvidia.com/gpu"
POD = "spec.template.spec.template.spec"


def ctr(name: str, requests: dict | None = None, limits: dict | None = None, *, sidecar: bool = False) -> dict:
    """A container with the given requests and limits (as a user writes them, numbers allowed)."""
    container: dict[str, Any] = {"name": name, "image": f"{name}:1"}
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v is not None}
    if resources:
        container["resources"] = resources
    if sidecar:
        container["restartPolicy"] = "Always"
    return container


def pod_spec(*containers: dict, init: tuple[dict, ...] = (), **extra: Any) -> dict:
    spec: dict[str, Any] = {"containers": list(containers), **extra}
    if init:
        spec["initContainers"] = list(init)
    return spec


def reserve(cpu: str, memory: str, gpus: int = 0, resource: str | None = GPU) -> tuple[dict[str, str], int, Target]:
    target = Target("member-1", "computenet-workloads", {}, [], resource if gpus else None, None)
    return {"cpu": cpu, "memory": memory}, gpus, target


def render_pod(spec: dict, cpu: str, memory: str, gpus: int = 0) -> dict:
    requests, count, target = reserve(cpu, memory, gpus)
    template = {"spec": {"template": {"spec": spec}}}
    job = render_job(TASK, template, 1, requests, count, target, 1, "hub-a")
    return job["spec"]["template"]["spec"]


def resources(container: dict) -> dict:
    return container.get("resources") or {}


CONTRACT = [
    pytest.param(
        pod_spec(ctr("main")),
        ("8", "64Gi", 8),
        [{"requests": {"cpu": "8", "memory": "64Gi", GPU: "8"}, "limits": {GPU: "8"}}],
        None,
        id="a container without requests receives the whole reservation, GPUs as request and limit",
    ),
    pytest.param(
        pod_spec(ctr("encoder", limits={GPU: "1"}), ctr("decoder", limits={GPU: "1"})),
        ("4", "16Gi", 2),
        [
            {"requests": {"cpu": "4", "memory": "16Gi", GPU: "1"}, "limits": {GPU: "1"}},
            {"requests": {GPU: "1"}, "limits": {GPU: "1"}},
        ],
        None,
        id="case 03: two containers with 1 GPU each carry a 2-GPU reservation without a third",
    ),
    pytest.param(
        pod_spec(ctr("a", requests={"cpu": "1"}), ctr("b"), ctr("c")),
        ("4", "1Gi", 0),
        [{"requests": {"cpu": "1", "memory": "1Gi"}}, {"requests": {"cpu": "3"}}, {}],
        None,
        id="the remainder goes to the first container that states none, later ones get nothing",
    ),
    pytest.param(
        pod_spec(ctr("a", requests={"cpu": "2", "memory": "1Gi"}), ctr("b", requests={"cpu": "2", "memory": "1Gi"})),
        ("4", "2Gi", 0),
        [{"requests": {"cpu": "2", "memory": "1Gi"}}, {"requests": {"cpu": "2", "memory": "1Gi"}}],
        None,
        id="requests that add up to the reservation are kept and nothing is added on top",
    ),
    pytest.param(
        pod_spec(ctr("main", requests={"cpu": 0.5, "memory": "512Mi"}, limits={"cpu": 1.5, "memory": "1Gi"})),
        ("2", "2Gi", 0),
        [{"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1500m", "memory": "1Gi"}}],
        {"requests": {"cpu": "2", "memory": "2Gi"}},
        id="case 13 A: float requests are read exactly and the rest becomes the pod-level request",
    ),
    pytest.param(
        pod_spec(ctr("main", limits={"cpu": 2, "memory": "2Gi"})),
        ("2", "2Gi", 0),
        [{"limits": {"cpu": "2", "memory": "2Gi"}}],
        None,
        id="case 13 B: int limits equal to the reservation become strings and request it by defaulting",
    ),
    pytest.param(
        pod_spec(ctr("main"), init=(ctr("telemetry", limits={GPU: 1}, sidecar=True),)),
        ("4", "8Gi", 2),
        [{"requests": {"cpu": "4", "memory": "8Gi", GPU: "1"}, "limits": {GPU: "1"}}],
        None,
        id="a sidecar's GPU counts beside the main container's, which receives the rest",
    ),
    pytest.param(
        pod_spec(ctr("main"), init=(ctr("fetch", requests={"cpu": "3", "memory": "8Gi"}),)),
        ("4", "8Gi", 0),
        [{"requests": {"cpu": "4"}}],
        None,
        id="an ordinary init container runs alone: the main container still receives the whole cpu",
    ),
    pytest.param(
        pod_spec(ctr("main"), overhead={"cpu": "250m", "memory": "64Mi"}),
        ("4", "8Gi", 0),
        [{"requests": {"cpu": "3750m", "memory": "8128Mi"}}],
        None,
        id="pod overhead is part of the reservation, not added on top of it",
    ),
    pytest.param(
        pod_spec(ctr("a", requests={"cpu": "1"}), resources={"requests": {"cpu": 4, "memory": "1Gi"}}),
        ("4", "1Gi", 0),
        [{"requests": {"cpu": "1"}}],
        {"requests": {"cpu": "4", "memory": "1Gi"}},
        id="pod-level requests equal to the reservation are kept",
    ),
    pytest.param(
        pod_spec(ctr("main", limits={"rdma/hca": 1})),
        ("1", "1Gi", 0),
        [{"requests": {"cpu": "1", "memory": "1Gi", "rdma/hca": "1"}, "limits": {"rdma/hca": "1"}}],
        None,
        id="an extended resource placement does not reserve passes through, its limit requested",
    ),
    pytest.param(
        pod_spec(ctr("main", requests={"cpu": "1e0", "memory": "2e9"}, limits={"memory": "2.5Gi"})),
        ("1", "2G", 0),
        [{"requests": {"cpu": "1", "memory": "2e9"}, "limits": {"memory": "2560Mi"}}],
        None,
        id="quantities come out canonical: 1e0 is 1, 2e9 stays an exponent, 2.5Gi is 2560Mi",
    ),
]


@pytest.mark.parametrize(("spec", "reservation", "containers", "pod_level"), CONTRACT)
def test_contract_lands_the_reservation(
    spec: dict, reservation: tuple[str, str, int], containers: list[dict], pod_level: dict | None
) -> None:
    pod = render_pod(spec, *reservation)
    assert [resources(c) for c in pod["containers"]] == containers
    assert pod.get("resources") == pod_level


@pytest.mark.parametrize(("spec", "reservation", "containers", "pod_level"), CONTRACT)
def test_effective_request_of_every_rendered_pod_is_the_reservation(
    spec: dict, reservation: tuple[str, str, int], containers: list[dict], pod_level: dict | None
) -> None:
    cpu, memory, gpus = reservation
    effective = pod_requests(render_pod(spec, cpu, memory, gpus))
    assert effective["cpu"] == cpu_millis(cpu)
    assert effective["memory"] == to_int_units(memory)
    assert effective.get(GPU, 0) == gpus


@pytest.mark.parametrize(("spec", "reservation", "containers", "pod_level"), CONTRACT)
def test_every_rendered_quantity_is_a_string(
    spec: dict, reservation: tuple[str, str, int], containers: list[dict], pod_level: dict | None
) -> None:
    pod = render_pod(spec, *reservation)
    lists = [
        resources(c).get(s) for c in pod["containers"] + pod.get("initContainers", []) for s in ("requests", "limits")
    ]
    lists += [pod.get("overhead"), *((pod.get("resources") or {}).get(s) for s in ("requests", "limits"))]
    values = [value for mapping in lists if mapping for value in mapping.values()]
    assert values, "every row renders some quantity"
    assert all(isinstance(value, str) for value in values), values


BROKEN = [
    pytest.param(
        pod_spec(ctr("a", requests={"cpu": "2"}), ctr("b", requests={"cpu": "3"})),
        ("4", "1Gi", 0),
        f"{POD}.containers[1].resources.requests.cpu",
        "more than the 4 reserved",
        id="requests above the reservation name the container that goes over",
    ),
    pytest.param(
        pod_spec(ctr("a", limits={GPU: 2}), ctr("b", limits={GPU: 1})),
        ("4", "1Gi", 2),
        f"{POD}.containers[1].resources.limits.nvidia.com/gpu",
        "spec.resources.accelerators.count",
        id="GPU limits above the reserved count name the container",
    ),
    pytest.param(
        pod_spec(ctr("main"), init=(ctr("fetch", requests={"memory": "4Gi"}),)),
        ("1", "2Gi", 0),
        f"{POD}.initContainers[0].resources.requests.memory",
        "more than the 2Gi reserved",
        id="an init container alone above the reservation is named",
    ),
    pytest.param(
        pod_spec(ctr("a", limits={GPU: 1}), ctr("b", limits={GPU: 0})),
        ("1", "1Gi", 2),
        f"{POD}.containers",
        "every container states its own",
        id="fewer GPUs than reserved and no container to receive the rest",
    ),
    pytest.param(
        pod_spec(ctr("main", requests={GPU: 1})),
        ("1", "1Gi", 1),
        f"{POD}.containers[0].resources.requests.nvidia.com/gpu",
        "set limits.nvidia.com/gpu",
        id="an extended resource requested without a limit",
    ),
    pytest.param(
        pod_spec(ctr("main", requests={GPU: 1}, limits={GPU: 2})),
        ("1", "1Gi", 2),
        f"{POD}.containers[0].resources.limits.nvidia.com/gpu",
        "must equal requests",
        id="an extended resource whose request differs from its limit",
    ),
    pytest.param(
        pod_spec(ctr("main", limits={GPU: 0.5})),
        ("1", "1Gi", 1),
        f"{POD}.containers[0].resources.limits.nvidia.com/gpu",
        "whole number",
        id="half a GPU",
    ),
    pytest.param(
        pod_spec(ctr("main", requests={"cpu": "2"}, limits={"cpu": "1"})),
        ("2", "1Gi", 0),
        f"{POD}.containers[0].resources.requests.cpu",
        "more than limits.cpu",
        id="a request above its own limit",
    ),
    pytest.param(
        pod_spec(ctr("main", requests={"memory": "-1Gi"})),
        ("1", "1Gi", 0),
        f"{POD}.containers[0].resources.requests.memory",
        "negative",
        id="a negative quantity",
    ),
    pytest.param(
        pod_spec(ctr("main", requests={"cpu": "1e3m"})),
        ("1", "1Gi", 0),
        f"{POD}.containers[0].resources.requests.cpu",
        "not a Kubernetes quantity",
        id="an exponent with a suffix (1e3m) is no quantity, to Kubernetes either",
    ),
    pytest.param(
        pod_spec(ctr("main", limits={"amd.com/gpu": 1})),
        ("1", "1Gi", 1),
        f"{POD}.containers[0].resources.limits.amd.com/gpu",
        "does not reserve",
        id="another vendor's accelerator is reserved at zero",
    ),
    pytest.param(
        pod_spec(ctr("main", requests={"cpu": "1"}), resources={"limits": {"cpu": "2"}}),
        ("4", "1Gi", 0),
        f"{POD}.resources.limits.cpu",
        "below the 4 reserved",
        id="a pod-level limit below the reservation",
    ),
    pytest.param(
        pod_spec(ctr("main"), resources={"requests": {"memory": "1Gi"}}),
        ("1", "2Gi", 0),
        f"{POD}.resources.requests.memory",
        "less than the 2Gi reserved",
        id="a pod-level request below the reservation",
    ),
]


@pytest.mark.parametrize(("spec", "reservation", "field", "message"), BROKEN)
def test_contract_refuses_what_cannot_carry_the_reservation(
    spec: dict, reservation: tuple[str, str, int], field: str, message: str
) -> None:
    with pytest.raises(ContractError) as error:
        render_pod(spec, *reservation)
    assert any(p.field == field and message in p.message for p in error.value.problems), error.value.problems


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        # The "alternate" -> "expect" pairs of TestQuantityString (k8s.io/apimachinery v0.36.3,
        # pkg/api/resource/quantity_test.go): what Kubernetes stores for what a user wrote.
        pytest.param("1024Mi", "1Gi", id="1024Mi is 1Gi"),
        pytest.param("307200Ki", "300Mi", id="307200Ki is 300Mi"),
        pytest.param("1025024Mi", "1001Gi", id="1025024Mi is 1001Gi"),
        pytest.param("1024Gi", "1Ti", id="1024Gi is 1Ti"),
        pytest.param("5000m", "5", id="5000m is 5"),
        pytest.param("0.5", "500m", id="0.5 is 500m"),
        pytest.param("1000M", "1G", id="1000M is 1G"),
        pytest.param("0.001T", "1G", id="0.001T is 1G"),
        pytest.param("1000u", "1m", id="1000u is 1m"),
        pytest.param("1.08", "1080m", id="1.08 is 1080m"),
        pytest.param("1080000000n", "1080m", id="1080000000n is 1080m"),
        pytest.param(".001e12", "1e9", id=".001e12 is 1e9"),
        pytest.param("0.001e0", "1e-3", id="0.001e0 is 1e-3"),
        pytest.param("1000e-12", "1e-9", id="1000e-12 is 1e-9"),
        pytest.param("00", "0", id="00 is 0"),
        # YAML numbers, as the hub stores them in a template.
        pytest.param(0.5, "500m", id="the YAML number 0.5 is 500m"),
        pytest.param(2, "2", id="the YAML number 2 is 2"),
        pytest.param(0.1, "100m", id="the YAML number 0.1 is exactly 100m"),
    ],
)
def test_rendered_quantities_are_what_kubernetes_stores(written: object, canonical: str) -> None:
    pod = render_pod(pod_spec(ctr("main"), ctr("scratch", limits={"ephemeral-storage": written})), "1", "1Gi")
    assert pod["containers"][1]["resources"] == {"limits": {"ephemeral-storage": canonical}}


def _pinned(node: str, **term: Any) -> dict[str, Any]:
    fields = [*term.pop("matchFields", []), {"key": "metadata.name", "operator": "In", "values": [node]}]
    return {**term, "matchFields": fields}


@pytest.mark.parametrize(
    ("template_terms", "expected"),
    [
        pytest.param(
            None,
            [_pinned("h100-0"), _pinned("h100-3")],
            id="the pods are held to the nodes placement counted on, one node per term",
        ),
        pytest.param(
            [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
                {"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["h100-9"]}]},
            ],
            [
                _pinned("h100-0", matchExpressions=[{"key": "zone", "operator": "In", "values": ["a"]}]),
                _pinned("h100-3", matchExpressions=[{"key": "zone", "operator": "In", "values": ["a"]}]),
                _pinned("h100-0", matchFields=[{"key": "metadata.name", "operator": "NotIn", "values": ["h100-9"]}]),
                _pinned("h100-3", matchFields=[{"key": "metadata.name", "operator": "NotIn", "values": ["h100-9"]}]),
            ],
            id="every ORed term of the template's own affinity is narrowed to each of those nodes",
        ),
    ],
)
def test_placement_nodes_pin_the_pods(template_terms: list[dict[str, Any]] | None, expected: list[Any]) -> None:
    template: dict[str, Any] = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "x"}]}}}}
    if template_terms is not None:
        template["spec"]["template"]["spec"]["affinity"] = {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": template_terms}}
        }
    target = Target("member-1", "computenet-workloads", {}, [], None, None, nodes=("h100-0", "h100-3"))
    job = render_job(TASK, template, 2, {"cpu": "1", "memory": "1Gi"}, 0, target, 1, "hub-a")
    pod = job["spec"]["template"]["spec"]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == expected
    for term in terms:  # what core/v1 validation asks of a node field selector
        assert all(len(r["values"]) == 1 for r in term["matchFields"] if r["operator"] in ("In", "NotIn"))
