"""demand_of: a ComputeTask's spec and Job template as placement's Demand, never raising on bad input."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from computenet.api.contract import contract_problems
from computenet.api.data import ComputeDataset
from computenet.api.pool import PlacementPolicy, ScoreWeights
from computenet.api.task import ComputeTaskSpec, DataLocation
from computenet.placement import AcceleratorDemand
from computenet.placement.affinity import NodeAffinity, NodeSelectorRequirement, NodeSelectorTerm
from computenet.placement.devices import ClaimTemplate, DeviceRequest
from computenet.placement.slices import SliceRequest
from computenet.queueing.amounts import request_of
from computenet.tasks.demand import data_of, demand_of, pod_set_demands
from computenet.tasks.record import TaskRecord

VALID_TEMPLATE = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "x"}]}}}}


def record(pod_spec: Any, template: Any = None) -> TaskRecord:
    """Case 05's task shape whose stored template carries `pod_spec` (or is `template`, as it came)."""
    if template is None:
        template = {"spec": {"template": {"spec": pod_spec}}}
    body = {
        "pool": "bug-pool",
        "resources": {"cpu": "2", "memory": "4Gi"},
        "constraints": {"regions": {"preferred": ["cn-east"]}},
        "data": {"region": "cn-east", "size": "2Ti"},
        "template": VALID_TEMPLATE,
    }
    spec = ComputeTaskSpec.model_validate(body)
    return TaskRecord("uid-1", "bug-05", "t", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 1, spec, template)


def pod_requiring(*expressions: Any) -> dict[str, Any]:
    selector = {"nodeSelectorTerms": [{"matchExpressions": list(expressions)}]}
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": selector}}}


ARM64 = {"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}


def test_case_05_affinity_reaches_placement() -> None:
    pod = {**pod_requiring(ARM64), "containers": [{"name": "main", "image": "registry.example/arm-only:1.0"}]}
    demand = demand_of(record(pod), None)
    assert demand.node_affinity == NodeAffinity(
        required=(NodeSelectorTerm((NodeSelectorRequirement("kubernetes.io/arch", "In", ("arm64",)),)),)
    )
    assert demand.node_selector == {}
    assert demand.unevaluated == ()


def test_the_nodeselector_control_and_what_placement_cannot_evaluate() -> None:
    pod = {
        "nodeSelector": {"kubernetes.io/arch": "arm64"},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}],
        "containers": [{"name": "main", "image": "x"}],
    }
    demand = demand_of(record(pod), None)
    assert demand.node_selector == {"kubernetes.io/arch": "arm64"}
    assert demand.unevaluated == ("topologySpreadConstraints",)


@pytest.mark.parametrize(
    "template",
    [
        pytest.param({"spec": {"template": {"spec": {"affinity": "arm64"}}}}, id="affinity is a string"),
        pytest.param(
            {"spec": {"template": {"spec": pod_requiring({"key": "rank", "operator": "Gt", "values": ["x"]})}}},
            id="Gt with a non-integer",
        ),
        pytest.param(
            {"spec": {"template": {"spec": pod_requiring({"key": "a", "operator": "Near", "values": 3})}}},
            id="an unknown operator and values that are no list",
        ),
        pytest.param(
            {"spec": {"template": {"spec": {"tolerations": "all", "nodeSelector": ["a"]}}}},
            id="tolerations and nodeSelector of the wrong shape",
        ),
        pytest.param({"spec": {"template": "pod"}}, id="a template that is not a pod template"),
        pytest.param({"spec": []}, id="a Job spec that is a list"),
    ],
)
def test_bad_templates_never_raise(template: Any) -> None:
    demand = demand_of(record(None, template), None)
    assert demand.uid == "uid-1"


