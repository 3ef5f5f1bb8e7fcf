"""Kinds declared on the hub: field paths, pod sets, status tests, and what a bad declaration says."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from computenet.api.constants import ATTEMPT_LABEL, ROLE_LABEL, TASK_UID_LABEL
from computenet.api.workload_kind import declared_kind
from computenet.dispatch.jobs import workload_facts
from computenet.dispatch.render import Target, TaskRef, render_workload
from computenet.workloads.declared import DeclarationError, compile_declaration
from computenet.workloads.kinds import (
    WorkloadError,
    current,
    declare,
    kind_named,
    kind_of,
    served_kinds,
    withdraw,
)
from computenet.workloads.paths import parse
from computenet.workloads.podsets import PodSet, pod_sets
from computenet.workloads.status import Observed, observe
from computenet.workloads.templates import role_templates

TRAINJOB: dict[str, Any] = {
    "apiVersion": "trainer.kubeflow.org/v1alpha1",
    "kind": "TrainJob",
    "plural": "trainjobs",
    "podSets": [{"role": "node", "count": "spec.trainer.numNodes", "resources": "spec.trainer.resourcesPerNode"}],
    "status": {
        "failed": {"path": "status.conditions[type=Failed].status", "equals": "True"},
        "succeeded": {"cel": 'self.status.conditions.exists(c, c.type == "Complete" && c.status == "True")'},
        "running": {"cel": "self.status.jobsStatus.exists(j, j.active > 0)"},
        "message": "status.conditions[type=Failed].message",
    },
}
"""A Kubeflow TrainJob (trainer v2.0.0), its status read both ways (CEL and paths)."""

PAIR: dict[str, Any] = {
    "apiVersion": "example.com/v1",
    "kind": "Pair",
    "plural": "pairs",
    "serving": True,
    "podSets": [
        {"role": "head", "template": "spec.head"},
        {"role": "workers", "count": "spec.groups[name=workers].replicas", "template": "spec.groups[name=workers].pod"},
    ],
    "status": {"running": {"path": "status.phase", "equals": "Ready"}},
}
"""A serving kind with pod templates: a head and a group of workers, selected by name."""


def with_(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``base`` with the value at dotted ``path`` (``podSets.0.count``) replaced, or removed for None."""
    out = copy.deepcopy(base)
    *parents, last = path.split(".")
    target: Any = out
    for p in parents:
        target = target[int(p)] if p.isdigit() else target[p]
    if value is None:
        del target[int(last) if last.isdigit() else last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return out


def cond(type_: str, status: str = "True", message: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "message": message}


def pod_of(resources: dict[str, Any]) -> dict[str, Any]:
    """The pod template a role declared by its resources is placed as: one container of the role's name."""
    return {"spec": {"containers": [{"name": "node", "resources": resources}]}}


@pytest.fixture
def declared() -> Iterator[None]:
    kinds = [compile_declaration(TRAINJOB), compile_declaration(PAIR)]
    for k in kinds:
        declare(k)
    yield
    for k in kinds:
        withdraw(k.api_version, k.kind)


@pytest.mark.parametrize(
    ("path", "obj", "expected"),
    [
        pytest.param("spec.trainer.numNodes", {"spec": {"trainer": {"numNodes": 4}}}, 4, id="fields by name"),
        pytest.param("spec.trainer.numNodes", {"spec": {}}, None, id="an absent field is None"),
        pytest.param("spec.items[1]", {"spec": {"items": ["a", "b"]}}, "b", id="an index"),
        pytest.param("spec.items[2]", {"spec": {"items": ["a", "b"]}}, None, id="an index past the end is None"),
        pytest.param(
            "status.conditions[type=Complete].status",
            {"status": {"conditions": [cond("Created"), cond("Complete", "False")]}},
            "False",
            id="a list item selected by a field's value",
        ),
        pytest.param("spec.trainer.numNodes", {"spec": {"trainer": 3}}, None, id="a scalar on the way is None"),
    ],
)
def test_a_field_path_reads_the_value_it_names(path: str, obj: dict[str, Any], expected: Any) -> None:
    assert parse(path).get(obj) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("spec..numNodes", id="an empty field name"),
        pytest.param("spec.items[]", id="an empty selector"),
        pytest.param("spec.items[-1]", id="a negative index"),
        pytest.param(".spec", id="a leading dot (JSONPath's) is not a field name"),
        pytest.param("spec.a b", id="a space"),
    ],
)
def test_a_malformed_path_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a field path"):
        parse(text)


