"""What an agent runs: declared kinds from the work itself, the chart's enabled kinds, Secrets, the watched version."""

from __future__ import annotations

from typing import Any

import pytest

from computenet.agent.kinds import AgentKinds, Resource, kind_watches, refusal, work_kind
from computenet.agent.plan import JobView, WorkView, plan, podless, work_view, workload_view
from computenet.workloads.declared import compile_declaration, compile_follow, follow_spec
from computenet.workloads.kinds import DEPLOYMENT, JOB, KINDS, Kind, WorkloadError

WIDGET: dict[str, Any] = {
    "apiVersion": "example.com/v1alpha1",
    "kind": "Widget",
    "plural": "widgets",
    "podSets": [{"role": "worker", "count": "spec.workers", "resources": "spec.resources"}],
    "status": {
        "failed": {"cel": 'has(self.status.phase) && self.status.phase == "Failed"'},
        "succeeded": {"path": "status.phase", "equals": "Succeeded"},
        "running": {"path": "status.phase", "equals": "Running"},
        "message": "status.message",
    },
}
"""A declared kind as a ComputeWorkloadKind's spec states it, status read both ways (CEL and paths)."""

FOLLOW = follow_spec(compile_declaration(WIDGET))
GR = "widgets.example.com"


def spec(manifest: dict[str, Any], carried: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"agent": "a", "identifier": "m", "manifest": manifest}
    if carried is not None:
        out["workloadKind"] = carried
    return out


def widget() -> dict[str, Any]:
    return {"apiVersion": "example.com/v1alpha1", "kind": "Widget", "metadata": {"namespace": "ns", "name": "w-1"}}


def test_a_declared_kind_travels_as_its_resource_and_status_rules_and_reads_back_the_same() -> None:
    assert {
        "apiVersion": "example.com/v1alpha1",
        "kind": "Widget",
        "plural": "widgets",
        "status": WIDGET["status"],
    } == FOLLOW
    kind = compile_follow(FOLLOW)
    assert (kind.key, kind.plural, kind.group_resource, kind.serving) == (
        "example.com/v1alpha1 Widget",
        "widgets",
        GR,
        False,
    )
    assert kind.rules is not None
    assert kind.rules.pod_sets == ()
    phases = [
        kind.rules.observe({"status": s}).phase
        for s in ({}, {"phase": "Running"}, {"phase": "Succeeded"}, {"phase": "Failed"})
    ]
    assert phases == ["Pending", "Running", "Succeeded", "Failed"]
    assert kind.rules.observe({"status": {"phase": "Failed", "message": "out of disk"}}).message == "out of disk"


def test_a_built_in_kind_is_followed_by_its_own_code_not_by_carried_rules() -> None:
    with pytest.raises(WorkloadError, match="built-in kind"):
        follow_spec(DEPLOYMENT)


@pytest.mark.parametrize(
    ("work_spec", "expected"),
    [
        pytest.param(spec({"apiVersion": "batch/v1", "kind": "Job"}), "batch/v1 Job", id="a Job"),
        pytest.param(spec({"metadata": {}}), "batch/v1 Job", id="no apiVersion and kind: a Job, as remote refs read"),
        pytest.param(spec({"apiVersion": "apps/v1", "kind": "Deployment"}), "apps/v1 Deployment", id="a built-in"),
        pytest.param(spec(widget(), FOLLOW), "example.com/v1alpha1 Widget", id="a declared kind the work describes"),
    ],
)
def test_the_kind_of_a_work(work_spec: dict[str, Any], expected: str) -> None:
    assert work_kind(work_spec).key == expected