def test_the_pools_weights_reach_placement_affinity_included() -> None:
    policy = PlacementPolicy(weights=ScoreWeights(fit=40, price=30, locality=20, reliability=10, affinity=7))
    weights = demand_of(record({}), policy).weights
    assert (weights.fit, weights.price, weights.locality, weights.reliability) == (40, 30, 20, 10)
    assert weights.affinity == 7.0


def sliced(accelerators: dict[str, Any], limits: dict[str, str] | None = None) -> TaskRecord:
    """A task asking for `accelerators`, its container requesting `limits` (or nothing of its own)."""
    container: dict[str, Any] = {"name": "main", "image": "x"}
    if limits:
        container["resources"] = {"limits": limits}
    template = {"spec": {"template": {"spec": {"containers": [container]}}}}
    body = {"pool": "p", "resources": {"cpu": "1", "memory": "1Gi", "accelerators": accelerators}, "template": template}
    spec = ComputeTaskSpec.model_validate(body)
    return TaskRecord("uid-1", "sliced", "t", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 1, spec, template)


@pytest.mark.parametrize(
    ("accelerators", "limits", "expected"),
    [
        pytest.param({"count": 1, "vendor": "nvidia"}, None, None, id="whole devices by default"),
        pytest.param(
            {"count": 1, "vendor": "nvidia", "sharing": "Exclusive"}, None, None, id="Exclusive is whole devices"
        ),
        pytest.param(
            {"count": 2, "vendor": "nvidia", "partition": "1g.10gb"},
            None,
            SliceRequest(partition="1g.10gb", resource="nvidia.com/mig-1g.10gb"),
            id="a MIG profile is counted in the mixed strategy's resource",
        ),
        pytest.param(
            {"count": 1, "vendor": "nvidia", "partition": "1g.10gb"},
            {"nvidia.com/gpu": "1"},
            SliceRequest(partition="1g.10gb", resource="nvidia.com/gpu"),
            id="unless the template requests nvidia.com/gpu (the single strategy)",
        ),
        pytest.param(
            {"count": 1, "vendor": "nvidia", "sharing": "Shared"},
            None,
            SliceRequest(shared=True, resource="nvidia.com/gpu"),
            id="shared replicas of nvidia.com/gpu",
        ),
        pytest.param(
            {"count": 1, "vendor": "nvidia", "sharing": "Shared"},
            {"nvidia.com/gpu.shared": "1"},
            SliceRequest(shared=True, resource="nvidia.com/gpu.shared"),
            id="or of the renamed resource the template requests",
        ),
    ],
)
def test_slices_reach_placement_with_the_resource_the_pods_request(
    accelerators: dict[str, Any], limits: dict[str, str] | None, expected: SliceRequest | None
) -> None:
    demand = demand_of(sliced(accelerators, limits), None)
    assert demand.accelerators is not None
    assert demand.accelerators.slices == expected


def test_a_slice_count_left_out_is_the_slices_the_template_requests() -> None:
    accelerators = {"vendor": "nvidia", "partition": "1g.10gb"}
    demand = demand_of(sliced(accelerators, {"nvidia.com/mig-1g.10gb": "3", "hygon.com/dcumem": "1"}), None)
    assert demand.accelerators is not None
    assert demand.accelerators.count == 3


@pytest.mark.parametrize(
    ("accelerators", "limits", "problem"),
    [
        pytest.param(
            {"count": 1, "vendor": "huawei", "partition": "4c"},
            None,
            "spec.resources.accelerators.partition",
            id="Ascend vNPUs are named per chip: the template must say which",
        ),
        pytest.param(
            {"count": 1, "vendor": "huawei", "partition": "4c"},
            {"huawei.com/Ascend910-4c": "1"},
            None,
            id="and then it is counted in that one",
        ),
        pytest.param(
            {"count": 1, "sharing": "Shared"},
            None,
            "spec.resources.accelerators.vendor",
            id="replicas of no vendor have no resource",
        ),
    ],
)
def test_a_slice_request_without_a_resource_is_refused_naming_the_field(
    accelerators: dict[str, Any], limits: dict[str, str] | None, problem: str | None
) -> None:
    found = [p.field for p in contract_problems(sliced(accelerators, limits).spec)]
    assert found == ([problem] if problem else [])