@pytest.mark.usefixtures("declared")
@pytest.mark.parametrize(
    ("workload", "expected"),
    [
        pytest.param(
            {"trainer": {"numNodes": 2, "resourcesPerNode": {"limits": {"nvidia.com/gpu": 8}}}},
            (PodSet("node", pod_of({"limits": {"nvidia.com/gpu": 8}}), 2),),
            id="a TrainJob is numNodes pods at resourcesPerNode",
        ),
        pytest.param(
            {"runtimeRef": {"name": "torch"}},
            (PodSet("node", pod_of({}), 1),),
            id="a TrainJob without numNodes is one pod (the default count)",
        ),
    ],
)
def test_the_pod_sets_of_a_declared_kind(workload: dict[str, Any], expected: tuple[PodSet, ...]) -> None:
    sets = pod_sets({"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob", "spec": workload})
    assert sets == expected


@pytest.mark.usefixtures("declared")
def test_roles_with_a_template_path_are_read_and_rendered_in_place() -> None:
    head = {"spec": {"containers": [{"name": "h", "resources": {"requests": {"cpu": "1"}}}]}}
    worker = {"spec": {"containers": [{"name": "w"}]}}
    workload = {
        "apiVersion": "example.com/v1",
        "kind": "Pair",
        "spec": {"head": head, "groups": [{"name": "other"}, {"name": "workers", "replicas": 3, "pod": worker}]},
    }
    assert pod_sets(workload) == (PodSet("head", head, 1), PodSet("workers", worker, 3))
    spec = copy.deepcopy(workload["spec"])
    roles = role_templates(kind_of(workload), workload, spec)
    assert [(r.role, r.path) for r in roles] == [
        ("head", "spec.workload.spec.head"),
        ("workers", "spec.workload.spec.groups[name=workers].pod"),
    ]
    roles[1].template["metadata"] = {"labels": {"stamped": "yes"}}
    assert spec["groups"][1]["pod"]["metadata"] == {"labels": {"stamped": "yes"}}, "the template is edited in place"


@pytest.mark.usefixtures("declared")
@pytest.mark.parametrize(
    ("spec", "words"),
    [
        pytest.param({"trainer": {"numNodes": -1}}, "spec.trainer.numNodes: -1 is not a count", id="a negative count"),
        pytest.param({"trainer": {"numNodes": "2"}}, "spec.trainer.numNodes: '2' is not a count", id="a count as text"),
        pytest.param(
            {"trainer": {"resourcesPerNode": "8 GPUs"}},
            "spec.trainer.resourcesPerNode: must be resource requirements",
            id="requirements that are not an object",
        ),
    ],
)
def test_a_declared_kinds_bad_spec_names_the_path(spec: dict[str, Any], words: str) -> None:
    with pytest.raises(WorkloadError, match=words.replace("(", r"\(")):
        pod_sets({"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob", "spec": spec})


@pytest.mark.usefixtures("declared")
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param({}, Observed("Pending"), id="no status yet is Pending (CEL over an absent field does not hold)"),
        pytest.param(
            {"jobsStatus": [{"name": "node", "active": 2}]}, Observed("Running"), id="active jobs: Running (CEL)"
        ),
        pytest.param({"conditions": [cond("Complete")]}, Observed("Succeeded"), id="Complete: Succeeded (CEL)"),
        pytest.param(
            {"conditions": [cond("Complete", "False")], "jobsStatus": []},
            Observed("Pending"),
            id="Complete=False is not success",
        ),
        pytest.param(
            {"conditions": [cond("Failed", message="jobset failed"), cond("Complete")]},
            Observed("Failed", "jobset failed"),
            id="Failed wins over Complete, with its message (path)",
        ),
    ],
)
def test_a_declared_kinds_status_reads_as_a_phase(status: dict[str, Any], expected: Observed) -> None:
    trainjob = kind_named("trainer.kubeflow.org/v1alpha1", "TrainJob")
    assert observe(trainjob, {"spec": {}, "status": status}) == expected