@pytest.mark.parametrize(
    ("work_spec", "words"),
    [
        pytest.param(spec(widget()), "neither a built-in kind nor described", id="a declared kind the work omits"),
        pytest.param(
            spec(widget(), {**FOLLOW, "kind": "Gadget"}),
            "describes example.com/v1alpha1 Gadget, not the manifest's example.com/v1alpha1 Widget",
            id="a description of another kind",
        ),
        pytest.param(
            spec(widget(), {**FOLLOW, "status": {"running": {"cel": "self.status.("}}}),
            r"spec.workloadKind: spec.status.running.cel: does not compile",
            id="rules that do not compile name the field",
        ),
        pytest.param(
            spec({**widget(), "apiVersion": "apps/v1"}, {**FOLLOW, "apiVersion": "apps/v1"}),
            "built-in kind's group version",
            id="a built-in group version cannot be described",
        ),
    ],
)
def test_a_work_whose_kind_cannot_be_read_says_why(work_spec: dict[str, Any], words: str) -> None:
    with pytest.raises(WorkloadError, match=words):
        work_kind(work_spec)


JOBSET = KINDS[("jobset.x-k8s.io/v1alpha2", "JobSet")]
WIDGET_KIND = compile_follow(FOLLOW)
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hf-token"}}
TEMPLATE = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate", "metadata": {"name": "gpu"}}