@pytest.mark.parametrize(
    ("data", "size_bytes"),
    [
        pytest.param({"region": "cn-east", "size": "2Ti"}, 2 << 40, id="spec.data.size is the data's size"),
        pytest.param(
            {
                "region": "cn-east",
                "inputs": [
                    {"uri": "s3://abc/a", "mountPath": "/a", "size": "1Gi"},
                    {"dataset": "d", "mountPath": "/d", "size": "512Mi"},
                    {"uri": "s3://abc/c", "mountPath": "/c"},
                ],
            },
            (1 << 30) + (512 << 20),
            id="without it, the inputs' sizes add up (an input without a size counts 0)",
        ),
        pytest.param(
            {"region": "cn-east", "size": "1Ti", "inputs": [{"uri": "s3://abc/a", "mountPath": "/a", "size": "1Gi"}]},
            1 << 40,
            id="spec.data.size wins over the inputs",
        ),
    ],
)
def test_the_data_size_placement_weighs(data: dict[str, Any], size_bytes: int) -> None:
    base = record({"containers": [{"name": "main", "image": "x"}]})
    spec = base.spec.model_copy(update={"data": DataLocation.model_validate(data)})
    demand = demand_of(dataclasses.replace(base, spec=spec), None)
    assert demand.data is not None
    assert demand.data.size_bytes == size_bytes


@pytest.mark.parametrize(
    ("data", "staged"),
    [
        pytest.param(None, False, id="no data: nothing to stage"),
        pytest.param({"region": "cn-east", "size": "1Gi"}, False, id="data placed near, not moved"),
        pytest.param({"inputs": [{"uri": "s3://abc/a", "mountPath": "/a"}]}, True, id="an input is staged"),
        pytest.param(
            {"outputs": [{"mountPath": "/out", "uri": "s3://abc/out/"}]}, True, id="an output is pushed by the operator"
        ),
    ],
)
def test_a_task_whose_data_the_operator_moves_is_staged(data: dict[str, Any] | None, staged: bool) -> None:
    base = record({"containers": [{"name": "main", "image": "x"}]})
    located = DataLocation.model_validate(data) if data is not None else None
    spec = base.spec.model_copy(update={"data": located})
    assert demand_of(dataclasses.replace(base, spec=spec), None).staged is staged


def container(cpu: str = "1", memory: str = "1Gi", gpus: int = 0) -> dict[str, Any]:
    limits = {"nvidia.com/gpu": gpus} if gpus else {}
    return {"name": "c", "image": "x", "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": limits}}


def job_template(gpus: int, parallelism: int = 1, **pod: Any) -> dict[str, Any]:
    return {"spec": {"parallelism": parallelism, "template": {"spec": {"containers": [container(gpus=gpus)], **pod}}}}


JOBSET = {
    "apiVersion": "jobset.x-k8s.io/v1alpha2",
    "kind": "JobSet",
    "spec": {
        "replicatedJobs": [
            {"name": "leader", "replicas": 1, "template": job_template(0, nodeSelector={"role": "head"})},
            {"name": "workers", "replicas": 2, "template": job_template(8, parallelism=2)},
        ]
    },
}


