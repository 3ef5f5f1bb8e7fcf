"""The API models: samples parse, defaults apply, bad specs become Problems, status dumps as a patch."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from computenet.api import (
    ComputeIdentifier,
    ComputeIdentifierStatus,
    ComputePool,
    ComputeTask,
    ComputeTaskSpec,
    ComputeTaskStatus,
    Condition,
    Placement,
    Problem,
    validate_identifier,
    validate_pool,
    validate_task,
)
from computenet.api.common import AcceleratorAmounts
from computenet.api.constants import (
    API_VERSION,
    GROUP,
    KINDS,
    VERSION,
    ConditionStatus,
    ConditionType,
    FailoverPolicy,
    Phase,
)
from computenet.api.contract import ContractError, resolve_resources
from computenet.api.crd import KINDS as CRD_KINDS
from computenet.api.crd import crd
from computenet.api.data import ComputeDataset
from computenet.api.pool import PlacementPolicy
from computenet.api.validation import summarize
from computenet.api.workload_kind import ComputeWorkloadKind, declared_kind
from computenet.tasks.demand import demand_of
from computenet.tasks.record import TaskRecord
from computenet.workloads.kinds import declare, withdraw

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples").rglob("*.yaml"))
MODELS: dict[str, type[ComputeDataset | ComputeIdentifier | ComputePool | ComputeTask | ComputeWorkloadKind]] = {
    "ComputeDataset": ComputeDataset,
    "ComputeIdentifier": ComputeIdentifier,
    "ComputePool": ComputePool,
    "ComputeTask": ComputeTask,
    "ComputeWorkloadKind": ComputeWorkloadKind,
}
VALIDATORS: dict[str, Callable[[Any], list[Problem]]] = {
    "ComputeDataset": lambda spec: [],  # a dataset's rules are its model's and the API server's alone
    "ComputeIdentifier": validate_identifier,
    "ComputePool": validate_pool,
    "ComputeTask": validate_task,
    "ComputeWorkloadKind": lambda spec: declared_kind(spec)[1],
}


@pytest.fixture
def sample_kinds() -> Iterator[None]:
    """The kinds the samples' ComputeWorkloadKinds declare, declared for the test (as the operator would)."""
    kinds = []
    for path in SAMPLES:
        document = yaml.safe_load(path.read_text())
        if document["kind"] == "ComputeWorkloadKind":
            kind, problems = declared_kind(document["spec"])
            assert kind is not None, problems
            declare(kind)
            kinds.append(kind)
    yield
    for kind in kinds:
        withdraw(kind.api_version, kind.kind)


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "samples" / name).read_text())
    assert isinstance(document, dict)
    return document


def all_samples() -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in SAMPLES]