@pytest.mark.usefixtures("declared")
def test_a_serving_declared_kind_runs_and_never_succeeds() -> None:
    pair = kind_named("example.com/v1", "Pair")
    assert pair.serving
    assert observe(pair, {"status": {"phase": "Ready"}}) == Observed("Running")
    assert observe(pair, {"status": {"phase": "Done"}}) == Observed("Pending")


@pytest.mark.usefixtures("declared")
def test_declared_kinds_are_served_where_discovery_lists_them_and_withdrawn_ones_are_not() -> None:
    discovered = {"trainer.kubeflow.org/v1alpha1": ["TrainJob", "TrainingRuntime"], "v1": ["Pod"]}
    assert served_kinds(discovered) == ("trainer.kubeflow.org/v1alpha1 TrainJob", "v1 Pod")
    withdraw("trainer.kubeflow.org/v1alpha1", "TrainJob")
    assert served_kinds(discovered) == ("v1 Pod",)
    with pytest.raises(WorkloadError, match="not a supported workload kind"):
        kind_of({"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob", "spec": {}})


def test_an_undeclared_kind_is_refused_saying_how_to_declare_it() -> None:
    with pytest.raises(WorkloadError, match="a ComputeWorkloadKind declares another"):
        kind_of({"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob", "spec": {}})


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        pytest.param(with_(TRAINJOB, "podSets.0.count", "spec..x"), "spec.podSets[0].count", "is not a field path",
                     id="a malformed count path"),
        pytest.param(with_(TRAINJOB, "podSets.0.count", "status.nodes"), "spec.podSets[0].count",
                     "must start with spec.", id="a count read from the status"),
        pytest.param(with_(TRAINJOB, "podSets.0.template", "spec.pod"), "spec.podSets[0]",
                     "exactly one of template and resources", id="both a template and resources"),
        pytest.param(with_(TRAINJOB, "podSets.0.resources", None), "spec.podSets[0]",
                     "exactly one of template and resources", id="neither a template nor resources"),
        pytest.param(with_(TRAINJOB, "podSets", [TRAINJOB["podSets"][0], TRAINJOB["podSets"][0]]),
                     "spec.podSets[1].role", "declared twice", id="a role declared twice"),
        pytest.param(with_(TRAINJOB, "status.succeeded", {"cel": "self.status.conditions.exists(c, "}),
                     "spec.status.succeeded.cel", "does not compile", id="CEL that does not parse"),
        pytest.param(with_(TRAINJOB, "status.failed", {"path": "status.phase"}), "spec.status.failed.equals",
                     "is required with path", id="a path without the value it must equal"),
        pytest.param(with_(TRAINJOB, "status.failed", {"path": "status.phase", "equals": "x", "cel": "true"}),
                     "spec.status.failed", "exactly one of cel and path", id="both CEL and a path"),
        pytest.param(with_(TRAINJOB, "status.succeeded", None), "spec.status.succeeded",
                     "required for a kind that runs to completion", id="a batch kind that never succeeds"),
        pytest.param(with_(PAIR, "status.succeeded", {"path": "status.phase", "equals": "Done"}),
                     "spec.status.succeeded", "a serving kind never succeeds", id="a serving kind that succeeds"),
        pytest.param(with_(TRAINJOB, "status.running", None), "spec.status.running", "Field required",
                     id="no running test"),
        pytest.param(with_(TRAINJOB, "apiVersion", "apps/v1"), "spec.apiVersion", "built-in kind's group version",
                     id="a kind of a built-in group version"),
        pytest.param(with_(TRAINJOB, "plural", "Train Jobs"), "spec.plural", "String should match pattern",
                     id="the schema's own rules first"),
    ],
)  # fmt: skip
def test_a_bad_declaration_names_its_field(spec: dict[str, Any], field: str, words: str) -> None:
    kind, problems = declared_kind(spec)
    assert kind is None
    assert [(p.field, words in p.message) for p in problems][:1] == [(field, True)], problems


def test_a_good_declaration_compiles_to_a_kind_placed_role_by_role() -> None:
    kind, problems = declared_kind(TRAINJOB)
    assert problems == []
    assert kind is not None
    assert (kind.key, kind.plural, kind.by_role, kind.serving, kind.name_max) == (
        "trainer.kubeflow.org/v1alpha1 TrainJob", "trainjobs", True, False, 40,
    )  # fmt: skip


