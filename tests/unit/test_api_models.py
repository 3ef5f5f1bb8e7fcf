"""The API models: samples parse, defaults apply, bad specs become Problems, status dumps as a patch."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

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
from computenet.api.validation import summarize

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples").rglob("*.yaml"))
MODELS: dict[str, type[ComputeIdentifier | ComputePool | ComputeTask]] = {
    "ComputeIdentifier": ComputeIdentifier,
    "ComputePool": ComputePool,
    "ComputeTask": ComputeTask,
}
VALIDATORS: dict[str, Callable[[Any], list[Problem]]] = {
    "ComputeIdentifier": validate_identifier,
    "ComputePool": validate_pool,
    "ComputeTask": validate_task,
}


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "samples" / name).read_text())
    assert isinstance(document, dict)
    return document


def all_samples() -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in SAMPLES]


@pytest.mark.parametrize("path", SAMPLES, ids=[str(path.relative_to(ROOT)) for path in SAMPLES])
def test_sample_is_valid(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    assert document["apiVersion"] == API_VERSION
    model = MODELS[document["kind"]].model_validate(document)
    assert model.metadata.name == document["metadata"]["name"]
    assert VALIDATORS[document["kind"]](document["spec"]) == []


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
    assert container["resources"] == {"limits": {"nvidia.com/gpu": 8}}
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
    ],
)
def test_bad_spec_becomes_a_problem(sample: str, path: str, value: Any, field: str, message: str) -> None:
    document = load(sample)
    problems = VALIDATORS[document["kind"]](_set(document["spec"], path, value))
    assert any(p.field == field and message in p.message for p in problems), problems


GPU_LIMIT = {"limits": {"nvidia.com/gpu": 1}}


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        pytest.param(
            "template.spec.parallelism",
            2,
            "spec.template.spec.parallelism",
            "spec.replicas is 1",
            id="parallelism disagrees with replicas",
        ),
        pytest.param(
            "template.spec.suspend",
            True,
            "spec.template.spec.suspend",
            "use spec.suspend",
            id="suspended Job",
        ),
        pytest.param(
            "template.spec.template.spec.nodeName",
            "node-7",
            "spec.template.spec.template.spec.nodeName",
            "pins the pod",
            id="pinned to a node",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"requests": {"cpu": "9"}, **GPU_LIMIT},
            f"spec.{CONTAINERS}",
            "more than spec.resources.cpu",
            id="containers ask for more cpu than reserved",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"requests": {"memory": "65Gi"}, **GPU_LIMIT},
            f"spec.{CONTAINERS}",
            "more than spec.resources.memory",
            id="containers ask for more memory than reserved",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"limits": {"nvidia.com/gpu": 2}},
            f"spec.{CONTAINERS}",
            "accelerators.count (1)",
            id="containers ask for more GPUs than reserved",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"limits": {"amd.com/gpu": 1}},
            f"spec.{CONTAINERS}",
            "vendor is nvidia",
            id="GPU of another vendor",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            {"requests": {"cpu": "two"}},
            f"spec.{CONTAINERS}[0].resources.requests.cpu",
            "not a Kubernetes quantity",
            id="malformed container quantity",
        ),
        pytest.param(
            f"{CONTAINERS}.0.resources",
            ["cpu"],
            f"spec.{CONTAINERS}[0].resources",
            "must be an object",
            id="resources not an object",
        ),
    ],
)
def test_template_problems_the_schema_cannot_see(path: str, value: Any, field: str, message: str) -> None:
    problems = validate_task(_set(load("task-gpu.yaml")["spec"], path, value))
    assert any(p.field == field and message in p.message for p in problems), problems


def test_gpus_in_template_without_accelerators_in_spec() -> None:
    spec = _set(load("task-offers.yaml")["spec"], "resources.accelerators", DELETE)
    spec = _set(spec, f"{CONTAINERS}.0.resources", {"limits": {"nvidia.com/gpu": 1}})
    (problem,) = validate_task(spec)
    assert problem.field == f"spec.{CONTAINERS}"
    assert "accelerators is not set" in problem.message


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
    assert {MODELS[kind.kind].model_fields["kind"].default for kind in KINDS} == set(MODELS)