@pytest.mark.parametrize("path", SAMPLES, ids=[str(path.relative_to(ROOT)) for path in SAMPLES])
@pytest.mark.usefixtures("sample_kinds")
def test_sample_is_valid(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    assert document["apiVersion"] == API_VERSION
    model = MODELS[document["kind"]].model_validate(document)
    assert model.metadata.name == document["metadata"]["name"]
    assert VALIDATORS[document["kind"]](document["spec"]) == []


@pytest.mark.usefixtures("sample_kinds")
def test_samples_cover_what_tests_and_readme_need() -> None:
    samples = all_samples()
    identifiers = [ComputeIdentifier.model_validate(s) for s in samples if s["kind"] == "ComputeIdentifier"]
    tasks = [ComputeTask.model_validate(s) for s in samples if s["kind"] == "ComputeTask"]
    secrets = {(i.spec.connection.secret_ref.namespace, i.spec.connection.secret_ref.name) for i in identifiers}
    assert {
        ("computenet-system", "member-1-kubeconfig"),
        ("computenet-system", "member-2-kubeconfig"),
    } <= secrets
    assert all(i.spec.connection.secret_ref.key == "kubeconfig" for i in identifiers)
    assert any(s["kind"] == "ComputePool" for s in samples)
    assert any(t.spec.resources.accelerators and t.spec.replicas == 1 and not t.spec.suspend for t in tasks)
    assert any(t.spec.resources.accelerators and t.spec.replicas > 1 for t in tasks), "a gang task"
    assert any(t.spec.suspend for t in tasks), "a suspended task asking for offers"
    assert any(t.spec.workload is not None and t.spec.workload.kind == "Deployment" for t in tasks), "a serving task"
    assert any(t.spec.workload is not None and t.spec.workload.kind == "JobSet" for t in tasks), "a JobSet"


def test_pool_sample_selects_the_identifier_samples() -> None:
    pool = ComputePool.model_validate(load("pool.yaml"))
    (requirement,) = pool.spec.identifier_selector.match_expressions or []
    for name in ("identifier-member-1.yaml", "identifier-member-2.yaml"):
        labels = ComputeIdentifier.model_validate(load(name)).metadata.labels
        assert labels[requirement.key] in (requirement.values or [])


def test_dump_round_trips_and_keeps_template_pass_through_fields() -> None:
    document = load("task-gang.yaml")
    spec = ComputeTaskSpec.model_validate(document["spec"])
    dumped = spec.model_dump(exclude_none=True)
    assert ComputeTaskSpec.model_validate(dumped) == spec
    job = dumped["template"]["spec"]
    assert job["completionMode"] == "Indexed"
    container = job["template"]["spec"]["containers"][0]
    assert container["command"][0] == "torchrun"
    assert container["resources"] == {"limits": {"nvidia.com/gpu": "8"}}, "template quantities read as strings"
    assert dumped["resources"]["accelerators"]["minMemory"] == "80Gi"


def test_template_metadata_passes_unknown_fields_through() -> None:
    spec = _set(load("task-gpu.yaml")["spec"], "template.metadata", {"creationTimestamp": None, "labels": {"a": "b"}})
    assert validate_task(spec) == []
    dumped = ComputeTaskSpec.model_validate(spec).model_dump(exclude_none=True)
    assert dumped["template"]["metadata"] == {"labels": {"a": "b"}}, "null fields are dropped, labels kept"


def test_task_defaults() -> None:
    spec = ComputeTaskSpec.model_validate(
        {
            "resources": {"cpu": 1, "memory": "1Gi"},
            "template": {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "b"}]}}}},
        }
    )
    assert (spec.pool, spec.replicas, spec.priority, spec.suspend) == ("default", 1, 0, False)
    assert spec.failover.policy == FailoverPolicy.REQUEUE
    assert spec.failover.grace_period_seconds == 300
    assert spec.template.spec.template.spec.restart_policy == "Never"
    assert spec.resources.cpu == "1", "an int quantity is kept as its string"


def test_identifier_defaults() -> None:
    spec = ComputeIdentifier.model_validate(load("identifier-member-2.yaml")).spec
    assert spec.connection.secret_ref.key == "kubeconfig"
    assert spec.connection.target_namespace == "computenet-workloads"
    assert spec.zone is None
    bare = copy.deepcopy(load("identifier-member-2.yaml")["spec"])
    del bare["architectures"], bare["computeClass"]
    parsed = ComputeIdentifier.model_validate({"spec": bare}).spec
    assert parsed.architectures == ["amd64"]
    assert parsed.compute_class == "general"


def test_pool_defaults() -> None:
    pool = ComputePool.model_validate({"spec": {"identifierSelector": {"matchLabels": {"a": "b"}}}})
    weights = pool.spec.placement.weights
    assert pool.spec.placement.strategy == "Binpack"
    assert (weights.fit, weights.price, weights.locality, weights.reliability) == (40, 30, 20, 10)
    assert weights.affinity == 25