@pytest.mark.parametrize(
    ("workload", "expected"),
    [
        pytest.param(
            JOBSET,
            [("leader", 1, 1000, 0, {"role": "head"}), ("workers", 4, 1000, 8, {})],
            id="a JobSet is one pod set per replicated Job, each with its template's requests and nodeSelector",
        ),
        pytest.param(
            {
                "apiVersion": "leaderworkerset.x-k8s.io/v1",
                "kind": "LeaderWorkerSet",
                "spec": {
                    "replicas": 2,
                    "leaderWorkerTemplate": {
                        "size": 3,
                        "leaderTemplate": {"spec": {"containers": [container(cpu="2")]}},
                        "workerTemplate": {"spec": {"containers": [container(gpus=4)]}},
                    },
                },
            },
            [("leader", 2, 2000, 0, {}), ("worker", 4, 1000, 4, {})],
            id="a LeaderWorkerSet's groups give one leader and size - 1 workers each",
        ),
        pytest.param(
            {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [container(gpus=1)]}},
            [("main", 1, 1000, 1, {})],
            id="a Pod is one pod set of one pod",
        ),
        pytest.param(
            {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {}}}},
            [],
            id="a Deployment keeps the one gang of spec.replicas and spec.resources",
        ),
        pytest.param(
            {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "spec": {"replicatedJobs": []}},
            [],
            id="a JobSet that does not read is left to validation",
        ),
    ],
)
def test_a_workload_of_roles_is_one_pod_set_per_role(
    workload: dict[str, Any], expected: list[tuple[str, int, int, int, dict[str, str]]]
) -> None:
    sets = pod_set_demands(workload, AcceleratorDemand(1, "nvidia", ("NVIDIA-H100-80GB-HBM3",)))
    assert [(s.role, s.count, s.cpu, s.devices, dict(s.node_selector)) for s in sets] == expected
    assert all(s.accelerators.models == ("NVIDIA-H100-80GB-HBM3",) for s in sets if s.accelerators)


def test_the_demand_of_a_jobset_task_carries_its_pod_sets_and_quotas_count_them_all() -> None:
    spec = ComputeTaskSpec.model_validate({"pool": "p", "workload": JOBSET})
    task = TaskRecord("u", "ns", "t", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 1, spec, {}, workload=JOBSET)
    demand = demand_of(task, None)
    assert [s.role for s in demand.pod_sets] == ["leader", "workers"]
    assert demand.accelerators is not None
    assert demand.devices == 8, "the task's own devices are its largest role's, so quotas see them"
    assert request_of(demand, "H100") == {"cpu": 5000, "memory": 5 * 1024**3, "H100": 32}


def test_a_workload_task_asks_for_members_serving_its_kind_a_job_for_none() -> None:
    from computenet.tasks.demand import demand_of
    from tasks.builders import record

    job = record()
    assert demand_of(job, None).kind is None, "every member runs Jobs"
    serving = record()
    serving.workload = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {}}
    assert demand_of(serving, None).kind == "apps/v1 Deployment"


GI = 1 << 30


def dataset(name: str, *replicas: tuple[str, str | None], status: list[dict[str, Any]] | None = None) -> ComputeDataset:
    """A ComputeDataset in bug-05 with declared (region, size) replicas and the operator's `status` replicas."""
    return ComputeDataset.model_validate(
        {
            "metadata": {"name": name, "namespace": "bug-05"},
            "spec": {
                "replicas": [
                    {"region": r, "uri": f"s3://{r}-data/{name}/", **({"size": size} if size else {})}
                    for r, size in replicas
                ]
            },
            "status": {"replicas": status or []},
        }
    )


TOKENIZER = dataset(
    "tok",
    ("cn-east", "2Gi"),
    ("cn-west", None),
    status=[
        {"region": "cn-north", "state": "Ready", "uri": "s3://cn-north-data/datasets/tok/", "bytes": 2 * GI},
        {"region": "cn-south", "state": "Staging"},
    ],
)
"""Declared in cn-east and cn-west, staged into cn-north, being staged into cn-south."""