def test_a_built_in_kind_cannot_be_declared() -> None:
    with pytest.raises(DeclarationError, match="built-in"):
        compile_declaration(with_(TRAINJOB, "apiVersion", "batch/v1"))


@pytest.mark.usefixtures("declared")
def test_a_declared_kinds_start_is_never_judged_by_an_absence_of_pods() -> None:
    """Its pods carry no origin labels unless a role has a template path: the follower cannot count them."""
    trainjob = kind_named("trainer.kubeflow.org/v1alpha1", "TrainJob")
    obj = {
        "metadata": {"name": "t", "namespace": "w", "labels": {TASK_UID_LABEL: "u", ATTEMPT_LABEL: "1"}},
        "spec": {},
    }
    facts = workload_facts(trainjob, obj)
    assert facts is not None
    assert (facts.phase, facts.has_pods, facts.kind) == ("Pending", True, trainjob)


def test_a_changed_declaration_is_read_at_once_by_what_holds_the_earlier_one() -> None:
    first = compile_declaration(TRAINJOB)
    changed = compile_declaration(with_(TRAINJOB, "status.succeeded", {"path": "status.done", "equals": "yes"}))
    declare(first)
    try:
        declare(changed)
        assert current(first).rules is changed.rules, "a watch bound to the first declaration reads the second"
        assert observe(current(first), {"status": {"done": "yes"}}) == Observed("Succeeded")
    finally:
        withdraw(first.api_version, first.kind)
    assert current(first) is first, "withdrawn: the kind it was bound to"


@pytest.mark.usefixtures("declared")
def test_a_declared_role_with_a_template_is_rendered_like_a_built_in_role() -> None:
    """Origin labels, the role label and pinning to the role's nodes where the template path allows;
    a role given by resources (a TrainJob's) is placed but left as the user wrote it."""
    gpu_pod = {"spec": {"containers": [{"name": "w", "resources": {"limits": {"nvidia.com/gpu": 8}}}]}}
    workload = {
        "apiVersion": "example.com/v1",
        "kind": "Pair",
        "spec": {"head": {"spec": {"containers": [{"name": "h"}]}}, "groups": [{"name": "workers", "pod": gpu_pod}]},
    }
    target = Target(
        "member-1", "computenet-workloads", {}, [], "nvidia.com/gpu", "NVIDIA-H100-80GB-HBM3",
        role_nodes={"head": ("cpu-0",), "workers": ("h100-0",)},
    )  # fmt: skip
    task = TaskRef("team", "pair", "0b9c2d0e-1111-2222-3333-444455556666")
    obj = render_workload(workload, task, 1, {"cpu": "1", "memory": "1Gi"}, 0, target, 1, "hub-a")
    assert (obj["apiVersion"], obj["kind"]) == ("example.com/v1", "Pair")
    assert len(obj["metadata"]["name"]) <= 40
    worker = obj["spec"]["groups"][0]["pod"]
    assert worker["metadata"]["labels"][TASK_UID_LABEL] == task.uid
    assert worker["metadata"]["labels"][ROLE_LABEL] == "workers"
    assert worker["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    terms = worker["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert [t["matchFields"][0]["values"] for t in terms["nodeSelectorTerms"]] == [["h100-0"]]
    assert worker["spec"].get("restartPolicy") is None, "a serving kind's pods keep the kubelet's default"
    head = obj["spec"]["head"]
    assert head["metadata"]["labels"][ROLE_LABEL] == "head"
    assert "nvidia.com/gpu.product" not in (head["spec"].get("nodeSelector") or {}), "no devices, no model"

    trainjob = {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "spec": {"trainer": {"numNodes": 2, "resourcesPerNode": {"limits": {"nvidia.com/gpu": 8}}}},
    }
    rendered = render_workload(trainjob, task, 1, {"cpu": "1", "memory": "1Gi"}, 0, target, 1, "hub-a")
    assert rendered["spec"] == trainjob["spec"], "no template path: the object's spec is the user's"
    assert rendered["metadata"]["labels"][TASK_UID_LABEL] == task.uid, "the object itself carries the origin"