@pytest.mark.parametrize(
    ("weights", "affinity"),
    [
        pytest.param({}, 25.0, id="preferred node affinity weighs 25 by default"),
        pytest.param({"affinity": 70}, 70.0, id="a pool's affinity weight reaches placement"),
        pytest.param({"affinity": 0}, 0.0, id="affinity weight 0 switches preferences off"),
    ],
)
def test_pool_affinity_weight_reaches_placement(weights: dict[str, int], affinity: float) -> None:
    policy = PlacementPolicy.model_validate({"weights": weights})
    document = load("task-gpu.yaml")["spec"]
    spec = ComputeTaskSpec.model_validate(document)
    created = datetime(2026, 1, 1, tzinfo=UTC)
    demand = demand_of(TaskRecord("uid", "ns", "t", created, 1, spec, document["template"]), policy)
    assert demand.weights.affinity == affinity
    assert (demand.weights.fit, demand.weights.price) == (policy.weights.fit, policy.weights.price)


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of document with the dotted path set (or deleted, for value DELETE)."""
    result = copy.deepcopy(document)
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return result


DELETE = object()
CONTAINERS = "template.spec.template.spec.containers"


@pytest.mark.parametrize(
    ("sample", "path", "value", "field", "message"),
    [
        pytest.param("task-gpu.yaml", "replicas", 0, "spec.replicas", "greater than or equal to 1", id="zero replicas"),
        pytest.param(
            "task-gpu.yaml",
            "replicas",
            10_001,
            "spec.replicas",
            "less than or equal to 10000",
            id="absurd replicas",
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.accelerators.count",
            1.5,
            "spec.resources.accelerators.count",
            "integer",
            id="fractional GPU",
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.accelerators.count",
            0,
            "spec.resources.accelerators.count",
            "greater than or equal to 1",
            id="zero GPUs",
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.cpu",
            "lots",
            "spec.resources.cpu",
            "Kubernetes quantity",
            id="malformed cpu",
        ),
        pytest.param("task-gpu.yaml", "resources.cpu", "0", "spec.resources.cpu", "greater than 0", id="zero cpu"),
        pytest.param("task-gpu.yaml", "resources.cpu", -2, "spec.resources.cpu", "greater than 0", id="negative cpu"),
        pytest.param(
            "task-gpu.yaml",
            "resources.cpu",
            True,
            "spec.resources.cpu",
            "a quantity is a string or a number, not bool",
            id="cpu a boolean",
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.cpu",
            {"a": 1},
            "spec.resources.cpu",
            "a quantity is a string or a number, not dict",
            id="cpu a map",
        ),
        pytest.param(
            "task-gpu.yaml", "resources.cpu", "5000", "spec.resources.cpu", "at most 4096", id="absurd cpu string"
        ),
        pytest.param(
            "task-gpu.yaml",
            "resources.memory",
            "1Ei",
            "spec.resources.memory",
            "at most 64Ti",
            id="absurd memory",
        ),
        pytest.param("task-gpu.yaml", "data.size", "1e30", "spec.data.size", "at most 100Pi", id="absurd data size"),
        pytest.param(
            "task-gpu.yaml",
            "resources.accelerators.vendor",
            "nvida",
            "spec.resources.accelerators.vendor",
            "'nvidia'",
            id="unknown vendor",
        ),
        pytest.param(
            "task-gang.yaml",
            "constraints.regions.forbidden",
            ["cn-west"],
            "spec.constraints.regions.forbidden",
            "both required and forbidden",
            id="region required and forbidden",
        ),
        pytest.param(
            "task-gang.yaml",
            "constraints.providers.allowed",
            ["untrusted-cloud"],
            "spec.constraints.providers.denied",
            "both allowed and denied",
            id="provider allowed and denied",
        ),
        pytest.param(
            "task-offers.yaml",
            "data.region",
            DELETE,
            "spec.constraints.maxLatencyMs",
            "set spec.data.region",
            id="latency without data region",
        ),
        pytest.param(
            "task-gang.yaml",
            "constraints.regions.required",
            ["cn-east", "cn-east"],
            "spec.constraints.regions.required",
            "duplicate",
            id="duplicate region",
        ),
        pytest.param("task-gpu.yaml", CONTAINERS, [], f"spec.{CONTAINERS}", "at least 1", id="no containers"),
        pytest.param(
            "task-gpu.yaml",
            f"{CONTAINERS}.0.image",
            DELETE,
            f"spec.{CONTAINERS}[0].image",
            "required",
            id="no image",
        ),
        pytest.param(
            "task-gpu.yaml",
            "template.metadata",
            {"labels": {"computenet.io/task-uid": "x"}},
            "spec.template.metadata.labels",
            "reserved",
            id="reserved label",
        ),
        pytest.param("task-gpu.yaml", "replica", 3, "spec.replica", "not a field", id="misspelt field"),
        pytest.param(
            "identifier-member-1.yaml",
            "uri",
            "https://acme/cn-east/member-1",
            "spec.uri",
            "must start with",
            id="malformed URI",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "provider",
            "other",
            "spec.uri",
            "provider segment",
            id="provider disagrees with URI",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "uri",
            "cpi://acme/cn-east/member-1/gpus",
            "spec.connection",
            "nodeSelector",
            id="partition without node selector",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "connection.secretRef.name",
            DELETE,
            "spec.connection.secretRef.name",
            "required",
            id="secret without name",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "connection.nodeSelector",
            {},
            "spec.connection.nodeSelector",
            "must not be empty",
            id="empty node selector",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "connection.nodeSelector",
            {"matchExpressions": [{"key": "gpu", "operator": "In"}]},
            "spec.connection.nodeSelector.matchExpressions[0].values",
            "non-empty for In",
            id="In without values",
        ),
        pytest.param(
            "identifier-member-1.yaml",
            "network.latencyMs",
            {"CN East": 3},
            "spec.network.latencyMs",
            "key 'CN East'",
            id="bad region key",
        ),
        pytest.param(
            "pool.yaml",
            "identifierSelector",
            {},
            "spec.identifierSelector",
            "must not be empty",
            id="empty pool selector",
        ),
        pytest.param(
            "pool.yaml",
            "placement.weights",
            {"fit": 0, "price": 0, "locality": 0, "reliability": 0},
            "spec.placement.weights",
            "at least one weight",
            id="all weights zero",
        ),
        pytest.param(
            "pool.yaml",
            "placement.weights.affinity",
            101,
            "spec.placement.weights.affinity",
            "less than or equal to 100",
            id="affinity weight above 100",
        ),
        pytest.param(
            "pool.yaml",
            "placement.weights.affinity",
            -1,
            "spec.placement.weights.affinity",
            "greater than or equal to 0",
            id="negative affinity weight",
        ),
    ],
)
def test_bad_spec_becomes_a_problem(sample: str, path: str, value: Any, field: str, message: str) -> None:
    document = load(sample)
    problems = VALIDATORS[document["kind"]](_set(document["spec"], path, value))
    assert any(p.field == field and message in p.message for p in problems), problems


GPU_LIMIT = {"limits": {"nvidia.com/gpu": 1}}
POD = "spec.template.spec.template.spec"


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        pytest.param(
            "template.spec.parallelism",
            2,
            "spec.template.spec.parallelism",
            "must equal spec.replicas",
            id="parallelism disagrees with replicas",
        ),
        pytest.param(
            "template.spec.completions",
            3,
            "spec.template.spec.completions",
            "must equal spec.replicas",
            id="completions disagree with replicas",
        ),
        pytest.param(
            "template.spec.completionMode",
            "Ordered",
            "spec.template.spec.completionMode",
            "'NonIndexed' or 'Indexed'",
            id="unknown completion mode",
        ),
        pytest.param(
            "template.spec.suspend",
            True,
            "spec.template.spec.suspend",
            "use spec.suspend",
            id="suspended Job",
        ),
        pytest.param(
            "template.spec.backoffLimit",
            -1,
            "spec.template.spec.backoffLimit",
            "greater than or equal to 0",
            id="negative backoff limit",
        ),
        pytest.param(
            "template.spec.backoffLimitPerIndex",
            1,
            "spec.template.spec.backoffLimitPerIndex",
            "needs Indexed completion",
            id="a per-index backoff limit on a one-replica Job that is not Indexed",
        ),
        pytest.param(
            "resources.accelerators.models",
            ["AMD-Instinct-MI300X"],
            "spec.resources.accelerators.models[0]",
            "is a amd device, but vendor is nvidia",
            id="a model of another vendor",
        ),
        pytest.param(
            "resources.accelerators.minMemory",
            "100Gi",
            "spec.resources.accelerators.minMemory",
            "more than any listed model has (at most 80Gi)",
            id="minimum device memory above every listed model",
        ),
        pytest.param(
            "template.spec.template.spec.nodeName",
            "node-7",
            f"{POD}.nodeName",
            "pins the pod",
            id="pinned to a node",
        ),
        pytest.param(
            "template.spec.template.spec.restartPolicy",
            "Always",
            f"{POD}.restartPolicy",
            "'Never' or 'OnFailure'",
            id="a Job's pods cannot restart Always",
        ),
        pytest.param(
            "template.spec.template.spec.initContainers",
            [{"name": "train", "image": "x"}],
            f"{POD}.initContainers",
            "cannot have the name of a container",
            id="an init container named like a container",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"requests": {"cpu": "9"}, **GPU_LIMIT},
            f"spec.{CONTAINERS}[0].resources.requests.cpu",
            "more than the 8 reserved for each replica by spec.resources.cpu",
            id="containers ask for more cpu than reserved",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"requests": {"memory": "65Gi"}, **GPU_LIMIT},
            f"spec.{CONTAINERS}[0].resources.requests.memory",
            "more than the 64Gi reserved",
            id="containers ask for more memory than reserved",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"limits": {"nvidia.com/gpu": 2}},
            f"spec.{CONTAINERS}[0].resources.limits.nvidia.com/gpu",
            "more than the 1 reserved for each replica by spec.resources.accelerators.count",
            id="containers ask for more GPUs than reserved",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"limits": {"amd.com/gpu": 1}},
            f"spec.{CONTAINERS}[0].resources.limits.amd.com/gpu",
            "does not reserve",
            id="GPU of another vendor",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"requests": {"cpu": "two"}},
            f"spec.{CONTAINERS}[0].resources.requests.cpu",
            "must be a Kubernetes quantity",
            id="malformed container quantity",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"requests": {"cpu": -1}},
            f"spec.{CONTAINERS}[0].resources.requests.cpu",
            "at least 0",
            id="negative container quantity",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"requests": {"CPU cores": 1}},
            f"spec.{CONTAINERS}[0].resources.requests",
            "key 'CPU cores'",
            id="resource name with a space",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            ["cpu"],
            f"spec.{CONTAINERS}[0].resources",
            "valid dictionary",
            id="resources not an object",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"requests": {"cpu": "8", "nvidia.com/gpu": 1}},
            f"spec.{CONTAINERS}[0].resources.requests.nvidia.com/gpu",
            "set limits.nvidia.com/gpu",
            id="GPU requested without a limit",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"requests": {"cpu": "8"}, "limits": {"cpu": "4", "nvidia.com/gpu": 1}},
            f"spec.{CONTAINERS}[0].resources.requests.cpu",
            "more than limits.cpu",
            id="a limit below its request",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"limits": {"nvidia.com/gpu": 0}},
            f"spec.{CONTAINERS}",
            "every container states its own",
            id="fewer GPUs than reserved, and no container to receive the rest",
        ),
        pytest.param(
            "template.spec.template.spec.resources",
            {"limits": {"cpu": "4"}},
            f"{POD}.resources.limits.cpu",
            "below the 8 the containers request",
            id="a pod-level limit below the reservation",
        ),
    ],
)
def test_template_problems(path: str, value: Any, field: str, message: str) -> None:
    document = _set(load("task-gpu.yaml")["spec"], path, value)
    problems = validate_task(document)
    assert any(p.field == field and message in p.message for p in problems), problems
    try:
        spec = ComputeTaskSpec.model_validate(document)
    except ValidationError:
        return  # refused while parsing, as validate_task reported
    with pytest.raises(ContractError) as error:
        resolve_resources(spec)
    assert list(error.value.problems) == problems


REQUIRED_TERMS = "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"


def _required(*expressions: dict[str, Any]) -> dict[str, Any]:
    terms = [{"matchExpressions": list(expressions)}]
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}


@pytest.mark.parametrize(
    ("key", "value", "field", "message"),
    [
        pytest.param(
            "affinity",
            _required({"key": "rack", "operator": "Gt", "values": ["two"]}),
            f"{POD}.{REQUIRED_TERMS}[0].matchExpressions[0].values[0]",
            "must be an integer",
            id="Gt with a value that is not an integer",
        ),
        pytest.param(
            "affinity",
            _required({"key": "rack", "operator": "In"}),
            f"{POD}.{REQUIRED_TERMS}[0].matchExpressions[0].values",
            "must be specified",
            id="In without values",
        ),
        pytest.param(
            "affinity",
            {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}},
            f"{POD}.{REQUIRED_TERMS}",
            "at least one node selector term",
            id="required affinity without terms",
        ),
        pytest.param(
            "nodeSelector",
            {"disk type": "ssd"},
            f"{POD}.nodeSelector",
            "name part must consist of alphanumeric characters",
            id="nodeSelector key with a space",
        ),
    ],
)
def test_template_node_constraints_are_problems(key: str, value: Any, field: str, message: str) -> None:
    document = _set(load("task-gpu.yaml")["spec"], f"template.spec.template.spec.{key}", value)
    problems = validate_task(document)
    assert any(p.field == field and message in p.message for p in problems), problems
    assert validate_task(ComputeTaskSpec.model_validate(document)) == problems, "a parsed spec says the same"


def test_valid_template_node_constraints_are_no_problem() -> None:
    affinity = _required({"key": "rack", "operator": "Gt", "values": ["2"]})
    document = _set(load("task-gpu.yaml")["spec"], "template.spec.template.spec.affinity", affinity)
    document = _set(document, "template.spec.template.spec.nodeSelector", {"disktype": "ssd"})
    assert validate_task(document) == []


def test_pod_failure_policy_needs_restart_policy_never() -> None:
    spec = _set(load("task-gpu.yaml")["spec"], "template.spec.podFailurePolicy", {"rules": []})
    assert validate_task(spec) == []
    spec = _set(spec, "template.spec.template.spec.restartPolicy", "OnFailure")
    (problem,) = validate_task(spec)
    assert problem.field == "spec.template.spec.template.spec.restartPolicy"
    assert "must be Never when podFailurePolicy is set" in problem.message


def test_models_of_one_vendor_pin_the_template_resource_without_a_vendor() -> None:
    spec = _set(load("task-gpu.yaml")["spec"], "resources.accelerators.vendor", DELETE)
    assert validate_task(spec) == [], "A100 and H100 are NVIDIA models: nvidia.com/gpu it is"
    spec = _set(spec, "resources.accelerators.models", ["NVIDIA-H100-80GB-HBM3", "AMD-Instinct-MI300X"])
    (problem,) = validate_task(spec)
    assert problem.field == "spec.resources.accelerators.vendor"


def test_gpus_in_template_without_accelerators_in_spec() -> None:
    spec = _set(load("task-offers.yaml")["spec"], "resources.accelerators", DELETE)
    spec = _set(spec, f"{CONTAINERS}.0.resources", {"limits": {"nvidia.com/gpu": 1}})
    (problem,) = validate_task(spec)
    assert problem.field == f"spec.{CONTAINERS}[0].resources.limits.nvidia.com/gpu"
    assert "spec.resources.accelerators does not reserve" in problem.message


TEMPLATE_ONLY: dict[str, Any] = {"template": {"spec": {"template": {"spec": {"containers": []}}}}}


def _task(resources: dict[str, Any] | None, *containers: dict[str, Any], **pod: Any) -> dict[str, Any]:
    spec = copy.deepcopy(TEMPLATE_ONLY)
    spec["template"]["spec"]["template"]["spec"] = {"containers": list(containers), **pod}
    if resources is not None:
        spec["resources"] = resources
    return spec


def _container(name: str, **resources: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "image": f"{name}:1", **({"resources": resources} if resources else {})}


@pytest.mark.parametrize(
    ("spec", "cpu", "memory", "gpus"),
    [
        pytest.param(
            _task(None, _container("a", requests={"cpu": 0.5, "memory": "1Gi"}), _container("b", limits={"cpu": 1})),
            "1500m",
            "1Gi",
            None,
            id="no resources at all: everything from the containers, limits counting as requests",
        ),
        pytest.param(
            _task({"memory": "8Gi"}, _container("a", requests={"cpu": "2"})),
            "2",
            "8Gi",
            None,
            id="cpu left out is the containers' cpu, memory stated is kept",
        ),
        pytest.param(
            _task(
                {"cpu": "4", "memory": "8Gi", "accelerators": {"vendor": "nvidia"}},
                _container("a", limits={"nvidia.com/gpu": 2}),
                initContainers=[{**_container("s", limits={"nvidia.com/gpu": 1}), "restartPolicy": "Always"}],
            ),
            "4",
            "8Gi",
            3,
            id="accelerators.count left out counts the sidecar's GPU too",
        ),
        pytest.param(
            _task(
                {"accelerators": {"vendor": "nvidia"}},
                _container("a", requests={"cpu": "1", "memory": "1Gi"}, limits={"nvidia.com/gpu": 1}),
                initContainers=[_container("fetch", requests={"cpu": "3", "memory": "512Mi"})],
            ),
            "3",
            "1Gi",
            1,
            id="an ordinary init container's larger cpu is the pod's cpu",
        ),
    ],
)
def test_resources_left_out_are_derived_from_the_template(
    spec: dict[str, Any], cpu: str, memory: str, gpus: int | None
) -> None:
    assert validate_task(spec) == []
    resolved = resolve_resources(ComputeTaskSpec.model_validate(spec))
    assert (resolved.resources.cpu, resolved.resources.memory) == (cpu, memory)
    accelerators = resolved.resources.accelerators
    assert (accelerators.count if accelerators else None) == gpus


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        pytest.param(_task({"memory": "1Gi"}, _container("a")), "spec.resources.cpu", id="cpu nowhere"),
        pytest.param(
            _task({"cpu": "1"}, _container("a", limits={"cpu": "1"})), "spec.resources.memory", id="memory nowhere"
        ),
        pytest.param(
            _task({"cpu": "1", "memory": "1Gi", "accelerators": {"vendor": "nvidia"}}, _container("a")),
            "spec.resources.accelerators.count",
            id="accelerator count nowhere",
        ),
        pytest.param(
            _task(
                {"cpu": "1", "memory": "1Gi", "accelerators": {"vendor": "amd"}},
                _container("a", limits={"nvidia.com/gpu": 1}),
            ),
            "spec.resources.accelerators.count",
            id="the template's GPUs are another vendor's",
        ),
    ],
)
def test_a_value_neither_spec_nor_template_states_is_required(spec: dict[str, Any], field: str) -> None:
    problems = validate_task(spec)
    assert any(p.field == field and "the template's containers request no" in p.message for p in problems), problems


@pytest.mark.parametrize(
    ("written", "read"),
    [
        pytest.param(0.5, "500m", id="float"),
        pytest.param(2, "2", id="int"),
        pytest.param("2", "2", id="string"),
        pytest.param(1.5e3, "1500", id="exponent float"),
    ],
)
def test_spec_cpu_accepts_what_kubernetes_accepts(written: object, read: str) -> None:
    spec = _task({"cpu": written, "memory": "1Gi"}, _container("a"))
    assert validate_task(spec) == []
    assert ComputeTaskSpec.model_validate(spec).resources.cpu == read


def test_resolve_resources_returns_a_copy() -> None:
    spec = ComputeTaskSpec.model_validate(_task(None, _container("a", requests={"cpu": "1", "memory": "1Gi"})))
    resolved = resolve_resources(spec)
    assert resolved == spec
    assert resolved is not spec


def test_validate_accepts_parsed_models() -> None:
    spec = ComputeTask.model_validate(load("task-gang.yaml")).spec
    assert validate_task(spec) == []


def test_problem_and_summary_read_as_one_line() -> None:
    problems = [Problem(f"spec.f{index}", f"broken {index}") for index in range(7)]
    assert str(problems[0]) == "spec.f0: broken 0"
    line = summarize(problems, limit=2)
    assert line == "spec.f0: broken 0; spec.f1: broken 1; and 5 more"
    assert summarize(problems[:1]) == "spec.f0: broken 0"
    assert problems[0].reason == "InvalidSpec"


def test_status_dumps_as_a_camel_case_patch() -> None:
    started = datetime(2025, 1, 31, 12, 0, 0, tzinfo=timezone(timedelta(hours=8)))
    status = ComputeTaskStatus(
        phase=Phase.RUNNING,
        conditions=[Condition(type=ConditionType.DISPATCHED, status=ConditionStatus.TRUE, reason="Dispatched")],
        placement=Placement(identifier="member-1", uri="cpi://acme/cn-east/member-1", score=87.5),
        attempt=1,
        start_time=started,
    )
    patch = status.model_dump(exclude_none=True)
    assert patch == {
        "phase": "Running",
        "conditions": [{"type": "Dispatched", "status": "True", "reason": "Dispatched"}],
        "placement": {"identifier": "member-1", "uri": "cpi://acme/cn-east/member-1", "score": 87.5},
        "attempt": 1,
        "startTime": "2025-01-31T04:00:00Z",
    }
    assert json.loads(json.dumps(patch)) == patch
    assert yaml.safe_load(yaml.safe_dump(patch)) == patch, "plain types only, no enum objects"


def test_naive_timestamps_are_taken_as_utc() -> None:
    status = ComputeIdentifierStatus(last_heartbeat_time=datetime(2025, 1, 1, 8, 30))
    assert status.model_dump(exclude_none=True) == {"lastHeartbeatTime": "2025-01-01T08:30:00Z"}
    round_trip = ComputeIdentifierStatus.model_validate({"lastHeartbeatTime": "2025-01-01T08:30:00Z"})
    assert round_trip.last_heartbeat_time == datetime(2025, 1, 1, 8, 30, tzinfo=UTC)


def test_identifier_status_accelerators_by_model() -> None:
    status = ComputeIdentifierStatus.model_validate(
        {
            "accelerators": {
                "NVIDIA-H100-80GB-HBM3": {"capacity": 16, "allocatable": 16, "free": 6, "largestFreeSlot": 4}
            },
            "resources": {"free": {"cpu": "120", "memory": "900Gi", "nvidia.com/gpu": 6}},
        }
    )
    h100 = (status.accelerators or {})["NVIDIA-H100-80GB-HBM3"]
    assert h100 == AcceleratorAmounts(capacity=16, allocatable=16, free=6, largest_free_slot=4)
    assert ((status.resources and status.resources.free) or {})["nvidia.com/gpu"] == "6"


def test_status_ignores_unknown_fields_but_spec_refuses_them() -> None:
    status = ComputeTaskStatus.model_validate({"phase": "Pending", "fieldFromANewerOperator": 1})
    assert status.phase == "Pending"
    problems = validate_pool({"identifierSelector": {"matchLabels": {"a": "b"}}, "extra": 1})
    assert [p.field for p in problems] == ["spec.extra"]


def test_phase_terminal() -> None:
    assert {phase for phase in Phase if phase.terminal} == {Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED}


def test_constants_agree() -> None:
    assert f"{GROUP}/{VERSION}" == API_VERSION
    assert [kind.crd_name for kind in KINDS] == [
        "computeidentifiers.computenet.io",
        "computepools.computenet.io",
        "computetasks.computenet.io",
    ]
    assert [kind.short_names for kind in KINDS] == [("cid",), ("cpool",), ("ctask",)]
    assert [kind.namespaced for kind in KINDS] == [False, False, True]
    assert {MODELS[kind.kind].model_fields["kind"].default for kind in KINDS} == set(MODELS) - {
        "ComputeDataset",
        "ComputeWorkloadKind",
    }


def _task_schema() -> dict[str, Any]:
    schema: dict[str, Any] = crd(CRD_KINDS[2])["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    spec: dict[str, Any] = schema["properties"]["spec"]
    return spec


@pytest.mark.parametrize(
    ("path", "maximum"),
    [
        pytest.param(("resources", "cpu"), 4096, id="cpu"),
        pytest.param(("resources", "memory"), 64 << 40, id="memory"),
        pytest.param(("resources", "accelerators", "minMemory"), 4 << 40, id="device memory"),
    ],
)
def test_spec_quantities_take_numbers_and_strings_in_the_schema(path: tuple[str, ...], maximum: int) -> None:
    """No structural type is "number or string": the type stays open, the syntax and bounds are checked."""
    node: Any = _task_schema()
    for part in path:
        node = node["properties"][part]
    assert node["x-kubernetes-preserve-unknown-fields"] is True
    assert "type" not in node
    assert "x-kubernetes-int-or-string" not in node
    assert (node["minimum"], node["exclusiveMinimum"], node["maximum"]) == (0, True, maximum)
    assert node["pattern"].startswith("^(?P<number>\\+?"), "no minus sign"
    assert "x-kubernetes-validations" not in node, "CEL cannot type an open field"


def test_resources_left_out_are_optional_in_the_schema() -> None:
    spec = _task_schema()
    assert "resources" not in spec.get("required", [])
    assert {"template", "workload"} <= set(spec["properties"])  # exactly one of them, by a rule
    assert "required" not in spec["properties"]["resources"]
    assert "count" not in spec["properties"]["resources"]["properties"]["accelerators"].get("required", [])


# ---- spec.workload: another kind than a Job ----


def _workload_task(**workload_spec: Any) -> dict[str, Any]:
    return {
        "replicas": 2,
        "resources": {"cpu": "1", "memory": "1Gi"},
        "workload": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}, **workload_spec},
        },
    }


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        pytest.param(_workload_task(), None, None, id="a Deployment whose replicas are left out is valid"),
        pytest.param(_workload_task(replicas=2), None, None, id="replicas equal to spec.replicas are valid"),
        pytest.param(
            _workload_task(replicas=3),
            "spec.workload.spec.replicas",
            "must equal spec.replicas (2)",
            id="other replicas are named",
        ),
        pytest.param(
            _workload_task(
                template={"spec": {"restartPolicy": "Never", "containers": [{"name": "web", "image": "nginx"}]}}
            ),
            "spec.workload.spec.template.spec.restartPolicy",
            "must be Always",
            id="a Deployment's pods restart Always",
        ),
        pytest.param(
            _workload_task(template={"spec": {"containers": []}}),
            "spec.workload.spec.template.spec.containers",
            "at least one container",
            id="a pod template without containers",
        ),
        pytest.param(
            {
                **_workload_task(),
                "template": {"spec": {"template": {"spec": {"containers": [{"name": "m", "image": "i"}]}}}},
            },
            "spec.workload",
            "exactly one of template",
            id="a template and a workload at once",
        ),
    ],
)
def test_workload_specs(spec: dict[str, Any], field: str | None, words: str | None) -> None:
    problems = validate_task(spec)
    if field is None:
        assert problems == []
    else:
        assert any(p.field == field and words in p.message for p in problems), problems


def test_a_workloads_resources_are_derived_from_its_pod_template() -> None:
    spec = _workload_task(
        template={
            "spec": {
                "containers": [
                    {"name": "web", "image": "nginx", "resources": {"requests": {"cpu": "3", "memory": "2Gi"}}}
                ]
            }
        }
    )
    del spec["resources"]
    parsed = ComputeTaskSpec.model_validate(spec)
    assert (str(parsed.resources.cpu), str(parsed.resources.memory)) == ("3", "2Gi")
    assert parsed.pod_spec_path == "spec.workload.spec.template.spec"