@pytest.mark.parametrize(
    ("data", "pieces"),
    [
        pytest.param(
            {"region": "cn-east", "size": "3Gi"},
            [(3 * GI, ("cn-east",), "spec.data.size")],
            id="without inputs all of spec.data.size sits in spec.data.region",
        ),
        pytest.param(
            {"region": "cn-east", "inputs": [{"dataset": "tok", "mountPath": "/t"}]},
            [(2 * GI, ("cn-east", "cn-west", "cn-north"), "dataset tok")],
            id="a known dataset sits where staging reads it (declared, or staged and Ready), as big as its largest",
        ),
        pytest.param(
            {"inputs": [{"dataset": "tok", "mountPath": "/t", "size": "1Gi"}]},
            [(GI, ("cn-east", "cn-west", "cn-north"), "dataset tok")],
            id="the input's own size wins, and a dataset needs no spec.data.region",
        ),
        pytest.param(
            {
                "region": "cn-east",
                "size": "10Gi",
                "inputs": [
                    {"uri": "s3://abc/a", "mountPath": "/a", "size": "1Gi"},
                    {"dataset": "tok", "mountPath": "/t"},
                    {"dataset": "unknown", "mountPath": "/u", "size": "1Gi"},
                ],
            },
            [
                (GI, ("cn-east",), "input 0"),
                (2 * GI, ("cn-east", "cn-west", "cn-north"), "dataset tok"),
                (GI, ("cn-east",), "dataset unknown"),
                (6 * GI, ("cn-east",), "spec.data.size"),
            ],
            id="uris and unknown datasets sit in spec.data.region, and so does the rest of spec.data.size",
        ),
    ],
)
def test_the_data_is_located_piece_by_piece(
    data: dict[str, Any], pieces: list[tuple[int, tuple[str, ...], str]]
) -> None:
    base = record({"containers": [{"name": "main", "image": "x"}]})
    spec = base.spec.model_copy(update={"data": DataLocation.model_validate(data)})
    located = data_of(dataclasses.replace(base, spec=spec), {("bug-05", "tok"): TOKENIZER})
    assert located is not None
    assert [(p.size_bytes, p.regions, p.name) for p in located.located()] == pieces


def test_a_dataset_of_another_namespace_is_not_the_tasks() -> None:
    base = record({"containers": [{"name": "main", "image": "x"}]})
    data = DataLocation.model_validate({"inputs": [{"dataset": "tok", "mountPath": "/t"}]})
    found = data_of(
        dataclasses.replace(base, spec=base.spec.model_copy(update={"data": data})), {("other", "tok"): TOKENIZER}
    )
    assert found is None


@pytest.mark.parametrize(
    ("template", "caps", "expected"),
    [
        pytest.param(VALID_TEMPLATE, {}, (1.0, None, None), id="weighed against one hour of compute, no caps"),
        pytest.param(
            {"spec": {"activeDeadlineSeconds": 7200, **VALID_TEMPLATE["spec"]}},
            {"maxTransferSeconds": 600, "maxDataCost": 2.5},
            (2.0, 600.0, 2.5),
            id="activeDeadlineSeconds sets the hours, and the caps are carried",
        ),
    ],
)
def test_the_datas_hours_and_caps(
    template: dict[str, Any], caps: dict[str, Any], expected: tuple[float, float | None, float | None]
) -> None:
    base = record(None, template)
    data = DataLocation.model_validate({"region": "cn-east", "size": "1Gi", **caps})
    found = data_of(dataclasses.replace(base, spec=base.spec.model_copy(update={"data": data})))
    assert found is not None
    assert (found.hours, found.max_transfer_seconds, found.max_cost) == expected


def test_the_hubs_templates_its_pods_name_go_with_the_demand_for_placement_to_evaluate() -> None:
    pod = {"resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "hub-gpu"}], "containers": [{"name": "m"}]}
    task = record(pod)
    assert demand_of(task, None).claim_templates == ()
    task.claim_templates = (ClaimTemplate("hub-gpu", (DeviceRequest("gpu", "gpu.example.com"),)),)
    demand = demand_of(task, None)
    assert [c.template for c in demand.claims] == ["hub-gpu"]
    assert demand.claim_templates == task.claim_templates