@pytest.mark.parametrize(
    ("enabled", "kind", "dependencies", "words"),
    [
        pytest.param(AgentKinds(), JOB, [CONFIGMAP, TEMPLATE], "", id="Jobs and ConfigMaps and templates: always"),
        pytest.param(AgentKinds((DEPLOYMENT,)), DEPLOYMENT, [], "", id="an enabled built-in kind"),
        pytest.param(
            AgentKinds((DEPLOYMENT,)),
            JOBSET,
            [],
            "does not run jobset.x-k8s.io/v1alpha2 JobSet (it runs Job, Deployment): enable JobSet in the agent's "
            "workloadKinds",
            id="a built-in kind not enabled names it",
        ),
        pytest.param(AgentKinds(declared=frozenset({GR})), WIDGET_KIND, [], "", id="an enabled declared kind"),
        pytest.param(
            AgentKinds(declared=frozenset({"trainjobs.trainer.kubeflow.org"})),
            WIDGET_KIND,
            [],
            "does not run example.com/v1alpha1 Widget (it runs Job, trainjobs.trainer.kubeflow.org): enable "
            "widgets.example.com in the agent's workloadKinds",
            id="a declared kind not enabled names its group resource",
        ),
        pytest.param(
            AgentKinds(),
            JOB,
            [CONFIGMAP, SECRET],
            "takes no Secrets into its member (the work carries Secret hf-token): enable dependencies.secrets",
            id="a Secret where the provider allows none",
        ),
        pytest.param(AgentKinds(secrets=True), JOB, [SECRET], "", id="a Secret where the provider allows them"),
        pytest.param(
            AgentKinds(secrets=True),
            JOB,
            [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x"}}],
            "carries a ServiceAccount: only ConfigMaps, Secrets and ResourceClaimTemplates travel",
            id="nothing else travels",
        ),
    ],
)
def test_what_an_agent_refuses_names_the_chart_value(
    enabled: AgentKinds, kind: Kind, dependencies: list[dict[str, Any]], words: str
) -> None:
    said = refusal(enabled, kind, dependencies)
    assert (words in said) if words else said == "", said


V1 = Resource("example.com/v1", "Widget", "widgets")
V1ALPHA1 = Resource("example.com/v1alpha1", "Widget", "widgets")
ENABLED = frozenset({GR})
JOBSET = KINDS[("jobset.x-k8s.io/v1alpha2", "JobSet")]
JOBSETS = Resource.of(JOBSET)
WITH_JOBSETS = frozenset({GR, JOBSET.group_resource})


@pytest.mark.parametrize(
    ("enabled", "wanted", "served", "expected"),
    [
        pytest.param(ENABLED, [WIDGET_KIND], {}, {GR: V1ALPHA1}, id="the version the works name"),
        pytest.param(
            ENABLED, [WIDGET_KIND], {GR: V1}, {GR: V1ALPHA1}, id="the works' version, not the member's preferred one"
        ),
        pytest.param(ENABLED, [], {GR: V1}, {GR: V1}, id="no work names it: the member's preferred version (fencing)"),
        pytest.param(frozenset(), [WIDGET_KIND], {GR: V1}, {}, id="not enabled: never watched"),
        pytest.param(ENABLED, [JOB, DEPLOYMENT], {}, {}, id="the Job's watch is apart; a built-in kind not enabled"),
        pytest.param(
            WITH_JOBSETS, [JOBSET], {}, {JOBSETS.group_resource: JOBSETS}, id="an enabled built-in kind a work names"
        ),
        pytest.param(
            WITH_JOBSETS,
            [],
            {JOBSETS.group_resource: JOBSETS},
            {JOBSETS.group_resource: JOBSETS},
            id="an enabled built-in kind the member serves, named by no work (fencing)",
        ),
        pytest.param(WITH_JOBSETS, [], {}, {}, id="enabled, neither named nor served (no CRD): no watch"),
    ],
)
def test_the_watch_of_each_enabled_kind(
    enabled: frozenset[str], wanted: list[Kind], served: dict[str, Resource], expected: dict[str, Resource]
) -> None:
    assert kind_watches(enabled, wanted, served) == expected


def test_a_watched_resource_is_its_built_in_kind_or_a_declared_kinds_resource() -> None:
    assert JOBSETS.as_kind() is JOBSET
    assert V1.as_kind().key == "example.com/v1 Widget"
    assert V1.group_resource == GR
    assert Resource.of(KINDS[("v1", "Pod")]).group_resource == "pods"


def test_a_work_view_carries_its_kind_its_dependencies_or_why_its_kind_is_unreadable() -> None:
    obj = {"metadata": {"name": "w-1"}, "spec": {**spec(widget(), FOLLOW), "dependencies": [CONFIGMAP]}}
    view = work_view(obj)
    assert view.kind is not None
    assert view.kind.key == "example.com/v1alpha1 Widget"
    assert view.dependencies == (CONFIGMAP,)
    unreadable = work_view({"metadata": {"name": "w-1"}, "spec": spec(widget())})
    assert unreadable.kind is None
    assert "neither a built-in kind" in unreadable.problem


def _work(name: str, kind: Kind) -> WorkView:
    return WorkView(name, {"metadata": {"namespace": "ns", "name": name}}, None, None, None, kind=kind)


def _object(name: str, kind: Kind, **status: Any) -> JobView:
    return workload_view(kind, {"metadata": {"namespace": "ns", "name": name, "uid": "u"}, "status": status})


WATCHED = V1ALPHA1.as_kind()


@pytest.mark.parametrize(
    ("works", "objects", "waiting", "expected"),
    [
        pytest.param([_work("w", WIDGET_KIND)], [], {GR}, [], id="a declared kind's work waits for its watch's list"),
        pytest.param(
            [_work("w", WIDGET_KIND), _work("j", JOB)], [], {GR}, ["Create j"], id="while the other kinds go on"
        ),
        pytest.param([_work("w", WIDGET_KIND)], [], set(), ["Create w"], id="created once listed"),
        pytest.param([], [_object("w", WATCHED)], {GR}, [], id="no orphan is taken before its kind's list"),
        pytest.param([], [_object("w", WATCHED)], set(), ["Delete w"], id="an object whose work is gone is deleted"),
    ],
)
def test_a_declared_kind_is_created_and_fenced_once_its_watch_has_listed(
    works: list[WorkView], objects: list[JobView], waiting: set[str], expected: list[str]
) -> None:
    actions = plan({w.name: w for w in works}, {f"ns/{o.name}": o for o in objects}, True, waiting)
    said = [f"{type(a).__name__} {getattr(a, 'work', a).name}" for a in actions]
    assert said == expected


def test_a_declared_object_is_podless_until_one_of_its_status_rules_holds() -> None:
    assert podless(_object("w", WATCHED), WIDGET_KIND)
    assert not podless(_object("w", WATCHED, phase="Running"), WIDGET_KIND)
    assert not podless(_object("w", WATCHED, phase="Failed"), WIDGET_KIND)
